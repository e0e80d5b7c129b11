//! The RwLock against Curator 5.4's `InterProcessReadWriteLock` on one path: a writer and a
//! reader session of ours, a writer and a reader session of Curator's. Inside the lock a
//! writer takes the ephemeral marker `<path>-cs/writer` and finds no `reader-*` marker; a
//! reader adds an ephemeral-sequential `reader-*` marker and finds no writer marker.
//! Readers may overlap; a writer overlaps nobody.

use std::time::Duration;

use zk_client::{Client, CreateMode, CreateOptions};
use zk_recipes::lock::RwLock;

use crate::peers::{self, Program, Spawn};
use crate::support::{connect, init_logging};

const ROUNDS: usize = 8;
const HOLD: Duration = Duration::from_millis(20);

#[tokio::test]
async fn interop_rwlock_with_curator() {
    // Built before any session of ours waits.
    let _ = peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/rw";
    let markers = format!("{path}-cs");
    for node in [path, markers.as_str()] {
        admin
            .create_all(node, b"", &CreateOptions::persistent())
            .await
            .expect("the case's nodes");
    }
    let spawn = Spawn {
        program: Program::CuratorRwLock,
        id: "curator-rw".to_owned(),
        sessions: 2,
        extra: vec!["--role".to_owned(), "mixed".to_owned()],
    };
    let mut curator = peers::start(&spawn, &zk.connect_string(), path, ROUNDS, HOLD, false).await;
    let writer = connect(&zk).await;
    let reader = connect(&zk).await;
    curator.ready(spawn.sessions).await;
    admin
        .create(&format!("{markers}/go"), b"", &CreateOptions::persistent())
        .await
        .expect("go");
    let ours = [
        tokio::spawn(rounds(writer, path.to_owned(), markers.clone(), true)),
        tokio::spawn(rounds(reader, path.to_owned(), markers.clone(), false)),
    ];
    let mut lines = Vec::new();
    for task in ours {
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
        "rwlock with curator: {} grants, {} problems",
        count("GRANT "),
        problems.len()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(count("GRANT "), 4 * ROUNDS, "{lines:#?}");
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
