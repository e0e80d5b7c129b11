#!/usr/bin/env bash
# Makes zk-testkit's container backend usable here: a Docker daemon that answers and the
# kit's ZooKeeper image. Installs docker.io and debootstrap when missing (as root), starts
# `dockerd --iptables=false` when no daemon answers (Docker's firewall rules would cut the
# network namespaces the other tests use; the kit needs none: clients reach containers
# through Docker's userland proxy on 127.0.0.1), and builds the image with
# scripts/build-zk-image.sh unless it is there. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "error: $*" >&2
    exit 1
}

missing=()
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $(id -u) -eq 0 ]] || fail "missing: ${missing[*]}; install them: sudo apt-get install -y ${missing[*]}"
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || fail "no Docker daemon answers; start one as root: dockerd --iptables=false &"
    log=${TMPDIR:-/tmp}/zk-testkit-dockerd.log
    echo "starting dockerd --iptables=false (log: $log)" >&2
    setsid nohup dockerd --iptables=false --ip6tables=false >"$log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || {
        tail -n 20 "$log" >&2
        fail "dockerd did not come up in 30 s (its log above)"
    }
fi

scripts/build-zk-image.sh --if-missing
echo "container backend ready: $(docker version --format 'Docker {{.Server.Version}}'), image ${ZK_TESTKIT_IMAGE:-zk-testkit/zookeeper:3.8.0-debian}" >&2
