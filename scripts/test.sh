#!/usr/bin/env bash
# Runs the whole test suite: unit, property, golden-vector, real-server and doc tests of
# every crate. Installs ZooKeeper first when it is missing (needs root for apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --workspace --locked "$@"
# zk-client without its default tls feature (plaintext-only builds)
cargo test -p zk-client --no-default-features --lib --locked "$@"
