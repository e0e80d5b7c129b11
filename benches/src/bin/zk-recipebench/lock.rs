//! `lock_uncontended` and `lock_contended`: zk-recipes' [`Mutex`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zk_client::{Client, CreateOptions};
use zk_recipes::Error as RecipeError;
use zk_recipes::lock::Mutex;

use crate::{
    ACQUIRE_TIMEOUT, CONTENDERS_TIMEOUT, Outcome, Report, Setup, close, connect, cpu_seconds, env,
    micros, pct, suffix,
};

/// One session, one lock: acquire then release, `RB_LOCK_N` times.
pub(crate) async fn lock_uncontended(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
    let n = ((env("RB_LOCK_N", 2000.0) * scale) as usize).max(1);
    let client = connect(setup).await?;
    let lock = Mutex::new(&client, &format!("{}/lock-u{}", setup.root, suffix(report)));
    let mut pair = Vec::with_capacity(n);
    let mut acquire = Vec::with_capacity(n);
    let c0 = cpu_seconds();
    let t0 = Instant::now();
    for _ in 0..n {
        let s = Instant::now();
        let guard = lock
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .await
            .map_err(|e| format!("uncontended acquire: {e}"))?;
        let a = Instant::now();
        guard
            .release()
            .await
            .map_err(|e| format!("uncontended release: {e}"))?;
        let e = Instant::now();
        pair.push(micros(e - s));
        acquire.push(micros(a - s));
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - c0;
    let floor = write_pair_floor(&client, setup, n / 4 + 1, report).await?;
    close(&client).await;
    pair.sort_by(f64::total_cmp);
    acquire.sort_by(f64::total_cmp);
    Ok(vec![
        ("write_pair_p50_us", floor),
        ("lock_p50_us", pct(&pair, 0.5)),
        ("lock_p99_us", pct(&pair, 0.99)),
        ("acquire_p50_us", pct(&acquire, 0.5)),
        ("lock_ops", n as f64 / secs),
        ("lock_cpu_us", cpu * 1e6 / n as f64),
    ])
}

/// The p50 of the two writes every confirmed acquire+release needs, with nothing else:
/// create an ephemeral node, then delete it once the create is confirmed.
async fn write_pair_floor(client: &Client, setup: &Setup, n: usize, report: bool) -> Outcome<f64> {
    let path = format!("{}/floor{}", setup.root, suffix(report));
    let mut pairs = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        client
            .create(&path, b"", &CreateOptions::ephemeral())
            .await
            .map_err(|e| format!("floor create: {e}"))?;
        client
            .delete(&path, None)
            .await
            .map_err(|e| format!("floor delete: {e}"))?;
        pairs.push(micros(s.elapsed()));
    }
    pairs.sort_by(f64::total_cmp);
    Ok(pct(&pairs, 0.5))
}

/// What the contenders of `lock_contended` share.
#[derive(Debug)]
struct Arena {
    /// The contender that believes it holds the lock, or -1.
    holder: AtomicI64,
    /// Incremented by a plain load and store, only safe under the lock.
    unguarded: AtomicU64,
    /// No acquire starts after this.
    end: Instant,
    /// Handoffs acquired before `end`.
    in_time: AtomicU64,
    /// All handoffs.
    total: AtomicU64,
    violations: AtomicU64,
    timeouts: AtomicU64,
}

impl Arena {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One contender: its own lock object, on the shared path, until the deadline.
async fn contender(id: i64, lock: Mutex, arena: Arc<Arena>) {
    while Instant::now() < arena.end {
        let guard = match lock.acquire_timeout(ACQUIRE_TIMEOUT).await {
            Ok(guard) => guard,
            Err(RecipeError::Timeout(_)) => {
                Arena::bump(&arena.timeouts);
                continue;
            }
            Err(e) => {
                eprintln!("zk-recipebench: contender {id}: acquire: {e}");
                Arena::bump(&arena.timeouts);
                return;
            }
        };
        let at = Instant::now();
        if arena
            .holder
            .compare_exchange(-1, id, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            Arena::bump(&arena.violations);
        }
        let count = arena.unguarded.load(Ordering::SeqCst);
        // Lets other tasks run inside the critical section (see the program docs).
        tokio::task::yield_now().await;
        arena.unguarded.store(count + 1, Ordering::SeqCst);
        if arena.holder.load(Ordering::SeqCst) != id {
            Arena::bump(&arena.violations);
        }
        let _ = arena
            .holder
            .compare_exchange(id, -1, Ordering::SeqCst, Ordering::SeqCst);
        if let Err(e) = guard.release().await {
            eprintln!("zk-recipebench: contender {id}: release: {e}");
            Arena::bump(&arena.timeouts);
            return;
        }
        Arena::bump(&arena.total);
        if at <= arena.end {
            Arena::bump(&arena.in_time);
        }
    }
}

/// `RB_SESSIONS` × `RB_TASKS` contenders on one path for `RB_CONTENDED_S` seconds.
pub(crate) async fn lock_contended(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
    let sessions = (env("RB_SESSIONS", 4.0) as usize).max(1);
    let tasks = (env("RB_TASKS", 4.0) as usize).max(1);
    let duration = env("RB_CONTENDED_S", 10.0) * scale;
    let path = format!("{}/lock-c{}", setup.root, suffix(report));
    let mut clients = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        clients.push(connect(setup).await?);
    }
    let c0 = cpu_seconds();
    let arena = Arc::new(Arena {
        holder: AtomicI64::new(-1),
        unguarded: AtomicU64::new(0),
        end: Instant::now() + Duration::from_secs_f64(duration),
        in_time: AtomicU64::new(0),
        total: AtomicU64::new(0),
        violations: AtomicU64::new(0),
        timeouts: AtomicU64::new(0),
    });
    let mut contenders = Vec::with_capacity(sessions * tasks);
    for (s, client) in clients.iter().enumerate() {
        for t in 0..tasks {
            let id = (s * tasks + t) as i64;
            let lock = Mutex::new(client, &path);
            contenders.push(tokio::spawn(contender(id, lock, Arc::clone(&arena))));
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(duration);
    for handle in contenders {
        match tokio::time::timeout_at(deadline + CONTENDERS_TIMEOUT, handle).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("contender failed: {e}")),
            Err(_) => return Err("contender stuck".to_owned()),
        }
    }
    let cpu = cpu_seconds() - c0;
    for client in &clients {
        close(client).await;
    }
    let total = arena.total.load(Ordering::SeqCst);
    let unguarded = arena.unguarded.load(Ordering::SeqCst);
    let violations = arena.violations.load(Ordering::SeqCst) + total.abs_diff(unguarded);
    Ok(vec![
        (
            "handoffs_per_s",
            arena.in_time.load(Ordering::SeqCst) as f64 / duration,
        ),
        ("violations", violations as f64),
        ("cpu_us_per_handoff", cpu * 1e6 / total.max(1) as f64),
        (
            "lock_timeouts",
            arena.timeouts.load(Ordering::SeqCst) as f64,
        ),
    ])
}
