//! Server-side session expiry without any client library.

use std::time::Duration;

use zk_proto::CreateMode;
use zk_testkit::{Error, RawSession};

use crate::common::wait_exists;

#[tokio::test]
async fn expire_session_makes_an_ephemeral_node_vanish() {
    let zk = zk_testkit::shared().await.expect("shared server");
    let mut victim = RawSession::connect(zk.addr(), Duration::from_secs(30))
        .await
        .expect("victim session");
    let path = zk.path("/ephemeral");
    victim
        .create(&path, b"", CreateMode::Ephemeral)
        .await
        .expect("create");
    let mut observer = RawSession::connect(zk.addr(), Duration::from_secs(30))
        .await
        .expect("observer session");
    assert!(observer.exists(&path).await.expect("exists"));

    let (id, password) = (victim.session_id(), victim.password().to_vec());
    zk_testkit::expire_session(zk.addr(), id, &password)
        .await
        .expect("expire");

    wait_exists(zk.addr(), &path, false, Duration::from_secs(10)).await;
    // The victim's connection was taken over and closed by the server.
    assert!(
        victim.exists("/").await.is_err(),
        "the victim's connection is gone"
    );
    // And the session cannot be resumed: it is expired.
    let resumed = RawSession::resume(zk.addr(), id, &password, Duration::from_secs(30)).await;
    assert!(
        matches!(resumed, Err(Error::SessionRefused(s)) if s == id),
        "{resumed:?}"
    );
}

#[tokio::test]
async fn expiring_an_unknown_session_is_refused() {
    let zk = zk_testkit::shared().await.expect("shared server");
    let err = zk_testkit::expire_session(zk.addr(), 0x0bad_5e55_1011, &[7; 16])
        .await
        .expect_err("no such session");
    assert!(matches!(err, Error::SessionRefused(_)), "{err}");
}
