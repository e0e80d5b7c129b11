//! The Mutex against the real peers on one path: Curator 5.4's `InterProcessMutex` and
//! kazoo 2.11's `Lock`, run as separate processes (tests/interop/) on the test's chroot.
//!
//! Every contender, ours and theirs, does the same rounds: acquire, create the ephemeral
//! marker `<path>-cs/holder` (it already exists: a violation), hold, delete it, release,
//! and reports each grant with the times it was inside. Exclusion is then checked twice:
//! by the markers, and by the grants' intervals, which must not overlap (all contenders
//! read the same clock). Grants must also come in the order of the nodes' sequences.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zk_client::{Client, CreateOptions};
use zk_recipes::Error;
use zk_recipes::lock::{Compat, Mutex, sequence_of};

use crate::peers::{self, KAZOO_VERSION, Program, Spawn};
use crate::support::{connect, init_logging, within};

/// Rounds per session.
const ROUNDS: usize = 10;
/// How long each grant is held.
const HOLD: Duration = Duration::from_millis(20);
/// Sessions of ours per case.
const RUST_SESSIONS: usize = 2;

#[tokio::test]
async fn interop_curator_layout_excludes_curator_both_ways() {
    let outcome = run(Case {
        name: "curator",
        compat: Compat::Curator,
        peers: vec![curator("curator-a", 2)],
    })
    .await;
    outcome.assert_exclusive();
}

#[tokio::test]
async fn interop_kazoo_mode_excludes_kazoo_both_ways() {
    let outcome = run(Case {
        name: "kazoo",
        compat: Compat::Kazoo,
        peers: vec![kazoo("kazoo-a", &[]), kazoo("kazoo-b", &[])],
    })
    .await;
    outcome.assert_exclusive();
}

/// Ours in `Both` mode respects both peers' nodes and they respect ours (kazoo through
/// `extra_lock_patterns=["-lock-"]`). Curator never sees kazoo's `__lock__` nodes
/// (RECIPES.md §2.13, case C), so a Curator and a kazoo holder may overlap: that pair is
/// reported, not failed; every pair with one of ours must be exclusive.
#[tokio::test]
async fn interop_both_mode_with_curator_and_kazoo_on_one_path() {
    let pattern = ["--extra-lock-pattern=-lock-"];
    let outcome = run(Case {
        name: "three",
        compat: Compat::Both,
        peers: vec![
            curator("curator-a", 2),
            kazoo("kazoo-a", &pattern),
            kazoo("kazoo-b", &pattern),
        ],
    })
    .await;
    outcome.assert_complete();
    let ours = |id: &str| library(id) == "rust";
    let with_ours: Vec<_> = outcome
        .overlaps
        .iter()
        .filter(|(a, b)| ours(&a.who) || ours(&b.who))
        .collect();
    assert!(
        with_ours.is_empty(),
        "grants overlapping one of ours: {with_ours:#?}"
    );
    for v in &outcome.violations {
        assert!(
            !ours(&v.who) && !v.detail.contains("holder=rust"),
            "marker violation involving ours: {v:?}"
        );
        // Each one is seen in the intervals too, so the overlaps name every pair.
        assert!(
            outcome
                .overlaps
                .iter()
                .any(|(a, b)| [a, b].iter().any(|g| g.who == v.who && g.round == v.round)),
            "a marker violation without overlapping grants: {v:?}"
        );
    }
    let peer_pairs: BTreeSet<(&str, &str)> = outcome
        .overlaps
        .iter()
        .map(|(a, b)| {
            let (x, y) = (library(&a.who), library(&b.who));
            if x <= y { (x, y) } else { (y, x) }
        })
        .collect();
    assert!(
        peer_pairs.iter().all(|&p| p == ("curator", "kazoo")),
        "{peer_pairs:?}"
    );
    println!(
        "three: {} Curator/kazoo overlaps (Curator does not see kazoo's nodes)",
        outcome.overlaps.len()
    );
}

