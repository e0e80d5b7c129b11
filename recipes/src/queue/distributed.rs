//! [`DistributedQueue`]: Curator's `DistributedQueue` layout, `queue-{seq}` nodes whose
//! data is Curator's item framing.

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;
use zk_client::Client;

use super::claimed::Claimed;
use super::common::engine_methods;
use super::engine::Engine;
use super::framing;
use super::layout::{Layout, Order};
use crate::error::{Error, Result};
use crate::protected::join;

/// Curator's `DistributedQueue` on its layout: items are `<path>/queue-{seq}`
/// (persistent sequential) whose data is Curator's `ItemSerializer` framing of one item
/// ([`put`](Self::put)) or several ([`put_many`](Self::put_many), Curator's `putMulti`).
/// Claims are `<lock path>/<item>` ephemeral nodes, Curator's lock safety: a Curator
/// consumer built with the same `lockPath` respects ours and we respect its.
///
/// ```no_run
/// use zk_recipes::queue::DistributedQueue;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queue = DistributedQueue::new(&client, "/orders").lock_path("/orders-locks");
/// queue.put(b"order 1").await?;
/// let item = queue.claim().await?;
/// println!("{:?}", item.items()?);
/// item.ack().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DistributedQueue {
    engine: Engine,
}

impl DistributedQueue {
    /// The queue at `path`, with claims under `<path>-locks` until
    /// [`lock_path`](Self::lock_path) says otherwise. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::DistributedQueue::new(&client, "/orders");
    /// # drop(queue); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self::of(client, path, Order::Fifo)
    }

    /// A member of Curator's family at `path`.
    pub(crate) fn of(client: &Client, path: &str, order: Order) -> Self {
        let locks = format!("{}-locks", path.trim_end_matches('/'));
        let id = Uuid::new_v4().simple().to_string();
        Self {
            engine: Engine::new(client, path, &locks, Layout::Curator(order), id),
        }
    }

    /// Puts `items` framed in one node named `name` (and the sequence).
    pub(crate) async fn put_named<I: AsRef<[u8]>>(&self, items: &[I], name: &str) -> Result<()> {
        let data = framing::encode(items);
        self.engine.put_within(&data, name, None).await
    }

    /// Removes the items whose name `which` accepts; how many.
    pub(crate) async fn remove_where(&self, which: impl Fn(&str) -> bool) -> Result<usize> {
        self.engine.remove_where(which).await
    }

    /// Where claims go: Curator's `lockPath` (`QueueBuilder.lockPath`).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::DistributedQueue::new(&client, "/orders").lock_path("/orders-locks");
    /// # drop(queue); }
    /// ```
    #[must_use]
    pub fn lock_path(mut self, path: &str) -> Self {
        self.engine.claims = path.into();
        self
    }

    /// Adds one item (once there is room, in a bounded queue).
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the create. A put whose reply is lost is resolved on the
    /// next connection and never adds the item twice; only when the session ends first
    /// is the outcome unknown ([`Error::Zk`](crate::Error::Zk) with `SessionExpired`).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedQueue) -> zk_recipes::Result<()> {
    /// queue.put(b"order").await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, item: &[u8]) -> Result<()> {
        let data = framing::encode(&[item]);
        self.engine.put_within(&data, "queue-", None).await
    }

    /// [`put`](Self::put), waiting at most `timeout` for room in a bounded queue (Curator's
    /// `put(item, maxWait, unit)`).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the queue stayed full; as [`put`](Self::put).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedQueue) -> zk_recipes::Result<()> {
    /// queue.put_timeout(b"order", std::time::Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put_timeout(&self, item: &[u8], timeout: Duration) -> Result<()> {
        let data = framing::encode(&[item]);
        self.engine.put_within(&data, "queue-", Some(timeout)).await
    }

    /// Adds several items in one node (Curator's `putMulti`): they are taken together.
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedQueue) -> zk_recipes::Result<()> {
    /// queue.put_many(&[b"a", b"b"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put_many<I: AsRef<[u8]>>(&self, items: &[I]) -> Result<()> {
        let data = framing::encode(items);
        self.engine.put_within(&data, "queue-", None).await
    }

    /// Takes the first node's items, waiting for one: at most once (see
    /// [`SimpleDistributedQueue`](super::SimpleDistributedQueue) for how a lost reply is
    /// resolved). Cancel-safe.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] for a node not in Curator's framing (it is taken all the same);
    /// the ZooKeeper errors; [`Error::SessionEnded`] when the session ended.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedQueue) -> zk_recipes::Result<()> {
    /// for item in queue.take().await? {
    ///     println!("{item:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn take(&self) -> Result<Vec<Bytes>> {
        let data = self.engine.take_next(None).await?;
        framing::decode(&data).ok_or_else(|| Error::Corrupt {
            path: join(&self.engine.items, "queue-"),
            expected: "Curator's queue item framing",
            data,
        })
    }

    /// Claims the first node, waiting at most `timeout` (forever: `None`): at-least-once
    /// delivery; [`Claimed::items`] decodes it.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`]; the ZooKeeper errors; [`Error::SessionEnded`].
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedQueue) -> zk_recipes::Result<()> {
    /// let item = queue.claim_timeout(Some(std::time::Duration::from_secs(5))).await?;
    /// item.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn claim_timeout(&self, timeout: Option<Duration>) -> Result<Claimed> {
        self.engine.claim_next(timeout).await
    }

    /// Claims the first node, waiting for one: at-least-once delivery.
    ///
    /// # Errors
    ///
    /// As [`claim_timeout`](Self::claim_timeout).
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedQueue) -> zk_recipes::Result<()> {
    /// let item = queue.claim().await?;
    /// item.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn claim(&self) -> Result<Claimed> {
        self.engine.claim_next(None).await
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
    /// # async fn _example(queue: zk_recipes::queue::DistributedQueue) -> zk_recipes::Result<()> {
    /// let batch = queue.claim_batch(64, None).await?;
    /// futures::future::try_join_all(batch.into_iter().map(|item| item.ack())).await?;
    /// # Ok(()) }
    /// ```
    pub async fn claim_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Claimed>> {
        self.engine.claim_batch(timeout, max).await
    }
}

engine_methods!(DistributedQueue, "/orders");
