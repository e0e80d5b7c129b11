//! [`PersistentNode`]: Curator's `PersistentNode`, a node kept in existence by a
//! background task, which adopts its own stale node instead of making a second one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use zk_client::{Acl, Client, CreateMode};

use super::driver::{self, Ctx};
use crate::error::{Error, Result};

/// Makes a new session once the current one has ended.
pub(crate) type Factory =
    Arc<dyn Fn() -> BoxFuture<'static, zk_client::Result<Client>> + Send + Sync>;

/// How the node is made.
#[derive(Clone)]
pub(crate) struct Config {
    /// The path as given: the node's path, or its prefix for protected and sequential ones.
    pub(crate) path: String,
    pub(crate) mode: CreateMode,
    pub(crate) protected: bool,
    pub(crate) acl: Vec<Acl>,
    pub(crate) ttl: Option<Duration>,
    /// The mode of missing parents: `Container` (Curator) or `Persistent` (kazoo).
    pub(crate) parents: CreateMode,
    /// Leave the node to the server on close (a TTL node).
    pub(crate) keep_on_close: bool,
    pub(crate) factory: Option<Factory>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("protected", &self.protected)
            .field("ttl", &self.ttl)
            .field("parents", &self.parents)
            .field("keep_on_close", &self.keep_on_close)
            .field("factory", &self.factory.is_some())
            .finish_non_exhaustive()
    }
}

/// The data the node should have, numbered so that a writer can wait for its own.
#[derive(Clone, Debug, Default)]
pub(crate) struct Data {
    pub(crate) generation: u64,
    pub(crate) bytes: Bytes,
}

/// What the task reports.
#[derive(Clone, Debug)]
pub(crate) struct Status {
    pub(crate) state: NodeState,
    /// The path of the last node we had, once there was one.
    pub(crate) path: Option<String>,
    /// The node existed at least once.
    pub(crate) created: bool,
    /// The newest data generation on the server.
    pub(crate) applied: u64,
    /// The newest data generation the server refused, and why.
    pub(crate) rejected: Option<(u64, Error)>,
}

/// What the node and its task share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) status: watch::Sender<Status>,
    subscribers: StdMutex<Vec<mpsc::UnboundedSender<NodeState>>>,
    /// The session the node lives on now, and whether another one may follow.
    pub(crate) session: watch::Sender<(Client, bool)>,
}

impl Shared {
    /// Reports `state` when it differs from the current one.
    pub(crate) fn publish(&self, state: NodeState) {
        let mut subscribers = lock(&self.subscribers);
        let changed = self.status.send_if_modified(|s| {
            if s.state == state {
                return false;
            }
            if let NodeState::Created { path } = &state {
                s.path = Some(path.clone());
                s.created = true;
            }
            s.state = state.clone();
            true
        });
        if changed {
            subscribers.retain(|tx| tx.send(state.clone()).is_ok());
            if state.is_final() {
                subscribers.clear();
            }
        }
    }

    fn subscribe(&self) -> NodeStates {
        let mut subscribers = lock(&self.subscribers);
        let (tx, rx) = mpsc::unbounded_channel();
        let now = self.status.borrow().state.clone();
        let last = now.is_final();
        let _ = tx.send(now);
        if !last {
            subscribers.push(tx);
        }
        NodeStates {
            rx,
            latest: self.status.subscribe(),
        }
    }

    /// The newest data generation is on the server.
    pub(crate) fn applied(&self, generation: u64) {
        self.status.send_if_modified(|s| {
            let newer = s.applied < generation;
            if newer {
                s.applied = generation;
            }
            newer
        });
    }

    /// The server refused data generation `generation`.
    pub(crate) fn rejected(&self, generation: u64, error: Error) {
        self.status
            .send_modify(|s| s.rejected = Some((generation, error)));
    }
}

