//! Fair sharing of a set of items among the live members of a group: [`Partitioner`]
//! (kazoo's `SetPartitioner`, on its layout) and [`share`], the partition function.
//!
//! | node | kind | data |
//! |---|---|---|
//! | `<path>/party/{hex}-<identifier>` | ephemeral (a kazoo `ShallowParty` member) | the identifier |
//! | `<path>/locks/<item>/{hex}__lock__{seq}` | ephemeral-sequential (a kazoo `Lock`) | the identifier |
//!
//! Each member sorts the members' identifiers and the items, finds its index `i` among
//! the `n` members and takes the items whose index is `i` modulo `n`. An item is worked on
//! only under its lock, so no two live members hold one item: when the members or the
//! items change, every member releases its share before taking its new one, and a member
//! that takes an item waits until its old owner has let it go. A member cut off from the
//! server is told to stop ([`PartitionState::Lost`]) before the server can let anyone else
//! take its items.
//!
//! A kazoo `SetPartitioner` on the same path and items is a member like any other.
//!
//! ```no_run
//! use zk_recipes::partition::Partitioner;
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let partitioner = Partitioner::new(&client, "/jobs", (0..10).map(|i| format!("job-{i}")));
//! partitioner.start()?;
//! let mine = partitioner.wait_for_acquire().await?;
//! println!("working on {mine:?}");
//! partitioner.close().await?;
//! # Ok(()) }
//! ```

mod assign;
mod partitioner;

pub use assign::share;
pub use partitioner::{Assignments, PartitionState, Partitioner};

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync + 'static>() {}

    fn send<T: Send>(_: &T) {}

    #[test]
    fn handles_can_move_to_tasks() {
        send_sync::<Partitioner>();
        send_sync::<PartitionState>();
    }

    /// The futures of the async methods can be spawned (checked when compiled).
    #[allow(dead_code, reason = "compiled, never run")]
    fn futures_are_send(p: &Partitioner) {
        send(&p.wait_for_acquire());
        send(&p.close());
        send(&p.assignments());
    }
}
