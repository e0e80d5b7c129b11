#!/usr/bin/env bash
# Builds a local ZooKeeper container image for zk-testkit's container backend, for machines
# that reach Debian's package mirror but no container registry. The image speaks the
# official `zookeeper` image's interface (ZOO_MY_ID, ZOO_SERVERS, ZOO_4LW_COMMANDS_WHITELIST,
# ZOO_TICK_TIME, ZOO_INIT_LIMIT, ZOO_SYNC_LIMIT, ZOO_STANDALONE_ENABLED,
# ZOO_ADMINSERVER_ENABLED, ZOO_MAX_CLIENT_CNXNS, ZOO_CFG_EXTRA, JVMFLAGS; /conf, /data,
# /datalog), so the kit drives it and `zookeeper:3.8` from Docker Hub the same way.
#
# It is a minimal Debian (debootstrap, variant minbase) with Debian's
# openjdk-17-jre-headless and libzookeeper-java (ZooKeeper 3.8.0), imported with
# `docker import`. Needs root, debootstrap and a running Docker daemon.
#
#   scripts/build-zk-image.sh            # builds zk-testkit/zookeeper:3.8.0-debian
#   ZK_TESTKIT_IMAGE=name:tag scripts/build-zk-image.sh
#   scripts/build-zk-image.sh --if-missing   # does nothing when the image exists
set -euo pipefail

image=${ZK_TESTKIT_IMAGE:-zk-testkit/zookeeper:3.8.0-debian}
suite=${ZK_IMAGE_SUITE:-bookworm}
mirror=${ZK_IMAGE_MIRROR:-http://deb.debian.org/debian}

if [[ ${1:-} == --if-missing ]] && docker image inspect "$image" >/dev/null 2>&1; then
    exit 0
fi
command -v docker >/dev/null 2>&1 || {
    echo "error: docker not found; install it with: apt-get install -y docker.io" >&2
    exit 1
}
docker info >/dev/null 2>&1 || {
    echo "error: no Docker daemon answers; start one with: dockerd --iptables=false &" >&2
    exit 1
}
command -v debootstrap >/dev/null 2>&1 || {
    echo "error: debootstrap not found; install it with: apt-get install -y debootstrap" >&2
    exit 1
}
[[ $(id -u) -eq 0 ]] || {
    echo "error: debootstrap needs root: sudo $0" >&2
    exit 1
}

work=$(mktemp -d /tmp/zk-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root

echo "building $image: debootstrap $suite into $root" >&2
debootstrap --variant=minbase \
    --include=openjdk-17-jre-headless,libzookeeper-java \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    echo "error: debootstrap failed (log above)" >&2
    exit 1
}

# What the image does not need: package caches, documentation, locales.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*

mkdir -p "$root"/conf "$root"/data "$root"/datalog "$root"/logs "$root"/usr/local/bin

# The classpath: ZooKeeper, its runtime dependencies and one SLF4J binding (log4j 1.2,
# which Debian's ZooKeeper 3.8 logs through).
cat >"$root"/usr/local/bin/zkServer.sh <<'SH'
#!/bin/sh
# `zkServer.sh start-foreground`, as in the official image: runs the server in the
# foreground on /conf/zoo.cfg, logging to standard output.
set -e
case "${1:-start-foreground}" in
start-foreground) ;;
*) echo "this image supports only: zkServer.sh start-foreground" >&2; exit 2 ;;
esac
cp=/conf
for jar in zookeeper zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2 netty-handler \
    netty-transport netty-common netty-buffer netty-codec netty-resolver \
    netty-transport-native-epoll netty-transport-native-unix-common commons-cli \
    metrics-core snappy-java; do
    [ -f "/usr/share/java/$jar.jar" ] && cp="$cp:/usr/share/java/$jar.jar"
done
exec java -Dzookeeper.log.dir="$ZOO_LOG_DIR" -Dzookeeper.root.logger=INFO,CONSOLE \
    -Dlog4j.configuration=file:"$ZOO_CONF_DIR"/log4j.properties \
    $JVMFLAGS -cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOO_CONF_DIR/zoo.cfg"
SH

cat >"$root"/docker-entrypoint.sh <<'SH'
#!/bin/sh
# Writes /conf/zoo.cfg from the ZOO_* variables (unless one is mounted) and /data/myid
# from ZOO_MY_ID, then runs the command.
set -e
cfg="$ZOO_CONF_DIR/zoo.cfg"
if [ ! -f "$cfg" ]; then
    {
        echo "dataDir=$ZOO_DATA_DIR"
        echo "dataLogDir=$ZOO_DATA_LOG_DIR"
        echo "tickTime=$ZOO_TICK_TIME"
        echo "initLimit=$ZOO_INIT_LIMIT"
        echo "syncLimit=$ZOO_SYNC_LIMIT"
        echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
        echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
        echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
        echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
        echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
        for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do
            echo "$server"
        done
        if [ -n "$ZOO_4LW_COMMANDS_WHITELIST" ]; then
            echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
        fi
        for extra in $ZOO_CFG_EXTRA; do
            echo "$extra"
        done
    } >"$cfg"
fi
if [ ! -f "$ZOO_CONF_DIR/log4j.properties" ]; then
    cat >"$ZOO_CONF_DIR/log4j.properties" <<'LOG4J'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
LOG4J
fi
if [ ! -f "$ZOO_DATA_DIR/myid" ]; then
    echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi
exec "$@"
SH
chmod 755 "$root"/usr/local/bin/zkServer.sh "$root"/docker-entrypoint.sh

echo "importing $image" >&2
tar -C "$root" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV ZOO_CONF_DIR=/conf ZOO_DATA_DIR=/data ZOO_DATA_LOG_DIR=/datalog ZOO_LOG_DIR=/logs' \
    --change 'ENV ZOO_TICK_TIME=2000 ZOO_INIT_LIMIT=5 ZOO_SYNC_LIMIT=2 ZOO_MAX_CLIENT_CNXNS=60' \
    --change 'ENV ZOO_AUTOPURGE_PURGEINTERVAL=0 ZOO_AUTOPURGE_SNAPRETAINCOUNT=3' \
    --change 'ENV ZOO_STANDALONE_ENABLED=true ZOO_ADMINSERVER_ENABLED=true' \
    --change 'EXPOSE 2181 2888 3888' \
    --change 'WORKDIR /' \
    --change 'ENTRYPOINT ["/docker-entrypoint.sh"]' \
    --change 'CMD ["zkServer.sh", "start-foreground"]' \
    - "$image" >/dev/null
docker image inspect "$image" --format "built $image: {{.Size}} bytes" >&2