/// Where a [`PersistentNode`] is.
///
/// ```
/// use zk_recipes::node::NodeState;
/// let state = NodeState::Created { path: "/workers/w-1".into() };
/// assert!(state.exists() && !state.is_final());
/// assert!(NodeState::Closed.is_final());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum NodeState {
    /// Not started.
    Latent,
    /// No node of ours exists now, and the task is making one: at the start, after our
    /// node was deleted, after a reconnect found it missing, on a new session.
    Creating,
    /// Our node exists at `path`.
    Created {
        /// The node's path (with its protected prefix and sequence, if any).
        path: String,
    },
    /// A node of another session is at our path (an ephemeral of `owner`, or a persistent
    /// node when `owner` is 0 and ours is ephemeral): we wait for it to go rather than
    /// adopt it.
    Blocked {
        /// The path.
        path: String,
        /// The session that owns the node there (0: not an ephemeral node).
        owner: i64,
    },
    /// Closed or dropped; the node was deleted (unless it is a TTL node).
    Closed,
    /// Stopped for good: the session ended and no new one could be had, or the server
    /// refused the node ([`Error::Unsupported`], [`Error::Zk`] with `NoAuth`, ...).
    Failed(Error),
}

impl NodeState {
    /// Whether our node exists now.
    ///
    /// ```
    /// assert!(!zk_recipes::node::NodeState::Creating.exists());
    /// ```
    pub fn exists(&self) -> bool {
        matches!(self, Self::Created { .. })
    }

    /// Whether the node is over ([`Closed`](Self::Closed) or [`Failed`](Self::Failed)).
    ///
    /// ```
    /// assert!(!zk_recipes::node::NodeState::Latent.is_final());
    /// ```
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Closed | Self::Failed(_))
    }
}

