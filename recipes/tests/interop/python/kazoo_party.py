"""A kazoo Party (or ShallowParty) member for zk-recipes' interop tests.

    kazoo_party.py CONNECT PATH 1 HOLD_MS [--sessions N] [--id NAME] [--shallow]

Each session joins kazoo's Party (ShallowParty with --shallow) at PATH with its id as
the identifier as soon as it is connected, and prints JOINED with its node's name. It
prints `PARTICIPANTS id a b ...` (the identifiers kazoo lists, sorted) first and then
whenever they change; `len(party)` must agree with the list (else it prints ERROR). It
leaves when the node PATH-cs/leave-ID appears (ID = the session's id), or after HOLD_MS
when HOLD_MS is not 0, and prints LEFT. A session that has not left after 120 s prints
TIMEOUT and leaves. ROUNDS must be 1. What the kazoo programs share is in peer.py; the
output lines are described in README.md in the folder above.
"""

import os
import sys
import time

# `python -I` (as the tests run it) leaves this folder off sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import Peer, main, say  # noqa: E402


class PartyPeer(Peer):
    name = "kazoo_party"
    counted = ("rounds", "timeouts", "errors")

    @staticmethod
    def add_options(parser):
        parser.add_argument("--shallow", action="store_true")

    @staticmethod
    def check(parser, args):
        if args.rounds != 1:
            parser.error("kazoo_party.py joins once: ROUNDS must be 1")

    def stay(self, client, session_id):
        kind = client.ShallowParty if self.args.shallow else client.Party
        party = kind(self.args.path, identifier=session_id)
        party.join()
        say(f"JOINED {session_id} {party.node}")
        shown = None
        for _ in self.staying(client, session_id):
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

    def run(self):
        self.run_sessions(self.stay, start_together=False)
        kind = "shallow" if self.args.shallow else "party"
        return self.summary(kind=kind, sessions=self.args.sessions)


if __name__ == "__main__":
    sys.exit(main(PartyPeer, __doc__))
