//! [`Barrier`]: Curator's `DistributedBarrier`, kazoo's `Barrier`.

use std::time::Duration;

use zk_client::{Client, CreateOptions, Error as ZkError};

use super::by;
use crate::error::{Result, zk};
use crate::protected::{make_parents, wait_connected};

/// A barrier that stands while its node exists: one process [`set`](Self::set)s it,
/// others [`wait`](Self::wait) until someone [`remove`](Self::remove)s it. The node is
/// `<path>` itself, PERSISTENT, so a Curator `DistributedBarrier` or a kazoo `Barrier` on
/// the same path is the same barrier.
///
/// A `Barrier` is a cheap handle (clones share nothing but the path) and creates nothing
/// until [`set`](Self::set).
///
/// Waiting survives reconnects: every wake-up (the node's watch, a reconnect, any change of
/// the session state) reads the node again with a new watch, and only its absence ends the
/// wait (kazoo's `wait` does not handle connection loss; this one does).
///
/// ```no_run
/// use zk_recipes::barrier::Barrier;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let barrier = Barrier::new(&client, "/deploy/hold");
/// barrier.set().await?;
/// // elsewhere: barrier.wait().await?; returns once it is removed
/// barrier.remove().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Barrier {
    client: Client,
    path: String,
}

impl Barrier {
    /// A barrier on `path` through `client`; creates nothing.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let barrier = zk_recipes::barrier::Barrier::new(&client, "/deploy/hold");
    /// # drop(barrier); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self {
            client: client.clone(),
            path: path.to_owned(),
        }
    }

    /// The barrier's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::barrier::Barrier::new(&client, "/b").path(), "/b");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sets the barrier: creates its node (PERSISTENT, empty data), and the missing parents
    /// as containers, as Curator's `creatingParentContainersIfNeeded` does. A barrier that
    /// is already set is left as it is. Connection losses are waited out.
    ///
    /// Cancel safety: dropped before it returns, the node may or may not have been created.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`](crate::Error::SessionEnded) when the session ends; a
    /// ZooKeeper error that retrying cannot help ([`zk_client::Error::NoAuth`],
    /// [`zk_client::Error::InvalidPath`], [`zk_client::Error::NoChildrenForEphemerals`]).
    ///
    /// ```no_run
    /// # async fn _example(barrier: zk_recipes::barrier::Barrier) -> zk_recipes::Result<()> {
    /// barrier.set().await?;
    /// barrier.set().await?; // already set: fine
    /// # Ok(()) }
    /// ```
    pub async fn set(&self) -> Result<()> {
        let options = CreateOptions::persistent();
        loop {
            match self.client.create(&self.path, b"", &options).await {
                Ok(_) | Err(ZkError::NodeExists(_)) => return Ok(()),
                Err(ZkError::NoNode(_)) => {
                    if let Some(parent) = zk_client::proto::path::parent(&self.path) {
                        make_parents(&self.client, parent).await?;
                    }
                }
                Err(e) if e.is_connection_loss() => wait_connected(&self.client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Removes the barrier: deletes its node, and lets every waiter through. A barrier that
    /// is not set is left as it is. Connection losses are waited out.
    ///
    /// Cancel safety: dropped before it returns, the node may or may not have been deleted.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`](crate::Error::SessionEnded) when the session ends; a
    /// ZooKeeper error that retrying cannot help ([`zk_client::Error::NotEmpty`]: someone
    /// put children under the barrier; [`zk_client::Error::NoAuth`],
    /// [`zk_client::Error::InvalidPath`]).
    ///
    /// ```no_run
    /// # async fn _example(barrier: zk_recipes::barrier::Barrier) -> zk_recipes::Result<()> {
    /// barrier.remove().await?;
    /// barrier.remove().await?; // already removed: fine
    /// # Ok(()) }
    /// ```
    pub async fn remove(&self) -> Result<()> {
        loop {
            match self.client.delete(&self.path, None).await {
                Ok(()) | Err(ZkError::NoNode(_)) => return Ok(()),
                Err(e) if e.is_connection_loss() => wait_connected(&self.client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Whether the barrier is set now (its node exists). Creates nothing.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`](crate::Error::SessionEnded) when the session ends; the
    /// ZooKeeper errors of `exists` ([`zk_client::Error::InvalidPath`]). Connection
    /// losses are waited out.
    ///
    /// ```no_run
    /// # async fn _example(barrier: zk_recipes::barrier::Barrier) -> zk_recipes::Result<()> {
    /// if barrier.is_set().await? {
    ///     println!("held back");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn is_set(&self) -> Result<bool> {
        loop {
            match self.client.exists(&self.path).await {
                Ok(stat) => return Ok(stat.is_some()),
                Err(e) if e.is_connection_loss() => wait_connected(&self.client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Waits until the barrier is not set (its node does not exist); returns at once when
    /// it is not set now.
    ///
    /// Cancel safety: cancel-safe. It creates nothing; dropping it forgets its watch.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`](crate::Error::SessionEnded) when the session ends while
    /// waiting; a ZooKeeper error that retrying cannot help ([`zk_client::Error::NoAuth`],
    /// [`zk_client::Error::InvalidPath`]). Connection losses are waited out.
    ///
    /// ```no_run
    /// # async fn _example(barrier: zk_recipes::barrier::Barrier) -> zk_recipes::Result<()> {
    /// barrier.wait().await?;
    /// println!("go");
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> Result<()> {
        self.wait_while_set().await.map(|_| ())
    }

    /// Waits at most `timeout` until the barrier is not set: `Ok(true)` when it was removed
    /// (or never set), `Ok(false)` at the deadline.
    ///
    /// Cancel safety: cancel-safe, as [`wait`](Self::wait).
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait); the deadline is not an error.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn _example(barrier: zk_recipes::barrier::Barrier) -> zk_recipes::Result<()> {
    /// if !barrier.wait_timeout(Duration::from_secs(5)).await? {
    ///     println!("still held back after 5 s");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        by(Some(deadline), self.wait_while_set()).await
    }

    /// The wait: reads the node with a data watch (which, unlike an `exists` watch, leaves
    /// nothing on the server when the node is gone), and after any wake-up reads again.
    async fn wait_while_set(&self) -> Result<bool> {
        let client = &self.client;
        loop {
            // Taken before the read, so that no change of state after it is missed.
            let mut states = client.state_watcher();
            match client.get_data_and_watch(&self.path).await {
                Err(ZkError::NoNode(_)) => return Ok(true),
                Ok((_, _, changed)) => {
                    tracing::trace!(path = %self.path, "waiting on the barrier");
                    // Deleted, changed, or the session's state changed: read again.
                    tokio::select! {
                        _ = changed => {}
                        _ = states.changed() => {}
                    }
                }
                Err(e) if e.is_connection_loss() => wait_connected(client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }
}
