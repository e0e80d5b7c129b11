//! [`RwLock`]: Curator's `InterProcessReadWriteLock` (kazoo's `ReadLock`/`WriteLock` in
//! kazoo mode).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use zk_client::{Client, CreateMode, CreateOptions};

use super::contest::{Decision, MaxLeases, Rule, Wait};
use super::guard::LockGuard;
use super::handle::{self, Handle, LockStats, Participant, no_decision};
use super::names::{Compat, Contender, sequence_of};
use crate::error::{Error, Result, zk};
use crate::protected::join;
use crate::state::LossPolicy;

const CURATOR_READ: &str = "__READ__";
const CURATOR_WRITE: &str = "__WRIT__";
const KAZOO_READ: &str = "__rlock__";
const KAZOO_WRITE: &str = "__lock__";

/// A distributed read-write lock with Curator's layout: readers
/// `<path>/_c_{uuid}-__READ__{seq}` and writers `<path>/_c_{uuid}-__WRIT__{seq}` in one
/// sequence order. Readers share the lock until a writer queued before them; a writer
/// holds it alone. Curator's `InterProcessReadWriteLock` and this one work together on a
/// path (kazoo's read-write locks use other names: [`Compat::Kazoo`]).
///
/// - Re-entrant through the handle, for each side.
/// - Downgrade: a read acquired while this handle holds the write lock is granted at once,
///   on a node that reuses the writer's sequence, so it keeps its place ahead of writers
///   that queued meanwhile (CURATOR-621).
/// - No upgrade: a write asked for while this handle holds only a read share fails at once
///   instead of waiting for itself forever.
///
/// ```no_run
/// use zk_recipes::lock::RwLock;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let lock = RwLock::new(&client, "/locks/catalog");
/// let write = lock.write().await?;
/// // ... change the catalog, then keep reading it while others may read too:
/// let read = lock.read().await?;
/// write.release().await?;
/// read.release().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RwLock {
    read: Handle,
    write: Handle,
    compat: Compat,
}

/// Readers: granted unless a writer comes first; then they wait for that first writer.
struct ReadRule {
    writers: Vec<&'static str>,
}

impl Rule for ReadRule {
    fn decide(&self, contenders: &[Contender], ours: usize) -> Decision {
        match contenders[..ours]
            .iter()
            .find(|c| sequence_of(&c.name, &self.writers).is_some())
        {
            None => Decision::Acquired,
            Some(writer) => Decision::WaitFor(writer.name.clone()),
        }
    }
}

