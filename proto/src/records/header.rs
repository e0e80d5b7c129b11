//! Headers and the small records around them.

use bytes::Bytes;

use crate::jute::record;
use crate::{ErrorCode, EventType, KeeperState, OpCode};

record! {
    /// The header of every request after the handshake (`RequestHeader`).
    ///
    /// ```
    /// use zk_proto::{OpCode, Record, records::RequestHeader};
    /// let ping = RequestHeader { xid: zk_proto::xid::PING_XID, op_code: OpCode::Ping };
    /// assert_eq!(&ping.to_bytes()[..], &[0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]);
    /// ```
    #[derive(Copy, Hash)]
    pub struct RequestHeader {
        /// The request id; replies carry it back.
        pub xid: i32,
        /// The request type (`type`).
        pub op_code: OpCode,
    }
}

record! {
    /// The header of every reply after the handshake (`ReplyHeader`).
    ///
    /// When `err` is not OK the server sends the header alone, except for multi.
    ///
    /// ```
    /// use zk_proto::{ErrorCode, decode_exact, records::ReplyHeader};
    /// let bytes = [0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0x9b];
    /// let header: ReplyHeader = decode_exact(&bytes)?;
    /// assert_eq!((header.xid, header.zxid, header.err), (5, 9, ErrorCode::NoNode));
    /// # Ok::<(), zk_proto::DecodeError>(())
    /// ```
    #[derive(Copy, Hash)]
    pub struct ReplyHeader {
        /// The request id, or a special xid.
        pub xid: i32,
        /// The server's last processed zxid (−1 in notifications from 3.8).
        pub zxid: i64,
        /// The result.
        pub err: ErrorCode,
    }
}

record! {
    /// The header before each op and result of a multi, and its terminator (`MultiHeader`).
    ///
    /// ```
    /// use zk_proto::{Record, records::MultiHeader};
    /// assert_eq!(MultiHeader::END.encoded_len(), 9);
    /// ```
    #[derive(Copy, Hash)]
    pub struct MultiHeader {
        /// The op or result type (`type`); [`OpCode::Error`] in the terminator and error results.
        pub op_code: OpCode,
        /// True only in the terminator.
        pub done: bool,
        /// −1 in requests; the result code in responses.
        pub err: ErrorCode,
    }
}

impl MultiHeader {
    /// The terminator of a multi request or response: `{-1, true, -1}`.
    pub const END: Self = Self {
        op_code: OpCode::Error,
        done: true,
        err: ErrorCode::SystemError,
    };
}

record! {
    /// Adds an authentication identity (`AuthPacket`), sent with xid −4.
    ///
    /// ```
    /// use zk_proto::records::AuthPacket;
    /// let auth = AuthPacket::new("digest", "alice:secret");
    /// assert_eq!(auth.auth_type, 0);
    /// ```
    pub struct AuthPacket {
        /// Always 0 (`type`).
        pub auth_type: i32,
        /// The scheme, for example `digest`.
        pub scheme: String,
        /// The credentials, for example `user:password`.
        pub auth: Bytes,
    }
}

impl AuthPacket {
    /// An auth packet for `scheme` with `auth` credentials.
    pub fn new(scheme: impl Into<String>, auth: impl Into<Bytes>) -> Self {
        Self {
            auth_type: 0,
            scheme: scheme.into(),
            auth: auth.into(),
        }
    }
}

record! {
    /// A watch notification (`WatcherEvent`), sent with xid −1.
    ///
    /// ```
    /// use zk_proto::{EventType, KeeperState, records::WatcherEvent};
    /// let event = WatcherEvent {
    ///     event_type: EventType::NodeDeleted,
    ///     state: KeeperState::SyncConnected,
    ///     path: "/app/lock".into(),
    /// };
    /// assert_eq!(event.event_type.code(), 2);
    /// ```
    #[derive(Hash)]
    pub struct WatcherEvent {
        /// What happened (`type`).
        pub event_type: EventType,
        /// The session state; the server always sends `SyncConnected`.
        pub state: KeeperState,
        /// The server path of the node.
        pub path: String,
    }
}

record! {
    /// A bare result code: addWatch's response and a multi's error result (`ErrorResponse`).
    ///
    /// ```
    /// use zk_proto::{ErrorCode, records::ErrorResponse};
    /// assert!(ErrorResponse { err: ErrorCode::Ok }.err.is_ok());
    /// ```
    #[derive(Copy, Hash)]
    pub struct ErrorResponse {
        /// The result.
        pub err: ErrorCode,
    }
}
