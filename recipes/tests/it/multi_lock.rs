//! MultiLock: all or nothing, in order, released in reverse.

use std::time::Duration;

use zk_recipes::Error;
use zk_recipes::lock::{MultiLock, Mutex};

use crate::support::{client, connect, within};

#[tokio::test]
async fn a_partial_acquisition_gives_back_what_it_took() {
    let (zk, server) = client().await;
    let other = connect(&server).await;
    let b_held = Mutex::new(&other, "/ml/b").acquire().await.unwrap();
    let both = MultiLock::new(vec![Mutex::new(&zk, "/ml/a"), Mutex::new(&zk, "/ml/b")]);
    let timed = both.acquire_timeout(Duration::from_millis(200)).await;
    assert!(matches!(timed, Err(Error::Timeout(_))), "{timed:?}");
    // /ml/a was given back: another session takes it at once.
    let a = Mutex::new(&other, "/ml/a").try_acquire().await.unwrap();
    assert!(
        a.is_some(),
        "the first lock was kept after the second failed"
    );
    drop(a);
    b_held.release().await.unwrap();
    let guards = within(both.acquire()).await.unwrap();
    assert_eq!(guards.guards().len(), 2);
    assert!(
        Mutex::new(&other, "/ml/a")
            .try_acquire()
            .await
            .unwrap()
            .is_none()
    );
    guards.release().await.unwrap();
    assert!(
        Mutex::new(&other, "/ml/b")
            .try_acquire()
            .await
            .unwrap()
            .is_some()
    );
}
