#!/usr/bin/env python3
"""Turn a proxy.py frame log into golden .hex vector files and the README table.

Reads the JSON-lines log written by proxy.py, decodes every frame with a small
independent jute decoder (stdlib only), picks the frames of interest, writes
one <name>.hex file per frame into --out, and replaces the block between
"<!-- generated:begin -->" and "<!-- generated:end -->" in --readme with the
capture metadata and a table of the decoded fields.

Connection 0 in the log must be the Java scenario (Capture.java) and
connection 1 the raw handshake without readOnly (handshake_no_readonly.py).

Usage:
    vectors.py --log frames.jsonl --out DIR --readme DIR/README.md \
               --meta-server "..." --meta-client "..." --meta-date YYYY-MM-DD
    vectors.py --log trace.jsonl --check DIR   # verify .hex files in DIR against a log
"""

import argparse
import datetime
import json
import os
import re
import struct
import sys

OPS = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData",
    6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync", 11: "ping", 12: "getChildren2",
    13: "check", 14: "multi", 15: "create2", 16: "reconfig", 17: "checkWatches",
    18: "removeWatches", 19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl", 103: "getEphemerals",
    104: "getAllChildrenNumber", 105: "setWatches2", 106: "addWatch", 107: "whoAmI",
    -10: "createSession", -11: "closeSession", -1: "error",
}
ERRS = {
    0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED", -7: "OPERATIONTIMEOUT",
    -8: "BADARGUMENTS", -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
    -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED", -114: "INVALIDACL", -115: "AUTHFAILED", -118: "SESSIONMOVED",
    -119: "NOTREADONLY", -121: "NOWATCHER",
}
EVENT_TYPES = {-1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
               4: "NodeChildrenChanged"}
STATES = {0: "Disconnected", 3: "SyncConnected", -112: "Expired"}


def op_name(t):
    return "%s (%d)" % (OPS.get(t, "?"), t)


def err_name(e):
    return "%s (%d)" % (ERRS.get(e, "?"), e)


# ---------------------------------------------------------------------------
# jute reader
# ---------------------------------------------------------------------------

class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.b = bytes(data)
        self.p = 0

    def remaining(self):
        return len(self.b) - self.p

    def take(self, n):
        if self.remaining() < n:
            raise DecodeError("need %d bytes at offset %d, have %d" % (n, self.p, self.remaining()))
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def long(self):
        return struct.unpack(">q", self.take(8))[0]

    def bool(self):
        v = self.take(1)[0]
        if v not in (0, 1):
            raise DecodeError("boolean byte %d" % v)
        return bool(v)

    def buffer(self):
        n = self.int()
        if n == -1:
            return None
        if n < 0:
            raise DecodeError("negative buffer length %d" % n)
        return self.take(n)

    def ustring(self):
        v = self.buffer()
        return None if v is None else v.decode("utf-8")

    def vector(self, elem):
        n = self.int()
        if n == -1:
            return None
        return [elem() for _ in range(n)]

    def stat(self):
        return {
            "czxid": self.long(), "mzxid": self.long(), "ctime": self.long(), "mtime": self.long(),
            "version": self.int(), "cversion": self.int(), "aversion": self.int(),
            "ephemeralOwner": self.long(), "dataLength": self.int(), "numChildren": self.int(),
            "pzxid": self.long(),
        }

    def acl(self):
        return {"perms": self.int(), "scheme": self.ustring(), "id": self.ustring()}

    def end(self):
        if self.remaining():
            raise DecodeError("%d trailing bytes: %s" % (self.remaining(), self.b[self.p:].hex()))


def split_frame(frame):
    (n,) = struct.unpack(">i", frame[:4])
    if n != len(frame) - 4:
        raise DecodeError("length prefix %d but %d payload bytes" % (n, len(frame) - 4))
    return n, frame[4:]


# ---------------------------------------------------------------------------
# record decoders: each returns an ordered list of (field, value) pairs
# ---------------------------------------------------------------------------

def dec_connect_request(r):
    f = [("protocolVersion", r.int()), ("lastZxidSeen", r.long()), ("timeOut", r.int()),
         ("sessionId", r.long()), ("passwd", r.buffer())]
    if r.remaining():
        f.append(("readOnly", r.bool()))
    else:
        f.append(("readOnly", "absent"))
    r.end()
    return f


