//! kazoo's [`Queue`] and [`LockingQueue`]: `entry-{priority:03}-{seq}` nodes with raw
//! bytes, lower priorities first.

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;
use zk_client::Client;

use super::claimed::Claimed;
use super::common::{claims_path_method, engine_methods};
use super::engine::Engine;
use super::layout::{Layout, kazoo_name};
use crate::error::{Error, Result};
use crate::protected::join;

/// kazoo priorities: 0 (first) to 999.
const MAX_PRIORITY: u16 = 999;

fn check_priority(priority: u16) -> Result<()> {
    if priority > MAX_PRIORITY {
        return Err(Error::InvalidArgument(format!(
            "priority {priority} is above kazoo's {MAX_PRIORITY}"
        )));
    }
    Ok(())
}

/// kazoo's `Queue` on its layout: items `<path>/entry-{priority:03}-{seq}` with raw
/// bytes, lower priorities first, then in order.
///
/// [`get`](Self::get) takes at most once, as kazoo's, but never loses an item to a lost
/// reply: the item is first claimed (an ephemeral `<path>-claims/<item>`) and then deleted
/// with its claim in one transaction.
///
/// ```no_run
/// use zk_recipes::queue::KazooQueue;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queue = KazooQueue::new(&client, "/tasks");
/// queue.put(b"urgent", 1).await?;
/// assert_eq!(queue.get().await?.as_deref(), Some(&b"urgent"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct KazooQueue {
    engine: Engine,
}

impl KazooQueue {
    /// The queue at `path`. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::KazooQueue::new(&client, "/tasks");
    /// # drop(queue); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        let claims = format!("{}-claims", path.trim_end_matches('/'));
        let id = Uuid::new_v4().simple().to_string();
        Self {
            engine: Engine::new(client, path, &claims, Layout::Kazoo, id),
        }
    }

    /// Adds an item with a priority from 0 (first) to 999 (kazoo's default is 100).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a priority above 999; the ZooKeeper errors of the
    /// create. A put whose reply is lost is resolved on the next connection and never
    /// adds the item twice; only when the session ends first is the outcome unknown.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::KazooQueue) -> zk_recipes::Result<()> {
    /// queue.put(b"task", 100).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, data: &[u8], priority: u16) -> Result<()> {
        check_priority(priority)?;
        self.engine
            .put_within(data, &kazoo_name(priority), None)
            .await
    }

    /// Takes the first item, or `None` at once when there is none (kazoo's `get`).
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors; [`Error::SessionEnded`] when the session ended.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::KazooQueue) -> zk_recipes::Result<()> {
    /// while let Some(task) = queue.get().await? {
    ///     println!("{task:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<Option<Bytes>> {
        let names = self.engine.items().await?;
        self.engine.take_first(names).await
    }
}

/// kazoo's `LockingQueue` on its layout: items `<path>/entries/entry-{priority:03}-{seq}`,
/// claims `<path>/taken/<entry>` (ephemeral, data = our id). An item is taken with
/// [`get`](Self::get), which claims it, and leaves the queue only when
/// [`Claimed::ack`] (kazoo's `consume`) deletes it with its claim; a consumer that dies
/// first leaves it to the next. kazoo consumers and ours share one queue.
///
/// ```no_run
/// use zk_recipes::queue::LockingQueue;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queue = LockingQueue::new(&client, "/work");
/// queue.put(b"job", 100).await?;
/// if let Some(job) = queue.get(std::time::Duration::from_secs(1)).await? {
///     assert!(job.holds().await?);
///     job.ack().await?; // kazoo's consume()
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct LockingQueue {
    engine: Engine,
}

impl LockingQueue {
    /// The queue at `path`. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::LockingQueue::new(&client, "/work");
    /// # drop(queue); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let mut engine = Engine::new(
            client,
            &join(path, "entries"),
            &join(path, "taken"),
            Layout::Kazoo,
            id,
        );
        // kazoo's `taken`, made once per LockingQueue object as `entries` is.
        engine.keep_claims = true;
        Self { engine }
    }

    /// Adds an item with a priority from 0 (first) to 999.
    ///
    /// # Errors
    ///
    /// As [`KazooQueue::put`].
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::LockingQueue) -> zk_recipes::Result<()> {
    /// queue.put(b"job", 100).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, data: &[u8], priority: u16) -> Result<()> {
        check_priority(priority)?;
        self.engine
            .put_within(data, &kazoo_name(priority), None)
            .await
    }

    /// Adds several items in one transaction, all with one priority (kazoo's `put_all`).
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put); nothing is added when one fails.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::LockingQueue) -> zk_recipes::Result<()> {
    /// queue.put_all(&[b"a", b"b"], 100).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put_all<I: AsRef<[u8]>>(&self, items: &[I], priority: u16) -> Result<()> {
        check_priority(priority)?;
        self.engine.put_all(items, &kazoo_name(priority)).await
    }

    /// Claims the first item, waiting at most `timeout`; `None` when none came in time
    /// (kazoo's `get`). Cancel-safe.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors; [`Error::SessionEnded`] when the session ended.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::LockingQueue) -> zk_recipes::Result<()> {
    /// let job = queue.get(std::time::Duration::from_secs(1)).await?;
    /// # drop(job); Ok(()) }
    /// ```
    pub async fn get(&self, timeout: Duration) -> Result<Option<Claimed>> {
        match self.engine.claim_next(Some(timeout)).await {
            Ok(claimed) => Ok(Some(claimed)),
            Err(Error::Timeout(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

engine_methods!(KazooQueue, "/tasks");
claims_path_method!(KazooQueue, "/tasks");
engine_methods!(LockingQueue, "/work");
