//! [`ServiceCache`]: the instances of one service kept current, with events that say
//! which instance came, changed or went.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use zk_client::Client;

use super::ServiceInstance;
use super::service_discovery::parse;
use crate::cache::{CacheEvent, ChildData, ChildrenCache};
use crate::error::Result;
use crate::protected::join;
use crate::state::ConnectionState;

/// What a [`ServiceCache`] reports.
///
/// ```
/// use zk_recipes::discovery::{ServiceCacheEvent, ServiceInstance};
/// let event = ServiceCacheEvent::Added(ServiceInstance::new("orders"));
/// assert!(matches!(event, ServiceCacheEvent::Added(i) if i.name == "orders"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServiceCacheEvent {
    /// An instance was registered (or its node's data became an instance).
    Added(ServiceInstance),
    /// An instance's data changed.
    Updated {
        /// What the cache had.
        old: ServiceInstance,
        /// What it has now.
        new: ServiceInstance,
    },
    /// An instance went (or its node's data stopped being an instance).
    Removed(ServiceInstance),
    /// The first read is done (once).
    Initialized,
    /// The connection changed; after `Reconnected` the cache reads everything again and
    /// reports what changed.
    Connection(ConnectionState),
}

/// The instances of one service kept current (Curator's `ServiceCache`, on a
/// [`ChildrenCache`] of `<base>/<name>`), and a [`Stream`] of [`ServiceCacheEvent`]s
/// saying which instance was added, updated or removed (CURATOR-380, CURATOR-470).
/// Nodes whose data is not an instance are left out (CURATOR-574). Unread events are
/// kept until read: call [`ignore_events`](Self::ignore_events) on a cache that is only
/// read.
///
/// ```no_run
/// use futures::StreamExt;
/// use zk_recipes::discovery::{ServiceCache, ServiceCacheEvent};
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let mut cache = ServiceCache::start(&client, "/services", "orders")?;
/// cache.initialized().await?;
/// println!("{} instances", cache.instances().len());
/// while let Some(event) = cache.next().await {
///     match event {
///         ServiceCacheEvent::Added(i) => println!("up: {}", i.id),
///         ServiceCacheEvent::Removed(i) => println!("down: {}", i.id),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the cache stops when dropped"]
pub struct ServiceCache {
    cache: ChildrenCache,
    name: String,
}

impl ServiceCache {
    /// Starts caching the instances of service `name` under `base`. The service's node
    /// need not exist.
    ///
    /// # Errors
    ///
    /// As [`ChildrenCache::start`]: [`Error::InvalidArgument`](crate::Error::InvalidArgument)
    /// for a bad path, or no tokio runtime.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let cache = zk_recipes::discovery::ServiceCache::start(&client, "/services", "orders")?;
    /// # drop(cache); Ok(()) }
    /// ```
    pub fn start(client: &Client, base: &str, name: &str) -> Result<Self> {
        let base = base.trim_end_matches('/');
        let path = join(if base.is_empty() { "/" } else { base }, name);
        Ok(Self {
            cache: ChildrenCache::start(client, &path)?,
            name: name.to_owned(),
        })
    }

    /// The service's name.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::discovery::ServiceCache) {
    /// println!("{}", cache.name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instances now, by node name.
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::discovery::ServiceCache) {
    /// for i in cache.instances() {
    ///     println!("{} {:?}", i.id, i.build_uri_spec());
    /// }
    /// # }
    /// ```
    pub fn instances(&self) -> Vec<ServiceInstance> {
        self.cache.children().iter().filter_map(instance).collect()
    }

    /// Waits until the first read is done.
    ///
    /// # Errors
    ///
    /// As [`ChildrenCache::initialized`]: the session ended first.
    ///
    /// ```no_run
    /// # async fn _example(cache: zk_recipes::discovery::ServiceCache) -> zk_recipes::Result<()> {
    /// cache.initialized().await?;
    /// # Ok(()) }
    /// ```
    pub async fn initialized(&self) -> Result<()> {
        self.cache.initialized().await
    }

    /// Stops keeping events for the stream (the instances stay current).
    ///
    /// ```no_run
    /// # fn _example(cache: zk_recipes::discovery::ServiceCache) {
    /// cache.ignore_events();
    /// # }
    /// ```
    pub fn ignore_events(&self) {
        self.cache.ignore_events();
    }
}

/// The instance a cached node holds, if it holds one.
fn instance(node: &ChildData) -> Option<ServiceInstance> {
    parse(&node.path, node.data.as_deref().unwrap_or_default())
}

/// The service event of a cache event, if there is one.
fn translate(event: CacheEvent) -> Option<ServiceCacheEvent> {
    Some(match event {
        CacheEvent::Added(node) => ServiceCacheEvent::Added(instance(&node)?),
        CacheEvent::Removed(node) => ServiceCacheEvent::Removed(instance(&node)?),
        CacheEvent::Updated { old, new } => match (instance(&old), instance(&new)) {
            (Some(old), Some(new)) if old == new => return None,
            (Some(old), Some(new)) => ServiceCacheEvent::Updated { old, new },
            (None, Some(new)) => ServiceCacheEvent::Added(new),
            (Some(old), None) => ServiceCacheEvent::Removed(old),
            (None, None) => return None,
        },
        CacheEvent::Initialized => ServiceCacheEvent::Initialized,
        CacheEvent::Connection(state) => ServiceCacheEvent::Connection(state),
    })
}

impl Stream for ServiceCache {
    type Item = ServiceCacheEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.cache).poll_next(cx) {
                Poll::Ready(Some(event)) => {
                    if let Some(event) = translate(event) {
                        return Poll::Ready(Some(event));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn node(data: &[u8]) -> ChildData {
        ChildData {
            path: Arc::from("/s/x"),
            data: Some(bytes::Bytes::copy_from_slice(data)),
            stat: zk_client::Stat::default(),
        }
    }

    #[test]
    fn foreign_data_makes_no_event_and_becoming_an_instance_is_an_add() {
        let a = ServiceInstance::new("s").id("x");
        let b = a.clone().port(1);
        assert_eq!(translate(CacheEvent::Added(node(b""))), None);
        assert_eq!(translate(CacheEvent::Removed(node(b"junk"))), None);
        let update = |old: &[u8], new: &[u8]| {
            translate(CacheEvent::Updated {
                old: node(old),
                new: node(new),
            })
        };
        assert_eq!(
            update(b"", &a.to_json()),
            Some(ServiceCacheEvent::Added(a.clone()))
        );
        assert_eq!(
            update(&a.to_json(), b"{"),
            Some(ServiceCacheEvent::Removed(a.clone()))
        );
        assert_eq!(update(&a.to_json(), &a.to_json()), None);
        assert_eq!(
            update(&a.to_json(), &b.to_json()),
            Some(ServiceCacheEvent::Updated { old: a, new: b })
        );
    }
}
