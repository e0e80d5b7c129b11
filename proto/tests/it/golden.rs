//! The golden vectors in `tests/data` (see its README for how they were captured): each
//! frame decodes to the values the server and the Java client sent, and re-encodes to the
//! same bytes.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use zk_proto::frame::{FrameDecoder, encode_frame};
use zk_proto::records::*;
use zk_proto::{CreateMode, ErrorCode, EventType, KeeperState, OpCode, Record, decode_exact};

const CTIME: i64 = 1_795_255_783_851;

/// The bytes of a vector file: hex, `#` comment lines and whitespace ignored.
fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Decodes the vector as one frame holding an `R`, and checks it re-encodes byte for byte.
fn golden<R: Record + Debug + PartialEq>(name: &str) -> R {
    let bytes = vector(name);
    let mut input = BytesMut::from(&bytes[..]);
    let frame = FrameDecoder::default()
        .decode(&mut input)
        .expect("frame")
        .expect("a whole frame");
    assert!(input.is_empty(), "{name}: one frame");
    let value: R = decode_exact(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut again = BytesMut::new();
    encode_frame(&mut again, &value, usize::MAX).expect("encode");
    assert_eq!(
        &again[..],
        &bytes[..],
        "{name} re-encodes to the captured bytes"
    );
    value
}

fn open_acl() -> Vec<Acl> {
    vec![Acl::open_unsafe()]
}

fn golden_stat() -> Stat {
    Stat {
        czxid: 2,
        mzxid: 2,
        ctime: CTIME,
        mtime: CTIME,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: 0,
        data_length: 5,
        num_children: 0,
        pzxid: 2,
    }
}

fn ok(xid: i32, zxid: i64) -> ReplyHeader {
    ReplyHeader {
        xid,
        zxid,
        err: ErrorCode::Ok,
    }
}

#[test]
fn connect_request() {
    let req: ConnectRequest = golden("connect_request");
    assert_eq!(req, ConnectRequest::new_session(30_000, false));
    assert_eq!(req.encoded_len(), 45);
    let old: ConnectRequest = golden("connect_request_no_readonly");
    assert_eq!(
        old,
        ConnectRequest {
            read_only: None,
            ..req
        }
    );
    assert_eq!(old.encoded_len(), 44);
}

#[test]
fn connect_response() {
    let rsp: ConnectResponse = golden("connect_response");
    assert_eq!(rsp.encoded_len(), 37);
    assert_eq!(
        (rsp.protocol_version, rsp.time_out, rsp.session_id),
        (0, 30_000, 0x0100_0004_ff6f_0000)
    );
    assert_eq!(rsp.passwd.len(), 16);
    assert_eq!(rsp.read_only, Some(false));
    assert!(!rsp.is_expired());
    let old: ConnectResponse = golden("connect_response_no_readonly");
    assert_eq!(old.encoded_len(), 36);
    assert_eq!(
        (old.session_id, old.read_only),
        (0x0100_0004_ff6f_0001, None)
    );
}

#[test]
fn create() {
    let (header, req): (RequestHeader, CreateRequest) = golden("create_request");
    assert_eq!(
        header,
        RequestHeader {
            xid: 1,
            op_code: OpCode::Create
        }
    );
    let expected = CreateRequest {
        path: "/golden".into(),
        data: Bytes::from_static(b"hello"),
        acl: open_acl(),
        flags: CreateMode::Persistent,
    };
    assert_eq!(req, expected);
    let (header, rsp): (ReplyHeader, CreateResponse) = golden("create_reply");
    assert_eq!(header, ok(1, 2));
    assert_eq!(rsp.path, "/golden");
}

#[test]
fn get_data() {
    let (header, req): (RequestHeader, GetDataRequest) = golden("get_data_request");
    assert_eq!(
        header,
        RequestHeader {
            xid: 2,
            op_code: OpCode::GetData
        }
    );
    assert_eq!(
        req,
        GetDataRequest {
            path: "/golden".into(),
            watch: true
        }
    );
    let (header, rsp): (ReplyHeader, GetDataResponse) = golden("get_data_reply");
    assert_eq!(header, ok(2, 2));
    assert_eq!(rsp.data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(rsp.stat, golden_stat());
}

#[test]
fn get_children2() {
    let (header, req): (RequestHeader, GetChildren2Request) = golden("get_children2_request");
    assert_eq!(
        header,
        RequestHeader {
            xid: 5,
            op_code: OpCode::GetChildren2
        }
    );
    assert_eq!(
        req,
        GetChildren2Request {
            path: "/golden".into(),
            watch: false
        }
    );
    let (header, mut rsp): (ReplyHeader, GetChildren2Response) = golden("get_children2_reply");
    assert_eq!(header, ok(5, 4));
    rsp.children.sort();
    assert_eq!(rsp.children, ["a", "b"]);
    assert_eq!(
        rsp.stat,
        Stat {
            cversion: 2,
            num_children: 2,
            pzxid: 4,
            ..golden_stat()
        }
    );
}

#[test]
fn set_data() {
    let (header, req): (RequestHeader, SetDataRequest) = golden("set_data_request");
    assert_eq!(
        header,
        RequestHeader {
            xid: 6,
            op_code: OpCode::SetData
        }
    );
    assert_eq!(
        req,
        SetDataRequest {
            path: "/golden".into(),
            data: Bytes::from_static(b"world"),
            version: -1
        }
    );
    let (header, rsp): (ReplyHeader, SetDataResponse) = golden("set_data_reply");
    assert_eq!(header, ok(6, 5));
    let stat = Stat {
        mzxid: 5,
        mtime: CTIME + 27,
        version: 1,
        cversion: 2,
        num_children: 2,
        pzxid: 4,
        ..golden_stat()
    };
    assert_eq!(rsp.stat, stat);
}

#[test]
fn notification() {
    let (header, event): (ReplyHeader, WatcherEvent) = golden("notification");
    // 3.8 sends zxid -1 in notifications.
    assert_eq!(
        header,
        ReplyHeader {
            xid: zk_proto::xid::NOTIFICATION_XID,
            zxid: -1,
            err: ErrorCode::Ok
        }
    );
    let expected = WatcherEvent {
        event_type: EventType::NodeDataChanged,
        state: KeeperState::SyncConnected,
        path: "/golden".into(),
    };
    assert_eq!(event, expected);
}

#[test]
fn error_reply_has_no_body() {
    let header: ReplyHeader = golden("error_reply");
    assert_eq!(
        header,
        ReplyHeader {
            xid: 7,
            zxid: 5,
            err: ErrorCode::NoNode
        }
    );
}

#[test]
fn multi_with_an_error() {
    let (header, req): (RequestHeader, MultiRequest) = golden("multi_request");
    assert_eq!(
        header,
        RequestHeader {
            xid: 8,
            op_code: OpCode::Multi
        }
    );
    let create = |path: &str| {
        MultiOp::Create(CreateRequest {
            path: path.into(),
            data: Bytes::new(),
            acl: open_acl(),
            flags: CreateMode::Persistent,
        })
    };
    let expected = vec![
        create("/golden/c"),
        MultiOp::Check(CheckVersionRequest {
            path: "/golden".into(),
            version: 99,
        }),
        create("/golden/d"),
    ];
    assert_eq!(req.ops, expected);
    let (header, rsp): (ReplyHeader, MultiResponse) = golden("multi_reply_error");
    assert_eq!(header, ok(8, 6));
    let results = [
        ErrorCode::Ok,
        ErrorCode::BadVersion,
        ErrorCode::RuntimeInconsistency,
    ]
    .map(MultiResult::Error);
    assert_eq!(rsp.results, results);
    assert_eq!(rsp.first_error(), Some((1, ErrorCode::BadVersion)));
}

#[test]
fn ping_and_close() {
    let (header, ()): (RequestHeader, ()) = golden("ping_request");
    assert_eq!(
        header,
        RequestHeader {
            xid: zk_proto::xid::PING_XID,
            op_code: OpCode::Ping
        }
    );
    let header: ReplyHeader = golden("ping_reply");
    assert_eq!(header, ok(zk_proto::xid::PING_XID, 6));
    let (header, ()): (RequestHeader, ()) = golden("close_session_request");
    assert_eq!(
        header,
        RequestHeader {
            xid: 9,
            op_code: OpCode::CloseSession
        }
    );
    let header: ReplyHeader = golden("close_session_reply");
    assert_eq!(header, ok(9, 7));
}

/// The vectors also decode through the opcode-selected [`Request`] and [`Response`].
#[test]
fn dispatch_by_opcode() {
    let requests = [
        "create_request",
        "get_data_request",
        "get_children2_request",
        "set_data_request",
        "multi_request",
    ];
    for name in requests {
        let bytes = vector(name);
        let mut payload = &bytes[4..];
        let header = RequestHeader::decode(&mut payload).unwrap();
        let body = Request::decode_body(header.op_code, &mut payload).unwrap();
        assert!(payload.is_empty(), "{name}");
        assert_eq!(body.body_len() + 8, bytes.len() - 4, "{name}");
    }
    let replies = [
        ("create_reply", OpCode::Create),
        ("get_data_reply", OpCode::GetData),
        ("get_children2_reply", OpCode::GetChildren2),
        ("set_data_reply", OpCode::SetData),
        ("multi_reply_error", OpCode::Multi),
        ("notification", OpCode::Notification),
        ("close_session_reply", OpCode::CloseSession),
    ];
    for (name, op) in replies {
        let bytes = vector(name);
        let mut payload = &bytes[4..];
        ReplyHeader::decode(&mut payload).unwrap();
        let body = Response::decode_body(op, &mut payload).unwrap();
        assert!(payload.is_empty(), "{name}");
        assert_eq!(body.body_len() + 16, bytes.len() - 4, "{name}");
    }
}
