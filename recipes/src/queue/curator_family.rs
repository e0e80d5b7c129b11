//! The rest of Curator's `DistributedQueue` family on its layouts:
//! [`DistributedPriorityQueue`], [`DistributedDelayQueue`], [`DistributedIdQueue`]. Each
//! is a [`DistributedQueue`] whose items carry a key in their names.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use zk_client::Client;

use super::claimed::Claimed;
use super::distributed::DistributedQueue;
use super::layout::{Order, delay_name, id_name, id_of, priority_name};
use crate::error::{Error, Result};

/// What every member of the family takes from [`DistributedQueue`].
macro_rules! family_methods {
    ($ty:ident, $path:literal) => {
        impl $ty {
            #[doc = concat!("Where claims go: Curator's `lockPath` (`<path>-locks` unless set).\n\n```no_run\n# fn _example(client: zk_client::Client) {\nlet queue = zk_recipes::queue::", stringify!($ty), "::new(&client, \"", $path, "\").lock_path(\"", $path, "-locks\");\n# drop(queue); }\n```")]
            #[must_use]
            pub fn lock_path(self, path: &str) -> Self {
                Self {
                    inner: self.inner.lock_path(path),
                }
            }

            #[doc = concat!("Bounds the queue, as [`DistributedQueue::max_items`].\n\n```no_run\n# fn _example(client: zk_client::Client) {\nlet queue = zk_recipes::queue::", stringify!($ty), "::new(&client, \"", $path, "\").max_items(100);\n# drop(queue); }\n```")]
            #[must_use]
            pub fn max_items(self, max: usize) -> Self {
                Self {
                    inner: self.inner.max_items(max),
                }
            }

            #[doc = concat!("Takes the first node's items, waiting for one (at most once), as [`DistributedQueue::take`].\n\n# Errors\n\nAs [`DistributedQueue::take`].\n\n```no_run\n# async fn _example(queue: zk_recipes::queue::", stringify!($ty), ") -> zk_recipes::Result<()> {\nlet items = queue.take().await?;\n# let _ = items; Ok(()) }\n```")]
            pub async fn take(&self) -> Result<Vec<Bytes>> {
                self.inner.take().await
            }

            #[doc = concat!("Claims the first node, waiting for one (at least once), as [`DistributedQueue::claim`].\n\n# Errors\n\nAs [`DistributedQueue::claim`].\n\n```no_run\n# async fn _example(queue: zk_recipes::queue::", stringify!($ty), ") -> zk_recipes::Result<()> {\nqueue.claim().await?.ack().await?;\n# Ok(()) }\n```")]
            pub async fn claim(&self) -> Result<Claimed> {
                self.inner.claim().await
            }

            #[doc = concat!("Claims up to `max` nodes at once, as [`DistributedQueue::claim_batch`].\n\n# Errors\n\nAs [`DistributedQueue::claim_batch`].\n\n```no_run\n# async fn _example(queue: zk_recipes::queue::", stringify!($ty), ") -> zk_recipes::Result<()> {\nlet batch = queue.claim_batch(16, Some(std::time::Duration::from_secs(1))).await?;\n# drop(batch); Ok(()) }\n```")]
            pub async fn claim_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Claimed>> {
                self.inner.claim_batch(max, timeout).await
            }

            #[doc = concat!("How many nodes the queue holds now (due ones, for a delay queue).\n\n# Errors\n\nThe ZooKeeper errors of the read.\n\n```no_run\n# async fn _example(queue: zk_recipes::queue::", stringify!($ty), ") -> zk_recipes::Result<()> {\nprintln!(\"{}\", queue.len().await?);\n# Ok(()) }\n```")]
            pub async fn len(&self) -> Result<usize> {
                self.inner.len().await
            }
        }
    };
}

/// Curator's `DistributedPriorityQueue` on its layout: items are
/// `<path>/queue-{1|0}{priority:08X}{seq}`, taken lowest priority first, then in order.
///
/// ```no_run
/// use zk_recipes::queue::DistributedPriorityQueue;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queue = DistributedPriorityQueue::new(&client, "/alerts");
/// queue.put(b"disk full", -5).await?;
/// queue.put(b"cpu high", 10).await?;
/// assert_eq!(queue.take().await?, [&b"disk full"[..]]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DistributedPriorityQueue {
    inner: DistributedQueue,
}

