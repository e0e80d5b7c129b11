//! Counters and shared values with Curator's and kazoo's byte formats, on a single node
//! each: [`SharedValue`] and [`SharedCount`] (Curator's `SharedValue` and `SharedCount`),
//! [`AtomicLong`] and [`AtomicInteger`] (`DistributedAtomicLong`,
//! `DistributedAtomicInteger`, with [`PromotedToLock`]), and [`Counter`] (kazoo's
//! `Counter`).
//!
//! | here | node data | shares the node with |
//! |---|---|---|
//! | [`SharedValue`] | raw bytes | Curator `SharedValue` |
//! | [`SharedCount`] | `i32`, 4 bytes big-endian (42 = `00 00 00 2a`) | Curator `SharedCount`, `DistributedAtomicInteger`; kazoo `Counter(support_curator=True)`; our [`AtomicInteger`], [`Counter`] in [`CounterFormat::Curator`] |
//! | [`AtomicInteger`] | `i32`, 4 bytes big-endian | the same |
//! | [`AtomicLong`] | `i64`, 8 bytes big-endian (9 = `00 00 00 00 00 00 00 09`) | Curator `DistributedAtomicLong` |
//! | [`Counter`] | ASCII decimal (`42`), or 4 bytes big-endian with `support_curator` | kazoo `Counter` |
//!
//! The formats cannot always be told apart, so every process on a node must use one of
//! them: a kazoo ASCII counter of four digits (`1234`) is four bytes, which Curator's
//! format reads as 825,373,492, as Curator does. Data of the wrong length is refused
//! ([`Error::Corrupt`](crate::Error::Corrupt)).
//!
//! Every write that depends on the value is checked against the version it was computed
//! from (`setData` with a version), so concurrent writers never lose an update: the loser
//! reads again and retries, or is told. Two rules hold for all of them:
//!
//! - A lost race is retried ([`RetryPolicy`]); a connection loss while reading is waited
//!   out; a connection loss while *writing* is returned as an error
//!   ([`Error::Zk`](crate::Error::Zk) with `ConnectionLoss`), because the write may have
//!   been applied and trying again could count twice. Curator and kazoo retry it.
//! - Nothing waits forever: retries are bounded, and every wait ends when the session does.
//!
//! [`SharedValue`] and [`SharedCount`] keep the latest value in memory, kept current by a
//! watch that is read again after every reconnect (CURATOR-311), ordered by the node's
//! mzxid rather than its version (CURATOR-688), and offer it as a stream
//! ([`ValueChanges`]). The atomics and [`Counter`] read the node on every call.
//!
//! ```no_run
//! use zk_recipes::counter::{AtomicLong, SharedCount};
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let visits = SharedCount::new(&client, "/app/visits", 0);
//! visits.start().await?;
//! let seen = visits.get_versioned();
//! visits.try_set(seen.value + 1, seen.version).await?;
//!
//! let ids = AtomicLong::new(&client, "/app/next-id");
//! let outcome = ids.increment().await?;
//! assert!(!outcome.succeeded || outcome.post_value == outcome.pre_value + 1);
//! # Ok(()) }
//! ```

mod atomic;
mod format;
mod kazoo_counter;
mod retry;
mod shared_count;
mod shared_value;

pub use atomic::{AtomicInteger, AtomicLong, AtomicOutcome, AtomicStats, PromotedToLock};
pub use kazoo_counter::{Counter, CounterChange, CounterFormat};
pub use retry::RetryPolicy;
pub use shared_count::SharedCount;
pub use shared_value::{SharedValue, ValueChanges, Versioned};
