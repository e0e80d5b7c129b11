//! A named test for each lock bug of Curator's and kazoo's history that applies to the
//! mutex, written so it fails on the buggy behaviour.

use std::time::Duration;

use zk_client::Client;
use zk_recipes::lock::{LostReason, Mutex};
use zk_testkit::Server;

use crate::support::{client, connect, init_logging, until_children, until_empty, within};

/// CURATOR-79: an acquire dropped in the middle of its wait must not leave its node, which
/// would block every later acquire until the session ends.
#[tokio::test]
async fn curator_79_a_cancelled_acquire_leaves_no_node() {
    let (zk, server) = client().await;
    let held = Mutex::new(&zk, "/c79").acquire().await.unwrap();
    let other = connect(&server).await;
    for _ in 0..5 {
        let lock = Mutex::new(&other, "/c79");
        let timed = tokio::time::timeout(Duration::from_millis(50), lock.acquire()).await;
        assert!(timed.is_err(), "the lock is held");
    }
    until_children(&zk, "/c79", |n| n <= 1).await;
    held.release().await.unwrap();
    let next = within(Mutex::new(&other, "/c79").acquire()).await.unwrap();
    next.release().await.unwrap();
    until_empty(&zk, "/c79").await;
}

/// kazoo `9b0a793` / Curator's getData rule: a predecessor deleted between the read of the
/// children and the watch must not leave a waiter asleep (nor a creation watch behind).
#[tokio::test]
async fn predecessor_deleted_between_get_children_and_the_watch() {
    let (zk, server) = client().await;
    // Many quick holders: each waiter's predecessor often goes just as it is watched.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            let lock = Mutex::new(&client, "/pred");
            for _ in 0..10 {
                let guard = lock.acquire().await.unwrap();
                guard.release().await.unwrap();
            }
            client.close().await;
        }));
    }
    for task in tasks {
        within(task).await.unwrap();
    }
    until_empty(&zk, "/pred").await;
}

/// CURATOR-206 (by design there): a holder cut off past its session timeout is told it
/// lost the lock no later than another client can take it.
#[tokio::test]
async fn curator_206_the_holder_learns_of_loss_before_another_takes_the_lock() {
    init_logging();
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("holder").await.unwrap();
    let holder = Client::builder()
        .session_timeout(Duration::from_secs(2))
        .connect(&endpoint.connect_string())
        .await
        .unwrap();
    let other = Client::connect(&server.connect_string()).await.unwrap();
    let guard = Mutex::new(&holder, "/c206").acquire().await.unwrap();
    let lost_at = tokio::spawn(async move {
        let why = guard.lost().await;
        (why, std::time::Instant::now(), guard)
    });
    let blackhole = endpoint.blackhole();
    let taken = within(Mutex::new(&other, "/c206").acquire()).await.unwrap();
    let taken_at = std::time::Instant::now();
    let (why, lost_at, _guard) = within(lost_at).await.unwrap();
    assert_eq!(why, LostReason::Suspended);
    assert!(lost_at <= taken_at, "told {:?} after", lost_at - taken_at);
    drop(blackhole);
    taken.release().await.unwrap();
}

/// CURATOR-678 / CURATOR-486: a release whose delete meets a connection loss must still
/// remove the node, so a later acquire does not wait behind our own stale node.
#[tokio::test]
async fn curator_678_a_release_during_connection_loss_still_removes_the_node() {
    init_logging();
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("release").await.unwrap();
    let zk = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&endpoint.connect_string())
        .await
        .unwrap();
    let lock = Mutex::new(&zk, "/c678");
    let guard = lock.acquire().await.unwrap();
    // The delete's reply is lost: the connection breaks right after the request.
    let refuse = endpoint.refuse_new();
    endpoint.reset_all();
    let released = guard.release().await;
    assert!(released.is_ok(), "{released:?}");
    drop(refuse);
    let observer = Client::connect(&server.connect_string()).await.unwrap();
    until_empty(&observer, "/c678").await;
    let again = within(lock.acquire()).await.unwrap();
    again.release().await.unwrap();
}

/// Curator's protected mode (CURATOR-45 for the mutex): the create's reply is lost
/// although the server made the node. The acquire finds its node again by its protected
/// prefix, owned by its session, instead of making a second one that would wait behind
/// the first until the session ends.
#[tokio::test]
async fn a_lost_create_reply_is_found_again_not_duplicated() {
    let (admin, zk) = client().await;
    let endpoint = zk.server().client_endpoint("lost-create").await.unwrap();
    let holder = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&format!("{}{}", endpoint.connect_string(), zk.chroot()))
        .await
        .unwrap();
    admin
        .create("/lost", b"", &zk_client::CreateOptions::persistent())
        .await
        .unwrap();
    let lost = endpoint.drop_reply(1);
    let guard = within(Mutex::new(&holder, "/lost").acquire())
        .await
        .unwrap();
    drop(lost);
    assert_eq!(endpoint.stats().dropped_replies, 1, "the reply was lost");
    let nodes = crate::support::children(&admin, "/lost").await;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    let stat = admin.exists(guard.node()).await.unwrap().expect("our node");
    assert_eq!(stat.ephemeral_owner, holder.session_id());
    guard.release().await.unwrap();
    until_empty(&admin, "/lost").await;
}
