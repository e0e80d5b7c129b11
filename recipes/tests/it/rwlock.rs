//! Read-write lock semantics: shared readers, exclusive writers, downgrade, no upgrade, and
//! the Curator and kazoo read-write bugs.

use std::time::Duration;

use zk_recipes::Error;
use zk_recipes::lock::RwLock;

use crate::support::{children, client, connect, until_children, until_empty, within};

#[tokio::test]
async fn readers_share_and_a_writer_excludes() {
    let (zk, server) = client().await;
    let (a, b, c) = (
        connect(&server).await,
        connect(&server).await,
        connect(&server).await,
    );
    let r1 = RwLock::new(&a, "/rw").read().await.unwrap();
    let r2 = within(RwLock::new(&b, "/rw").read()).await.unwrap();
    let names = children(&zk, "/rw").await;
    assert!(names.iter().all(|n| n.contains("-__READ__")), "{names:?}");
    let writer = RwLock::new(&c, "/rw");
    assert!(writer.try_write().await.unwrap().is_none());
    let holders = writer.participants().await.unwrap();
    assert_eq!(holders.iter().filter(|p| p.holds).count(), 2);
    r1.release().await.unwrap();
    r2.release().await.unwrap();
    let w = within(writer.write()).await.unwrap();
    assert!(w.node().contains("-__WRIT__"));
    assert!(RwLock::new(&a, "/rw").try_read().await.unwrap().is_none());
    w.release().await.unwrap();
    until_empty(&zk, "/rw").await;
}

/// CURATOR-621: after a downgrade (write, then read on the same handle), a writer that
/// queued meanwhile must not get the lock when the write lock is released, while the
/// downgraded read is still held.
#[tokio::test]
async fn curator_621_downgrade_while_a_writer_waits() {
    let (zk, server) = client().await;
    let lock = RwLock::new(&zk, "/downgrade");
    let write = lock.write().await.unwrap();
    let read = within(lock.read()).await.unwrap();
    let write_seq = &write.node()[write.node().len() - 10..];
    assert!(
        read.node().ends_with(&format!("__READ__{write_seq}")),
        "{}",
        read.node()
    );
    let other = connect(&server).await;
    let contender = RwLock::new(&other, "/downgrade");
    let waiting = tokio::spawn(async move { contender.write().await });
    until_children(&zk, "/downgrade", |n| n >= 3).await;
    write.release().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the writer got in beside the downgraded reader"
    );
    read.release().await.unwrap();
    within(waiting)
        .await
        .unwrap()
        .unwrap()
        .release()
        .await
        .unwrap();
}

/// kazoo #649: W1 holds, R waits, W2 queues after R. When W1 goes, R (not W2) is next,
/// then W2: neither waits for the other forever.
#[tokio::test]
async fn kazoo_649_a_reader_between_two_writers_does_not_deadlock() {
    let (zk, server) = client().await;
    let w1 = RwLock::new(&zk, "/rw649").write().await.unwrap();
    let (r, w2) = (connect(&server).await, connect(&server).await);
    let reader = tokio::spawn(async move { RwLock::new(&r, "/rw649").read().await });
    until_children(&zk, "/rw649", |n| n >= 2).await;
    let writer = tokio::spawn(async move { RwLock::new(&w2, "/rw649").write().await });
    until_children(&zk, "/rw649", |n| n >= 3).await;
    w1.release().await.unwrap();
    let read = within(reader).await.unwrap().unwrap();
    assert!(!writer.is_finished());
    read.release().await.unwrap();
    within(writer)
        .await
        .unwrap()
        .unwrap()
        .release()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_upgrade_is_refused_instead_of_waiting_forever() {
    let (zk, _server) = client().await;
    let lock = RwLock::new(&zk, "/upgrade");
    let read = lock.read().await.unwrap();
    let upgrade = lock.write_timeout(Duration::from_secs(5)).await;
    assert!(
        matches!(upgrade, Err(Error::InvalidArgument(_))),
        "{upgrade:?}"
    );
    read.release().await.unwrap();
    lock.write().await.unwrap().release().await.unwrap();
}
