#!/usr/bin/env python3
"""Frame-logging TCP proxy for the ZooKeeper client protocol (Python stdlib only).

Listens on 127.0.0.1:<listen-port>, forwards every accepted connection to
<upstream-host>:<upstream-port> byte for byte, and in parallel splits each
direction into frames (4-byte big-endian length + payload). Every complete
frame is appended to the log file as one JSON object per line:

    {"conn": 0, "dir": "client->server", "index": 0, "t": 0.012345,
     "len": 45, "hex": "0000002d..."}

* conn  : connection number, 0 for the first accepted connection
* dir   : "client->server" or "server->client"
* index : frame number within that connection and direction (0 = first)
* t     : seconds since the proxy started
* len   : the length prefix (payload bytes, not counting the 4 prefix bytes)
* hex   : the WHOLE frame including the 4-byte length prefix, lowercase hex

Frame 0 client->server is the ConnectRequest (no RequestHeader) and frame 0
server->client is the ConnectResponse; the proxy does not interpret payloads,
so that distinction is left to the reader of the log.

Bytes left over when a direction reaches EOF (an incomplete frame) are logged
as {"conn", "dir", "trailing_hex"}.

Once the listening socket is bound, the proxy writes its port number to
--port-file (if given), so a driver can use --listen-port 0.

Usage:
    proxy.py --upstream-port 2181 --listen-port 0 --port-file p.txt --log frames.jsonl
Stop it with SIGTERM or SIGINT.
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading
import time


class FrameLog:
    def __init__(self, path):
        self._f = open(path, "a", encoding="ascii")
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def write(self, record):
        record = dict(record)
        record["t"] = round(time.monotonic() - self._t0, 6)
        line = json.dumps(record, sort_keys=False)
        with self._lock:
            self._f.write(line + "\n")
            self._f.flush()


class FrameSplitter:
    """Accumulates a byte stream and yields complete frames (prefix included)."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data):
        self._buf += data
        frames = []
        while len(self._buf) >= 4:
            (n,) = struct.unpack(">i", self._buf[:4])
            if n < 0:
                # Not a valid frame; hand back everything as one blob.
                frames.append(bytes(self._buf))
                self._buf.clear()
                break
            if len(self._buf) < 4 + n:
                break
            frames.append(bytes(self._buf[: 4 + n]))
            del self._buf[: 4 + n]
        return frames

    def rest(self):
        return bytes(self._buf)


def pump(conn_id, direction, src, dst, log, done):
    splitter = FrameSplitter()
    index = 0
    try:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            # Forward first, unchanged, then log.
            try:
                dst.sendall(data)
            except OSError:
                pass
            for frame in splitter.feed(data):
                (n,) = struct.unpack(">i", frame[:4])
                log.write({"conn": conn_id, "dir": direction, "index": index,
                           "len": n, "hex": frame.hex()})
                index += 1
        rest = splitter.rest()
        if rest:
            log.write({"conn": conn_id, "dir": direction, "trailing_hex": rest.hex()})
        log.write({"conn": conn_id, "dir": direction, "eof": True, "frames": index})
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        done.release()


def handle(conn_id, client, upstream, log):
    try:
        server = socket.create_connection(upstream)
    except OSError as e:
        log.write({"conn": conn_id, "error": "upstream connect failed: %s" % e})
        client.close()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    log.write({"conn": conn_id, "event": "open",
               "client": "%s:%d" % client.getpeername()[:2]})
    done = threading.Semaphore(0)
    threads = [
        threading.Thread(target=pump, args=(conn_id, "client->server", client, server, log, done), daemon=True),
        threading.Thread(target=pump, args=(conn_id, "server->client", server, client, log, done), daemon=True),
    ]
    for t in threads:
        t.start()
    done.acquire()
    done.acquire()
    client.close()
    server.close()
    log.write({"conn": conn_id, "event": "close"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--upstream-host", default="127.0.0.1")
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file")
    args = ap.parse_args()

    log = FrameLog(args.log)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.listen_port))
    lsock.listen(16)
    port = lsock.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    log.write({"event": "listening", "port": port,
               "upstream": "%s:%d" % (args.upstream_host, args.upstream_port)})

    def stop(signum, frame):
        log.write({"event": "stop", "signal": signum})
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    conn_id = 0
    while True:
        client, _ = lsock.accept()
        threading.Thread(target=handle,
                         args=(conn_id, client, (args.upstream_host, args.upstream_port), log),
                         daemon=True).start()
        conn_id += 1


if __name__ == "__main__":
    sys.exit(main())
