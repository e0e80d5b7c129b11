//! Chaos: an `AtomicLong` incremented by 3 clients, each on a connection the nemesis cuts,
//! resets and expires, on a 3-server ensemble whose leader it kills, pauses and
//! partitions. An increment that answered is acked; one that failed may or may not have
//! been applied (indeterminate). After the heal the counter must lie in
//! [acked, acked + indeterminate], and equal the increments the servers committed.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use zk_client::Client;
use zk_recipes::Error;
use zk_recipes::counter::AtomicLong;
use zk_testkit::{Ensemble, SessionRegistry, TxnOp};

use crate::support::{chaos_ensemble, chaos_nemesis, env_or, finish_chaos, init_logging};

/// What the `SKIPPED` line names.
const RUN: &str = "the counter chaos run";
const COUNTER: &str = "/chaos-counter";

/// What the incrementers counted.
#[derive(Debug, Default)]
struct Tally {
    /// Increments that answered with success.
    acked: AtomicUsize,
    /// Increments that failed without saying whether they were applied.
    indeterminate: AtomicUsize,
    /// Increments that gave up having written nothing (every try lost a race).
    gave_up: AtomicUsize,
}

/// Increments until `stop`, on a new session whenever the last one ended.
async fn increment(
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(client) = Client::builder()
            .session_timeout(Duration::from_secs(4))
            .connect(&hosts)
            .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        sessions.add(client.session_id(), &client.session_password());
        let counter = AtomicLong::new(&client, COUNTER);
        while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
            match counter.increment().await {
                Ok(outcome) if outcome.succeeded => {
                    tally.acked.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) | Err(Error::RetriesExhausted(_)) => {
                    tally.gave_up.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    tally.indeterminate.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        sessions.remove(client.session_id());
        client.close().await;
    }
}

#[tokio::test]
async fn chaos_counter_ends_between_the_acked_and_the_attempted_increments() {
    init_logging();
    let secs: u64 = env_or("ZK_CHAOS_SECS", 12);
    let seed: u64 = env_or("ZK_CHAOS_SEED", 5);
    let (config, partitions) = chaos_ensemble(RUN);
    let ensemble = Ensemble::start_with(config).await.expect("an ensemble");
    let sessions = SessionRegistry::default();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut nemesis = chaos_nemesis(seed, partitions, &sessions);
    let mut workers = Vec::new();
    for c in 0..3 {
        let endpoint = ensemble
            .client_endpoint(&format!("counter-{c}"))
            .await
            .expect("an endpoint");
        nemesis = nemesis.endpoint(endpoint.clone());
        workers.push(tokio::spawn(increment(
            endpoint.connect_string(),
            sessions.clone(),
            stop.clone(),
            tally.clone(),
        )));
    }
    let log = nemesis
        .run(
            &ensemble,
            Duration::from_millis(700),
            Duration::from_secs(secs),
        )
        .await;
    let txns = finish_chaos(&ensemble, &stop, workers, &[]).await;

    let reader = Client::connect(&ensemble.connect_string()).await.unwrap();
    let value = AtomicLong::new(&reader, COUNTER)
        .get()
        .await
        .unwrap()
        .post_value;
    reader.close().await;
    // Each increment the servers committed wrote the counter once (the create of the
    // node, or a setData).
    let committed = txns
        .events()
        .iter()
        .filter(|e| match &e.op {
            TxnOp::Create { path, .. } | TxnOp::SetData { path, .. } => path == COUNTER,
            _ => false,
        })
        .count();
    let acked = tally.acked.load(Ordering::Relaxed);
    let indeterminate = tally.indeterminate.load(Ordering::Relaxed);
    let gave_up = tally.gave_up.load(Ordering::Relaxed);
    println!(
        "counter: {acked} acked, {indeterminate} indeterminate, {gave_up} gave up; final value \
         {value}, {committed} increments committed; seed {seed}, {secs} s, {} faults\n{log}",
        log.faults
    );
    assert!(log.faults >= 1, "{log}");
    assert!(acked > 0);
    let value = usize::try_from(value).expect("a non-negative counter");
    assert!(
        (acked..=acked + indeterminate).contains(&value),
        "{value} outside [{acked}, {}]",
        acked + indeterminate
    );
    assert_eq!(value, committed);
}
