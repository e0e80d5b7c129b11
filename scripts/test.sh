#!/usr/bin/env bash
# Runs the whole test suite: unit, property, golden-vector, real-server and doc tests of
# every crate, the hostile-server soak in a bounded form, and zk-client's quick start
# (examples/quickstart.rs) and zk-recipes' global name, status board, cats, boss and job
# watchers examples against a local server. Installs ZooKeeper first when it is
# missing (needs root for apt-get), and Docker with the kit's ZooKeeper image for the
# container backend's tests (scripts/start-docker.sh). Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# zk-testkit runs each Ensemble test on both backends, processes and containers, and
# `zk chaos` has a container run: a Docker daemon and the kit's image. Without them the
# container tests print SKIPPED; with ZK_TESTKIT_REQUIRE_DOCKER=1 (CI) the run fails.
if ! scripts/start-docker.sh; then
    if [[ ${ZK_TESTKIT_REQUIRE_DOCKER:-0} != 0 ]]; then
        echo "error: the container backend is required (ZK_TESTKIT_REQUIRE_DOCKER=1)" >&2
        exit 1
    fi
    echo "the container backend's tests will print SKIPPED" >&2
fi

started=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Runs a command, keeping its output for the summary.
run() { "$@" 2>&1 | tee -a "$log"; }

run cargo test --workspace --locked "$@"
# The hostile-server soak in a bounded form (3 s per case; run it longer with
# ZK_HOSTILE_SOAK_SECS=30 cargo test -p zk-client --test it hostile_soak -- --ignored --nocapture)
ZK_HOSTILE_SOAK_SECS=${ZK_HOSTILE_SOAK_SECS:-3} \
    run cargo test -p zk-client --test it --locked "$@" hostile_soak -- --ignored
# zk-client without its default tls feature (plaintext-only builds)
run cargo test -p zk-client --no-default-features --lib --locked "$@"

