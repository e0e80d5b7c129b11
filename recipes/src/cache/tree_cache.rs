//! [`TreeCache`]: a subtree, to a depth, kept current (Curator's `CuratorCache`, kazoo's
//! `TreeCache`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use zk_client::Client;

use super::driver::{self, Job, Outlet};
use super::state::{PathFilter, Scope, snapshot};
use super::{CacheEvent, ChildData, Snapshot};
use crate::error::{Error, Result};

/// How a [`TreeCache`] is made: [`TreeCache::builder`], options, then
/// [`start`](Self::start).
#[must_use = "a builder does nothing until started"]
pub struct TreeCacheBuilder {
    client: Client,
    root: String,
    max_depth: usize,
    with_data: bool,
    filter: Option<PathFilter>,
    window: usize,
}

impl std::fmt::Debug for TreeCacheBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeCacheBuilder")
            .field("root", &self.root)
            .field("max_depth", &self.max_depth)
            .field("with_data", &self.with_data)
            .field("filter", &self.filter.is_some())
            .finish_non_exhaustive()
    }
}

impl TreeCacheBuilder {
    /// How many levels below the root to keep (0: the root only). Default: all.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let cache = zk_recipes::cache::TreeCache::builder(&client, "/config").max_depth(2);
    /// # drop(cache); }
    /// ```
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Keep only each node's Stat, not its data, to save memory.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let cache = zk_recipes::cache::TreeCache::builder(&client, "/jobs").stat_only();
    /// # drop(cache); }
    /// ```
    pub fn stat_only(mut self) -> Self {
        self.with_data = false;
        self
    }

    /// Keep only the nodes for which `keep(path)` is true (and nothing below the others).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let cache = zk_recipes::cache::TreeCache::builder(&client, "/config")
    ///     .filter(|path| !path.ends_with(".tmp"));
    /// # drop(cache); }
    /// ```
    pub fn filter(mut self, keep: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(keep));
        self
    }

    /// How many reads the cache keeps in flight at once while it reads the tree, counting
    /// each read of a batch. Default 1,000.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let cache = zk_recipes::cache::TreeCache::builder(&client, "/config").window(100);
    /// # drop(cache); }
    /// ```
    pub fn window(mut self, reads: usize) -> Self {
        self.window = reads.max(1);
        self
    }

    /// Starts the cache: a task reads the tree and follows it until the cache is dropped
    /// or the session ends. The root need not exist.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] outside a tokio runtime.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let cache = zk_recipes::cache::TreeCache::builder(&client, "/config").start()?;
    /// # drop(cache); Ok(()) }
    /// ```
    pub fn start(self) -> Result<TreeCache> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidArgument("a cache needs a tokio runtime".into()))?;
        let outlet = Arc::new(Outlet::new());
        let (tx, events) = mpsc::unbounded_channel();
        *outlet
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        let job = Job {
            client: self.client,
            scope: Scope {
                root: self.root.as_str().into(),
                max_depth: self.max_depth,
                filter: self.filter,
            },
            with_data: self.with_data,
            window: self.window,
            outlet: outlet.clone(),
        };
        let span = tracing::debug_span!("tree_cache", root = %self.root);
        let task = runtime.spawn(driver::run(job).instrument(span));
        Ok(TreeCache {
            outlet,
            events,
            task,
        })
    }
}

/// A subtree kept current; see the [module docs](super). A [`Stream`] of its
/// [`CacheEvent`]s from the start (the first read reports every node as added, then
/// [`CacheEvent::Initialized`]). The stream ends when the cache stops: after
/// `Connection(Lost)` when its session ends, and when the client is closed. Its last
/// snapshot stays readable. Dropping it stops the cache and its watch.
///
/// The events are kept until they are read: a cache whose events are not wanted should
/// say so with [`ignore_events`](Self::ignore_events).
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let mut cache = zk_recipes::cache::TreeCache::builder(&client, "/config").start()?;
/// while let Some(event) = cache.next().await {
///     println!("{event:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the cache stops when dropped"]
pub struct TreeCache {
    outlet: Arc<Outlet>,
    events: mpsc::UnboundedReceiver<CacheEvent>,
    task: JoinHandle<()>,
}

impl TreeCache {
    /// A cache of the subtree at `root`; see [`TreeCacheBuilder`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let cache = zk_recipes::cache::TreeCache::builder(&client, "/config").start()?;
    /// # drop(cache); Ok(()) }
    /// ```
    pub fn builder(client: &Client, root: &str) -> TreeCacheBuilder {
        TreeCacheBuilder {
            client: client.clone(),
            root: root.to_owned(),
            max_depth: usize::MAX,
            with_data: true,
            filter: None,
            window: 1000,
        }
    }

    /// The cached tree now: shared, not copied.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// println!("{} nodes", cache.snapshot().len());
    /// # }
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        snapshot(&self.outlet.nodes)
    }

    /// The cached node at `path`.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// if let Some(node) = cache.get("/config/db") {
    ///     println!("{:?}", node.data);
    /// }
    /// # }
    /// ```
    pub fn get(&self, path: &str) -> Option<ChildData> {
        self.snapshot().get(path).cloned()
    }

    /// Waits until the first read of the tree is done.
    ///
    /// # Errors
    ///
    /// Why the cache stopped before: [`Error::SessionEnded`], or a ZooKeeper error on the
    /// root (no permission, an invalid path).
    ///
    /// ```no_run
    /// # async fn _example(cache: zk_recipes::cache::TreeCache) -> zk_recipes::Result<()> {
    /// cache.initialized().await?;
    /// # Ok(()) }
    /// ```
    pub async fn initialized(&self) -> Result<()> {
        let mut ready = self.outlet.ready.subscribe();
        let seen = ready
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::Closed)?;
        seen.clone().unwrap_or(Err(Error::Closed))
    }

    /// Stops keeping events for the stream (the snapshot stays current): for a cache
    /// that is only read.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// cache.ignore_events();
    /// # }
    /// ```
    pub fn ignore_events(&self) {
        *self
            .outlet
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

impl Stream for TreeCache {
    type Item = CacheEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for TreeCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}
