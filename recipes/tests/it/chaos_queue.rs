//! Chaos: 3 producers and 3 consumers on one queue, each on sessions the nemesis cuts,
//! resets and expires (a consumer whose session ends mid-item is the abrupt death of a
//! consumer), on a 3-server ensemble whose leader it kills, pauses and partitions. Two
//! runs:
//!
//! - **Exactly once**: consumers commit their effect, a node
//!   `<done>/<producer>-<index>`, in the transaction that removes the item
//!   ([`Claimed::ack_with`](zk_recipes::queue::Claimed::ack_with)). The verdict comes from
//!   the servers' transaction log (`zk_testkit::check::queue`): no item removed without its
//!   effect, no effect twice, no FIFO inversion within a producer; and from the consumers':
//!   every acknowledgement they were told of was committed, and no other but those whose
//!   session ended before the reply.
//! - **At least once**: consumers record each processing as a sequential node
//!   `<done>/<producer>-<index>-<seq>`, then acknowledge; a consumer whose processing or
//!   acknowledgement fails dies (closes its session) with the item claimed.
//!   `zk_testkit::check::redelivery`: no item lost, every duplicate processing accounted
//!   for by a consumer that died after it, no FIFO inversion.
//!
//! In both, from the producers' own count: every acknowledged put has its effect, no item
//! is left, and no put is added twice (their replies are lost too, and resolved).
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use zk_client::{Client, CreateMode, CreateOptions};
use zk_recipes::queue::SimpleDistributedQueue;
use zk_testkit::{SessionRegistry, TxnOp, check};

use crate::chaos_kit::{ChaosRun, session_after_session};
use crate::support::children;

/// What the `SKIPPED` line names.
const RUN: &str = "the queue chaos run";

/// How consumers process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The effect in the removing transaction.
    ExactlyOnce,
    /// The effect, then the removal.
    AtLeastOnce,
}

/// One run's paths.
#[derive(Clone, Copy, Debug)]
struct Paths {
    queue: &'static str,
    claims: &'static str,
    done: &'static str,
}

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
    paths: Paths,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, puts, next) = (stop.clone(), puts.clone(), next.clone());
        async move {
            let queue = SimpleDistributedQueue::new(&client, paths.queue);
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

/// What the consumers were told of their acknowledgements.
#[derive(Debug, Default)]
struct Acks {
    /// Committed.
    told: AtomicUsize,
    /// Failed without saying whether they were committed (the session ended first).
    unsure: AtomicUsize,
}

/// A consumer: claims up to 8 items at once and processes each as `mode` says, until
/// `stop`, counting what it was told of its acknowledgements.
async fn consume(
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    acks: Arc<Acks>,
    (paths, mode): (Paths, Mode),
) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, acks) = (stop.clone(), acks.clone());
        async move {
            let queue = SimpleDistributedQueue::new(&client, paths.queue).claims_path(paths.claims);
            while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
                let Ok(batch) = queue.claim_batch(8, Some(Duration::from_millis(200))).await else {
                    continue;
                };
                for item in batch {
                    let id = String::from_utf8_lossy(item.data()).replace('/', "-");
                    let done = match mode {
                        Mode::ExactlyOnce => {
                            let effect = format!("{}/{id}", paths.done);
                            item.ack_with(|ops| {
                                ops.create(&effect, b"", &CreateOptions::persistent())
                            })
                            .await
                        }
                        Mode::AtLeastOnce => {
                            let effect = format!("{}/{id}-", paths.done);
                            let options = CreateOptions::new(CreateMode::PersistentSequential);
                            if client.create(&effect, b"", &options).await.is_err() {
                                // Whether it was processed is unknown: die with the item.
                                return;
                            }
                            item.ack().await
                        }
                    };
                    if done.is_ok() {
                        acks.told.fetch_add(1, Ordering::Relaxed);
                    } else {
                        acks.unsure.fetch_add(1, Ordering::Relaxed);
                        if mode == Mode::AtLeastOnce {
                            return;
                        }
                    }
                }
            }
        }
    })
    .await;
}

/// What one run found.
struct Outcome {
    summary: String,
    drained: bool,
    acked: usize,
    lost: usize,
    told: usize,
    unsure: usize,
    queue: &'static str,
    txns: zk_testkit::TxnLog,
}

