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
must be 1. The output lines are described in README.md in the folder above.
"""

import argparse
import os
import sys
import time

import kazoo.version
from kazoo.client import KazooClient

STAY_LIMIT_S = 120.0


def say(line):
    print(line, flush=True)


def run(args):
    client = KazooClient(hosts=args.connect, timeout=10.0)
    client.start(timeout=30)
    me = args.id
    say(f"READY {me}")
    items = [i for i in args.items.split(",") if i]
    errors = timeouts = 0
    try:
        partitioner = client.SetPartitioner(
            path=args.path,
            set=items,
            identifier=me,
            time_boundary=args.time_boundary,
        )
        leave = f"{args.path}-cs/leave-{me}"
        started = time.monotonic()
        shown = None
        while client.exists(leave) is None:
            if args.hold_ms and time.monotonic() - started >= args.hold_ms / 1000:
                break
            if time.monotonic() - started > STAY_LIMIT_S:
                timeouts += 1
                say(f"TIMEOUT {me} 0")
                break
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
    except Exception as e:  # noqa: BLE001 - reported on stdout, counted as an error
        errors += 1
        say(f"ERROR {me} {e!r}")
    say(f"DONE {me}")
    client.stop()
    client.close()
    say(
        f"SUMMARY kazoo_partitioner items={len(items)}"
        f" timeouts={timeouts} errors={errors}"
    )
    return 0 if errors == 0 and timeouts == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("connect")
    parser.add_argument("path")
    parser.add_argument("rounds", type=int)
    parser.add_argument("hold_ms", type=int)
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--id", default=f"kazoo-{os.getpid()}")
    parser.add_argument("--items", required=True)
    parser.add_argument("--time-boundary", type=float, default=0.2)
    args = parser.parse_args()
    if args.rounds != 1 or args.sessions != 1:
        parser.error("kazoo_partitioner.py runs one session once: ROUNDS and --sessions must be 1")
    say(f"VERSION kazoo {kazoo.version.__version__} python {sys.version.split()[0]}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
