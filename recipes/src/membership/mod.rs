//! Group membership on Curator's and kazoo's layouts: [`GroupMember`] (Curator's
//! `GroupMember`), [`Party`] and [`ShallowParty`] (kazoo's), each sharing its path with
//! the peer library's members, and [`MembershipWatch`], the group's members as a stream
//! of changes with the latest members at hand.
//!
//! | recipe | member node (ephemeral) | data | id |
//! |---|---|---|---|
//! | [`GroupMember`] | `<path>/<id>` | the payload | the node name |
//! | [`Party`] | `<path>/{hex}__party__` | the identifier | the data |
//! | [`ShallowParty`] | `<path>/{hex}-<identifier>` | the identifier | the name after the first `-` |
//!
//! Every member node is kept by a [`PersistentNode`](crate::node::PersistentNode): made
//! again when deleted or found missing after a reconnect, never made twice, deleted on
//! leave, close or drop. A [`GroupMember`] given a session factory also joins again on a
//! new session once its session ends (kazoo's parties never re-join). Views read the group
//! again after every reconnect and report only what changed.
//!
//! ```no_run
//! use zk_recipes::membership::{GroupMember, watch_group};
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let me = GroupMember::new(&client, "/groups/workers", "worker-7").payload("10.0.0.7");
//! me.start()?;
//! // Anyone can follow the group without being in it.
//! let group = watch_group(&client, "/groups/workers");
//! println!("{:?}", group.current().await.keys().collect::<Vec<_>>());
//! # Ok(()) }
//! ```

mod group_member;
mod party;
mod view;

pub use group_member::GroupMember;
pub use party::{Party, ShallowParty};
pub use view::{Member, Members, MembershipEvent, MembershipWatch};

/// Follows the Curator `GroupMember` group at `path` without joining it: its members as a
/// [`MembershipWatch`], each [`Member`]'s id its node name and data its payload. It ends
/// with the session, or when dropped. Needs a tokio runtime (else it reads nothing).
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(client: zk_client::Client) {
/// let mut group = zk_recipes::membership::watch_group(&client, "/groups/workers");
/// while let Some(change) = group.next().await {
///     println!("{change:?}");
/// }
/// # }
/// ```
pub fn watch_group(client: &zk_client::Client, path: &str) -> MembershipWatch {
    view::View::watch(client, path, view::Layout::Curator)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::node::{NodeStates, PersistentNode, PersistentTtlNode};

    fn send_sync<T: Send + Sync + 'static>() {}

    fn send<T: Send>(_: &T) {}

    #[test]
    fn handles_can_move_to_tasks() {
        send_sync::<PersistentNode>();
        send_sync::<PersistentTtlNode>();
        send_sync::<NodeStates>();
        send_sync::<GroupMember>();
        send_sync::<Party>();
        send_sync::<ShallowParty>();
        send_sync::<MembershipWatch>();
    }

    /// The futures of the async methods can be spawned (checked when compiled).
    #[allow(dead_code, reason = "compiled, never run")]
    fn futures_are_send(node: &PersistentNode, me: &GroupMember, party: &Party) {
        send(&node.set_data("x"));
        send(&node.wait_for_initial_create(Duration::ZERO));
        send(&node.close());
        send(&me.set_payload("x"));
        send(&me.close());
        send(&party.join());
        send(&party.leave());
        send(&party.participants());
    }
}
