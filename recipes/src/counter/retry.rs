//! [`RetryPolicy`]: how often, and how far apart, an optimistic update is tried.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::time::Duration;

/// How many times an optimistic update (read, then a version-checked write) is tried
/// when other writers keep winning, and how long to wait between tries: an exponential
/// backoff from `base`, doubling up to `max_delay`, each wait drawn at random from its
/// upper half so that contenders spread out.
///
/// Curator's `RetryNTimes(n, ms)` corresponds to `RetryPolicy::new(n + 1).backoff(ms, ms)`
/// (n retries after the first try), and `ExponentialBackoffRetry(base, n)` to
/// `RetryPolicy::new(n + 1).backoff(base, max)`.
///
/// Only lost races are retried (the version changed, the node appeared or went). A
/// connection loss while reading is waited out and does not count as a try; one while
/// writing is an error, because the write may have been applied.
///
/// ```
/// use std::time::Duration;
/// use zk_recipes::counter::RetryPolicy;
/// let policy = RetryPolicy::new(5).backoff(Duration::from_millis(2), Duration::from_millis(40));
/// assert_eq!(policy.max_tries(), 5);
/// assert_eq!(RetryPolicy::default(), RetryPolicy::new(10));
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RetryPolicy {
    max_tries: u32,
    base: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 10 tries, waits from 1 ms doubling up to 50 ms.
    fn default() -> Self {
        Self::new(10)
    }
}

impl RetryPolicy {
    /// At most `max_tries` tries in all (at least one), with the default backoff (from 1 ms,
    /// doubling up to 50 ms).
    ///
    /// ```
    /// let once = zk_recipes::counter::RetryPolicy::new(1);
    /// assert_eq!(once.max_tries(), 1);
    /// assert_eq!(zk_recipes::counter::RetryPolicy::new(0).max_tries(), 1);
    /// ```
    pub const fn new(max_tries: u32) -> Self {
        Self {
            max_tries: if max_tries == 0 { 1 } else { max_tries },
            base: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
        }
    }

    /// One try, no retry: Curator's `RetryNTimes(0, 0)`, the default under a
    /// [`PromotedToLock`](super::PromotedToLock).
    ///
    /// ```
    /// assert_eq!(zk_recipes::counter::RetryPolicy::once().max_tries(), 1);
    /// ```
    pub const fn once() -> Self {
        Self::new(1)
    }

    /// The wait before the first retry (`base`), doubling for each later one up to
    /// `max_delay`. `Duration::ZERO` for both retries at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let fixed = zk_recipes::counter::RetryPolicy::new(3)
    ///     .backoff(Duration::from_millis(10), Duration::from_millis(10));
    /// # let _ = fixed;
    /// ```
    #[must_use]
    pub const fn backoff(mut self, base: Duration, max_delay: Duration) -> Self {
        self.base = base;
        self.max_delay = max_delay;
        self
    }

    /// The most tries in all.
    ///
    /// ```
    /// assert_eq!(zk_recipes::counter::RetryPolicy::new(3).max_tries(), 3);
    /// ```
    pub const fn max_tries(&self) -> u32 {
        self.max_tries
    }

    /// The wait after the failed try number `tried` (1 for the first): drawn from the upper
    /// half of `base * 2^(tried-1)`, capped at `max_delay`.
    pub(crate) fn delay(&self, tried: u32) -> Duration {
        let shift = tried.saturating_sub(1).min(20);
        let full = self
            .base
            .saturating_mul(1 << shift)
            .min(self.max_delay.max(self.base));
        let nanos = u64::try_from(full.as_nanos()).unwrap_or(u64::MAX);
        if nanos < 2 {
            return full;
        }
        let half = nanos / 2;
        Duration::from_nanos(half + random() % (nanos - half + 1))
    }
}

/// A random number for the jitter (a fresh `RandomState` is keyed anew each time).
fn random() -> u64 {
    RandomState::new().hash_one(std::time::Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_with_jitter_in_the_upper_half() {
        let policy =
            RetryPolicy::new(10).backoff(Duration::from_millis(4), Duration::from_millis(20));
        for _ in 0..100 {
            let first = policy.delay(1);
            assert!(first >= Duration::from_millis(2) && first <= Duration::from_millis(4));
            let second = policy.delay(2);
            assert!(second >= Duration::from_millis(4) && second <= Duration::from_millis(8));
            let late = policy.delay(30);
            assert!(late >= Duration::from_millis(10) && late <= Duration::from_millis(20));
        }
        let none = RetryPolicy::new(3).backoff(Duration::ZERO, Duration::ZERO);
        assert_eq!(none.delay(5), Duration::ZERO);
    }
}
