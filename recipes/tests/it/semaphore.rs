//! Semaphore semantics: the lease limit, fixed or from a counter node, cancellation, and
//! Curator's layout.

use std::time::Duration;

use zk_client::CreateOptions;
use zk_recipes::Error;
use zk_recipes::lock::{MaxLeases, Semaphore, SemaphoreMutex};

use crate::support::{children, client, connect, until_empty, within};

#[tokio::test]
async fn never_more_than_max_leases() {
    let (zk, server) = client().await;
    let sessions = [
        connect(&server).await,
        connect(&server).await,
        connect(&server).await,
    ];
    let a = Semaphore::new(&sessions[0], "/sem", 2)
        .acquire()
        .await
        .unwrap();
    let b = Semaphore::new(&sessions[1], "/sem", 2)
        .acquire()
        .await
        .unwrap();
    let third = Semaphore::new(&sessions[2], "/sem", 2);
    assert!(third.try_acquire().await.unwrap().is_none());
    let leases = children(&zk, "/sem/leases").await;
    assert_eq!(leases.len(), 2);
    assert!(leases.iter().all(|l| l.contains("-lease-")), "{leases:?}");
    let waiting = tokio::spawn(async move { third.acquire().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished());
    a.release().await.unwrap();
    let c = within(waiting).await.unwrap().unwrap();
    assert_eq!(children(&zk, "/sem/leases").await.len(), 2);
    b.release().await.unwrap();
    c.release().await.unwrap();
    until_empty(&zk, "/sem/leases").await;
}

/// CURATOR-462: an acquire dropped while waiting for a lease must not leak its lease node
/// (nor keep the internal mutex).
#[tokio::test]
async fn curator_462_a_cancelled_wait_leaks_no_lease() {
    let (zk, server) = client().await;
    let held = Semaphore::new(&zk, "/sem462", 1).acquire().await.unwrap();
    let other = connect(&server).await;
    let waiter = Semaphore::new(&other, "/sem462", 1);
    let timed = waiter.acquire_timeout(Duration::from_millis(200)).await;
    assert!(matches!(timed, Err(Error::Timeout(_))), "{timed:?}");
    within(async {
        while children(&zk, "/sem462/leases").await.len() > 1
            || !children(&zk, "/sem462/locks").await.is_empty()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    held.release().await.unwrap();
    within(waiter.acquire())
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_lease_count_can_come_from_a_counter_node() {
    let (zk, server) = client().await;
    zk.create(
        "/sem-max",
        &1i32.to_be_bytes(),
        &CreateOptions::persistent(),
    )
    .await
    .unwrap();
    let max = MaxLeases::Counter("/sem-max".into());
    let first = Semaphore::with_max(&zk, "/semc", max.clone())
        .acquire()
        .await
        .unwrap();
    let other = connect(&server).await;
    let second = Semaphore::with_max(&other, "/semc", max);
    let waiting = tokio::spawn(async move { second.acquire().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished());
    zk.set_data("/sem-max", &2i32.to_be_bytes(), None)
        .await
        .unwrap();
    let lease = within(waiting).await.unwrap().unwrap();
    lease.release().await.unwrap();
    first.release().await.unwrap();
}

#[tokio::test]
async fn a_semaphore_mutex_is_one_lease() {
    let (zk, server) = client().await;
    let held = SemaphoreMutex::new(&zk, "/semmutex")
        .acquire()
        .await
        .unwrap();
    let other = connect(&server).await;
    assert!(
        SemaphoreMutex::new(&other, "/semmutex")
            .try_acquire()
            .await
            .unwrap()
            .is_none()
    );
    held.release().await.unwrap();
    let next = SemaphoreMutex::new(&other, "/semmutex")
        .try_acquire()
        .await
        .unwrap();
    next.unwrap().release().await.unwrap();
}
