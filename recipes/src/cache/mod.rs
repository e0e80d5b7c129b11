//! Caches of ZooKeeper data, kept current by one persistent recursive watch: [`TreeCache`]
//! (a subtree to a depth; Curator's `CuratorCache`), [`ChildrenCache`] (one level;
//! `PathChildrenCache`) and [`NodeCache`] (one node; `NodeCache`).
//!
//! Each is read once when it starts, then follows the watch. Reads are pipelined, and a
//! cache with data sends them in batches of up to 64 in one `multi_read` (ZooKeeper 3.6+;
//! single reads on older servers). A batch whose reply would exceed the client's
//! [`max_frame_len`](zk_client::ClientBuilder::max_frame_len) is read again one node at a
//! time, and a node larger than that limit is left out with a warning. A watch
//! event is only a reason to read a node again; the reply says what it is, so a cache
//! never trusts what it did not read. After a reconnect it reads every node again and
//! walks the tree for new ones, so changes made while it was disconnected are found, and
//! only real differences are reported.
//!
//! What each gives:
//!
//! - [`snapshot`](TreeCache::snapshot): the whole cached tree, shared, not copied (taking
//!   one is cheap; the cache copies its map once on its next change while a snapshot is
//!   held);
//! - a [`Stream`](futures::Stream) of [`CacheEvent`]s: added, updated (old and new) and
//!   removed nodes with their data and Stat, `Initialized` once the first read is done, and
//!   the connection's state changes;
//! - optional data (a stat-only cache keeps no data, to save memory) and a path filter.
//!
//! ```no_run
//! use futures::StreamExt;
//! use zk_recipes::cache::{CacheEvent, TreeCache};
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let mut cache = TreeCache::builder(&client, "/config").start()?;
//! cache.initialized().await?;
//! println!("{} nodes", cache.snapshot().len());
//! while let Some(event) = cache.next().await {
//!     if let CacheEvent::Updated { new, .. } = event {
//!         println!("{} is now {:?}", new.path, new.data);
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use zk_client::Stat;

use crate::state::ConnectionState;

mod children_cache;
mod driver;
mod node_cache;
mod reads;
mod state;
mod tree_cache;

pub use children_cache::ChildrenCache;
pub use node_cache::NodeCache;
pub use tree_cache::{TreeCache, TreeCacheBuilder};

/// A cached node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildData {
    /// The node's path (a client path).
    pub path: Arc<str>,
    /// Its data; `None` in a stat-only cache.
    pub data: Option<Bytes>,
    /// Its Stat.
    pub stat: Stat,
}

/// What a cache reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheEvent {
    /// A node joined the cache.
    Added(ChildData),
    /// A node's data or Stat changed.
    Updated {
        /// What the cache had.
        old: ChildData,
        /// What it has now.
        new: ChildData,
    },
    /// A node left the cache (deleted, or under a deleted node).
    Removed(ChildData),
    /// The first read of the tree is done (once).
    Initialized,
    /// The connection changed (Curator's states); after `Reconnected` the cache reads
    /// everything again and reports what changed.
    Connection(ConnectionState),
}

/// The cached tree at one moment: shared with the cache, never copied to be read.
///
/// ```no_run
/// # fn _example(cache: zk_recipes::cache::TreeCache) {
/// let snapshot = cache.snapshot();
/// for node in snapshot.children("/config") {
///     println!("{} {:?}", node.path, node.data);
/// }
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    nodes: Arc<BTreeMap<Arc<str>, ChildData>>,
}

impl Snapshot {
    /// The node at `path`.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// if let Some(node) = cache.snapshot().get("/config/db") {
    ///     println!("version {}", node.stat.version);
    /// }
    /// # }
    /// ```
    pub fn get(&self, path: &str) -> Option<&ChildData> {
        self.nodes.get(path)
    }

    /// How many nodes.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// println!("{} nodes", cache.snapshot().len());
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there is no node (not even the root).
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// println!("empty: {}", cache.snapshot().is_empty());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node, by path.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// for node in cache.snapshot().iter() {
    ///     println!("{}", node.path);
    /// }
    /// # }
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &ChildData> {
        self.nodes.values()
    }

    /// The direct children of `path`, by name.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::cache::TreeCache) {
    /// let names: Vec<_> = cache.snapshot().children("/config").map(|n| n.path.clone()).collect();
    /// # let _ = names; }
    /// ```
    pub fn children<'a>(&'a self, path: &str) -> impl Iterator<Item = &'a ChildData> + 'a {
        let below: Arc<str> = if path == "/" {
            "/".into()
        } else {
            format!("{}/", path.trim_end_matches('/')).into()
        };
        let prefix = below.clone();
        self.nodes
            .range::<Arc<str>, _>((std::ops::Bound::Included(below), std::ops::Bound::Unbounded))
            .take_while(move |(p, _)| p.starts_with(&*prefix))
            .map(|(_, node)| node)
            .filter({
                let depth = path.trim_end_matches('/').matches('/').count() + 1;
                move |node| node.path.matches('/').count() == depth
            })
    }
}
