//! A Jepsen-style history: every client operation as an invoke and a completion (ok, fail
//! or indeterminate), plus the nemesis' actions, on one monotonic clock.
//!
//! Tests record their own client operations; the kit never calls a client. Checkers read
//! [`History::operations`]; [`History::to_jsonl`] writes one JSON object per line.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The id of an invoked operation.
pub type OpId = u64;

/// What a client tried to do.
///
/// # Examples
///
/// ```
/// let op = zk_testkit::Op::new("create", "/lock/n-").value("w3");
/// assert_eq!(op.f, "create");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Op {
    /// The function: `create`, `delete`, `read`, `cas`, `acquire`...
    pub f: String,
    /// The path or key.
    pub path: String,
    /// An argument, as text.
    pub value: Option<String>,
}

impl Op {
    /// An operation `f` on `path`.
    ///
    /// # Examples
    ///
    /// ```
    /// let op = zk_testkit::Op::new("read", "/x");
    /// assert!(op.value.is_none());
    /// ```
    pub fn new(f: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            f: f.into(),
            path: path.into(),
            value: None,
        }
    }

    /// Adds an argument.
    ///
    /// # Examples
    ///
    /// ```
    /// let op = zk_testkit::Op::new("write", "/x").value("5");
    /// assert_eq!(op.value.as_deref(), Some("5"));
    /// ```
    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = Some(v.into());
        self
    }
}

/// How an operation ended.
///
/// # Examples
///
/// ```
/// use zk_testkit::Outcome;
///
/// assert!(Outcome::Indeterminate("connection loss".into()).is_indeterminate());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It happened; the result, as text.
    Ok(Option<String>),
    /// It certainly did not happen (e.g. NODEEXISTS, BADVERSION).
    Fail(String),
    /// It may or may not have happened (connection loss, timeout): Jepsen's `info`.
    Indeterminate(String),
}

impl Outcome {
    /// Whether the outcome is unknown.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!zk_testkit::Outcome::Ok(None).is_indeterminate());
    /// ```
    pub fn is_indeterminate(&self) -> bool {
        matches!(self, Self::Indeterminate(_))
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Ok(_) => "ok",
            Self::Fail(_) => "fail",
            Self::Indeterminate(_) => "info",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Self::Ok(v) => v.as_deref(),
            Self::Fail(s) | Self::Indeterminate(s) => Some(s),
        }
    }
}

/// One entry of the history.
///
/// # Examples
///
/// ```
/// let h = zk_testkit::History::new();
/// h.nemesis("kill leader 2");
/// assert!(matches!(h.events()[0].kind, zk_testkit::EventKind::Nemesis { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// Position in the history.
    pub index: u64,
    /// Monotonic time since the history was created.
    pub time: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`Event`].
///
/// # Examples
///
/// ```
/// let h = zk_testkit::History::new();
/// let id = h.invoke("c1", 0, zk_testkit::Op::new("read", "/x"));
/// assert!(matches!(&h.events()[0].kind, zk_testkit::EventKind::Invoke { id: i, .. } if *i == id));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A client started an operation.
    Invoke {
        /// The operation's id.
        id: OpId,
        /// The client's name.
        client: String,
        /// The client's session id (0 when unknown).
        session: i64,
        /// The operation.
        op: Op,
    },
    /// An operation ended.
    Complete {
        /// The operation's id.
        id: OpId,
        /// How it ended.
        outcome: Outcome,
    },
    /// The nemesis acted.
    Nemesis {
        /// What it did.
        action: String,
    },
}

/// An invoke joined with its completion.
///
/// # Examples
///
/// ```
/// let h = zk_testkit::History::new();
/// let id = h.invoke("c1", 0, zk_testkit::Op::new("read", "/x"));
/// h.ok(id, Some("5".into()));
/// let op = &h.operations()[0];
/// assert_eq!(op.outcome, Some(zk_testkit::Outcome::Ok(Some("5".into()))));
/// assert!(op.completed.unwrap() >= op.invoked);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The id.
    pub id: OpId,
    /// The client's name.
    pub client: String,
    /// The client's session id.
    pub session: i64,
    /// The operation.
    pub op: Op,
    /// When it was invoked.
    pub invoked: Duration,
    /// When it completed (`None`: still open at the end of the run, i.e. indeterminate).
    pub completed: Option<Duration>,
    /// How it ended.
    pub outcome: Option<Outcome>,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    events: Mutex<Vec<Event>>,
}

/// A shared, thread-safe history; clones record into the same history.
///
/// # Examples
///
/// ```
/// use zk_testkit::{History, Op, Outcome};
///
/// let history = History::new();
/// let id = history.invoke("c1", 0x1234, Op::new("create", "/a"));
/// history.complete(id, Outcome::Indeterminate("connection loss".into()));
/// let jsonl = history.to_jsonl();
/// assert!(jsonl.contains(r#""type":"info""#));
/// ```
#[derive(Clone, Debug)]
pub struct History {
    inner: Arc<Inner>,
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl History {
    /// An empty history whose clock starts now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::History::new().events().is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                events: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Time since the history was created.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = zk_testkit::History::new().elapsed();
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.inner.start.elapsed()
    }

    fn push(&self, kind: EventKind) -> u64 {
        let time = self.elapsed();
        let mut events = self
            .inner
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = events.len() as u64;
        events.push(Event { index, time, kind });
        index
    }

    /// Records the start of an operation and returns its id.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zk_testkit::History::new();
    /// let a = h.invoke("c1", 0, zk_testkit::Op::new("read", "/x"));
    /// let b = h.invoke("c2", 0, zk_testkit::Op::new("read", "/x"));
    /// assert_ne!(a, b);
    /// ```
    pub fn invoke(&self, client: &str, session: i64, op: Op) -> OpId {
        let mut events = self
            .inner
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = events.len() as u64;
        let time = self.inner.start.elapsed();
        events.push(Event {
            index,
            time,
            kind: EventKind::Invoke {
                id: index,
                client: client.to_owned(),
                session,
                op,
            },
        });
        index
    }

