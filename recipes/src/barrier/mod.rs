//! Barriers with Curator's and kazoo's node layout: [`Barrier`] (Curator's
//! `DistributedBarrier`, kazoo's `Barrier`) and [`DoubleBarrier`] (Curator's
//! `DistributedDoubleBarrier`, kazoo's `DoubleBarrier`), which share a path with either
//! library's.
//!
//! | recipe | nodes |
//! |---|---|
//! | [`Barrier`] | `<path>` itself, PERSISTENT: the barrier stands while it exists |
//! | [`DoubleBarrier`] | `<path>/<member>` EPHEMERAL per member, `<path>/ready` PERSISTENT once `N` have entered |
//!
//! Every wait re-reads the state of the barrier after each wake-up (a watch event, a
//! reconnect, any change of the session state) and decides only from what the server
//! said: a wake-up alone never lets a wait pass (Curator's GH-1290). Every wait can be dropped,
//! time out or fail without leaving a member node behind (CURATOR-80).
//!
//! ```no_run
//! use std::time::Duration;
//! use zk_recipes::barrier::{Barrier, DoubleBarrier};
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! // One process holds the others back...
//! let gate = Barrier::new(&client, "/jobs/gate");
//! gate.set().await?;
//! // ...and they wait until it is removed.
//! let opened = gate.wait_timeout(Duration::from_secs(30)).await?;
//!
//! // Three processes start and finish a computation together.
//! let mut round = DoubleBarrier::new(&client, "/jobs/round", 3);
//! round.enter().await?;
//! // the computation
//! round.leave().await?;
//! # let _ = opened; Ok(()) }
//! ```

// The module is named after the recipe, as its sibling is.
#[allow(clippy::module_inception)]
mod barrier;
mod double_barrier;

pub use barrier::Barrier;
pub use double_barrier::{DoubleBarrier, READY};

use tokio::time::Instant;

use crate::error::Result;

/// Runs `wait` until `deadline` (if any): `Ok(false)` when the deadline comes first.
async fn by(deadline: Option<Instant>, wait: impl Future<Output = Result<bool>>) -> Result<bool> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, wait)
            .await
            .unwrap_or(Ok(false)),
        None => wait.await,
    }
}
