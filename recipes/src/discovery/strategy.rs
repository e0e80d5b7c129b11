//! How a [`ServiceProvider`](super::ServiceProvider) picks one instance: Curator's
//! `ProviderStrategy` and its random, round-robin and sticky strategies.

use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{ServiceInstance, lock};

/// Picks one instance of those a provider has (already filtered: enabled, not down).
/// Implement it for a strategy of your own.
///
/// ```
/// use zk_recipes::discovery::{ProviderStrategy, ServiceInstance};
///
/// /// Always the instance registered first.
/// struct Oldest;
///
/// impl ProviderStrategy for Oldest {
///     fn pick(&self, instances: &[ServiceInstance]) -> Option<ServiceInstance> {
///         instances.iter().min_by_key(|i| i.registration_time_utc).cloned()
///     }
/// }
///
/// let a = ServiceInstance::new("s").registration_time_utc(2);
/// let b = ServiceInstance::new("s").registration_time_utc(1);
/// assert_eq!(Oldest.pick(&[a, b.clone()]), Some(b));
/// ```
pub trait ProviderStrategy: Send + Sync {
    /// One of `instances`, or `None` (always `None` when there are none).
    fn pick(&self, instances: &[ServiceInstance]) -> Option<ServiceInstance>;
}

/// Any instance, uniformly at random (Curator's `RandomStrategy`).
///
/// ```
/// use zk_recipes::discovery::{ProviderStrategy, RandomStrategy, ServiceInstance};
/// let all = vec![ServiceInstance::new("s"), ServiceInstance::new("s")];
/// assert!(all.contains(&RandomStrategy.pick(&all).unwrap()));
/// ```
#[allow(clippy::exhaustive_structs, reason = "a unit value, named to be used")]
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomStrategy;

impl ProviderStrategy for RandomStrategy {
    fn pick(&self, instances: &[ServiceInstance]) -> Option<ServiceInstance> {
        if instances.is_empty() {
            return None;
        }
        let random = uuid::Uuid::new_v4().as_u128();
        // The remainder is below the length, which is a usize.
        let index = usize::try_from(random % instances.len() as u128).unwrap_or(0);
        instances.get(index).cloned()
    }
}

/// Each instance in turn (Curator's `RoundRobinStrategy`, the provider's default).
///
/// ```
/// use zk_recipes::discovery::{ProviderStrategy, RoundRobinStrategy, ServiceInstance};
/// let all = vec![ServiceInstance::new("s").id("a"), ServiceInstance::new("s").id("b")];
/// let strategy = RoundRobinStrategy::default();
/// let ids: Vec<_> = (0..3).map(|_| strategy.pick(&all).unwrap().id).collect();
/// assert_eq!(ids, ["a", "b", "a"]);
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RoundRobinStrategy {
    next: AtomicUsize,
}

impl ProviderStrategy for RoundRobinStrategy {
    fn pick(&self, instances: &[ServiceInstance]) -> Option<ServiceInstance> {
        if instances.is_empty() {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        instances.get(n % instances.len()).cloned()
    }
}

/// The same instance while it is there; another, from the inner strategy, once it is
/// gone (Curator's `StickyStrategy`). An instance counts as the same by its id.
///
/// ```
/// use zk_recipes::discovery::{ProviderStrategy, RoundRobinStrategy, ServiceInstance, StickyStrategy};
/// let a = ServiceInstance::new("s").id("a");
/// let b = ServiceInstance::new("s").id("b");
/// let sticky = StickyStrategy::new(RoundRobinStrategy::default());
/// assert_eq!(sticky.pick(&[a.clone(), b.clone()]).unwrap().id, "a");
/// assert_eq!(sticky.pick(&[b.clone(), a.clone()]).unwrap().id, "a");
/// assert_eq!(sticky.pick(&[b.clone()]).unwrap().id, "b");
/// ```
pub struct StickyStrategy {
    inner: Box<dyn ProviderStrategy>,
    ours: StdMutex<Option<ServiceInstance>>,
}

impl std::fmt::Debug for StickyStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StickyStrategy")
            .field("ours", &*lock(&self.ours))
            .finish_non_exhaustive()
    }
}

impl StickyStrategy {
    /// Sticks to what `inner` picks.
    ///
    /// ```
    /// use zk_recipes::discovery::{RandomStrategy, StickyStrategy};
    /// let sticky = StickyStrategy::new(RandomStrategy);
    /// # drop(sticky);
    /// ```
    pub fn new(inner: impl ProviderStrategy + 'static) -> Self {
        Self {
            inner: Box::new(inner),
            ours: StdMutex::new(None),
        }
    }
}

impl ProviderStrategy for StickyStrategy {
    fn pick(&self, instances: &[ServiceInstance]) -> Option<ServiceInstance> {
        let mut ours = lock(&self.ours);
        if let Some(current) = ours.as_ref() {
            if let Some(same) = instances.iter().find(|i| i.id == current.id) {
                let same = same.clone();
                *ours = Some(same.clone());
                return Some(same);
            }
        }
        *ours = self.inner.pick(instances);
        ours.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_instances_no_pick() {
        assert_eq!(RandomStrategy.pick(&[]), None);
        assert_eq!(RoundRobinStrategy::default().pick(&[]), None);
        assert_eq!(StickyStrategy::new(RandomStrategy).pick(&[]), None);
    }

    #[test]
    fn random_picks_every_instance_sooner_or_later() {
        let all: Vec<_> = (0..3)
            .map(|n| ServiceInstance::new("s").id(n.to_string()))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            seen.insert(RandomStrategy.pick(&all).unwrap().id);
        }
        assert_eq!(seen.len(), 3);
    }
}
