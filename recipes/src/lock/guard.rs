//! [`LockGuard`]: a held lock, its fencing token, and the signal that it was lost.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use zk_client::{Client, Error as ZkError, EventType, MultiBuilder};

use crate::error::{Result, zk};
use crate::protected::wait_connected;
use crate::state::{ConnectionState, LossPolicy};

/// Why a held lock (or leadership, or anything a recipe holds) can no longer be trusted.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum LostReason {
    /// The connection was lost (the standard policy), beyond the grace period if one is
    /// set: the session may expire on the server meanwhile.
    Suspended,
    /// The session ended: expired, closed, or authentication failed.
    SessionEnded,
    /// Our lock node was deleted (by someone else, or an administrator).
    NodeDeleted,
    /// Someone asked for the lock ([`revoke`]): cooperative revocation, as Curator's
    /// `Revoker` does; release it.
    Revoked,
    /// This process gave it up: the recipe was closed, or its leader resigned or was
    /// interrupted.
    Closed,
}

impl fmt::Display for LostReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Suspended => "the connection was lost",
            Self::SessionEnded => "the session ended",
            Self::NodeDeleted => "the lock node was deleted",
            Self::Revoked => "the lock was revoked",
            Self::Closed => "it was closed or given up",
        })
    }
}

impl std::error::Error for LostReason {}

/// What a guard releases, shared by the guards of one re-entrant hold.
pub(crate) trait Holder: Send + Sync {
    /// One guard of the hold is done: the last one deletes the node (in the background
    /// when `wait` is false, else before returning).
    fn let_go(&self, node: &str, wait: bool) -> futures::future::BoxFuture<'static, Result<()>>;
}

/// A held lock: [`release`](Self::release) it, or drop it to release in the background.
///
/// It owns what it needs (a client handle, the node's path), so it can move to another
/// task. While it lives:
///
/// - [`fencing_token`](Self::fencing_token) is the czxid of our lock node, larger for
///   every later grant of the lock: give it to the resource you protect, which refuses
///   writes with a token smaller than the largest it has seen;
/// - [`fenced`](Self::fenced) starts a multi with a `check` of our lock node, so its writes
///   commit only while the lock is still ours;
/// - [`lost`](Self::lost) resolves when the lock can no longer be trusted.
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard {
    client: Client,
    node: Arc<str>,
    czxid: i64,
    version: i32,
    policy: LossPolicy,
    holder: Arc<dyn Holder>,
    acquired_at: Instant,
    released: bool,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("node", &self.node)
            .field("fencing_token", &self.czxid)
            .finish_non_exhaustive()
    }
}

impl LockGuard {
    pub(crate) fn new(
        client: Client,
        node: Arc<str>,
        czxid: i64,
        version: i32,
        policy: LossPolicy,
        holder: Arc<dyn Holder>,
    ) -> Self {
        Self {
            client,
            node,
            czxid,
            version,
            policy,
            holder,
            acquired_at: Instant::now(),
            released: false,
        }
    }

    /// Our lock node (a client path).
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// assert!(guard.node().contains("-lock-"));
    /// # Ok(()) }
    /// ```
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The fencing token: the czxid of our lock node. Every later grant of the same lock
    /// has a larger one.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// let token = guard.fencing_token();
    /// // storage.write_if_token_at_least(token, ...)
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn fencing_token(&self) -> i64 {
        self.czxid
    }

    /// A multi that starts with a `check` of our lock node: add the writes, and they commit
    /// only if the lock is still ours (the node exists, unchanged). ZooKeeper's own data is
    /// then fenced without tokens.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// guard.fenced().set_data("/orders/next", b"42", None).commit().await?;
    /// # Ok(()) }
    /// ```
    pub fn fenced(&self) -> MultiBuilder {
        self.client.multi().check(&self.node, self.version)
    }

