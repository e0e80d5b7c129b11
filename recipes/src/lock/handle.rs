//! [`Handle`]: one flavour of a lock on one path (a mutex, the read or the write side of a
//! read-write lock) through one client: its contest, its re-entrant hold, its counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use tracing::Instrument as _;
use zk_client::{Client, Error as ZkError};

use super::contest::{self, Rule, Spec, Wait};
use super::guard::{Holder, LockGuard, delete_node};
use super::names::contenders;
use crate::error::{Error, Result, zk};
use crate::protected::join;
use crate::state::LossPolicy;

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
    /// Whether it holds the lock (for a read-write lock: the lock or a read share of it).
    pub holds: bool,
}

/// One flavour of a lock through one client; clones share the hold.
#[derive(Clone)]
pub(crate) struct Handle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("path", &self.inner.spec.path)
            .field("node_name", &self.inner.spec.node_name)
            .finish_non_exhaustive()
    }
}

struct Inner {
    client: Client,
    spec: Spec,
    rule: Arc<dyn Rule>,
    policy: LossPolicy,
    /// The hold of this handle, shared by its guards.
    hold: StdMutex<Option<Hold>>,
    /// One acquire at a time per handle, so re-entrant acquires find the hold.
    acquiring: tokio::sync::Mutex<()>,
    acquisitions: AtomicU64,
    waited_micros: AtomicU64,
    timeouts: AtomicU64,
}

/// A hold: our node and how many guards of it are alive.
#[derive(Clone, Debug)]
pub(crate) struct Hold {
    pub(crate) node: Arc<str>,
    pub(crate) czxid: i64,
    pub(crate) version: i32,
    guards: usize,
}

impl Handle {
    pub(crate) fn new(
        client: &Client,
        spec: Spec,
        rule: Arc<dyn Rule>,
        policy: LossPolicy,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: client.clone(),
                spec,
                rule,
                policy,
                hold: StdMutex::new(None),
                acquiring: tokio::sync::Mutex::new(()),
                acquisitions: AtomicU64::new(0),
                waited_micros: AtomicU64::new(0),
                timeouts: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn spec(&self) -> &Spec {
        &self.inner.spec
    }

    pub(crate) fn policy(&self) -> LossPolicy {
        self.inner.policy
    }

    /// The hold, if this handle has one.
    pub(crate) fn hold(&self) -> Option<Hold> {
        lock_hold(&self.inner.hold).clone()
    }

    /// Acquires: a guard of the hold this handle has, or a contest.
    pub(crate) async fn acquire(&self, wait: Wait) -> Result<Option<LockGuard>> {
        let inner = &self.inner;
        let span = tracing::debug_span!("lock.acquire", path = %inner.spec.path, kind = inner.spec.node_name);
        let result = async move {
            let _one_at_a_time = inner.acquiring.lock().await;
            if let Some(guard) = self.reenter() {
                return Ok(Some(guard));
            }
            let started = Instant::now();
            let won = contest::run(&inner.client, &inner.spec, &*inner.rule, wait).await?;
            let Some(won) = won else {
                return Ok(None);
            };
            let waited = started.elapsed();
            inner.acquisitions.fetch_add(1, Ordering::Relaxed);
            let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
            inner.waited_micros.fetch_add(micros, Ordering::Relaxed);
            tracing::debug!(node = %won.node, ?waited, token = won.stat.czxid, "acquired");
            Ok(Some(self.adopt(
                Arc::from(won.node.as_str()),
                won.stat.czxid,
                won.stat.version,
            )))
        }
        .instrument(span)
        .await;
        if matches!(result, Err(Error::Timeout(_))) {
            inner.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Makes `node` this handle's hold, and its first guard.
    pub(crate) fn adopt(&self, node: Arc<str>, czxid: i64, version: i32) -> LockGuard {
        *lock_hold(&self.inner.hold) = Some(Hold {
            node: node.clone(),
            czxid,
            version,
            guards: 1,
        });
        self.guard(node, czxid, version)
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

    /// The contenders in grant order, with their data; `holds` as `holds(index, name)`.
    pub(crate) async fn participants(
        &self,
        holds: impl Fn(&[super::names::Contender], usize) -> bool,
    ) -> Result<Vec<Participant>> {
        let inner = &self.inner;
        read_participants(&inner.client, &inner.spec.path, &inner.spec.patterns, holds).await
    }

    pub(crate) fn stats(&self) -> LockStats {
        let inner = &self.inner;
        LockStats {
            acquisitions: inner.acquisitions.load(Ordering::Relaxed),
            waited: Duration::from_micros(inner.waited_micros.load(Ordering::Relaxed)),
            timeouts: inner.timeouts.load(Ordering::Relaxed),
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

/// The contenders under `path` that match `patterns`, in grant order, with their data (read
/// pipelined; a node gone meanwhile is skipped); `holds` as `holds(contenders, index)`.
pub(crate) async fn read_participants(
    client: &Client,
    path: &str,
    patterns: &[&str],
    holds: impl Fn(&[super::names::Contender], usize) -> bool,
) -> Result<Vec<Participant>> {
    let children = match client.get_children(path).await {
        Ok((children, _)) => children,
        Err(ZkError::NoNode(_)) => return Ok(Vec::new()),
        Err(e) => return Err(zk(e)),
    };
    let contenders = contenders(&children, patterns);
    // Pipelined: every read is sent before the first is awaited.
    let reads: Vec<_> = contenders
        .iter()
        .map(|c| client.get_data(&join(path, &c.name)))
        .collect();
    let mut participants = Vec::with_capacity(reads.len());
    for (index, (contender, read)) in contenders.iter().zip(reads).enumerate() {
        match read.await {
            Ok((data, _)) => participants.push(Participant {
                node: join(path, &contender.name),
                data,
                holds: holds(&contenders, index),
            }),
            Err(ZkError::NoNode(_)) => {}
            Err(e) => return Err(zk(e)),
        }
    }
    Ok(participants)
}

/// The hold, whatever a panicking holder of the std mutex left.
fn lock_hold(hold: &StdMutex<Option<Hold>>) -> std::sync::MutexGuard<'_, Option<Hold>> {
    hold.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A waiting acquire that ended without a guard (which only a non-waiting one can).
pub(crate) fn no_decision() -> Error {
    Error::InvalidArgument("the contest ended without a decision".to_owned())
}

/// The spec of a lock on `path`.
pub(crate) fn spec(
    path: &str,
    compat: super::Compat,
    node_name: &'static str,
    patterns: Vec<&'static str>,
    data: Bytes,
) -> Spec {
    Spec {
        path: path.to_owned(),
        compat,
        node_name,
        patterns,
        data,
    }
}
