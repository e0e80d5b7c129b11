//! Chaos: three protected, sequential `PersistentNode`s, each on sessions the nemesis
//! cuts, resets and expires (a factory gives each a new session when its last one ends),
//! on a 3-server ensemble whose leader it kills, pauses and partitions.
//!
//! - Never duplicated: from the servers' transaction log, at no zxid are two nodes of one
//!   member alive (`zk_testkit::check::ephemerals`).
//! - Re-registered promptly: on each new session the node is made within 1 s of the
//!   session's connect, when nothing cut that session in between (a fault that does
//!   delays it, and is reported apart).
//! - Gone on close: no node is left.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use zk_client::{Client, CreateMode, CreateOptions, SessionState};
use zk_recipes::node::{NodeState, PersistentNode};
use zk_testkit::{SessionRegistry, check};

use crate::chaos_kit::{ChaosRun, SESSION};

/// What the `SKIPPED` line names.
const RUN: &str = "the persistent node chaos run";
const PARENT: &str = "/chaos-nodes";
const MEMBERS: usize = 3;
/// The bound on a re-registration after a new session connects.
const PROMPT: Duration = Duration::from_secs(1);

/// When each session connected and, if it did, when it was first cut off.
#[derive(Debug, Default)]
struct Sessions {
    connected: HashMap<i64, Instant>,
    disturbed: HashMap<i64, Instant>,
}

type Book = Arc<StdMutex<Sessions>>;

/// A session through `hosts`, registered with the nemesis and in `book`.
async fn new_session(
    hosts: String,
    registry: SessionRegistry,
    book: Book,
) -> zk_client::Result<Client> {
    let client = Client::builder()
        .session_timeout(SESSION)
        .connect(&hosts)
        .await?;
    let id = client.session_id();
    registry.add(id, &client.session_password());
    book.lock().unwrap().connected.insert(id, Instant::now());
    let mut states = client.state_watcher();
    tokio::spawn(async move {
        while let Ok(state) = states.changed().await {
            if state != SessionState::Connected {
                book.lock()
                    .unwrap()
                    .disturbed
                    .entry(id)
                    .or_insert_with(Instant::now);
                return;
            }
        }
    });
    Ok(client)
}

/// What one member saw: per new session, how long after its connect the node was made,
/// and whether the session was cut off before that.
async fn follow(
    node: Arc<PersistentNode>,
    book: Book,
    stop: Arc<AtomicBool>,
) -> Vec<(Duration, bool)> {
    let mut states = node.states();
    let mut seen = Vec::new();
    let mut last_session = None;
    while !stop.load(Ordering::SeqCst) {
        let Ok(Some(state)) = tokio::time::timeout(Duration::from_millis(100), states.next()).await
        else {
            continue;
        };
        if let NodeState::Created { .. } = state {
            let now = Instant::now();
            let session = node.client().session_id();
            if last_session.replace(session) == Some(session) {
                continue;
            }
            let book = book.lock().unwrap();
            let Some(connected) = book.connected.get(&session) else {
                continue;
            };
            let clean = book.disturbed.get(&session).is_none_or(|at| *at > now);
            seen.push((now - *connected, clean));
        }
    }
    seen
}

#[tokio::test]
async fn chaos_persistent_nodes_are_made_again_promptly_and_never_twice() {
    let mut run = ChaosRun::start(RUN, 2).await;
    let setup = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    setup
        .create(PARENT, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let book = Book::default();
    let mut nodes = Vec::new();
    let mut followers = Vec::new();
    for m in 0..MEMBERS {
        let hosts = run.endpoint(&format!("node-{m}")).await.connect_string();
        let first = new_session(hosts.clone(), run.sessions.clone(), book.clone())
            .await
            .expect("a first session");
        let (registry, factory_book) = (run.sessions.clone(), book.clone());
        let node = PersistentNode::new(&first, &format!("{PARENT}/member-{m}-"))
            .mode(CreateMode::EphemeralSequential)
            .protected(true)
            .data(format!("member {m}"))
            .session_factory(move || {
                new_session(hosts.clone(), registry.clone(), factory_book.clone())
            });
        let node = Arc::new(node);
        followers.push(tokio::spawn(follow(
            node.clone(),
            book.clone(),
            run.stop.clone(),
        )));
        node.start().unwrap();
        nodes.push(node);
    }
    let log = run.faults().await;
    run.stop.store(true, Ordering::SeqCst);
    let mut registrations = Vec::new();
    for follower in followers {
        registrations.extend(follower.await.unwrap());
    }
    for node in &nodes {
        let _ = tokio::time::timeout(Duration::from_secs(30), node.close()).await;
    }
    for node in &nodes {
        node.client().close().await;
    }
    let txns = run.finish(Vec::new(), &[PARENT]).await;
    setup.close().await;

    let reports: Vec<_> = (0..MEMBERS)
        .map(|m| check::ephemerals(&txns, PARENT, &format!("-member-{m}-")))
        .collect();
    let clean: Vec<Duration> = registrations
        .iter()
        .filter(|(_, clean)| *clean)
        .map(|(latency, _)| *latency)
        .collect();
    let slowest_clean = clean.iter().max().copied().unwrap_or_default();
    let slowest = registrations.iter().map(|r| r.0).max().unwrap_or_default();
    let sessions = book.lock().unwrap().connected.len();
    println!(
        "persistent nodes: {MEMBERS} members on {sessions} sessions, {} registrations ({} on an \
         undisturbed session, slowest {} ms; slowest of all {} ms); {}; {}\n{log}",
        registrations.len(),
        clean.len(),
        slowest_clean.as_millis(),
        slowest.as_millis(),
        reports
            .iter()
            .enumerate()
            .map(|(m, r)| format!("member {m}: {r}"))
            .collect::<Vec<_>>()
            .join("; "),
        run.describe(&log)
    );
    assert!(sessions > MEMBERS, "no member needed a new session: {log}");
    for report in &reports {
        assert!(report.created >= 1, "{report}");
        assert_eq!(report.max_alive, 1, "a duplicated node: {report}");
        assert_eq!(report.alive_at_end, 0, "{report}");
    }
    assert!(slowest_clean <= PROMPT, "{slowest_clean:?}");
}