def dec_connect_response(r):
    f = [("protocolVersion", r.int()), ("timeOut", r.int()), ("sessionId", r.long()),
         ("passwd", r.buffer())]
    if r.remaining():
        f.append(("readOnly", r.bool()))
    else:
        f.append(("readOnly", "absent"))
    r.end()
    return f


def dec_create_request(r):
    return [("path", r.ustring()), ("data", r.buffer()), ("acl", r.vector(r.acl)),
            ("flags", r.int())]


def dec_path_watch(r):
    return [("path", r.ustring()), ("watch", r.bool())]


def dec_set_data_request(r):
    return [("path", r.ustring()), ("data", r.buffer()), ("version", r.int())]


def dec_check_request(r):
    return [("path", r.ustring()), ("version", r.int())]


REQUEST_BODIES = {
    1: dec_create_request, 15: dec_create_request, 19: dec_create_request,
    4: dec_path_watch, 8: dec_path_watch, 12: dec_path_watch, 3: dec_path_watch,
    5: dec_set_data_request, 13: dec_check_request,
    2: lambda r: [("path", r.ustring()), ("version", r.int())],
    11: lambda r: [], -11: lambda r: [],
}


def dec_multi_request(r):
    ops = []
    while True:
        t, done, err = r.int(), r.bool(), r.int()
        if done:
            ops.append({"header": (t, done, err), "terminator": True})
            break
        ops.append({"header": (t, done, err), "body": REQUEST_BODIES[t](r)})
    return [("ops", ops)]


REQUEST_BODIES[14] = dec_multi_request


def dec_multi_response(r):
    results = []
    while True:
        t, done, err = r.int(), r.bool(), r.int()
        if done:
            results.append({"header": (t, done, err), "terminator": True})
            break
        if t == -1:
            body = [("err", r.int())]
        elif t == 1:
            body = [("path", r.ustring())]
        elif t in (15, 19, 21):
            body = [("path", r.ustring()), ("stat", r.stat())]
        elif t == 5:
            body = [("stat", r.stat())]
        elif t in (2, 13):
            body = []
        else:
            raise DecodeError("unknown multi result type %d" % t)
        results.append({"header": (t, done, err), "body": body})
    return [("results", results)]


RESPONSE_BODIES = {
    1: lambda r: [("path", r.ustring())],
    15: lambda r: [("path", r.ustring()), ("stat", r.stat())],
    4: lambda r: [("data", r.buffer()), ("stat", r.stat())],
    3: lambda r: [("stat", r.stat())],
    5: lambda r: [("stat", r.stat())],
    8: lambda r: [("children", r.vector(r.ustring))],
    12: lambda r: [("children", r.vector(r.ustring)), ("stat", r.stat())],
    14: dec_multi_response,
    11: lambda r: [], -11: lambda r: [], 2: lambda r: [],
}


def dec_watcher_event(r):
    return [("type", r.int()), ("state", r.int()), ("path", r.ustring())]


# ---------------------------------------------------------------------------
# decoding a connection
# ---------------------------------------------------------------------------

def decode_connection(c2s, s2c):
    """c2s/s2c: lists of frame bytes. Returns (requests, replies) as dicts."""
    reqs = []
    for i, fr in enumerate(c2s):
        n, payload = split_frame(fr)
        r = Reader(payload)
        if i == 0:
            reqs.append({"index": i, "frame": fr, "len": n, "kind": "ConnectRequest",
                         "fields": dec_connect_request(r)})
            continue
        xid, typ = r.int(), r.int()
        fields = REQUEST_BODIES[typ](r)
        r.end()
        reqs.append({"index": i, "frame": fr, "len": n, "kind": "request", "xid": xid,
                     "type": typ, "fields": fields})
    by_xid = {q["xid"]: q for q in reqs if q["kind"] == "request"}
    reps = []
    for i, fr in enumerate(s2c):
        n, payload = split_frame(fr)
        r = Reader(payload)
        if i == 0:
            reps.append({"index": i, "frame": fr, "len": n, "kind": "ConnectResponse",
                         "fields": dec_connect_response(r)})
            continue
        xid, zxid, err = r.int(), r.long(), r.int()
        rep = {"index": i, "frame": fr, "len": n, "kind": "reply", "xid": xid, "zxid": zxid,
               "err": err}
        if xid == -1:
            rep["kind"] = "notification"
            rep["fields"] = dec_watcher_event(r)
        else:
            q = by_xid.get(xid)
            if q is None:
                raise DecodeError("reply xid %d matches no request" % xid)
            rep["type"] = q["type"]
            if err == 0 or q["type"] == 14:
                rep["fields"] = RESPONSE_BODIES[q["type"]](r)
            else:
                rep["fields"] = []
        r.end()
        reps.append(rep)
    return reqs, reps


