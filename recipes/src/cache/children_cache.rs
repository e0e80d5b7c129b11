//! [`ChildrenCache`]: the children of one node kept current (Curator's
//! `PathChildrenCache`, kazoo's `ChildrenWatch` with data).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use zk_client::Client;

use super::{CacheEvent, ChildData, TreeCache};
use crate::error::Result;

/// The children of one node kept current, with their data and Stat; a [`Stream`] of
/// their [`CacheEvent`]s (the parent's own changes are not reported). A [`TreeCache`] of
/// depth 1 (use [`TreeCache::builder`] with `max_depth(1)` for the builder's options).
///
/// ```no_run
/// use futures::StreamExt;
/// use zk_recipes::cache::{CacheEvent, ChildrenCache};
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let mut workers = ChildrenCache::start(&client, "/workers")?;
/// while let Some(event) = workers.next().await {
///     match event {
///         CacheEvent::Added(w) => println!("joined: {}", w.path),
///         CacheEvent::Removed(w) => println!("left: {}", w.path),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the cache stops when dropped"]
pub struct ChildrenCache {
    inner: TreeCache,
    path: String,
}

impl ChildrenCache {
    /// Starts caching the children of `path` (which need not exist).
    ///
    /// # Errors
    ///
    /// As [`TreeCacheBuilder::start`](super::TreeCacheBuilder::start).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let workers = zk_recipes::cache::ChildrenCache::start(&client, "/workers")?;
    /// # drop(workers); Ok(()) }
    /// ```
    pub fn start(client: &Client, path: &str) -> Result<Self> {
        Ok(Self {
            inner: TreeCache::builder(client, path).max_depth(1).start()?,
            path: path.to_owned(),
        })
    }

    /// The children now, by name.
    ///
    /// ```no_run
    /// # fn _example(workers: zk_recipes::cache::ChildrenCache) {
    /// for w in workers.children() {
    ///     println!("{} {:?}", w.path, w.data);
    /// }
    /// # }
    /// ```
    pub fn children(&self) -> Vec<ChildData> {
        self.inner
            .snapshot()
            .children(&self.path)
            .cloned()
            .collect()
    }

    /// Waits until the first read is done.
    ///
    /// # Errors
    ///
    /// As [`TreeCache::initialized`].
    ///
    /// ```no_run
    /// # async fn _example(workers: zk_recipes::cache::ChildrenCache) -> zk_recipes::Result<()> {
    /// workers.initialized().await?;
    /// # Ok(()) }
    /// ```
    pub async fn initialized(&self) -> Result<()> {
        self.inner.initialized().await
    }

    /// Stops keeping events for the stream (the cache stays current): for a cache that is
    /// only read.
    ///
    /// ```no_run
    /// # fn _example(workers: zk_recipes::cache::ChildrenCache) {
    /// workers.ignore_events();
    /// # }
    /// ```
    pub fn ignore_events(&self) {
        self.inner.ignore_events();
    }
}

impl Stream for ChildrenCache {
    type Item = CacheEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(
                    CacheEvent::Added(ref n)
                    | CacheEvent::Removed(ref n)
                    | CacheEvent::Updated { new: ref n, .. },
                )) if *n.path == *self.path => {}
                other => return other,
            }
        }
    }
}
