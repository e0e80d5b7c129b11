//! [`Mutex`]: Curator's `InterProcessMutex` (and kazoo's `Lock` in kazoo mode).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use zk_client::Client;

use super::contest::{MaxLeases, Wait};
use super::guard::LockGuard;
use super::handle::{self, Handle, LockStats, Participant, no_decision};
use super::names::Compat;
use crate::error::Result;
use crate::state::LossPolicy;

/// A distributed mutual-exclusion lock on a path, with Curator's layout: each contender is
/// an ephemeral-sequential node `<path>/_c_{uuid}-lock-{seq}`, the lowest holds the lock,
/// and each waiter watches only the node before it. Curator's `InterProcessMutex` and this
/// one exclude each other on the same path; see [`Compat`] for kazoo.
///
/// A `Mutex` is a cheap handle (clones share it) and creates nothing until the first
/// acquire. It is re-entrant through the handle: while a guard of it is alive, another
/// acquire on it (or a clone) returns at once with a guard of the same hold, and the node
/// goes when the last of them is released.
///
/// # Cancel safety
///
/// Every acquire can be dropped at any point, time out or fail without leaving a node
/// behind: our node is deleted in the background (even when the reply to its create was
/// lost, by its protected prefix), until the delete succeeds or the session ends.
///
/// ```no_run
/// use zk_recipes::lock::Mutex;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let lock = Mutex::new(&client, "/locks/orders");
/// let guard = lock.acquire().await?;
/// let token = guard.fencing_token(); // hand to the resource: it refuses smaller ones
/// tokio::select! {
///     () = tokio::time::sleep(std::time::Duration::from_millis(10)) => {} // the work
///     why = guard.lost() => return Err(zk_recipes::Error::InvalidArgument(why.to_string())),
/// }
/// guard.release().await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Mutex {
    handle: Handle,
    compat: Compat,
}

impl Mutex {
    /// A lock on `path` through `client`; creates nothing yet.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let lock = zk_recipes::lock::Mutex::new(&client, "/locks/orders");
    /// # drop(lock); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self::with(
            client,
            path,
            Compat::Curator,
            Bytes::new(),
            LossPolicy::default(),
        )
    }

    fn with(client: &Client, path: &str, compat: Compat, data: Bytes, policy: LossPolicy) -> Self {
        let spec = handle::spec(
            path,
            compat,
            compat.node_name("lock-", "__lock__"),
            compat.patterns(&["lock-"], &["__lock__"]),
            data,
        );
        Self {
            handle: Handle::new(client, spec, Arc::new(MaxLeases(1)), policy),
            compat,
        }
    }

    fn rebuilt(&self, compat: Compat, data: Bytes, policy: LossPolicy) -> Self {
        Self::with(self.handle.client(), self.path(), compat, data, policy)
    }

    /// The data of our contender node: the participant id others see in
    /// [`participants`](Self::participants) (Curator readers take it as the id). Default
    /// empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let lock = zk_recipes::lock::Mutex::new(&client, "/locks/orders").data("worker-7");
    /// # drop(lock); }
    /// ```
    #[must_use]
    pub fn data(self, data: impl Into<Bytes>) -> Self {
        self.rebuilt(self.compat, data.into(), self.handle.policy())
    }

    /// Whose node names to write and which contenders to respect. Default
    /// [`Compat::Curator`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::lock::{Compat, Mutex};
    /// let shared_with_kazoo = Mutex::new(&client, "/locks/orders").compat(Compat::Kazoo);
    /// # drop(shared_with_kazoo); }
    /// ```
    #[must_use]
    pub fn compat(self, compat: Compat) -> Self {
        let data = self.handle.spec().data.clone();
        self.rebuilt(compat, data, self.handle.policy())
    }

    /// When a holder must consider the lock lost ([`LockGuard::lost`]). Default
    /// [`LossPolicy::standard`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::state::LossPolicy;
    /// let lock = zk_recipes::lock::Mutex::new(&client, "/l").loss_policy(LossPolicy::session());
    /// # drop(lock); }
    /// ```
    #[must_use]
    pub fn loss_policy(self, policy: LossPolicy) -> Self {
        let data = self.handle.spec().data.clone();
        self.rebuilt(self.compat, data, policy)
    }

    /// The client the lock uses.
    pub(crate) fn client(&self) -> &Client {
        self.handle.client()
    }

    /// The lock's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::lock::Mutex::new(&client, "/l").path(), "/l");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.handle.spec().path
    }

    /// Waits until the lock is ours.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`](crate::Error::SessionEnded) when the session ends while
    /// waiting; a ZooKeeper error that retrying cannot help (no permission on the path, an
    /// invalid path). Connection losses are waited out.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// guard.release().await
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<LockGuard> {
        self.handle
            .acquire(Wait::Forever)
            .await?
            .ok_or_else(no_decision)
    }

    /// Waits at most `timeout` for the lock.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`](crate::Error::Timeout) at the deadline (our node is deleted);
    /// otherwise as [`acquire`](Self::acquire).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// match lock.acquire_timeout(std::time::Duration::from_secs(1)).await {
    ///     Ok(guard) => guard.release().await?,
    ///     Err(zk_recipes::Error::Timeout(_)) => println!("busy"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.handle
            .acquire(Wait::Until(deadline))
            .await?
            .ok_or_else(no_decision)
    }

    /// Takes the lock if nobody holds it, without waiting: `None` when it is held (and our
    /// node is gone again).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// if let Some(guard) = lock.try_acquire().await? {
    ///     guard.release().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn try_acquire(&self) -> Result<Option<LockGuard>> {
        self.handle.acquire(Wait::No).await
    }

    /// Whether this handle holds the lock now.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// assert!(lock.is_held());
    /// # drop(guard); Ok(()) }
    /// ```
    pub fn is_held(&self) -> bool {
        self.handle.hold().is_some()
    }

    /// The contenders, in the order they get the lock, with their data; the first holds
    /// it. Needs no lock, creates nothing.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of reading the path's children and data.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// for p in lock.participants().await? {
    ///     println!("{} {:?} holds={}", p.node, p.data, p.holds);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        self.handle.participants(|_, index| index == 0).await
    }

    /// The holder, if anyone holds the lock.
    ///
    /// # Errors
    ///
    /// As [`participants`](Self::participants).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// if let Some(holder) = lock.holder().await? {
    ///     println!("held by {:?}", holder.data);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn holder(&self) -> Result<Option<Participant>> {
        Ok(self.participants().await?.into_iter().next())
    }

    /// Counters of this handle: grants, time spent waiting, timeouts.
    ///
    /// ```no_run
    /// # fn _example(lock: zk_recipes::lock::Mutex) {
    /// let stats = lock.stats();
    /// println!("{} grants, {:?} waiting", stats.acquisitions, stats.waited);
    /// # }
    /// ```
    pub fn stats(&self) -> LockStats {
        self.handle.stats()
    }
}
