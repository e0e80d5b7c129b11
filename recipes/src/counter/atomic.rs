//! [`AtomicLong`] and [`AtomicInteger`]: Curator's `DistributedAtomicLong` and
//! `DistributedAtomicInteger`, optimistic updates of a counter node with an optional
//! [`PromotedToLock`] fallback, and their [`AtomicOutcome`] with [`AtomicStats`].

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zk_client::{Client, CreateOptions, Error as ZkError};

use super::RetryPolicy;
use super::format::{
    I32_BE, I64_BE, corrupt, i32_from_bytes, i32_to_bytes, i64_from_bytes, i64_to_bytes,
};
use crate::error::{Error, Result, zk};
use crate::lock::Mutex;
use crate::protected::{make_parents, wait_connected};

/// What an atomic operation did: whether it succeeded, the value before and after, and
/// how many tries it took ([`AtomicStats`], Curator's `AtomicValue`).
///
/// Always check [`succeeded`](Self::succeeded): an update that lost to other writers as
/// often as its [`RetryPolicy`] allowed (and, with a [`PromotedToLock`], under the lock
/// too) writes nothing and says so here. A node that does not exist reads as 0.
///
/// ```no_run
/// # async fn _example(counter: zk_recipes::counter::AtomicLong) -> zk_recipes::Result<()> {
/// let outcome = counter.increment().await?;
/// if outcome.succeeded {
///     assert_eq!(outcome.post_value, outcome.pre_value + 1);
/// } else {
///     println!("gave up after {} tries", outcome.stats.tries());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct AtomicOutcome<T> {
    /// Whether the operation wrote (for [`get`](AtomicLong::get): always `true`).
    pub succeeded: bool,
    /// The value read before the write (of the last try); 0 for a missing node.
    pub pre_value: T,
    /// The value written; the value read when nothing was written.
    pub post_value: T,
    /// The tries and the time they took.
    pub stats: AtomicStats,
}

impl<T: Copy> AtomicOutcome<T> {
    fn new(zero: T) -> Self {
        Self {
            succeeded: false,
            pre_value: zero,
            post_value: zero,
            stats: AtomicStats::default(),
        }
    }

    /// Tries that lost a race (the version changed, the node appeared or went) before the
    /// operation succeeded or gave up.
    ///
    /// ```no_run
    /// # async fn _example(counter: zk_recipes::counter::AtomicLong) -> zk_recipes::Result<()> {
    /// let outcome = counter.increment().await?;
    /// println!("{} lost races", outcome.failed_tries());
    /// # Ok(()) }
    /// ```
    pub fn failed_tries(&self) -> u32 {
        self.stats.tries().saturating_sub(u32::from(self.succeeded))
    }
}

/// The tries of an atomic operation: optimistic ones, then those under the
/// [`PromotedToLock`] (Curator's `AtomicStats`).
///
/// ```no_run
/// # async fn _example(counter: zk_recipes::counter::AtomicLong) -> zk_recipes::Result<()> {
/// let stats = counter.increment().await?.stats;
/// println!(
///     "{} optimistic tries in {:?}, {} under the lock in {:?}",
///     stats.optimistic_tries, stats.optimistic_time, stats.promoted_tries, stats.promoted_time
/// );
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct AtomicStats {
    /// Optimistic tries (read, then a version-checked write).
    pub optimistic_tries: u32,
    /// Tries made while holding the promoted lock.
    pub promoted_tries: u32,
    /// Time spent on the optimistic tries, waits between them included.
    pub optimistic_time: Duration,
    /// Time spent on the promoted lock: waiting for it, and the tries under it.
    pub promoted_time: Duration,
}

impl AtomicStats {
    /// All tries.
    ///
    /// ```
    /// let stats = zk_recipes::counter::AtomicStats::default();
    /// assert_eq!(stats.tries(), 0);
    /// ```
    pub const fn tries(&self) -> u32 {
        self.optimistic_tries + self.promoted_tries
    }
}

