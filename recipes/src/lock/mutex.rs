//! [`Mutex`]: Curator's `InterProcessMutex` (and kazoo's `Lock` in kazoo mode).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use tracing::Instrument as _;
use zk_client::{Client, Error as ZkError};

use super::contest::{self, MaxLeases, Spec, Wait};
use super::guard::{Holder, LockGuard, delete_node};
use super::names::{Compat, contenders};
use crate::error::{Error, Result, zk};
use crate::protected::join;
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
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    spec: Spec,
    policy: LossPolicy,
    /// The hold of this handle, shared by its guards.
    hold: StdMutex<Option<Hold>>,
    /// One acquire at a time per handle, so re-entrant acquires find the hold.
    acquiring: tokio::sync::Mutex<()>,
    stats: Counters,
}

#[derive(Debug)]
struct Hold {
    node: Arc<str>,
    czxid: i64,
    version: i32,
    guards: usize,
}

#[derive(Debug, Default)]
struct Counters {
    acquisitions: AtomicU64,
    waited_micros: AtomicU64,
    timeouts: AtomicU64,
}

/// Counters of a lock handle, for metrics.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct LockStats {
    /// Grants from the server (re-entrant acquires not counted).
    pub acquisitions: u64,
    /// Time spent waiting for those grants, in total.
    pub waited: Duration,
    /// Acquires that ended at their deadline.
    pub timeouts: u64,
}

