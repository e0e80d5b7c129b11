//! Misuse: closing twice, after expiry, from many handles at once, using a closed client,
//! dropping a client with requests in flight, closing while writes are queued. Nothing
//! hangs and every call gets an outcome.

use std::time::{Duration, Instant};

use zk_client::{Client, CreateOptions, Error, SessionState};

use crate::support::{client, within};

/// Closing returns at once when nothing is left to close.
const AT_ONCE: Duration = Duration::from_millis(500);

#[tokio::test]
async fn close_twice_returns_at_once_the_second_time() {
    let (zk, _server) = client().await;
    zk.create("/e", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    within(zk.close()).await;
    assert_eq!(zk.state(), SessionState::Closed);
    let started = Instant::now();
    within(zk.close()).await;
    within(zk.clone().close()).await;
    assert!(started.elapsed() < AT_ONCE, "{:?}", started.elapsed());
}

#[tokio::test]
async fn close_after_expiry_returns_at_once() {
    let (zk, server) = client().await;
    server
        .server()
        .expire_session(zk.session_id(), &zk.session_password())
        .await
        .unwrap();
    let mut state = zk.state_watcher();
    within(state.wait_for(|s| s == SessionState::Expired))
        .await
        .unwrap();
    let started = Instant::now();
    within(zk.close()).await;
    within(zk.close()).await;
    assert!(started.elapsed() < AT_ONCE, "{:?}", started.elapsed());
    assert_eq!(zk.state(), SessionState::Expired);
    assert!(matches!(
        zk.get_data("/").await,
        Err(Error::SessionExpired(_))
    ));
}

#[tokio::test]
async fn close_from_many_handles_at_once_all_return() {
    let (zk, _server) = client().await;
    let closes: Vec<_> = (0..32)
        .map(|_| zk.clone())
        .map(|c| async move { c.close().await })
        .collect();
    within(futures::future::join_all(closes)).await;
    assert_eq!(zk.state(), SessionState::Closed);
}

#[tokio::test]
async fn a_closed_client_fails_every_call_at_once() {
    let (zk, _server) = client().await;
    within(zk.close()).await;
    let started = Instant::now();
    assert!(matches!(zk.get_data("/").await, Err(Error::Closed(_))));
    assert!(matches!(
        zk.create("/x", b"", &CreateOptions::persistent()).await,
        Err(Error::Closed(_))
    ));
    assert!(matches!(
        zk.exists_and_watch("/x").await,
        Err(Error::Closed(_))
    ));
    assert!(matches!(zk.sync("/").await, Err(Error::Closed(_))));
    assert!(started.elapsed() < AT_ONCE);
}

#[tokio::test]
async fn dropping_the_client_with_requests_in_flight_answers_them_all() {
    let (zk, server) = client().await;
    zk.create("/d", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let calls: Vec<_> = (0..200)
        .map(|i| zk.create(&format!("/d/n{i}"), b"x", &CreateOptions::persistent()))
        .collect();
    drop(zk);
    // The futures own what they need: each completes (created before the close, or failed
    // by it), none waits forever.
    let results = within(futures::future::join_all(calls)).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Closed(_)))),
        "{results:?}"
    );
    // Requests made before the close are sent before closeSession: all were created.
    assert_eq!(created, 200);
    let check = Client::connect(&server.connect_string()).await.unwrap();
    assert_eq!(check.get_children("/d").await.unwrap().0.len(), 200);
    check.close().await;
}

#[tokio::test]
async fn close_racing_queued_writes_finishes_them_first() {
    let (zk, server) = client().await;
    zk.create("/w", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let writes: Vec<_> = (0..500)
        .map(|i| zk.set_data("/w", format!("{i}").as_bytes(), None))
        .collect();
    let close = zk.close();
    let late = zk.set_data("/w", b"late", None);
    let (results, ()) = within(futures::future::join(
        futures::future::join_all(writes),
        close,
    ))
    .await;
    assert!(results.iter().all(Result::is_ok));
    assert!(matches!(late.await, Err(Error::Closed(_))));
    let check = Client::connect(&server.connect_string()).await.unwrap();
    let (data, stat) = check.get_data("/w").await.unwrap();
    assert_eq!((&data[..], stat.version), (&b"499"[..], 500));
    check.close().await;
}

#[tokio::test]
async fn close_without_a_server_returns_at_once() {
    let (zk, task) = Client::builder().build("127.0.0.1:1").unwrap();
    tokio::spawn(task);
    let started = Instant::now();
    within(zk.close()).await;
    within(zk.close()).await;
    assert!(started.elapsed() < AT_ONCE, "{:?}", started.elapsed());
    assert_eq!(zk.state(), SessionState::Closed);
}
