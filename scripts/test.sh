#!/usr/bin/env bash
# Runs the whole test suite: unit, property, golden-vector, real-server and doc tests of
# every crate. Installs ZooKeeper first when it is missing (needs root for apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --workspace --locked "$@"
# The hostile-server soak in a bounded form (3 s per case; run it longer with
# ZK_HOSTILE_SOAK_SECS=30 cargo test -p zk-client --test it hostile_soak -- --ignored --nocapture)
ZK_HOSTILE_SOAK_SECS=${ZK_HOSTILE_SOAK_SECS:-3} \
    cargo test -p zk-client --test it --locked "$@" hostile_soak -- --ignored
# zk-client without its default tls feature (plaintext-only builds)
cargo test -p zk-client --no-default-features --lib --locked "$@"