/// Curator's `PromotedToLock`: when the optimistic tries of an update are used up, take a
/// [`Mutex`] (Curator's `InterProcessMutex` layout) at `lock_path` and try again while
/// holding it, so that writers who all promote take turns instead of racing.
///
/// By default the lock is waited for as long as it takes (as Curator does with no
/// timeout; a wait still ends with the session) and one try is made under it (Curator's
/// `RetryNTimes(0, 0)`). A lock not had within the [`timeout`](Self::timeout) is an
/// unsucceeded outcome, not an error.
///
/// ```
/// use std::time::Duration;
/// use zk_recipes::counter::{PromotedToLock, RetryPolicy};
/// let promoted = PromotedToLock::new("/app/visits-lock")
///     .timeout(Duration::from_secs(5))
///     .retry_policy(RetryPolicy::new(3));
/// assert_eq!(promoted.lock_path(), "/app/visits-lock");
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PromotedToLock {
    path: String,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl PromotedToLock {
    /// Promotion to a lock at `lock_path`.
    ///
    /// ```
    /// let promoted = zk_recipes::counter::PromotedToLock::new("/locks/visits");
    /// # drop(promoted);
    /// ```
    pub fn new(lock_path: &str) -> Self {
        Self {
            path: lock_path.to_owned(),
            timeout: None,
            retry: RetryPolicy::once(),
        }
    }

    /// The longest wait for the lock. Default: no limit.
    ///
    /// ```
    /// let promoted = zk_recipes::counter::PromotedToLock::new("/l")
    ///     .timeout(std::time::Duration::from_secs(1));
    /// # drop(promoted);
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The tries under the lock. Default [`RetryPolicy::once`].
    ///
    /// ```
    /// use zk_recipes::counter::{PromotedToLock, RetryPolicy};
    /// let promoted = PromotedToLock::new("/l").retry_policy(RetryPolicy::new(2));
    /// # drop(promoted);
    /// ```
    #[must_use]
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The lock's path.
    ///
    /// ```
    /// assert_eq!(zk_recipes::counter::PromotedToLock::new("/l").lock_path(), "/l");
    /// ```
    pub fn lock_path(&self) -> &str {
        &self.path
    }
}

/// An integer stored big-endian in exactly its width.
pub(crate) trait Number: Copy + fmt::Debug + Eq + Send + Sync + 'static {
    const ZERO: Self;
    const ONE: Self;
    const EXPECTED: &'static str;
    fn encode(self) -> Bytes;
    fn decode(data: &[u8]) -> Option<Self>;
    /// `self + delta`, wrapping as Java's `long` and `int` do.
    fn plus(self, delta: Self) -> Self;
    /// `-self`, wrapping.
    fn negated(self) -> Self;
}

impl Number for i64 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    const EXPECTED: &'static str = I64_BE;

    fn encode(self) -> Bytes {
        i64_to_bytes(self)
    }

    fn decode(data: &[u8]) -> Option<Self> {
        i64_from_bytes(data)
    }

    fn plus(self, delta: Self) -> Self {
        self.wrapping_add(delta)
    }

    fn negated(self) -> Self {
        self.wrapping_neg()
    }
}

impl Number for i32 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    const EXPECTED: &'static str = I32_BE;

    fn encode(self) -> Bytes {
        i32_to_bytes(self)
    }

    fn decode(data: &[u8]) -> Option<Self> {
        i32_from_bytes(data)
    }

    fn plus(self, delta: Self) -> Self {
        self.wrapping_add(delta)
    }

    fn negated(self) -> Self {
        self.wrapping_neg()
    }
}

/// The promoted lock of a counter.
#[derive(Clone, Debug)]
struct Promotion {
    lock: Mutex,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

/// What [`AtomicLong`] and [`AtomicInteger`] share.
#[derive(Clone)]
pub(crate) struct Core<N> {
    client: Client,
    path: String,
    retry: RetryPolicy,
    promotion: Option<Promotion>,
    number: PhantomData<fn() -> N>,
}

impl<N> fmt::Debug for Core<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("path", &self.path)
            .field("retry", &self.retry)
            .field("promotion", &self.promotion)
            .finish_non_exhaustive()
    }
}

impl<N: Number> Core<N> {
    fn new(client: &Client, path: &str) -> Self {
        Self {
            client: client.clone(),
            path: path.to_owned(),
            retry: RetryPolicy::default(),
            promotion: None,
            number: PhantomData,
        }
    }

