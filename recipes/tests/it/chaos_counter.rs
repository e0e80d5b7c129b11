//! Chaos: an `AtomicLong` incremented by 3 clients, each on a connection the nemesis cuts,
//! resets and expires, on a 3-server ensemble whose leader it kills, pauses and
//! partitions. An increment that answered is acked; one that failed may or may not have
//! been applied (indeterminate). After the heal the counter must lie in
//! [acked, acked + indeterminate] (`zk_testkit::check::counter` over the history of the
//! increments), and equal the increments the servers committed.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use zk_client::Client;
use zk_recipes::Error;
use zk_recipes::counter::AtomicLong;
use zk_testkit::{History, Op, SessionRegistry, TxnOp, check};

use crate::chaos_kit::{ChaosRun, session_after_session};

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

/// Increments until `stop`, on a new session whenever the last one ended, recording each
/// increment in `history` (`add 1`: acked, failed, or unknown).
async fn increment(
    name: String,
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    (tally, history): (Arc<Tally>, History),
) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, tally, history, name) =
            (stop.clone(), tally.clone(), history.clone(), name.clone());
        async move {
            let counter = AtomicLong::new(&client, COUNTER);
            while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
                let op = Op::new("add", COUNTER).value("1");
                let id = history.invoke(&name, client.session_id(), op);
                match counter.increment().await {
                    Ok(outcome) if outcome.succeeded => {
                        tally.acked.fetch_add(1, Ordering::Relaxed);
                        history.ok(id, None);
                    }
                    Ok(_) | Err(Error::RetriesExhausted(_)) => {
                        tally.gave_up.fetch_add(1, Ordering::Relaxed);
                        history.fail(id, "every try lost a race");
                    }
                    Err(e) => {
                        tally.indeterminate.fetch_add(1, Ordering::Relaxed);
                        history.indeterminate(id, e.to_string());
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn chaos_counter_ends_between_the_acked_and_the_attempted_increments() {
    let mut run = ChaosRun::start(RUN, 5).await;
    let tally = Arc::new(Tally::default());
    let history = History::new();
    let mut workers = Vec::new();
    for c in 0..3 {
        let endpoint = run.endpoint(&format!("counter-{c}")).await;
        workers.push(tokio::spawn(increment(
            format!("counter-{c}"),
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
            (tally.clone(), history.clone()),
        )));
    }
    let log = run.faults().await;
    let txns = run.finish(workers, &[]).await;

    let reader = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
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
         {value}, {committed} increments committed; {}\n{log}",
        run.describe(&log)
    );
    assert!(acked > 0);
    let report = check::counter(&history, COUNTER, 0, value);
    assert!(report.in_bounds(), "{report}");
    assert_eq!(report.ok_ops, acked, "{report}");
    let value = usize::try_from(value).expect("a non-negative counter");
    assert_eq!(value, committed);
}
