# Adds zk-client to the peerbench harness (../shared/peerbench), following its README:
#
#   PB_EXTRA=$PWD/benches/peerbench.sh \
#   PB_CLIENTS="c c_tuned java kazoo zkc_rs zkc_rs_st zk_rs zkrs zkrs_st" ../shared/peerbench/run.sh
#
# zkrs runs zk-bench on tokio's multi-thread runtime, zkrs_st on the current-thread one.
ZKRS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_zkrs() {
    cargo build -q --release --locked --manifest-path "$ZKRS_ROOT/Cargo.toml" -p zk-benches --bin zk-bench \
        --target-dir "$BUILD/zkrs-target"
}
run_zkrs() { exec "$BUILD/zkrs-target/release/zk-bench" "$ZK"; }
build_zkrs_st() { build_zkrs; }
run_zkrs_st() { export PB_RT=current; exec "$BUILD/zkrs-target/release/zk-bench" "$ZK"; }