impl DistributedPriorityQueue {
    /// The queue at `path`. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::DistributedPriorityQueue::new(&client, "/alerts");
    /// # drop(queue); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self {
            inner: DistributedQueue::of(client, path, Order::Priority),
        }
    }

    /// Adds an item with a priority: lower ones are taken first.
    ///
    /// # Errors
    ///
    /// As [`DistributedQueue::put`].
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedPriorityQueue) -> zk_recipes::Result<()> {
    /// queue.put(b"alert", 0).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, item: &[u8], priority: i32) -> Result<()> {
        self.inner
            .put_named(&[item], &priority_name(priority))
            .await
    }
}

family_methods!(DistributedPriorityQueue, "/alerts");

/// Curator's `DistributedDelayQueue` on its layout: items are
/// `<path>/queue-|{epoch ms:08X}|{seq}`, each taken once its time has come, earliest
/// first. The time is compared with each consumer's clock: consumers whose clocks differ
/// take items early or late by as much.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// use zk_recipes::queue::DistributedDelayQueue;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queue = DistributedDelayQueue::new(&client, "/reminders");
/// queue.put(b"call back", SystemTime::now() + Duration::from_secs(60)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DistributedDelayQueue {
    inner: DistributedQueue,
}

impl DistributedDelayQueue {
    /// The queue at `path`. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::DistributedDelayQueue::new(&client, "/reminders");
    /// # drop(queue); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self {
            inner: DistributedQueue::of(client, path, Order::Delay),
        }
    }

    /// Adds an item to be taken at `until` or later.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a time before 1970; as [`DistributedQueue::put`].
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedDelayQueue) -> zk_recipes::Result<()> {
    /// queue.put(b"later", std::time::SystemTime::now()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, item: &[u8], until: SystemTime) -> Result<()> {
        let epoch = until
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok())
            .filter(|ms| *ms > 0)
            .ok_or_else(|| {
                Error::InvalidArgument("a delay queue's time must be after 1970".into())
            })?;
        self.inner.put_named(&[item], &delay_name(epoch)).await
    }
}

family_methods!(DistributedDelayQueue, "/reminders");

/// Curator's `DistributedIdQueue` on its layout: items are `<path>/queue-|{id}|{seq}`,
/// taken in order, and the items of an id can be removed before anyone takes them.
///
/// ```no_run
/// use zk_recipes::queue::DistributedIdQueue;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queue = DistributedIdQueue::new(&client, "/builds");
/// queue.put(b"build 7", "branch-a").await?;
/// assert_eq!(queue.remove("branch-a").await?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DistributedIdQueue {
    inner: DistributedQueue,
}

impl DistributedIdQueue {
    /// The queue at `path`. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let queue = zk_recipes::queue::DistributedIdQueue::new(&client, "/builds");
    /// # drop(queue); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self {
            inner: DistributedQueue::of(client, path, Order::Id),
        }
    }

    /// Adds an item with an id (`/` and `|` in it become `_`, as Curator writes them).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty id; as [`DistributedQueue::put`].
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedIdQueue) -> zk_recipes::Result<()> {
    /// queue.put(b"build", "branch-a").await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, item: &[u8], id: &str) -> Result<()> {
        if id.is_empty() {
            return Err(Error::InvalidArgument(
                "an id queue's id must not be empty".into(),
            ));
        }
        self.inner.put_named(&[item], &id_name(id)).await
    }

    /// Removes the items with this id that nobody has taken or claimed; how many.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors.
    ///
    /// ```no_run
    /// # async fn _example(queue: zk_recipes::queue::DistributedIdQueue) -> zk_recipes::Result<()> {
    /// let removed = queue.remove("branch-a").await?;
    /// # let _ = removed; Ok(()) }
    /// ```
    pub async fn remove(&self, id: &str) -> Result<usize> {
        let fixed = id.replace(['/', '|'], "_");
        self.inner
            .remove_where(|name| id_of(name) == Some(fixed.as_str()))
            .await
    }
}

family_methods!(DistributedIdQueue, "/builds");
