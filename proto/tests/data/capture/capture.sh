#!/usr/bin/env bash
# Capture the golden wire vectors in proto/tests/data/ from a real ZooKeeper.
#
# Starts a standalone ZooKeeper (Debian package, /usr/share/java) on a free
# loopback port with a fresh data directory, puts proxy.py in front of it,
# runs the Java scenario (Capture.java) and the raw handshake without the
# readOnly byte (handshake_no_readonly.py) through the proxy, stops everything,
# then writes the .hex files, trace.jsonl and the generated block of README.md
# (vectors.py).
#
# Usage:  proto/tests/data/capture/capture.sh [OUT_DIR]
#   OUT_DIR defaults to proto/tests/data. Set KEEP_WORK=1 to keep the temp dir
#   (server log, proxy log, compiled classes). PING_WAIT_MS (default 11000) is
#   how long the scenario stays idle to provoke a client ping.
#
# Requirements: java + javac (17), python3, Debian packages zookeeper and
# libzookeeper-java (3.8.0).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="$(dirname "$HERE")"
OUT="${1:-$DATA}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PING_WAIT_MS="${PING_WAIT_MS:-11000}"
J=/usr/share/java

WORK="$(mktemp -d "${TMPDIR:-/tmp}/zk-capture.XXXXXX")"
SERVER_PID=""
PROXY_PID=""

cleanup() {
    if [ -n "$PROXY_PID" ] && kill -0 "$PROXY_PID" 2>/dev/null; then
        kill "$PROXY_PID" 2>/dev/null || true
        wait "$PROXY_PID" 2>/dev/null || true
    fi
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "work dir kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# Send a four-letter word to the server and print the answer.
fourlw() {
    python3 - "$1" "$2" <<'EOF'
import socket, sys
port, cmd = int(sys.argv[1]), sys.argv[2]
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(cmd.encode())
    out = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
    sys.stdout.write(out.decode(errors="replace"))
except OSError:
    pass
EOF
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------
# 1. standalone server
# ---------------------------------------------------------------------------
ZK_PORT="$(free_port)"
mkdir -p "$WORK/data"
cat > "$WORK/zoo.cfg" <<EOF
tickTime=2000
dataDir=$WORK/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
forceSync=no
maxClientCnxns=0
EOF

SERVER_CP="/etc/zookeeper/conf:$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/slf4j-api.jar:$J/slf4j-log4j12.jar:$J/log4j-1.2.jar:$J/netty-handler.jar:$J/netty-transport.jar:$J/netty-common.jar:$J/netty-buffer.jar:$J/netty-codec.jar:$J/netty-resolver.jar:$J/netty-transport-native-epoll.jar:$J/netty-transport-native-unix-common.jar:$J/commons-cli.jar:$J/metrics-core.jar:$J/snappy-java.jar"

echo "starting ZooKeeper on 127.0.0.1:$ZK_PORT (work dir $WORK)"
nice -n 10 java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dzookeeper.root.logger=INFO,CONSOLE -Dzookeeper.log.dir="$WORK" \
    -cp "$SERVER_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$WORK/zoo.cfg" \
    > "$WORK/server.log" 2>&1 &
SERVER_PID=$!

# Compile the scenario while the server starts.
CLIENT_CP="$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/slf4j-api.jar:$J/slf4j-nop.jar"
mkdir -p "$WORK/classes"
nice -n 10 javac -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -nowarn \
    -cp "$CLIENT_CP" -d "$WORK/classes" "$HERE/Capture.java"

SRVR=""
for _ in $(seq 1 120); do
    SRVR="$(fourlw "$ZK_PORT" srvr)"
    case "$SRVR" in
        *"Zookeeper version:"*) break ;;
    esac
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        cat "$WORK/server.log" >&2
        echo "server exited" >&2
        exit 1
    fi
    sleep 0.5
done
case "$SRVR" in
    *"Zookeeper version:"*) ;;
    *) echo "server did not become ready" >&2; cat "$WORK/server.log" >&2; exit 1 ;;
esac
echo "$SRVR" > "$WORK/srvr.txt"
SERVER_VERSION="$(sed -n 's/^Zookeeper version: //p' "$WORK/srvr.txt")"
echo "server: $SERVER_VERSION"

# ---------------------------------------------------------------------------
# 2. proxy
# ---------------------------------------------------------------------------
python3 "$HERE/proxy.py" --upstream-port "$ZK_PORT" --listen-port 0 \
    --port-file "$WORK/proxy.port" --log "$WORK/frames.jsonl" &
PROXY_PID=$!
for _ in $(seq 1 50); do
    [ -s "$WORK/proxy.port" ] && break
    sleep 0.1
done
PROXY_PORT="$(cat "$WORK/proxy.port")"
echo "proxy on 127.0.0.1:$PROXY_PORT"

# ---------------------------------------------------------------------------
# 3. scenarios (connection 0: Java, connection 1: raw handshake)
# ---------------------------------------------------------------------------
nice -n 10 java -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dzookeeper.sasl.client=false \
    -cp "$CLIENT_CP:$WORK/classes" Capture "127.0.0.1:$PROXY_PORT" "$PING_WAIT_MS" \
    | tee "$WORK/capture.out"
CLIENT_VERSION="$(sed -n 's/^\[capture\] client version: //p' "$WORK/capture.out")"

python3 "$HERE/handshake_no_readonly.py" 127.0.0.1 "$PROXY_PORT"

# Wait until the proxy has seen both connections close.
for _ in $(seq 1 50); do
    [ "$(grep -c '"event": "close"' "$WORK/frames.jsonl" || true)" -ge 2 ] && break
    sleep 0.1
done

kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

# ---------------------------------------------------------------------------
# 4. vectors
# ---------------------------------------------------------------------------
client_jar_desc() {
    local pomver
    pomver="$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("META-INF/maven/org.apache.zookeeper/zookeeper/pom.properties").decode())' \
        "$J/zookeeper.jar" 2>/dev/null | sed -n 's/^version=//p' || true)"
    printf '%s, pom.properties version %s, package %s' "$(readlink -f "$J/zookeeper.jar")" "${pomver:-?}" \
        "$(dpkg-query -W -f='${Package} ${Version}' libzookeeper-java 2>/dev/null || echo '?')"
}

python3 "$HERE/vectors.py" --log "$WORK/frames.jsonl" --out "$OUT" --readme "$OUT/README.md" \
    --meta-date "$(date -u +%Y-%m-%d)" \
    --meta-server "$SERVER_VERSION" \
    --meta-server-pkg "$(dpkg-query -W -f='${Package} ${Version}' zookeeper 2>/dev/null || true)" \
    --meta-client "$CLIENT_VERSION" \
    --meta-client-jar "$(client_jar_desc)" \
    --meta-java "$(java -version 2>&1 | head -n 1)" \
    > "$WORK/vectors.out"
grep -E '^(wrote|updated)' "$WORK/vectors.out"
grep -v '"event"' "$WORK/frames.jsonl" > "$OUT/trace.jsonl"
python3 "$HERE/vectors.py" --log "$OUT/trace.jsonl" --check "$OUT"
echo "done: vectors in $OUT"
