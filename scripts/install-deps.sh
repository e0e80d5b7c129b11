#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine (Rust, Java, apt) lacks:
# ZooKeeper 3.8 from Debian's `zookeeper` package, iproute2 (ip, ss) for the
# network-partition tests, and for zk-recipes' interop tests (recipes/tests/interop)
# Curator 5.4 from Debian's libcurator-*-java, a JDK with javac, and a Python whose venv
# and pip work (the tests pip-install kazoo 2.11.0 into a venv of their own). Safe to run
# again; it installs only what is missing.
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

# The interop tests: javac, Curator's jars, and a Python that can make a venv with pip
# (python3 on PATH or Debian's; ZK_INTEROP_PYTHON when set, as the tests do).
have_javac() {
    command -v javac >/dev/null 2>&1 || [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/javac" ]]
}
have_javac || missing+=(default-jdk-headless)
for jar in recipes:recipes framework:framework client:client x-discovery:discovery; do
    [[ -f /usr/share/java/curator-${jar%%:*}.jar ]] || missing+=("libcurator-${jar#*:}-java")
done
have_python_venv() {
    local python
    for python in ${ZK_INTEROP_PYTHON:-python3 /usr/bin/python3}; do
        "$python" -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
    done
    return 1
}
have_python_venv || missing+=(python3-venv)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    cat >&2 <<MSG
error: missing packages: ${missing[*]}
  Install them as root:  sudo apt-get install -y ${missing[*]}
  Or point the tests at a ZooKeeper release: ZOOKEEPER_HOME=/path/to/apache-zookeeper-3.8.x-bin
  (and the interop tests at a Python with venv and pip: ZK_INTEROP_PYTHON=/path/to/python3)
MSG
    exit 1
fi

echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
