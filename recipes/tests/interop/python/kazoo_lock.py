"""A kazoo Lock contender for zk-recipes' interop tests.

    kazoo_lock.py CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--list]
                  [--extra-lock-pattern=P ...]

Each session, each round: acquire kazoo's Lock on PATH, create the ephemeral marker
PATH-cs/holder (a VIOLATION when it exists: someone else is inside), hold for HOLD_MS,
delete the marker, release. --extra-lock-pattern is passed to Lock as extra_lock_patterns
(["-lock-"] makes kazoo respect Curator-named contenders). --list prints the contenders'
data as kazoo's Lock.contenders() returns it, and exits. What the kazoo programs share is
in peer.py; the output lines are described in README.md in the folder above.
"""

import os
import sys
import time

from kazoo.exceptions import LockTimeout, NodeExistsError, NoNodeError

# `python -I` (as the tests run it) leaves this folder off sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import Peer, close, main, now_micros, say  # noqa: E402

ACQUIRE_TIMEOUT_S = 30.0


class LockPeer(Peer):
    name = "kazoo_lock"
    counted = ("grants", "violations", "timeouts", "errors")
    # A round that timed out is for the test to judge: only errors fail the program.
    fails_on = ("errors",)

    @staticmethod
    def add_options(parser):
        parser.add_argument("--list", action="store_true")
        parser.add_argument("--extra-lock-pattern", action="append", default=[])

    def lock(self, client, session_id):
        return client.Lock(
            self.args.path,
            identifier=session_id,
            extra_lock_patterns=self.args.extra_lock_pattern,
        )

    def marked_by(self, client, marker):
        try:
            return client.get(marker)[0].decode()
        except NoNodeError:
            return "?"

    def rounds(self, client, session_id):
        lock = self.lock(client, session_id)
        marker = self.markers + "/holder"
        for rnd in range(self.args.rounds):
            try:
                lock.acquire(timeout=ACQUIRE_TIMEOUT_S)
            except LockTimeout:
                self.count("timeouts")
                say(f"TIMEOUT {session_id} {rnd}")
                continue
            start = now_micros()
            node = lock.node
            try:
                client.create(marker, session_id.encode(), ephemeral=True)
                mine = True
            except NodeExistsError:
                mine = False
                self.count("violations")
                say(f"VIOLATION {session_id} {rnd} holder={self.marked_by(client, marker)}")
            time.sleep(self.args.hold_ms / 1000)
            if mine:
                client.delete(marker)
            end = now_micros()
            lock.release()
            self.count("grants")
            say(f"GRANT {session_id} {rnd} {node} {start} {end}")

    def list(self):
        client = self.connect()
        contenders = self.lock(client, self.args.id).contenders()
        for data in contenders:
            say(f"PARTICIPANT - {data}")
        close(client)
        say(f"SUMMARY {self.name} participants={len(contenders)}")
        return 0

    def run(self):
        if self.args.list:
            return self.list()
        self.run_sessions(self.rounds)
        return self.summary(sessions=self.args.sessions)


if __name__ == "__main__":
    sys.exit(main(LockPeer, __doc__))
