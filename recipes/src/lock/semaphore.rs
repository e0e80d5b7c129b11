//! [`Semaphore`]: Curator's `InterProcessSemaphoreV2`, and [`SemaphoreMutex`] (one lease,
//! not re-entrant), with Curator's layout: an internal mutex at `<path>/locks` and leases
//! `<path>/leases/_c_{uuid}-lease-{seq}`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use zk_client::{Client, Error as ZkError};

use super::guard::{Holder, LockGuard, delete_node};
use super::mutex::Mutex;
use crate::error::{Error, Result, zk};
use crate::protected::{self, join, wait_connected};
use crate::state::LossPolicy;

/// Where the number of leases comes from.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum MaxLeases {
    /// A number every participant agrees on (ZooKeeper does not store it).
    Fixed(u32),
    /// Read from a shared counter node (Curator's `SharedCount`: a 4-byte big-endian
    /// integer), and followed as it changes.
    Counter(String),
}

/// A distributed counting semaphore: at most N leases are held at once.
///
/// Acquiring takes the internal mutex (so waiters queue on it, watching a predecessor each,
/// not the leases), creates a lease node, and waits until the leases number at most N;
/// only the mutex holder watches the leases. Whichever way an acquire ends other than with
/// a lease (a deadline, an error, the future dropped), the lease node goes, and the mutex
/// is always given back (CURATOR-315, CURATOR-462). Curator's `InterProcessSemaphoreV2`
/// and this one share leases on the same path.
///
/// ```no_run
/// use zk_recipes::lock::Semaphore;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let slots = Semaphore::new(&client, "/semaphores/exports", 3);
/// let lease = slots.acquire().await?;
/// // at most three processes are here at once
/// lease.release().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Semaphore {
    client: Client,
    path: String,
    max: MaxLeases,
    data: Bytes,
    policy: LossPolicy,
}

/// A lease's holder: the last guard deletes the lease node.
struct LeaseHolder {
    client: Client,
}

impl Holder for LeaseHolder {
    fn let_go(&self, node: &str, wait: bool) -> BoxFuture<'static, Result<()>> {
        if wait {
            let (client, node) = (self.client.clone(), node.to_owned());
            async move { delete_node(&client, &node).await }.boxed()
        } else {
            let _ = self.client.delete_in_background(node, None);
            futures::future::ready(Ok(())).boxed()
        }
    }
}

/// The lease node while an acquire runs: deleted unless the acquire succeeds.
struct PendingLease<'a> {
    client: &'a Client,
    parent: String,
    prefix: String,
    node: Option<String>,
    granted: bool,
}

impl Drop for PendingLease<'_> {
    fn drop(&mut self) {
        if !self.granted {
            protected::forget(
                self.client,
                &self.parent,
                &self.prefix,
                self.node.as_deref(),
            );
        }
    }
}

impl Semaphore {
    /// A semaphore of `max_leases` leases on `path`; creates nothing yet.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let slots = zk_recipes::lock::Semaphore::new(&client, "/semaphores/exports", 3);
    /// # drop(slots); }
    /// ```
    pub fn new(client: &Client, path: &str, max_leases: u32) -> Self {
        Self::with_max(client, path, MaxLeases::Fixed(max_leases))
    }

    /// A semaphore whose number of leases is read from `max_leases`.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::lock::{MaxLeases, Semaphore};
    /// let slots = Semaphore::with_max(&client, "/s", MaxLeases::Counter("/s-max".into()));
    /// # drop(slots); }
    /// ```
    pub fn with_max(client: &Client, path: &str, max_leases: MaxLeases) -> Self {
        Self {
            client: client.clone(),
            path: path.to_owned(),
            max: max_leases,
            data: Bytes::new(),
            policy: LossPolicy::default(),
        }
    }

