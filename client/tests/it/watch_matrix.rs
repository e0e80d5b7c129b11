//! The watch matrix: a one-shot watch (data, exists, child) beside no / a persistent / a
//! recursive watch on the same path of the same session, registered in either order, and
//! a data change, a child created or the node deleted by another session. Each one-shot
//! watch must fire exactly once when the change concerns it and never otherwise, and each
//! persistent watch must see the change and the next one. The same matrix runs again with
//! a server restart (the session kept) between registration and the changes.
//!
//! A 3.8 server keeps one mode per watcher and path in each of its watch tables, so these
//! combinations meet ZOOKEEPER-4466; the client works around it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use zk_client::{AddWatchMode, Client, CreateOptions, EventType};

use crate::support::init_logging;

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum OneShot {
    Data,
    Exists,
    Child,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Change {
    DataChanged,
    ChildCreated,
    NodeDeleted,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Order {
    OneShotFirst,
    PersistentFirst,
}

#[derive(Clone, Copy, Debug)]
struct Cell {
    one_shot: OneShot,
    persistent: Option<AddWatchMode>,
    order: Order,
    change: Change,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let persistent = match self.persistent {
            None => "none",
            Some(AddWatchMode::Persistent) => "persistent",
            Some(_) => "recursive",
        };
        let order = match (self.persistent, self.order) {
            (None, _) => "-",
            (_, Order::OneShotFirst) => "one-shot first",
            (_, Order::PersistentFirst) => "persistent first",
        };
        write!(
            f,
            "{:<7} {:<10} {:<16} {:<13}",
            format!("{:?}", self.one_shot),
            persistent,
            order,
            format!("{:?}", self.change)
        )
    }
}

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for one_shot in [OneShot::Data, OneShot::Exists, OneShot::Child] {
        for persistent in [
            None,
            Some(AddWatchMode::Persistent),
            Some(AddWatchMode::PersistentRecursive),
        ] {
            let orders: &[Order] = match persistent {
                None => &[Order::OneShotFirst],
                Some(_) => &[Order::OneShotFirst, Order::PersistentFirst],
            };
            for &order in orders {
                for change in [
                    Change::DataChanged,
                    Change::ChildCreated,
                    Change::NodeDeleted,
                ] {
                    cells.push(Cell {
                        one_shot,
                        persistent,
                        order,
                        change,
                    });
                }
            }
        }
    }
    cells
}

/// What a cell's one-shot watch must report: the change, when it concerns the watch.
fn one_shot_expected(cell: &Cell) -> Option<EventType> {
    match (cell.one_shot, cell.change) {
        (OneShot::Data | OneShot::Exists, Change::DataChanged) => Some(EventType::NodeDataChanged),
        (OneShot::Child, Change::ChildCreated) => Some(EventType::NodeChildrenChanged),
        (_, Change::NodeDeleted) => Some(EventType::NodeDeleted),
        _ => None,
    }
}

/// What a cell's persistent watch must report for the first and the second change.
fn persistent_expected(cell: &Cell, path: &str) -> Vec<(EventType, String)> {
    let Some(mode) = cell.persistent else {
        return Vec::new();
    };
    let recursive = mode == AddWatchMode::PersistentRecursive;
    match cell.change {
        Change::DataChanged => vec![
            (EventType::NodeDataChanged, path.to_owned()),
            (EventType::NodeDataChanged, path.to_owned()),
        ],
        Change::ChildCreated if recursive => vec![
            (EventType::NodeCreated, format!("{path}/x")),
            (EventType::NodeCreated, format!("{path}/y")),
        ],
        Change::ChildCreated => vec![
            (EventType::NodeChildrenChanged, path.to_owned()),
            (EventType::NodeChildrenChanged, path.to_owned()),
        ],
        Change::NodeDeleted => vec![
            (EventType::NodeDeleted, path.to_owned()),
            (EventType::NodeCreated, path.to_owned()),
        ],
    }
}

type Log = Arc<Mutex<Vec<(EventType, String)>>>;

struct Armed {
    cell: Cell,
    path: String,
    one_shot: Log,
    persistent: Log,
}

async fn arm_one_shot(zk: &Client, cell: &Cell, path: &str, log: Log) {
    let watcher = match cell.one_shot {
        OneShot::Data => zk.get_data_and_watch(path).await.unwrap().2,
        OneShot::Exists => zk.exists_and_watch(path).await.unwrap().1,
        OneShot::Child => zk.get_children_and_watch(path).await.unwrap().2,
    };
    tokio::spawn(async move {
        if let Ok(event) = watcher.await {
            log.lock().unwrap().push((event.event_type, event.path));
        }
    });
}

async fn arm_persistent(zk: &Client, mode: AddWatchMode, path: &str, log: Log) {
    let mut watcher = zk.watch(path, mode).await.unwrap();
    tokio::spawn(async move {
        while let Some(event) = watcher.next().await {
            if event.event_type != EventType::None {
                log.lock().unwrap().push((event.event_type, event.path));
            }
        }
    });
}

