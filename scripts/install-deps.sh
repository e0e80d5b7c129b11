#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine (Rust, Java, apt) lacks:
# ZooKeeper 3.8 from Debian's `zookeeper` package, and iproute2 (ip, ss) for the
# network-partition tests. Safe to run again; it installs only what is missing.
set -euo pipefail

missing=()
have_zookeeper() {
    [[ -n "${ZOOKEEPER_CLASSPATH:-}" ]] && return 0
    [[ -n "${ZOOKEEPER_HOME:-}" && -d "${ZOOKEEPER_HOME}/lib" ]] && return 0
    [[ -f /usr/share/java/zookeeper.jar ]]
}
have_zookeeper || missing+=(zookeeper)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
command -v java >/dev/null 2>&1 || [[ -n "${JAVA_HOME:-}" ]] || missing+=(default-jre-headless)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    cat >&2 <<MSG
error: missing packages: ${missing[*]}
  Install them as root:  sudo apt-get install -y ${missing[*]}
  Or point the tests at a ZooKeeper release: ZOOKEEPER_HOME=/path/to/apache-zookeeper-3.8.x-bin
MSG
    exit 1
fi

echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
