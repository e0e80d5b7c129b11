//! Connection states from a real session: connected, suspended and reconnected over a cut
//! connection, lost at expiry; and the loss policies.

use std::time::Duration;

use futures::StreamExt;
use zk_client::Client;
use zk_recipes::state::{ConnectionState, ConnectionStates, LossPolicy};
use zk_testkit::Server;

use crate::support::{init_logging, within};

#[tokio::test]
async fn curators_states_over_a_cut_and_an_expiry() {
    init_logging();
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("states").await.unwrap();
    let zk = Client::builder()
        .session_timeout(Duration::from_secs(4))
        .connect(&endpoint.connect_string())
        .await
        .unwrap();
    let mut states = ConnectionStates::new(&zk);
    assert_eq!(
        within(states.next()).await,
        Some(ConnectionState::Connected)
    );
    endpoint.reset_all();
    assert_eq!(
        within(states.next()).await,
        Some(ConnectionState::Suspended)
    );
    assert_eq!(
        within(states.next()).await,
        Some(ConnectionState::Reconnected)
    );
    server
        .expire_session(zk.session_id(), &zk.session_password())
        .await
        .unwrap();
    // The server drops the connection of the expired session (Suspended), and says it
    // expired when the client comes back (Lost).
    let _ = zk.exists("/").await;
    let mut next = within(states.next()).await;
    if next == Some(ConnectionState::Suspended) {
        next = within(states.next()).await;
    }
    assert_eq!(next, Some(ConnectionState::Lost));
}

#[tokio::test]
async fn a_grace_period_rides_out_a_short_disconnect() {
    init_logging();
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("grace").await.unwrap();
    let zk = Client::builder()
        .session_timeout(Duration::from_secs(6))
        .connect(&endpoint.connect_string())
        .await
        .unwrap();
    let lock = zk_recipes::lock::Mutex::new(&zk, "/grace")
        .loss_policy(LossPolicy::standard().grace(Duration::from_secs(2)));
    let guard = lock.acquire().await.unwrap();
    let lost = guard.lost();
    tokio::pin!(lost);
    // A cut the client heals at once: within the grace period, nothing is lost.
    endpoint.reset_all();
    let waited = tokio::time::timeout(Duration::from_millis(1500), &mut lost).await;
    assert!(
        waited.is_err(),
        "lost during a healed disconnect: {waited:?}"
    );
    // A blackhole longer than the grace: suspended, and reported.
    let _hole = endpoint.blackhole();
    let why = within(&mut lost).await;
    assert_eq!(why, zk_recipes::lock::LostReason::Suspended);
}