impl PartialEq for NodeState {
    /// Equal variants with equal fields; two failures are equal when their messages are.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Latent, Self::Latent)
            | (Self::Creating, Self::Creating)
            | (Self::Closed, Self::Closed) => true,
            (Self::Created { path: a }, Self::Created { path: b }) => a == b,
            (Self::Blocked { path: a, owner: x }, Self::Blocked { path: b, owner: y }) => {
                a == b && x == y
            }
            (Self::Failed(a), Self::Failed(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

/// Every state of a [`PersistentNode`] from the moment it was asked for, in order, as a
/// [`Stream`]: the current state first, then each change. It ends after
/// [`NodeState::Closed`] or [`NodeState::Failed`].
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(node: zk_recipes::node::PersistentNode) {
/// let mut states = node.states();
/// while let Some(state) = states.next().await {
///     println!("{state:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct NodeStates {
    rx: mpsc::UnboundedReceiver<NodeState>,
    latest: watch::Receiver<Status>,
}

impl NodeStates {
    /// The node's state now (which the stream may not have reached yet).
    ///
    /// ```no_run
    /// # fn _example(states: zk_recipes::node::NodeStates) {
    /// println!("{:?}", states.latest());
    /// # }
    /// ```
    pub fn latest(&self) -> NodeState {
        self.latest.borrow().state.clone()
    }
}

impl Stream for NodeStates {
    type Item = NodeState;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A node that stays: Curator's `PersistentNode`. A background task creates it, watches
/// it, and makes it again when it is deleted or found missing after a reconnect, until
/// [`close`](Self::close) or drop deletes it.
///
/// - **Mode**: ephemeral by default; any [`CreateMode`] ([`mode`](Self::mode)). A
///   sequential node is made again with a new sequence number, so its
///   [`actual_path`](Self::actual_path) changes.
/// - **Protection** ([`protected`](Self::protected)): the name gets Curator's
///   `_c_{uuid}-` prefix, kept for the node's life, so a create whose reply was lost is
///   found again instead of made twice (CURATOR-190: one prefix, never a new one per
///   re-creation).
/// - **Never two nodes**: a `NodeExists` (or a protected node found after a lost reply)
///   is adopted only when it is ours: an ephemeral whose `ephemeralOwner` is our session
///   (a persistent node when the mode is persistent), and its data is then set to ours.
///   A node left by one of our earlier sessions is deleted and made again; a node of
///   another session is waited out ([`NodeState::Blocked`]), never adopted.
/// - **Sessions**: a [`Client`] is one session. When it ends, the node is
///   [`Failed`](NodeState::Failed) unless a [`session_factory`](Self::session_factory)
///   gives it a new session, on which it is made again.
/// - **Data**: [`set_data`](Self::set_data) changes it on the server and for every later
///   re-creation.
///
/// Missing parents are made as containers, as Curator does
/// ([`persistent_parents`](Self::persistent_parents) for kazoo's persistent ones), and
/// made again when they have gone.
///
/// ```no_run
/// use std::time::Duration;
/// use zk_recipes::node::PersistentNode;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let node = PersistentNode::new(&client, "/services/api/host-a").data("10.0.0.7:8080");
/// node.start()?;
/// assert!(node.wait_for_initial_create(Duration::from_secs(10)).await?);
/// node.set_data("10.0.0.7:8081").await?;
/// node.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PersistentNode {
    client: Client,
    config: Config,
    data: watch::Sender<Data>,
    shared: Arc<Shared>,
    run: StdMutex<Run>,
}

#[derive(Debug)]
enum Run {
    Idle,
    /// `stop`: sent by `close`, dropped with the node; either way the task deletes the
    /// node before it ends.
    Running {
        stop: oneshot::Sender<()>,
        task: JoinHandle<Result<()>>,
    },
    Closed,
}

impl PersistentNode {
    /// An ephemeral node at `path`, with empty data. Creates nothing until
    /// [`start`](Self::start).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/members/a");
    /// # drop(node); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        let status = Status {
            state: NodeState::Latent,
            path: None,
            created: false,
            applied: 0,
            rejected: None,
        };
        Self {
            client: client.clone(),
            config: Config {
                path: path.to_owned(),
                mode: CreateMode::Ephemeral,
                protected: false,
                acl: zk_client::acl::open(),
                ttl: None,
                parents: CreateMode::Container,
                keep_on_close: false,
                factory: None,
            },
            data: watch::channel(Data::default()).0,
            shared: Arc::new(Shared {
                status: watch::channel(status).0,
                subscribers: StdMutex::new(Vec::new()),
                session: watch::channel((client.clone(), false)).0,
            }),
            run: StdMutex::new(Run::Idle),
        }
    }

    /// The node's data. Default empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/a").data("payload");
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn data(self, data: impl Into<Bytes>) -> Self {
        let bytes = data.into();
        self.data.send_modify(|d| d.bytes = bytes);
        self
    }

    /// The create mode. Default [`CreateMode::Ephemeral`]. TTL modes need a
    /// [`ttl`](Self::ttl) (and a server with `extendedTypesEnabled=true`).
    ///
    /// ```no_run
    /// use zk_client::CreateMode;
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/jobs/job-")
    ///     .mode(CreateMode::EphemeralSequential)
    ///     .protected(true);
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn mode(mut self, mode: CreateMode) -> Self {
        self.config.mode = mode;
        self
    }

    /// Curator's protection: the node's name gets a `_c_{uuid}-` prefix, so that a create
    /// whose reply was lost is found again rather than made twice. Default off.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/a/node").protected(true);
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn protected(mut self, on: bool) -> Self {
        self.config.protected = on;
        self
    }

    /// The node's ACL. Default [`zk_client::acl::open`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/a")
    ///     .acl(zk_client::acl::creator_all());
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn acl(mut self, acl: Vec<Acl>) -> Self {
        self.config.acl = acl;
        self
    }

    /// The TTL of a TTL mode: the server deletes the node once it has gone unmodified
    /// and childless that long. See [`PersistentTtlNode`](super::PersistentTtlNode) for
    /// one that is kept alive.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use zk_client::CreateMode;
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/a")
    ///     .mode(CreateMode::PersistentWithTtl)
    ///     .ttl(Duration::from_secs(60));
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = Some(ttl);
        self
    }

    /// Make missing parents persistent, as kazoo's `ensure_path` does, instead of
    /// containers (Curator's `creatingParentContainersIfNeeded`, the default), which the
    /// server deletes once they are empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/a/b").persistent_parents();
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn persistent_parents(mut self) -> Self {
        self.config.parents = CreateMode::Persistent;
        self
    }

    /// How to get a new session once the current one has ended (expired, closed): the
    /// node is then made again on it, and a node left by the old session is deleted.
    /// Without one, the end of the session ends the node ([`NodeState::Failed`]). A
    /// factory that fails is called again, after a pause that grows to 5 s, until it
    /// succeeds or the node is closed.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let node = zk_recipes::node::PersistentNode::new(&client, "/members/a")
    ///     .session_factory(|| zk_client::Client::connect("127.0.0.1:2181"));
    /// # drop(node); }
    /// ```
    #[must_use]
    pub fn session_factory<F, Fut>(mut self, factory: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = zk_client::Result<Client>> + Send + 'static,
    {
        self.config.factory = Some(Arc::new(move || Box::pin(factory())));
        self
    }

    /// Leave the node to the server on close (TTL nodes).
    pub(crate) fn keep_on_close(mut self) -> Self {
        self.config.keep_on_close = true;
        self
    }

    /// The path as given (for protected and sequential nodes: what the name is made of).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::node::PersistentNode::new(&client, "/a").path(), "/a");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.config.path
    }

