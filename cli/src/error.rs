//! [`CliError`]: what a command failed with, as one line for a person, and the exit code.

use std::fmt;
use std::io::{self, Write as _};

use zk_client::Error;

/// A failed command: a one-line message (or none) and an exit code, plus, for a failed
/// ZooKeeper call, what `--json` errors name: the error and the node.
#[derive(Debug)]
pub(crate) struct CliError {
    message: Option<String>,
    code: u8,
    /// The zk-client error variant (`NoNode`, `BadVersion`, ...), or `Usage`.
    kind: Option<String>,
    /// The node the failed call acted on.
    path: Option<String>,
}

/// `Result` with [`CliError`].
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A failure with `message`, exit code 1.
    pub(crate) fn msg(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            code: 1,
            kind: None,
            path: None,
        }
    }

    /// A failure that has already been told (or needs no words, like `exists` on a
    /// missing node), exit code 1.
    pub(crate) fn silent() -> Self {
        Self {
            message: None,
            code: 1,
            kind: None,
            path: None,
        }
    }

    /// A usage error (exit code 2) with clap's message, for `--json` errors.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            code: 2,
            kind: Some("Usage".to_owned()),
            path: None,
        }
    }

    /// Success after all: stdout was closed by the reader (`zk ls -R / | head`).
    fn closed_pipe() -> Self {
        Self {
            message: None,
            code: 0,
            kind: None,
            path: None,
        }
    }

    /// The same failure told with another message.
    pub(crate) fn reworded(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The line to print, if any.
    pub(crate) fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        self.code
    }

    /// The error as `--json` prints it: `{"error": "<message>", "code": "NoNode",
    /// "path": "/a", "exitCode": 1}`; `code` and `path` only where known. `None` for a
    /// failure with nothing to tell.
    pub(crate) fn json(&self) -> Option<String> {
        let message = self.message.as_deref()?;
        let mut object = serde_json::Map::new();
        object.insert("error".into(), message.into());
        if let Some(kind) = &self.kind {
            object.insert("code".into(), kind.as_str().into());
        }
        if let Some(path) = &self.path {
            object.insert("path".into(), path.as_str().into());
        }
        object.insert("exitCode".into(), self.code.into());
        Some(serde_json::Value::Object(object).to_string())
    }

    /// Prints the error on stderr: `error: <message>`, or with `json` the object of
    /// [`json`](Self::json).
    pub(crate) fn print(&self, json: bool) {
        let line = if json {
            self.json()
        } else {
            self.message().map(|m| format!("error: {m}"))
        };
        if let Some(line) = line {
            // Printing can only fail on a closed stream; there is nothing left to tell then.
            let _ = writeln!(io::stderr().lock(), "{line}");
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or("failed"))
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        // The variant's name: `NoNode(ErrorContext { .. })` → `NoNode`.
        let debug = format!("{e:?}");
        let kind = debug.split(['(', ' ', '{']).next().unwrap_or_default();
        Self {
            message: Some(describe(&e)),
            code: 1,
            kind: Some(kind.to_owned()),
            path: e.context().path.as_deref().map(str::to_owned),
        }
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
        Error::QuotaExceeded(_) => {
            format!("{path}: quota exceeded (a hard quota above it is full; see listquota)")
        }
        Error::NoWatcher(_) => format!("{path}: no such watch in this session"),
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
    fn json_errors_name_the_error_and_the_node() {
        let e = CliError::from(Error::NoNode(ctx("getData", "/a")));
        let json: serde_json::Value =
            serde_json::from_str(&e.json().expect("a message")).expect("JSON");
        assert_eq!(
            json,
            serde_json::json!({
                "error": "/a: no such node",
                "code": "NoNode",
                "path": "/a",
                "exitCode": 1
            })
        );
        let plain: serde_json::Value =
            serde_json::from_str(&CliError::msg("nope").json().expect("a message")).expect("JSON");
        assert_eq!(plain, serde_json::json!({"error": "nope", "exitCode": 1}));
        assert!(CliError::silent().json().is_none());
        assert_eq!(CliError::usage("bad").exit_code(), 2);
    }

    #[test]
    fn a_closed_pipe_is_not_an_error() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.exit_code(), 0);
        assert!(e.message().is_none());
    }
}
