//! [`MultiLock`]: Curator's `InterProcessMultiLock`, several mutexes taken as one.

use std::time::Duration;

use super::guard::LockGuard;
use super::mutex::Mutex;
use crate::error::Result;

/// Several [`Mutex`]es taken as one: acquired in the order given, released in reverse;
/// when one cannot be had (an error, the deadline), those already held are given back
/// before the acquire returns.
///
/// Take multi-locks in one global order everywhere, or two of them can wait for each other
/// forever.
///
/// ```no_run
/// use zk_recipes::lock::{MultiLock, Mutex};
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let both = MultiLock::new(vec![
///     Mutex::new(&client, "/locks/account-1"),
///     Mutex::new(&client, "/locks/account-2"),
/// ]);
/// let guards = both.acquire().await?;
/// guards.release().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MultiLock {
    locks: Vec<Mutex>,
}

/// The guards of a [`MultiLock`]: released in reverse order (dropped: in the background).
#[derive(Debug)]
#[must_use = "the locks are released when the guard is dropped"]
pub struct MultiLockGuard {
    /// In acquisition order.
    guards: Vec<LockGuard>,
}

impl MultiLock {
    /// The locks, in the order to take them.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::lock::{MultiLock, Mutex};
    /// let locks = MultiLock::new(vec![Mutex::new(&client, "/a"), Mutex::new(&client, "/b")]);
    /// # drop(locks); }
    /// ```
    pub fn new(locks: Vec<Mutex>) -> Self {
        Self { locks }
    }

    /// Waits for every lock, in order.
    ///
    /// # Errors
    ///
    /// The first error of [`Mutex::acquire`]; the locks taken before it are released.
    ///
    /// ```no_run
    /// # async fn _example(locks: zk_recipes::lock::MultiLock) -> zk_recipes::Result<()> {
    /// let guards = locks.acquire().await?;
    /// # drop(guards); Ok(()) }
    /// ```
    pub async fn acquire(&self) -> Result<MultiLockGuard> {
        self.acquire_with(None).await
    }

    /// Waits at most `timeout` for all of them.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`](crate::Error::Timeout) at the deadline, with every lock released;
    /// otherwise as [`acquire`](Self::acquire).
    ///
    /// ```no_run
    /// # async fn _example(locks: zk_recipes::lock::MultiLock) -> zk_recipes::Result<()> {
    /// let guards = locks.acquire_timeout(std::time::Duration::from_secs(2)).await?;
    /// # drop(guards); Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<MultiLockGuard> {
        self.acquire_with(Some(tokio::time::Instant::now() + timeout))
            .await
    }

    async fn acquire_with(&self, deadline: Option<tokio::time::Instant>) -> Result<MultiLockGuard> {
        let mut held = MultiLockGuard { guards: Vec::new() };
        for lock in &self.locks {
            let guard = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    lock.acquire_timeout(left).await
                }
                None => lock.acquire().await,
            };
            match guard {
                Ok(guard) => held.guards.push(guard),
                Err(e) => {
                    held.release().await?;
                    return Err(e);
                }
            }
        }
        Ok(held)
    }
}

impl MultiLockGuard {
    /// The guards, in acquisition order (fencing tokens, `lost()` of each).
    ///
    /// ```no_run
    /// # async fn _example(locks: zk_recipes::lock::MultiLock) -> zk_recipes::Result<()> {
    /// let guards = locks.acquire().await?;
    /// let tokens: Vec<i64> = guards.guards().iter().map(|g| g.fencing_token()).collect();
    /// # drop(tokens); Ok(()) }
    /// ```
    pub fn guards(&self) -> &[LockGuard] {
        &self.guards
    }

    /// Releases every lock, in reverse order.
    ///
    /// # Errors
    ///
    /// The first error of [`LockGuard::release`]; the others are released anyway.
    ///
    /// ```no_run
    /// # async fn _example(locks: zk_recipes::lock::MultiLock) -> zk_recipes::Result<()> {
    /// locks.acquire().await?.release().await
    /// # }
    /// ```
    pub async fn release(mut self) -> Result<()> {
        let mut first_error = None;
        while let Some(guard) = self.guards.pop() {
            if let Err(e) = guard.release().await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for MultiLockGuard {
    fn drop(&mut self) {
        // In reverse order, each in the background.
        while let Some(guard) = self.guards.pop() {
            drop(guard);
        }
    }
}