/// The peers list our contenders as they list their own: Curator's
/// `getParticipantNodes()` (with the data read back) and kazoo's `contenders()`, holder
/// first, in our order.
#[tokio::test]
async fn interop_peers_list_our_participants_in_our_order() {
    peers::curator().await;
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let (curator_path, kazoo_path) = ("/interop/list-curator", "/interop/list-kazoo");
    let held_curator = hold_two(&zk, curator_path, Compat::Curator).await;
    let held_kazoo = hold_two(&zk, kazoo_path, Compat::Kazoo).await;
    let list = |spawn: Spawn, path: &'static str| {
        let connect = zk.connect_string();
        async move { peers::start(&spawn, &connect, path, 0, Duration::ZERO, true).await }
    };
    let pattern = ["--extra-lock-pattern=-lock-"];
    let runs = [
        list(curator("curator-list", 1), curator_path).await,
        list(kazoo("kazoo-list-extra", &pattern), curator_path).await,
        list(kazoo("kazoo-list", &[]), kazoo_path).await,
    ];
    let mut listed = Vec::new();
    for run in runs {
        let finished = run.finish(Duration::from_secs(60)).await;
        finished.assert_clean();
        let participants: Vec<(String, String)> = finished
            .lines
            .iter()
            .filter_map(|l| l.strip_prefix("PARTICIPANT "))
            .filter_map(|l| l.split_once(' '))
            .map(|(node, data)| (node.to_owned(), data.to_owned()))
            .collect();
        listed.push(participants);
    }
    let names = |held: &[String; 2]| -> Vec<(String, String)> {
        held.iter()
            .zip(["rust-holder", "rust-waiter"])
            .map(|(node, data)| (last_segment(node).to_owned(), data.to_owned()))
            .collect()
    };
    let data_only = |v: Vec<(String, String)>| -> Vec<(String, String)> {
        v.into_iter().map(|(_, d)| ("-".to_owned(), d)).collect()
    };
    assert_eq!(listed[0], names(&held_curator), "Curator's participants");
    assert_eq!(
        listed[1],
        data_only(names(&held_curator)),
        "kazoo's contenders (extra pattern)"
    );
    assert_eq!(
        listed[2],
        data_only(names(&held_kazoo)),
        "kazoo's contenders"
    );
}