# The quick start of README.md and of zk-client's crate docs, as a new user runs it: against
# a fresh local server (`zk server start`, in a state folder of its own).
(
    export XDG_RUNTIME_DIR
    XDG_RUNTIME_DIR=$(mktemp -d)
    cargo build -q --locked -p zk-cli -p zk-client -p zk-recipes --examples --bin zk
    zk=target/debug/zk
    trap '"$zk" server stop >/dev/null 2>&1 || true; rm -rf "$XDG_RUNTIME_DIR"' EXIT
    hosts=$("$zk" server start --nodes 1)
    echo "quick start against $hosts:"
    cargo run -q --locked -p zk-client --example quickstart -- "$hosts"
    # A second run finds the nodes of the first and works the same.
    cargo run -q --locked -p zk-client --example quickstart -- "$hosts" >/dev/null
    echo "quick start: ok"

    # zk-recipes' global name example, as its docs run it: the first candidate holds the
    # name, and when it leaves, the one in line takes it over.
    gn=target/debug/examples/global_name
    holder() {
        local said
        said=$("$gn" --server "$hosts" --name demo --whereis)
        echo "whereis: $said"
        [[ $said == "demo is held by pid $1" ]]
    }
    "$gn" --server "$hosts" --name demo --for 3 >"$XDG_RUNTIME_DIR/first" &
    first=$!
    sleep 1
    "$gn" --server "$hosts" --name demo --for 20 >"$XDG_RUNTIME_DIR/second" &
    second=$!
    sleep 1
    holder "$first"
    wait "$first"
    sleep 1
    holder "$second"
    grep -q "I hold demo" "$XDG_RUNTIME_DIR/second"
    kill -INT "$second"
    wait "$second"
    echo "global name example: ok"

    # zk-recipes' status board example: the monitor sees a server start, stop and go.
    sb=target/debug/examples/status_board
    "$sb" --server "$hosts" monitor --for 6 >"$XDG_RUNTIME_DIR/board" &
    board=$!
    sleep 1
    "$sb" --server "$hosts" serve web-1 --stop-after 1 --for 2 >/dev/null
    wait "$board"
    sed 's/^/board: /' "$XDG_RUNTIME_DIR/board"
    grep -qx "web-1 is running" "$XDG_RUNTIME_DIR/board"
    grep -qx "web-1 changed from running to stopped" "$XDG_RUNTIME_DIR/board"
    grep -qx "web-1 disappeared" "$XDG_RUNTIME_DIR/board"
    echo "status board example: ok"

    # zk-recipes' cats example: three cats fed three times each, through follow-up tasks.
    target/debug/examples/cats --server "$hosts" --scope /cats-ci >"$XDG_RUNTIME_DIR/cats"
    sed 's/^/cats: /' "$XDG_RUNTIME_DIR/cats"
    for cat in Tom Felix Garfield; do
        grep -q "^$cat was fed 3 times, by " "$XDG_RUNTIME_DIR/cats"
    done
    grep -qx "9 tasks done, 0 waiting, master boss" "$XDG_RUNTIME_DIR/cats"
    echo "cats example: ok"

    # zk-recipes' boss example: the first candidate is the boss and delegates; when it
    # leaves, the second becomes the boss and works the next job itself.
    boss=target/debug/examples/boss
    "$boss" --server "$hosts" --scope /boss-ci --for 4 >"$XDG_RUNTIME_DIR/boss-a" &
    a=$!
    sleep 1
    "$boss" --server "$hosts" --scope /boss-ci --for 20 >"$XDG_RUNTIME_DIR/boss-b" &
    b=$!
    sleep 1
    "$boss" --server "$hosts" --scope /boss-ci "paint the fence" >"$XDG_RUNTIME_DIR/job-1"
    wait "$a"
    "$boss" --server "$hosts" --scope /boss-ci "feed the cat" >"$XDG_RUNTIME_DIR/job-2"
    kill -INT "$b"
    wait "$b"
    for f in boss-a boss-b job-1 job-2; do sed "s/^/$f: /" "$XDG_RUNTIME_DIR/$f"; done
    grep -qx "the boss is pid $a" "$XDG_RUNTIME_DIR/job-1"
    grep -q "^paint the fence: done by pid " "$XDG_RUNTIME_DIR/job-1"
    grep -qx "pid $a: I am the boss" "$XDG_RUNTIME_DIR/boss-a"
    grep -qx "pid $a: the boss gives paint the fence to pid [0-9]*" "$XDG_RUNTIME_DIR/boss-a"
    grep -qx "the boss is pid $b" "$XDG_RUNTIME_DIR/job-2"
    grep -qx "feed the cat: done by pid $b" "$XDG_RUNTIME_DIR/job-2"
    grep -qx "pid $b: I am the boss" "$XDG_RUNTIME_DIR/boss-b"
    echo "boss example: ok"

    # zk-recipes' job watchers example: an executor runs four jobs; two watchers share
    # them, and each job's end is seen by exactly one of them.
    jw=target/debug/examples/job_watchers
    for role in "executor e1" "watcher ann" "watcher bob"; do
        # shellcheck disable=SC2086
        "$jw" --server "$hosts" --for 9 $role >"$XDG_RUNTIME_DIR/jw-${role#* }" &
    done
    sleep 2
    "$jw" --server "$hosts" submit build test deploy lint
    wait
    for f in e1 ann bob; do sed "s/^/job watchers: /" "$XDG_RUNTIME_DIR/jw-$f"; done
    for job in build test deploy lint; do
        grep -qx "executor e1: ran $job" "$XDG_RUNTIME_DIR/jw-e1"
        [[ $(cat "$XDG_RUNTIME_DIR/jw-ann" "$XDG_RUNTIME_DIR/jw-bob" | grep -cx "watcher [a-z]*: $job is done by e1") == 1 ]]
    done
    grep -q "watcher ann: my share is \[" "$XDG_RUNTIME_DIR/jw-ann"
    grep -q "watcher bob: my share is \[" "$XDG_RUNTIME_DIR/jw-bob"
    echo "job watchers example: ok"
)

awk -v secs=$((SECONDS - started)) '
    /^test result:/ { passed += $4; failed += $6; ignored += $8 }
    END { printf "\nsummary: %d passed, %d failed, %d ignored, in %d s\n", passed, failed, ignored, secs }
' "$log"
