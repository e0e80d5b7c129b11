"""A kazoo Queue (or LockingQueue) producer or consumer for zk-recipes' interop tests.

    kazoo_queue.py CONNECT PATH 1 HOLD_MS [--sessions N] [--id NAME]
                   (--put N | --take N) [--priority P] [--locking]

The queue at PATH is kazoo's Queue, or its LockingQueue with --locking. Each session,
once the test creates PATH-cs/go:

--put N: puts item-0 .. item-{N-1} in that order with priority P (default 100, kazoo's),
  printing `PUT id item` after each put, and waiting HOLD_MS between two puts (one
  queue object throughout: kazoo makes its paths only before the first);
--take N: takes items until it has N, or the node PATH-cs/stop appears, printing
  `TAKEN id item us` as each one is consumed: Queue.get() (which returns None at once
  when the queue is empty, so it is called again 10 ms later), or LockingQueue.get()
  (waiting 0.1 s at a time), then a hold of HOLD_MS, then consume(), which must return
  True. One that has not got N after 30 s without stop prints `TIMEOUT id taken`.

ROUNDS must be 1. What the kazoo programs share is in peer.py; the output lines are
described in README.md in the folder above.
"""

import os
import sys
import time

# `python -I` (as the tests run it) leaves this folder off sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import Peer, main, now_micros, say  # noqa: E402

# How long a consumer waits for its N items (unless told to stop).
TAKE_TIMEOUT_S = 30.0


class QueuePeer(Peer):
    name = "kazoo_queue"
    counted = ("items", "timeouts", "errors")

    @staticmethod
    def add_options(parser):
        role = parser.add_mutually_exclusive_group(required=True)
        role.add_argument("--put", type=int)
        role.add_argument("--take", type=int)
        parser.add_argument("--priority", type=int, default=100)
        parser.add_argument("--locking", action="store_true")

    @staticmethod
    def check(parser, args):
        if args.rounds != 1:
            parser.error("kazoo_queue.py runs once: ROUNDS must be 1")

    def queue(self, client):
        kind = client.LockingQueue if self.args.locking else client.Queue
        return kind(self.args.path)

    def put(self, client, session_id):
        queue = self.queue(client)
        for k in range(self.args.put):
            if k and self.args.hold_ms:
                time.sleep(self.args.hold_ms / 1000)
            item = f"item-{k}"
            queue.put(item.encode(), priority=self.args.priority)
            self.count("items")
            say(f"PUT {session_id} {item}")

    def stopped(self, client):
        return client.exists(f"{self.markers}/stop") is not None

    def take(self, client, session_id):
        queue = self.queue(client)
        deadline = time.monotonic() + TAKE_TIMEOUT_S
        taken = 0
        while taken < self.args.take and not self.stopped(client):
            if time.monotonic() > deadline:
                self.count("timeouts")
                say(f"TIMEOUT {session_id} {taken}")
                return
            if self.args.locking:
                item = queue.get(timeout=0.1)
            else:
                item = queue.get()
            if item is None:
                if not self.args.locking:
                    time.sleep(0.01)
                continue
            if self.args.hold_ms:
                time.sleep(self.args.hold_ms / 1000)
            if self.args.locking and not queue.consume():
                raise RuntimeError(f"consume() of {item!r} returned False")
            taken += 1
            self.count("items")
            say(f"TAKEN {session_id} {item.decode()} {now_micros()}")

    def run(self):
        body = self.put if self.args.put is not None else self.take
        self.run_sessions(body)
        kind = "locking" if self.args.locking else "queue"
        role = "put" if self.args.put is not None else "take"
        return self.summary(kind=kind, role=role, sessions=self.args.sessions)


if __name__ == "__main__":
    sys.exit(main(QueuePeer, __doc__))
