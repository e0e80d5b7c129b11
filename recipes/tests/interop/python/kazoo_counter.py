"""A kazoo Counter peer for zk-recipes' interop tests.

    kazoo_counter.py CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--curator]

Each session, once the test creates PATH-cs/go: print START with the counter's value;
once PATH-cs/inc appears, `counter += 1` ROUNDS times, printing INCR with kazoo's
pre_value and post_value; then INCREMENTED, and SEEN once the value reads the final
count written in PATH-cs/end. --curator makes the counter `Counter(path,
support_curator=True)` (4-byte big-endian, Curator's SharedCount format); without it the
value is ASCII. The client retries lost races without limit (kazoo's Counter retries
through the client's command retry). HOLD_MS is not used. What the kazoo programs share
is in peer.py; the output lines are described in README.md in the folder above.
"""

import os
import sys
import time

# `python -I` (as the tests run it) leaves this folder off sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import Peer, main, say  # noqa: E402


class CounterPeer(Peer):
    name = "kazoo_counter"
    counted = ("grants", "errors")
    command_retry = {"max_tries": -1, "delay": 0.001, "backoff": 2, "max_delay": 0.05}
    gate_poll_s = 0.005

    @staticmethod
    def add_options(parser):
        parser.add_argument("--curator", action="store_true")

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

    def run(self):
        self.run_sessions(self.rounds)
        return self.summary(sessions=self.args.sessions)


if __name__ == "__main__":
    sys.exit(main(CounterPeer, __doc__))
