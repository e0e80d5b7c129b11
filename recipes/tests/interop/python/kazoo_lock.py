"""A kazoo Lock contender for zk-recipes' interop tests.

    kazoo_lock.py CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--list]
                  [--extra-lock-pattern=P ...]

Each session, each round: acquire kazoo's Lock on PATH, create the ephemeral marker
PATH-cs/holder (a VIOLATION when it exists: someone else is inside), hold for HOLD_MS,
delete the marker, release. --extra-lock-pattern is passed to Lock as extra_lock_patterns
(["-lock-"] makes kazoo respect Curator-named contenders). --list prints the contenders'
data as kazoo's Lock.contenders() returns it, and exits. The output lines are described in
README.md in the folder above.
"""

import argparse
import os
import sys
import threading
import time

import kazoo.version
from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout, NodeExistsError, NoNodeError

ACQUIRE_TIMEOUT_S = 30.0
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
        self.counts = {"grants": 0, "violations": 0, "timeouts": 0, "errors": 0}
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

    def lock(self, client, session_id):
        return client.Lock(
            self.args.path,
            identifier=session_id,
            extra_lock_patterns=self.args.extra_lock_pattern,
        )

    def await_go(self, client):
        deadline = time.monotonic() + 60
        while client.exists(self.markers + "/go") is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.markers}/go did not appear within 60 s")
            time.sleep(0.01)

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
            threading.Thread(target=self.session, args=(c, self.session_id(k)))
            for k, c in enumerate(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in clients:
            c.stop()
            c.close()
        c = self.counts
        say(
            f"SUMMARY kazoo_lock sessions={self.args.sessions} grants={c['grants']}"
            f" violations={c['violations']} timeouts={c['timeouts']} errors={c['errors']}"
        )
        return 0 if c["errors"] == 0 else 1

    def list(self):
        client = self.connect()
        contenders = self.lock(client, self.args.id).contenders()
        for data in contenders:
            say(f"PARTICIPANT - {data}")
        client.stop()
        client.close()
        say(f"SUMMARY kazoo_lock participants={len(contenders)}")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("connect")
    parser.add_argument("path")
    parser.add_argument("rounds", type=int)
    parser.add_argument("hold_ms", type=int)
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--id", default=f"kazoo-{os.getpid()}")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--extra-lock-pattern", action="append", default=[])
    args = parser.parse_args()
    say(f"VERSION kazoo {kazoo.version.__version__} python {sys.version.split()[0]}")
    peer = Peer(args)
    return peer.list() if args.list else peer.run()


if __name__ == "__main__":
    sys.exit(main())
