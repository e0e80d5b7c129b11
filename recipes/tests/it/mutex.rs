//! Mutex semantics on a real server: layout, exclusion, FIFO, re-entrancy, try and
//! timeout, cancellation, fencing, participants, kazoo mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use zk_recipes::lock::{Compat, Mutex, sequence_of};
use zk_recipes::{Error, protected};

use crate::support::{children, client, connect, until_children, until_empty, within};

#[tokio::test]
async fn the_node_has_curators_name_and_the_participant_id_as_data() {
    let (zk, _server) = client().await;
    let lock = Mutex::new(&zk, "/locks/a").data("worker-1");
    let guard = lock.acquire().await.unwrap();
    let names = children(&zk, "/locks/a").await;
    assert_eq!(names.len(), 1);
    let name = &names[0];
    assert!(name.ends_with("-lock-0000000000"), "{name}");
    let prefix = protected::prefix_of(name).expect("a protected name");
    assert_eq!(prefix.len(), 40);
    assert_eq!(guard.node(), format!("/locks/a/{name}"));
    let (data, stat) = zk.get_data(guard.node()).await.unwrap();
    assert_eq!(&data[..], b"worker-1");
    assert_eq!(stat.ephemeral_owner, zk.session_id());
    assert_eq!(guard.fencing_token(), stat.czxid);
    // The parent is a container, as Curator makes it: the server reaps it once empty.
    guard.release().await.unwrap();
    assert!(children(&zk, "/locks/a").await.is_empty());
}

