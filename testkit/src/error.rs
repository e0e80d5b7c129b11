//! The kit's error type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::ServerId;

/// Everything that can go wrong while starting, probing or breaking servers.
///
/// # Examples
///
/// ```
/// use zk_testkit::Error;
///
/// let err = Error::UnknownServer(7);
/// assert_eq!(err.to_string(), "no server with id 7 in this ensemble");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No ZooKeeper installation was found. The message lists every place searched and how
    /// to install one.
    #[error("ZooKeeper not found; searched: {}. {hint}", searched.join("; "))]
    NotInstalled {
        /// Every location that was looked at, in order.
        searched: Vec<String>,
        /// How to install ZooKeeper.
        hint: String,
    },
    /// No `java` binary was found.
    #[error("java not found; searched: {}. {hint}", searched.join("; "))]
    JavaNotFound {
        /// Every location that was looked at, in order.
        searched: Vec<String>,
        /// How to install Java.
        hint: String,
    },
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the kit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A condition was not reached before its deadline.
    #[error(
        "timed out after {after:?} waiting for {what}{}",
        details_suffix(details)
    )]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline that passed.
        after: Duration,
        /// The last observed state, for the failure message.
        details: String,
    },
    /// A server process exited while it was expected to run.
    #[error("server {id} exited unexpectedly ({status}); log {log}:\n{tail}")]
    ServerExited {
        /// The server's id.
        id: ServerId,
        /// The exit status as text.
        status: String,
        /// The server's log file.
        log: PathBuf,
        /// The last lines of that log.
        tail: String,
    },
    /// An external command (`ip`, `ss`, `java`) failed.
    #[error("command `{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// The exit status as text.
        status: String,
        /// What the command wrote to standard error.
        stderr: String,
    },
    /// Network namespaces cannot be used here (not root, or `ip` missing).
    #[error("network namespaces unavailable: {0}")]
    NetnsUnavailable(String),
    /// The container backend cannot run: no `docker`, no daemon, or no image. The message
    /// names the command that fixes it.
    #[error("container backend unavailable: {0}")]
    DockerUnavailable(String),
    /// The configuration cannot be used.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The id does not name a server of this ensemble.
    #[error("no server with id {0} in this ensemble")]
    UnknownServer(ServerId),
    /// A peer sent bytes that do not follow the ZooKeeper protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered a request with a non-zero error code.
    #[error("server returned error code {code} for {what}")]
    Server {
        /// The request.
        what: String,
        /// ZooKeeper's error code (for example -101 for NONODE).
        code: i32,
    },
    /// The server refused the session: it has expired, was closed, or the password is wrong.
    #[error("session 0x{0:x} is expired, closed or its password is wrong")]
    SessionRefused(i64),
}

fn details_suffix(details: &str) -> String {
    if details.is_empty() {
        String::new()
    } else {
        format!(" (last state: {details})")
    }
}

impl Error {
    /// Wraps an I/O error with what the kit was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// A timeout error.
    pub(crate) fn timeout(
        what: impl Into<String>,
        after: Duration,
        details: impl Into<String>,
    ) -> Self {
        Self::Timeout {
            what: what.into(),
            after,
            details: details.into(),
        }
    }
}

/// The kit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
