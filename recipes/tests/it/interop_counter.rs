//! The counters against the real peers on one node: Curator 5.4's `SharedCount` and
//! kazoo 2.11's `Counter(support_curator=True)` with our `SharedCount` and `Counter` in
//! the Curator format; Curator's `DistributedAtomicLong` (with `PromotedToLock`) with our
//! `AtomicLong` (with the same promoted lock); kazoo's ASCII `Counter` with ours.
//!
//! Each case sets a starting value from our side, which every peer must read (`START`);
//! then everyone increments at once. Every increment of every process reports the values
//! before and after (`INCR`): the values after must be each value from the start + 1 to
//! the final one exactly once (no increment lost, none counted twice), the node must hold
//! the final count in the library's format, and every peer's own view must come to it
//! (`SEEN`).

use std::collections::BTreeSet;
use std::time::Duration;

use zk_client::{Client, CreateOptions};
use zk_recipes::counter::{
    AtomicInteger, AtomicLong, Counter, PromotedToLock, RetryPolicy, SharedCount,
};

use crate::counter::{cas_increment, raw, until_count};
use crate::peers::{self, Program, Running, Spawn};
use crate::support::{connect, init_logging, within};

/// Increments per session.
const ROUNDS: usize = 25;
/// Sessions per peer process.
const PEER_SESSIONS: usize = 2;

