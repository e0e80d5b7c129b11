//! [`ServiceProvider`]: one instance of a service picked by a strategy, among those that
//! are enabled, pass the filters and are not down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use zk_client::Client;

use super::{ProviderStrategy, RoundRobinStrategy, ServiceCache, ServiceInstance, lock};
use crate::error::Result;

/// When an instance counts as down (Curator's `DownInstancePolicy`): after `threshold`
/// errors noted by [`ServiceProvider::note_error`], for `timeout` from the first of them.
///
/// ```
/// use std::time::Duration;
/// use zk_recipes::discovery::DownInstancePolicy;
/// let policy = DownInstancePolicy::default();
/// assert_eq!((policy.timeout, policy.threshold), (Duration::from_secs(30), 2));
/// let strict = DownInstancePolicy::new(Duration::from_secs(5), 1);
/// # let _ = strict;
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct DownInstancePolicy {
    /// How long an instance stays down, counted from its first noted error.
    pub timeout: Duration,
    /// How many errors make it down.
    pub threshold: u32,
}

impl DownInstancePolicy {
    /// A policy of `threshold` errors and `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = zk_recipes::discovery::DownInstancePolicy::new(Duration::from_secs(1), 3);
    /// assert_eq!(p.threshold, 3);
    /// ```
    pub fn new(timeout: Duration, threshold: u32) -> Self {
        Self { timeout, threshold }
    }
}

impl Default for DownInstancePolicy {
    /// Curator's: 30 s, 2 errors.
    fn default() -> Self {
        Self::new(Duration::from_secs(30), 2)
    }
}

/// The errors noted per instance id.
#[derive(Debug, Default)]
struct Down {
    errors: HashMap<String, (u32, Instant)>,
}

impl Down {
    fn note(&mut self, policy: &DownInstancePolicy, id: &str, now: Instant) {
        self.purge(policy, now);
        let entry = self.errors.entry(id.to_owned()).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
    }

    fn purge(&mut self, policy: &DownInstancePolicy, now: Instant) {
        self.errors
            .retain(|_, (_, since)| now.saturating_duration_since(*since) < policy.timeout);
    }

    fn is_down(&self, policy: &DownInstancePolicy, id: &str, now: Instant) -> bool {
        self.errors.get(id).is_some_and(|(count, since)| {
            *count >= policy.threshold && now.saturating_duration_since(*since) < policy.timeout
        })
    }
}

/// A filter of instances: `true` keeps one.
type Filter = Arc<dyn Fn(&ServiceInstance) -> bool + Send + Sync>;

/// Sets up a [`ServiceProvider`].
///
/// ```no_run
/// use zk_recipes::discovery::{RandomStrategy, ServiceProvider};
/// # fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let provider = ServiceProvider::builder(&client, "/services", "orders")
///     .strategy(RandomStrategy)
///     .filter(|i| i.ssl_port.is_some())
///     .start()?;
/// # drop(provider); Ok(()) }
/// ```
#[must_use = "a builder does nothing until started"]
pub struct ServiceProviderBuilder {
    client: Client,
    base: String,
    name: String,
    strategy: Box<dyn ProviderStrategy>,
    filters: Vec<Filter>,
    policy: DownInstancePolicy,
}

