//! [`Leadership`]: one term of leadership, its fencing token, and the signal that it ended.

use std::sync::Arc;

use tokio::sync::watch;
use zk_client::{Client, MultiBuilder};

use crate::lock::LostReason;

/// One term of leadership: from the moment a participant leads until it no longer may.
///
/// It owns what it needs (a client handle, our node's path), so it can move into the
/// leader's work. While the term lasts:
///
/// - [`fencing_token`](Self::fencing_token) is the czxid of our election node, larger for
///   every later term of the election: give it to the resource the leader writes to,
///   which refuses tokens smaller than the largest it has seen;
/// - [`fenced`](Self::fenced) starts a multi with a `check` of our node, so its writes
///   commit only while our node, and so our leadership, still exists;
/// - [`lost`](Self::lost) resolves when the term ends, with the reason.
///
/// ```no_run
/// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
/// let term = latch.await_leadership().await?;
/// tokio::select! {
///     r = term.fenced().set_data("/config/owner", b"me", None).commit() => { r?; }
///     why = term.lost() => eprintln!("no longer leader: {why}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Leadership {
    client: Client,
    node: Arc<str>,
    token: i64,
    ended: watch::Receiver<Option<LostReason>>,
}

/// The leader's side of a term: ends it with a reason (or [`LostReason::Closed`] when
/// dropped).
#[derive(Debug)]
pub(crate) struct TermEnd(watch::Sender<Option<LostReason>>);

impl TermEnd {
    pub(crate) fn end(&self, why: LostReason) {
        self.0.send_if_modified(|ended| {
            let first = ended.is_none();
            if first {
                *ended = Some(why);
            }
            first
        });
    }
}

impl Drop for TermEnd {
    fn drop(&mut self) {
        self.end(LostReason::Closed);
    }
}

impl Leadership {
    /// A new term on `node` (created at `czxid`), and the handle that ends it.
    pub(crate) fn begin(client: &Client, node: Arc<str>, czxid: i64) -> (Self, TermEnd) {
        let (tx, rx) = watch::channel(None);
        let term = Self {
            client: client.clone(),
            node,
            token: czxid,
            ended: rx,
        };
        (term, TermEnd(tx))
    }

    /// The fencing token of this term: the czxid of our election node.
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// let term = latch.await_leadership().await?;
    /// println!("leading with token {}", term.fencing_token());
    /// # Ok(()) }
    /// ```
    pub fn fencing_token(&self) -> i64 {
        self.token
    }

    /// Our election node (a client path).
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// let term = latch.await_leadership().await?;
    /// assert!(term.node().contains("-latch-"));
    /// # Ok(()) }
    /// ```
    pub fn node(&self) -> &str {
        &self.node
    }

    /// A multi that starts with a `check` that our election node exists: add the writes,
    /// and they commit only while we lead. (A node that exists and led stays first: no
    /// later contender can sort before it.)
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// let term = latch.await_leadership().await?;
    /// term.fenced().set_data("/config/owner", b"me", None).commit().await?;
    /// # Ok(()) }
    /// ```
    pub fn fenced(&self) -> MultiBuilder {
        self.client.multi().check(&self.node, -1)
    }

    /// Whether the term still lasts, as far as this process knows.
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// let term = latch.await_leadership().await?;
    /// assert!(term.is_current() || !latch.has_leadership());
    /// # Ok(()) }
    /// ```
    pub fn is_current(&self) -> bool {
        self.ended.borrow().is_none()
    }

    /// Resolves when the term ends, with the reason: the loss policy saw the connection
    /// or the session go, our node was deleted, or the election was closed. Cancel-safe;
    /// call it as often as wanted.
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// let term = latch.await_leadership().await?;
    /// let why = term.lost().await;
    /// eprintln!("no longer leader: {why}");
    /// # Ok(()) }
    /// ```
    pub async fn lost(&self) -> LostReason {
        let mut ended = self.ended.clone();
        match ended.wait_for(Option::is_some).await {
            Ok(why) => (*why).unwrap_or(LostReason::Closed),
            Err(_) => LostReason::Closed,
        }
    }
}
