//! [`SharedCount`]: Curator's `SharedCount`, a [`SharedValue`](super::SharedValue) holding
//! a 4-byte big-endian `i32`.

use bytes::Bytes;
use zk_client::Client;

use super::format::{I32_BE, i32_from_bytes, i32_to_bytes};
use super::shared_value::{Codec, Shared, ValueChanges, Versioned};
use crate::error::Result;

/// `i32`, 4 bytes big-endian.
#[derive(Debug)]
pub(crate) struct I32Be;

impl Codec for I32Be {
    type Value = i32;
    const EXPECTED: &'static str = I32_BE;

    fn encode(value: &i32) -> Bytes {
        i32_to_bytes(*value)
    }

    fn decode(data: &Bytes) -> Option<i32> {
        i32_from_bytes(data)
    }
}

/// A count shared by every client of a path (Curator's `SharedCount`): an `i32` stored
/// as 4 bytes big-endian, the format of Curator's `SharedCount` and
/// `DistributedAtomicInteger` and of kazoo's `Counter(support_curator=True)`, which can
/// all share the node with it.
///
/// It behaves as [`SharedValue`](super::SharedValue) does: [`start`](Self::start) makes
/// the node with the seed when missing and reads it; a watch, re-armed after every event
/// and followed by a read after every reconnect, keeps [`get`](Self::get) and the
/// [`changes`](Self::changes) stream current; [`try_set`](Self::try_set) writes only over
/// the version it was given. Data of another format on the node (not exactly 4 bytes) is
/// never taken for a count: [`read`](Self::read) reports it as
/// [`Error::Corrupt`](crate::Error::Corrupt), and the watch keeps the last count.
///
/// An increment is a loop of [`get_versioned`](Self::get_versioned) and
/// [`try_set`](Self::try_set), as with Curator; a lost race costs one more read, which
/// `try_set` makes itself:
///
/// ```no_run
/// use zk_recipes::counter::SharedCount;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let count = SharedCount::new(&client, "/app/visits", 0);
/// count.start().await?;
/// loop {
///     let seen = count.get_versioned();
///     if count.try_set(seen.value + 1, seen.version).await? {
///         break;
///     }
/// }
/// println!("now {}", count.get());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SharedCount {
    shared: Shared<I32Be>,
}

impl SharedCount {
    /// A shared count at `path`, made with `seed` if missing when started; creates nothing
    /// yet.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let count = zk_recipes::counter::SharedCount::new(&client, "/app/visits", 0);
    /// # drop(count); }
    /// ```
    pub fn new(client: &Client, path: &str, seed: i32) -> Self {
        Self {
            shared: Shared::new(client, path, seed),
        }
    }

    /// The node's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::counter::SharedCount::new(&client, "/c", 0).path(), "/c");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        self.shared.path()
    }

    /// Makes the node with the seed if it is missing, reads it, and starts keeping it
    /// current. A second call only reads again.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`](crate::Error::Corrupt) when the node holds something else than 4
    /// bytes; otherwise as [`SharedValue::start`](super::SharedValue::start).
    ///
    /// ```no_run
    /// # async fn _example(count: zk_recipes::counter::SharedCount) -> zk_recipes::Result<()> {
    /// let now = count.start().await?;
    /// println!("{} at version {}", now.value, now.version);
    /// # Ok(()) }
    /// ```
    pub async fn start(&self) -> Result<Versioned<i32>> {
        self.shared.start().await
    }

    /// The latest count known: the seed before the first read.
    ///
    /// ```no_run
    /// # fn _example(count: zk_recipes::counter::SharedCount) {
    /// println!("{}", count.get());
    /// # }
    /// ```
    pub fn get(&self) -> i32 {
        self.shared.latest().value
    }

    /// The latest count known, with its version (for [`try_set`](Self::try_set)) and
    /// mzxid; version -1 before the first read.
    ///
    /// ```no_run
    /// # fn _example(count: zk_recipes::counter::SharedCount) {
    /// let seen = count.get_versioned();
    /// println!("{} at version {}", seen.value, seen.version);
    /// # }
    /// ```
    pub fn get_versioned(&self) -> Versioned<i32> {
        self.shared.latest()
    }

    /// Reads the count from the server now (and keeps it, when newer than the latest).
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`](crate::Error::Corrupt) when the node holds something else than 4
    /// bytes; otherwise as [`SharedValue::read`](super::SharedValue::read).
    ///
    /// ```no_run
    /// # async fn _example(count: zk_recipes::counter::SharedCount) -> zk_recipes::Result<()> {
    /// let fresh = count.read().await?;
    /// # let _ = fresh; Ok(()) }
    /// ```
    pub async fn read(&self) -> Result<Versioned<i32>> {
        self.shared.read().await
    }

    /// Writes `count` whatever the node's version (making the node if it is missing), and
    /// returns it with its new version.
    ///
    /// # Errors
    ///
    /// As [`SharedValue::set`](super::SharedValue::set).
    ///
    /// ```no_run
    /// # async fn _example(count: zk_recipes::counter::SharedCount) -> zk_recipes::Result<()> {
    /// count.set(0).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set(&self, count: i32) -> Result<Versioned<i32>> {
        self.shared.set(count).await
    }

    /// Writes `count` only if the node's version is still `expected_version`: `true` when
    /// written; `false` when someone wrote first, after which the latest count has been
    /// read again.
    ///
    /// # Errors
    ///
    /// As [`SharedValue::try_set`](super::SharedValue::try_set).
    ///
    /// ```no_run
    /// # async fn _example(count: zk_recipes::counter::SharedCount) -> zk_recipes::Result<()> {
    /// let seen = count.get_versioned();
    /// let won = count.try_set(seen.value * 2, seen.version).await?;
    /// # let _ = won; Ok(()) }
    /// ```
    pub async fn try_set(&self, count: i32, expected_version: i32) -> Result<bool> {
        self.shared.try_set(count, expected_version).await
    }

    /// The new counts from now on, starting with the latest once read
    /// ([`ValueChanges`]).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(count: zk_recipes::counter::SharedCount) {
    /// let mut changes = count.changes();
    /// while let Some(v) = changes.next().await {
    ///     println!("{}", v.value);
    /// }
    /// # }
    /// ```
    pub fn changes(&self) -> ValueChanges<i32> {
        self.shared.changes()
    }

    /// Stops keeping the count current: the streams end, and later writes fail with
    /// [`Error::Closed`](crate::Error::Closed). The node stays.
    ///
    /// ```no_run
    /// # fn _example(count: zk_recipes::counter::SharedCount) {
    /// count.close();
    /// # }
    /// ```
    pub fn close(&self) {
        self.shared.close();
    }
}
