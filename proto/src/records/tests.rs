//! Unit tests and round-trip property tests for every record.

use bytes::Bytes;

use super::*;
use crate::testing::roundtrip_tests;
use crate::{
    AddWatchMode, CreateMode, DecodeErrorKind, ErrorCode, EventType, KeeperState, OpCode, Perms,
};
use crate::{Record, WatcherType, decode_exact};

roundtrip_tests! {
    roundtrip_id: Id,
    roundtrip_acl: Acl,
    roundtrip_stat: Stat,
    roundtrip_stat_persisted: StatPersisted,
    roundtrip_client_info: ClientInfo,
    roundtrip_connect_request: ConnectRequest,
    roundtrip_connect_response: ConnectResponse,
    roundtrip_request_header: RequestHeader,
    roundtrip_reply_header: ReplyHeader,
    roundtrip_multi_header: MultiHeader,
    roundtrip_auth_packet: AuthPacket,
    roundtrip_watcher_event: WatcherEvent,
    roundtrip_error_response: ErrorResponse,
    roundtrip_get_data_request: GetDataRequest,
    roundtrip_set_data_request: SetDataRequest,
    roundtrip_reconfig_request: ReconfigRequest,
    roundtrip_get_sasl_request: GetSaslRequest,
    roundtrip_set_sasl_request: SetSaslRequest,
    roundtrip_create_request: CreateRequest,
    roundtrip_create_ttl_request: CreateTtlRequest,
    roundtrip_delete_request: DeleteRequest,
    roundtrip_get_children_request: GetChildrenRequest,
    roundtrip_get_all_children_number_request: GetAllChildrenNumberRequest,
    roundtrip_get_children2_request: GetChildren2Request,
    roundtrip_check_version_request: CheckVersionRequest,
    roundtrip_sync_request: SyncRequest,
    roundtrip_get_acl_request: GetAclRequest,
    roundtrip_set_acl_request: SetAclRequest,
    roundtrip_add_watch_request: AddWatchRequest,
    roundtrip_exists_request: ExistsRequest,
    roundtrip_check_watches_request: CheckWatchesRequest,
    roundtrip_remove_watches_request: RemoveWatchesRequest,
    roundtrip_get_ephemerals_request: GetEphemeralsRequest,
    roundtrip_set_watches: SetWatches,
    roundtrip_set_watches2: SetWatches2,
    roundtrip_set_data_response: SetDataResponse,
    roundtrip_set_sasl_response: SetSaslResponse,
    roundtrip_sync_response: SyncResponse,
    roundtrip_set_acl_response: SetAclResponse,
    roundtrip_create_response: CreateResponse,
    roundtrip_create2_response: Create2Response,
    roundtrip_exists_response: ExistsResponse,
    roundtrip_get_data_response: GetDataResponse,
    roundtrip_get_children_response: GetChildrenResponse,
    roundtrip_get_all_children_number_response: GetAllChildrenNumberResponse,
    roundtrip_get_children2_response: GetChildren2Response,
    roundtrip_get_acl_response: GetAclResponse,
    roundtrip_get_ephemerals_response: GetEphemeralsResponse,
    roundtrip_who_am_i_response: WhoAmIResponse,
    roundtrip_multi_request: MultiRequest,
    roundtrip_multi_response: MultiResponse,
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn stat(seed: i64) -> Stat {
    Stat {
        czxid: seed,
        mzxid: seed + 1,
        ctime: seed + 2,
        mtime: seed + 3,
        version: 4,
        cversion: 5,
        aversion: 6,
        ephemeral_owner: seed + 7,
        data_length: 8,
        num_children: 9,
        pzxid: seed + 10,
    }
}

const STAT_HEX: &str = "0000000000000064 0000000000000065 0000000000000066 0000000000000067
    00000004 00000005 00000006 000000000000006b 00000008 00000009 000000000000006e";

/// Asserts that `value` encodes to exactly `expected` and decodes back from it.
fn assert_bytes<R: Record + std::fmt::Debug + PartialEq>(value: &R, expected: &str) {
    let expected = hex(expected);
    assert_eq!(value.to_bytes().to_vec(), expected, "{value:?}");
    assert_eq!(&decode_exact::<R>(&expected).unwrap(), value);
}

#[test]
fn id_and_acl() {
    assert_bytes(&Id::anyone(), "00000005 776f726c64 00000006 616e796f6e65");
    assert_bytes(
        &Acl::read_unsafe(),
        "00000001 00000005 776f726c64 00000006 616e796f6e65",
    );
    assert_eq!(Acl::creator_all().perms, Perms::ALL);
    assert_eq!(Acl::creator_all().id.scheme, "auth");
    assert_eq!(Acl::open_unsafe().perms.bits(), 31);
}

#[test]
fn stat_is_68_bytes_in_field_order() {
    assert_bytes(&stat(100), STAT_HEX);
    let persisted = StatPersisted {
        czxid: 1,
        mzxid: 2,
        ctime: 3,
        mtime: 4,
        version: 5,
        cversion: 6,
        aversion: 7,
        ephemeral_owner: 8,
        pzxid: 9,
    };
    assert_bytes(
        &persisted,
        "0000000000000001 0000000000000002 0000000000000003 0000000000000004 00000005 00000006 00000007
         0000000000000008 0000000000000009",
    );
}

#[test]
fn client_info() {
    assert_bytes(
        &ClientInfo {
            auth_scheme: "ip".into(),
            user: "1".into(),
        },
        "00000002 6970 00000001 31",
    );
}

#[test]
fn connect_request_with_and_without_read_only() {
    let req = ConnectRequest {
        last_zxid_seen: 3,
        session_id: 9,
        ..ConnectRequest::new_session(30_000, false)
    };
    let zeros = "00000000000000000000000000000000";
    let body = format!("00000000 0000000000000003 00007530 0000000000000009 00000010 {zeros}");
    assert_bytes(&req, &format!("{body} 00"));
    assert_bytes(
        &ConnectRequest {
            read_only: None,
            ..req
        },
        &body,
    );
}

#[test]
fn connect_response_with_and_without_read_only() {
    let rsp = ConnectResponse {
        protocol_version: 0,
        time_out: 4000,
        session_id: 0x0100_0000_0000_0002,
        passwd: Bytes::from_static(&[0xaa; 16]),
        read_only: Some(true),
    };
    let body = "00000000 00000fa0 0100000000000002 00000010 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assert_bytes(&rsp, &format!("{body} 01"));
    assert_bytes(
        &ConnectResponse {
            read_only: None,
            ..rsp.clone()
        },
        body,
    );
    assert!(!rsp.is_expired());
    assert!(ConnectResponse { time_out: 0, ..rsp }.is_expired());
}

#[test]
fn a_reply_header_is_not_a_connect_response() {
    // A read-only server without local sessions answers a 16-byte ReplyHeader.
    let err =
        decode_exact::<ConnectResponse>(&hex("00000000 0000000100000003 ffffff89")).unwrap_err();
    assert!(matches!(
        err.kind(),
        DecodeErrorKind::LengthExceedsInput { .. } | DecodeErrorKind::MissingData { .. }
    ));
}

#[test]
fn headers() {
    assert_bytes(
        &RequestHeader {
            xid: 7,
            op_code: OpCode::Create,
        },
        "00000007 00000001",
    );
    assert_bytes(
        &ReplyHeader {
            xid: -2,
            zxid: 5,
            err: ErrorCode::Ok,
        },
        "fffffffe 0000000000000005 00000000",
    );
    assert_bytes(&MultiHeader::END, "ffffffff 01 ffffffff");
    assert_bytes(
        &MultiHeader {
            op_code: OpCode::SetData,
            done: false,
            err: ErrorCode::SystemError,
        },
        "00000005 00 ffffffff",
    );
    let unknown_op = decode_exact::<RequestHeader>(&hex("00000001 00000063")).unwrap_err();
    assert_eq!(unknown_op.field(), Some("RequestHeader.op_code"));
    assert_eq!(
        unknown_op.to_string(),
        "RequestHeader.op_code: unknown OpCode value 99"
    );
}

#[test]
fn auth_packet() {
    assert_bytes(
        &AuthPacket::new("digest", "a:b"),
        "00000000 00000006 646967657374 00000003 613a62",
    );
}

#[test]
fn watcher_event_keeps_unknown_values() {
    let event = WatcherEvent {
        event_type: EventType::NodeCreated,
        state: KeeperState::SyncConnected,
        path: "/a".into(),
    };
    assert_bytes(&event, "00000001 00000003 00000002 2f61");
    let odd = decode_exact::<WatcherEvent>(&hex("00000063 00000063 00000000")).unwrap();
    assert_eq!(
        (odd.event_type, odd.state),
        (EventType::Unknown(99), KeeperState::Unknown(99))
    );
}

#[test]
fn error_response() {
    assert_bytes(
        &ErrorResponse {
            err: ErrorCode::NoNode,
        },
        "ffffff9b",
    );
}

#[test]
fn path_and_watch_requests() {
    let path = "00000002 2f61";
    assert_bytes(
        &GetDataRequest {
            path: "/a".into(),
            watch: true,
        },
        &format!("{path} 01"),
    );
    assert_bytes(
        &GetChildrenRequest {
            path: "/a".into(),
            watch: false,
        },
        &format!("{path} 00"),
    );
    assert_bytes(
        &GetChildren2Request {
            path: "/a".into(),
            watch: true,
        },
        &format!("{path} 01"),
    );
    assert_bytes(
        &ExistsRequest {
            path: "/a".into(),
            watch: true,
        },
        &format!("{path} 01"),
    );
    assert_bytes(&SyncRequest { path: "/a".into() }, path);
    assert_bytes(&GetAclRequest { path: "/a".into() }, path);
    assert_bytes(&GetAllChildrenNumberRequest { path: "/a".into() }, path);
    assert_bytes(
        &GetEphemeralsRequest {
            prefix_path: "/a".into(),
        },
        path,
    );
    assert_bytes(
        &DeleteRequest {
            path: "/a".into(),
            version: -1,
        },
        &format!("{path} ffffffff"),
    );
    assert_bytes(
        &CheckVersionRequest {
            path: "/a".into(),
            version: 2,
        },
        &format!("{path} 00000002"),
    );
    assert_bytes(
        &AddWatchRequest {
            path: "/a".into(),
            mode: AddWatchMode::Persistent,
        },
        &format!("{path} 00000000"),
    );
    assert_bytes(
        &CheckWatchesRequest {
            path: "/a".into(),
            watcher_type: WatcherType::Data,
        },
        &format!("{path} 00000002"),
    );
    assert_bytes(
        &RemoveWatchesRequest {
            path: "/a".into(),
            watcher_type: WatcherType::Any,
        },
        &format!("{path} 00000003"),
    );
    let bad_mode = decode_exact::<AddWatchRequest>(&hex("00000002 2f61 00000007")).unwrap_err();
    assert_eq!(bad_mode.field(), Some("AddWatchRequest.mode"));
}

#[test]
fn data_requests() {
    assert_bytes(
        &SetDataRequest {
            path: "/a".into(),
            data: Bytes::from_static(b"xy"),
            version: 3,
        },
        "00000002 2f61 00000002 7879 00000003",
    );
    let create = CreateRequest {
        path: "/a".into(),
        data: Bytes::new(),
        acl: vec![Acl::open_unsafe()],
        flags: CreateMode::EphemeralSequential,
    };
    let acl = "00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65";
    assert_bytes(&create, &format!("00000002 2f61 00000000 {acl} 00000003"));
    let ttl = CreateTtlRequest {
        path: "/a".into(),
        data: Bytes::new(),
        acl: vec![Acl::open_unsafe()],
        flags: CreateMode::PersistentWithTtl,
        ttl: 1000,
    };
    assert_bytes(
        &ttl,
        &format!("00000002 2f61 00000000 {acl} 00000005 00000000000003e8"),
    );
    let set_acl = SetAclRequest {
        path: "/a".into(),
        acl: vec![],
        version: 1,
    };
    assert_bytes(&set_acl, "00000002 2f61 00000000 00000001");
    let bad_flags =
        decode_exact::<CreateRequest>(&hex(&format!("00000002 2f61 00000000 {acl} 00000007")));
    assert_eq!(bad_flags.unwrap_err().field(), Some("CreateRequest.flags"));
}

#[test]
fn reconfig_request_with_null_strings() {
    let req = ReconfigRequest {
        joining_servers: None,
        leaving_servers: Some("3".into()),
        new_members: None,
        cur_config_id: -1,
    };
    assert_bytes(&req, "ffffffff 00000001 33 ffffffff ffffffffffffffff");
}

#[test]
fn sasl_records() {
    assert_bytes(
        &GetSaslRequest {
            token: Bytes::new(),
        },
        "00000000",
    );
    assert_bytes(
        &SetSaslRequest {
            token: Bytes::from_static(b"t"),
        },
        "00000001 74",
    );
    assert_bytes(
        &SetSaslResponse {
            token: Bytes::from_static(b"r"),
        },
        "00000001 72",
    );
}

#[test]
fn set_watches() {
    let sw = SetWatches {
        relative_zxid: 16,
        data_watches: vec!["/d".into()],
        exist_watches: vec![],
        child_watches: vec!["/c".into()],
    };
    assert_bytes(
        &sw,
        "0000000000000010 00000001 00000002 2f64 00000000 00000001 00000002 2f63",
    );
    let sw2 = SetWatches2 {
        relative_zxid: 16,
        persistent_watches: vec!["/p".into()],
        persistent_recursive_watches: vec!["/r".into()],
        ..SetWatches2::default()
    };
    assert_bytes(
        &sw2,
        "0000000000000010 00000000 00000000 00000000 00000001 00000002 2f70 00000001 00000002 2f72",
    );
}

#[test]
fn stat_responses() {
    assert_bytes(&SetDataResponse { stat: stat(100) }, STAT_HEX);
    assert_bytes(&SetAclResponse { stat: stat(100) }, STAT_HEX);
    assert_bytes(&ExistsResponse { stat: stat(100) }, STAT_HEX);
    assert_bytes(
        &Create2Response {
            path: "/a".into(),
            stat: stat(100),
        },
        &format!("00000002 2f61 {STAT_HEX}"),
    );
    assert_bytes(
        &GetChildren2Response {
            children: vec!["x".into()],
            stat: stat(100),
        },
        &format!("00000001 00000001 78 {STAT_HEX}"),
    );
    assert_bytes(
        &GetAclResponse {
            acl: vec![Acl::read_unsafe()],
            stat: stat(100),
        },
        &format!("00000001 00000001 00000005 776f726c64 00000006 616e796f6e65 {STAT_HEX}"),
    );
}

#[test]
fn get_data_response_null_and_empty_data() {
    assert_bytes(
        &GetDataResponse {
            data: None,
            stat: stat(100),
        },
        &format!("ffffffff {STAT_HEX}"),
    );
    assert_bytes(
        &GetDataResponse {
            data: Some(Bytes::new()),
            stat: stat(100),
        },
        &format!("00000000 {STAT_HEX}"),
    );
}

#[test]
fn other_responses() {
    assert_bytes(&CreateResponse { path: "/a".into() }, "00000002 2f61");
    assert_bytes(&SyncResponse { path: "/a".into() }, "00000002 2f61");
    assert_bytes(
        &GetChildrenResponse {
            children: vec!["a".into(), "b".into()],
        },
        "00000002 00000001 61 00000001 62",
    );
    assert_bytes(
        &GetAllChildrenNumberResponse { total_number: 3 },
        "00000003",
    );
    assert_bytes(
        &GetEphemeralsResponse {
            ephemerals: vec!["/e".into()],
        },
        "00000001 00000002 2f65",
    );
    assert_bytes(
        &WhoAmIResponse {
            client_info: vec![ClientInfo {
                auth_scheme: "ip".into(),
                user: "h".into(),
            }],
        },
        "00000001 00000002 6970 00000001 68",
    );
}

#[test]
fn empty_bodies() {
    assert_bytes(&(), "");
    assert_bytes(
        &(
            RequestHeader {
                xid: -2,
                op_code: OpCode::Ping,
            },
            (),
        ),
        "fffffffe 0000000b",
    );
    assert_bytes(
        &(
            RequestHeader {
                xid: 3,
                op_code: OpCode::CloseSession,
            },
            (),
        ),
        "00000003 fffffff5",
    );
    assert_bytes(
        &(
            RequestHeader {
                xid: 4,
                op_code: OpCode::WhoAmI,
            },
            (),
        ),
        "00000004 0000006b",
    );
}

#[test]
fn multi_request_layout() {
    let multi = MultiRequest {
        ops: vec![
            MultiOp::Check(CheckVersionRequest {
                path: "/a".into(),
                version: 1,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/a".into(),
                version: -1,
            }),
        ],
    };
    assert_bytes(
        &multi,
        "0000000d 00 ffffffff 00000002 2f61 00000001 00000002 00 ffffffff 00000002 2f61 ffffffff ffffffff 01 ffffffff",
    );
    assert_eq!(multi.op_code(), OpCode::Multi);
    let read = MultiRequest {
        ops: vec![MultiOp::GetData(GetDataRequest {
            path: "/a".into(),
            watch: false,
        })],
    };
    assert_eq!(read.op_code(), OpCode::MultiRead);
    assert_eq!(read.ops[0].path(), "/a");
    assert_bytes(&MultiRequest::default(), "ffffffff 01 ffffffff");
}

#[test]
fn multi_response_layout() {
    let ok = MultiResponse {
        results: vec![
            MultiResult::Create(CreateResponse { path: "/a".into() }),
            MultiResult::Delete,
            MultiResult::Check,
        ],
    };
    assert_bytes(
        &ok,
        "00000001 00 00000000 00000002 2f61 00000002 00 00000000 0000000d 00 00000000 ffffffff 01 ffffffff",
    );
    assert_eq!(ok.first_error(), None);
    let failed = MultiResponse {
        results: vec![
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::RuntimeInconsistency),
            MultiResult::Error(ErrorCode::NoNode),
        ],
    };
    assert_eq!(failed.first_error(), Some((2, ErrorCode::NoNode)));
    let only_inconsistent = MultiResponse {
        results: vec![MultiResult::Error(ErrorCode::RuntimeInconsistency)],
    };
    assert_eq!(
        only_inconsistent.first_error(),
        Some((0, ErrorCode::RuntimeInconsistency))
    );
}

#[test]
fn multi_rejects_unknown_and_unterminated() {
    // A header with type ping is not a multi op.
    let err = decode_exact::<MultiRequest>(&hex("0000000b 00 ffffffff")).unwrap_err();
    assert_eq!(err.field(), Some("MultiRequest.ops"));
    // No terminator.
    let err = decode_exact::<MultiResponse>(&hex("00000002 00 00000000")).unwrap_err();
    assert_eq!(err.field(), Some("MultiHeader.op_code"));
}

#[test]
fn truncated_records_name_their_field() {
    let full = GetDataResponse {
        data: Some(Bytes::from_static(b"abc")),
        stat: stat(1),
    }
    .to_bytes();
    for cut in 0..full.len() {
        let err = decode_exact::<GetDataResponse>(&full[..cut]).unwrap_err();
        let field = err.field().unwrap();
        assert!(
            field.starts_with("GetDataResponse.") || field.starts_with("Stat."),
            "{field}"
        );
    }
}
