"""A kazoo DoubleBarrier member for zk-recipes' interop tests.

    kazoo_double_barrier.py CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME]
                            [--members N]

Each session, each round: print ENTERING, enter kazoo's DoubleBarrier of --members
(default 2) members on PATH, print ENTERED, stay inside for HOLD_MS, print LEAVING,
leave, print LEFT. Each of these lines carries the microseconds since the epoch when it
was printed. The member node's data is the session's id (kazoo's `identifier`).

kazoo's enter and leave take no timeout and swallow errors: an enter that fails is
reported as an ERROR (the barrier is not `participating` afterwards), and a session that
has not finished its rounds within 60 s a round (30 s to enter, 30 s to leave) plus the
holds prints TIMEOUT (the program then exits 1 without waiting for it). What the kazoo
programs share is in peer.py; the output lines are described in README.md in the folder
above.
"""

import os
import sys
import time

# `python -I` (as the tests run it) leaves this folder off sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import Peer, main, now_micros, say  # noqa: E402

ROUND_TIMEOUT_S = 30.0


class BarrierPeer(Peer):
    name = "kazoo_double_barrier"
    counted = ("rounds", "timeouts", "errors")

    @staticmethod
    def add_options(parser):
        parser.add_argument("--members", type=int, default=2)

    def rounds(self, client, session_id):
        for rnd in range(self.args.rounds):
            # A new member (and member node name) each round, as a new process would be.
            barrier = client.DoubleBarrier(
                self.args.path, self.args.members, identifier=session_id
            )
            say(f"ENTERING {session_id} {rnd} {now_micros()}")
            barrier.enter()
            if not barrier.participating:
                raise RuntimeError(f"enter failed in round {rnd}")
            say(f"ENTERED {session_id} {rnd} {now_micros()}")
            time.sleep(self.args.hold_ms / 1000)
            say(f"LEAVING {session_id} {rnd} {now_micros()}")
            barrier.leave()
            say(f"LEFT {session_id} {rnd} {now_micros()}")
            self.count("rounds")

    def run(self):
        per_round = 2 * ROUND_TIMEOUT_S + self.args.hold_ms / 1000
        stuck = self.run_sessions(self.rounds, within=per_round * self.args.rounds)
        code = self.summary(sessions=self.args.sessions)
        if stuck:
            # A session is still blocked inside kazoo: do not wait for it.
            os._exit(code)
        return code


if __name__ == "__main__":
    sys.exit(main(BarrierPeer, __doc__))