impl std::fmt::Debug for ServiceProviderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProviderBuilder")
            .field("base", &self.base)
            .field("name", &self.name)
            .field("filters", &self.filters.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ServiceProviderBuilder {
    /// How the instance is picked. Default [`RoundRobinStrategy`] (Curator's default).
    ///
    /// ```no_run
    /// use zk_recipes::discovery::{RandomStrategy, ServiceProvider, StickyStrategy};
    /// # fn _example(client: zk_client::Client) {
    /// let builder = ServiceProvider::builder(&client, "/services", "orders")
    ///     .strategy(StickyStrategy::new(RandomStrategy));
    /// # drop(builder); }
    /// ```
    pub fn strategy(mut self, strategy: impl ProviderStrategy + 'static) -> Self {
        self.strategy = Box::new(strategy);
        self
    }

    /// Adds a filter: only instances it keeps are picked. Disabled instances are always
    /// left out. Default none.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let builder = zk_recipes::discovery::ServiceProvider::builder(&client, "/services", "orders")
    ///     .filter(|i| i.payload.as_ref().is_some_and(|p| p["zone"] == "a"));
    /// # drop(builder); }
    /// ```
    pub fn filter(
        mut self,
        keep: impl Fn(&ServiceInstance) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filters.push(Arc::new(keep));
        self
    }

    /// When an instance counts as down. Default [`DownInstancePolicy::default`] (30 s, 2
    /// errors).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use zk_recipes::discovery::{DownInstancePolicy, ServiceProvider};
    /// # fn _example(client: zk_client::Client) {
    /// let builder = ServiceProvider::builder(&client, "/services", "orders")
    ///     .down_instance_policy(DownInstancePolicy::new(Duration::from_secs(10), 1));
    /// # drop(builder); }
    /// ```
    pub fn down_instance_policy(mut self, policy: DownInstancePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Starts the provider's cache.
    ///
    /// # Errors
    ///
    /// As [`ServiceCache::start`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let provider = zk_recipes::discovery::ServiceProvider::builder(&client, "/services", "orders")
    ///     .start()?;
    /// # drop(provider); Ok(()) }
    /// ```
    pub fn start(self) -> Result<ServiceProvider> {
        let cache = ServiceCache::start(&self.client, &self.base, &self.name)?;
        cache.ignore_events();
        Ok(ServiceProvider {
            cache,
            strategy: self.strategy,
            filters: self.filters,
            policy: self.policy,
            down: StdMutex::new(Down::default()),
        })
    }
}

/// Picks an instance of one service (Curator's `ServiceProvider`): from a
/// [`ServiceCache`], among the enabled instances that pass the filters and are not down
/// under the [`DownInstancePolicy`], by a [`ProviderStrategy`].
///
/// ```no_run
/// use zk_recipes::discovery::ServiceProvider;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let provider = ServiceProvider::builder(&client, "/services", "orders").start()?;
/// provider.initialized().await?;
/// if let Some(instance) = provider.get_instance() {
///     // ... call it; when the call fails:
///     provider.note_error(&instance);
/// }
/// # Ok(()) }
/// ```
#[must_use = "the provider stops when dropped"]
pub struct ServiceProvider {
    cache: ServiceCache,
    strategy: Box<dyn ProviderStrategy>,
    filters: Vec<Filter>,
    policy: DownInstancePolicy,
    down: StdMutex<Down>,
}

impl std::fmt::Debug for ServiceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProvider")
            .field("cache", &self.cache)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ServiceProvider {
    /// A builder of a provider of service `name` under `base`.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let builder = zk_recipes::discovery::ServiceProvider::builder(&client, "/services", "orders");
    /// # drop(builder); }
    /// ```
    pub fn builder(client: &Client, base: &str, name: &str) -> ServiceProviderBuilder {
        ServiceProviderBuilder {
            client: client.clone(),
            base: base.to_owned(),
            name: name.to_owned(),
            strategy: Box::new(RoundRobinStrategy::default()),
            filters: Vec::new(),
            policy: DownInstancePolicy::default(),
        }
    }

    /// Waits until the cache has read the service once.
    ///
    /// # Errors
    ///
    /// As [`ServiceCache::initialized`].
    ///
    /// ```no_run
    /// # async fn _example(p: zk_recipes::discovery::ServiceProvider) -> zk_recipes::Result<()> {
    /// p.initialized().await?;
    /// # Ok(()) }
    /// ```
    pub async fn initialized(&self) -> Result<()> {
        self.cache.initialized().await
    }

    /// Every instance that may be picked now: enabled, kept by the filters, not down.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::discovery::ServiceProvider) {
    /// println!("{} usable", p.get_all_instances().len());
    /// # }
    /// ```
    pub fn get_all_instances(&self) -> Vec<ServiceInstance> {
        let now = Instant::now();
        let down = lock(&self.down);
        self.cache
            .instances()
            .into_iter()
            .filter(|i| i.enabled)
            .filter(|i| self.filters.iter().all(|keep| keep(i)))
            .filter(|i| !down.is_down(&self.policy, &i.id, now))
            .collect()
    }

    /// One instance, by the strategy, or `None` when none may be picked.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::discovery::ServiceProvider) {
    /// match p.get_instance() {
    ///     Some(i) => println!("use {:?}", i.build_uri_spec()),
    ///     None => println!("no instance"),
    /// }
    /// # }
    /// ```
    pub fn get_instance(&self) -> Option<ServiceInstance> {
        self.strategy.pick(&self.get_all_instances())
    }

    /// Notes that a call to `instance` failed; after the policy's threshold of errors it
    /// is not picked until the policy's timeout has passed.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::discovery::ServiceProvider, i: zk_recipes::discovery::ServiceInstance) {
    /// p.note_error(&i);
    /// # }
    /// ```
    pub fn note_error(&self, instance: &ServiceInstance) {
        lock(&self.down).note(&self.policy, &instance.id, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_down_after_the_threshold_until_the_timeout() {
        let policy = DownInstancePolicy::new(Duration::from_secs(30), 2);
        let mut down = Down::default();
        let t0 = Instant::now();
        down.note(&policy, "a", t0);
        assert!(!down.is_down(&policy, "a", t0));
        down.note(&policy, "a", t0 + Duration::from_secs(1));
        assert!(down.is_down(&policy, "a", t0 + Duration::from_secs(1)));
        assert!(!down.is_down(&policy, "b", t0));
        assert!(!down.is_down(&policy, "a", t0 + Duration::from_secs(30)));
        // Expired errors are forgotten: counting starts again.
        down.note(&policy, "a", t0 + Duration::from_secs(31));
        assert!(!down.is_down(&policy, "a", t0 + Duration::from_secs(31)));
    }
}