    /// Starts the task that makes and keeps the node.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a path the mode cannot use, a TTL mode without a TTL
    /// or a TTL without one, a second start, or no tokio runtime; [`Error::Closed`] after
    /// [`close`](Self::close).
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentNode) -> zk_recipes::Result<()> {
    /// node.start()?;
    /// # Ok(()) }
    /// ```
    pub fn start(&self) -> Result<()> {
        let mut run = lock(&self.run);
        match *run {
            Run::Idle => {}
            Run::Running { .. } => {
                return Err(Error::InvalidArgument("the node is already started".into()));
            }
            Run::Closed => return Err(Error::Closed),
        }
        self.check()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidArgument("start needs a tokio runtime".into()))?;
        let (stop, stopped) = oneshot::channel();
        let ctx = Ctx {
            config: self.config.clone(),
            shared: self.shared.clone(),
            data: self.data.subscribe(),
        };
        let more = self.config.factory.is_some();
        self.shared
            .session
            .send_replace((self.client.clone(), more));
        self.shared.publish(NodeState::Creating);
        let span = tracing::info_span!("persistent_node", path = %self.config.path);
        let task = driver::drive(ctx, self.client.clone(), stopped);
        let task = runtime.spawn(task.instrument(span));
        *run = Run::Running { stop, task };
        Ok(())
    }

    fn check(&self) -> Result<()> {
        let config = &self.config;
        let path = &config.path;
        let checked = if config.mode.is_sequential() {
            zk_client::proto::path::validate_sequential(path)
        } else {
            zk_client::proto::path::validate(path)
        };
        if let Err(e) = checked {
            return Err(Error::InvalidArgument(format!("{path}: {e}")));
        }
        if path == "/" || (config.protected && path.ends_with('/')) {
            return Err(Error::InvalidArgument(format!(
                "{path}: not a path a node can be made at"
            )));
        }
        match (config.mode.is_ttl(), config.ttl) {
            (true, None) => Err(Error::InvalidArgument("a TTL mode needs a ttl".into())),
            (false, Some(_)) => Err(Error::InvalidArgument(
                "a ttl needs a TTL mode (PersistentWithTtl)".into(),
            )),
            (true, Some(ttl)) if ttl.is_zero() => {
                Err(Error::InvalidArgument("the ttl must be positive".into()))
            }
            _ if config.mode.is_container() => Err(Error::InvalidArgument(
                "a container node cannot be kept: the server deletes it when empty".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Waits until the node has been created once (Curator's `waitForInitialCreate`):
    /// `true` once it has, `false` if it has not within `timeout`. Cancel-safe.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] before [`start`](Self::start); [`Error::Closed`] when
    /// closed first; the error that stopped the node ([`Error::SessionEnded`],
    /// [`Error::Unsupported`] for a TTL node on a server without TTL nodes, ...).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn _example(node: zk_recipes::node::PersistentNode) -> zk_recipes::Result<()> {
    /// if !node.wait_for_initial_create(Duration::from_secs(5)).await? {
    ///     eprintln!("not created yet");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_initial_create(&self, timeout: Duration) -> Result<bool> {
        match tokio::time::timeout(timeout, self.created()).await {
            Ok(created) => created.map(|()| true),
            Err(_) => Ok(false),
        }
    }

    /// Waits until the node has been created once, or fails.
    pub(crate) async fn created(&self) -> Result<()> {
        if matches!(*lock(&self.run), Run::Idle) {
            return Err(Error::InvalidArgument(
                "start the node before waiting for it".into(),
            ));
        }
        let mut status = self.shared.status.subscribe();
        let seen = status
            .wait_for(|s| s.created || s.state.is_final())
            .await
            .map_err(|_| Error::Closed)?;
        if seen.created {
            return Ok(());
        }
        match &seen.state {
            NodeState::Failed(e) => Err(e.clone()),
            _ => Err(Error::Closed),
        }
    }

    /// The path of our node: the last one made (kept while it is being made again), or
    /// `None` before the first. For sequential and protected nodes it is the full name.
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentNode) {
    /// if let Some(path) = node.actual_path() {
    ///     println!("registered at {path}");
    /// }
    /// # }
    /// ```
    pub fn actual_path(&self) -> Option<String> {
        let status = self.shared.status.borrow();
        match status.state {
            NodeState::Closed => None,
            _ => status.path.clone(),
        }
    }

    /// The node's data, as last given.
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentNode) {
    /// println!("{:?}", node.get_data());
    /// # }
    /// ```
    pub fn get_data(&self) -> Bytes {
        self.data.borrow().bytes.clone()
    }

    /// Sets the node's data: on the server, and for every later re-creation. Resolves once
    /// the server has it (before [`start`](Self::start): at once, and the first create
    /// uses it). While the node is missing or blocked it waits; dropping the future does
    /// not undo the change, which still reaches the server.
    ///
    /// # Errors
    ///
    /// What the server said to the setData ([`Error::Zk`] with `NoAuth`, `TooLarge`, ...),
    /// [`Error::Closed`] once closed, or the error that stopped the node.
    ///
    /// ```no_run
    /// # async fn _example(node: zk_recipes::node::PersistentNode) -> zk_recipes::Result<()> {
    /// node.set_data("draining").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_data(&self, data: impl Into<Bytes>) -> Result<()> {
        let bytes = data.into();
        let mut generation = 0;
        self.data.send_modify(|d| {
            d.generation += 1;
            d.bytes = bytes;
            generation = d.generation;
        });
        match *lock(&self.run) {
            Run::Idle => return Ok(()),
            Run::Closed => return Err(Error::Closed),
            Run::Running { .. } => {}
        }
        let mut status = self.shared.status.subscribe();
        let seen = status
            .wait_for(|s| {
                s.applied >= generation
                    || s.rejected.as_ref().is_some_and(|(g, _)| *g >= generation)
                    || s.state.is_final()
            })
            .await
            .map_err(|_| Error::Closed)?;
        if seen.applied >= generation {
            return Ok(());
        }
        if let Some((_, e)) = seen.rejected.as_ref().filter(|(g, _)| *g >= generation) {
            return Err(e.clone());
        }
        match &seen.state {
            NodeState::Failed(e) => Err(e.clone()),
            _ => Err(Error::Closed),
        }
    }

    /// The node's state now.
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentNode) {
    /// if node.state().exists() {
    ///     println!("present");
    /// }
    /// # }
    /// ```
    pub fn state(&self) -> NodeState {
        self.shared.status.borrow().state.clone()
    }

    /// The node's states from now on, as a stream ([`NodeStates`]).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(node: zk_recipes::node::PersistentNode) {
    /// let mut states = node.states();
    /// while let Some(state) = states.next().await {
    ///     println!("{state:?}");
    /// }
    /// # }
    /// ```
    pub fn states(&self) -> NodeStates {
        self.shared.subscribe()
    }

    /// The client of the session the node lives on now: the one it was made with, or the
    /// last one its [`session_factory`](Self::session_factory) gave.
    ///
    /// ```no_run
    /// # fn _example(node: zk_recipes::node::PersistentNode) {
    /// println!("session {:#x}", node.client().session_id());
    /// # }
    /// ```
    pub fn client(&self) -> Client {
        self.shared.session.borrow().0.clone()
    }

    /// The session the node lives on, and whether another may follow.
    pub(crate) fn sessions(&self) -> watch::Receiver<(Client, bool)> {
        self.shared.session.subscribe()
    }

    /// Stops the task and deletes the node (a TTL node is left to the server). Idempotent.
    /// Dropping the node does the same in the background.
    ///
    /// # Errors
    ///
    /// The ZooKeeper error of the delete when it cannot be retried (`NoAuth`); a delete
    /// cut off by a connection loss goes on in the background until it lands or the
    /// session ends.
    ///
    /// ```no_run
    /// # async fn _example(node: zk_recipes::node::PersistentNode) -> zk_recipes::Result<()> {
    /// node.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        let run = std::mem::replace(&mut *lock(&self.run), Run::Closed);
        match run {
            Run::Running { stop, task } => {
                let _ = stop.send(());
                task.await.unwrap_or(Ok(()))
            }
            Run::Idle => {
                self.shared.publish(NodeState::Closed);
                Ok(())
            }
            Run::Closed => Ok(()),
        }
    }
}

/// The std mutex's value, whatever a panicking holder left.
pub(crate) fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
