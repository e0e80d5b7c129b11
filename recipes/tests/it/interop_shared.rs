//! The RwLock and the Semaphore against Curator 5.4 on one path each.
//!
//! - RwLock with `InterProcessReadWriteLock`: a writer and a reader session of ours, a
//!   writer and a reader session of Curator's. Inside the lock a writer takes the ephemeral
//!   marker `<path>-cs/writer` and finds no `reader-*` marker; a reader adds an
//!   ephemeral-sequential `reader-*` marker and finds no writer marker. Readers may
//!   overlap; a writer overlaps nobody.
//! - Semaphore with `InterProcessSemaphoreV2` (2 leases): two sessions each side; a holder
//!   takes one of the slot markers `<path>-cs/slot-0`, `slot-1`, and finding both taken
//!   means more than 2 holders.

use std::time::Duration;

use zk_client::{Client, CreateMode, CreateOptions};
use zk_recipes::lock::{RwLock, Semaphore};

use crate::peers::{self, Program, Spawn};
use crate::support::{connect, init_logging};

const ROUNDS: usize = 8;
const HOLD: Duration = Duration::from_millis(20);

#[tokio::test]
async fn interop_rwlock_with_curator() {
    let spawn = Spawn {
        program: Program::CuratorRwLock,
        id: "curator-rw".to_owned(),
        sessions: 2,
        extra: vec!["--role".to_owned(), "mixed".to_owned()],
    };
    // Our session 0 writes, session 1 reads.
    run_with_curator(
        "rwlock",
        "/interop/rw",
        spawn,
        |client, path, markers, k| tokio::spawn(rounds(client, path, markers, k == 0)),
    )
    .await;
}

/// Runs two sessions of ours (`ours(client, path, markers, k)` makes session `k`'s
/// rounds) beside the Curator program `spawn` on `path`, all starting together, and
/// asserts every round completed without a violation.
async fn run_with_curator(
    case: &str,
    path: &str,
    spawn: Spawn,
    ours: impl Fn(Client, String, String, usize) -> tokio::task::JoinHandle<Vec<String>>,
) {
    // Built before any session of ours waits.
    let _ = peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let markers = prepare(&admin, path).await;
    let mut curator = peers::start(&spawn, &zk.connect_string(), path, ROUNDS, HOLD, false).await;
    let clients = [connect(&zk).await, connect(&zk).await];
    curator.ready(spawn.sessions).await;
    admin
        .create(&format!("{markers}/go"), b"", &CreateOptions::persistent())
        .await
        .expect("go");
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(k, client)| ours(client, path.to_owned(), markers.clone(), k))
        .collect();
    let mut lines = Vec::new();
    for task in tasks {
        lines.extend(
            tokio::time::timeout(Duration::from_secs(90), task)
                .await
                .expect("our contender finished")
                .expect("our contender"),
        );
    }
    let finished = curator.finish(Duration::from_secs(60)).await;
    finished.assert_clean();
    lines.extend(finished.lines);
    assert_clean_run(case, &lines, 4 * ROUNDS);
    admin.close().await;
}

/// Our side of the protocol the Curator program follows.
async fn rounds(client: Client, path: String, markers: String, writer: bool) -> Vec<String> {
    let id = if writer { "rust-writer" } else { "rust-reader" };
    let lock = RwLock::new(&client, &path).data(id);
    let mut lines = Vec::new();
    for round in 0..ROUNDS {
        let acquired = if writer {
            lock.write_timeout(Duration::from_secs(30)).await
        } else {
            lock.read_timeout(Duration::from_secs(30)).await
        };
        let guard = match acquired {
            Ok(guard) => guard,
            Err(e) => {
                lines.push(format!("ERROR {id} {round}: {e}"));
                continue;
            }
        };
        let marker = if writer {
            let marker = format!("{markers}/writer");
            let taken = client
                .create(&marker, id.as_bytes(), &CreateOptions::ephemeral())
                .await;
            if taken.is_err() {
                lines.push(format!("VIOLATION {id} {round} writer marker taken"));
            }
            let (children, _) = client.get_children(&markers).await.unwrap_or_default();
            if children.iter().any(|c| c.starts_with("reader-")) {
                lines.push(format!("VIOLATION {id} {round} readers={children:?}"));
            }
            taken.ok().map(|(path, _)| path)
        } else {
            let options = CreateOptions::new(CreateMode::EphemeralSequential);
            let made = client
                .create(&format!("{markers}/reader-"), id.as_bytes(), &options)
                .await;
            if client
                .exists(&format!("{markers}/writer"))
                .await
                .ok()
                .flatten()
                .is_some()
            {
                lines.push(format!("VIOLATION {id} {round} writer present"));
            }
            made.ok().map(|(path, _)| path)
        };
        tokio::time::sleep(HOLD).await;
        if let Some(marker) = marker {
            let _ = client.delete(&marker, None).await;
        }
        if let Err(e) = guard.release().await {
            lines.push(format!("ERROR {id} release: {e}"));
        }
        lines.push(format!("GRANT {id} {round}"));
    }
    client.close().await;
    lines
}

/// Every contender finished every round, and nobody saw a violation.
fn assert_clean_run(case: &str, lines: &[String], grants: usize) {
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    let problems: Vec<&String> = lines
        .iter()
        .filter(|l| {
            ["VIOLATION", "TIMEOUT", "ERROR"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    println!(
        "{case} with curator: {} grants, {} problems",
        count("GRANT "),
        problems.len()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(count("GRANT "), grants, "{lines:#?}");
}

/// The case's lock path and its marker folder, made persistent.
async fn prepare(admin: &Client, path: &str) -> String {
    let markers = format!("{path}-cs");
    for node in [path, markers.as_str()] {
        admin
            .create_all(node, b"", &CreateOptions::persistent())
            .await
            .expect("the case's nodes");
    }
    markers
}

#[tokio::test]
async fn interop_semaphore_with_curator() {
    let spawn = Spawn {
        program: Program::CuratorSemaphore,
        id: "curator-sem".to_owned(),
        sessions: 2,
        extra: vec!["--leases".to_owned(), "2".to_owned()],
    };
    run_with_curator(
        "semaphore",
        "/interop/sem",
        spawn,
        |client, path, markers, k| tokio::spawn(leases(client, path, markers, format!("rust-{k}"))),
    )
    .await;
}

/// Our side of the semaphore protocol: a lease, then a free slot marker.
async fn leases(client: Client, path: String, markers: String, id: String) -> Vec<String> {
    let semaphore = Semaphore::new(&client, &path, 2).data(id.clone());
    let mut lines = Vec::new();
    for round in 0..ROUNDS {
        let lease = match semaphore.acquire_timeout(Duration::from_secs(30)).await {
            Ok(lease) => lease,
            Err(e) => {
                lines.push(format!("ERROR {id} {round}: {e}"));
                continue;
            }
        };
        let mut slot = None;
        for i in 0..2 {
            let marker = format!("{markers}/slot-{i}");
            if client
                .create(&marker, id.as_bytes(), &CreateOptions::ephemeral())
                .await
                .is_ok()
            {
                slot = Some(marker);
                break;
            }
        }
        if slot.is_none() {
            lines.push(format!("VIOLATION {id} {round} both slots taken"));
        }
        tokio::time::sleep(HOLD).await;
        if let Some(slot) = slot {
            let _ = client.delete(&slot, None).await;
        }
        if let Err(e) = lease.release().await {
            lines.push(format!("ERROR {id} release: {e}"));
        }
        lines.push(format!("GRANT {id} {round}"));
    }
    client.close().await;
    lines
}
