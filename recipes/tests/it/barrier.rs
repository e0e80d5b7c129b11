//! Barrier and DoubleBarrier on a real server, and a named test for each barrier bug of
//! Curator's history (RECIPES.md §4.3), written so it fails on the buggy behaviour.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Semaphore;
use zk_client::{Client, CreateOptions, SessionState};
use zk_recipes::Error;
use zk_recipes::barrier::{Barrier, DoubleBarrier, READY};
use zk_testkit::{ClientEndpoint, Shared};

use crate::support::{children, client, connect, until_children, within};

/// A session on the test's chroot through a fault proxy of the shared server.
async fn through_proxy(shared: &Shared, name: &str) -> (Client, ClientEndpoint) {
    let endpoint = shared.server().client_endpoint(name).await.unwrap();
    let client = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&format!("{}{}", endpoint.connect_string(), shared.chroot()))
        .await
        .unwrap();
    (client, endpoint)
}

/// Breaks the connection of `client` (through `endpoint`) and waits until it is back on
/// the same session.
async fn reconnect(client: &Client, endpoint: &ClientEndpoint) {
    let session = client.session_id();
    let mut states = client.state_stream();
    endpoint.reset_all();
    within(async {
        while states.next().await != Some(SessionState::Disconnected) {}
        while states.next().await != Some(SessionState::Connected) {}
    })
    .await;
    assert_eq!(client.session_id(), session);
}

/// The member nodes under `path` (its children but `ready`).
pub(crate) async fn members(client: &Client, path: &str) -> Vec<String> {
    let mut names = children(client, path).await;
    names.retain(|c| c != READY);
    names
}

