#!/usr/bin/env python3
"""Raw handshake WITHOUT the trailing readOnly byte, for the golden vectors.

Sends a 44-byte ConnectRequest body (protocolVersion 0, lastZxidSeen 0,
timeOut 30000, sessionId 0, passwd 16 zero bytes, no readOnly byte), reads the
ConnectResponse (36-byte body expected: the server omits readOnly when the
request had none), then closes the session (xid 1, op closeSession -11) and
reads its reply.

Usage: handshake_no_readonly.py <host> <port>
"""

import socket
import struct
import sys


def read_frame(s):
    def read_exact(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    (n,) = struct.unpack(">i", read_exact(4))
    return read_exact(n)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    s = socket.create_connection((host, port), timeout=10)
    body = struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + bytes(16)
    assert len(body) == 44
    s.sendall(struct.pack(">i", len(body)) + body)
    resp = read_frame(s)
    print("[handshake] ConnectResponse body %d bytes: %s" % (len(resp), resp.hex()))
    s.sendall(struct.pack(">iii", 8, 1, -11))
    reply = read_frame(s)
    print("[handshake] closeSession reply %d bytes: %s" % (len(reply), reply.hex()))
    s.close()
    if len(resp) != 36:
        sys.exit("unexpected ConnectResponse length %d" % len(resp))


if __name__ == "__main__":
    main()