/// A participant of a lock: a contender node, its data (the participant id), and whether
/// it holds the lock.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct Participant {
    /// The contender node (a client path).
    pub node: String,
    /// Its data: the participant id, when the contender set one.
    pub data: Bytes,
    /// Whether it holds the lock.
    pub holds: bool,
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
        let spec = Spec {
            path: path.to_owned(),
            compat,
            node_name: compat.node_name("lock-", "__lock__"),
            patterns: compat.patterns(&["lock-"], &["__lock__"]),
            data,
        };
        Self {
            inner: Arc::new(Inner {
                client: client.clone(),
                spec,
                policy,
                hold: StdMutex::new(None),
                acquiring: tokio::sync::Mutex::new(()),
                stats: Counters::default(),
            }),
        }
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
        let spec = &self.inner.spec;
        Self::with(
            &self.inner.client,
            &spec.path,
            spec.compat,
            data.into(),
            self.inner.policy,
        )
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
        let spec = &self.inner.spec;
        Self::with(
            &self.inner.client,
            &spec.path,
            compat,
            spec.data.clone(),
            self.inner.policy,
        )
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
        let spec = &self.inner.spec;
        Self::with(
            &self.inner.client,
            &spec.path,
            spec.compat,
            spec.data.clone(),
            policy,
        )
    }

    /// The lock's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::lock::Mutex::new(&client, "/l").path(), "/l");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.inner.spec.path
    }

    /// Waits until the lock is ours.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`] when the session ends while waiting; a ZooKeeper error that
    /// retrying cannot help (no permission on the path, an invalid path). Connection losses
    /// are waited out.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// guard.release().await
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<LockGuard> {
        match self.acquire_with(Wait::Forever).await? {
            Some(guard) => Ok(guard),
            None => unreachable_none(),
        }
    }

    /// Waits at most `timeout` for the lock.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] at the deadline (our node is deleted); otherwise as
    /// [`acquire`](Self::acquire).
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
        let result = self.acquire_with(Wait::Until(deadline)).await;
        if matches!(result, Err(Error::Timeout(_))) {
            self.inner.stats.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        match result? {
            Some(guard) => Ok(guard),
            None => unreachable_none(),
        }
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
        self.acquire_with(Wait::No).await
    }

    async fn acquire_with(&self, wait: Wait) -> Result<Option<LockGuard>> {
        let inner = &self.inner;
        let span = tracing::debug_span!("lock.acquire", path = %inner.spec.path);
        async move {
            let _one_at_a_time = inner.acquiring.lock().await;
            if let Some(guard) = self.reenter() {
                return Ok(Some(guard));
            }
            let started = Instant::now();
            let rule = MaxLeases(1);
            let Some(won) = contest::run(&inner.client, &inner.spec, &rule, wait).await? else {
                return Ok(None);
            };
            let waited = started.elapsed();
            inner.stats.acquisitions.fetch_add(1, Ordering::Relaxed);
            inner.stats.waited_micros.fetch_add(
                u64::try_from(waited.as_micros()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            tracing::debug!(node = %won.node, ?waited, token = won.stat.czxid, "acquired");
            let node: Arc<str> = Arc::from(won.node.as_str());
            let hold = Hold {
                node: node.clone(),
                czxid: won.stat.czxid,
                version: won.stat.version,
                guards: 1,
            };
            *lock_hold(&inner.hold) = Some(hold);
            Ok(Some(self.guard(node, won.stat.czxid, won.stat.version)))
        }
        .instrument(span)
        .await
    }

    /// A guard of the hold this handle already has, if it has one.
    fn reenter(&self) -> Option<LockGuard> {
        let mut hold = lock_hold(&self.inner.hold);
        let hold = hold.as_mut()?;
        hold.guards += 1;
        let (node, czxid, version) = (hold.node.clone(), hold.czxid, hold.version);
        Some(self.guard(node, czxid, version))
    }

    fn guard(&self, node: Arc<str>, czxid: i64, version: i32) -> LockGuard {
        let holder: Arc<dyn Holder> = self.inner.clone();
        LockGuard::new(
            self.inner.client.clone(),
            node,
            czxid,
            version,
            self.inner.policy,
            holder,
        )
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
        lock_hold(&self.inner.hold).is_some()
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
        let inner = &self.inner;
        let children = match inner.client.get_children(&inner.spec.path).await {
            Ok((children, _)) => children,
            Err(ZkError::NoNode(_)) => return Ok(Vec::new()),
            Err(e) => return Err(zk(e)),
        };
        let contenders = contenders(&children, &inner.spec.patterns);
        // Pipelined: every read is sent before the first is awaited.
        let reads: Vec<_> = contenders
            .iter()
            .map(|c| inner.client.get_data(&join(&inner.spec.path, &c.name)))
            .collect();
        let mut participants = Vec::with_capacity(reads.len());
        for (contender, read) in contenders.iter().zip(reads) {
            match read.await {
                Ok((data, _)) => participants.push(Participant {
                    node: join(&inner.spec.path, &contender.name),
                    data,
                    holds: participants.is_empty(),
                }),
                Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        Ok(participants)
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
        let s = &self.inner.stats;
        LockStats {
            acquisitions: s.acquisitions.load(Ordering::Relaxed),
            waited: Duration::from_micros(s.waited_micros.load(Ordering::Relaxed)),
            timeouts: s.timeouts.load(Ordering::Relaxed),
        }
    }
}

impl Holder for Inner {
    fn let_go(&self, node: &str, wait: bool) -> BoxFuture<'static, Result<()>> {
        let last = {
            let mut hold = lock_hold(&self.hold);
            match hold.as_mut() {
                Some(h) if &*h.node == node && h.guards > 1 => {
                    h.guards -= 1;
                    false
                }
                Some(h) if &*h.node == node => {
                    *hold = None;
                    true
                }
                _ => false,
            }
        };
        if !last {
            return futures::future::ready(Ok(())).boxed();
        }
        if wait {
            let (client, node) = (self.client.clone(), node.to_owned());
            async move { delete_node(&client, &node).await }.boxed()
        } else {
            let _ = self.client.delete_in_background(node, None);
            futures::future::ready(Ok(())).boxed()
        }
    }
}

/// The hold, whatever a panicking holder of the std mutex left.
fn lock_hold(hold: &StdMutex<Option<Hold>>) -> std::sync::MutexGuard<'_, Option<Hold>> {
    hold.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waiting acquires always end with a guard or an error.
fn unreachable_none() -> Result<LockGuard> {
    Err(Error::InvalidArgument(
        "the contest ended without a decision".to_owned(),
    ))
}