impl RwLock {
    /// A read-write lock on `path` through `client`; creates nothing yet.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let lock = zk_recipes::lock::RwLock::new(&client, "/locks/catalog");
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
        let both = compat.patterns(&[CURATOR_READ, CURATOR_WRITE], &[KAZOO_READ, KAZOO_WRITE]);
        let writers = compat.patterns(&[CURATOR_WRITE], &[KAZOO_WRITE]);
        let read_name = compat.node_name(CURATOR_READ, KAZOO_READ);
        let write_name = compat.node_name(CURATOR_WRITE, KAZOO_WRITE);
        let read = handle::spec(path, compat, read_name, both.clone(), data.clone());
        let write = handle::spec(path, compat, write_name, both, data);
        Self {
            read: Handle::new(client, read, Arc::new(ReadRule { writers }), policy),
            write: Handle::new(client, write, Arc::new(MaxLeases(1)), policy),
            compat,
        }
    }

    /// The data of our contender nodes (the participant id). Default empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let lock = zk_recipes::lock::RwLock::new(&client, "/l").data("reader-3");
    /// # drop(lock); }
    /// ```
    #[must_use]
    pub fn data(self, data: impl Into<Bytes>) -> Self {
        let (client, path) = (self.read.client().clone(), self.read.spec().path.clone());
        Self::with(&client, &path, self.compat, data.into(), self.read.policy())
    }

    /// Whose node names to write and which contenders to respect. Default
    /// [`Compat::Curator`]. In kazoo mode readers are `{hex}__rlock__{seq}` and writers
    /// `{hex}__lock__{seq}`, as kazoo's `ReadLock` and `WriteLock`.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::lock::{Compat, RwLock};
    /// let lock = RwLock::new(&client, "/l").compat(Compat::Kazoo);
    /// # drop(lock); }
    /// ```
    #[must_use]
    pub fn compat(self, compat: Compat) -> Self {
        let (client, path) = (self.read.client().clone(), self.read.spec().path.clone());
        let data = self.read.spec().data.clone();
        Self::with(&client, &path, compat, data, self.read.policy())
    }

    /// When a holder must consider the lock lost. Default [`LossPolicy::standard`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::state::LossPolicy;
    /// let lock = zk_recipes::lock::RwLock::new(&client, "/l").loss_policy(LossPolicy::session());
    /// # drop(lock); }
    /// ```
    #[must_use]
    pub fn loss_policy(self, policy: LossPolicy) -> Self {
        let (client, path) = (self.read.client().clone(), self.read.spec().path.clone());
        let data = self.read.spec().data.clone();
        Self::with(&client, &path, self.compat, data, policy)
    }

    /// Waits for a read share of the lock.
    ///
    /// # Errors
    ///
    /// As [`Mutex::acquire`](super::Mutex::acquire).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::RwLock) -> zk_recipes::Result<()> {
    /// let read = lock.read().await?;
    /// read.release().await
    /// # }
    /// ```
    pub async fn read(&self) -> Result<LockGuard> {
        self.read_with(Wait::Forever).await?.ok_or_else(no_decision)
    }

    /// Waits at most `timeout` for a read share.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] at the deadline; otherwise as [`read`](Self::read).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::RwLock) -> zk_recipes::Result<()> {
    /// let read = lock.read_timeout(std::time::Duration::from_secs(1)).await?;
    /// # drop(read); Ok(()) }
    /// ```
    pub async fn read_timeout(&self, timeout: Duration) -> Result<LockGuard> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.read_with(Wait::Until(deadline))
            .await?
            .ok_or_else(no_decision)
    }

    /// A read share if no writer is ahead, without waiting.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::RwLock) -> zk_recipes::Result<()> {
    /// let maybe = lock.try_read().await?;
    /// # drop(maybe); Ok(()) }
    /// ```
    pub async fn try_read(&self) -> Result<Option<LockGuard>> {
        self.read_with(Wait::No).await
    }

    /// Waits for the write lock.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when this handle holds only a read share (an upgrade
    /// would wait for itself); otherwise as [`Mutex::acquire`](super::Mutex::acquire).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::RwLock) -> zk_recipes::Result<()> {
    /// let write = lock.write().await?;
    /// write.release().await
    /// # }
    /// ```
    pub async fn write(&self) -> Result<LockGuard> {
        self.write_with(Wait::Forever)
            .await?
            .ok_or_else(no_decision)
    }

    /// Waits at most `timeout` for the write lock.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] at the deadline; otherwise as [`write`](Self::write).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::RwLock) -> zk_recipes::Result<()> {
    /// let write = lock.write_timeout(std::time::Duration::from_secs(1)).await?;
    /// # drop(write); Ok(()) }
    /// ```
    pub async fn write_timeout(&self, timeout: Duration) -> Result<LockGuard> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.write_with(Wait::Until(deadline))
            .await?
            .ok_or_else(no_decision)
    }

    /// The write lock if nobody holds or waits ahead, without waiting.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::RwLock) -> zk_recipes::Result<()> {
    /// let maybe = lock.try_write().await?;
    /// # drop(maybe); Ok(()) }
    /// ```
    pub async fn try_write(&self) -> Result<Option<LockGuard>> {
        self.write_with(Wait::No).await
    }

    async fn write_with(&self, wait: Wait) -> Result<Option<LockGuard>> {
        if self.read.hold().is_some() && self.write.hold().is_none() {
            return Err(Error::InvalidArgument(format!(
                "{}: a read share held through this handle cannot be upgraded to the write lock; release it first",
                self.read.spec().path
            )));
        }
        self.write.acquire(wait).await
    }

    async fn read_with(&self, wait: Wait) -> Result<Option<LockGuard>> {
        let Some(write) = self.write.hold() else {
            return self.read.acquire(wait).await;
        };
        if self.read.hold().is_some() {
            return self.read.acquire(wait).await;
        }
        // Downgrade: a plain ephemeral reader with the writer's sequence keeps the
        // writer's place in the queue.
        let spec = self.read.spec();
        let write_name = write.node.rsplit('/').next().unwrap_or_default();
        let seq = write_name
            .rfind(self.write.spec().node_name)
            .map(|i| &write_name[i + self.write.spec().node_name.len()..])
            .unwrap_or_default();
        let name = format!("{}{}{seq}", self.compat.new_prefix(), spec.node_name);
        let node = join(&spec.path, &name);
        let options = CreateOptions::new(CreateMode::Ephemeral);
        let client = self.read.client();
        let (node, stat) = client
            .create(&node, &spec.data, &options)
            .await
            .map_err(zk)?;
        Ok(Some(self.read.adopt(
            Arc::from(node.as_str()),
            stat.czxid,
            stat.version,
        )))
    }

    /// The contenders in grant order, readers and writers, with their data; `holds` marks
    /// those that hold the lock now (the readers before the first writer, or that writer).
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of reading the path's children and data.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::RwLock) -> zk_recipes::Result<()> {
    /// let holders = lock.participants().await?.into_iter().filter(|p| p.holds).count();
    /// # let _ = holders; Ok(()) }
    /// ```
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        let writers = self.compat.patterns(&[CURATOR_WRITE], &[KAZOO_WRITE]);
        self.read
            .participants(move |contenders, index| {
                let is_writer = |c: &Contender| sequence_of(&c.name, &writers).is_some();
                match contenders.iter().position(is_writer) {
                    Some(first) => index < first || (index == first && index == 0),
                    None => true,
                }
            })
            .await
    }

    /// Counters of the read and the write side.
    ///
    /// ```no_run
    /// # fn _example(lock: zk_recipes::lock::RwLock) {
    /// let (read, write) = lock.stats();
    /// println!("{} reads, {} writes", read.acquisitions, write.acquisitions);
    /// # }
    /// ```
    pub fn stats(&self) -> (LockStats, LockStats) {
        (self.read.stats(), self.write.stats())
    }
}
