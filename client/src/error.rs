//! [`Error`]: what an operation can fail with, and the operation and path it failed on.

use std::fmt;
use std::sync::Arc;

use proto::ErrorCode;
use proto::path::PathError;

/// The operation and path an error belongs to.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct ErrorContext {
    /// The operation, in ZooKeeper's RPC name (`getData`, `create`, `multi`, ...).
    pub op: &'static str,
    /// The path it acted on, as the client named it (for a multi: the op that failed).
    pub path: Option<Arc<str>>,
}

impl ErrorContext {
    /// A context for `op` on `path`.
    pub fn new(op: &'static str, path: impl Into<Option<Arc<str>>>) -> Self {
        Self {
            op,
            path: path.into(),
        }
    }
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{} {path}", self.op),
            None => f.write_str(self.op),
        }
    }
}

macro_rules! errors {
    (
        server { $( $(#[$smeta:meta])* $svariant:ident = $code:ident, $smsg:literal; )* }
        client { $( $(#[$cmeta:meta])* $cvariant:ident, $cmsg:literal; )* }
    ) => {
        /// Why an operation failed.
        ///
        /// Server results are variants named after ZooKeeper's codes; client conditions
        /// (connection loss, expiry, deadlines, bad arguments) follow. Every variant carries
        /// the [`ErrorContext`] of the operation, so messages read
        /// `getData /app/config: no node`.
        ///
        /// ```
        /// use zk_client::Error;
        /// fn describe(e: &Error) -> &'static str {
        ///     match e {
        ///         Error::NoNode(_) => "missing",
        ///         Error::NodeExists(_) => "already there",
        ///         e if e.is_connection_loss() => "maybe applied; check before retrying",
        ///         _ => "other",
        ///     }
        /// }
        /// # let _ = describe;
        /// ```
        #[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
        #[non_exhaustive]
        pub enum Error {
            $( $(#[$smeta])* #[error("{0}: {msg}", msg = $smsg)] $svariant(ErrorContext), )*
            $( $(#[$cmeta])* #[error("{0}: {msg}", msg = $cmsg)] $cvariant(ErrorContext), )*
            /// A server result this client does not know.
            #[error("{0}: server error {1}")]
            Other(ErrorContext, i32),
            /// An invalid path argument.
            #[error("{0}: invalid path: {1}")]
            InvalidPath(ErrorContext, PathError),
            /// An invalid argument other than a path.
            #[error("{0}: {1}")]
            InvalidArgument(ErrorContext, &'static str),
            /// The connection failed with an I/O error.
            #[error("{0}: {1}")]
            Io(ErrorContext, IoError),
        }

        impl Error {
            /// The error for a ZooKeeper result code.
            pub fn from_code(code: ErrorCode, context: ErrorContext) -> Self {
                match code {
                    $( ErrorCode::$code => Self::$svariant(context), )*
                    ErrorCode::ConnectionLoss => Self::ConnectionLoss(context),
                    ErrorCode::SessionExpired => Self::SessionExpired(context),
                    ErrorCode::AuthFailed => Self::AuthFailed(context),
                    ErrorCode::Closing => Self::Closed(context),
                    ErrorCode::ReplyTooLarge => Self::TooLarge(context),
                    ErrorCode::OperationTimeout | ErrorCode::RequestTimeout => Self::Timeout(context),
                    other => Self::Other(context, other.code()),
                }
            }

            /// The operation and path.
            pub fn context(&self) -> &ErrorContext {
                match self {
                    $( Self::$svariant(c) )|* => c,
                    $( Self::$cvariant(c) )|* => c,
                    Self::Other(c, _) | Self::InvalidPath(c, _) | Self::InvalidArgument(c, _) | Self::Io(c, _) => c,
                }
            }

            /// The ZooKeeper result code, for server results and the client conditions
            /// ZooKeeper names.
            pub fn code(&self) -> Option<ErrorCode> {
                Some(match self {
                    $( Self::$svariant(_) => ErrorCode::$code, )*
                    Self::ConnectionLoss(_) => ErrorCode::ConnectionLoss,
                    Self::SessionExpired(_) => ErrorCode::SessionExpired,
                    Self::AuthFailed(_) => ErrorCode::AuthFailed,
                    Self::Timeout(_) => ErrorCode::RequestTimeout,
                    Self::Other(_, code) => ErrorCode::from(*code),
                    _ => return None,
                })
            }
        }
    };
}

errors! {
    server {
        /// The node does not exist.
        NoNode = NoNode, "no node";
        /// The node already exists.
        NodeExists = NodeExists, "node already exists";
        /// The version did not match.
        BadVersion = BadVersion, "bad version";
        /// The node has children.
        NotEmpty = NotEmpty, "node has children";
        /// The session lacks the permission.
        NoAuth = NoAuth, "not authorized";
        /// The ACL is invalid (empty, `auth` without credentials, a malformed id).
        InvalidAcl = InvalidAcl, "invalid acl";
        /// Ephemeral nodes cannot have children.
        NoChildrenForEphemerals = NoChildrenForEphemerals, "ephemeral nodes may not have children";
        /// The server refused the arguments (bad flags or TTL, deleting `/zookeeper`).
        BadArguments = BadArguments, "bad arguments";
        /// The server does not implement the operation (for example TTL nodes without
        /// `extendedTypesEnabled`).
        Unimplemented = Unimplemented, "not implemented by the server";
        /// A write was sent to a read-only server.
        NotReadOnly = NotReadOnly, "server is read-only";
        /// No watch matched checkWatches/removeWatches.
        NoWatcher = NoWatcher, "no such watch";
        /// Dynamic reconfiguration is disabled on the server.
        ReconfigDisabled = ReconfigDisabled, "reconfig disabled";
        /// Another reconfiguration is in progress.
        ReconfigInProgress = ReconfigInProgress, "reconfig in progress";
        /// The new configuration has no quorum.
        NewConfigNoQuorum = NewConfigNoQuorum, "new config has no quorum";
        /// The server could not decode the request.
        MarshallingError = MarshallingError, "server could not decode the request";
        /// An ephemeral node was requested on a local session.
        EphemeralOnLocalSession = EphemeralOnLocalSession, "ephemeral node on a local session";
        /// The server is throttling requests.
        Throttled = ThrottledOp, "request throttled by the server";
        /// A quota was exceeded.
        QuotaExceeded = QuotaExceeded, "quota exceeded";
        /// A later op of a failed multi (not applied because an earlier op failed).
        RuntimeInconsistency = RuntimeInconsistency, "not applied: an earlier op of the multi failed";
        /// The session moved to another server.
        SessionMoved = SessionMoved, "session moved";
        /// The server requires SASL authentication.
        SaslRequired = SessionClosedRequireSaslAuth, "server requires sasl authentication";
    }
    client {
        /// The connection dropped while the request was in flight: it may or may not have
        /// been applied. Never retried automatically.
        ConnectionLoss, "connection lost";
        /// The session expired; the client cannot be used any more.
        SessionExpired, "session expired";
        /// Authentication failed; the client cannot be used any more.
        AuthFailed, "authentication failed";
        /// The client was closed.
        Closed, "client closed";
        /// The request's deadline passed.
        Timeout, "deadline exceeded";
        /// Too many requests are waiting (the server is unreachable or slow).
        QueueFull, "request queue full";
        /// The request, or its reply, is larger than the frame limit
        /// ([`max_frame_len`](crate::ClientBuilder::max_frame_len), `jute.maxbuffer`). A
        /// reply that large is discarded as it arrives and the connection stays up; the
        /// call fails alone (a watch it asked for may have been set on the server).
        TooLarge, "request or reply exceeds the maximum frame size";
        /// The server answered with a reply of another type than the request's (a
        /// server bug, or not a ZooKeeper server).
        UnexpectedReply, "unexpected reply from the server";
        /// The chroot of the connect string does not exist (ZooKeeper does not create
        /// it); the context names it.
        ChrootMissing, "chroot does not exist";
    }
}

impl Error {
    /// Whether retrying the same call may succeed: connection loss, deadlines, a full
    /// queue, throttling. A retried write may be applied twice; see
    /// [`is_connection_loss`](Self::is_connection_loss).
    ///
    /// ```
    /// use zk_client::{ErrorContext, Error};
    /// assert!(Error::ConnectionLoss(ErrorContext::default()).is_retryable());
    /// assert!(!Error::NoNode(ErrorContext::default()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::ConnectionLoss(_) | Self::Timeout(_) | Self::QueueFull(_) | Self::Throttled(_)
        )
    }

    /// Whether the request's outcome is unknown because the connection dropped (or its
    /// deadline passed) while it was in flight.
    pub fn is_connection_loss(&self) -> bool {
        matches!(self, Self::ConnectionLoss(_) | Self::Timeout(_))
    }

    /// Whether the client can never be used again: the session expired, authentication
    /// failed, or the client was closed.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::SessionExpired(_) | Self::AuthFailed(_) | Self::Closed(_)
        )
    }
}

/// An I/O error shared between clones of an [`Error`]; equal when kind and message are.
#[derive(Clone, Debug)]
pub struct IoError(Arc<std::io::Error>);

impl IoError {
    /// The underlying error.
    pub fn get(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for IoError {
    fn from(error: std::io::Error) -> Self {
        Self(Arc::new(error))
    }
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for IoError {}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn errors_are_send_sync_clone() {
        assert_send_sync_clone::<Error>();
    }

    #[test]
    fn messages_name_op_and_path() {
        let e = Error::from_code(
            ErrorCode::NoNode,
            ErrorContext::new("getData", Some(Arc::from("/a"))),
        );
        assert_eq!(e.to_string(), "getData /a: no node");
        assert_eq!(e.code(), Some(ErrorCode::NoNode));
        let e = Error::from_code(ErrorCode::Unknown(-999), ErrorContext::new("sync", None));
        assert_eq!(e.to_string(), "sync: server error -999");
    }

    #[test]
    fn classification() {
        let c = ErrorContext::default;
        assert!(Error::SessionExpired(c()).is_terminal());
        assert!(Error::Closed(c()).is_terminal());
        assert!(!Error::ConnectionLoss(c()).is_terminal());
        assert!(Error::Timeout(c()).is_connection_loss());
        assert!(Error::Throttled(c()).is_retryable());
        assert_eq!(
            Error::from_code(ErrorCode::Closing, c()),
            Error::Closed(c())
        );
    }
}
