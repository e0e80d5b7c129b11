//! The handshake records, the first frame in each direction of a connection.
//!
//! Both carry a trailing `readOnly` byte that is not in `zookeeper.jute` before 3.9: a
//! client sends it (45-byte request) to say it accepts a read-only server, and the server
//! appends it to the response (37 bytes) only when the request had it. Old clients and
//! servers omit it (44- and 36-byte bodies); `read_only: None` models the absence.

use bytes::{Buf, BufMut, Bytes};

use crate::jute::{DecodeError, Record};

/// The length of a session password.
pub const PASSWORD_LEN: usize = 16;

/// Opens or resumes a session (`ConnectRequest`); sent without a request header.
///
/// ```
/// use zk_proto::{Record, records::ConnectRequest};
/// let new_session = ConnectRequest::new_session(30_000, true);
/// assert_eq!(new_session.encoded_len(), 45);
/// let old_style = ConnectRequest { read_only: None, ..new_session };
/// assert_eq!(old_style.encoded_len(), 44);
/// ```
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The highest zxid the client has seen (0 for a new client).
    pub last_zxid_seen: i64,
    /// The requested session timeout, ms (`timeOut`).
    pub time_out: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// The session password (16 zero bytes for a new session).
    pub passwd: Bytes,
    /// Whether the client accepts a read-only server; `None` omits the byte.
    pub read_only: Option<bool>,
}

impl ConnectRequest {
    /// A request for a new session with the given timeout in milliseconds.
    pub fn new_session(time_out_ms: i32, can_be_read_only: bool) -> Self {
        Self {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: time_out_ms,
            session_id: 0,
            passwd: Bytes::from_static(&[0; PASSWORD_LEN]),
            read_only: Some(can_be_read_only),
        }
    }
}

impl Record for ConnectRequest {
    const MIN_LEN: usize = 4 + 8 + 4 + 8 + 4;

    fn encode<B: BufMut>(&self, buf: &mut B) {
        self.protocol_version.encode(buf);
        self.last_zxid_seen.encode(buf);
        self.time_out.encode(buf);
        self.session_id.encode(buf);
        self.passwd.encode(buf);
        if let Some(read_only) = self.read_only {
            read_only.encode(buf);
        }
    }

    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        let field = |name| move |e: DecodeError| e.in_field(name);
        Ok(Self {
            protocol_version: i32::decode(buf).map_err(field("ConnectRequest.protocol_version"))?,
            last_zxid_seen: i64::decode(buf).map_err(field("ConnectRequest.last_zxid_seen"))?,
            time_out: i32::decode(buf).map_err(field("ConnectRequest.time_out"))?,
            session_id: i64::decode(buf).map_err(field("ConnectRequest.session_id"))?,
            passwd: Bytes::decode(buf).map_err(field("ConnectRequest.passwd"))?,
            read_only: if buf.has_remaining() {
                Some(bool::decode(buf)?)
            } else {
                None
            },
        })
    }

    fn encoded_len(&self) -> usize {
        Self::MIN_LEN + self.passwd.len() + usize::from(self.read_only.is_some())
    }
}

/// The server's answer to a [`ConnectRequest`] (`ConnectResponse`).
///
/// `time_out <= 0` means the session is expired or the password was wrong.
///
/// ```
/// use zk_proto::{decode_exact, Record, records::ConnectResponse};
/// let rsp = ConnectResponse {
///     protocol_version: 0,
///     time_out: 4000,
///     session_id: 0x1000_0000_0000_0001,
///     passwd: vec![7; 16].into(),
///     read_only: Some(false),
/// };
/// assert_eq!(rsp.encoded_len(), 37);
/// assert_eq!(decode_exact::<ConnectResponse>(&rsp.to_bytes())?, rsp);
/// assert!(!rsp.is_expired());
/// # Ok::<(), zk_proto::DecodeError>(())
/// ```
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// The negotiated session timeout, ms (`timeOut`); ≤ 0 when the session is invalid.
    pub time_out: i32,
    /// The session id (0 when invalid).
    pub session_id: i64,
    /// The session password.
    pub passwd: Bytes,
    /// Whether the server is read-only; `None` when it did not send the byte.
    pub read_only: Option<bool>,
}

impl ConnectResponse {
    /// Whether the server refused to open or resume the session (`timeOut <= 0`).
    pub fn is_expired(&self) -> bool {
        self.time_out <= 0
    }
}

impl Record for ConnectResponse {
    const MIN_LEN: usize = 4 + 4 + 8 + 4;

    fn encode<B: BufMut>(&self, buf: &mut B) {
        self.protocol_version.encode(buf);
        self.time_out.encode(buf);
        self.session_id.encode(buf);
        self.passwd.encode(buf);
        if let Some(read_only) = self.read_only {
            read_only.encode(buf);
        }
    }

    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        let field = |name| move |e: DecodeError| e.in_field(name);
        Ok(Self {
            protocol_version: i32::decode(buf)
                .map_err(field("ConnectResponse.protocol_version"))?,
            time_out: i32::decode(buf).map_err(field("ConnectResponse.time_out"))?,
            session_id: i64::decode(buf).map_err(field("ConnectResponse.session_id"))?,
            passwd: Bytes::decode(buf).map_err(field("ConnectResponse.passwd"))?,
            read_only: if buf.has_remaining() {
                Some(bool::decode(buf)?)
            } else {
                None
            },
        })
    }

    fn encoded_len(&self) -> usize {
        Self::MIN_LEN + self.passwd.len() + usize::from(self.read_only.is_some())
    }
}

#[cfg(test)]
mod gen_impls {
    use proptest::strategy::{BoxedStrategy, Strategy as _};

    use super::*;
    use crate::testing::{Gen, fields};

    impl Gen for ConnectRequest {
        fn strategy() -> BoxedStrategy<Self> {
            fields!(ConnectRequest {
                protocol_version: i32,
                last_zxid_seen: i64,
                time_out: i32,
                session_id: i64,
                passwd: Bytes,
                read_only: Option<bool>
            })
        }
    }

    impl Gen for ConnectResponse {
        fn strategy() -> BoxedStrategy<Self> {
            fields!(ConnectResponse {
                protocol_version: i32,
                time_out: i32,
                session_id: i64,
                passwd: Bytes,
                read_only: Option<bool>
            })
        }
    }
}
