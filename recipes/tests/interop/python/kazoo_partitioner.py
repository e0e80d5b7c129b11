"""A kazoo SetPartitioner member for zk-recipes' interop tests.

    kazoo_partitioner.py CONNECT PATH 1 HOLD_MS --items A,B,... [--id NAME]
                         [--time-boundary SECONDS]

The session makes kazoo's SetPartitioner at PATH over the items with its id as the
identifier, and drives it as kazoo's documentation does: on RELEASE it prints
`RELEASE id item ...` and calls release_set(); when ACQUIRED it prints
`ACQUIRED id item ...` (sorted) each time its share changes; while ALLOCATING it waits
for the acquire. It finishes (releases its locks and leaves the party) when the node
PATH-cs/leave-ID appears, or after HOLD_MS when HOLD_MS is not 0, and prints LEFT. FAILURE
before that is an ERROR; a session that has not left after 120 s prints TIMEOUT. ROUNDS
(and --sessions) must be 1. What the kazoo programs share is in peer.py; the output lines
are described in README.md in the folder above.
"""

import os
import sys
import time

# `python -I` (as the tests run it) leaves this folder off sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import Peer, main, say  # noqa: E402


class PartitionerPeer(Peer):
    name = "kazoo_partitioner"

    @staticmethod
    def add_options(parser):
        parser.add_argument("--items", required=True)
        parser.add_argument("--time-boundary", type=float, default=0.2)

    @staticmethod
    def check(parser, args):
        if args.rounds != 1 or args.sessions != 1:
            parser.error(
                "kazoo_partitioner.py runs one session once: ROUNDS and --sessions must be 1"
            )

    def __init__(self, args):
        super().__init__(args)
        self.items = [i for i in args.items.split(",") if i]

    def stay(self, client, me):
        partitioner = client.SetPartitioner(
            path=self.args.path,
            set=self.items,
            identifier=me,
            time_boundary=self.args.time_boundary,
        )
        shown = None
        for _ in self.staying(client, me):
            if partitioner.failed:
                raise RuntimeError("the partitioner failed")
            if partitioner.release:
                say(" ".join([f"RELEASE {me}"] + sorted(partitioner)))
                shown = None
                partitioner.release_set()
            elif partitioner.acquired:
                line = " ".join([f"ACQUIRED {me}"] + sorted(partitioner))
                if line != shown:
                    shown = line
                    say(line)
                time.sleep(0.01)
            else:
                partitioner.wait_for_acquire(0.05)
        partitioner.finish()
        say(f"LEFT {me}")

    def run(self):
        self.run_sessions(self.stay, start_together=False)
        return self.summary(items=len(self.items))


if __name__ == "__main__":
    sys.exit(main(PartitionerPeer, __doc__))