    /// Resolves when the lock can no longer be trusted, with the reason: the loss policy
    /// saw the connection or the session go, our node was deleted, or the lock was
    /// [revoked](revoke). Cancel-safe; call it as often as wanted, for example in a
    /// `select!` beside the work the lock protects.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// tokio::select! {
    ///     () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {} // the work
    ///     why = guard.lost() => eprintln!("stopped: {why}"),
    /// }
    /// guard.release().await
    /// # }
    /// ```
    pub async fn lost(&self) -> LostReason {
        tokio::select! {
            state = self.policy.lost(&self.client) => match state {
                ConnectionState::Suspended => LostReason::Suspended,
                _ => LostReason::SessionEnded,
            },
            why = node_gone_or_revoked(&self.client, &self.node) => why,
        }
    }

    /// How long the lock has been held.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// println!("held for {:?}", guard.held_for());
    /// # Ok(()) }
    /// ```
    pub fn held_for(&self) -> std::time::Duration {
        self.acquired_at.elapsed()
    }

    /// Releases the lock: deletes our node (the last guard of a re-entrant hold does).
    /// If the delete's reply is lost, the delete goes on in the background until the node
    /// is gone or the session ends, so a later acquire never waits behind our own node.
    ///
    /// # Errors
    ///
    /// Only when the client was closed or its session ended, when the node is gone with
    /// the session anyway.
    ///
    /// ```no_run
    /// # async fn _example(lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
    /// let guard = lock.acquire().await?;
    /// guard.release().await?;
    /// # Ok(()) }
    /// ```
    pub async fn release(mut self) -> Result<()> {
        self.released = true;
        tracing::debug!(node = %self.node, held_for = ?self.acquired_at.elapsed(), "releasing");
        self.holder.let_go(&self.node, true).await
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released {
            // The background path needs no runtime: the delete runs in the client's task.
            drop(self.holder.let_go(&self.node, false));
        }
    }
}

/// The data that revokes a lock, as Curator's `Revoker` writes it.
pub const REVOKE: &[u8] = b"__REVOKE__";

/// Asks the holder of `node` to release it: sets its data to `__REVOKE__`, which the
/// holder's [`LockGuard::lost`] reports as [`LostReason::Revoked`] (and Curator's
/// revocable locks as a revocation). Cooperative: the holder decides. A node already gone
/// is not an error.
///
/// # Errors
///
/// The ZooKeeper errors of the setData, but NoNode.
///
/// ```no_run
/// # async fn _example(client: zk_client::Client, lock: zk_recipes::lock::Mutex) -> zk_recipes::Result<()> {
/// if let Some(holder) = lock.holder().await? {
///     zk_recipes::lock::revoke(&client, &holder.node).await?;
/// }
/// # Ok(()) }
/// ```
pub async fn revoke(client: &Client, node: &str) -> Result<()> {
    match client.set_data(node, REVOKE, None).await {
        Ok(_) | Err(ZkError::NoNode(_)) => Ok(()),
        Err(e) => Err(zk(e)),
    }
}

/// Resolves once `node` is deleted or revoked (and never when it cannot be watched because
/// the session ended, which the loss policy reports).
async fn node_gone_or_revoked(client: &Client, node: &str) -> LostReason {
    loop {
        match client.get_data_and_watch(node).await {
            Ok((data, _, _)) if data[..] == *REVOKE => return LostReason::Revoked,
            Ok((_, _, watcher)) => match watcher.await {
                Ok(event) if event.event_type == EventType::NodeDeleted => {
                    return LostReason::NodeDeleted;
                }
                Ok(_) => {}
                Err(_) => std::future::pending::<()>().await,
            },
            Err(ZkError::NoNode(_)) => return LostReason::NodeDeleted,
            Err(e) if e.is_connection_loss() => {
                if wait_connected(client).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            Err(_) => std::future::pending::<()>().await,
        }
    }
}

/// Deletes `node` now, or hands it to a background delete when the reply is lost.
pub(crate) async fn delete_node(client: &Client, node: &str) -> Result<()> {
    match client.delete(node, None).await {
        Ok(()) | Err(ZkError::NoNode(_)) => Ok(()),
        Err(e) if e.is_connection_loss() => {
            client.delete_in_background(node, None).map_err(zk)?;
            Ok(())
        }
        Err(e) if e.is_terminal() => Err(zk(e)),
        Err(e) => {
            let _ = client.delete_in_background(node, None);
            Err(zk(e))
        }
    }
}
