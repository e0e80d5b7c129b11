//! GroupMember, Party and ShallowParty on a real server: their layouts, views that agree
//! across sessions and catch up after reconnects, members made again after deletes and
//! expiry, and the named regressions for membership views.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use zk_client::{Client, CreateOptions};
use zk_recipes::Error;
use zk_recipes::membership::{
    GroupMember, MembershipEvent, MembershipWatch, Party, ShallowParty, watch_group,
};
use zk_recipes::node::NodeState;

use crate::node::{expire, extended, sessions, through, until};
use crate::support::{children, client, connect, until_children, within};

/// `pairs` as a members map.
fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, Bytes> {
    pairs
        .iter()
        .map(|(id, payload)| ((*id).to_owned(), Bytes::from(payload.to_string())))
        .collect()
}

/// The ids and data a watch sees now.
fn seen(watch: &MembershipWatch) -> BTreeMap<String, Bytes> {
    watch
        .members()
        .unwrap_or_default()
        .into_values()
        .map(|m| (m.id, m.data))
        .collect()
}

/// Waits until `member` sees exactly `pairs`.
async fn until_members(member: &GroupMember, pairs: &[(&str, &str)]) {
    let want = map(pairs);
    until(|| member.members() == want).await;
}

/// The next event of `watch` that `pick` wants, skipping others.
async fn next_event(
    watch: &mut MembershipWatch,
    mut pick: impl FnMut(&MembershipEvent) -> bool,
) -> MembershipEvent {
    within(async {
        loop {
            let event = watch.next().await.expect("the watch ended");
            if pick(&event) {
                return event;
            }
        }
    })
    .await
}

fn member(client: &Client, id: &str, payload: &str) -> GroupMember {
    let member = GroupMember::new(client, "/g", id).payload(payload.to_owned());
    member.start().unwrap();
    member
}

#[tokio::test]
async fn group_member_views_of_three_sessions_agree() {
    let (admin, zk) = client().await;
    let clients = [connect(&zk).await, connect(&zk).await, connect(&zk).await];
    let a = member(&clients[0], "a", "pa");
    assert!(a.members().contains_key("a"), "always includes itself");
    let mut a_changes = a.watch().unwrap();
    let b = member(&clients[1], "b", "pb");
    let c = member(&clients[2], "c", "pc");
    let all = [("a", "pa"), ("b", "pb"), ("c", "pc")];
    for m in [&a, &b, &c] {
        until_members(m, &all).await;
    }
    // Curator's layout: <path>/<id>, ephemeral, data = payload.
    assert_eq!(children(&admin, "/g").await, ["a", "b", "c"]);
    for (k, (id, payload)) in all.iter().enumerate() {
        let (data, stat) = admin.get_data(&format!("/g/{id}")).await.unwrap();
        assert_eq!(&data[..], payload.as_bytes());
        assert_eq!(stat.ephemeral_owner, clients[k].session_id());
    }
    let mut joined = Vec::new();
    while joined.len() < 3 {
        if let MembershipEvent::Joined(m) = next_event(&mut a_changes, |_| true).await {
            joined.push(m.id);
        }
    }
    joined.sort();
    assert_eq!(joined, ["a", "b", "c"]);
    let onlooker = watch_group(&admin, "/g");
    assert_eq!(onlooker.current().await.len(), 3);

    b.set_payload("pb2").await.unwrap();
    let all = [("a", "pa"), ("b", "pb2"), ("c", "pc")];
    for m in [&a, &b, &c] {
        until_members(m, &all).await;
    }
    match next_event(&mut a_changes, |_| true).await {
        MembershipEvent::Updated { previous, member } => {
            assert_eq!(
                (previous.id.as_str(), &previous.data[..]),
                ("b", &b"pb"[..])
            );
            assert_eq!(&member.data[..], b"pb2");
        }
        other => panic!("{other:?}"),
    }

    c.close().await.unwrap();
    for m in [&a, &b] {
        until_members(m, &[("a", "pa"), ("b", "pb2")]).await;
    }
    let left = next_event(&mut a_changes, |_| true).await;
    assert!(
        matches!(&left, MembershipEvent::Left(m) if m.id == "c"),
        "{left:?}"
    );
    until(|| seen(&onlooker) == map(&[("a", "pa"), ("b", "pb2")])).await;

    a.close().await.unwrap();
    assert_eq!(
        within(a_changes.next()).await,
        None,
        "the watch ends on close"
    );
    b.close().await.unwrap();
    until_children(&admin, "/g", |n| n == 0).await;
}

