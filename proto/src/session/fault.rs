//! [`ConnectionFault`]: why the session dropped a connection itself.

use std::time::Duration;

use crate::OpCode;
use crate::frame::FrameError;

/// Why the session gave up on a connection: the peer broke the protocol, or stopped
/// answering. Reported as [`Event::ConnectionFault`](super::Event::ConnectionFault) just
/// before [`Event::CloseConnection`](super::Event::CloseConnection), so a driver can tell
/// its user what the last attempt met.
///
/// ```
/// use zk_proto::session::ConnectionFault;
/// let fault = ConnectionFault::FrameTooLong { len: 0x7fff_ffff, max: 0xfffff };
/// assert_eq!(
///     fault.to_string(),
///     "the server sent a 2147483647-byte frame (the limit is 1048575); is this a ZooKeeper port?"
/// );
/// ```
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionFault {
    /// A frame longer than the configured maximum (garbage, or another protocol).
    #[error("the server sent a {len}-byte frame (the limit is {max}); is this a ZooKeeper port?")]
    FrameTooLong {
        /// The length the frame claimed.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A negative frame length (garbage, or another protocol).
    #[error("the server sent a negative frame length ({0}); is this a ZooKeeper port?")]
    NegativeLength(i32),
    /// The answer to the handshake is not a ConnectResponse.
    #[error(
        "the server answered the handshake with {len} bytes that are not a ZooKeeper ConnectResponse; is this a ZooKeeper port?"
    )]
    BadHandshake {
        /// The length of the answer.
        len: usize,
    },
    /// The server refused to open a session.
    #[error("the server refused to open a session")]
    SessionRefused,
    /// A frame too short for a reply header.
    #[error("the server sent a {len}-byte frame, too short for a reply header")]
    ShortHeader {
        /// The frame's length.
        len: usize,
    },
    /// A reply with no request waiting for it.
    #[error("the server sent a reply (xid {xid}) to no request")]
    UnexpectedReply {
        /// The reply's xid.
        xid: i32,
    },
    /// A reply out of order.
    #[error("the server sent a reply with xid {xid} where xid {expected} was due")]
    XidOutOfOrder {
        /// The reply's xid.
        xid: i32,
        /// The xid of the oldest request in flight.
        expected: i32,
    },
    /// A reply body that does not decode as the request's reply type.
    #[error("the server's reply to {op} could not be decoded: {reason}")]
    BadReply {
        /// The request's operation, in ZooKeeper's RPC name.
        op: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A watch notification that does not decode.
    #[error("the server sent a watch notification that could not be decoded: {0}")]
    BadNotification(String),
    /// The dial did not complete in time.
    #[error("could not connect within {} ms", .0.as_millis())]
    ConnectTimeout(Duration),
    /// No complete answer to the handshake in time.
    #[error("no complete answer to the handshake within {} ms", .0.as_millis())]
    HandshakeTimeout(Duration),
    /// The connection ended before the handshake was answered (the driver's cause).
    #[error("the connection ended before the server answered the handshake ({0})")]
    HandshakeClosed(String),
    /// Nothing received within the read timeout (two thirds of the session timeout).
    #[error("nothing received from the server within {} ms", .0.as_millis())]
    ReadTimeout(Duration),
}

impl From<FrameError> for ConnectionFault {
    fn from(error: FrameError) -> Self {
        match error {
            FrameError::TooLong { len, max } => Self::FrameTooLong { len, max },
            FrameError::NegativeLength(len) => Self::NegativeLength(len),
        }
    }
}

impl ConnectionFault {
    /// Whether the peer does not speak ZooKeeper at all (an impossible frame length, or an
    /// answer to the handshake that is not one): trying again will not help.
    ///
    /// ```
    /// use zk_proto::session::ConnectionFault;
    /// assert!(ConnectionFault::NegativeLength(-5).is_not_zookeeper());
    /// assert!(!ConnectionFault::SessionRefused.is_not_zookeeper());
    /// ```
    pub fn is_not_zookeeper(&self) -> bool {
        matches!(
            self,
            Self::FrameTooLong { .. } | Self::NegativeLength(_) | Self::BadHandshake { .. }
        )
    }

    /// The fault for a reply to `op_code` that failed to decode.
    pub(crate) fn bad_reply(op_code: OpCode, reason: impl ToString) -> Self {
        Self::BadReply {
            op: op_code.name(),
            reason: reason.to_string(),
        }
    }
}
