//! [`PersistentTtlNode`] (Curator's) and [`create_ttl`]: TTL nodes, which the server
//! deletes once they have gone unmodified and childless for their TTL.
//!
//! TTL nodes exist only on servers started with `extendedTypesEnabled=true` (ZooKeeper
//! 3.5.3 and later); other servers refuse them, and the error says so:
//! [`Error::Unsupported`] naming the setting.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch};
use tracing::Instrument as _;
use zk_client::{Client, CreateMode, CreateOptions, Error as ZkError, Stat};

use super::persistent_node::{NodeState, NodeStates, PersistentNode};
use crate::error::{Error, Result};

/// What turns TTL nodes on, as [`Error::Unsupported`] says it.
pub const TTL_REMEDY: &str = "turn them on with extendedTypesEnabled=true in the server's \
     zoo.cfg (the Java system property zookeeper.extendedTypesEnabled=true) and restart \
     it; TTL nodes need ZooKeeper 3.5.3 or later";

/// The error for a TTL create the server refused as unimplemented.
pub(crate) fn unsupported(source: ZkError) -> Error {
    Error::Unsupported {
        feature: "TTL nodes",
        remedy: TTL_REMEDY,
        source,
    }
}

/// Creates a TTL node (`PersistentWithTtl`, or `PersistentSequentialWithTtl` when
/// `sequential`) with `data`, making missing parents as containers, and returns its path
/// and Stat. The server deletes it once it has gone unmodified and childless for `ttl`.
///
/// # Errors
///
/// [`Error::Unsupported`] when the server has TTL nodes switched off (its message names
/// `extendedTypesEnabled`); [`Error::InvalidArgument`] for a zero `ttl`; the ZooKeeper
/// errors of the create (`NodeExists`, `BadArguments` for a TTL the server will not
/// take, `NoAuth`, the connection errors).
///
/// ```no_run
/// use std::time::Duration;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let (path, _) =
///     zk_recipes::node::create_ttl(&client, "/leases/job-7", b"host-a", Duration::from_secs(30), false)
///         .await?;
/// # let _ = path; Ok(()) }
/// ```
pub async fn create_ttl(
    client: &Client,
    path: &str,
    data: &[u8],
    ttl: Duration,
    sequential: bool,
) -> Result<(String, Stat)> {
    if ttl.is_zero() {
        return Err(Error::InvalidArgument("the ttl must be positive".into()));
    }
    let mode = if sequential {
        CreateMode::PersistentSequentialWithTtl
    } else {
        CreateMode::PersistentWithTtl
    };
    let options = CreateOptions::new(mode).ttl(ttl);
    let mut made_parents = false;
    loop {
        match client.create(path, data, &options).await {
            Ok(created) => return Ok(created),
            Err(ZkError::NoNode(_)) if !made_parents => {
                made_parents = true;
                if let Some(parent) = zk_client::proto::path::parent(path) {
                    if parent != "/" {
                        crate::protected::make_parents(client, parent).await?;
                    }
                }
            }
            Err(e) => return Err(super::driver::refused(e, mode)),
        }
    }
}

/// Curator's `PersistentTtlNode`: a TTL node at `<path>` kept alive while this process
/// runs, and left to expire when it stops. A [`PersistentNode`] of mode
/// `PersistentWithTtl` holds `<path>` (made again if it is deleted), and a child
/// `<path>/touch`, itself a TTL node, is set every `ttl / 2` (made when missing). While
/// the child lives the parent has a child and is not deleted; once this process stops
/// touching it, the child expires after `ttl` and then the parent, so the node outlives
/// its writer by about two TTLs (plus the server's check interval). Watches on `<path>`
/// do not fire for the touches.
///
/// [`close`](Self::close) stops the touches and leaves the node to expire, as Curator
/// does.
///
/// The server must have TTL nodes turned on: otherwise
/// [`wait_for_initial_create`](Self::wait_for_initial_create) fails with
/// [`Error::Unsupported`], naming `extendedTypesEnabled`.
///
/// ```no_run
/// use std::time::Duration;
/// use zk_recipes::node::PersistentTtlNode;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let node = PersistentTtlNode::new(&client, "/workers/host-a", Duration::from_secs(30))
///     .data("10.0.0.7");
/// node.start()?;
/// node.wait_for_initial_create(Duration::from_secs(10)).await?;
/// // ... the node stays while this process runs ...
/// node.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PersistentTtlNode {
    node: PersistentNode,
    ttl: Duration,
    child: String,
    /// Dropped or sent to stop the touches.
    stop: std::sync::Mutex<Option<oneshot::Sender<()>>>,
}

/// The child Curator touches: `touch`.
pub const TOUCH_CHILD: &str = "touch";

