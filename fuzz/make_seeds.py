#!/usr/bin/env python3
"""Writes the seed corpora (corpus/<target>/seed-*) from the golden vectors in
proto/tests/data. Run from anywhere: python3 fuzz/make_seeds.py"""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
DATA = ROOT.parent / "proto" / "tests" / "data"

# Index of each opcode in zk_proto::OpCode::ALL (declaration order in proto/src/op_code.rs).
OPS = ["Notification", "Create", "Delete", "Exists", "GetData", "SetData", "GetAcl", "SetAcl",
       "GetChildren", "Sync", "Ping", "GetChildren2", "Check", "Multi", "Create2", "Reconfig",
       "CheckWatches", "RemoveWatches", "CreateContainer", "DeleteContainer", "CreateTtl",
       "MultiRead", "Auth", "SetWatches", "Sasl", "GetEphemerals", "GetAllChildrenNumber",
       "SetWatches2", "AddWatch", "WhoAmI", "CreateSession", "CloseSession", "Error"]


def frame(name):
    text = (DATA / f"{name}.hex").read_text()
    return bytes.fromhex("".join(l for l in text.splitlines() if not l.startswith("#")).replace(" ", ""))


def sel(op):
    return bytes([OPS.index(op)])


def write(target, name, data):
    d = ROOT / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


replies = {"create_reply": "Create", "get_data_reply": "GetData", "get_children2_reply": "GetChildren2",
           "set_data_reply": "SetData", "multi_reply_error": "Multi"}
for name, op in replies.items():
    write("reply_decode", name, sel(op) + frame(name)[4 + 16:])
write("reply_decode", "notification", sel("Notification") + frame("notification")[4 + 16:])
write("reply_decode", "reply_header", bytes([len(OPS)]) + frame("error_reply")[4:])
write("reply_decode", "connect_response", bytes([len(OPS) + 1]) + frame("connect_response")[4:])

requests = {"create_request": "Create", "get_data_request": "GetData", "get_children2_request": "GetChildren2",
            "set_data_request": "SetData", "multi_request": "Multi"}
for name, op in requests.items():
    write("request_roundtrip", name, sel(op) + frame(name)[4 + 8:])
write("request_roundtrip", "connect_request", bytes([len(OPS)]) + frame("connect_request")[4:])

stream = b"".join(frame(n) for n in ["connect_response", *replies, "notification", "error_reply", "ping_reply"])
write("frame_decode", "replies", bytes([255, 16]) + stream)
write("frame_decode", "small_max", bytes([20, 3]) + stream)

for i, text in enumerate(["/golden/c", "/app\0/a/b", "lock-0000000042", "/a/../b", "qn-2147483648",
                          "/tasks/task--000000001", "/\u00e9t\u00e9/x"]):
    write("path_parse", f"text{i}", text.encode())

# session_events: dial, accept the handshake, submit with a watch, time passes, disconnect.
write("session_events", "connect_submit", bytes([0, 0, 2, 5 | 0x80, 3, 60, 4, 3, 200, 0, 0, 2]))
