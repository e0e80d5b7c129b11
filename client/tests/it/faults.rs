//! Reconnects, server kills, expiry, read-only mode, deadlines, fail-fast, the bounded
//! queue and lost replies, on servers and proxies of zk-testkit.

use std::time::Duration;

use futures::StreamExt;
use zk_client::{
    AddWatchMode, Client, CreateMode, CreateOptions, Error, EventType, KeeperState, SessionState,
};
use zk_testkit::{EnsembleConfig, Server};

use crate::support::within;

const TIMEOUT: Duration = Duration::from_secs(6);

fn builder() -> zk_client::ClientBuilder {
    crate::support::init_logging();
    Client::builder().session_timeout(TIMEOUT)
}

async fn wait_state(client: &Client, want: SessionState) {
    let mut state = client.state_watcher();
    within(state.wait_for(|s| s == want)).await.expect("state");
}

/// Sets one watch of every kind under `/w`; returns them.
async fn watch_everything(zk: &Client) -> Watches {
    for p in ["/w", "/w/d", "/w/c", "/w/p", "/w/r"] {
        zk.create(p, b"", &CreateOptions::persistent())
            .await
            .unwrap();
    }
    let (_, _, data) = zk.get_data_and_watch("/w/d").await.unwrap();
    let (stat, exist) = zk.exists_and_watch("/w/x").await.unwrap();
    assert!(stat.is_none());
    let (_, _, child) = zk.get_children_and_watch("/w/c").await.unwrap();
    let persistent = zk.watch("/w/p", AddWatchMode::Persistent).await.unwrap();
    let recursive = zk
        .watch("/w/r", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    Watches {
        data,
        exist,
        child,
        persistent,
        recursive,
    }
}

struct Watches {
    data: zk_client::OneshotWatcher,
    exist: zk_client::OneshotWatcher,
    child: zk_client::OneshotWatcher,
    persistent: zk_client::PersistentWatcher,
    recursive: zk_client::PersistentWatcher,
}

/// The next node event of a persistent watcher, skipping session events.
async fn next_node_event(events: &mut zk_client::PersistentWatcher) -> zk_client::WatchedEvent {
    within(async {
        loop {
            let e = events.next().await.expect("open");
            if e.event_type != EventType::None {
                return e;
            }
        }
    })
    .await
}

/// Changes every watched node through `other` and checks that each watch fires.
async fn assert_all_fire(other: &Client, mut w: Watches) {
    other.set_data("/w/d", b"x", None).await.unwrap();
    other
        .create("/w/x", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    other
        .create("/w/c/k", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    other.set_data("/w/p", b"x", None).await.unwrap();
    other
        .create("/w/r/deep", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        within(w.data).await.unwrap().event_type,
        EventType::NodeDataChanged
    );
    assert_eq!(
        within(w.exist).await.unwrap().event_type,
        EventType::NodeCreated
    );
    assert_eq!(
        within(w.child).await.unwrap().event_type,
        EventType::NodeChildrenChanged
    );
    let p = next_node_event(&mut w.persistent).await;
    assert_eq!(
        (p.event_type, p.path.as_str()),
        (EventType::NodeDataChanged, "/w/p")
    );
    let r = next_node_event(&mut w.recursive).await;
    assert_eq!(
        (r.event_type, r.path.as_str()),
        (EventType::NodeCreated, "/w/r/deep")
    );
}

#[tokio::test]
async fn every_watch_kind_survives_a_cut_connection_on_the_same_session() {
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("cut").await.unwrap();
    let zk = builder().connect(&endpoint.connect_string()).await.unwrap();
    let other = Client::connect(&server.connect_string()).await.unwrap();
    let session = zk.session_id();
    let mut watches = watch_everything(&zk).await;

    // Cut, and keep the client out while another client changes a watched node.
    let refuse = endpoint.refuse_new();
    endpoint.reset_all();
    wait_state(&zk, SessionState::Disconnected).await;
    let gone = within(watches.persistent.next()).await.unwrap();
    assert_eq!(
        (gone.event_type, gone.state, gone.path.as_str()),
        (EventType::None, KeeperState::Disconnected, "")
    );
    other.set_data("/w/d", b"while away", None).await.unwrap();
    drop(refuse);
    wait_state(&zk, SessionState::Connected).await;
    assert_eq!(zk.session_id(), session, "same session");
    // Persistent watchers are told the session is back.
    let back = within(watches.persistent.next()).await.unwrap();
    assert_eq!(
        (back.event_type, back.state),
        (EventType::None, KeeperState::SyncConnected)
    );
    // The change made while disconnected fired the data watch on reconnect.
    let (_, _, data) = {
        assert_eq!(
            within(watches.data).await.unwrap().event_type,
            EventType::NodeDataChanged
        );
        zk.get_data_and_watch("/w/d").await.unwrap()
    };
    watches.data = data;
    assert_all_fire(&other, watches).await;
}

#[tokio::test]
async fn every_watch_kind_survives_killing_the_connected_server_of_an_ensemble() {
    let ensemble = zk_testkit::Ensemble::start(3).await.unwrap();
    let zk = builder().connect(&ensemble.connect_string()).await.unwrap();
    zk.create("/eph", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let watches = watch_everything(&zk).await;
    let session = zk.session_id();

    let connected = zk.connected_server().expect("connected");
    let victim = ensemble
        .ids()
        .into_iter()
        .find(|id| ensemble.client_addr(*id).map(|a| a.to_string()) == Some(connected.clone()))
        .expect("server id");
    ensemble.kill(victim).unwrap();
    let mut state = zk.state_watcher();
    let reconnected = async {
        loop {
            if zk.state() == SessionState::Connected
                && zk.connected_server().is_some_and(|s| s != connected)
            {
                return;
            }
            state.changed().await.unwrap();
        }
    };
    within(reconnected).await;
    assert_eq!(zk.session_id(), session);
    assert!(
        zk.exists("/eph").await.unwrap().is_some(),
        "the ephemeral node survived"
    );
    let survivor = ensemble.ids().into_iter().find(|id| *id != victim).unwrap();
    let other = Client::connect(&ensemble.client_addr(survivor).unwrap().to_string())
        .await
        .unwrap();
    assert_all_fire(&other, watches).await;
}

#[tokio::test]
async fn expiry_is_terminal_and_deletes_ephemerals() {
    let server = Server::start().await.unwrap();
    let zk = builder().connect(&server.connect_string()).await.unwrap();
    zk.create("/eph", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, watcher) = zk.exists_and_watch("/never").await.unwrap();
    let mut persistent = zk.watch("/p", AddWatchMode::Persistent).await.unwrap();
    server
        .expire_session(zk.session_id(), &zk.session_password())
        .await
        .unwrap();
    wait_state(&zk, SessionState::Expired).await;
    assert!(matches!(
        within(watcher).await,
        Err(Error::SessionExpired(_))
    ));
    let last = async {
        let mut last = None;
        while let Some(e) = persistent.next().await {
            last = Some(e);
        }
        last
    };
    assert_eq!(
        within(last).await.map(|e| e.state),
        Some(KeeperState::Expired)
    );
    assert!(matches!(
        zk.get_data("/eph").await,
        Err(Error::SessionExpired(_))
    ));
    let other = Client::connect(&server.connect_string()).await.unwrap();
    assert_eq!(other.exists("/eph").await.unwrap(), None);
}

#[tokio::test]
async fn read_only_when_quorum_is_lost_and_back_to_read_write() {
    let cfg = EnsembleConfig::new(3).read_only(true);
    let ensemble = zk_testkit::Ensemble::start_with(cfg).await.unwrap();
    let zk = builder()
        .read_only(true)
        .connect(&ensemble.connect_string())
        .await
        .unwrap();
    zk.create("/data", b"kept", &CreateOptions::persistent())
        .await
        .unwrap();
    // Stop two servers: the third loses its quorum and turns read-only.
    // Read-only mode needs local sessions (3.7+): a session is local to its server until it
    // creates an ephemeral node, which makes it global and lets it move between servers.
    zk.create("/owner", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let global = zk.session_id();
    let ids = ensemble.ids();
    ensemble.kill(ids[0]).unwrap();
    ensemble.kill(ids[1]).unwrap();
    wait_state(&zk, SessionState::ConnectedReadOnly).await;
    assert_eq!(&zk.get_data("/data").await.unwrap().0[..], b"kept");
    assert!(matches!(
        zk.set_data("/data", b"x", None).await,
        Err(Error::NotReadOnly(_))
    ));
    // Quorum back: the client finds a read-write server again.
    ensemble.restart(ids[0]).await.unwrap();
    ensemble.restart(ids[1]).await.unwrap();
    wait_state(&zk, SessionState::Connected).await;
    assert_eq!(zk.session_id(), global, "the read-write session resumed");
    assert!(
        zk.exists("/owner").await.unwrap().is_some(),
        "with its ephemeral node"
    );
    within(async {
        loop {
            match zk.set_data("/data", b"rw", None).await {
                Ok(_) => return,
                Err(e) if e.is_retryable() || matches!(e, Error::NotReadOnly(_)) => {
                    tokio::task::yield_now().await
                }
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn deadlines_and_fail_fast_while_blackholed() {
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("hole").await.unwrap();
    let zk = builder()
        .request_timeout(Duration::from_millis(500))
        .connect(&endpoint.connect_string())
        .await
        .unwrap();
    let fast = builder()
        .fail_fast(true)
        .connect(&endpoint.connect_string())
        .await
        .unwrap();
    let hole = endpoint.blackhole();
    let timed_out = zk.get_data("/").await.unwrap_err();
    assert!(matches!(timed_out, Error::Timeout(_)), "{timed_out}");
    assert!(timed_out.is_connection_loss());
    // The read timeout (2/3 of the session timeout) drops the connection; then fail-fast
    // calls fail at once.
    wait_state(&fast, SessionState::Disconnected).await;
    assert!(matches!(
        fast.exists("/").await,
        Err(Error::ConnectionLoss(_))
    ));
    drop(hole);
    wait_state(&fast, SessionState::Connected).await;
    assert!(fast.exists("/").await.unwrap().is_some());
    wait_state(&zk, SessionState::Connected).await;
    assert!(zk.exists("/").await.unwrap().is_some());
}

#[tokio::test]
async fn queued_requests_are_bounded_while_the_server_is_down() {
    let server = Server::start_with(EnsembleConfig::new(1)).await.unwrap();
    let zk = builder()
        .max_queued(10)
        .connect(&server.connect_string())
        .await
        .unwrap();
    server.stop().await.unwrap();
    wait_state(&zk, SessionState::Disconnected).await;
    let queued: Vec<_> = (0..10)
        .map(|i| zk.create(&format!("/q{i}"), b"", &CreateOptions::persistent()))
        .collect();
    assert!(matches!(zk.exists("/").await, Err(Error::QueueFull(_))));
    server.restart().await.unwrap();
    for q in queued {
        within(q).await.unwrap();
    }
    let (children, _) = zk.get_children("/").await.unwrap();
    assert_eq!(children.iter().filter(|c| c.starts_with('q')).count(), 10);
}

#[tokio::test]
async fn a_lost_reply_is_a_connection_loss_and_is_not_retried() {
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("lost").await.unwrap();
    let zk = builder().connect(&endpoint.connect_string()).await.unwrap();
    zk.create("/seq", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let _lost = endpoint.drop_reply(1);
    let err = zk
        .create(
            "/seq/n-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConnectionLoss(_)), "{err}");
    wait_state(&zk, SessionState::Connected).await;
    // The create happened once, and only once.
    let (children, _) = zk.get_children("/seq").await.unwrap();
    assert_eq!(children, ["n-0000000000"]);
}

#[tokio::test]
async fn a_background_delete_waits_out_a_disconnect() {
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("bg").await.unwrap();
    let zk = builder().connect(&endpoint.connect_string()).await.unwrap();
    let other = Client::connect(&server.connect_string()).await.unwrap();
    zk.create("/bg", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.create("/gone", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    // Asked while the connection is down: sent once it is back.
    let refuse = endpoint.refuse_new();
    endpoint.reset_all();
    wait_state(&zk, SessionState::Disconnected).await;
    zk.delete_in_background("/bg", None).unwrap();
    other.delete("/gone", None).await.unwrap();
    // Already gone: nothing to do, no error anywhere.
    zk.delete_in_background("/gone", None).unwrap();
    assert!(other.exists("/bg").await.unwrap().is_some());
    drop(refuse);
    wait_state(&zk, SessionState::Connected).await;
    within(async {
        while other.exists("/bg").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(matches!(
        zk.delete_in_background("bad path", None),
        Err(Error::InvalidPath(..))
    ));
    zk.close().await;
}

#[tokio::test]
async fn a_new_state_watcher_waits_for_the_next_change() {
    let server = Server::start().await.unwrap();
    let endpoint = server.client_endpoint("watcher").await.unwrap();
    let zk = builder().connect(&endpoint.connect_string()).await.unwrap();
    let mut states = zk.state_watcher();
    assert_eq!(states.current(), SessionState::Connected);
    let early = tokio::time::timeout(Duration::from_millis(200), states.changed()).await;
    assert!(
        early.is_err(),
        "changed() reported a change that did not happen: {early:?}"
    );
    endpoint.reset_all();
    assert_eq!(
        within(states.changed()).await.unwrap(),
        SessionState::Disconnected
    );
    zk.close().await;
}
