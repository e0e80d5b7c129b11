//! `election_failover`: zk-recipes' [`LeaderLatch`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zk_client::Client;
use zk_recipes::election::LeaderLatch;

use crate::{Outcome, Report, Setup, close, connect, env, pct, suffix};

/// One participant of `election_failover`.
#[derive(Debug)]
struct Participant {
    client: Client,
    latch: Arc<LeaderLatch>,
    /// Cleared when the run closes its session.
    alive: AtomicBool,
    leading: AtomicBool,
    /// When it last started leading.
    since: std::sync::Mutex<Option<Instant>>,
}

/// The participants of `election_failover`, and the double leaders seen.
#[derive(Debug, Default)]
struct Electorate {
    parts: std::sync::Mutex<Vec<Arc<Participant>>>,
    doubles: AtomicU64,
}

impl Electorate {
    fn parts(&self) -> Vec<Arc<Participant>> {
        self.parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A new participant: its session, its latch, and the task that leads for it.
    async fn join(self: &Arc<Self>, setup: &Setup, path: &str, id: usize) -> Outcome<()> {
        let client = connect(setup).await?;
        let latch = Arc::new(LeaderLatch::new(&client, path).data(format!("p{id}")));
        latch.start().map_err(|e| format!("start a latch: {e}"))?;
        let part = Arc::new(Participant {
            client,
            latch,
            alive: AtomicBool::new(true),
            leading: AtomicBool::new(false),
            since: std::sync::Mutex::new(None),
        });
        self.parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::clone(&part));
        let electorate = Arc::clone(self);
        tokio::spawn(async move {
            while let Ok(term) = part.latch.await_leadership().await {
                let now = Instant::now();
                *part
                    .since
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
                part.leading.store(true, Ordering::SeqCst);
                if part.alive.load(Ordering::SeqCst) {
                    let others = electorate
                        .parts()
                        .iter()
                        .filter(|q| {
                            !Arc::ptr_eq(q, &part)
                                && q.alive.load(Ordering::SeqCst)
                                && q.leading.load(Ordering::SeqCst)
                        })
                        .count();
                    electorate
                        .doubles
                        .fetch_add(others as u64, Ordering::SeqCst);
                }
                term.lost().await;
                part.leading.store(false, Ordering::SeqCst);
            }
        });
        Ok(())
    }

    /// The one live leader, once there is exactly one.
    fn sole_leader(&self) -> Option<Arc<Participant>> {
        let leaders: Vec<_> = self
            .parts()
            .into_iter()
            .filter(|q| q.alive.load(Ordering::SeqCst) && q.leading.load(Ordering::SeqCst))
            .collect();
        match leaders.as_slice() {
            [one] => Some(Arc::clone(one)),
            _ => None,
        }
    }
}

/// `RB_FAILOVERS` failovers among `RB_ELECTION_N` participants.
pub(crate) async fn election_failover(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
    let n = (env("RB_ELECTION_N", 3.0) as usize).max(2);
    let rounds = ((env("RB_FAILOVERS", 20.0) * scale) as usize).max(1);
    let path = format!("{}/election{}", setup.root, suffix(report));
    let watcher = connect(setup).await?;
    let electorate = Arc::new(Electorate::default());
    let mut next_id = 0;
    for _ in 0..n {
        electorate.join(setup, &path, next_id).await?;
        next_id += 1;
    }
    let mut ms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let deadline = Instant::now() + Duration::from_secs(30);
        let leader = loop {
            let registered = watcher
                .get_children(&path)
                .await
                .map_or(0, |(children, _)| children.len());
            if let Some(leader) = electorate.sole_leader().filter(|_| registered == n) {
                break leader;
            }
            if Instant::now() > deadline {
                return Err("no single leader in 30 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        leader.alive.store(false, Ordering::SeqCst);
        leader.leading.store(false, Ordering::SeqCst);
        let t0 = Instant::now();
        close(&leader.client).await;
        let next = loop {
            let next = electorate
                .parts()
                .into_iter()
                .find(|q| q.alive.load(Ordering::SeqCst) && q.leading.load(Ordering::SeqCst));
            if let Some(next) = next {
                break next;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return Err("no failover in 30 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let since = next
            .since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unwrap_or(t0);
        ms.push(since.saturating_duration_since(t0).as_secs_f64() * 1e3);
        electorate
            .parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|q| !Arc::ptr_eq(q, &leader));
        electorate.join(setup, &path, next_id).await?;
        next_id += 1;
    }
    for part in electorate.parts() {
        part.alive.store(false, Ordering::SeqCst);
        let _ = part.latch.close().await;
        close(&part.client).await;
    }
    close(&watcher).await;
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    ms.sort_by(f64::total_cmp);
    Ok(vec![
        ("failover_p50_ms", pct(&ms, 0.5)),
        ("failover_mean_ms", mean),
        ("failover_p99_ms", pct(&ms, 0.99)),
        (
            "double_leaders",
            electorate.doubles.load(Ordering::SeqCst) as f64,
        ),
    ])
}
