//! Chaos: a double barrier of 3 members (one per client) on a 3-server ensemble under the
//! seeded nemesis, round after round in fixed time slots. A member that passes `enter`
//! records it with a create; the verdict comes from the servers' transaction log: a pass
//! committed before the round's third member node was created is an early exit (GH-1290),
//! and there must be none.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zk_client::{Client, CreateOptions};
use zk_recipes::barrier::DoubleBarrier;
use zk_testkit::{SessionRegistry, TxnLog, TxnOp};

use crate::chaos_kit::{ChaosRun, session_after_session};

/// What the `SKIPPED` line names.
const RUN: &str = "the barrier chaos run";
const ROUNDS: &str = "/chaos-barrier";
const PASSED: &str = "/chaos-barrier-passed";
const MEMBERS: usize = 3;
/// One round's time slot.
const SLOT: Duration = Duration::from_millis(1500);

/// One member, until `stop`: in round `k` (the `k`th slot since `start`) it enters
/// `/chaos-barrier/r{k}`, records the pass, and leaves; a new session whenever the last
/// one ended.
async fn member(
    id: usize,
    hosts: String,
    sessions: SessionRegistry,
    start: Instant,
    stop: Arc<AtomicBool>,
    passes: Arc<AtomicUsize>,
) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, passes) = (stop.clone(), passes.clone());
        async move {
            while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
                let round = (start.elapsed().as_millis() / SLOT.as_millis()) as u64 + 1;
                let slot_end = start + SLOT * round as u32;
                let mut barrier =
                    DoubleBarrier::new(&client, &format!("{ROUNDS}/r{round}"), MEMBERS);
                let left = slot_end.saturating_duration_since(Instant::now());
                if let Ok(true) = barrier.enter_timeout(left).await {
                    let pass = format!("{PASSED}/r{round}-m{id}");
                    if client
                        .create(&pass, b"", &CreateOptions::persistent())
                        .await
                        .is_ok()
                    {
                        passes.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = barrier.leave_timeout(SLOT).await;
                }
                drop(barrier);
                tokio::time::sleep_until(slot_end.max(Instant::now()).into()).await;
            }
        }
    })
    .await;
}

/// Passes committed before their round had `MEMBERS` member nodes.
fn early_exits(log: &TxnLog) -> (usize, usize) {
    let mut members: HashMap<String, Vec<i64>> = HashMap::new();
    let mut passes: Vec<(String, i64)> = Vec::new();
    for event in log.events() {
        let TxnOp::Create { path, .. } = &event.op else {
            continue;
        };
        if let Some(rest) = path.strip_prefix(&format!("{ROUNDS}/")) {
            if let Some((round, member)) = rest.split_once('/') {
                if member != "ready" && !member.contains('/') {
                    members
                        .entry(round.to_owned())
                        .or_default()
                        .push(event.zxid);
                }
            }
        } else if let Some(rest) = path.strip_prefix(&format!("{PASSED}/")) {
            if let Some((round, _)) = rest.split_once('-') {
                passes.push((round.to_owned(), event.zxid));
            }
        }
    }
    let early = passes
        .iter()
        .filter(|(round, zxid)| {
            let created = members.get(round).map(Vec::as_slice).unwrap_or_default();
            // The zxid at which the round had its MEMBERS-th member node.
            created.get(MEMBERS - 1).is_none_or(|full| zxid < full)
        })
        .count();
    (passes.len(), early)
}

#[tokio::test]
async fn chaos_double_barrier_never_lets_a_member_through_early() {
    let mut run = ChaosRun::start(RUN, 2).await;
    let setup = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    for path in [ROUNDS, PASSED] {
        setup
            .create(path, b"", &CreateOptions::persistent())
            .await
            .unwrap();
    }
    let passes = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut members = Vec::new();
    for id in 0..MEMBERS {
        let endpoint = run.endpoint(&format!("member-{id}")).await;
        members.push(tokio::spawn(member(
            id,
            endpoint.connect_string(),
            run.sessions.clone(),
            start,
            run.stop.clone(),
            passes.clone(),
        )));
    }
    let log = run.faults().await;
    let txns = run.finish(members, &[]).await;
    setup.close().await;
    let (committed, early) = early_exits(&txns);
    println!(
        "double barrier of {MEMBERS}: {committed} passes over {} slots, early exits {early}; \
         {}\n{log}",
        start.elapsed().as_millis() / SLOT.as_millis(),
        run.describe(&log)
    );
    assert!(
        committed > 0 && passes.load(Ordering::Relaxed) > 0,
        "no round passed"
    );
    assert_eq!(early, 0, "{log}");
}

#[test]
fn a_pass_before_the_last_member_is_an_early_exit() {
    let create = |zxid: i64, path: &str| zk_testkit::TxnEvent {
        zxid,
        index: 0,
        session: 1,
        cxid: 0,
        time_ms: 0,
        op: TxnOp::Create {
            path: path.to_owned(),
            data: Vec::new(),
            kind: zk_testkit::NodeKind::Ephemeral,
        },
    };
    let mut events = vec![
        create(1, "/chaos-barrier/r1/a"),
        create(2, "/chaos-barrier/r1/b"),
        create(3, "/chaos-barrier/r1/ready"),
        create(4, "/chaos-barrier-passed/r1-m0"),
        create(5, "/chaos-barrier/r1/c"),
        create(6, "/chaos-barrier-passed/r1-m1"),
    ];
    assert_eq!(early_exits(&TxnLog::from_events(events.clone())), (2, 1));
    events.retain(|e| e.zxid != 4);
    assert_eq!(early_exits(&TxnLog::from_events(events)), (1, 0));
}
