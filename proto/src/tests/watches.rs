//! Watch scenarios: registration, firing, removal, and re-arming after a reconnect.

use bytes::Bytes;

use super::config;
use super::sim::{Sim, create, exists, get_data};
use crate::records::*;
use crate::session::{Event, WatchKind};
use crate::{AddWatchMode, CreateMode, ErrorCode, EventType, OpCode, WatcherType};

#[test]
fn set_watches_batches_a_large_watch_set_on_reconnect() {
    let mut sim = Sim::new(config());
    sim.connect();
    // 10,000 exist watches on 110-byte paths: 1.1 MB of paths, more than a frame holds.
    let prefix = format!("/{}", "w".repeat(99));
    sim.server.external_create(&prefix, CreateMode::Persistent);
    let ids: Vec<_> = (0..10_000)
        .map(|i| {
            sim.session.submit(
                sim.now,
                OpCode::Exists,
                exists(&format!("{prefix}/{i:09}"), true),
            )
        })
        .collect();
    sim.step();
    assert!(
        ids.iter()
            .all(|id| sim.reply(*id) == Some(Err(ErrorCode::NoNode)))
    );
    assert_eq!(sim.session.watcher_count(), 10_000);
    let zxid = sim.session.last_zxid_seen();

    sim.server.disconnect();
    sim.server_closed();
    sim.connect();
    let batches = sim.received(OpCode::SetWatches);
    assert!(batches.len() >= 9, "{} batches", batches.len());
    let mut paths = 0;
    for batch in &batches {
        let Request::SetWatches(sw) = batch else {
            panic!()
        };
        let bytes: usize = sw.exist_watches.iter().map(String::len).sum();
        assert!(bytes <= 128 * 1024 + 110, "batch of {bytes} path bytes");
        assert_eq!(sw.relative_zxid, zxid);
        paths += sw.exist_watches.len();
    }
    assert_eq!(paths, 10_000);
    // Re-armed: a create fires the watcher registered before the reconnect.
    sim.server
        .external_create(&format!("{prefix}/000000007"), CreateMode::Persistent);
    sim.step();
    let fired = sim.watch_events();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, [ids[7]]);
    assert_eq!(fired[0].1.event_type, EventType::NodeCreated);
}

#[test]
fn every_watch_kind_survives_a_reconnect() {
    let mut sim = Sim::new(config());
    sim.connect();
    for path in ["/d", "/c", "/p", "/r"] {
        sim.call(OpCode::Create, create(path, CreateMode::Persistent))
            .unwrap();
    }
    let data = sim
        .session
        .submit(sim.now, OpCode::GetData, get_data("/d", true));
    let exist = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/x", true));
    let child = sim.session.submit(
        sim.now,
        OpCode::GetChildren,
        Request::GetChildren(GetChildrenRequest {
            path: "/c".into(),
            watch: true,
        }),
    );
    let persistent = sim.session.submit(
        sim.now,
        OpCode::AddWatch,
        Request::AddWatch(AddWatchRequest {
            path: "/p".into(),
            mode: AddWatchMode::Persistent,
        }),
    );
    let recursive = sim.session.submit(
        sim.now,
        OpCode::AddWatch,
        Request::AddWatch(AddWatchRequest {
            path: "/r".into(),
            mode: AddWatchMode::PersistentRecursive,
        }),
    );
    sim.step();
    assert_eq!(sim.session.watcher_count(), 5);

    // Cut the connection; while it is down another client changes /d.
    sim.server.disconnect();
    sim.server_closed();
    sim.server
        .set_data("/d", Bytes::from_static(b"changed"), -1)
        .unwrap();
    sim.connect();
    sim.step();
    // SetWatches2 (persistent watches present) fired the missed data change at once.
    assert_eq!(sim.received(OpCode::SetWatches2).len(), 1);
    assert_eq!(
        sim.watch_events(),
        [(
            vec![data],
            crate::session::WatchedEvent {
                event_type: EventType::NodeDataChanged,
                path: "/d".into()
            }
        )]
    );

    // The others were re-armed and fire on later changes.
    sim.server.external_create("/x", CreateMode::Persistent);
    sim.server.external_create("/c/kid", CreateMode::Persistent);
    sim.server.set_data("/p", Bytes::new(), -1).unwrap();
    sim.server
        .external_create("/r/deep", CreateMode::Persistent);
    sim.server.set_data("/p", Bytes::new(), -1).unwrap();
    sim.step();
    let fired: Vec<_> = sim
        .watch_events()
        .into_iter()
        .skip(1)
        .map(|(w, e)| (w, e.event_type))
        .collect();
    assert_eq!(
        fired,
        [
            (vec![exist], EventType::NodeCreated),
            (vec![child], EventType::NodeChildrenChanged),
            (vec![persistent], EventType::NodeDataChanged),
            (vec![recursive], EventType::NodeCreated),
            (vec![persistent], EventType::NodeDataChanged),
        ]
    );
    assert_eq!(
        sim.session.watcher_count(),
        2,
        "only the persistent watches remain"
    );
}

#[test]
fn dropping_the_last_persistent_watcher_removes_it_on_the_server() {
    let mut sim = Sim::new(config());
    sim.connect();
    let w = sim.session.submit(
        sim.now,
        OpCode::AddWatch,
        Request::AddWatch(AddWatchRequest {
            path: "/".into(),
            mode: AddWatchMode::PersistentRecursive,
        }),
    );
    sim.step();
    sim.session.remove_watcher(sim.now, w);
    sim.step();
    let removes = sim.received(OpCode::RemoveWatches);
    assert_eq!(
        removes,
        [Request::RemoveWatches(RemoveWatchesRequest {
            path: "/".into(),
            watcher_type: WatcherType::Any
        })]
    );
    sim.server.external_create("/later", CreateMode::Persistent);
    sim.step();
    assert!(sim.watch_events().is_empty());
}

#[test]
fn explicit_remove_watches_ends_the_local_watchers() {
    let mut sim = Sim::new(config());
    sim.connect();
    let w = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", true));
    sim.step();
    let removed = sim.call(
        OpCode::RemoveWatches,
        Request::RemoveWatches(RemoveWatchesRequest {
            path: "/".into(),
            watcher_type: WatcherType::Data,
        }),
    );
    assert!(removed.is_ok());
    let events = sim.watch_events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].0.clone(), events[0].1.event_type),
        (vec![w], EventType::DataWatchRemoved)
    );
    assert_eq!(sim.session.watcher_count(), 0);
}

#[test]
fn watch_registration_follows_the_java_rules() {
    let mut sim = Sim::new(config());
    sim.connect();
    let missing_get = sim
        .session
        .submit(sim.now, OpCode::GetData, get_data("/none", true));
    let missing_exists = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/none", true));
    sim.step();
    let watch_of = |id| {
        sim.events.iter().find_map(|(_, e)| match e {
            Event::Reply(r) if r.id == id => Some(r.watch),
            _ => None,
        })
    };
    assert_eq!(
        watch_of(missing_get),
        Some(None),
        "getData on a missing node leaves no watch"
    );
    assert_eq!(watch_of(missing_exists), Some(Some(WatchKind::Exist)));
}
