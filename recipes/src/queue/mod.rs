//! Queues on Curator's and kazoo's layouts, which lose no item to a lost reply.
//!
//! | here | Curator | kazoo | node layout |
//! |---|---|---|---|
//! | [`SimpleDistributedQueue`] | `SimpleDistributedQueue` | none | `<path>/qn-{seq}` (PS), raw bytes |
//! | [`DistributedQueue`] | `DistributedQueue` (with `lockPath`) | none | `<path>/queue-{seq}` (PS), Curator's item framing; claims `<lock path>/<item>` (E) |
//! | [`DistributedPriorityQueue`] | `DistributedPriorityQueue` | none | `<path>/queue-{1\|0}{priority:08X}{seq}`, lowest priority first |
//! | [`DistributedDelayQueue`] | `DistributedDelayQueue` | none | `<path>/queue-\|{epoch ms:08X}\|{seq}`, each once due |
//! | [`DistributedIdQueue`] | `DistributedIdQueue` | none | `<path>/queue-\|{id}\|{seq}`, in order; removable by id |
//! | [`KazooQueue`] | none | `Queue` | `<path>/entry-{priority:03}-{seq}` (PS), raw bytes |
//! | [`LockingQueue`] | none | `LockingQueue` | `<path>/entries/entry-{priority:03}-{seq}` (PS); claims `<path>/taken/<entry>` (E, data = consumer id) |
//!
//! The queue's own paths are made as the peer library makes them, so that they outlive an
//! empty queue: the item paths of [`DistributedQueue`], [`KazooQueue`] and [`LockingQueue`]
//! (`entries`), [`DistributedQueue`]'s lock path and [`LockingQueue`]'s `taken` are
//! persistent (their missing parents containers). Curator's `DistributedQueue` and kazoo's
//! queues make them once per object; had we made them containers, the server would reap
//! them once empty, and such a peer's next put would fail (kazoo: `NoNodeError`; Curator:
//! its background put is dropped). [`SimpleDistributedQueue`]'s path is a container, as
//! Curator makes it, which re-creates it on every put; so are our own `<path>-claims`.
//!
//! # Delivery
//!
//! Every take goes through a claim: an ephemeral node named after the item under the
//! queue's claims path (`<path>-claims` for the layouts that have none). The claim decides
//! who has the item among consumers that claim, and it makes the outcome of a dropped
//! connection knowable: the item and its claim are deleted in one transaction, so after the
//! reconnect our claim still exists exactly when that transaction was not applied.
//!
//! - **At most once**: `take`, `poll`, `get` of [`SimpleDistributedQueue`],
//!   [`DistributedQueue`] and [`KazooQueue`] delete the item before handing it over. A
//!   consumer that dies after that has lost the item, as with Curator and kazoo; but a
//!   delete whose reply is lost is resolved, never taken for someone else's (the item
//!   loss of Curator's `SimpleDistributedQueue` and kazoo's `Queue`).
//! - **At least once**: `claim` (and [`LockingQueue::get`]) hand over a [`Claimed`] item;
//!   it leaves the queue only on [`Claimed::ack`]. A consumer whose session ends before
//!   that leaves it to the next consumer, which processes it again.
//! - **Exactly once**, for consumers whose effect is a ZooKeeper write:
//!   [`Claimed::ack_with`] commits that write in the transaction that removes the item.
//!
//! Puts are protected: each creates its items together with a receipt,
//! `<items path>-puts/<uuid>`, in one transaction. A put whose reply is lost looks for its
//! receipt on the next connection and sends the transaction again only if it is missing,
//! so an item is never added twice nor lost; only a session that ends first leaves the
//! outcome unknown (`SessionExpired`). (Curator's protected names, a `_c_<uuid>-` prefix on
//! the node, would change the order in which Curator's and kazoo's consumers, which sort
//! by name, take the items.) Receipts are deleted in the background, up to 64 in one
//! transaction, and sit beside the queue where Curator's and kazoo's consumers never look.
//! Receipts left by a producer that died are swept by the next one once an hour old.
//!
//! Puts that a producer makes while its last transaction is on its way go out together in
//! the next one, with one receipt (up to 128 items or 256 KiB): a lone put is sent at once,
//! and a producer with many puts in flight pays one transaction per batch.
//! Waits re-read the queue after every reconnect (CURATOR-623). FIFO holds per producer
//! (sequence order); consumers that claim never take one item twice at once.
//!
//! ```no_run
//! use zk_recipes::queue::SimpleDistributedQueue;
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let queue = SimpleDistributedQueue::new(&client, "/jobs");
//! queue.offer(b"resize image 7").await?;
//! let job = queue.claim().await?;
//! println!("working on {:?}", job.data());
//! job.ack().await?;
//! # Ok(()) }
//! ```

mod claimed;
mod common;
mod curator_family;
mod distributed;
mod engine;
mod framing;
mod kazoo;
mod layout;
mod put;
mod receipts;
mod simple;

pub use claimed::Claimed;
pub use curator_family::{DistributedDelayQueue, DistributedIdQueue, DistributedPriorityQueue};
pub use distributed::DistributedQueue;
pub(crate) use engine::Engine;
pub use kazoo::{KazooQueue, LockingQueue};
pub use simple::SimpleDistributedQueue;

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync + 'static>() {}

    fn send<T: Send>(_: &T) {}

    #[test]
    fn handles_can_move_to_tasks() {
        send_sync::<SimpleDistributedQueue>();
        send_sync::<DistributedQueue>();
        send_sync::<KazooQueue>();
        send_sync::<LockingQueue>();
        send_sync::<Claimed>();
    }

    /// The futures of the async methods can be spawned (checked when compiled).
    #[allow(dead_code, reason = "compiled, never run")]
    fn futures_are_send(q: &SimpleDistributedQueue, l: &LockingQueue, c: Claimed) {
        send(&q.take());
        send(&q.claim());
        send(&l.get(std::time::Duration::ZERO));
        send(&c.ack_with(|m| m));
    }
}
