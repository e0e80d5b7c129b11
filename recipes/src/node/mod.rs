//! Nodes that stay: [`PersistentNode`] (Curator's `PersistentNode`, ephemeral or any mode,
//! optionally protected and sequential) and [`PersistentTtlNode`] (Curator's, a TTL node
//! kept alive by touching a child), plus [`create_ttl`] for a one-off TTL node.
//!
//! | recipe | nodes |
//! |---|---|
//! | [`PersistentNode`] | `<path>` in its mode; protected: `<parent>/_c_{uuid}-<name>`; sequential: `{seq}` appended |
//! | [`PersistentTtlNode`] | `<path>` PERSISTENT_WITH_TTL, and `<path>/touch` PERSISTENT_WITH_TTL set every `ttl / 2` |
//!
//! What a persistent node guarantees:
//!
//! - It is made again after it is deleted, and after a reconnect that finds it missing;
//!   with a session factory, also on the new session after the old one ended.
//! - It is never there twice: a create whose reply was lost is found again (by its path,
//!   or by its protected prefix), and a node found at its path is adopted only when its
//!   `ephemeralOwner` is our session (rule 7.2 of the recipes notes); a node left by an
//!   earlier session of ours is deleted, one of another session waited out.
//! - Closing or dropping it deletes it, also when it is closed in the middle of a create
//!   (whose node is then found and deleted).
//!
//! Without protection, a *sequential* node whose create reply was lost cannot be told
//! apart from others, so the lost one stays until the session ends: use
//! [`protected`](PersistentNode::protected) with the sequential modes.
//!
//! ```no_run
//! use std::time::Duration;
//! use zk_client::CreateMode;
//! use zk_recipes::node::PersistentNode;
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let node = PersistentNode::new(&client, "/queue/worker-")
//!     .mode(CreateMode::EphemeralSequential)
//!     .protected(true)
//!     .data("host-a");
//! node.start()?;
//! node.wait_for_initial_create(Duration::from_secs(10)).await?;
//! println!("registered as {:?}", node.actual_path());
//! # Ok(()) }
//! ```

mod driver;
mod persistent_node;
mod ttl;

pub use persistent_node::{NodeState, NodeStates, PersistentNode};
pub use ttl::{PersistentTtlNode, TOUCH_CHILD, TTL_REMEDY, create_ttl};