fn spawn(program: Program, id: &str, extra: &[&str]) -> Spawn {
    Spawn {
        program,
        id: id.to_owned(),
        sessions: PEER_SESSIONS,
        extra: extra.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Waits (at most 60 s) until `peer` has printed `n` lines starting with `prefix`, and
/// returns them.
async fn lines(peer: &mut Running, prefix: &str, n: usize) -> Vec<String> {
    let wait = async {
        loop {
            let found: Vec<String> = peer
                .printed()
                .iter()
                .filter(|l| l.starts_with(prefix))
                .cloned()
                .collect();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    match tokio::time::timeout(Duration::from_secs(60), wait).await {
        Ok(found) => found,
        Err(_) => panic!("no {n} {prefix:?} lines: {:#?}", peer.printed()),
    }
}

/// The `i`th field of a line (0 is the word).
fn field(line: &str, i: usize) -> i64 {
    line.split(' ')
        .nth(i)
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no number {i} in {line:?}"))
}

/// One case: the peers start, read `initial`, increment with ours (`ours` starts our
/// incrementers once the gate opens; each returns its values after), and must end at the
/// exact count, which `decode` reads from the node.
async fn run(
    admin: &Client,
    connect_string: &str,
    path: &str,
    initial: i64,
    spawns: Vec<Spawn>,
    ours: impl FnOnce() -> Vec<tokio::task::JoinHandle<Vec<i64>>>,
    decode: impl Fn(&[u8]) -> i64,
) -> Vec<String> {
    let markers = format!("{path}-cs");
    let mut running = Vec::new();
    for s in &spawns {
        running.push(peers::start(s, connect_string, path, ROUNDS, Duration::ZERO, false).await);
    }
    for peer in &mut running {
        peer.ready(PEER_SESSIONS).await;
    }
    let gate = |name: &str, data: &str| {
        let node = format!("{markers}/{name}");
        let create = admin.create(&node, data.as_bytes(), &CreateOptions::persistent());
        async move { create.await.expect("a gate") }
    };
    gate("go", "").await;
    for peer in &mut running {
        for line in lines(peer, "START ", PEER_SESSIONS).await {
            assert_eq!(
                field(&line, 2),
                initial,
                "a peer read another start: {line}"
            );
        }
    }

    gate("inc", "").await;
    let tasks = ours();
    let mut posts = Vec::new();
    let our_sessions = tasks.len();
    for task in tasks {
        posts.extend(within(task).await.expect("our incrementer"));
    }
    for peer in &mut running {
        lines(peer, "INCREMENTED ", PEER_SESSIONS).await;
        for line in lines(peer, "INCR ", PEER_SESSIONS * ROUNDS).await {
            assert_eq!(field(&line, 4), field(&line, 3) + 1, "{line}");
            posts.push(field(&line, 4));
        }
    }
    let increments = (our_sessions + spawns.len() * PEER_SESSIONS) * ROUNDS;
    let expected = initial + increments as i64;
    let distinct: BTreeSet<i64> = posts.iter().copied().collect();
    assert_eq!(posts.len(), increments, "one value after each increment");
    assert_eq!(
        distinct.len(),
        increments,
        "two increments wrote the same value"
    );
    assert_eq!(distinct.first(), Some(&(initial + 1)));
    assert_eq!(distinct.last(), Some(&expected));
    assert_eq!(
        decode(&raw(admin, path).await),
        expected,
        "the node's count"
    );

    gate("end", &expected.to_string()).await;
    let mut printed = Vec::new();
    for mut peer in running {
        for line in lines(&mut peer, "SEEN ", PEER_SESSIONS).await {
            assert_eq!(field(&line, 2), expected, "a peer's own view: {line}");
        }
        let finished = peer.finish(Duration::from_secs(60)).await;
        finished.assert_clean();
        printed.extend(finished.lines);
    }
    println!("{path}: {increments} increments from {initial} to {expected}");
    printed
}

/// Our SharedCount and kazoo-format Counter with Curator's SharedCount and kazoo's
/// `Counter(support_curator=True)` on one node.
#[tokio::test]
async fn interop_shared_count_with_curator_and_kazoo() {
    peers::curator().await;
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/count";
    admin
        .create_all(&format!("{path}-cs"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    // Ours makes the node (with the seed) and sets the start; the peers' seeds differ.
    let (a, b, c) = (connect(&zk).await, connect(&zk).await, connect(&zk).await);
    let watched = SharedCount::new(&a, path, 0);
    watched.start().await.unwrap();
    watched.set(1000).await.unwrap();
    let spawns = vec![
        spawn(
            Program::CuratorSharedCount,
            "curator-count",
            &["--seed", "7"],
        ),
        spawn(Program::KazooCounter, "kazoo-count", &["--curator"]),
    ];
    let ours = move || {
        let count = tokio::spawn(async move {
            let count = SharedCount::new(&b, path, 3);
            count.start().await.unwrap();
            let mut posts = Vec::new();
            for _ in 0..ROUNDS {
                posts.push(i64::from(cas_increment(&count).await.0));
            }
            count.close();
            posts
        });
        let kazoo = tokio::spawn(async move {
            let counter = Counter::new(&c, path)
                .support_curator(true)
                .retry_policy(RetryPolicy::new(10_000));
            let mut posts = Vec::new();
            for _ in 0..ROUNDS {
                posts.push(counter.add(1).await.unwrap().post_value);
            }
            posts
        });
        vec![count, kazoo]
    };
    let decode = |data: &[u8]| i64::from(i32::from_be_bytes(data.try_into().expect("4 bytes")));
    run(
        &admin,
        &zk.connect_string(),
        path,
        1000,
        spawns,
        ours,
        decode,
    )
    .await;
    // Our watched count, and an AtomicInteger on the node, agree.
    let expected = 1000 + 6 * ROUNDS as i32;
    until_count(&watched, expected).await;
    let atomic = AtomicInteger::new(&admin, path).get().await.unwrap();
    assert_eq!(atomic.post_value, expected);
    watched.close();
}

/// Our AtomicLong with Curator's DistributedAtomicLong, both promoting to the same lock
/// after 3 optimistic tries.
#[tokio::test]
async fn interop_atomic_long_with_curator() {
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/long";
    let lock = "/interop/long-lock";
    admin
        .create_all(&format!("{path}-cs"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    AtomicLong::new(&admin, path).force_set(500).await.unwrap();
    let spawns = vec![spawn(
        Program::CuratorAtomicLong,
        "curator-long",
        &["--tries", "3", "--promote", lock],
    )];
    let mut sessions = Vec::new();
    for _ in 0..2 {
        sessions.push(connect(&zk).await);
    }
    let promoted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let promoted_ours = std::sync::Arc::clone(&promoted);
    let ours = move || {
        sessions
            .into_iter()
            .map(|session| {
                let promoted = std::sync::Arc::clone(&promoted_ours);
                tokio::spawn(async move {
                    let counter = AtomicLong::new(&session, path)
                        .retry_policy(RetryPolicy::new(3))
                        .promoted_to_lock(
                            PromotedToLock::new(lock).retry_policy(RetryPolicy::new(1000)),
                        );
                    let mut posts = Vec::new();
                    for _ in 0..ROUNDS {
                        let outcome = counter.increment().await.unwrap();
                        assert!(outcome.succeeded, "{outcome:?}");
                        if outcome.stats.promoted_tries > 0 {
                            promoted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        posts.push(outcome.post_value);
                    }
                    posts
                })
            })
            .collect()
    };
    let decode = |data: &[u8]| i64::from_be_bytes(data.try_into().expect("8 bytes"));
    let printed = run(
        &admin,
        &zk.connect_string(),
        path,
        500,
        spawns,
        ours,
        decode,
    )
    .await;
    let theirs = printed
        .iter()
        .find_map(|l| l.strip_prefix("PROMOTED "))
        .unwrap_or("?");
    println!(
        "promoted to the lock: ours {}, Curator's {theirs}",
        promoted.load(std::sync::atomic::Ordering::SeqCst)
    );
    let expected = 500 + 4 * ROUNDS as i64;
    assert_eq!(
        AtomicLong::new(&admin, path)
            .get()
            .await
            .unwrap()
            .post_value,
        expected
    );
}

/// Our Counter with kazoo's, in kazoo's default ASCII format.
#[tokio::test]
async fn interop_kazoo_counter_ascii() {
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/ascii";
    admin
        .create_all(&format!("{path}-cs"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let counter = Counter::new(&admin, path);
    assert_eq!(counter.add(100).await.unwrap().post_value, 100);
    assert_eq!(raw(&admin, path).await, b"100");
    let spawns = vec![spawn(Program::KazooCounter, "kazoo-ascii", &[])];
    let session = connect(&zk).await;
    let ours = move || {
        vec![tokio::spawn(async move {
            let counter = Counter::new(&session, path).retry_policy(RetryPolicy::new(10_000));
            let mut posts = Vec::new();
            for _ in 0..ROUNDS {
                posts.push(counter.sub(-1).await.unwrap().post_value);
            }
            posts
        })]
    };
    let decode = |data: &[u8]| {
        std::str::from_utf8(data)
            .ok()
            .and_then(|s| s.parse().ok())
            .expect("ASCII decimal")
    };
    run(
        &admin,
        &zk.connect_string(),
        path,
        100,
        spawns,
        ours,
        decode,
    )
    .await;
    assert_eq!(counter.value().await.unwrap(), 100 + 3 * ROUNDS as i64);
}
