"""What the kazoo peers of zk-recipes' interop tests share.

The kazoo_*.py programs in this folder import it (as the Curator programs share
../java/Peer.java). It holds their common command line, `CONNECT PATH ROUNDS HOLD_MS
[--sessions N] [--id NAME]` plus each program's own options; the VERSION line; the
sessions: connect, print READY, wait for the node PATH-cs/go, run one thread per session
and print its ERROR and DONE lines; and the SUMMARY line with the exit code. The output
lines are described in README.md in the folder above.

The tests run the programs with `python -I`, which leaves the script's own folder off
sys.path, so each program puts that folder back before it imports this module.
"""

import argparse
import os
import sys
import threading
import time

import kazoo.version
from kazoo.client import KazooClient

# How long a session waits for a gate node the test creates (PATH-cs/go and the like).
GATE_TIMEOUT_S = 60
# How long a member stays at most when it is not told to leave.
STAY_LIMIT_S = 120.0

OUTPUT = threading.Lock()


def say(line):
    """Prints one output line, whole, from any thread."""
    with OUTPUT:
        print(line, flush=True)


def now_micros():
    """Microseconds since the epoch (the same clock every peer reads)."""
    return time.time_ns() // 1000


def version():
    """Prints `VERSION kazoo X python Y`: the versions actually loaded."""
    say(f"VERSION kazoo {kazoo.version.__version__} python {sys.version.split()[0]}")


def main(program, doc):
    """Parses the command line for `program` (a Peer subclass), prints VERSION and runs it.

    The description is the first line of `doc` (the script's docstring). Returns the exit
    code; a bad command line exits 2, as argparse does.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("connect")
    parser.add_argument("path")
    parser.add_argument("rounds", type=int)
    parser.add_argument("hold_ms", type=int)
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--id", default=f"kazoo-{os.getpid()}")
    program.add_options(parser)
    args = parser.parse_args()
    program.check(parser, args)
    version()
    return program(args).run()


class Peer:
    """One program's sessions and counts. A program subclasses it and defines `run()`."""

    # The program's name in SUMMARY.
    name = "kazoo"
    # The counts SUMMARY prints, in this order, after the program's own fields.
    counted = ("timeouts", "errors")
    # The counts that make the exit code 1 when they are not 0 (those it has).
    fails_on = ("errors", "timeouts")
    # KazooClient's command_retry (None: kazoo's default).
    command_retry = None
    # How often gate() looks for its node.
    gate_poll_s = 0.01

    @staticmethod
    def add_options(parser):
        """Adds the program's own options to `parser`."""

    @staticmethod
    def check(parser, args):
        """Rejects, with parser.error(), arguments the program cannot run with."""

    def __init__(self, args):
        self.args = args
        self.markers = args.path + "-cs"
        self.counts = dict.fromkeys(self.counted, 0)
        self.counts_lock = threading.Lock()

    def count(self, key):
        with self.counts_lock:
            self.counts[key] += 1

    def session_id(self, k):
        """The id of session `k`: the --id itself for one session, `ID-k` for more."""
        return self.args.id if self.args.sessions == 1 else f"{self.args.id}-{k}"

    def connect(self):
        """A started, connected KazooClient."""
        client = KazooClient(
            hosts=self.args.connect, timeout=10.0, command_retry=self.command_retry
        )
        client.start(timeout=30)
        return client

    def gate(self, client, name):
        """Waits until the test creates the node PATH-cs/`name`; returns its data."""
        path = f"{self.markers}/{name}"
        deadline = time.monotonic() + GATE_TIMEOUT_S
        while client.exists(path) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} did not appear within {GATE_TIMEOUT_S} s")
            time.sleep(self.gate_poll_s)
        return client.get(path)[0].decode()

    def staying(self, client, session_id):
        """Yields again and again while the session stays.

        It stays until the node PATH-cs/leave-ID appears (ID is `session_id`), or for
        HOLD_MS when that is not 0; after STAY_LIMIT_S it prints `TIMEOUT id 0` and stops.
        """
        leave = f"{self.markers}/leave-{session_id}"
        started = time.monotonic()
        while client.exists(leave) is None:
            stayed = time.monotonic() - started
            if self.args.hold_ms and stayed >= self.args.hold_ms / 1000:
                return
            if stayed > STAY_LIMIT_S:
                self.count("timeouts")
                say(f"TIMEOUT {session_id} 0")
                return
            yield

    def session(self, body, client, session_id):
        try:
            body(client, session_id)
        except Exception as e:  # noqa: BLE001 - reported on stdout, counted as an error
            self.count("errors")
            say(f"ERROR {session_id} {e!r}")
        say(f"DONE {session_id}")

    def run_sessions(self, body, start_together=True, within=None):
        """Runs `body(client, session_id)` on every session, each in its own thread.

        Connects every session first, printing READY for each, and then, with
        `start_together`, waits for PATH-cs/go. Waits for the threads, at most `within`
        seconds when it is not None: a session still running then prints `TIMEOUT id -`
        and is left running. Closes the clients unless a session was left running, and
        returns whether one was.
        """
        clients = []
        for k in range(self.args.sessions):
            clients.append(self.connect())
            say(f"READY {self.session_id(k)}")
        if start_together:
            self.gate(clients[0], "go")
        threads = [
            # Daemons: a session left running must not keep the program alive.
            threading.Thread(
                target=self.session, args=(body, c, self.session_id(k)), daemon=True
            )
            for k, c in enumerate(clients)
        ]
        for t in threads:
            t.start()
        deadline = None if within is None else time.monotonic() + within
        stuck = False
        for k, t in enumerate(threads):
            t.join(None if deadline is None else max(deadline - time.monotonic(), 0))
            if t.is_alive():
                stuck = True
                self.count("timeouts")
                say(f"TIMEOUT {self.session_id(k)} -")
        if not stuck:
            for c in clients:
                close(c)
        return stuck

    def summary(self, **fields):
        """Prints `SUMMARY name` with `fields` and then the counts; returns the exit code."""
        shown = " ".join(f"{k}={v}" for k, v in {**fields, **self.counts}.items())
        say(f"SUMMARY {self.name} {shown}")
        return 0 if all(self.counts.get(k, 0) == 0 for k in self.fails_on) else 1


def close(client):
    """Stops and closes a KazooClient."""
    client.stop()
    client.close()