/// Waits until `path` has `n` member nodes.
pub(crate) async fn until_members(client: &Client, path: &str, n: usize) {
    within(async {
        while members(client, path).await.len() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Waits until `node` does not exist.
async fn until_gone(client: &Client, node: &str) {
    within(async {
        while client.exists(node).await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A member of `path` on its own session that enters (recording when it passed) and then
/// leaves when it gets a permit of `leave`.
fn member(
    client: Client,
    path: &str,
    n: usize,
    entered: Arc<StdMutex<Vec<Instant>>>,
    leave: Arc<Semaphore>,
) -> tokio::task::JoinHandle<()> {
    let mut barrier = DoubleBarrier::new(&client, path, n);
    tokio::spawn(async move {
        barrier.enter().await.expect("enter");
        entered.lock().unwrap().push(Instant::now());
        leave.acquire().await.expect("the leave permits").forget();
        barrier.leave().await.expect("leave");
        drop(barrier);
        client.close().await;
    })
}

#[tokio::test]
async fn barrier_set_wait_remove() {
    let (zk, shared) = client().await;
    let barrier = Barrier::new(&zk, "/gates/a");
    // Not set: a wait returns at once.
    assert!(!barrier.is_set().await.unwrap());
    within(barrier.wait()).await.unwrap();
    // Set (with its parent made) and set again.
    barrier.set().await.unwrap();
    barrier.set().await.unwrap();
    assert!(barrier.is_set().await.unwrap());
    let (_, stat) = zk.get_data("/gates/a").await.unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "the barrier node is persistent");
    // A waiter on another session waits until it is removed.
    let other = connect(&shared).await;
    let waiter = tokio::spawn({
        let barrier = Barrier::new(&other, "/gates/a");
        async move { barrier.wait().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "passed a barrier that is set");
    barrier.remove().await.unwrap();
    within(waiter).await.unwrap().unwrap();
    assert!(zk.exists("/gates/a").await.unwrap().is_none());
    barrier.remove().await.unwrap();
}

#[tokio::test]
async fn barrier_wait_timeout_false_then_true() {
    let (zk, shared) = client().await;
    let barrier = Barrier::new(&zk, "/gate");
    barrier.set().await.unwrap();
    let other = connect(&shared).await;
    let waiting = Barrier::new(&other, "/gate");
    let started = Instant::now();
    assert!(
        !waiting
            .wait_timeout(Duration::from_millis(300))
            .await
            .unwrap()
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let remover = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        barrier.remove().await
    });
    assert!(waiting.wait_timeout(Duration::from_secs(20)).await.unwrap());
    remover.await.unwrap().unwrap();
    // Not set: true at once.
    let started = Instant::now();
    assert!(waiting.wait_timeout(Duration::from_secs(20)).await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A waiter through a proxy: a reconnect alone does not let it through, and a removal
/// while it is disconnected does once it is back.
#[tokio::test]
async fn barrier_wait_survives_a_reconnect() {
    let (zk, shared) = client().await;
    let barrier = Barrier::new(&zk, "/gate");
    barrier.set().await.unwrap();
    let (other, endpoint) = through_proxy(&shared, "barrier-wait").await;
    let waiter = tokio::spawn({
        let barrier = Barrier::new(&other, "/gate");
        async move { barrier.wait().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    reconnect(&other, &endpoint).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "a reconnect let the waiter through");
    // Removed while the waiter is cut off: it learns of it when it is back.
    let refuse = endpoint.refuse_new();
    endpoint.reset_all();
    barrier.remove().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(refuse);
    within(waiter).await.unwrap().unwrap();
}

#[tokio::test]
async fn double_barrier_layout_is_curators() {
    let (zk, shared) = client().await;
    let other = connect(&shared).await;
    let mut a = DoubleBarrier::new(&zk, "/db/layout", 2).data("member-a");
    let mut b = DoubleBarrier::new(&other, "/db/layout", 2);
    let (entered_a, entered_b) = tokio::join!(a.enter(), b.enter());
    entered_a.unwrap();
    entered_b.unwrap();
    let names = members(&zk, "/db/layout").await;
    assert_eq!(names.len(), 2);
    for name in &names {
        let uuid = uuid::Uuid::parse_str(name).expect("a uuid name");
        assert_eq!(
            name,
            &uuid.hyphenated().to_string(),
            "lowercase with dashes"
        );
    }
    let (data, stat) = zk.get_data(&a.node()).await.unwrap();
    assert_eq!(&data[..], b"member-a");
    assert_eq!(stat.ephemeral_owner, zk.session_id());
    let (_, ready) = zk.get_data(&format!("/db/layout/{READY}")).await.unwrap();
    assert_eq!(ready.ephemeral_owner, 0, "ready is persistent");
    let (left_a, left_b) = tokio::join!(a.leave(), b.leave());
    left_a.unwrap();
    left_b.unwrap();
    assert!(children(&zk, "/db/layout").await.is_empty());
}

/// Three members on three sessions: none passes `enter` before the third arrives, all
/// pass once it has, and all leave, leaving no node.
#[tokio::test]
async fn double_barrier_three_members_enter_and_leave_together() {
    let (zk, shared) = client().await;
    let path = "/db/three";
    let entered = Arc::new(StdMutex::new(Vec::new()));
    let leave = Arc::new(Semaphore::new(0));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let client = connect(&shared).await;
        tasks.push(member(client, path, 3, entered.clone(), leave.clone()));
    }
    until_members(&zk, path, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(entered.lock().unwrap().is_empty(), "entered with 2 of 3");
    let third_at = Instant::now();
    let client = connect(&shared).await;
    tasks.push(member(client, path, 3, entered.clone(), leave.clone()));
    within(async {
        while entered.lock().unwrap().len() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(entered.lock().unwrap().iter().all(|at| *at >= third_at));
    assert!(
        zk.exists(&format!("{path}/{READY}"))
            .await
            .unwrap()
            .is_some()
    );
    // Two leave; they wait for the third.
    leave.add_permits(2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = tasks.iter().filter(|t| !t.is_finished()).count();
    assert_eq!(still, 3, "a member finished leaving before all had left");
    leave.add_permits(1);
    for task in tasks {
        within(task).await.unwrap();
    }
    assert!(
        children(&zk, path).await.is_empty(),
        "members or ready left"
    );
}

/// GH-1290: with N-1 members, reconnects (SyncConnected state events) and child changes
/// wake the waiters, and none of them may pass `enter`.
#[tokio::test]
async fn gh_1290_spurious_wakeup_does_not_pass_enter() {
    let (zk, shared) = client().await;
    let path = "/db/gh1290";
    let n = 4;
    let entered = Arc::new(StdMutex::new(Vec::new()));
    let leave = Arc::new(Semaphore::new(0));
    let (a, endpoint_a) = through_proxy(&shared, "gh1290-a").await;
    let (b, endpoint_b) = through_proxy(&shared, "gh1290-b").await;
    let mut tasks = vec![
        member(a.clone(), path, n, entered.clone(), leave.clone()),
        member(b.clone(), path, n, entered.clone(), leave.clone()),
    ];
    until_members(&zk, path, 2).await;
    // A third member node (N-1 in all), which comes and goes: child watches fire.
    let third = format!("{path}/third");
    let ephemeral = CreateOptions::ephemeral();
    for _ in 0..3 {
        zk.create(&third, b"", &ephemeral).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        zk.delete(&third, None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    zk.create(&third, b"", &ephemeral).await.unwrap();
    // Reconnects: Disconnected then SyncConnected on both waiting sessions.
    reconnect(&a, &endpoint_a).await;
    reconnect(&b, &endpoint_b).await;
    // Data changes on the path and on a member: no watch of the recipe is for them.
    zk.set_data(path, b"touched", None).await.unwrap();
    zk.set_data(&third, b"touched", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        entered.lock().unwrap().is_empty(),
        "entered with {} of {n} members",
        n - 1
    );
    assert!(
        zk.exists(&format!("{path}/{READY}"))
            .await
            .unwrap()
            .is_none()
    );
    // The fourth member: everyone enters.
    let client = connect(&shared).await;
    tasks.push(member(client, path, n, entered.clone(), leave.clone()));
    within(async {
        while entered.lock().unwrap().len() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    zk.delete(&third, None).await.unwrap();
    leave.add_permits(3);
    for task in tasks {
        within(task).await.unwrap();
    }
    assert!(children(&zk, path).await.is_empty());
}

/// CURATOR-536 / CURATOR-233: a leave with a timeout returns false within it when a
/// member stays, whether we are the lowest member (waiting for the highest) or not
/// (waiting for the lowest), and while disconnected; our node is gone afterwards.
#[tokio::test]
async fn curator_536_leave_timeout_returns_false_in_time() {
    let (zk, shared) = client().await;
    let timeout = Duration::from_millis(500);
    for (path, early) in [("/db/c536-lowest", "a"), ("/db/c536-highest", "b")] {
        let other = connect(&shared).await;
        let mut a = DoubleBarrier::new(&zk, path, 2).name("a");
        let mut b = DoubleBarrier::new(&other, path, 2).name("b");
        let (ea, eb) = tokio::join!(a.enter(), b.enter());
        ea.unwrap();
        eb.unwrap();
        let (leaver, stayer) = if early == "a" {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        let started = Instant::now();
        let left = within(leaver.leave_timeout(timeout)).await.unwrap();
        let took = started.elapsed();
        assert!(!left, "{path}: left while a member stays");
        assert!(
            took >= timeout && took < timeout + Duration::from_secs(2),
            "{path}: {took:?}"
        );
        until_gone(&zk, &leaver.node()).await;
        let stays = if early == "a" { "b" } else { "a" };
        assert_eq!(members(&zk, path).await, vec![stays.to_owned()]);
        // The one that stayed is alone now: it leaves at once.
        assert!(
            within(stayer.leave_timeout(Duration::from_secs(10)))
                .await
                .unwrap()
        );
        assert!(children(&zk, path).await.is_empty(), "{path}");
    }
    // Cut off: the deadline still holds, and the node goes once the session is back.
    let path = "/db/c536-cut";
    let (cut, endpoint) = through_proxy(&shared, "c536").await;
    let mut a = DoubleBarrier::new(&cut, path, 2).name("a");
    let mut b = DoubleBarrier::new(&zk, path, 2).name("b");
    let (ea, eb) = tokio::join!(a.enter(), b.enter());
    ea.unwrap();
    eb.unwrap();
    let hole = endpoint.blackhole();
    let started = Instant::now();
    let left = within(a.leave_timeout(timeout)).await.unwrap();
    let took = started.elapsed();
    assert!(!left);
    assert!(took < timeout + Duration::from_secs(2), "cut off: {took:?}");
    drop(hole);
    until_gone(&zk, &a.node()).await;
    assert!(within(b.leave()).await.is_ok());
    assert!(children(&zk, path).await.is_empty());
}

/// CURATOR-80: an enter dropped in the middle of its wait, a timed-out enter and a
/// dropped leave leave no member node, so nobody counts them: two later members still
/// wait for a third.
#[tokio::test]
async fn curator_80_failed_or_cancelled_enter_leaves_no_member_node() {
    let (zk, shared) = client().await;
    let path = "/db/c80";
    let entered = Arc::new(StdMutex::new(Vec::new()));
    let leave = Arc::new(Semaphore::new(0));
    let first = connect(&shared).await;
    let mut tasks = vec![member(first, path, 3, entered.clone(), leave.clone())];
    until_members(&zk, path, 1).await;
    // Dropped while it waits, its node made.
    let other = connect(&shared).await;
    let mut dropped = DoubleBarrier::new(&other, path, 3);
    {
        let enter = dropped.enter();
        tokio::pin!(enter);
        tokio::select! {
            r = &mut enter => panic!("entered with 2 of 3: {r:?}"),
            () = until_members(&zk, path, 2) => {}
        }
    }
    until_gone(&zk, &dropped.node()).await;
    // Timed out.
    let mut timed = DoubleBarrier::new(&other, path, 3);
    let started = Instant::now();
    assert!(
        !timed
            .enter_timeout(Duration::from_millis(300))
            .await
            .unwrap()
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    until_gone(&zk, &timed.node()).await;
    // Neither is counted: a second member still waits.
    let second = connect(&shared).await;
    tasks.push(member(second, path, 3, entered.clone(), leave.clone()));
    until_members(&zk, path, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(entered.lock().unwrap().is_empty(), "a dead member counted");
    // The third enters; all pass.
    let mut third = DoubleBarrier::new(&other, path, 3);
    within(third.enter()).await.unwrap();
    within(async {
        while entered.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // A leave dropped while it waits for the others: its node goes too.
    let node = third.node();
    let timed_out = tokio::time::timeout(Duration::from_millis(300), third.leave()).await;
    assert!(timed_out.is_err(), "left while two members stay");
    until_gone(&zk, &node).await;
    leave.add_permits(2);
    for task in tasks {
        within(task).await.unwrap();
    }
    assert!(children(&zk, path).await.is_empty());
}

/// Netflix/curator #99: N+1 members entering together, while `ready` is being created,
/// is not an error ("count greater than memberQty"); everyone enters and leaves, round
/// after round.
#[tokio::test]
async fn netflix_99_more_members_than_n_is_not_an_error() {
    let (zk, shared) = client().await;
    let n = 3;
    let mut clients = Vec::new();
    for _ in 0..=n {
        clients.push(connect(&shared).await);
    }
    for round in 0..4 {
        let path = format!("/db/n99/round-{round}");
        let tasks: Vec<_> = clients
            .iter()
            .map(|client| {
                let mut barrier = DoubleBarrier::new(client, &path, n);
                tokio::spawn(async move {
                    barrier.enter().await?;
                    barrier.leave().await?;
                    Ok::<_, Error>(())
                })
            })
            .collect();
        for task in tasks {
            within(task).await.unwrap().unwrap();
        }
        assert!(children(&zk, &path).await.is_empty(), "round {round}");
    }
    // And a member arriving after N have entered passes at once on `ready`.
    let path = "/db/n99/late";
    let mut early: Vec<_> = clients[..n]
        .iter()
        .map(|c| DoubleBarrier::new(c, path, n))
        .collect();
    let enters = futures::future::join_all(early.iter_mut().map(|b| b.enter())).await;
    assert!(enters.iter().all(Result::is_ok), "{enters:?}");
    let mut late = DoubleBarrier::new(&clients[n], path, n);
    assert!(
        late.enter_timeout(Duration::from_secs(5)).await.unwrap(),
        "the late member"
    );
    assert_eq!(members(&zk, path).await.len(), n + 1);
    let mut all: Vec<_> = early.iter_mut().chain(std::iter::once(&mut late)).collect();
    let leaves = futures::future::join_all(all.iter_mut().map(|b| b.leave())).await;
    assert!(leaves.iter().all(Result::is_ok), "{leaves:?}");
    until_children(&zk, path, |c| c == 0).await;
}

#[tokio::test]
async fn double_barrier_refuses_what_cannot_work() {
    let (zk, _shared) = client().await;
    let mut none = DoubleBarrier::new(&zk, "/db/bad", 0);
    assert!(matches!(none.enter().await, Err(Error::InvalidArgument(_))));
    let mut named = DoubleBarrier::new(&zk, "/db/bad", 2).name(READY);
    assert!(matches!(
        named.enter().await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(children(&zk, "/db/bad").await.is_empty());
}

/// Dropping a handle that entered and did not leave deletes its member node.
#[tokio::test]
async fn a_dropped_handle_leaves_no_member_node() {
    let (zk, _shared) = client().await;
    let mut barrier = DoubleBarrier::new(&zk, "/db/dropped", 1);
    barrier.enter().await.unwrap();
    let node = barrier.node();
    assert!(zk.exists(&node).await.unwrap().is_some());
    drop(barrier);
    until_gone(&zk, &node).await;
}