#[tokio::test]
async fn only_one_holder_at_a_time_and_grants_are_fifo() {
    let (zk, server) = client().await;
    let holders = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let first = Mutex::new(&zk, "/locks/fifo").acquire().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let client = connect(&server).await;
        let lock = Mutex::new(&client, "/locks/fifo");
        // Queue in a known order: each waiter's node exists before the next starts.
        let started = Arc::new(tokio::sync::Notify::new());
        let (holders, order, started2) = (holders.clone(), order.clone(), started.clone());
        tasks.push(tokio::spawn(async move {
            let acquire = lock.acquire();
            tokio::pin!(acquire);
            let guard = tokio::select! {
                guard = &mut acquire => guard,
                () = async {
                    loop {
                        if lock.participants().await.unwrap().len() == i + 2 {
                            started2.notify_one();
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                } => unreachable!(),
            }
            .unwrap();
            assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders");
            order.lock().unwrap().push(i);
            tokio::time::sleep(Duration::from_millis(5)).await;
            holders.fetch_sub(1, Ordering::SeqCst);
            guard.release().await.unwrap();
            client.close().await;
        }));
        within(started.notified()).await;
    }
    first.release().await.unwrap();
    for task in tasks {
        within(task).await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn reentrant_through_the_same_handle() {
    let (zk, server) = client().await;
    let lock = Mutex::new(&zk, "/locks/re");
    let outer = lock.acquire().await.unwrap();
    let inner = within(lock.clone().acquire()).await.unwrap();
    assert_eq!(outer.node(), inner.node());
    assert_eq!(children(&zk, "/locks/re").await.len(), 1);
    inner.release().await.unwrap();
    // Still held: another session cannot take it.
    let other = connect(&server).await;
    assert!(
        Mutex::new(&other, "/locks/re")
            .try_acquire()
            .await
            .unwrap()
            .is_none()
    );
    outer.release().await.unwrap();
    assert!(!lock.is_held());
    let taken = Mutex::new(&other, "/locks/re").try_acquire().await.unwrap();
    assert!(taken.is_some());
}

#[tokio::test]
async fn try_and_timeout_leave_nothing_behind() {
    let (zk, server) = client().await;
    let held = Mutex::new(&zk, "/locks/t").acquire().await.unwrap();
    let other = connect(&server).await;
    let lock = Mutex::new(&other, "/locks/t");
    assert!(lock.try_acquire().await.unwrap().is_none());
    let started = std::time::Instant::now();
    let timed_out = lock.acquire_timeout(Duration::from_millis(200)).await;
    assert!(matches!(timed_out, Err(Error::Timeout(_))), "{timed_out:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(lock.stats().timeouts, 1);
    until_children(&zk, "/locks/t", |n| n <= 1).await;
    assert_eq!(
        children(&zk, "/locks/t").await,
        [held.node().rsplit('/').next().unwrap()]
    );
    held.release().await.unwrap();
    let guard = lock.acquire_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(lock.stats().acquisitions, 1);
    drop(guard);
    until_empty(&zk, "/locks/t").await;
}

#[tokio::test]
async fn a_dropped_acquire_deletes_its_node() {
    let (zk, server) = client().await;
    let held = Mutex::new(&zk, "/locks/drop").acquire().await.unwrap();
    let other = connect(&server).await;
    let lock = Mutex::new(&other, "/locks/drop");
    let waiting = tokio::spawn({
        let lock = lock.clone();
        async move { lock.acquire().await }
    });
    until_children(&zk, "/locks/drop", |n| n >= 2).await;
    waiting.abort();
    let _ = waiting.await;
    until_children(&zk, "/locks/drop", |n| n <= 1).await;
    held.release().await.unwrap();
    until_empty(&zk, "/locks/drop").await;
}

#[tokio::test]
async fn a_dropped_guard_releases_in_the_background() {
    let (zk, server) = client().await;
    let other = connect(&server).await;
    let guard = Mutex::new(&zk, "/locks/g").acquire().await.unwrap();
    drop(guard);
    let next = within(Mutex::new(&other, "/locks/g").acquire())
        .await
        .unwrap();
    next.release().await.unwrap();
}

#[tokio::test]
async fn fencing_tokens_grow_and_fenced_writes_need_the_lock() {
    let (zk, server) = client().await;
    zk.create("/resource", b"0", &zk_client::CreateOptions::persistent())
        .await
        .unwrap();
    let lock = Mutex::new(&zk, "/locks/f");
    let first = lock.acquire().await.unwrap();
    let token = first.fencing_token();
    first
        .fenced()
        .set_data("/resource", b"1", None)
        .commit()
        .await
        .unwrap();
    // A stale guard: its node is deleted under it (as an expired session's would be).
    zk.delete(first.node(), None).await.unwrap();
    let stale = first
        .fenced()
        .set_data("/resource", b"stale", None)
        .commit()
        .await;
    assert!(stale.is_err(), "a fenced write after the lock went");
    assert_eq!(&zk.get_data("/resource").await.unwrap().0[..], b"1");
    drop(first);
    let other = connect(&server).await;
    let second = Mutex::new(&other, "/locks/f").acquire().await.unwrap();
    assert!(second.fencing_token() > token);
    second.release().await.unwrap();
}

#[tokio::test]
async fn lost_resolves_when_the_node_is_deleted() {
    let (zk, _server) = client().await;
    let guard = Mutex::new(&zk, "/locks/l").acquire().await.unwrap();
    let lost = guard.lost();
    tokio::pin!(lost);
    assert!(futures::poll!(&mut lost).is_pending());
    zk.delete(guard.node(), None).await.unwrap();
    assert_eq!(
        within(lost).await,
        zk_recipes::lock::LostReason::NodeDeleted
    );
}

#[tokio::test]
async fn participants_and_holder_without_taking_the_lock() {
    let (zk, server) = client().await;
    let lock = Mutex::new(&zk, "/locks/p").data("a");
    assert!(lock.holder().await.unwrap().is_none());
    let guard = lock.acquire().await.unwrap();
    let other = connect(&server).await;
    let waiter = Mutex::new(&other, "/locks/p").data("b");
    let waiting = tokio::spawn(async move { waiter.acquire().await });
    within(async {
        while lock.participants().await.unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let participants = lock.participants().await.unwrap();
    let data: Vec<&[u8]> = participants.iter().map(|p| &p.data[..]).collect();
    assert_eq!(data, [&b"a"[..], &b"b"[..]]);
    assert!(participants[0].holds && !participants[1].holds);
    assert_eq!(lock.holder().await.unwrap().unwrap().node, guard.node());
    guard.release().await.unwrap();
    within(waiting)
        .await
        .unwrap()
        .unwrap()
        .release()
        .await
        .unwrap();
}

#[tokio::test]
async fn kazoo_mode_writes_kazoo_names_and_respects_kazoo_contenders() {
    let (zk, server) = client().await;
    let kazoo = Mutex::new(&zk, "/locks/k")
        .compat(Compat::Kazoo)
        .data("rust");
    let guard = kazoo.acquire().await.unwrap();
    let name = children(&zk, "/locks/k").await.remove(0);
    assert_eq!(name.len(), 32 + "__lock__".len() + 10, "{name}");
    assert_eq!(sequence_of(&name, &["__lock__"]), Some(0));
    // A kazoo-named holder blocks a Both-mode contender, not a Curator-mode one.
    let other = connect(&server).await;
    let both = Mutex::new(&other, "/locks/k").compat(Compat::Both);
    assert!(both.try_acquire().await.unwrap().is_none());
    let curator = Mutex::new(&other, "/locks/k");
    let unsafe_grant = curator.try_acquire().await.unwrap();
    assert!(
        unsafe_grant.is_some(),
        "Curator's layout does not see kazoo holders"
    );
    drop(unsafe_grant);
    guard.release().await.unwrap();
}

#[tokio::test]
async fn a_revoked_holder_is_told_and_releases() {
    let (zk, server) = client().await;
    let guard = Mutex::new(&zk, "/locks/rv").acquire().await.unwrap();
    let other = connect(&server).await;
    let contender = Mutex::new(&other, "/locks/rv");
    let holder = contender.holder().await.unwrap().unwrap();
    zk_recipes::lock::revoke(&other, &holder.node)
        .await
        .unwrap();
    assert_eq!(
        within(guard.lost()).await,
        zk_recipes::lock::LostReason::Revoked
    );
    guard.release().await.unwrap();
    let next = within(contender.acquire()).await.unwrap();
    // Revoking a node that is gone is not an error.
    zk_recipes::lock::revoke(&other, &holder.node)
        .await
        .unwrap();
    next.release().await.unwrap();
}