# ---------------------------------------------------------------------------
# plain-words rendering
# ---------------------------------------------------------------------------

def hexid(v):
    """zxids and similar longs: 0x2; negative values as -1 (0xffffffffffffffff)."""
    return "0x%x" % v if v >= 0 else "%d (0x%016x)" % (v, v & 0xffffffffffffffff)


def ms_to_iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fmt_bytes(b):
    if b is None:
        return "null"
    try:
        s = b.decode("ascii")
        if all(32 <= ord(c) < 127 for c in s):
            return '"%s" (%d bytes)' % (s, len(b))
    except UnicodeDecodeError:
        pass
    return "%d bytes 0x%s" % (len(b), b.hex())


def fmt_stat(s):
    return ("Stat{czxid %s, mzxid %s, ctime %d (%s), mtime %d (%s), version %d, cversion %d, "
            "aversion %d, ephemeralOwner %s, dataLength %d, numChildren %d, pzxid %s}" % (
                hexid(s["czxid"]), hexid(s["mzxid"]), s["ctime"], ms_to_iso(s["ctime"]),
                s["mtime"], ms_to_iso(s["mtime"]), s["version"], s["cversion"], s["aversion"],
                hexid(s["ephemeralOwner"]), s["dataLength"], s["numChildren"], hexid(s["pzxid"])))