    /// The data of our lease node (the participant id). Default empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let slots = zk_recipes::lock::Semaphore::new(&client, "/s", 3).data("exporter-2");
    /// # drop(slots); }
    /// ```
    #[must_use]
    pub fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.data = data.into();
        self
    }

    /// When a lease holder must consider its lease lost. Default [`LossPolicy::standard`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::state::LossPolicy;
    /// let slots = zk_recipes::lock::Semaphore::new(&client, "/s", 3).loss_policy(LossPolicy::session());
    /// # drop(slots); }
    /// ```
    #[must_use]
    pub fn loss_policy(mut self, policy: LossPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Waits for a lease.
    ///
    /// # Errors
    ///
    /// As [`Mutex::acquire`]; [`Error::InvalidArgument`] when a counter node holds no
    /// 4-byte count.
    ///
    /// ```no_run
    /// # async fn _example(s: zk_recipes::lock::Semaphore) -> zk_recipes::Result<()> {
    /// let lease = s.acquire().await?;
    /// lease.release().await
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<LockGuard> {
        self.acquire_with(None, true)
            .await?
            .ok_or_else(super::handle::no_decision)
    }

    /// Waits at most `timeout` for a lease.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] at the deadline (nothing is left behind); otherwise as
    /// [`acquire`](Self::acquire).
    ///
    /// ```no_run
    /// # async fn _example(s: zk_recipes::lock::Semaphore) -> zk_recipes::Result<()> {
    /// let lease = s.acquire_timeout(std::time::Duration::from_secs(1)).await?;
    /// # drop(lease); Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.acquire_with(Some(deadline), true)
            .await?
            .ok_or_else(super::handle::no_decision)
    }

    /// A lease if one is free now, without waiting for one (the internal mutex is still
    /// waited for, briefly).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// ```no_run
    /// # async fn _example(s: zk_recipes::lock::Semaphore) -> zk_recipes::Result<()> {
    /// if let Some(lease) = s.try_acquire().await? {
    ///     lease.release().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn try_acquire(&self) -> Result<Option<LockGuard>> {
        self.acquire_with(None, false).await
    }

    async fn acquire_with(
        &self,
        deadline: Option<tokio::time::Instant>,
        wait: bool,
    ) -> Result<Option<LockGuard>> {
        let started = Instant::now();
        let work = self.acquire_lease(wait);
        match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, work).await {
                Ok(result) => result,
                Err(_) => Err(Error::Timeout(started.elapsed())),
            },
            None => work.await,
        }
    }

    async fn acquire_lease(&self, wait: bool) -> Result<Option<LockGuard>> {
        let lock = Mutex::new(&self.client, &join(&self.path, "locks")).data(self.data.clone());
        let mutex = lock.acquire().await?;
        let result = self.lease_under_lock(wait).await;
        // The internal mutex is given back whatever happened (dropping releases it too).
        let _ = mutex.release().await;
        result
    }

    async fn lease_under_lock(&self, wait: bool) -> Result<Option<LockGuard>> {
        let client = &self.client;
        let leases = join(&self.path, "leases");
        let mut pending = PendingLease {
            client,
            parent: leases.clone(),
            prefix: protected::new_prefix(),
            node: None,
            granted: false,
        };
        loop {
            let created = match &pending.node {
                Some(_) => None,
                None => {
                    let created = protected::create(
                        client,
                        &leases,
                        &pending.prefix,
                        "lease-",
                        &self.data,
                        false,
                    )
                    .await?;
                    pending.node = Some(created.path.clone());
                    Some(created.stat)
                }
            };
            let node = pending.node.clone().unwrap_or_default();
            let name = node.rsplit('/').next().unwrap_or_default().to_owned();
            let mut states = client.state_watcher();
            let (children, _, changed) = match client.get_children_and_watch(&leases).await {
                Ok(read) => read,
                Err(e) if e.is_connection_loss() => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(zk(e)),
            };
            if !children.contains(&name) {
                // Our lease went (CURATOR-315): make it again.
                pending.node = None;
                continue;
            }
            let (max, counter_changed) = self.max_leases().await?;
            if children.len() <= max as usize {
                let stat = match created {
                    Some(stat) => stat,
                    None => match client.exists(&node).await.map_err(zk)? {
                        Some(stat) => stat,
                        None => {
                            pending.node = None;
                            continue;
                        }
                    },
                };
                pending.granted = true;
                let holder: Arc<dyn Holder> = Arc::new(LeaseHolder {
                    client: client.clone(),
                });
                let guard = LockGuard::new(
                    client.clone(),
                    Arc::from(node.as_str()),
                    stat.czxid,
                    stat.version,
                    self.policy,
                    holder,
                );
                return Ok(Some(guard));
            }
            if !wait {
                return Ok(None);
            }
            tokio::select! {
                _ = changed => {}
                _ = states.changed() => {}
                () = async {
                    match counter_changed {
                        Some(w) => { let _ = w.await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
        }
    }

    /// The number of leases, and a watch of the counter node when it comes from one.
    async fn max_leases(&self) -> Result<(u32, Option<zk_client::OneshotWatcher>)> {
        match &self.max {
            MaxLeases::Fixed(n) => Ok((*n, None)),
            MaxLeases::Counter(path) => match self.client.get_data_and_watch(path).await {
                Ok((data, _, watcher)) => {
                    let bytes: [u8; 4] = data[..].try_into().map_err(|_| {
                        Error::InvalidArgument(format!(
                            "{path}: a lease count is a 4-byte big-endian integer, found {} bytes",
                            data.len()
                        ))
                    })?;
                    let n = i32::from_be_bytes(bytes).max(0).unsigned_abs();
                    Ok((n, Some(watcher)))
                }
                Err(ZkError::NoNode(_)) => Err(Error::InvalidArgument(format!(
                    "{path}: the lease count node does not exist"
                ))),
                Err(e) => Err(zk(e)),
            },
        }
    }

    /// The lease nodes held now, with their data.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of reading them.
    ///
    /// ```no_run
    /// # async fn _example(s: zk_recipes::lock::Semaphore) -> zk_recipes::Result<()> {
    /// println!("{} leases out", s.leases().await?.len());
    /// # Ok(()) }
    /// ```
    pub async fn leases(&self) -> Result<Vec<(String, Bytes)>> {
        let leases = join(&self.path, "leases");
        let children = match self.client.get_children(&leases).await {
            Ok((children, _)) => children,
            Err(ZkError::NoNode(_)) => return Ok(Vec::new()),
            Err(e) => return Err(zk(e)),
        };
        let reads: Vec<_> = children
            .iter()
            .map(|c| (join(&leases, c), self.client.get_data(&join(&leases, c))))
            .collect();
        let mut out = Vec::new();
        for (node, read) in reads {
            match read.await {
                Ok((data, _)) => out.push((node, data)),
                Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        Ok(out)
    }
}

/// Curator's `InterProcessSemaphoreMutex`: a [`Semaphore`] of one lease. Not re-entrant
/// (a second acquire through the same handle waits for the first lease), and a lease can
/// be released from any task.
///
/// ```no_run
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let lock = zk_recipes::lock::SemaphoreMutex::new(&client, "/locks/jobs");
/// let lease = lock.acquire().await?;
/// lease.release().await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SemaphoreMutex(Semaphore);

impl SemaphoreMutex {
    /// A semaphore mutex on `path`; creates nothing yet.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let lock = zk_recipes::lock::SemaphoreMutex::new(&client, "/locks/jobs");
    /// # drop(lock); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self(Semaphore::new(client, path, 1))
    }

    /// Waits for the lease.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::acquire`].
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::SemaphoreMutex) -> zk_recipes::Result<()> {
    /// let lease = lock.acquire().await?;
    /// # drop(lease); Ok(()) }
    /// ```
    pub async fn acquire(&self) -> Result<LockGuard> {
        self.0.acquire().await
    }

    /// Waits at most `timeout` for the lease.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::acquire_timeout`].
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::SemaphoreMutex) -> zk_recipes::Result<()> {
    /// let lease = lock.acquire_timeout(std::time::Duration::from_secs(1)).await?;
    /// # drop(lease); Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard> {
        self.0.acquire_timeout(timeout).await
    }

    /// The lease if it is free, without waiting for it.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire`].
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::SemaphoreMutex) -> zk_recipes::Result<()> {
    /// let maybe = lock.try_acquire().await?;
    /// # drop(maybe); Ok(()) }
    /// ```
    pub async fn try_acquire(&self) -> Result<Option<LockGuard>> {
        self.0.try_acquire().await
    }
}
