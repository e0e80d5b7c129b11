# Adds zk-client to the peerbench harness (../shared/peerbench), following its README:
#
#   PB_EXTRA=$PWD/benches/peerbench.sh \
#   PB_CLIENTS="c c_tuned java kazoo zkc_rs zkc_rs_st zk_rs zkrs zkrs_st" ../shared/peerbench/run.sh
#
# zkrs runs zk-bench on tokio's multi-thread runtime, zkrs_st on the current-thread one.
#
# zk-bench is built as a small plaintext client service would ship it: without the
# `server` feature (so no zk-testkit, no TLS), with the `lean` profile (panic = abort,
# opt-level "s"), and statically linked (`crt-static`), so the process maps no shared
# libraries. Its `rss_mb` is VmHWM, the peak of its own address space (see zk-bench's docs
# for why not ru_maxrss).
#
# The pipelined getData rate is the server's, and on a virtual machine it depends on how
# the guest idles. With guest halt polling off (`guest_halt_poll_ns` 0 under the haltpoll
# cpuidle driver), waking a server thread on an idle vCPU costs a halt exit, so a client
# that sleeps between batches of replies slows the server, and one that keeps a vCPU busy
# speeds it up: a nice-19 busy loop beside zk-bench raised its getData rate by a fifth.
# Check /sys/module/haltpoll/parameters/guest_halt_poll_ns before comparing clients there.
ZKRS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Exported, so the per-launch shells that source this file again do not run rustc.
export ZKRS_TRIPLE=${ZKRS_TRIPLE:-$(rustc -vV | sed -n 's/^host: //p')}
ZKRS_BIN=$BUILD/zkrs-target/$ZKRS_TRIPLE/lean/zk-bench
build_zkrs() {
    # With --target, RUSTFLAGS reach only the target's code, not build scripts or proc macros.
    RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --locked \
        --manifest-path "$ZKRS_ROOT/Cargo.toml" -p zk-benches --bin zk-bench \
        --no-default-features --profile lean --target "$ZKRS_TRIPLE" \
        --target-dir "$BUILD/zkrs-target"
}
run_zkrs() { exec "$ZKRS_BIN" "$ZK"; }
build_zkrs_st() { build_zkrs; }
run_zkrs_st() { export PB_RT=current; exec "$ZKRS_BIN" "$ZK"; }
