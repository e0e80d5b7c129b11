//! [`CliError`]: what a command failed with, as one line for a person, and the exit code.

use std::fmt;
use std::io;

use zk_client::Error;

/// A failed command: a one-line message (or none) and an exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    message: Option<String>,
    code: u8,
}

/// `Result` with [`CliError`].
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A failure with `message`, exit code 1.
    pub(crate) fn msg(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            code: 1,
        }
    }

    /// A failure that has already been told (or needs no words, like `exists` on a
    /// missing node), exit code 1.
    pub(crate) fn silent() -> Self {
        Self {
            message: None,
            code: 1,
        }
    }

    /// Success after all: stdout was closed by the reader (`zk ls -R / | head`).
    fn closed_pipe() -> Self {
        Self {
            message: None,
            code: 0,
        }
    }

    /// The line to print, if any.
    pub(crate) fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or("failed"))
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self::msg(describe(&e))
    }
}

impl From<io::Error> for CliError {
    /// Output errors: a closed pipe ends the command quietly.
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Self::closed_pipe()
        } else {
            Self::msg(format!("writing the output: {e}"))
        }
    }
}

/// A multi-line message (a server that failed to start, with its log tail) as one line:
/// the first line, without a pointer to a log that is gone, and the last line of the rest.
pub(crate) fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let first = first
        .find("; log ")
        .map_or(first, |i| &first[..i])
        .trim_end_matches(':');
    match lines.next_back() {
        Some(last) => format!("{first}: {last}"),
        None => first.to_owned(),
    }
}

/// A ZooKeeper error as a person reads it: the node first, then what is wrong, with a
/// hint where one helps.
pub(crate) fn describe(e: &Error) -> String {
    let context = e.context();
    let path = context.path.as_deref().unwrap_or("");
    let op = context.op;
    match e {
        Error::NoNode(_) if op == "create" => {
            format!("{path}: the parent node does not exist")
        }
        Error::NoNode(_) => format!("{path}: no such node"),
        Error::NodeExists(_) => format!("{path}: node already exists"),
        Error::BadVersion(_) => {
            format!("{path}: version mismatch (the node is not at the version given)")
        }
        Error::NotEmpty(_) => format!("{path}: node has children (use deleteall)"),
        Error::NoAuth(_) => {
            format!("{path}: not authorized (see getAcl; authenticate with --auth)")
        }
        Error::InvalidAcl(_) => format!("{path}: invalid ACL"),
        Error::NoChildrenForEphemerals(_) => {
            format!("{path}: ephemeral nodes cannot have children")
        }
        Error::Unimplemented(_) if op == "create" => format!(
            "{path}: the server does not support this node type \
             (TTL and container nodes need extendedTypesEnabled=true)"
        ),
        Error::InvalidPath(_, reason) => format!("invalid path {path:?}: {reason}"),
        Error::ConnectionLoss(_) => {
            format!("{context}: connection lost (the request may or may not have been applied)")
        }
        Error::Timeout(_) => format!("{context}: no reply in time"),
        Error::SessionExpired(_) => format!("{context}: the session expired"),
        Error::AuthFailed(_) => format!("{context}: authentication failed"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use zk_client::ErrorContext;

    use super::*;

    fn ctx(op: &'static str, path: &str) -> ErrorContext {
        ErrorContext::new(op, Some(Arc::from(path)))
    }

    #[test]
    fn errors_read_as_one_line_naming_the_node() {
        assert_eq!(
            describe(&Error::NoNode(ctx("getData", "/a"))),
            "/a: no such node"
        );
        assert_eq!(
            describe(&Error::NoNode(ctx("create", "/a/b"))),
            "/a/b: the parent node does not exist"
        );
        assert_eq!(
            describe(&Error::BadVersion(ctx("setData", "/a"))),
            "/a: version mismatch (the node is not at the version given)"
        );
        for e in [
            Error::NodeExists(ctx("create", "/a")),
            Error::ConnectionLoss(ctx("setData", "/a")),
            Error::Other(ctx("sync", "/"), -999),
        ] {
            assert!(!describe(&e).contains('\n'));
        }
    }

    #[test]
    fn multi_line_messages_become_one_line() {
        assert_eq!(
            one_line(
                "server 1 exited unexpectedly (exit status: 1); log /tmp/x/s1/server.log:\n\
                 Error: Could not find or load main class QuorumPeerMain\n"
            ),
            "server 1 exited unexpectedly (exit status: 1): \
             Error: Could not find or load main class QuorumPeerMain"
        );
        assert_eq!(one_line("just one"), "just one");
    }

    #[test]
    fn a_closed_pipe_is_not_an_error() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.exit_code(), 0);
        assert!(e.message().is_none());
    }
}
