"""A kazoo Party (or ShallowParty) member for zk-recipes' interop tests.

    kazoo_party.py CONNECT PATH 1 HOLD_MS [--sessions N] [--id NAME] [--shallow]

Each session joins kazoo's Party (ShallowParty with --shallow) at PATH with its id as
the identifier as soon as it is connected, and prints JOINED with its node's name. It
prints `PARTICIPANTS id a b ...` (the identifiers kazoo lists, sorted) first and then
whenever they change; `len(party)` must agree with the list (else it prints ERROR). It
leaves when the node PATH-cs/leave-ID appears (ID = the session's id), or after HOLD_MS
when HOLD_MS is not 0, and prints LEFT. A session that has not left after 120 s prints
TIMEOUT and leaves. ROUNDS must be 1. The output lines are described in README.md in
the folder above.
"""

import argparse
import os
import sys
import threading
import time

import kazoo.version
from kazoo.client import KazooClient

STAY_LIMIT_S = 120.0
OUTPUT = threading.Lock()


def say(line):
    with OUTPUT:
        print(line, flush=True)


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

    def stay(self, client, session_id):
        kind = client.ShallowParty if self.args.shallow else client.Party
        party = kind(self.args.path, identifier=session_id)
        party.join()
        say(f"JOINED {session_id} {party.node}")
        leave = f"{self.markers}/leave-{session_id}"
        started = time.monotonic()
        shown = None
        while client.exists(leave) is None:
            if self.args.hold_ms and time.monotonic() - started >= self.args.hold_ms / 1000:
                break
            if time.monotonic() - started > STAY_LIMIT_S:
                self.count("timeouts")
                say(f"TIMEOUT {session_id} 0")
                break
            ids, count = sorted(party), len(party)
            if count != len(ids):
                # The party may have changed between the two reads: read again.
                ids, count = sorted(party), len(party)
                if count != len(ids):
                    raise RuntimeError(f"len(party) is {count} for {ids}")
            line = " ".join([f"PARTICIPANTS {session_id}"] + ids)
            if line != shown:
                shown = line
                say(line)
            time.sleep(0.01)
        party.leave()
        self.count("rounds")
        say(f"LEFT {session_id}")

    def session(self, client, session_id):
        try:
            self.stay(client, session_id)
        except Exception as e:  # noqa: BLE001 - reported on stdout, counted as an error
            self.count("errors")
            say(f"ERROR {session_id} {e!r}")
        say(f"DONE {session_id}")

    def run(self):
        clients = []
        for k in range(self.args.sessions):
            clients.append(self.connect())
            say(f"READY {self.session_id(k)}")
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
        kind = "shallow" if self.args.shallow else "party"
        say(
            f"SUMMARY kazoo_party kind={kind} sessions={self.args.sessions}"
            f" rounds={c['rounds']} timeouts={c['timeouts']} errors={c['errors']}"
        )
        return 0 if c["errors"] == 0 and c["timeouts"] == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("connect")
    parser.add_argument("path")
    parser.add_argument("rounds", type=int)
    parser.add_argument("hold_ms", type=int)
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--id", default=f"kazoo-{os.getpid()}")
    parser.add_argument("--shallow", action="store_true")
    args = parser.parse_args()
    if args.rounds != 1:
        parser.error("kazoo_party.py joins once: ROUNDS must be 1")
    say(f"VERSION kazoo {kazoo.version.__version__} python {sys.version.split()[0]}")
    return Peer(args).run()


if __name__ == "__main__":
    sys.exit(main())
