#!/usr/bin/env bash
# Runs `zk demo`: a local 3-server ZooKeeper ensemble, and a session that keeps its
# watches and its ephemeral node when the server it is connected to is killed. Installs
# ZooKeeper first when it is missing (needs root for apt-get). Arguments go to `zk demo`,
# e.g. `scripts/demo.sh --server host1:2181,host2:2181,host3:2181` for an existing ensemble.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo run --release --locked -p zk-cli -- demo "$@"