/// Our two contenders on `path`, the holder and a waiter behind it, in their own sessions
/// (left open until the test ends): their nodes, in order.
async fn hold_two(zk: &zk_testkit::Shared, path: &str, compat: Compat) -> [String; 2] {
    let (a, b) = (connect(zk).await, connect(zk).await);
    let holder = Mutex::new(&a, path).compat(compat).data("rust-holder");
    let guard = holder.acquire().await.expect("the holder");
    let waiter = Mutex::new(&b, path).compat(compat).data("rust-waiter");
    tokio::spawn({
        let waiter = waiter.clone();
        async move {
            let _keep = (guard, a, b);
            let _ = waiter.acquire().await;
            std::future::pending::<()>().await;
        }
    });
    let participants = within(async {
        loop {
            let participants = holder.participants().await.expect("participants");
            if participants.len() == 2 {
                return participants;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    [participants[0].node.clone(), participants[1].node.clone()]
}

fn curator(id: &str, sessions: usize) -> Spawn {
    Spawn {
        program: Program::CuratorMutex,
        id: id.to_owned(),
        sessions,
        extra: Vec::new(),
    }
}

fn kazoo(id: &str, extra: &[&str]) -> Spawn {
    Spawn {
        program: Program::KazooLock,
        id: id.to_owned(),
        sessions: 1,
        extra: extra.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// One case: our contenders in `compat` mode and the `peers` on one path.
struct Case {
    name: &'static str,
    compat: Compat,
    peers: Vec<Spawn>,
}

/// A grant as a contender reported it.
#[derive(Clone, Debug)]
struct Grant {
    who: String,
    round: usize,
    node: String,
    from_us: u64,
    to_us: u64,
}

/// A marker found taken by someone else.
#[derive(Clone, Debug)]
struct Violation {
    who: String,
    round: usize,
    detail: String,
}

/// What a case produced.
#[derive(Debug)]
struct Outcome {
    name: &'static str,
    /// Every session's id, ours and the peers'.
    ids: BTreeSet<String>,
    grants: Vec<Grant>,
    violations: Vec<Violation>,
    /// `TIMEOUT` and `ERROR` lines.
    failures: Vec<String>,
    /// Pairs of grants whose intervals overlap.
    overlaps: Vec<(Grant, Grant)>,
    /// The participant data our side saw on the path while the case ran.
    seen_data: BTreeSet<String>,
}

async fn run(case: Case) -> Outcome {
    // The peers are built first: no session of ours should wait while they build.
    for spawn in &case.peers {
        match spawn.program {
            Program::CuratorMutex
            | Program::CuratorRwLock
            | Program::CuratorSemaphore
            | Program::CuratorDoubleBarrier
            | Program::CuratorLeaderLatch
            | Program::CuratorLeaderSelector
            | Program::CuratorSharedCount
            | Program::CuratorAtomicLong
            | Program::CuratorGroupMember
            | Program::CuratorQueue
            | Program::CuratorDiscovery => {
                let _ = peers::curator().await;
            }
            Program::KazooLock
            | Program::KazooDoubleBarrier
            | Program::KazooCounter
            | Program::KazooParty
            | Program::KazooPartitioner
            | Program::KazooQueue => {
                let _ = peers::kazoo().await;
            }
        }
    }
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = format!("/interop/{}", case.name);
    let markers = format!("{path}-cs");
    // A persistent lock parent: kazoo's Lock never re-creates a parent it made once, and
    // a container (as Curator and ours make it) may be reaped between two rounds.
    for node in [&path, &markers] {
        admin
            .create_all(node, b"", &CreateOptions::persistent())
            .await
            .expect("the case's nodes");
    }
    let connect_string = zk.connect_string();
    let mut running = Vec::new();
    for spawn in &case.peers {
        running.push(peers::start(spawn, &connect_string, &path, ROUNDS, HOLD, false).await);
    }
    let mut ours = Vec::new();
    for k in 0..RUST_SESSIONS {
        let id = format!("rust-{k}");
        let client = connect(&zk).await;
        let lock = Mutex::new(&client, &path)
            .compat(case.compat)
            .data(id.clone());
        ours.push((client, lock, id));
    }
    for (run, spawn) in running.iter_mut().zip(&case.peers) {
        run.ready(spawn.sessions).await;
    }
    let started = Instant::now();
    let seen = Arc::new(StdMutex::new(BTreeSet::new()));
    let sampler = tokio::spawn(sample(
        Mutex::new(&admin, &path).compat(case.compat),
        seen.clone(),
    ));
    admin
        .create(&format!("{markers}/go"), b"", &CreateOptions::persistent())
        .await
        .expect("go");
    let mut ids: BTreeSet<String> = ours.iter().map(|(_, _, id)| id.clone()).collect();
    let tasks: Vec<_> = ours
        .into_iter()
        .map(|(client, lock, id)| tokio::spawn(contend(client, lock, id, markers.clone())))
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
    for (run, spawn) in running.into_iter().zip(&case.peers) {
        let finished = run.finish(Duration::from_secs(60)).await;
        finished.assert_clean();
        if spawn.program == Program::KazooLock {
            let version = finished.version().unwrap_or_default();
            assert!(
                version.starts_with(&format!("kazoo {KAZOO_VERSION} ")),
                "{version}"
            );
        }
        lines.extend(finished.lines);
        ids.extend((0..spawn.sessions).map(|k| match spawn.sessions {
            1 => spawn.id.clone(),
            _ => format!("{}-{k}", spawn.id),
        }));
    }
    sampler.abort();
    let seen_data = seen.lock().expect("the samples").clone();
    let outcome = Outcome::new(case.name, ids, &lines, seen_data);
    println!("{} in {:.1?}", outcome.summary(), started.elapsed());
    admin.close().await;
    outcome
}

/// Our contender: the rounds every peer program does, with the same output lines.
async fn contend(client: Client, lock: Mutex, id: String, markers: String) -> Vec<String> {
    let marker = format!("{markers}/holder");
    let mut lines = Vec::new();
    for round in 0..ROUNDS {
        let guard = match lock.acquire_timeout(Duration::from_secs(30)).await {
            Ok(guard) => guard,
            Err(Error::Timeout(_)) => {
                lines.push(format!("TIMEOUT {id} {round}"));
                continue;
            }
            Err(e) => {
                lines.push(format!("ERROR {id} acquire: {e}"));
                break;
            }
        };
        let from = now_micros();
        let mine = match client
            .create(&marker, id.as_bytes(), &CreateOptions::ephemeral())
            .await
        {
            Ok(_) => true,
            Err(zk_client::Error::NodeExists(_)) => {
                let holder = match client.get_data(&marker).await {
                    Ok((data, _)) => String::from_utf8_lossy(&data).into_owned(),
                    Err(_) => "?".to_owned(),
                };
                lines.push(format!("VIOLATION {id} {round} holder={holder}"));
                false
            }
            Err(e) => {
                lines.push(format!("ERROR {id} marker: {e}"));
                false
            }
        };
        tokio::time::sleep(HOLD).await;
        if mine {
            if let Err(e) = client.delete(&marker, None).await {
                lines.push(format!("ERROR {id} marker delete: {e}"));
            }
        }
        let to = now_micros();
        let node = last_segment(guard.node()).to_owned();
        if let Err(e) = guard.release().await {
            lines.push(format!("ERROR {id} release: {e}"));
        }
        lines.push(format!("GRANT {id} {round} {node} {from} {to}"));
    }
    lines.push(format!("DONE {id}"));
    client.close().await;
    lines
}

/// Reads the participants over and over, keeping the data seen.
async fn sample(lock: Mutex, seen: Arc<StdMutex<BTreeSet<String>>>) {
    loop {
        if let Ok(participants) = lock.participants().await {
            let mut seen = seen.lock().expect("the samples");
            for p in participants {
                seen.insert(String::from_utf8_lossy(&p.data).into_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl Outcome {
    fn new(
        name: &'static str,
        ids: BTreeSet<String>,
        lines: &[String],
        seen_data: BTreeSet<String>,
    ) -> Self {
        let mut grants = Vec::new();
        let mut violations = Vec::new();
        let mut failures = Vec::new();
        for line in lines {
            let fields: Vec<&str> = line.splitn(4, ' ').collect();
            match fields[..] {
                ["GRANT", who, round, rest] => {
                    let rest: Vec<&str> = rest.split(' ').collect();
                    let [node, from, to] = rest[..] else {
                        panic!("a bad grant line: {line}");
                    };
                    grants.push(Grant {
                        who: who.to_owned(),
                        round: round.parse().expect("the round"),
                        node: node.to_owned(),
                        from_us: from.parse().expect("from"),
                        to_us: to.parse().expect("to"),
                    });
                }
                ["VIOLATION", who, round, detail] => violations.push(Violation {
                    who: who.to_owned(),
                    round: round.parse().expect("the round"),
                    detail: detail.to_owned(),
                }),
                ["TIMEOUT", ..] | ["ERROR", ..] => failures.push(line.clone()),
                _ => {}
            }
        }
        grants.sort_by_key(|g| g.from_us);
        let mut overlaps = Vec::new();
        for (i, a) in grants.iter().enumerate() {
            for b in grants[i + 1..].iter().take_while(|b| b.from_us < a.to_us) {
                overlaps.push((a.clone(), b.clone()));
            }
        }
        Self {
            name,
            ids,
            grants,
            violations,
            failures,
            overlaps,
            seen_data,
        }
    }

    fn summary(&self) -> String {
        let mut by_library: BTreeMap<&str, usize> = BTreeMap::new();
        for g in &self.grants {
            *by_library.entry(library(&g.who)).or_default() += 1;
        }
        format!(
            "{}: {} sessions, grants {by_library:?}, handoffs {:?}, {} marker violations, \
             {} overlaps, {} failures",
            self.name,
            self.ids.len(),
            self.handoffs(),
            self.violations.len(),
            self.overlaps.len(),
            self.failures.len()
        )
    }

    /// How often the lock went from one library to another, in grant order.
    fn handoffs(&self) -> BTreeMap<(&str, &str), usize> {
        let mut handoffs = BTreeMap::new();
        for pair in self.grants.windows(2) {
            let (from, to) = (library(&pair[0].who), library(&pair[1].who));
            if from != to {
                *handoffs.entry((from, to)).or_default() += 1;
            }
        }
        handoffs
    }

    /// Every session did every round, without a timeout or an error; the lock went from
    /// ours to the peers and back, and between ours and each peer library; our side saw
    /// each library's participants with the data they set.
    fn assert_complete(&self) {
        assert!(self.failures.is_empty(), "{:#?}", self.failures);
        let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
        for g in &self.grants {
            *per_id.entry(&g.who).or_default() += 1;
        }
        for id in &self.ids {
            assert_eq!(
                per_id.get(id.as_str()).copied(),
                Some(ROUNDS),
                "grants of {id}: {per_id:?}"
            );
        }
        assert_eq!(per_id.len(), self.ids.len(), "unknown ids: {per_id:?}");
        let handoffs = self.handoffs();
        let has = |from: Option<&str>, to: Option<&str>| {
            handoffs
                .keys()
                .any(|&(f, t)| from.is_none_or(|from| f == from) && to.is_none_or(|to| t == to))
        };
        assert!(has(Some("rust"), None), "never from ours: {handoffs:?}");
        assert!(has(None, Some("rust")), "never to ours: {handoffs:?}");
        for id in &self.ids {
            let peer = library(id);
            assert!(
                peer == "rust" || has(Some("rust"), Some(peer)) || has(Some(peer), Some("rust")),
                "the lock never passed between ours and {peer}: {handoffs:?}"
            );
        }
        let unknown: Vec<_> = self.seen_data.difference(&self.ids).collect();
        assert!(
            unknown.is_empty(),
            "participant data of no session: {unknown:?}"
        );
        let libraries = |ids: &BTreeSet<String>| -> BTreeSet<String> {
            ids.iter().map(|id| library(id).to_owned()).collect()
        };
        assert_eq!(
            libraries(&self.seen_data),
            libraries(&self.ids),
            "libraries whose participants we saw"
        );
    }

    /// Complete, no violation, no overlap, grants in the order of the sequences, and the
    /// lock went from ours to each peer library and back.
    fn assert_exclusive(&self) {
        self.assert_complete();
        let handoffs = self.handoffs();
        for id in &self.ids {
            let peer = library(id);
            if peer != "rust" {
                for pair in [("rust", peer), (peer, "rust")] {
                    assert!(
                        handoffs.contains_key(&pair),
                        "no handoff {pair:?}: {handoffs:?}"
                    );
                }
            }
        }
        assert!(self.violations.is_empty(), "{:#?}", self.violations);
        assert!(self.overlaps.is_empty(), "{:#?}", self.overlaps);
        let seqs: Vec<(i32, &str)> = self
            .grants
            .iter()
            .map(|g| {
                let seq = sequence_of(&g.node, &["lock-", "__lock__"])
                    .unwrap_or_else(|| panic!("no sequence in {g:?}"));
                (seq, g.who.as_str())
            })
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0].0 < w[1].0),
            "grants out of sequence order: {seqs:?}"
        );
    }
}

/// The library of a session id: `rust`, `curator` or `kazoo`.
fn library(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

fn last_segment(node: &str) -> &str {
    node.rsplit('/').next().unwrap_or(node)
}

fn now_micros() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    u64::try_from(since.as_micros()).expect("microseconds fit")
}