    /// Records how operation `id` ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zk_testkit::History::new();
    /// let id = h.invoke("c1", 0, zk_testkit::Op::new("delete", "/x"));
    /// h.complete(id, zk_testkit::Outcome::Fail("NONODE".into()));
    /// ```
    pub fn complete(&self, id: OpId, outcome: Outcome) {
        self.push(EventKind::Complete { id, outcome });
    }

    /// Records a success.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zk_testkit::History::new();
    /// let id = h.invoke("c1", 0, zk_testkit::Op::new("read", "/x"));
    /// h.ok(id, None);
    /// ```
    pub fn ok(&self, id: OpId, value: Option<String>) {
        self.complete(id, Outcome::Ok(value));
    }

    /// Records a definite failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zk_testkit::History::new();
    /// let id = h.invoke("c1", 0, zk_testkit::Op::new("read", "/x"));
    /// h.fail(id, "NONODE");
    /// ```
    pub fn fail(&self, id: OpId, why: impl Into<String>) {
        self.complete(id, Outcome::Fail(why.into()));
    }

    /// Records an indeterminate end.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zk_testkit::History::new();
    /// let id = h.invoke("c1", 0, zk_testkit::Op::new("create", "/x"));
    /// h.indeterminate(id, "connection loss");
    /// ```
    pub fn indeterminate(&self, id: OpId, why: impl Into<String>) {
        self.complete(id, Outcome::Indeterminate(why.into()));
    }

    /// Records a nemesis action.
    ///
    /// # Examples
    ///
    /// ```
    /// zk_testkit::History::new().nemesis("pause leader 1");
    /// ```
    pub fn nemesis(&self, action: impl Into<String>) {
        self.push(EventKind::Nemesis {
            action: action.into(),
        });
    }

    /// Every event, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::History::new().events().len(), 0);
    /// ```
    pub fn events(&self) -> Vec<Event> {
        self.inner
            .events
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// Every operation with its completion, in invoke order.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zk_testkit::History::new();
    /// h.invoke("c1", 0, zk_testkit::Op::new("read", "/x"));
    /// assert!(h.operations()[0].outcome.is_none());
    /// ```
    pub fn operations(&self) -> Vec<Operation> {
        let events = self.events();
        let mut ops: Vec<Operation> = Vec::new();
        for e in &events {
            match &e.kind {
                EventKind::Invoke {
                    id,
                    client,
                    session,
                    op,
                } => ops.push(Operation {
                    id: *id,
                    client: client.clone(),
                    session: *session,
                    op: op.clone(),
                    invoked: e.time,
                    completed: None,
                    outcome: None,
                }),
                EventKind::Complete { id, outcome } => {
                    if let Some(op) = ops.iter_mut().find(|o| o.id == *id) {
                        op.completed = Some(e.time);
                        op.outcome = Some(outcome.clone());
                    }
                }
                EventKind::Nemesis { .. } => {}
            }
        }
        ops
    }

    /// One JSON object per event and line:
    /// `{"index":0,"time_us":12,"type":"invoke","id":0,"client":"c1","session":"0x1","f":"create","path":"/a","value":null}`;
    /// completions have `type` `ok`, `fail` or `info`; nemesis lines have `type` `nemesis`.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zk_testkit::History::new();
    /// h.nemesis("heal");
    /// assert!(h.to_jsonl().ends_with("}\n"));
    /// ```
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in self.events() {
            let t = e.time.as_micros();
            let _ = write!(out, "{{\"index\":{},\"time_us\":{t},", e.index);
            match &e.kind {
                EventKind::Invoke {
                    id,
                    client,
                    session,
                    op,
                } => {
                    let _ = write!(
                        out,
                        "\"type\":\"invoke\",\"id\":{id},\"client\":{},\"session\":\"0x{session:x}\",\"f\":{},\"path\":{},\"value\":{}",
                        json(client),
                        json(&op.f),
                        json(&op.path),
                        op.value.as_deref().map_or_else(|| "null".to_owned(), json)
                    );
                }
                EventKind::Complete { id, outcome } => {
                    let _ = write!(
                        out,
                        "\"type\":\"{}\",\"id\":{id},\"value\":{}",
                        outcome.kind(),
                        outcome.detail().map_or_else(|| "null".to_owned(), json)
                    );
                }
                EventKind::Nemesis { action } => {
                    let _ = write!(out, "\"type\":\"nemesis\",\"action\":{}", json(action));
                }
            }
            out.push_str("}\n");
        }
        out
    }

    /// Writes [`to_jsonl`](Self::to_jsonl) to `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// zk_testkit::History::new().write_jsonl("/tmp/history.jsonl")?;
    /// # Ok::<(), zk_testkit::Error>(())
    /// ```
    pub fn write_jsonl(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_jsonl())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }
}

fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_control_characters() {
        assert_eq!(json("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[test]
    fn times_are_monotonic_and_ops_join() {
        let h = History::new();
        let a = h.invoke("c1", 1, Op::new("create", "/a"));
        let b = h.invoke("c2", 2, Op::new("create", "/b"));
        h.indeterminate(a, "connection loss");
        h.ok(b, Some("/b".into()));
        let events = h.events();
        assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
        let ops = h.operations();
        assert_eq!(ops.len(), 2);
        assert!(
            ops[0]
                .outcome
                .as_ref()
                .is_some_and(Outcome::is_indeterminate)
        );
        assert_eq!(h.to_jsonl().lines().count(), 4);
    }
}
