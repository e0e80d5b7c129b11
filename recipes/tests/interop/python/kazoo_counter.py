"""A kazoo Counter peer for zk-recipes' interop tests.

    kazoo_counter.py CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--curator]

Each session, once the test creates PATH-cs/go: print START with the counter's value;
once PATH-cs/inc appears, `counter += 1` ROUNDS times, printing INCR with kazoo's
pre_value and post_value; then INCREMENTED, and SEEN once the value reads the final
count written in PATH-cs/end. --curator makes the counter `Counter(path,
support_curator=True)` (4-byte big-endian, Curator's SharedCount format); without it the
value is ASCII. The client retries lost races without limit (kazoo's Counter retries
through the client's command retry). HOLD_MS is not used. The output lines are described
in README.md in the folder above.
"""

import argparse
import os
import sys
import threading
import time

import kazoo.version
from kazoo.client import KazooClient

OUTPUT = threading.Lock()


def say(line):
    with OUTPUT:
        print(line, flush=True)


class Peer:
    def __init__(self, args):
        self.args = args
        self.markers = args.path + "-cs"
        self.counts = {"grants": 0, "errors": 0}
        self.counts_lock = threading.Lock()

    def count(self, key):
        with self.counts_lock:
            self.counts[key] += 1

    def session_id(self, k):
        return self.args.id if self.args.sessions == 1 else f"{self.args.id}-{k}"

    def connect(self):
        retry = {"max_tries": -1, "delay": 0.001, "backoff": 2, "max_delay": 0.05}
        client = KazooClient(hosts=self.args.connect, timeout=10.0, command_retry=retry)
        client.start(timeout=30)
        return client

    def gate(self, client, name):
        path = f"{self.markers}/{name}"
        deadline = time.monotonic() + 60
        while client.exists(path) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} did not appear within 60 s")
            time.sleep(0.005)
        return client.get(path)[0].decode()

    def rounds(self, client, session_id):
        counter = client.Counter(self.args.path, support_curator=self.args.curator)
        say(f"START {session_id} {counter.value}")
        self.gate(client, "inc")
        for rnd in range(self.args.rounds):
            counter += 1
            self.count("grants")
            say(f"INCR {session_id} {rnd} {counter.pre_value} {counter.post_value}")
        say(f"INCREMENTED {session_id}")
        expected = int(self.gate(client, "end").strip())
        deadline = time.monotonic() + 30
        value = counter.value
        while value != expected and time.monotonic() < deadline:
            time.sleep(0.005)
            value = counter.value
        say(f"SEEN {session_id} {value}")

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
        self.gate(clients[0], "go")
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
            f"SUMMARY kazoo_counter sessions={self.args.sessions}"
            f" grants={c['grants']} errors={c['errors']}"
        )
        return 0 if c["errors"] == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("connect")
    parser.add_argument("path")
    parser.add_argument("rounds", type=int)
    parser.add_argument("hold_ms", type=int)
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--id", default=f"kazoo-{os.getpid()}")
    parser.add_argument("--curator", action="store_true")
    args = parser.parse_args()
    say(f"VERSION kazoo {kazoo.version.__version__} python {sys.version.split()[0]}")
    return Peer(args).run()


if __name__ == "__main__":
    sys.exit(main())