impl PersistentTtlNode {
    /// A TTL node at `path` with empty data. Creates nothing until
    /// [`start`](Self::start).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentTtlNode::new(&client, "/a", Duration::from_secs(10));
    /// # drop(node); }
    /// ```
    pub fn new(client: &Client, path: &str, ttl: Duration) -> Self {
        let node = PersistentNode::new(client, path)
            .mode(CreateMode::PersistentWithTtl)
            .ttl(ttl)
            .keep_on_close();
        Self {
            node,
            ttl,
            child: crate::protected::join(path, TOUCH_CHILD),
            stop: std::sync::Mutex::new(None),
        }
    }

    /// The node's data. Default empty.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentTtlNode::new(&client, "/a", Duration::from_secs(10))
    ///     .data("payload");
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.node = self.node.data(data);
        self
    }

    /// The TTL.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentTtlNode::new(&client, "/a", Duration::from_secs(10));
    /// assert_eq!(node.ttl(), Duration::from_secs(10));
    /// # }
    /// ```
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts keeping the node, and touching its child every `ttl / 2`.
    ///
    /// # Errors
    ///
    /// As [`PersistentNode::start`].
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentTtlNode) -> zk_recipes::Result<()> {
    /// node.start()?;
    /// # Ok(()) }
    /// ```
    pub fn start(&self) -> Result<()> {
        self.node.start()?;
        let (stop, stopped) = oneshot::channel();
        *super::persistent_node::lock(&self.stop) = Some(stop);
        let touch = touch(self.node.sessions(), self.child.clone(), self.ttl, stopped);
        let span = tracing::info_span!("persistent_ttl_node", child = %self.child);
        // `start` succeeded, so there is a runtime.
        tokio::spawn(touch.instrument(span));
        Ok(())
    }

    /// As [`PersistentNode::wait_for_initial_create`].
    ///
    /// # Errors
    ///
    /// As [`PersistentNode::wait_for_initial_create`]; [`Error::Unsupported`] when the
    /// server has TTL nodes switched off.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn _example(node: zk_recipes::node::PersistentTtlNode) -> zk_recipes::Result<()> {
    /// node.wait_for_initial_create(Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_initial_create(&self, timeout: Duration) -> Result<bool> {
        self.node.wait_for_initial_create(timeout).await
    }

    /// As [`PersistentNode::set_data`].
    ///
    /// # Errors
    ///
    /// As [`PersistentNode::set_data`].
    ///
    /// ```no_run
    /// # async fn _example(node: zk_recipes::node::PersistentTtlNode) -> zk_recipes::Result<()> {
    /// node.set_data("new").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_data(&self, data: impl Into<Bytes>) -> Result<()> {
        self.node.set_data(data).await
    }

    /// The node's data, as last given.
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentTtlNode) {
    /// println!("{:?}", node.get_data());
    /// # }
    /// ```
    pub fn get_data(&self) -> Bytes {
        self.node.get_data()
    }

    /// The node's path once made.
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentTtlNode) {
    /// println!("{:?}", node.actual_path());
    /// # }
    /// ```
    pub fn actual_path(&self) -> Option<String> {
        self.node.actual_path()
    }

    /// The node's state now.
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentTtlNode) {
    /// println!("{:?}", node.state());
    /// # }
    /// ```
    pub fn state(&self) -> NodeState {
        self.node.state()
    }

    /// The node's states from now on ([`NodeStates`]).
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentTtlNode) {
    /// let states = node.states();
    /// # drop(states); }
    /// ```
    pub fn states(&self) -> NodeStates {
        self.node.states()
    }

    /// Stops keeping and touching the node, and leaves it to expire (it is not deleted).
    /// Idempotent; dropping the node does the same.
    ///
    /// # Errors
    ///
    /// None in practice (the node is not deleted).
    ///
    /// ```no_run
    /// # async fn _example(node: zk_recipes::node::PersistentTtlNode) -> zk_recipes::Result<()> {
    /// node.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        if let Some(stop) = super::persistent_node::lock(&self.stop).take() {
            let _ = stop.send(());
        }
        self.node.close().await
    }
}

/// Touches `child` every `ttl / 2` until stopped: a setData, or a TTL create when it is
/// missing (nothing when the parent is: the node's task makes it again).
async fn touch(
    mut sessions: watch::Receiver<(Client, bool)>,
    child: String,
    ttl: Duration,
    mut stopped: oneshot::Receiver<()>,
) {
    let period = (ttl / 2).max(Duration::from_millis(1));
    let options = CreateOptions::new(CreateMode::PersistentWithTtl).ttl(ttl);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = &mut stopped => return,
            _ = ticks.tick() => {}
        }
        let client = sessions.borrow_and_update().0.clone();
        if !client.state().is_connected() {
            continue;
        }
        let touched = match client.set_data(&child, b"", None).await {
            Err(ZkError::NoNode(_)) => client.create(&child, b"", &options).await.map(drop),
            other => other.map(drop),
        };
        match touched {
            Ok(()) | Err(ZkError::NoNode(_) | ZkError::NodeExists(_)) => {}
            Err(e) => tracing::debug!(error = %e, "cannot touch the TTL node's child"),
        }
    }
}
