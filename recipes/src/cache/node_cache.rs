//! [`NodeCache`]: one node kept current (Curator's `NodeCache`, kazoo's `DataWatch`).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use zk_client::Client;

use super::{CacheEvent, ChildData, TreeCache};
use crate::error::Result;

/// One node kept current: its data and Stat, or `None` while it does not exist; a
/// [`Stream`] of its [`CacheEvent`]s (added, updated, removed, initialized, connection).
/// A [`TreeCache`] of depth 0 (use [`TreeCache::builder`] with `max_depth(0)` for the
/// builder's options).
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let mut config = zk_recipes::cache::NodeCache::start(&client, "/config")?;
/// config.initialized().await?;
/// println!("now {:?}", config.current().and_then(|n| n.data));
/// while let Some(event) = config.next().await {
///     println!("{event:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the cache stops when dropped"]
pub struct NodeCache {
    inner: TreeCache,
    path: String,
}

impl NodeCache {
    /// Starts caching the node at `path` (which need not exist).
    ///
    /// # Errors
    ///
    /// As [`TreeCacheBuilder::start`](super::TreeCacheBuilder::start).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let config = zk_recipes::cache::NodeCache::start(&client, "/config")?;
    /// # drop(config); Ok(()) }
    /// ```
    pub fn start(client: &Client, path: &str) -> Result<Self> {
        Ok(Self {
            inner: TreeCache::builder(client, path).max_depth(0).start()?,
            path: path.to_owned(),
        })
    }

    /// The node now, if it exists.
    ///
    /// ```no_run
    /// # fn _example(config: zk_recipes::cache::NodeCache) {
    /// if let Some(node) = config.current() {
    ///     println!("version {}", node.stat.version);
    /// }
    /// # }
    /// ```
    pub fn current(&self) -> Option<ChildData> {
        self.inner.get(&self.path)
    }

    /// Waits until the first read is done.
    ///
    /// # Errors
    ///
    /// As [`TreeCache::initialized`].
    ///
    /// ```no_run
    /// # async fn _example(config: zk_recipes::cache::NodeCache) -> zk_recipes::Result<()> {
    /// config.initialized().await?;
    /// # Ok(()) }
    /// ```
    pub async fn initialized(&self) -> Result<()> {
        self.inner.initialized().await
    }

    /// Stops keeping events for the stream (the cache stays current): for a cache that is
    /// only read.
    ///
    /// ```no_run
    /// # fn _example(config: zk_recipes::cache::NodeCache) {
    /// config.ignore_events();
    /// # }
    /// ```
    pub fn ignore_events(&self) {
        self.inner.ignore_events();
    }
}

impl Stream for NodeCache {
    type Item = CacheEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}
