//! Locks with Curator's node layout and ordering: [`Mutex`] (Curator's
//! `InterProcessMutex`; kazoo's `Lock` in [`Compat::Kazoo`] mode), [`RwLock`]
//! (`InterProcessReadWriteLock`, with downgrade), [`Semaphore`] and [`SemaphoreMutex`]
//! (`InterProcessSemaphoreV2`, `InterProcessSemaphoreMutex`) and [`MultiLock`]
//! (`InterProcessMultiLock`).
//!
//! Every lock shares one shape: an acquire that can be dropped, time out or fail without
//! leaving a node behind; a [`LockGuard`] that releases when dropped, carries a fencing
//! token and a [`fenced`](LockGuard::fenced) multi, and says when the lock is
//! [`lost`](LockGuard::lost); [`participants`](Mutex::participants) and
//! [`holder`](Mutex::holder) without taking the lock. Waiters watch only their predecessor
//! (no herd), with getData, and re-read the children after every wake-up.

mod contest;
pub(crate) mod guard;
pub(crate) mod handle;
mod multi_lock;
mod mutex;
pub(crate) mod names;
mod rwlock;
mod semaphore;

pub use guard::{LockGuard, LostReason, REVOKE, revoke};
pub use handle::{LockStats, Participant};
pub use multi_lock::{MultiLock, MultiLockGuard};
pub use mutex::Mutex;
pub use names::{Compat, sequence_of};
pub use rwlock::RwLock;
pub use semaphore::{MaxLeases, Semaphore, SemaphoreMutex};