#[tokio::test]
async fn a_member_deleted_by_an_admin_joins_again_and_the_others_see_it() {
    let (admin, zk) = client().await;
    let (ca, cb) = (connect(&zk).await, connect(&zk).await);
    let a = member(&ca, "a", "pa");
    let b = member(&cb, "b", "pb");
    until_members(&b, &[("a", "pa"), ("b", "pb")]).await;
    let mut changes = b.watch().unwrap();
    admin.delete("/g/a", None).await.unwrap();
    let left = next_event(&mut changes, |e| matches!(e, MembershipEvent::Left(_))).await;
    assert_eq!(left.member().id, "a");
    let back = next_event(&mut changes, |e| matches!(e, MembershipEvent::Joined(_))).await;
    assert_eq!(
        (back.member().id.as_str(), &back.member().data[..]),
        ("a", &b"pa"[..])
    );
    assert_eq!(children(&admin, "/g").await, ["a", "b"]);
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_view_catches_up_after_a_reconnect() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (viewer_client, endpoint) = through(&zk, "viewer", build).await;
    let viewer = member(&viewer_client, "v", "pv");
    let (c1, c2) = (connect(&zk).await, connect(&zk).await);
    let stays = member(&c1, "stays", "s1");
    let goes = member(&c2, "goes", "g1");
    until_members(&viewer, &[("goes", "g1"), ("stays", "s1"), ("v", "pv")]).await;
    let mut changes = viewer.watch().unwrap();
    for _ in 0..3 {
        next_event(&mut changes, |_| true).await;
    }

    let cut = endpoint.blackhole();
    endpoint.reset_all();
    stays.set_payload("s2").await.unwrap();
    goes.close().await.unwrap();
    let c3 = connect(&zk).await;
    let comes = member(&c3, "comes", "c1");
    comes.wait_joined(Duration::from_secs(30)).await.unwrap();
    drop(cut);
    until_members(&viewer, &[("comes", "c1"), ("stays", "s2"), ("v", "pv")]).await;
    let mut events = Vec::new();
    while events.len() < 3 {
        events.push(next_event(&mut changes, |_| true).await);
    }
    assert!(
        events.iter().any(
            |e| matches!(e, MembershipEvent::Left(m) if m.id == "goes" && &m.data[..] == b"g1")
        ),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, MembershipEvent::Joined(m) if m.id == "comes"))
    );
    assert!(events.iter().any(
        |e| matches!(e, MembershipEvent::Updated { member, .. } if member.id == "stays" && &member.data[..] == b"s2")
    ));
    for m in [&viewer, &stays, &comes] {
        m.close().await.unwrap();
    }
    until_children(&admin, "/g", |n| n == 0).await;
}