def fmt_value(k, v):
    if k == "stat":
        return fmt_stat(v)
    if k in ("data", "passwd"):
        return fmt_bytes(v)
    if k in ("path",):
        return "null" if v is None else '"%s"' % v
    if k == "sessionId":
        return "0x%016x" % (v & 0xffffffffffffffff)
    if k == "lastZxidSeen":
        return hexid(v)
    if k == "acl":
        return "[" + ", ".join("{perms %d, scheme \"%s\", id \"%s\"}" % (a["perms"], a["scheme"], a["id"])
                               for a in v) + "]"
    if k == "children":
        return "null" if v is None else "[" + ", ".join('"%s"' % c for c in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def fmt_fields(fields):
    out = []
    for k, v in fields:
        if k == "ops":
            parts = []
            for i, op in enumerate(v):
                t, done, err = op["header"]
                h = "MultiHeader{type %d, done %s, err %d}" % (t, "true" if done else "false", err)
                if op.get("terminator"):
                    parts.append("terminator %s" % h)
                else:
                    parts.append("op %d: %s %s + %s" % (i, OPS.get(t, "?"), h, fmt_fields(op["body"])))
            out.append("; ".join(parts))
        elif k == "results":
            parts = []
            for i, res in enumerate(v):
                t, done, err = res["header"]
                h = "MultiHeader{type %d, done %s, err %d}" % (t, "true" if done else "false", err)
                if res.get("terminator"):
                    parts.append("terminator %s" % h)
                elif t == -1:
                    parts.append("result %d: error %s + ErrorResponse{err %s}" % (
                        i, h, err_name(res["body"][0][1])))
                else:
                    parts.append("result %d: %s %s + %s" % (i, OPS.get(t, "?"), h, fmt_fields(res["body"])))
            out.append("; ".join(parts))
        elif k == "type" and isinstance(v, int) and not isinstance(v, bool):
            out.append("type %d (%s)" % (v, EVENT_TYPES.get(v, "?")))
        elif k == "state":
            out.append("state %d (%s)" % (v, STATES.get(v, "?")))
        else:
            out.append("%s %s" % (k, fmt_value(k, v)))
    return ", ".join(out)


# ---------------------------------------------------------------------------
# selection of vectors
# ---------------------------------------------------------------------------

def field(msg, name):
    for k, v in msg["fields"]:
        if k == name:
            return v
    raise KeyError(name)


def select(reqs, reps, conn2_reqs, conn2_reps):
    """Returns list of (name, msg, direction, what, step)."""
    def req(pred, what):
        m = [q for q in reqs if q["kind"] == "request" and pred(q)]
        if not m:
            raise LookupError("no request for " + what)
        return m[0]

    def reply_to(q):
        for p in reps:
            if p["kind"] == "reply" and p["xid"] == q["xid"]:
                return p
        raise LookupError("no reply to xid %d" % q["xid"])

    C2S, S2C = "client->server", "server->client"
    out = []
    out.append(("connect_request", reqs[0], C2S,
                "ConnectRequest with trailing readOnly byte (Java client, no RequestHeader)",
                "step 1: connect, session timeout 30000"))
    out.append(("connect_response", reps[0], S2C,
                "ConnectResponse with trailing readOnly byte",
                "step 1: connect, session timeout 30000"))
    out.append(("connect_request_no_readonly", conn2_reqs[0], C2S,
                "ConnectRequest without the readOnly byte (44-byte body, raw socket client)",
                "handshake_no_readonly.py"))
    out.append(("connect_response_no_readonly", conn2_reps[0], S2C,
                "ConnectResponse without the readOnly byte (36-byte body)",
                "handshake_no_readonly.py"))

    q = req(lambda q: q["type"] == 1 and field(q, "path") == "/golden", "create /golden")
    out.append(("create_request", q, C2S, "create request (op 1) for /golden",
                'step 2: create /golden data "hello" PERSISTENT OPEN_ACL_UNSAFE'))
    out.append(("create_reply", reply_to(q), S2C, "create reply (CreateResponse)",
                'step 2: create /golden data "hello" PERSISTENT OPEN_ACL_UNSAFE'))

    q = req(lambda q: q["type"] == 4 and field(q, "path") == "/golden", "getData /golden")
    out.append(("get_data_request", q, C2S, "getData request (op 4) with watch",
                "step 3: getData /golden watch=true"))
    out.append(("get_data_reply", reply_to(q), S2C, "getData reply (GetDataResponse: data + Stat)",
                "step 3: getData /golden watch=true"))

    q = req(lambda q: q["type"] == 12, "getChildren2")
    out.append(("get_children2_request", q, C2S, "getChildren2 request (op 12)",
                "step 5: getChildren /golden watch=false with Stat"))
    out.append(("get_children2_reply", reply_to(q), S2C,
                "getChildren2 reply (GetChildren2Response: children + Stat)",
                "step 5: getChildren /golden watch=false with Stat"))

    q = req(lambda q: q["type"] == 5, "setData")
    out.append(("set_data_request", q, C2S, "setData request (op 5)",
                'step 6: setData /golden "world" version -1'))
    out.append(("set_data_reply", reply_to(q), S2C, "setData reply (SetDataResponse: Stat)",
                'step 6: setData /golden "world" version -1'))

    notes = [p for p in reps if p["kind"] == "notification"]
    if len(notes) != 1:
        raise LookupError("expected exactly one notification, got %d" % len(notes))
    out.append(("notification", notes[0], S2C,
                "watch notification (xid -1, WatcherEvent NodeDataChanged)",
                "step 6: fired by setData /golden on the watch from step 3"))

    q = req(lambda q: q["type"] == 4 and field(q, "path") == "/missing", "getData /missing")
    out.append(("error_reply", reply_to(q), S2C,
                "error reply: ReplyHeader only, err NONODE (-101), no body",
                "step 7: getData /missing watch=false"))

    q = req(lambda q: q["type"] == 14, "multi")
    out.append(("multi_request", q, C2S,
                "multi request (op 14): create, check (bad version), create",
                "step 8: multi [create /golden/c, check /golden version 99, create /golden/d]"))
    out.append(("multi_reply_error", reply_to(q), S2C,
                "multi reply for a failed multi (ReplyHeader err 0, per-op error results)",
                "step 8: multi [create /golden/c, check /golden version 99, create /golden/d]"))

    pings = [q for q in reqs if q["kind"] == "request" and q["type"] == 11]
    if pings:
        out.append(("ping_request", pings[0], C2S, "ping request (xid -2, op 11, no body)",
                    "step 9: idle 11 s, the client pings"))
        out.append(("ping_reply", reply_to(pings[0]), S2C, "ping reply (xid -2, no body)",
                    "step 9: idle 11 s, the client pings"))

    q = req(lambda q: q["type"] == -11, "closeSession")
    out.append(("close_session_request", q, C2S, "closeSession request (op -11, no body)",
                "step 10: close"))
    out.append(("close_session_reply", reply_to(q), S2C, "closeSession reply (no body)",
                "step 10: close"))
    return out


ALL_NAMES = [
    "connect_request", "connect_response", "connect_request_no_readonly",
    "connect_response_no_readonly", "create_request", "create_reply", "get_data_request",
    "get_data_reply", "get_children2_request", "get_children2_reply", "set_data_request",
    "set_data_reply", "notification", "error_reply", "multi_request", "multi_reply_error",
    "ping_request", "ping_reply", "close_session_request", "close_session_reply",
]


def header_words(msg):
    k = msg["kind"]
    if k == "ConnectRequest":
        return "-", "-"
    if k == "ConnectResponse":
        return "-", "-"
    if k == "request":
        return str(msg["xid"]), "op %s" % op_name(msg["type"])
    if k == "notification":
        return str(msg["xid"]), "zxid %s, err %s" % (hexid(msg["zxid"]), err_name(msg["err"]))
    return str(msg["xid"]), "zxid %s, err %s" % (hexid(msg["zxid"]), err_name(msg["err"]))


def describe(msg):
    k = msg["kind"]
    if k in ("ConnectRequest", "ConnectResponse"):
        return "%s{%s}" % (k, fmt_fields(msg["fields"]))
    if k == "request":
        return "RequestHeader{xid %d, type %d} + %s" % (
            msg["xid"], msg["type"], fmt_fields(msg["fields"]) or "no body")
    return "ReplyHeader{xid %d, zxid %s, err %d} + %s" % (
        msg["xid"], hexid(msg["zxid"]), msg["err"], fmt_fields(msg["fields"]) or "no body")


def hex_lines(frame):
    h = frame.hex()
    return [h[i:i + 64] for i in range(0, len(h), 64)]


def write_vector(path, name, msg, direction, what, step, source):
    lines = [
        "# " + direction,
        "# " + what,
        "# " + step,
        "# frame: %d bytes on the wire = 4-byte length prefix + %d-byte payload" % (
            len(msg["frame"]), msg["len"]),
        "# decoded: " + describe(msg),
        "# source: " + source,
        "# format: whole frame including the length prefix, lowercase hex, 32 bytes per line",
    ]
    lines += hex_lines(msg["frame"])
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


def md_escape(s):
    return s.replace("|", "\\|")


def short(msg):
    k = msg["kind"]
    if k in ("ConnectRequest", "ConnectResponse"):
        return k
    if k == "notification":
        return "notification(xid -1)"
    if k == "request":
        return "%s(xid %d)" % (OPS.get(msg["type"], "?"), msg["xid"])
    return "%s-reply(xid %d%s)" % (OPS.get(msg["type"], "?"), msg["xid"],
                                   "" if msg["err"] == 0 else ", err %d" % msg["err"])


def readme_block(selected, meta, conns):
    out = ["<!-- generated:begin (written by capture/vectors.py; edit the script, not this block) -->", ""]
    out.append("### Capture metadata")
    out.append("")
    out.append("* Date (UTC): %s" % meta["date"])
    out.append("* Server (`srvr`): `%s`" % meta["server"])
    if meta.get("server_pkg"):
        out.append("* Server package: `%s`" % meta["server_pkg"])
    out.append("* Java client (`org.apache.zookeeper.Version.getFullVersion()`): `%s`" % meta["client"])
    if meta.get("client_jar"):
        out.append("* Java client jar: `%s`" % meta["client_jar"])
    if meta.get("java"):
        out.append("* JVM: `%s`" % meta["java"])
    out.append("")
    out.append("### Frame order")
    out.append("")
    for cid, (q, p) in enumerate(conns):
        out.append("* connection %d, client->server: %s" % (cid, ", ".join(
            "#%d %s" % (m["index"], short(m)) for m in q)))
        out.append("* connection %d, server->client: %s" % (cid, ", ".join(
            "#%d %s" % (m["index"], short(m)) for m in p)))
    out.append("")
    out.append("### Vectors")
    out.append("")
    out.append("Frame bytes = length prefix (4) + payload. zxids, session ids and times are")
    out.append("shown as decoded from these exact bytes; session ids, passwords and times")
    out.append("change on every capture, zxids do not (fresh data directory each run).")
    out.append("")
    out.append("| file | direction | frame bytes (len field) | xid | opcode / reply header | decoded fields |")
    out.append("|---|---|---|---|---|---|")
    for name, msg, direction, what, step in selected:
        xid, ophdr = header_words(msg)
        out.append("| `%s.hex` | %s | %d (%d) | %s | %s | %s |" % (
            name, direction, len(msg["frame"]), msg["len"], xid, md_escape(ophdr),
            md_escape(fmt_fields(msg["fields"]) or "no body")))
    out.append("")
    out.append("<!-- generated:end -->")
    return "\n".join(out)


def update_readme(path, block):
    begin = "<!-- generated:begin"
    end = "<!-- generated:end -->"
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        i, j = text.find(begin), text.find(end)
        if i < 0 or j < 0:
            raise SystemExit("%s has no generated block markers" % path)
        text = text[:i] + block + text[j + len(end):]
    else:
        text = "# Golden vectors\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def load_log(path):
    conns = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            rec = json.loads(line)
            if "hex" not in rec:
                if "trailing_hex" in rec:
                    raise SystemExit("incomplete frame in log: %r" % rec)
                continue
            c = conns.setdefault(rec["conn"], {"client->server": [], "server->client": []})
            lst = c[rec["dir"]]
            if rec["index"] != len(lst):
                raise SystemExit("frame index gap in log: %r" % rec)
            lst.append(bytes.fromhex(rec["hex"]))
    return conns


def parse_hex_file(path):
    with open(path, encoding="ascii") as f:
        text = "".join(l for l in f if not l.lstrip().startswith("#"))
    return bytes.fromhex(re.sub(r"\s+", "", text))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log")
    ap.add_argument("--out")
    ap.add_argument("--readme")
    ap.add_argument("--meta-date", default="")
    ap.add_argument("--meta-server", default="")
    ap.add_argument("--meta-server-pkg", default="")
    ap.add_argument("--meta-client", default="")
    ap.add_argument("--meta-client-jar", default="")
    ap.add_argument("--meta-java", default="")
    ap.add_argument("--check", metavar="DIR", help="re-read the .hex files in DIR and verify them against the log")
    args = ap.parse_args()

    conns = load_log(args.log)
    if sorted(conns) != [0, 1]:
        raise SystemExit("expected connections 0 and 1 in the log, got %s" % sorted(conns))
    reqs, reps = decode_connection(conns[0]["client->server"], conns[0]["server->client"])
    reqs2, reps2 = decode_connection(conns[1]["client->server"], conns[1]["server->client"])

    # Print the full decoded trace (not in --check mode).
    for cid in (() if args.check else (0, 1)):
        q, p = ((reqs, reps), (reqs2, reps2))[cid]
        for m in q:
            print("conn %d c->s #%d len %d: %s" % (cid, m["index"], m["len"], describe(m)))
        for m in p:
            print("conn %d s->c #%d len %d: %s" % (cid, m["index"], m["len"], describe(m)))

    selected = select(reqs, reps, reqs2, reps2)

    # Sanity checks on the handshake lengths.
    lens = {name: msg["len"] for name, msg, *_ in selected}
    expect = {"connect_request": 45, "connect_response": 37,
              "connect_request_no_readonly": 44, "connect_response_no_readonly": 36}
    for k, v in expect.items():
        if lens[k] != v:
            raise SystemExit("%s: payload length %d, expected %d" % (k, lens[k], v))

    if args.check:
        bad = 0
        for name, msg, *_ in selected:
            got = parse_hex_file(os.path.join(args.check, name + ".hex"))
            if got != msg["frame"]:
                print("MISMATCH", name)
                bad += 1
        print("checked %d files, %d mismatches" % (len(selected), bad))
        return 1 if bad else 0

    source = "ZooKeeper %s; capture/capture.sh" % (args.meta_server or "?")
    for name in ALL_NAMES:
        p = os.path.join(args.out, name + ".hex")
        if os.path.exists(p):
            os.remove(p)
    for name, msg, direction, what, step in selected:
        write_vector(os.path.join(args.out, name + ".hex"), name, msg, direction, what, step, source)
        print("wrote %s.hex (%d bytes)" % (name, len(msg["frame"])))

    if args.readme:
        meta = {"date": args.meta_date, "server": args.meta_server,
                "server_pkg": args.meta_server_pkg, "client": args.meta_client,
                "client_jar": args.meta_client_jar, "java": args.meta_java}
        update_readme(args.readme, readme_block(selected, meta, [(reqs, reps), (reqs2, reps2)]))
        print("updated", args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
