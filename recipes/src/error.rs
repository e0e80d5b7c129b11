//! [`Error`]: what a recipe can fail with.

use std::time::Duration;

/// Why a recipe call failed.
///
/// ZooKeeper and connection errors keep zk-client's [`zk_client::Error`], with its
/// classification ([`is_retryable`](Self::is_retryable)); the recipe's own conditions have
/// variants of their own.
///
/// ```
/// use std::time::Duration;
/// use zk_recipes::Error;
/// let e = Error::Timeout(Duration::from_secs(1));
/// assert!(e.is_retryable());
/// assert_eq!(e.to_string(), "not acquired within 1000 ms");
/// ```
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A ZooKeeper or connection error.
    #[error(transparent)]
    Zk(#[from] zk_client::Error),
    /// The wait ended at its deadline; nothing was left behind.
    #[error("not acquired within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The session ended (expired, closed, authentication failed) while waiting or holding.
    #[error("the session ended: {0}")]
    SessionEnded(zk_client::Error),
    /// A path or name the recipe cannot use, or a call out of order (an election used
    /// before it was started).
    #[error("{0}")]
    InvalidArgument(String),
    /// The recipe was closed by this process.
    #[error("the recipe was closed")]
    Closed,
    /// What only the leader may do, asked of a participant that does not lead.
    #[error("not the leader")]
    NotLeader,
    /// A node's data is not in the format the recipe reads (a counter that is not a 4- or
    /// 8-byte big-endian integer, or not ASCII decimal).
    #[error("the data of {path} is not {expected}: {} bytes, hex {data:x}", data.len())]
    Corrupt {
        /// The node (a client path).
        path: String,
        /// The format the recipe expected.
        expected: &'static str,
        /// The data found.
        data: bytes::Bytes,
    },
    /// An optimistic update lost to concurrent writers every time its retry policy allowed;
    /// nothing was written. Trying again later can succeed.
    #[error("gave up after {0} tries: the value kept changing")]
    RetriesExhausted(u32),
    /// The server has a feature switched off that the recipe needs; `remedy` names the
    /// setting that turns it on (TTL nodes need `extendedTypesEnabled=true`).
    #[error("{feature} are disabled on the server ({source}); {remedy}")]
    Unsupported {
        /// What the server refused, e.g. "TTL nodes".
        feature: &'static str,
        /// What turns it on.
        remedy: &'static str,
        /// The server's answer.
        source: zk_client::Error,
    },
    /// A queue had no item to give (`element` on an empty queue).
    #[error("the queue is empty")]
    Empty,
}

impl Error {
    /// Whether trying again can succeed: a timeout, or a retryable ZooKeeper error.
    ///
    /// ```
    /// use zk_recipes::Error;
    /// assert!(!Error::InvalidArgument("bad".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Zk(e) => e.is_retryable(),
            Self::NotLeader | Self::RetriesExhausted(_) | Self::Empty => true,
            Self::SessionEnded(_)
            | Self::InvalidArgument(_)
            | Self::Closed
            | Self::Corrupt { .. }
            | Self::Unsupported { .. } => false,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A zk-client error, with the end of the session told apart.
pub(crate) fn zk(error: zk_client::Error) -> Error {
    if error.is_terminal() {
        Error::SessionEnded(error)
    } else {
        Error::Zk(error)
    }
}
