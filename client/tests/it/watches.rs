//! Every watch kind fires as ZooKeeper's rules say, on the shared server (chrooted).

use std::time::Duration;

use futures::StreamExt;
use zk_client::{
    AddWatchMode, CreateOptions, Error, EventType, KeeperState, SessionState, WatcherType,
};

use crate::support::{client, within};

#[tokio::test]
async fn data_watch_fires_once_on_change() {
    let (zk, _server) = client().await;
    zk.create("/d", b"1", &CreateOptions::persistent())
        .await
        .unwrap();
    let (_, _, watcher) = zk.get_data_and_watch("/d").await.unwrap();
    zk.set_data("/d", b"2", None).await.unwrap();
    let event = within(watcher).await.unwrap();
    assert_eq!(
        (event.event_type, event.state, event.path.as_str()),
        (EventType::NodeDataChanged, KeeperState::SyncConnected, "/d")
    );
    // One-shot: a second change is not reported to anyone; a new watch sees the next one.
    zk.set_data("/d", b"3", None).await.unwrap();
    let (data, _, watcher) = zk.get_data_and_watch("/d").await.unwrap();
    assert_eq!(&data[..], b"3");
    zk.delete("/d", None).await.unwrap();
    assert_eq!(
        within(watcher).await.unwrap().event_type,
        EventType::NodeDeleted
    );
}

#[tokio::test]
async fn exists_watch_fires_on_create_and_get_data_leaves_none_on_missing_nodes() {
    let (zk, _server) = client().await;
    let (stat, created) = zk.exists_and_watch("/later").await.unwrap();
    assert_eq!(stat, None);
    assert!(matches!(
        zk.get_data_and_watch("/later").await,
        Err(Error::NoNode(_))
    ));
    zk.create("/later", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        within(created).await.unwrap().event_type,
        EventType::NodeCreated
    );
    let (stat, changed) = zk.exists_and_watch("/later").await.unwrap();
    assert!(stat.is_some());
    zk.set_data("/later", b"x", None).await.unwrap();
    assert_eq!(
        within(changed).await.unwrap().event_type,
        EventType::NodeDataChanged
    );
}

#[tokio::test]
async fn child_watch_fires_on_children_and_delete() {
    let (zk, _server) = client().await;
    zk.create("/p", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (children, _, watcher) = zk.get_children_and_watch("/p").await.unwrap();
    assert!(children.is_empty());
    zk.create("/p/k", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let event = within(watcher).await.unwrap();
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeChildrenChanged, "/p")
    );
    // Data change does not fire a child watch; deletion does (once for data+child).
    let (_, _, children_watch) = zk.get_children_and_watch("/p/k").await.unwrap();
    let (_, _, data_watch) = zk.get_data_and_watch("/p/k").await.unwrap();
    zk.delete("/p/k", None).await.unwrap();
    assert_eq!(
        within(children_watch).await.unwrap().event_type,
        EventType::NodeDeleted
    );
    assert_eq!(
        within(data_watch).await.unwrap().event_type,
        EventType::NodeDeleted
    );
}

#[tokio::test]
async fn persistent_watch_sees_every_change_of_its_node() {
    let (zk, _server) = client().await;
    let mut events = zk.watch("/pw", AddWatchMode::Persistent).await.unwrap();
    zk.create("/pw", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.set_data("/pw", b"1", None).await.unwrap();
    zk.set_data("/pw", b"2", None).await.unwrap();
    zk.create("/pw/kid", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.create("/pw/kid/grandkid", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.delete_all("/pw").await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let event = within(events.next()).await.expect("event");
        seen.push((event.event_type, event.path));
    }
    let expected = [
        (EventType::NodeCreated, "/pw"),
        (EventType::NodeDataChanged, "/pw"),
        (EventType::NodeDataChanged, "/pw"),
        (EventType::NodeChildrenChanged, "/pw"),
        (EventType::NodeChildrenChanged, "/pw"),
        (EventType::NodeDeleted, "/pw"),
    ];
    let seen: Vec<_> = seen.iter().map(|(t, p)| (*t, p.as_str())).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn recursive_watch_sees_the_subtree_without_children_events() {
    let (zk, _server) = client().await;
    let mut events = zk
        .watch("/rw", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    zk.create("/rw", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.create("/rw/a", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.set_data("/rw/a", b"1", None).await.unwrap();
    zk.delete("/rw/a", None).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = within(events.next()).await.expect("event");
        seen.push((event.event_type, event.path));
    }
    let seen: Vec<_> = seen.iter().map(|(t, p)| (*t, p.as_str())).collect();
    assert_eq!(
        seen,
        [
            (EventType::NodeCreated, "/rw"),
            (EventType::NodeCreated, "/rw/a"),
            (EventType::NodeDataChanged, "/rw/a"),
            (EventType::NodeDeleted, "/rw/a"),
        ]
    );
}

#[tokio::test]
async fn dropping_the_last_persistent_watcher_removes_it_on_the_server() {
    let (zk, _server) = client().await;
    let watcher = zk.watch("/gone", AddWatchMode::Persistent).await.unwrap();
    zk.check_watches("/gone", WatcherType::Any).await.unwrap();
    drop(watcher);
    let removed = async {
        loop {
            match zk.check_watches("/gone", WatcherType::Any).await {
                Err(Error::NoWatcher(_)) => return,
                Ok(()) => tokio::task::yield_now().await,
                Err(e) => panic!("{e}"),
            }
        }
    };
    within(removed).await;
}

#[tokio::test]
async fn a_dropped_one_shot_watcher_is_forgotten() {
    let (zk, _server) = client().await;
    zk.create("/o", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (_, _, dropped) = zk.get_data_and_watch("/o").await.unwrap();
    drop(dropped);
    let (_, _, kept) = zk.get_data_and_watch("/o").await.unwrap();
    zk.set_data("/o", b"x", None).await.unwrap();
    assert_eq!(
        within(kept).await.unwrap().event_type,
        EventType::NodeDataChanged
    );
}

#[tokio::test]
async fn state_views() {
    let (zk, _server) = client().await;
    assert_eq!(zk.state(), SessionState::Connected);
    assert_eq!(zk.state_watcher().current(), SessionState::Connected);
    let mut transitions = zk.state_stream();
    assert_eq!(
        within(transitions.next()).await,
        Some(SessionState::Connected)
    );
    zk.close().await;
    assert_eq!(within(transitions.next()).await, Some(SessionState::Closed));
    assert!(zk.session_timeout() >= Duration::from_secs(4));
}

#[tokio::test]
async fn a_one_shot_watch_does_not_downgrade_a_persistent_one_on_the_same_path() {
    // ZOOKEEPER-4466: on a 3.8 server a standard watch set after a persistent watch on the
    // same path turns the persistent one into a one-shot watch; the client re-adds it.
    let (zk, _server) = client().await;
    zk.create("/both", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut persistent = zk.watch("/both", AddWatchMode::Persistent).await.unwrap();
    let (_, _, one_shot) = zk.get_data_and_watch("/both").await.unwrap();
    zk.set_data("/both", b"1", None).await.unwrap();
    zk.set_data("/both", b"2", None).await.unwrap();
    assert_eq!(
        within(one_shot).await.unwrap().event_type,
        EventType::NodeDataChanged
    );
    for _ in 0..2 {
        let event = within(persistent.next()).await.unwrap();
        assert_eq!(
            (event.event_type, event.path.as_str()),
            (EventType::NodeDataChanged, "/both")
        );
    }
}