async fn arm(zk: &Client, base: &str, index: usize, cell: Cell) -> Armed {
    let path = format!("{base}/c{index:02}");
    zk.create(&path, b"0", &CreateOptions::persistent())
        .await
        .unwrap();
    let armed = Armed {
        cell,
        path,
        one_shot: Log::default(),
        persistent: Log::default(),
    };
    let persistent = |zk: &Client| {
        let log = armed.persistent.clone();
        let path = armed.path.clone();
        let zk = zk.clone();
        async move {
            if let Some(mode) = cell.persistent {
                arm_persistent(&zk, mode, &path, log).await;
            }
        }
    };
    if cell.order == Order::PersistentFirst {
        persistent(zk).await;
    }
    arm_one_shot(zk, &cell, &armed.path, armed.one_shot.clone()).await;
    if cell.order == Order::OneShotFirst {
        persistent(zk).await;
    }
    armed
}

async fn apply(other: &Client, armed: &Armed, second: bool) {
    let path = &armed.path;
    match (armed.cell.change, second) {
        (Change::DataChanged, _) => {
            other.set_data(path, b"1", None).await.unwrap();
        }
        (Change::ChildCreated, false) => {
            let child = format!("{path}/x");
            other
                .create(&child, b"", &CreateOptions::persistent())
                .await
                .unwrap();
        }
        (Change::ChildCreated, true) => {
            let child = format!("{path}/y");
            other
                .create(&child, b"", &CreateOptions::persistent())
                .await
                .unwrap();
        }
        (Change::NodeDeleted, false) => other.delete(path, None).await.unwrap(),
        (Change::NodeDeleted, true) => {
            other
                .create(path, b"0", &CreateOptions::persistent())
                .await
                .unwrap();
        }
    }
}

/// Waits until every log holds at least what is expected, then a little longer for
/// anything extra.
async fn settle(armed: &[Armed], want: impl Fn(&Armed) -> (usize, usize)) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let done = armed.iter().all(|a| {
            let (one_shot, persistent) = want(a);
            a.one_shot.lock().unwrap().len() >= one_shot
                && a.persistent.lock().unwrap().len() >= persistent
        });
        if done || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Runs the matrix on `hosts`, restarting the server between registration and the
/// changes when `restart` is given; returns the cells that failed.
async fn run_matrix<F>(hosts: &str, restart: Option<F>) -> Vec<String>
where
    F: Future<Output = ()>,
{
    init_logging();
    let builder = || Client::builder().session_timeout(Duration::from_secs(30));
    let zk = builder().connect(hosts).await.unwrap();
    let other = builder().connect(hosts).await.unwrap();
    let base = "/matrix";
    zk.create(base, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut armed = Vec::new();
    for (index, cell) in cells().into_iter().enumerate() {
        armed.push(arm(&zk, base, index, cell).await);
    }
    if let Some(restart) = restart {
        let session = zk.session_id();
        restart.await;
        let mut state = zk.state_watcher();
        tokio::time::timeout(
            Duration::from_secs(30),
            state.wait_for(|s| s.is_connected()),
        )
        .await
        .expect("reconnected")
        .unwrap();
        assert_eq!(zk.session_id(), session, "the session survives the restart");
    }
    for a in &armed {
        apply(&other, a, false).await;
    }
    settle(&armed, |a| {
        (
            usize::from(one_shot_expected(&a.cell).is_some()),
            usize::from(a.cell.persistent.is_some()),
        )
    })
    .await;
    for a in &armed {
        apply(&other, a, true).await;
    }
    settle(&armed, |a| {
        (
            usize::from(one_shot_expected(&a.cell).is_some()),
            2 * usize::from(a.cell.persistent.is_some()),
        )
    })
    .await;
    let mut failed = Vec::new();
    println!("one-shot persistent order            change        one-shot  persistent");
    for a in &armed {
        let one_shot = a.one_shot.lock().unwrap().clone();
        let persistent = a.persistent.lock().unwrap().clone();
        let want_one_shot: Vec<_> = one_shot_expected(&a.cell)
            .map(|t| (t, a.path.clone()))
            .into_iter()
            .collect();
        let want_persistent = persistent_expected(&a.cell, &a.path);
        let ok_one_shot = one_shot == want_one_shot;
        let ok_persistent = persistent == want_persistent;
        let verdict = |ok: bool, n: usize| {
            if ok {
                format!("ok ({n})")
            } else {
                format!("FAIL ({n})")
            }
        };
        println!(
            "{}  {:<9} {}",
            a.cell,
            verdict(ok_one_shot, one_shot.len()),
            verdict(ok_persistent, persistent.len())
        );
        if !ok_one_shot || !ok_persistent {
            failed.push(format!(
                "{}: one-shot {one_shot:?} (want {want_one_shot:?}), persistent {persistent:?} (want {want_persistent:?})",
                a.cell
            ));
        }
    }
    zk.close().await;
    other.close().await;
    failed
}

#[tokio::test]
async fn every_cell_of_the_watch_matrix_fires_as_it_should() {
    let server = zk_testkit::shared().await.expect("shared server");
    let hosts = format!("{}{}", server.addr(), server.chroot());
    let failed = run_matrix::<std::future::Ready<()>>(&hosts, None).await;
    assert!(failed.is_empty(), "{failed:#?}");
}

#[tokio::test]
async fn the_watch_matrix_holds_across_a_server_restart() {
    let server = zk_testkit::Server::start().await.expect("server");
    let hosts = server.connect_string();
    let restart = async {
        server.restart().await.expect("restart");
    };
    let failed = run_matrix(&hosts, Some(restart)).await;
    assert!(failed.is_empty(), "{failed:#?}");
}
