//! Locks with Curator's node layout and ordering: [`Mutex`] (Curator's
//! `InterProcessMutex`; kazoo's `Lock` in [`Compat::Kazoo`] mode).
//!
//! Every lock shares one shape: an acquire that can be dropped, time out or fail without
//! leaving a node behind; a [`LockGuard`] that releases when dropped, carries a fencing
//! token and a [`fenced`](LockGuard::fenced) multi, and says when the lock is
//! [`lost`](LockGuard::lost); [`participants`](Mutex::participants) and
//! [`holder`](Mutex::holder) without taking the lock. Waiters watch only their predecessor
//! (no herd), with getData, and re-read the children after every wake-up.

mod contest;
mod guard;
mod mutex;
mod names;

pub use guard::{LockGuard, LostReason};
pub use mutex::{LockStats, Mutex, Participant};
pub use names::{Compat, sequence_of};