/// Curator commit 127efd5e (split brain / ABA): caches compared only `Stat.version`, so a
/// member deleted and made again with other data but the same version, while the view was
/// cut off, was not reported. Ours reports it as left and joined again, with its new data;
/// and a change of data made while cut off as an update.
#[tokio::test]
async fn commit_127efd5e_a_member_made_again_with_the_same_version_is_seen() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (viewer_client, endpoint) = through(&zk, "aba", build).await;
    let mut view = watch_group(&viewer_client, "/g");
    let other = connect(&zk).await;
    other
        .create_all("/g/x", b"one", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let joined = next_event(&mut view, |_| true).await;
    assert_eq!(&joined.member().data[..], b"one");
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    other.delete("/g/x", None).await.unwrap();
    let (_, stat) = other
        .create("/g/x", b"two", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(stat.version, 0, "the same version as before");
    drop(cut);
    let left = next_event(&mut view, |_| true).await;
    assert!(
        matches!(&left, MembershipEvent::Left(m) if &m.data[..] == b"one"),
        "{left:?}"
    );
    let joined = next_event(&mut view, |_| true).await;
    assert!(
        matches!(&joined, MembershipEvent::Joined(m) if &m.data[..] == b"two"),
        "{joined:?}"
    );
    assert_ne!(left.member().czxid, joined.member().czxid);
    // A change of data while cut off: an update.
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    other.set_data("/g/x", b"three", None).await.unwrap();
    drop(cut);
    match next_event(&mut view, |_| true).await {
        MembershipEvent::Updated { previous, member } => {
            assert_eq!(&previous.data[..], b"two");
            assert_eq!(&member.data[..], b"three");
        }
        other => panic!("{other:?}"),
    }
    other.close().await;
    let left = next_event(&mut view, |_| true).await;
    assert!(matches!(left, MembershipEvent::Left(_)), "{left:?}");
    drop(admin);
}

#[tokio::test]
async fn duplicate_ids_wait_their_turn_instead_of_taking_a_node_over() {
    let (admin, zk) = client().await;
    let (c1, c2) = (connect(&zk).await, connect(&zk).await);
    let first = member(&c1, "same", "first");
    first.wait_joined(Duration::from_secs(30)).await.unwrap();
    let second = member(&c2, "same", "second");
    until(|| matches!(second.state(), NodeState::Blocked { .. })).await;
    let (data, stat) = admin.get_data("/g/same").await.unwrap();
    assert_eq!(
        (&data[..], stat.ephemeral_owner),
        (&b"first"[..], c1.session_id())
    );
    first.close().await.unwrap();
    second.wait_joined(Duration::from_secs(30)).await.unwrap();
    until(|| second.state().exists()).await;
    let (data, stat) = admin.get_data("/g/same").await.unwrap();
    assert_eq!(
        (&data[..], stat.ephemeral_owner),
        (&b"second"[..], c2.session_id())
    );
    second.close().await.unwrap();
}

#[tokio::test]
async fn a_member_with_a_session_factory_joins_again_after_expiry() {
    let (admin, zk) = client().await;
    let (ca, cb) = (connect(&zk).await, connect(&zk).await);
    let a = GroupMember::new(&ca, "/g", "a")
        .payload("pa")
        .session_factory(sessions(&zk));
    a.start().unwrap();
    let b = member(&cb, "b", "pb");
    until_members(&a, &[("a", "pa"), ("b", "pb")]).await;
    let mut a_changes = a.watch().unwrap();
    for _ in 0..2 {
        next_event(&mut a_changes, |_| true).await;
    }
    expire(&zk, &ca).await;
    until(|| a.node().client().session_id() != ca.session_id() && a.state().exists()).await;
    let stat = admin.exists("/g/a").await.unwrap().expect("a is back");
    assert_eq!(stat.ephemeral_owner, a.node().client().session_id());
    until_members(&b, &[("a", "pa"), ("b", "pb")]).await;
    // a's view goes on, on the new session.
    b.set_payload("pb2").await.unwrap();
    let updated = next_event(&mut a_changes, |e| {
        matches!(e, MembershipEvent::Updated { .. })
    })
    .await;
    assert_eq!(&updated.member().data[..], b"pb2");
    until_members(&a, &[("a", "pa"), ("b", "pb2")]).await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_member_id_must_be_a_node_name() {
    let (client, _zk) = client().await;
    for id in ["", "a/b", ".."] {
        let m = GroupMember::new(&client, "/g", id);
        assert!(
            matches!(m.start(), Err(Error::InvalidArgument(_))),
            "{id:?}"
        );
        assert!(matches!(m.watch(), Err(Error::InvalidArgument(_))));
    }
}

/// CURATOR-388: PathChildrenCache stopped working once its container parent was reaped
/// and made again. Ours goes on: the group's container is reaped when the last member
/// leaves, a new member makes it again (RECIPES.md §4.6 #42), and the view reports it.
#[tokio::test]
async fn curator_388_a_view_goes_on_after_its_container_parent_is_reaped() {
    let (client, connect_string) = extended("c388").await;
    let mut view = watch_group(&client, "/group");
    assert!(view.current().await.is_empty());
    let first = GroupMember::new(&client, "/group", "first").payload("1");
    first.start().unwrap();
    let joined = next_event(&mut view, |_| true).await;
    assert_eq!(joined.member().id, "first");
    first.close().await.unwrap();
    assert!(matches!(
        next_event(&mut view, |_| true).await,
        MembershipEvent::Left(_)
    ));
    // The server reaps the empty container (its check runs every second here).
    within(async {
        while client.exists("/group").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let other = Client::connect(&connect_string).await.unwrap();
    let second = GroupMember::new(&other, "/group", "second").payload("2");
    second.start().unwrap();
    let joined = next_event(&mut view, |_| true).await;
    assert_eq!(
        (joined.member().id.as_str(), &joined.member().data[..]),
        ("second", &b"2"[..])
    );
    second.close().await.unwrap();
    other.close().await;
    client.close().await;
}

#[tokio::test]
async fn a_party_on_kazoos_layout() {
    let (admin, zk) = client().await;
    let (c1, c2) = (connect(&zk).await, connect(&zk).await);
    let alpha = Party::new(&c1, "/party", "alpha");
    let beta = Party::new(&c2, "/party", "beta");
    assert!(alpha.is_empty().await.unwrap());
    let mut changes = alpha.watch();
    alpha.join().await.unwrap();
    alpha.join().await.unwrap();
    beta.join().await.unwrap();
    assert!(alpha.is_participating() && beta.is_participating());
    // A node that is not a member is not counted.
    admin
        .create("/party/ready", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    for (party, client, id) in [(&alpha, &c1, "alpha"), (&beta, &c2, "beta")] {
        let name = party.node_name();
        assert_eq!(name.len(), 32 + "__party__".len());
        assert!(
            name[..32]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let (data, stat) = admin.get_data(&format!("/party/{name}")).await.unwrap();
        assert_eq!(&data[..], id.as_bytes());
        assert_eq!(stat.ephemeral_owner, client.session_id());
    }
    let mut ids = alpha.participants().await.unwrap();
    ids.sort();
    assert_eq!(ids, ["alpha", "beta"]);
    assert_eq!(beta.len().await.unwrap(), 2);
    let mut joined = Vec::new();
    while joined.len() < 2 {
        if let MembershipEvent::Joined(m) = next_event(&mut changes, |_| true).await {
            joined.push(m.id);
        }
    }
    joined.sort();
    assert_eq!(joined, ["alpha", "beta"]);

    let name = beta.node_name().to_owned();
    assert!(beta.leave().await.unwrap());
    assert!(!beta.leave().await.unwrap());
    assert!(!beta.is_participating());
    assert_eq!(alpha.participants().await.unwrap(), ["alpha"]);
    let left = next_event(&mut changes, |_| true).await;
    assert!(
        matches!(&left, MembershipEvent::Left(m) if m.id == "beta"),
        "{left:?}"
    );
    // Joined again: the same node name, as kazoo's.
    beta.join().await.unwrap();
    assert!(children(&admin, "/party").await.contains(&name));
    // The path deleted after all left: joined again (kazoo's cached `ensured_path`
    // fails there, §4.6 #42).
    alpha.leave().await.unwrap();
    beta.leave().await.unwrap();
    admin.delete_all("/party").await.unwrap();
    alpha.join().await.unwrap();
    assert_eq!(alpha.participants().await.unwrap(), ["alpha"]);
    alpha.leave().await.unwrap();
    assert!(alpha.is_empty().await.unwrap());
}

#[tokio::test]
async fn a_party_node_deleted_by_an_admin_is_made_again_and_expiry_ends_the_membership() {
    let (admin, zk) = client().await;
    let member = connect(&zk).await;
    let party = Party::new(&member, "/party", "alpha");
    party.join().await.unwrap();
    let node = format!("/party/{}", party.node_name());
    // Unlike kazoo's, a joined party keeps its node.
    admin.delete(&node, None).await.unwrap();
    within(async {
        while admin.exists(&node).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    until(|| party.is_participating()).await;
    // Like kazoo's, it lives on one session: expiry ends the membership.
    expire(&zk, &member).await;
    until(|| !party.is_participating()).await;
    assert!(children(&admin, "/party").await.is_empty());
    assert!(matches!(party.join().await, Err(Error::SessionEnded(_))));
    assert_eq!(admin.exists(&node).await.unwrap(), None);
}

#[tokio::test]
async fn a_shallow_party_names_its_members() {
    let (admin, zk) = client().await;
    let (c1, c2) = (connect(&zk).await, connect(&zk).await);
    let alpha = ShallowParty::new(&c1, "/shallow", "alpha");
    let beta = ShallowParty::new(&c2, "/shallow", "beta-2");
    let mut changes = alpha.watch();
    alpha.join().await.unwrap();
    beta.join().await.unwrap();
    let names = children(&admin, "/shallow").await;
    assert_eq!(names.len(), 2);
    for name in &names {
        let (hex, id) = name.split_once('-').unwrap();
        assert_eq!(hex.len(), 32);
        assert!(id == "alpha" || id == "beta-2", "{name}");
        let (data, _) = admin.get_data(&format!("/shallow/{name}")).await.unwrap();
        assert_eq!(&data[..], id.as_bytes());
    }
    let mut ids = beta.participants().await.unwrap();
    ids.sort();
    assert_eq!(ids, ["alpha", "beta-2"]);
    assert_eq!(alpha.len().await.unwrap(), 2);
    let mut joined = Vec::new();
    while joined.len() < 2 {
        if let MembershipEvent::Joined(m) = next_event(&mut changes, |_| true).await {
            joined.push(m.id);
        }
    }
    joined.sort();
    assert_eq!(joined, ["alpha", "beta-2"]);
    beta.leave().await.unwrap();
    let left = next_event(&mut changes, |_| true).await;
    assert!(
        matches!(&left, MembershipEvent::Left(m) if m.id == "beta-2"),
        "{left:?}"
    );
    alpha.leave().await.unwrap();
    let bad = ShallowParty::new(&c1, "/shallow", "a/b");
    assert!(matches!(bad.join().await, Err(Error::InvalidArgument(_))));
}

#[tokio::test]
async fn a_cancelled_join_leaves_no_node() {
    let (admin, zk) = client().await;
    admin
        .create("/cj", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (client, endpoint) = through(&zk, "cj", build).await;
    let party = Party::new(&client, "/cj", "x");
    let hole = endpoint.blackhole();
    let join = tokio::time::timeout(Duration::from_millis(200), party.join()).await;
    assert!(join.is_err(), "the join cannot finish while cut off");
    drop(hole);
    tokio::time::sleep(Duration::from_millis(500)).await;
    until_children(&admin, "/cj", |n| n == 0).await;
    assert!(!party.is_participating());
    party.join().await.unwrap();
    assert_eq!(children(&admin, "/cj").await, [party.node_name()]);
    party.leave().await.unwrap();
}
