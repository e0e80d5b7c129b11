//! Chaos: a leader election of 3 clients × 2 latches on a 3-server ensemble under the
//! seeded nemesis of the lock chaos tests, then timed failovers: the leading client killed
//! (its connections reset and refused) and the leading client turned zombie (all its
//! traffic dropped for longer than the session timeout). Every leader fences its writes
//! to a resource. The verdict comes from the servers' transaction log
//! (`zk_testkit::check::election`): no two leaders in one term, no write of a deposed
//! leader accepted, no node left; and each failover within its bound.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12, and 2 failovers of each
//! kind; `ZK_CHAOS_FAILOVERS` sets how many); `ZK_CHAOS_SEED` replays a schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zk_client::{Client, CreateOptions};
use zk_recipes::election::{LeaderLatch, observe};
use zk_testkit::{ClientEndpoint, SessionRegistry, check};

use crate::chaos_kit::{ChaosRun, SESSION, session_after_session};
use crate::support::env_or;

/// What the `SKIPPED` line names.
const RUN: &str = "the election chaos run";
const ELECTION: &str = "/chaos-election";
const RESOURCE: &str = "/chaos-leader-resource";

/// One client's two participants, until `stop`; a new session whenever the last one
/// ended. Leaders write their token to the resource, fenced, every 10 ms.
async fn participate(id: usize, hosts: String, sessions: SessionRegistry, stop: Arc<AtomicBool>) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let stop = stop.clone();
        async move {
            let tasks: Vec<_> = (0..2)
                .map(|n| tokio::spawn(lead(id, n, client.clone(), stop.clone())))
                .collect();
            for task in tasks {
                let _ = task.await;
            }
        }
    })
    .await;
}

/// Participant `n` of client `id`: while it leads, it writes its token to the resource,
/// fenced, every 10 ms; until `stop` or the session's end.
async fn lead(id: usize, n: usize, client: Client, stop: Arc<AtomicBool>) {
    let latch = LeaderLatch::new(&client, ELECTION).data(format!("c{id}"));
    if latch.start().is_err() {
        return;
    }
    while !stop.load(Ordering::SeqCst) {
        let term = tokio::select! {
            term = latch.await_leadership() => term,
            () = tokio::time::sleep(Duration::from_millis(200)) => continue,
        };
        let Ok(term) = term else { return };
        let token = format!("c{id}.{n} {}", term.fencing_token());
        while term.is_current() && !stop.load(Ordering::SeqCst) {
            let write = term.fenced().set_data(RESOURCE, token.as_bytes(), None);
            tokio::select! {
                _ = write.commit() => {}
                _ = term.lost() => break,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let _ = latch.close().await;
}

/// How a failover is forced.
#[derive(Clone, Copy, Debug)]
enum Failover {
    /// The leading client dies: its connections reset, new ones refused.
    Kill,
    /// The leading client hangs: everything it sends or receives is dropped.
    Zombie,
}

/// Forces one failover of `kind`; returns how long until another participant led.
async fn failover(
    kind: Failover,
    onlooker: &zk_recipes::election::LeaderObserver,
    endpoints: &[ClientEndpoint],
) -> Duration {
    let leader = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(Some(leader)) = onlooker.latest() {
                return leader;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a leader before the failover");
    let client: usize = std::str::from_utf8(&leader.data[1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("a participant id");
    let endpoint = &endpoints[client];
    let t0 = Instant::now();
    let fault = match kind {
        Failover::Kill => {
            let refuse = endpoint.refuse_new();
            endpoint.reset_all();
            refuse
        }
        Failover::Zombie => endpoint.blackhole(),
    };
    let took = tokio::time::timeout(SESSION * 4, async {
        loop {
            match onlooker.latest() {
                Some(Some(now)) if !now.data.starts_with(&leader.data) => return t0.elapsed(),
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    })
    .await
    .expect("a new leader");
    // Hold the fault past the client's own expiry, so it comes back on a new session.
    tokio::time::sleep((SESSION * 3 / 2).saturating_sub(t0.elapsed())).await;
    drop(fault);
    took
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

#[tokio::test]
async fn chaos_election_one_leader_per_term_and_bounded_failovers() {
    let failovers: usize = env_or("ZK_CHAOS_FAILOVERS", 2);
    let mut run = ChaosRun::start(RUN, 1).await;
    let setup = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    setup
        .create(RESOURCE, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut endpoints = Vec::new();
    let mut clients = Vec::new();
    for c in 0..3 {
        let endpoint = run.endpoint(&format!("client-{c}")).await;
        clients.push(tokio::spawn(participate(
            c,
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
        )));
        endpoints.push(endpoint);
    }
    let log = run.faults().await;

    // Timed failovers, watched from a session the faults do not touch.
    let watcher = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    let onlooker = observe(&watcher, ELECTION);
    let mut kills = Vec::new();
    let mut zombies = Vec::new();
    for _ in 0..failovers {
        kills.push(failover(Failover::Kill, &onlooker, &endpoints).await);
        zombies.push(failover(Failover::Zombie, &onlooker, &endpoints).await);
    }
    drop(onlooker);
    let txns = run.finish(clients, &[ELECTION]).await;
    watcher.close().await;
    setup.close().await;

    let report = check::election(&txns, ELECTION, RESOURCE);
    kills.sort();
    zombies.sort();
    println!(
        "election: {report}; {}; failover after a kill p50 {} ms \
         p99 {} ms (n = {}), after a zombie p50 {} ms p99 {} ms (n = {})\n{log}",
        run.describe(&log),
        percentile(&kills, 0.5).as_millis(),
        percentile(&kills, 0.99).as_millis(),
        kills.len(),
        percentile(&zombies, 0.5).as_millis(),
        percentile(&zombies, 0.99).as_millis(),
        zombies.len(),
    );
    assert!(report.terms > 1, "{report}");
    assert!(report.is_safe(), "{report}\n{log}");
    // The server expires the session within its timeout and one tick; then the next
    // participant's watch fires and it confirms with one read.
    let bound = SESSION + Duration::from_secs(1);
    for took in kills.iter().chain(&zombies) {
        assert!(*took <= bound, "a failover took {took:?} (bound {bound:?})");
    }
}
