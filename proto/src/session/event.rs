//! What the session reports: replies, watch notifications and state changes.

use crate::records::Response;
use crate::{ErrorCode, EventType};

/// Identifies a submitted request; a watch left by a request is identified by the same id.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct RequestId(pub u64);

/// The state of the session, as the user sees it.
///
/// ```text
///             +------------+  handshake ok   +-----------+
///  start ---> | Connecting | --------------> | Connected | <---------+
///             +------------+                 +-----------+           |
///                  |   read-only server           |    ^             | reconnected
///                  +----------------------+       |    |             |
///                                         v       v    |      +--------------+
///                          +-------------------+  +----+----> | Disconnected |
///                          | ConnectedReadOnly | -----------> +--------------+
///                          +-------------------+                 |
///   terminal: Expired (server or local), AuthFailed, Closed  <---+ (from any state)
/// ```
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum SessionState {
    /// Establishing the first connection.
    Connecting,
    /// Connected to a read-write server.
    Connected,
    /// Connected to a read-only server: reads work, writes fail with NOTREADONLY.
    ConnectedReadOnly,
    /// The connection was lost; reconnecting with the same session.
    Disconnected,
    /// The session expired (terminal).
    Expired,
    /// Authentication failed (terminal).
    AuthFailed,
    /// The session was closed, or reconnect attempts were exhausted (terminal).
    Closed,
}

impl SessionState {
    /// Whether the session is connected (read-write or read-only).
    pub const fn is_connected(self) -> bool {
        matches!(self, Self::Connected | Self::ConnectedReadOnly)
    }

    /// Whether the session can never be used again.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Expired | Self::AuthFailed | Self::Closed)
    }

    /// The error code every request gets once the session is in this terminal state.
    pub const fn terminal_error(self) -> Option<ErrorCode> {
        match self {
            Self::Expired => Some(ErrorCode::SessionExpired),
            Self::AuthFailed => Some(ErrorCode::AuthFailed),
            Self::Closed => Some(ErrorCode::Closing),
            _ => None,
        }
    }
}

/// The kinds of watch the session tracks.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum WatchKind {
    /// getData, or exists on an existing node: fires on data change and delete.
    Data,
    /// exists on a missing node: fires on create.
    Exist,
    /// getChildren: fires on child change and delete.
    Child,
    /// addWatch PERSISTENT: every change of the node, until removed.
    Persistent,
    /// addWatch PERSISTENT_RECURSIVE: the node and its descendants, until removed.
    PersistentRecursive,
}

impl WatchKind {
    /// Whether the watch stays registered after it fires.
    pub const fn is_persistent(self) -> bool {
        matches!(self, Self::Persistent | Self::PersistentRecursive)
    }
}

/// A change to a watched node, with the client path (chroot stripped).
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// The node, as the client named it.
    pub path: String,
}

/// The outcome of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The request.
    pub id: RequestId,
    /// The zxid in the reply header (the server's last processed zxid), or 0 when the
    /// reply was made up by the client (connection loss, expiry).
    pub zxid: i64,
    /// The response body (paths chroot-stripped), or the error.
    pub result: Result<Response, ErrorCode>,
    /// The watch this request left, if any; its watchers are identified by `id`.
    pub watch: Option<WatchKind>,
}

/// What the session tells its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A request finished.
    Reply(Reply),
    /// Watches fired; one-shot ones are now gone, persistent ones stay.
    Watch {
        /// The requests whose watches fired.
        watchers: Vec<RequestId>,
        /// The change.
        event: WatchedEvent,
    },
    /// The session state changed.
    State(SessionState),
    /// Why the connection failed: the peer broke the protocol, stopped answering, or
    /// closed the connection during the handshake. When the session drops the connection
    /// itself, [`Event::CloseConnection`] follows.
    ConnectionFault(super::ConnectionFault),
    /// The session dropped the current connection itself (timeout, protocol error, close,
    /// a read-write server found): close the socket and do not feed it any more.
    CloseConnection,
}
