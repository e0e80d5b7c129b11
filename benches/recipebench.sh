# Adds zk-recipes to the recipe benchmark harness (recipebench), through its RB_EXTRA hook:
#
#   RB_EXTRA=$PWD/benches/recipebench.sh RB_CLIENTS="curator kazoo zkrs zkrs_st" \
#   RB_WORKLOADS="lock_uncontended lock_contended" <harness>/run.sh
#
# The harness sources this file after its own client registry and calls build_NAME once,
# then run_NAME WORKLOAD for each run, with $BUILD (its build folder), $ZK (HOST:PORT) and
# RB_CLIENT (the name, also the program's root znode /rb/NAME-<pid>) set.
#
# zkrs runs zk-recipebench on tokio's multi-thread runtime, zkrs_st on the current-thread
# one (RB_RT=current).
#
# zk-recipebench is built as a small client service would ship it: without the `server`
# feature (no zk-testkit, no TLS), with the `lean` profile (panic = abort, opt-level "s"),
# and statically linked (`crt-static`), as benches/peerbench.sh builds zk-bench.
CLIENTS+=(zkrs zkrs_st)
ZKRS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Exported, so the per-run shells that source this file again do not run rustc.
export ZKRS_TRIPLE=${ZKRS_TRIPLE:-$(rustc -vV | sed -n 's/^host: //p')}
ZKRS_RECIPEBENCH=$BUILD/zkrs-target/$ZKRS_TRIPLE/lean/zk-recipebench
build_zkrs() {
    # With --target, RUSTFLAGS reach only the target's code, not build scripts or proc macros.
    RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --locked \
        --manifest-path "$ZKRS_ROOT/Cargo.toml" -p zk-benches --bin zk-recipebench \
        --no-default-features --profile lean --target "$ZKRS_TRIPLE" \
        --target-dir "$BUILD/zkrs-target"
}
run_zkrs() { exec "$ZKRS_RECIPEBENCH" "$ZK" "$1"; }
build_zkrs_st() { build_zkrs; }
run_zkrs_st() { export RB_RT=current; exec "$ZKRS_RECIPEBENCH" "$ZK" "$1"; }
