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
holds prints TIMEOUT. The output lines are
described in README.md in the folder above.
"""

import argparse
import os
import sys
import threading
import time

import kazoo.version
from kazoo.client import KazooClient

ROUND_TIMEOUT_S = 30.0
OUTPUT = threading.Lock()


def say(line):
    with OUTPUT:
        print(line, flush=True)


def now_micros():
    return time.time_ns() // 1000


class Peer:
    def __init__(self, args):
        self.args = args
        self.markers = args.path + "-cs"
        self.counts = {"rounds": 0, "timeouts": 0, "errors": 0}
        self.counts_lock = threading.Lock()

    def count(self, key):
        with self.counts_lock:
            self.counts[key] += 1

    def session_id(self, k):
        return self.args.id if self.args.sessions == 1 else f"{self.args.id}-{k}"

    def connect(self):
        client = KazooClient(hosts=self.args.connect, timeout=10.0)
        client.start(timeout=30)
        return client

    def await_go(self, client):
        deadline = time.monotonic() + 60
        while client.exists(self.markers + "/go") is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.markers}/go did not appear within 60 s")
            time.sleep(0.01)

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

    def session(self, client, session_id):
        try:
            self.rounds(client, session_id)
        except Exception as e:  # noqa: BLE001 - reported on stdout, counted as an error
            self.count("errors")
            say(f"ERROR {session_id} {e!r}")
        say(f"DONE {session_id}")

    def run(self):
        clients = []
        for k in range(self.args.sessions):
            clients.append(self.connect())
            say(f"READY {self.session_id(k)}")
        self.await_go(clients[0])
        threads = [
            threading.Thread(
                target=self.session, args=(c, self.session_id(k)), daemon=True
            )
            for k, c in enumerate(clients)
        ]
        for t in threads:
            t.start()
        per_round = 2 * ROUND_TIMEOUT_S + self.args.hold_ms / 1000
        deadline = time.monotonic() + per_round * self.args.rounds
        stuck = False
        for k, t in enumerate(threads):
            t.join(max(deadline - time.monotonic(), 0))
            if t.is_alive():
                stuck = True
                self.count("timeouts")
                say(f"TIMEOUT {self.session_id(k)} -")
        if not stuck:
            for c in clients:
                c.stop()
                c.close()
        c = self.counts
        say(
            f"SUMMARY kazoo_double_barrier sessions={self.args.sessions}"
            f" rounds={c['rounds']} timeouts={c['timeouts']} errors={c['errors']}"
        )
        code = 0 if c["errors"] == 0 and c["timeouts"] == 0 else 1
        if stuck:
            # A session is still blocked inside kazoo: do not wait for it.
            os._exit(code)
        return code


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("connect")
    parser.add_argument("path")
    parser.add_argument("rounds", type=int)
    parser.add_argument("hold_ms", type=int)
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--id", default=f"kazoo-{os.getpid()}")
    parser.add_argument("--members", type=int, default=2)
    args = parser.parse_args()
    say(f"VERSION kazoo {kazoo.version.__version__} python {sys.version.split()[0]}")
    return Peer(args).run()


if __name__ == "__main__":
    sys.exit(main())
