//! Leader election: [`LeaderLatch`] (Curator's `LeaderLatch` layout) and
//! [`LeaderSelector`] (Curator's `LeaderSelector`, on the [`Mutex`](crate::lock::Mutex)
//! layout), with what the peers lack: terms with fencing tokens ([`Leadership`]), leader
//! changes as an ordered stream for participants and onlookers ([`observe`]), and
//! [`proclaim`](LeaderLatch::proclaim), which changes the leader's data without a new
//! election. [`NameRegistry`] builds global names on them: one runner per name at a time,
//! and a cached `whereis`.
//!
//! What an election guarantees, and what it cannot:
//!
//! - At most one participant of live sessions leads at a time, as ZooKeeper sees it; a
//!   participant leads only while its node is first and belongs to its current session
//!   (CURATOR-696 cannot happen).
//! - A leader learns that it may have lost leadership ([`Leadership::lost`]) no later than
//!   another participant can lead, under the default loss policy.
//! - A paused leader can still act on stale beliefs: fence its writes with
//!   [`Leadership::fenced`] or [`Leadership::fencing_token`].

mod latch;
mod leadership;
mod observe;
mod registry;
mod selector;

pub use latch::LeaderLatch;
pub use leadership::Leadership;
pub use observe::{Leader, LeaderObserver, observe};
pub use registry::{Candidate, NameRegistry};
pub use selector::LeaderSelector;
