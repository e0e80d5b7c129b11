//! A named test for each election bug of Curator's history that applies here, written so
//! it fails on the buggy behaviour.

use std::time::Duration;

use zk_client::Client;
use zk_recipes::Error;
use zk_recipes::election::LeaderLatch;
use zk_recipes::lock::LostReason;
use zk_testkit::ClientEndpoint;

use crate::support::{children, client, connect, until_children, until_empty, within};

fn latch(client: &Client, path: &str, id: &str) -> LeaderLatch {
    let latch = LeaderLatch::new(client, path).data(id.to_owned());
    latch.start().expect("start");
    latch
}

async fn joined(latch: &LeaderLatch) -> String {
    within(async {
        loop {
            if let Some(node) = latch.node() {
                return node;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// A client of the shared server through a fault proxy, in this test's chroot.
async fn through(
    zk: &zk_testkit::Shared,
    name: &str,
    build: zk_client::ClientBuilder,
) -> (Client, ClientEndpoint) {
    let endpoint = zk.server().client_endpoint(name).await.unwrap();
    let client = build
        .connect(&format!("{}{}", endpoint.connect_string(), zk.chroot()))
        .await
        .unwrap();
    (client, endpoint)
}

/// CURATOR-696: after its session expired on the client's side while the server still
/// held it, a latch must never lead again with the old session's node, and nobody else
/// leads until the server lets that node go.
#[tokio::test]
async fn curator_696_no_leadership_from_an_expired_sessions_node() {
    let (admin, zk) = client().await;
    let build = Client::builder()
        .session_timeout(Duration::from_secs(8))
        .local_expiry_percent(25);
    let (a, endpoint) = through(&zk, "a", build).await;
    let a_latch = latch(&a, "/e", "a");
    let old_node = joined(&a_latch).await;
    let term = within(a_latch.await_leadership()).await.unwrap();
    let b_client = connect(&zk).await;
    let b = latch(&b_client, "/e", "b");
    joined(&b).await;
    let (session, password) = (a.session_id(), a.session_password());

    let cut = endpoint.blackhole();
    endpoint.reset_all();
    let why = within(term.lost()).await;
    assert!(
        matches!(why, LostReason::Suspended | LostReason::SessionEnded),
        "{why:?}"
    );
    let ended = within(a_latch.await_leadership()).await;
    assert!(matches!(ended, Err(Error::SessionEnded(_))), "{ended:?}");
    // The server still holds the old session and its node: b must wait.
    assert!(
        children(&admin, "/e")
            .await
            .contains(&old_node[3..].to_owned())
    );
    assert!(!b.has_leadership());

    // "a" comes back on a new session: it must not adopt the old node.
    let a2_client = connect(&zk).await;
    let a2 = latch(&a2_client, "/e", "a");
    let new_node = joined(&a2).await;
    assert_ne!(new_node, old_node);
    assert!(!a2.has_leadership());

    // The server expires the old session: b leads, and only b.
    zk_testkit::expire_session(zk.addr(), session, &password)
        .await
        .unwrap();
    within(b.await_leadership()).await.unwrap();
    for _ in 0..50 {
        assert!(!a2.has_leadership() && !a_latch.has_leadership());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop(cut);
    b.close().await.unwrap();
    within(a2.await_leadership()).await.unwrap();
    a2.close().await.unwrap();
    until_empty(&admin, "/e").await;
}

/// CURATOR-620 / CURATOR-653: reconnects in quick succession, of the leader and of the
/// follower at once, leave exactly one leader, whose node exists and belongs to its own
/// session, and no node made twice.
#[tokio::test]
async fn curator_620_back_to_back_reconnects_leave_one_leader_with_its_own_node() {
    let (admin, zk) = client().await;
    let build = || Client::builder().session_timeout(Duration::from_secs(10));
    let (a, a_endpoint) = through(&zk, "a", build()).await;
    let a_latch = latch(&a, "/e", "a");
    joined(&a_latch).await;
    let (b_client, b_endpoint) = through(&zk, "b", build()).await;
    let b = latch(&b_client, "/e", "b");
    joined(&b).await;
    within(a_latch.await_leadership()).await.unwrap();
    for _ in 0..3 {
        a_endpoint.reset_all();
        b_endpoint.reset_all();
        tokio::time::sleep(Duration::from_millis(30)).await;
        b_endpoint.reset_all();
        a_endpoint.reset_all();
    }
    let term = within(a_latch.await_leadership()).await.unwrap();
    // Both settled: a leads again on its own node, b follows; never both.
    for _ in 0..50 {
        assert!(!(a_latch.has_leadership() && b.has_leadership()));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(!b.has_leadership());
    let stat = admin
        .exists(term.node())
        .await
        .unwrap()
        .expect("the leader's node");
    assert_eq!(stat.ephemeral_owner, a.session_id());
    assert_eq!(
        children(&admin, "/e").await.len(),
        2,
        "no node was made twice"
    );
    a_latch.close().await.unwrap();
    b.close().await.unwrap();
}

/// CURATOR-724: the latch's path deleted while the participant was cut off; it joins
/// again once back, on a path it makes again.
#[tokio::test]
async fn curator_724_the_latch_path_deleted_while_disconnected() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (a, endpoint) = through(&zk, "a", build).await;
    let a_latch = latch(&a, "/e", "a");
    let first = within(a_latch.await_leadership()).await.unwrap();
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    assert_eq!(within(first.lost()).await, LostReason::Suspended);
    admin.delete_all("/e").await.unwrap();
    drop(cut);
    let again = within(a_latch.await_leadership()).await.unwrap();
    // A new node on the new path (its sequence may repeat: the token does not).
    assert!(again.fencing_token() > first.fencing_token());
    assert_eq!(children(&admin, "/e").await.len(), 1);
    a_latch.close().await.unwrap();
}

/// Close before the latch ever connected, and close right after start: no node is left.
#[tokio::test]
async fn a_latch_closed_before_it_connects_leaves_no_node() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (a, endpoint) = through(&zk, "a", build).await;
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    let l = latch(&a, "/e", "a");
    tokio::time::sleep(Duration::from_millis(100)).await;
    l.close().await.unwrap();
    drop(cut);
    for _ in 0..20 {
        let l = latch(&admin, "/e", "b");
        l.close().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    until_empty(&admin, "/e").await;
}

/// CURATOR-645 / CURATOR-504: a deleted node makes its owner join again and the next
/// participant look again, and nothing more: no participant resets in answer to
/// another's reset, so node creations stay bounded (no reset loop between two latches).
#[tokio::test]
async fn curator_645_deleted_nodes_cause_no_reset_loop() {
    let (admin, zk) = client().await;
    let a_client = connect(&zk).await;
    let b_client = connect(&zk).await;
    let a = latch(&a_client, "/e", "a");
    joined(&a).await;
    let b = latch(&b_client, "/e", "b");
    joined(&b).await;
    within(a.await_leadership()).await.unwrap();
    let (_, before) = admin.get_children("/e").await.unwrap();
    let mut leader = &a;
    let mut other = &b;
    for _ in 0..5 {
        // Delete the leader's node, the other's predecessor, behind the leader's back.
        let term = leader.leadership().expect("a leader");
        admin.delete(term.node(), None).await.unwrap();
        assert_eq!(within(term.lost()).await, LostReason::NodeDeleted);
        within(other.await_leadership()).await.unwrap();
        until_children(&admin, "/e", |n| n == 2).await;
        std::mem::swap(&mut leader, &mut other);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, after) = admin.get_children("/e").await.unwrap();
    // Each round: one delete and one new node by its owner; nothing else.
    assert_eq!(after.cversion - before.cversion, 10);
    assert_eq!(children(&admin, "/e").await.len(), 2);
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// CURATOR-45 / CURATOR-3: the create's reply is lost although the server made the node;
/// the latch finds it again by its protected prefix instead of leaving an orphan that
/// blocks the election.
#[tokio::test]
async fn curator_45_a_lost_create_reply_leaves_no_orphan() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (a, endpoint) = through(&zk, "a", build).await;
    // The latch path exists, so the first request after start is the create.
    admin
        .create("/e", b"", &zk_client::CreateOptions::persistent())
        .await
        .unwrap();
    let lost = endpoint.drop_reply(1);
    let l = latch(&a, "/e", "a");
    let term = within(l.await_leadership()).await.unwrap();
    drop(lost);
    assert_eq!(endpoint.stats().dropped_replies, 1, "the reply was lost");
    assert_eq!(
        children(&admin, "/e").await.len(),
        1,
        "one node, found again"
    );
    assert_eq!(
        admin
            .exists(term.node())
            .await
            .unwrap()
            .unwrap()
            .ephemeral_owner,
        a.session_id()
    );
    let other = connect(&zk).await;
    let b = latch(&other, "/e", "b");
    l.close().await.unwrap();
    within(b.await_leadership()).await.unwrap();
    b.close().await.unwrap();
    until_empty(&admin, "/e").await;
}

/// CURATOR-460: a leader cut off for 2/3 of its session timeout, then for longer than
/// the timeout. Under the default (standard) loss policy there are never two leaders: the
/// cut-off leader gives up leadership before the server can let another one lead.
#[tokio::test]
async fn curator_460_a_partitioned_leader_never_overlaps_the_next() {
    let (admin, zk) = client().await;
    let timeout = Duration::from_secs(3);
    let build = Client::builder().session_timeout(timeout);
    let (a, endpoint) = through(&zk, "a", build).await;
    let a_latch = latch(&a, "/e", "a");
    joined(&a_latch).await;
    let b_client = connect(&zk).await;
    let b = latch(&b_client, "/e", "b");
    joined(&b).await;
    within(a_latch.await_leadership()).await.unwrap();

    // Samples both latches every few milliseconds while `cut` lasts and a little after.
    let sample = |cut: Duration| {
        let (a_latch, b) = (&a_latch, &b);
        async move {
            let end = std::time::Instant::now() + cut + Duration::from_secs(2);
            let mut both = 0;
            while std::time::Instant::now() < end {
                if a_latch.has_leadership() && b.has_leadership() {
                    both += 1;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            both
        }
    };
    for cut in [timeout * 2 / 3, timeout * 3 / 2] {
        let hole = endpoint.blackhole();
        let sampled = sample(cut);
        let healed = async {
            tokio::time::sleep(cut).await;
            drop(hole);
        };
        let (both, ()) = tokio::join!(sampled, healed);
        assert_eq!(both, 0, "two leaders at once after a {cut:?} cut");
    }
    // After the long cut a's session is gone: b leads, a has ended.
    within(b.await_leadership()).await.unwrap();
    assert!(!a_latch.has_leadership());
    b.close().await.unwrap();
    until_empty(&admin, "/e").await;
}
