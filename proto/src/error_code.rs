//! [`ErrorCode`]: the `err` of `ReplyHeader`, `MultiHeader` and `ErrorResponse`.

use crate::wire_enum::open_enum;

open_enum! {
    /// A ZooKeeper result code (`KeeperException.Code`), with the C client's extra codes.
    ///
    /// Codes this crate does not know are kept as [`ErrorCode::Unknown`].
    ///
    /// ```
    /// use zk_proto::ErrorCode;
    /// assert_eq!(ErrorCode::from(-101), ErrorCode::NoNode);
    /// assert_eq!(ErrorCode::from(-999), ErrorCode::Unknown(-999));
    /// assert!(ErrorCode::Ok.is_ok());
    /// assert_eq!(ErrorCode::NodeExists.to_string(), "node already exists (-110)");
    /// ```
    pub enum ErrorCode {
        /// Success.
        Ok = 0,
        /// System error range marker.
        SystemError = -1,
        /// A runtime inconsistency; also reported by the ops after a failed op in a multi.
        RuntimeInconsistency = -2,
        /// A data inconsistency.
        DataInconsistency = -3,
        /// The connection was lost (client-generated).
        ConnectionLoss = -4,
        /// The server failed to (de)serialize the request.
        MarshallingError = -5,
        /// The operation is not implemented by this server.
        Unimplemented = -6,
        /// The operation timed out.
        OperationTimeout = -7,
        /// Invalid arguments.
        BadArguments = -8,
        /// Invalid handle state (C client only).
        InvalidState = -9,
        /// Unknown session (server-internal).
        UnknownSession = -12,
        /// The new configuration has no quorum.
        NewConfigNoQuorum = -13,
        /// Another reconfiguration is in progress.
        ReconfigInProgress = -14,
        /// TLS connection error (C client only).
        SslConnectionError = -15,
        /// API error range marker.
        ApiError = -100,
        /// The node does not exist.
        NoNode = -101,
        /// Not authorized.
        NoAuth = -102,
        /// Version mismatch.
        BadVersion = -103,
        /// Ephemeral nodes may not have children.
        NoChildrenForEphemerals = -108,
        /// The node already exists.
        NodeExists = -110,
        /// The node has children.
        NotEmpty = -111,
        /// The session expired.
        SessionExpired = -112,
        /// Invalid callback (client-side).
        InvalidCallback = -113,
        /// Invalid ACL.
        InvalidAcl = -114,
        /// Authentication failed; the server closes the connection.
        AuthFailed = -115,
        /// The handle is closing (C client only).
        Closing = -116,
        /// No server response (C client only).
        Nothing = -117,
        /// The session moved to another server.
        SessionMoved = -118,
        /// A write was sent to a read-only server.
        NotReadOnly = -119,
        /// An ephemeral node was requested on a local session.
        EphemeralOnLocalSession = -120,
        /// No watcher matched a checkWatches/removeWatches.
        NoWatcher = -121,
        /// The request timed out (client-side).
        RequestTimeout = -122,
        /// Dynamic reconfiguration is disabled.
        ReconfigDisabled = -123,
        /// The server requires SASL authentication; it closes the connection.
        SessionClosedRequireSaslAuth = -124,
        /// A quota was exceeded.
        QuotaExceeded = -125,
        /// The server is throttling requests.
        ThrottledOp = -127,
        /// A reply longer than the session's frame limit (client-side, never on the
        /// wire): it was discarded and only its request failed.
        ReplyTooLarge = -1001,
    }
}

impl ErrorCode {
    /// Whether this is [`ErrorCode::Ok`].
    pub const fn is_ok(self) -> bool {
        matches!(self, Self::Ok)
    }

    /// A short description, lowercase, as used in error messages.
    pub const fn description(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::SystemError => "system error",
            Self::RuntimeInconsistency => "runtime inconsistency",
            Self::DataInconsistency => "data inconsistency",
            Self::ConnectionLoss => "connection loss",
            Self::MarshallingError => "marshalling error",
            Self::Unimplemented => "unimplemented",
            Self::OperationTimeout => "operation timeout",
            Self::BadArguments => "bad arguments",
            Self::InvalidState => "invalid state",
            Self::UnknownSession => "unknown session",
            Self::NewConfigNoQuorum => "new config has no quorum",
            Self::ReconfigInProgress => "reconfig in progress",
            Self::SslConnectionError => "ssl connection error",
            Self::ApiError => "api error",
            Self::NoNode => "no node",
            Self::NoAuth => "not authorized",
            Self::BadVersion => "bad version",
            Self::NoChildrenForEphemerals => "ephemeral nodes may not have children",
            Self::NodeExists => "node already exists",
            Self::NotEmpty => "node has children",
            Self::SessionExpired => "session expired",
            Self::InvalidCallback => "invalid callback",
            Self::InvalidAcl => "invalid acl",
            Self::AuthFailed => "authentication failed",
            Self::Closing => "closing",
            Self::Nothing => "no server response",
            Self::SessionMoved => "session moved",
            Self::NotReadOnly => "not a read-only call",
            Self::EphemeralOnLocalSession => "ephemeral node on a local session",
            Self::NoWatcher => "no such watcher",
            Self::RequestTimeout => "request timeout",
            Self::ReconfigDisabled => "reconfig disabled",
            Self::SessionClosedRequireSaslAuth => "session closed: sasl authentication required",
            Self::QuotaExceeded => "quota exceeded",
            Self::ThrottledOp => "operation throttled",
            Self::ReplyTooLarge => "reply exceeds the maximum frame size",
            Self::Unknown(_) => "unknown error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.description(), self.code())
    }
}