    fn promoted(mut self, promoted: PromotedToLock) -> Self {
        self.promotion = Some(Promotion {
            lock: Mutex::new(&self.client, &promoted.path),
            timeout: promoted.timeout,
            retry: promoted.retry,
        });
        self
    }

    /// The value and version, `None` when the node does not exist; empty data reads as 0.
    /// Connection losses are waited out.
    async fn read(&self) -> Result<Option<(N, i32)>> {
        loop {
            match self.client.get_data(&self.path).await {
                Ok((data, stat)) if data.is_empty() => return Ok(Some((N::ZERO, stat.version))),
                Ok((data, stat)) => {
                    let value =
                        N::decode(&data).ok_or_else(|| corrupt(&self.path, N::EXPECTED, &data))?;
                    return Ok(Some((value, stat.version)));
                }
                Err(ZkError::NoNode(_)) => return Ok(None),
                Err(e) if e.is_connection_loss() => wait_connected(&self.client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Creates the node with `data` (its missing parents as containers): `false` when it
    /// exists already.
    async fn create(&self, data: &Bytes) -> Result<bool> {
        loop {
            match self
                .client
                .create(&self.path, data, &CreateOptions::persistent())
                .await
            {
                Ok(_) => return Ok(true),
                Err(ZkError::NodeExists(_)) => return Ok(false),
                Err(ZkError::NoNode(_)) => {
                    let parent = zk_client::proto::path::parent(&self.path).unwrap_or("/");
                    make_parents(&self.client, parent).await?;
                }
                Err(e) => return Err(zk(e)),
            }
        }
    }

    async fn get(&self) -> Result<AtomicOutcome<N>> {
        let value = self.read().await?.map_or(N::ZERO, |(v, _)| v);
        let mut outcome = AtomicOutcome::new(value);
        outcome.succeeded = true;
        Ok(outcome)
    }

    /// One try: read, then write `make(value)` over that version (or create the node).
    async fn try_once(
        &self,
        make: &impl Fn(N) -> N,
        outcome: &mut AtomicOutcome<N>,
    ) -> Result<bool> {
        let current = self.read().await?;
        let pre = current.map_or(N::ZERO, |(v, _)| v);
        outcome.pre_value = pre;
        let next = make(pre);
        let written = match current {
            None => self.create(&next.encode()).await?,
            Some((_, version)) => match self
                .client
                .set_data(&self.path, &next.encode(), Some(version))
                .await
            {
                Ok(_) => true,
                Err(ZkError::BadVersion(_) | ZkError::NoNode(_)) => false,
                Err(e) => return Err(zk(e)),
            },
        };
        if written {
            outcome.post_value = next;
        }
        Ok(written)
    }

    /// Tries under `retry`, counting into `tries`; `true` once written.
    async fn tries(
        &self,
        retry: RetryPolicy,
        make: &impl Fn(N) -> N,
        outcome: &mut AtomicOutcome<N>,
        promoted: bool,
    ) -> Result<bool> {
        for tried in 1..=retry.max_tries() {
            if promoted {
                outcome.stats.promoted_tries += 1;
            } else {
                outcome.stats.optimistic_tries += 1;
            }
            if self.try_once(make, outcome).await? {
                return Ok(true);
            }
            if tried < retry.max_tries() {
                tokio::time::sleep(retry.delay(tried)).await;
            }
        }
        Ok(false)
    }

    /// Optimistic tries, then tries under the promoted lock if there is one.
    async fn update(&self, make: impl Fn(N) -> N) -> Result<AtomicOutcome<N>> {
        let mut outcome = AtomicOutcome::new(N::ZERO);
        let started = Instant::now();
        outcome.succeeded = self.tries(self.retry, &make, &mut outcome, false).await?;
        outcome.stats.optimistic_time = started.elapsed();
        if let (false, Some(promotion)) = (outcome.succeeded, &self.promotion) {
            let started = Instant::now();
            let guard = match promotion.timeout {
                None => Some(promotion.lock.acquire().await?),
                Some(timeout) => match promotion.lock.acquire_timeout(timeout).await {
                    Ok(guard) => Some(guard),
                    Err(Error::Timeout(_)) => None,
                    Err(e) => return Err(e),
                },
            };
            if let Some(guard) = guard {
                let tried = self.tries(promotion.retry, &make, &mut outcome, true).await;
                if let Err(e) = guard.release().await {
                    // Dropped, the guard deletes its node in the background.
                    tracing::debug!(error = %e, "releasing the promoted lock");
                }
                outcome.succeeded = tried?;
            }
            outcome.stats.promoted_time = started.elapsed();
        }
        if !outcome.succeeded {
            outcome.post_value = outcome.pre_value;
        }
        Ok(outcome)
    }

    async fn compare_and_set(&self, expected: N, new: N) -> Result<AtomicOutcome<N>> {
        let mut outcome = AtomicOutcome::new(N::ZERO);
        outcome.stats.optimistic_tries = 1;
        let started = Instant::now();
        if let Some((pre, version)) = self.read().await? {
            outcome.pre_value = pre;
            outcome.post_value = pre;
            if pre == expected {
                match self
                    .client
                    .set_data(&self.path, &new.encode(), Some(version))
                    .await
                {
                    Ok(_) => {
                        outcome.succeeded = true;
                        outcome.post_value = new;
                    }
                    Err(ZkError::BadVersion(_) | ZkError::NoNode(_)) => {}
                    Err(e) => return Err(zk(e)),
                }
            }
        }
        outcome.stats.optimistic_time = started.elapsed();
        Ok(outcome)
    }

    async fn try_initialize(&self, value: N) -> Result<AtomicOutcome<N>> {
        let mut outcome = AtomicOutcome::new(N::ZERO);
        let started = Instant::now();
        loop {
            outcome.stats.optimistic_tries += 1;
            if self.create(&value.encode()).await? {
                outcome.succeeded = true;
                outcome.post_value = value;
                break;
            }
            if let Some((existing, _)) = self.read().await? {
                outcome.pre_value = existing;
                outcome.post_value = existing;
                break;
            }
            // Deleted between the create and the read: try to make it again.
        }
        outcome.stats.optimistic_time = started.elapsed();
        Ok(outcome)
    }

    async fn force_set(&self, value: N) -> Result<()> {
        let data = value.encode();
        loop {
            match self.client.set_data(&self.path, &data, None).await {
                Ok(_) => return Ok(()),
                Err(ZkError::NoNode(_)) => {
                    if self.create(&data).await? {
                        return Ok(());
                    }
                }
                Err(e) => return Err(zk(e)),
            }
        }
    }
}

/// The docs and methods of [`AtomicLong`] and [`AtomicInteger`], which differ only in
/// their number type.
macro_rules! atomic_counter {
    (
        $(#[$meta:meta])*
        $name:ident, $number:ty, $width:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name {
            core: Core<$number>,
        }

        impl $name {
            #[doc = concat!("A counter at `path`; creates nothing yet. Optimistic only, with the \
                default [`RetryPolicy`] (10 tries).\n\n```no_run\n\
                # fn _example(client: zk_client::Client) {\n\
                let counter = zk_recipes::counter::", stringify!($name), "::new(&client, \"/app/visits\");\n\
                # drop(counter); }\n```")]
            pub fn new(client: &Client, path: &str) -> Self {
                Self { core: Core::new(client, path) }
            }

            #[doc = concat!("How many optimistic tries an update makes, and how far apart. \
                Default [`RetryPolicy::default`].\n\n```no_run\n\
                use zk_recipes::counter::{", stringify!($name), ", RetryPolicy};\n\
                # fn _example(client: zk_client::Client) {\n\
                let counter = ", stringify!($name), "::new(&client, \"/c\").retry_policy(RetryPolicy::new(50));\n\
                # drop(counter); }\n```")]
            #[must_use]
            pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
                self.core.retry = retry;
                self
            }

            #[doc = concat!("Takes a lock and tries again under it when the optimistic tries \
                are used up ([`PromotedToLock`]). Default: no promotion.\n\n```no_run\n\
                use zk_recipes::counter::{", stringify!($name), ", PromotedToLock};\n\
                # fn _example(client: zk_client::Client) {\n\
                let counter = ", stringify!($name), "::new(&client, \"/c\")\n    \
                .promoted_to_lock(PromotedToLock::new(\"/c-lock\"));\n\
                # drop(counter); }\n```")]
            #[must_use]
            pub fn promoted_to_lock(self, promoted: PromotedToLock) -> Self {
                Self { core: self.core.promoted(promoted) }
            }

            #[doc = concat!("The node's path.\n\n```no_run\n\
                # fn _example(client: zk_client::Client) {\n\
                assert_eq!(zk_recipes::counter::", stringify!($name), "::new(&client, \"/c\").path(), \"/c\");\n\
                # }\n```")]
            pub fn path(&self) -> &str {
                &self.core.path
            }

            #[doc = concat!("The current value (0 when the node does not exist), in \
                `pre_value` and `post_value`; always succeeded.\n\n\
                # Errors\n\n\
                [`Error::Corrupt`](crate::Error::Corrupt) when the node holds something else \
                than ", $width, " bytes (empty data reads as 0); \
                [`Error::SessionEnded`](crate::Error::SessionEnded); the ZooKeeper errors \
                retrying cannot help. Connection losses are waited out.\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                println!(\"{}\", counter.get().await?.post_value);\n\
                # Ok(()) }\n```")]
            pub async fn get(&self) -> Result<AtomicOutcome<$number>> {
                self.core.get().await
            }

            #[doc = concat!("Adds 1 (wrapping on overflow, as Java does), creating the node \
                when missing (from 0).\n\n\
                # Errors\n\n\
                [`Error::Zk`](crate::Error::Zk) with `ConnectionLoss` when the connection \
                dropped before a write's reply: the write may or may not have been applied, \
                so it is not tried again (read the value before trying again yourself). \
                Otherwise as [`get`](Self::get). Losing every race is not an error: see \
                `succeeded`.\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                let outcome = counter.increment().await?;\n\
                assert!(!outcome.succeeded || outcome.post_value == outcome.pre_value + 1);\n\
                # Ok(()) }\n```")]
            pub async fn increment(&self) -> Result<AtomicOutcome<$number>> {
                self.core.update(|v| v.plus(<$number as Number>::ONE)).await
            }

            #[doc = concat!("Subtracts 1 (wrapping).\n\n\
                # Errors\n\n\
                As [`increment`](Self::increment).\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                let outcome = counter.decrement().await?;\n\
                # let _ = outcome; Ok(()) }\n```")]
            pub async fn decrement(&self) -> Result<AtomicOutcome<$number>> {
                self.core.update(|v| v.plus(<$number as Number>::ONE.negated())).await
            }

            #[doc = concat!("Adds `delta` (wrapping).\n\n\
                # Errors\n\n\
                As [`increment`](Self::increment).\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                let outcome = counter.add(10).await?;\n\
                # let _ = outcome; Ok(()) }\n```")]
            pub async fn add(&self, delta: $number) -> Result<AtomicOutcome<$number>> {
                self.core.update(|v| v.plus(delta)).await
            }

            #[doc = concat!("Subtracts `delta` (wrapping).\n\n\
                # Errors\n\n\
                As [`increment`](Self::increment).\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                let outcome = counter.subtract(10).await?;\n\
                # let _ = outcome; Ok(()) }\n```")]
            pub async fn subtract(&self, delta: $number) -> Result<AtomicOutcome<$number>> {
                self.core.update(|v| v.plus(delta.negated())).await
            }

            #[doc = concat!("Sets `value` whatever the value was, by the same optimistic \
                tries (and promotion) as [`increment`](Self::increment) (Curator's \
                `trySet`).\n\n\
                # Errors\n\n\
                As [`increment`](Self::increment).\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                let outcome = counter.try_set(100).await?;\n\
                # let _ = outcome; Ok(()) }\n```")]
            pub async fn try_set(&self, value: $number) -> Result<AtomicOutcome<$number>> {
                self.core.update(|_| value).await
            }

            #[doc = concat!("Sets `new` if the value is `expected`, in one try. It fails when \
                the node does not exist, even for `expected` 0 (as Curator's does): make it \
                with [`try_initialize`](Self::try_initialize).\n\n\
                # Errors\n\n\
                As [`increment`](Self::increment).\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                let outcome = counter.compare_and_set(5, 6).await?;\n\
                if !outcome.succeeded {\n    println!(\"it was {}\", outcome.pre_value);\n}\n\
                # Ok(()) }\n```")]
            pub async fn compare_and_set(
                &self,
                expected: $number,
                new: $number,
            ) -> Result<AtomicOutcome<$number>> {
                self.core.compare_and_set(expected, new).await
            }

            #[doc = concat!("Makes the node with `value` if it does not exist (Curator's \
                `initialize`, which is how a counter gets a starting value other than 0): \
                succeeded when this call made it; otherwise `pre_value` and `post_value` \
                hold the value found.\n\n\
                # Errors\n\n\
                As [`increment`](Self::increment).\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                let made = counter.try_initialize(1000).await?.succeeded;\n\
                # let _ = made; Ok(()) }\n```")]
            pub async fn try_initialize(&self, value: $number) -> Result<AtomicOutcome<$number>> {
                self.core.try_initialize(value).await
            }

            #[doc = concat!("Writes `value` with no check at all (Curator's `forceSet`), \
                making the node if it is missing. Nothing is read, so there is no outcome: \
                a concurrent update may be lost.\n\n\
                # Errors\n\n\
                As [`increment`](Self::increment).\n\n```no_run\n\
                # async fn _example(counter: zk_recipes::counter::", stringify!($name), ") -> zk_recipes::Result<()> {\n\
                counter.force_set(0).await?;\n\
                # Ok(()) }\n```")]
            pub async fn force_set(&self, value: $number) -> Result<()> {
                self.core.force_set(value).await
            }
        }
    };
}

atomic_counter! {
    /// A counter of `i64` stored as 8 bytes big-endian (Curator's `DistributedAtomicLong`,
    /// with which it can share the node).
    ///
    /// Every update is optimistic: read the value and its version, then write the new value
    /// only over that version (or create the node when it is missing); a lost race is tried
    /// again under the [`RetryPolicy`], with a growing, jittered wait. When the tries are
    /// used up, a [`PromotedToLock`] (if set) takes a [`Mutex`] and tries again under it.
    /// Each call returns an [`AtomicOutcome`]: whether it wrote, the values before and
    /// after, and the tries ([`AtomicStats`]). Nothing is cached: each call reads.
    ///
    /// ```no_run
    /// use zk_recipes::counter::AtomicLong;
    /// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let ids = AtomicLong::new(&client, "/app/next-id");
    /// let outcome = ids.increment().await?;
    /// if outcome.succeeded {
    ///     println!("my id: {}", outcome.post_value);
    /// }
    /// # Ok(()) }
    /// ```
    AtomicLong, i64, "8"
}

atomic_counter! {
    /// A counter of `i32` stored as 4 bytes big-endian (Curator's
    /// `DistributedAtomicInteger`; the format of `SharedCount` too, so it can share the
    /// node with a [`SharedCount`](super::SharedCount) and kazoo's
    /// `Counter(support_curator=True)`). It works as [`AtomicLong`] does.
    ///
    /// ```no_run
    /// use zk_recipes::counter::AtomicInteger;
    /// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
    /// let visits = AtomicInteger::new(&client, "/app/visits");
    /// let outcome = visits.add(5).await?;
    /// # let _ = outcome; Ok(()) }
    /// ```
    AtomicInteger, i32, "4"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_wrap_as_java_does() {
        assert_eq!(i64::MAX.plus(1), i64::MIN);
        assert_eq!(i32::MIN.negated(), i32::MIN);
        assert_eq!(5_i32.plus(3_i32.negated()), 2);
    }

    #[test]
    fn failed_tries_count_the_lost_races() {
        let mut outcome = AtomicOutcome::new(0_i64);
        outcome.stats.optimistic_tries = 3;
        outcome.stats.promoted_tries = 1;
        assert_eq!(outcome.failed_tries(), 4);
        outcome.succeeded = true;
        assert_eq!(outcome.failed_tries(), 3);
        // A read makes no try.
        let mut read = AtomicOutcome::new(7_i32);
        read.succeeded = true;
        assert_eq!(read.failed_tries(), 0);
    }
}