/// Runs 3 producers and 3 consumers through the faults, then drains the queue.
async fn run_queue(seed: u64, paths: Paths, mode: Mode) -> Outcome {
    let mut run = ChaosRun::start(RUN, seed).await;
    let setup = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    for path in [paths.queue, paths.done] {
        setup
            .create(path, b"", &CreateOptions::persistent())
            .await
            .unwrap();
    }
    let puts = Arc::new(Puts::default());
    let acks = Arc::new(Acks::default());
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
            paths,
        )));
        let endpoint = run.endpoint(&format!("consumer-{i}")).await;
        consumers.push(tokio::spawn(consume(
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
            acks.clone(),
            (paths, mode),
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
        while !children(&setup, paths.queue).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let txns = run.finish(consumers, &[paths.claims]).await;
    let done: HashSet<String> = children(&setup, paths.done)
        .await
        .into_iter()
        .map(|effect| match mode {
            Mode::ExactlyOnce => effect,
            // `<producer>-<index>-<seq>`
            Mode::AtLeastOnce => effect[..effect.len() - 11].to_owned(),
        })
        .collect();
    setup.close().await;
    let acked = puts.acked.lock().unwrap().clone();
    let lost = acked
        .iter()
        .filter(|id| !done.contains(&id.replace('/', "-")))
        .count();
    let summary = format!(
        "{} puts acked, {} unknown; {} acknowledgements told to the consumers, {} unsure; lost {lost}; {}\n{log}",
        acked.len(),
        puts.unknown.load(Ordering::Relaxed),
        acks.told.load(Ordering::Relaxed),
        acks.unsure.load(Ordering::Relaxed),
        run.describe(&log)
    );
    Outcome {
        summary,
        drained: drained.is_ok(),
        acked: acked.len(),
        lost,
        told: acks.told.load(Ordering::Relaxed),
        unsure: acks.unsure.load(Ordering::Relaxed),
        queue: paths.queue,
        txns,
    }
}

/// Items put twice: the same id created twice under the items' path by committed
/// transactions; each as "<id> at <zxid> by <session> and at <zxid> by <session>".
fn puts_twice(txns: &zk_testkit::TxnLog, queue: &str) -> Vec<String> {
    let prefix = format!("{queue}/");
    let mut first = std::collections::HashMap::new();
    let mut twice = Vec::new();
    for txn in txns.events().chunk_by(|a, b| a.zxid == b.zxid) {
        if txn.iter().any(|e| matches!(e.op, TxnOp::Error { .. })) {
            continue;
        }
        for e in txn {
            if let TxnOp::Create { path, data, .. } = &e.op {
                if !path.starts_with(&prefix) {
                    continue;
                }
                let id = String::from_utf8_lossy(data).into_owned();
                let here = format!("{:#x} by {:#x}", e.zxid, e.session);
                if let Some(earlier) = first.insert(id.clone(), here.clone()) {
                    twice.push(format!("{id} at {earlier} and at {here}"));
                }
            }
        }
    }
    twice
}

/// What both modes must show, with the checker's figures: `left` and `processed` from
/// its report, `safe` its verdict.
impl Outcome {
    fn assert_sound(
        &self,
        mode: &str,
        report: &dyn std::fmt::Display,
        figures: (usize, usize, bool),
    ) {
        let (left, processed, safe) = figures;
        let twice = puts_twice(&self.txns, self.queue);
        println!(
            "queue, {mode}: {report}; put twice {}; {}",
            twice.len(),
            self.summary
        );
        assert!(self.drained, "the queue was not drained: {report}");
        assert!(self.acked > 100, "{report}");
        assert_eq!(self.lost, 0, "{report}");
        assert!(twice.is_empty(), "put twice: {twice:?}");
        assert_eq!(left, 0, "{report}");
        // What the consumers were told was acknowledged was committed; anything else
        // committed was an acknowledgement whose session ended before its reply.
        assert!(self.told <= processed, "{report}");
        assert!(processed <= self.told + self.unsure, "{report}");
        assert!(safe, "{report}\n{}", self.summary);
    }
}

#[tokio::test]
async fn chaos_queue_loses_nothing_and_processes_each_item_once() {
    let paths = Paths {
        queue: "/chaos-q",
        claims: "/chaos-q-claims",
        done: "/chaos-q-done",
    };
    let run = run_queue(6, paths, Mode::ExactlyOnce).await;
    let report = check::queue(&run.txns, paths.queue, paths.claims, paths.done);
    let figures = (report.left, report.processed, report.is_safe());
    run.assert_sound("exactly once", &report, figures);
}

#[tokio::test]
async fn chaos_queue_at_least_once_redelivers_only_after_a_consumer_died() {
    let paths = Paths {
        queue: "/chaos-q2",
        claims: "/chaos-q2-claims",
        done: "/chaos-q2-done",
    };
    let run = run_queue(7, paths, Mode::AtLeastOnce).await;
    let report = check::redelivery(&run.txns, paths.queue, paths.claims, paths.done);
    let figures = (report.left, report.processed, report.is_safe());
    run.assert_sound("at least once", &report, figures);
}
