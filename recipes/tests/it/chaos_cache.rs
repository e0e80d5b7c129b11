//! Chaos: two tree caches, each on a client the nemesis cuts, resets and expires, follow a
//! tree that a writer keeps changing (creates, data changes, deletes, seeded) on a
//! 3-server ensemble. After the last heal, each cache must equal a fresh walk of the
//! server's tree within 5 s: a cache that does not is a divergence, and there must be
//! none.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use zk_client::proto::rng::SplitMix64;
use zk_client::{Client, CreateOptions};
use zk_recipes::cache::TreeCache;
use zk_testkit::{SessionRegistry, check};

use crate::chaos_kit::{ChaosRun, SESSION};

/// What the `SKIPPED` line names.
const RUN: &str = "the cache chaos run";
const TREE: &str = "/chaos-tree";
const CACHES: usize = 2;

/// The cache a keeper holds now (a new one after each session ends).
type Slot = Arc<StdMutex<Option<Arc<TreeCache>>>>;

/// Keeps a tree cache on a session through `hosts`, starting a new one whenever the
/// session ends, until `stop`.
async fn keep_cache(hosts: String, sessions: SessionRegistry, stop: Arc<AtomicBool>, slot: Slot) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(client) = Client::builder()
            .session_timeout(SESSION)
            .connect(&hosts)
            .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        sessions.add(client.session_id(), &client.session_password());
        let Ok(cache) = TreeCache::builder(&client, TREE).start() else {
            return;
        };
        cache.ignore_events();
        *slot.lock().unwrap() = Some(Arc::new(cache));
        let mut states = client.state_watcher();
        while !stop.load(Ordering::SeqCst) && !states.current().is_terminal() {
            let _ = tokio::time::timeout(Duration::from_millis(100), states.changed()).await;
        }
        sessions.remove(client.session_id());
        if stop.load(Ordering::SeqCst) {
            // The last cache stays for the verdict (it holds its own handle of the client).
            return;
        }
        client.close().await;
    }
}

/// Changes the tree until `stop`: nodes `/chaos-tree/{a,b,c}/{0..9}`.
async fn write(client: Client, seed: u64, stop: Arc<AtomicBool>, writes: Arc<AtomicUsize>) {
    let mut rng = SplitMix64::new(seed);
    let persistent = CreateOptions::persistent();
    while !stop.load(Ordering::SeqCst) {
        let dir = ["a", "b", "c"][rng.below(3) as usize];
        let path = format!("{TREE}/{dir}/{}", rng.below(10));
        let value = rng.next_u64().to_string();
        let done = match rng.below(3) {
            0 => client
                .create_all(&path, value.as_bytes(), &persistent)
                .await
                .is_ok(),
            1 => client.set_data(&path, value.as_bytes(), None).await.is_ok(),
            _ => client.delete(&path, None).await.is_ok(),
        };
        if done {
            writes.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The server's tree under `TREE`: path, data, mzxid.
async fn walk(client: &Client) -> Vec<(String, Vec<u8>, i64)> {
    let mut nodes = Vec::new();
    let mut todo = vec![TREE.to_owned()];
    while let Some(path) = todo.pop() {
        let Ok((data, stat)) = client.get_data(&path).await else {
            continue;
        };
        nodes.push((path.clone(), data.to_vec(), stat.mzxid));
        if let Ok((children, _)) = client.get_children(&path).await {
            todo.extend(children.iter().map(|c| format!("{path}/{c}")));
        }
    }
    nodes.sort();
    nodes
}

/// Path → data, for `check::cache_convergence`.
fn data(nodes: &[(String, Vec<u8>, i64)]) -> BTreeMap<String, Vec<u8>> {
    nodes
        .iter()
        .map(|(p, d, _)| (p.clone(), d.clone()))
        .collect()
}

fn cached(cache: &TreeCache) -> Vec<(String, Vec<u8>, i64)> {
    cache
        .snapshot()
        .iter()
        .map(|n| {
            let data = n.data.as_deref().unwrap_or_default().to_vec();
            (n.path.to_string(), data, n.stat.mzxid)
        })
        .collect()
}

#[tokio::test]
async fn chaos_tree_caches_equal_the_tree_after_the_heal() {
    let mut run = ChaosRun::start(RUN, 1).await;
    let writer = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    writer
        .create(TREE, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let writes = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    let mut slots = Vec::new();
    for c in 0..CACHES {
        let endpoint = run.endpoint(&format!("cache-{c}")).await;
        let slot = Slot::default();
        workers.push(tokio::spawn(keep_cache(
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
            slot.clone(),
        )));
        slots.push(slot);
    }
    let writing = tokio::spawn(write(
        writer.clone(),
        run.seed,
        run.stop.clone(),
        writes.clone(),
    ));
    let log = run.faults().await;
    let _ = run.finish(workers, &[]).await;
    writing.await.unwrap();

    // The verdict: each cache equals a fresh walk within 5 s of the heal.
    let healed = Instant::now();
    let truth = walk(&writer).await;
    let mut divergent = Vec::new();
    let mut slowest = Duration::ZERO;
    for slot in &slots {
        let cache = slot.lock().unwrap().clone().expect("a cache");
        // Same nodes with the same data (zk_testkit's checker), and the same versions.
        let converged = tokio::time::timeout(Duration::from_secs(5), async {
            while cached(&cache) != truth {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        match converged {
            Ok(()) => slowest = slowest.max(healed.elapsed()),
            Err(_) => divergent.push(check::cache_convergence(
                &data(&truth),
                &data(&cached(&cache)),
            )),
        }
    }
    writer.close().await;
    println!(
        "tree caches: {CACHES} caches, {} writes, {} nodes at the end, divergence {}, \
         converged within {} ms of the heal; {}\n{log}",
        writes.load(Ordering::Relaxed),
        truth.len(),
        divergent.len(),
        slowest.as_millis(),
        run.describe(&log)
    );
    assert!(writes.load(Ordering::Relaxed) > 0);
    assert!(divergent.is_empty(), "{divergent:#?}\n{log}");
}
