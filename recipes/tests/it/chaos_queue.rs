//! Chaos: 3 producers and 3 consumers on one queue, each on sessions the nemesis cuts,
//! resets and expires (a consumer whose session ends mid-item is the abrupt death of a
//! consumer), on a 3-server ensemble whose leader it kills, pauses and partitions.
//! Consumers process each item exactly once by committing their effect, a node
//! `/chaos-q-done/<producer>-<index>`, in the transaction that removes the item
//! ([`Claimed::ack_with`](zk_recipes::queue::Claimed::ack_with)).
//!
//! The verdict comes from the servers' transaction log (`zk_testkit::check::queue`): no
//! item removed without its effect, no effect twice, no FIFO inversion within a producer;
//! from the producers' own count: every acknowledged put has its effect, none is left; and
//! from the consumers': every acknowledgement they were told of was committed, and no
//! other.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use zk_client::{Client, CreateOptions};
use zk_recipes::queue::SimpleDistributedQueue;
use zk_testkit::{SessionRegistry, check};

use crate::chaos_kit::{ChaosRun, session_after_session};
use crate::support::children;

/// What the `SKIPPED` line names.
const RUN: &str = "the queue chaos run";
const QUEUE: &str = "/chaos-q";
const CLAIMS: &str = "/chaos-q-claims";
const DONE: &str = "/chaos-q-done";

/// What the producers know: the ids of the puts that were acknowledged, and how many
/// failed without saying whether they were applied.
#[derive(Debug, Default)]
struct Puts {
    acked: StdMutex<HashSet<String>>,
    unknown: AtomicUsize,
}

/// Producer `p`: puts `p<p>/<k>` with `k` counting up, one at a time, until `stop`; a put
/// that fails is not retried.
async fn produce(
    p: usize,
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    puts: Arc<Puts>,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, puts, next) = (stop.clone(), puts.clone(), next.clone());
        async move {
            let queue = SimpleDistributedQueue::new(&client, QUEUE);
            while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
                let id = format!("p{p}/{}", next.fetch_add(1, Ordering::SeqCst));
                match queue.offer(id.as_bytes()).await {
                    Ok(()) => {
                        puts.acked.lock().unwrap().insert(id);
                    }
                    Err(_) => {
                        puts.unknown.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    })
    .await;
}

/// A consumer: claims up to 8 items at once and acknowledges each with its effect, until
/// `stop`.
async fn consume(
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    processed: Arc<AtomicUsize>,
) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, processed) = (stop.clone(), processed.clone());
        async move {
            let queue = SimpleDistributedQueue::new(&client, QUEUE).claims_path(CLAIMS);
            while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
                let Ok(batch) = queue.claim_batch(8, Some(Duration::from_millis(200))).await else {
                    continue;
                };
                for item in batch {
                    let effect = format!(
                        "{DONE}/{}",
                        String::from_utf8_lossy(item.data()).replace('/', "-")
                    );
                    let done = item
                        .ack_with(|ops| ops.create(&effect, b"", &CreateOptions::persistent()))
                        .await;
                    if done.is_ok() {
                        processed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn chaos_queue_loses_nothing_and_processes_each_item_once() {
    let mut run = ChaosRun::start(RUN, 6).await;
    let setup = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    for path in [QUEUE, DONE] {
        setup
            .create(path, b"", &CreateOptions::persistent())
            .await
            .unwrap();
    }
    let puts = Arc::new(Puts::default());
    let processed = Arc::new(AtomicUsize::new(0));
    let producing = Arc::new(AtomicBool::new(false));
    let mut producers = Vec::new();
    let mut consumers = Vec::new();
    for i in 0..3 {
        let endpoint = run.endpoint(&format!("producer-{i}")).await;
        producers.push(tokio::spawn(produce(
            i,
            endpoint.connect_string(),
            run.sessions.clone(),
            producing.clone(),
            puts.clone(),
        )));
        let endpoint = run.endpoint(&format!("consumer-{i}")).await;
        consumers.push(tokio::spawn(consume(
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
            processed.clone(),
        )));
    }
    let log = run.faults().await;
    // The producers stop; the consumers drain the queue.
    producing.store(true, Ordering::SeqCst);
    for producer in producers {
        producer.await.unwrap();
    }
    run.ensemble
        .wait_healthy(Duration::from_secs(60))
        .await
        .expect("healthy after the run");
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        while !children(&setup, QUEUE).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let txns = run.finish(consumers, &[CLAIMS]).await;
    let done: HashSet<String> = children(&setup, DONE).await.into_iter().collect();
    setup.close().await;

    let report = check::queue(&txns, QUEUE, CLAIMS, DONE);
    let acked = puts.acked.lock().unwrap().clone();
    let lost = acked
        .iter()
        .filter(|id| !done.contains(&id.replace('/', "-")))
        .count();
    println!(
        "queue: {report}; {} puts acked, {} unknown, {} processed by the consumers, lost {lost}; \
         {}\n{log}",
        acked.len(),
        puts.unknown.load(Ordering::Relaxed),
        processed.load(Ordering::Relaxed),
        run.describe(&log)
    );
    assert!(drained.is_ok(), "the queue was not drained: {report}");
    assert!(acked.len() > 100, "{report}");
    assert_eq!(lost, 0, "{report}");
    assert_eq!(report.left, 0, "{report}");
    // What the consumers were told was acknowledged is what the servers committed.
    assert_eq!(
        processed.load(Ordering::Relaxed),
        report.processed,
        "{report}"
    );
    assert!(report.is_safe(), "{report}\n{log}");
}
