//! [`SimpleDistributedQueue`]: Curator's (and ZooKeeper's own) queue recipe, `qn-{seq}`
//! nodes with raw bytes.

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;
use zk_client::Client;

use super::claimed::Claimed;
use super::common::{claims_path_method, engine_methods};
use super::engine::Engine;
use super::layout::Layout;
use crate::error::{Error, Result};

/// Curator's `SimpleDistributedQueue` on its layout: items are `<path>/qn-{seq}`
/// (persistent sequential) holding raw bytes, taken in sequence order.
///
/// Takes are at most once, as Curator's, but an item is never lost to a lost reply:
/// [`poll`](Self::poll) and [`take`](Self::take) first claim the item (an ephemeral
/// `<path>-claims/<item>`), then delete item and claim in one transaction, so after a
/// dropped connection the claim says whether the delete was applied. Curator's consumers
/// do not claim; one of them may take an item we claimed, and then we move on.
/// [`claim`](Self::claim) gives at-least-once delivery instead.
///
/// ```no_run
/// use zk_recipes::queue::SimpleDistributedQueue;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queue = SimpleDistributedQueue::new(&client, "/jobs");
/// queue.offer(b"job 1").await?;
/// assert_eq!(&queue.take().await?[..], b"job 1");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SimpleDistributedQueue {
    engine: Engine,
}

impl SimpleDistributedQueue {
    /// The queue at `path`. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::SimpleDistributedQueue::new(&client, "/jobs");
    /// # drop(queue); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        let claims = format!("{}-claims", path.trim_end_matches('/'));
        let id = Uuid::new_v4().simple().to_string();
        Self {
            engine: Engine::new(client, path, &claims, Layout::Simple, id),
        }
    }

    /// Adds an item (once there is room, in a bounded queue).
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the create. A put whose reply is lost is resolved on the
    /// next connection and never adds the item twice; only when the session ends first
    /// is the outcome unknown ([`Error::Zk`](crate::Error::Zk) with `SessionExpired`).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// queue.offer(b"job").await?;
    /// # Ok(()) }
    /// ```
    pub async fn offer(&self, data: &[u8]) -> Result<()> {
        self.engine.put_within(data, "qn-", None).await
    }

    /// [`offer`](Self::offer), waiting at most `timeout` for room in a bounded queue.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the queue stayed full; as [`offer`](Self::offer).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// queue.offer_timeout(b"job", std::time::Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn offer_timeout(&self, data: &[u8], timeout: Duration) -> Result<()> {
        self.engine.put_within(data, "qn-", Some(timeout)).await
    }

    /// Takes the first item, or `None` at once when there is none.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors; [`Error::SessionEnded`] when the session ended.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// if let Some(job) = queue.poll().await? {
    ///     println!("{job:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn poll(&self) -> Result<Option<Bytes>> {
        let names = self.engine.items().await?;
        self.engine.take_first(names).await
    }

    /// Takes the first item, waiting for one. Cancel-safe: dropped before it returns, it
    /// has taken nothing.
    ///
    /// # Errors
    ///
    /// As [`poll`](Self::poll).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// let job = queue.take().await?;
    /// # let _ = job; Ok(()) }
    /// ```
    pub async fn take(&self) -> Result<Bytes> {
        self.engine.take_next(None).await
    }

    /// [`take`](Self::take), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when no item came in time; as [`poll`](Self::poll).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// let job = queue.take_timeout(std::time::Duration::from_secs(5)).await?;
    /// # let _ = job; Ok(()) }
    /// ```
    pub async fn take_timeout(&self, timeout: Duration) -> Result<Bytes> {
        self.engine.take_next(Some(timeout)).await
    }

    /// Claims the first item, waiting for one: at-least-once delivery (see [`Claimed`]).
    ///
    /// # Errors
    ///
    /// As [`poll`](Self::poll).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// let job = queue.claim().await?;
    /// job.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn claim(&self) -> Result<Claimed> {
        self.engine.claim_next(None).await
    }

    /// The first item's data, without taking it; `None` when the queue is empty.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the reads.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// println!("{:?}", queue.peek().await?);
    /// # Ok(()) }
    /// ```
    pub async fn peek(&self) -> Result<Option<Bytes>> {
        self.engine.peek().await
    }

    /// The first item's data, without taking it.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when the queue is empty; as [`peek`](Self::peek).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// let first = queue.element().await?;
    /// # let _ = first; Ok(()) }
    /// ```
    pub async fn element(&self) -> Result<Bytes> {
        self.peek().await?.ok_or(Error::Empty)
    }

    /// Claims up to `max` items at once, the first ones in order, waiting at most `timeout`
    /// (forever: `None`) until there is one: their claims and reads go out together, so a
    /// consumer that processes items side by side needs one round trip for many. Each is
    /// acknowledged or given back on its own.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`](crate::Error::Timeout); the ZooKeeper errors;
    /// [`Error::SessionEnded`](crate::Error::SessionEnded).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// let batch = queue.claim_batch(64, None).await?;
    /// futures::future::try_join_all(batch.into_iter().map(|item| item.ack())).await?;
    /// # Ok(()) }
    /// ```
    pub async fn claim_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Claimed>> {
        self.engine.claim_batch(timeout, max).await
    }

    /// Whether the queue holds no item now.
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
    /// println!("{}", queue.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }
}

engine_methods!(SimpleDistributedQueue, "/jobs");
claims_path_method!(SimpleDistributedQueue, "/jobs");
