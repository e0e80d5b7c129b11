#!/usr/bin/env bash
# Runs `zk demo`: on a local 3-server ZooKeeper ensemble, a boss and three workers share
# jobs; the boss, a worker and a server die, and every job is still done once. Installs
# ZooKeeper first when it is missing (needs root for apt-get). Arguments go to `zk demo`,
# e.g. `scripts/demo.sh --server host1:2181,host2:2181,host3:2181` for an existing ensemble.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo run --release --locked -p zk-cli -- demo "$@"
