//! A named test for each bug of Curator's history about persistent nodes and connection
//! state that applies here (RECIPES.md §4.6), written so it fails on the buggy behaviour.

use std::time::{Duration, Instant};

use futures::StreamExt;
use zk_client::{Client, CreateMode, CreateOptions};
use zk_recipes::node::{NodeState, PersistentNode};
use zk_recipes::state::{ConnectionState, ConnectionStates};

use crate::node::{expire, sessions, through, until};
use crate::support::{children, client, connect, until_children, within};

/// CURATOR-190: a protected persistent node made a new protected name at each re-creation,
/// leaving several nodes. Ours keeps one prefix for its life: over two session expiries
/// (and a delete) there is exactly one node, always with the same prefix.
#[tokio::test]
async fn curator_190_a_protected_sequential_node_stays_one_node_over_two_expiries() {
    let (admin, zk) = client().await;
    let first = connect(&zk).await;
    let node = PersistentNode::new(&first, "/c190/member-")
        .mode(CreateMode::EphemeralSequential)
        .protected(true)
        .session_factory(sessions(&zk));
    node.start().unwrap();
    until(|| node.state().exists()).await;
    let mut name = node.actual_path().unwrap();
    let prefix = zk_recipes::protected::prefix_of(name.rsplit('/').next().unwrap())
        .unwrap()
        .to_owned();
    for round in 0..3 {
        let before = node.actual_path();
        if round == 2 {
            admin.delete(&name, None).await.unwrap();
        } else {
            expire(&zk, &node.client()).await;
        }
        until(|| node.state().exists() && node.actual_path() != before).await;
        name = node.actual_path().unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = children(&admin, "/c190").await;
        assert_eq!(now.len(), 1, "round {round}: {now:?}");
        assert!(now[0].starts_with(&prefix), "round {round}: {now:?}");
        let stat = admin
            .exists(&format!("/c190/{}", now[0]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stat.ephemeral_owner, node.client().session_id());
    }
    node.close().await.unwrap();
    assert!(children(&admin, "/c190").await.is_empty());
}

/// Curator commit e5afda58: a node closed while its initial create was in flight was
/// left behind. Ours finds and deletes what the create made, for a fixed path and a
/// protected sequential one, also when the create reaches the server only after close.
#[tokio::test]
async fn e5afda58_a_node_closed_during_its_initial_create_leaves_nothing() {
    let (admin, zk) = client().await;
    admin
        .create("/e5", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let fixed = |client: &Client| PersistentNode::new(client, "/e5/fixed");
    let protected = |client: &Client| {
        PersistentNode::new(client, "/e5/seq-")
            .mode(CreateMode::EphemeralSequential)
            .protected(true)
    };
    // Closed at once, many times.
    let client = connect(&zk).await;
    for _ in 0..10 {
        for node in [fixed(&client), protected(&client)] {
            node.start().unwrap();
            node.close().await.unwrap();
        }
    }
    // Closed while the create is held in the network, which delivers it after close.
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (cut_off, endpoint) = through(&zk, "e5", build).await;
    for node in [fixed(&cut_off), protected(&cut_off)] {
        let hole = endpoint.blackhole();
        node.start().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        node.close().await.unwrap();
        drop(hole);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    until_children(&admin, "/e5", |n| n == 0).await;
    // And the same with a drop instead of close.
    let hole = endpoint.blackhole();
    let node = fixed(&cut_off);
    node.start().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(node);
    drop(hole);
    tokio::time::sleep(Duration::from_millis(500)).await;
    until_children(&admin, "/e5", |n| n == 0).await;
}

/// CURATOR-525 / CURATOR-405: the connection-state machine could end in LOST although the
/// connection was repaired. After resets in quick succession and a cut shorter than the
/// session, the client is connected, the last connection state is `Reconnected`, and the
/// node never failed and exists, owned by the session.
#[tokio::test]
async fn curator_525_lost_is_never_the_final_state_while_connected() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (client, endpoint) = through(&zk, "c525", build).await;
    let mut connection = ConnectionStates::new(&client);
    let node = PersistentNode::new(&client, "/c525/node");
    let mut states = node.states();
    node.start().unwrap();
    until(|| node.state().exists()).await;
    for _ in 0..5 {
        endpoint.reset_all();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hole = endpoint.blackhole();
    endpoint.reset_all();
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(hole);
    until(|| client.state().is_connected()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    until(|| node.state().exists()).await;
    let mut last = None;
    while let Ok(Some(state)) =
        tokio::time::timeout(Duration::from_millis(200), connection.next()).await
    {
        assert_ne!(state, ConnectionState::Lost);
        last = Some(state);
    }
    assert_eq!(last, Some(ConnectionState::Reconnected));
    node.close().await.unwrap();
    while let Some(state) = within(states.next()).await {
        assert!(!matches!(state, NodeState::Failed(_)), "{state:?}");
    }
    assert!(children(&admin, "/c525").await.is_empty());
}

/// Rule 7.2 (session identity), against PersistentNode's adoption of any `NodeExists`
/// node: after our session expired on the client's side while the server still holds it,
/// the node on the new session does not adopt the old session's node (which would vanish
/// when the server expires it) and does not sit next to it: it deletes it and makes its
/// own, for a fixed path and a protected sequential one, well before the server would.
#[tokio::test]
async fn a_node_left_by_our_expired_session_is_replaced_not_adopted_or_doubled() {
    let (admin, zk) = client().await;
    let timeout = Duration::from_secs(20);
    let build = Client::builder()
        .session_timeout(timeout)
        .local_expiry_percent(10);
    let (old, endpoint) = through(&zk, "stale", build).await;
    let fixed = PersistentNode::new(&old, "/stale/fixed")
        .data("f")
        .session_factory(sessions(&zk));
    let protected = PersistentNode::new(&old, "/stale/seq-")
        .mode(CreateMode::EphemeralSequential)
        .protected(true)
        .data("s")
        .session_factory(sessions(&zk));
    fixed.start().unwrap();
    protected.start().unwrap();
    until(|| fixed.state().exists() && protected.state().exists()).await;
    let old_session = old.session_id();

    let cut_at = Instant::now();
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    until(|| {
        [&fixed, &protected]
            .iter()
            .all(|n| n.client().session_id() != old_session && n.state().exists())
    })
    .await;
    within(async {
        loop {
            let names = children(&admin, "/stale").await;
            let mut owners = Vec::new();
            for name in &names {
                if let Some(stat) = admin.exists(&format!("/stale/{name}")).await.unwrap() {
                    owners.push(stat.ephemeral_owner);
                }
            }
            if names.len() == 2 && owners.iter().all(|o| *o != old_session) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        cut_at.elapsed() < timeout * 3 / 4,
        "replaced only after {:?}: the server's expiry did it",
        cut_at.elapsed()
    );
    for node in [&fixed, &protected] {
        let path = node.actual_path().unwrap();
        let (data, stat) = admin.get_data(&path).await.unwrap();
        assert_eq!(stat.ephemeral_owner, node.client().session_id());
        assert!(!data.is_empty());
    }
    drop(cut);
    fixed.close().await.unwrap();
    protected.close().await.unwrap();
    assert!(children(&admin, "/stale").await.is_empty());
}

/// RECIPES.md §4.6 #42 (a reaped container parent): a node whose parents were deleted
/// makes them again, instead of failing on `NoNode`.
#[tokio::test]
async fn regression_42_a_node_makes_its_parents_again_when_they_are_gone() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let node = PersistentNode::new(&client, "/r42/a/b/node").data("x");
    node.start().unwrap();
    until(|| node.state().exists()).await;
    // All at once: the node would make its parents again between single deletes.
    admin
        .multi()
        .delete("/r42/a/b/node", None)
        .delete("/r42/a/b", None)
        .delete("/r42/a", None)
        .delete("/r42", None)
        .commit()
        .await
        .unwrap();
    within(async {
        while admin.exists("/r42/a/b/node").await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    until(|| node.state().exists()).await;
    node.close().await.unwrap();
}
