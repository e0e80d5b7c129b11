//! `zk-recipebench`: zk-recipes' recipes under the workloads of a cross-client recipe
//! benchmark, in which programs for Curator, kazoo and this stack run the same workloads
//! against one local ZooKeeper server. `benches/recipebench.sh` plugs it into that
//! harness.
//!
//! ```text
//! zk-recipebench HOST:PORT WORKLOAD
//! ```
//!
//! # The harness contract
//!
//! - One process runs one workload against `HOST:PORT` (loopback). It prints one
//!   `VERSION <text>` line and one `RESULT key=value ...` line (numbers only) to stdout and
//!   exits 0; everything else goes to stderr. A run that exits non-zero, or prints no
//!   `RESULT` line, counts as failed.
//! - Everything lives under `/rb/<RB_CLIENT>-<pid>` (`RB_CLIENT` defaults to `zkrs`),
//!   created with `/rb` at the start and deleted recursively at the end.
//! - One setup/cleanup session, plus the sessions the workload names; the session timeout
//!   is `RB_SESSION_MS` (10000).
//! - Warm-up: the workload first runs scaled by `RB_WARMUP` (0.25; 0 = none) on its own
//!   paths (`-warm` suffix) and is discarded, then runs at full size.
//! - Always reported: `cpu_s`, the process's user+sys CPU over both phases, and `rss_mb`,
//!   its peak RSS (`VmHWM`).
//! - Every wait is bounded: 30 s per connect and per lock acquire, 120 s for the
//!   contenders to finish. A stuck run ends with exit status 1, not a hang.
//! - p50 = `sorted[n/2]`, p99 = `sorted[int(n*0.99)]`.
//!
//! # Workloads
//!
//! | workload | what (defaults) | keys |
//! |---|---|---|
//! | `lock_uncontended` | One session, one [`Mutex`] on `<root>/lock-u`. `RB_LOCK_N` (2000) times: acquire, then release; the latency is the pair. | `lock_p50_us`, `lock_p99_us`, `acquire_p50_us`, `lock_ops` (pairs/s), `lock_cpu_us` (process CPU per pair), and `write_pair_p50_us`: a bare ephemeral create then delete on the same session afterwards, the floor of any acquire+release that waits for its delete |
//! | `election_failover` | `RB_ELECTION_N` (3) participants, one session and one [`LeaderLatch`] each, on `<root>/election`. `RB_FAILOVERS` (20) times: wait until all N are registered and exactly one live participant leads; mark it dead, take t0 and close its session (not the latch); the time runs until another participant's `await_leadership` returns. Then a replacement joins. A participant that starts leading while another live one leads is a double leader. | `failover_p50_ms`, `failover_mean_ms`, `failover_p99_ms`, `double_leaders` (must be 0) |
//! | `lock_contended` | `RB_SESSIONS` (4) sessions × `RB_TASKS` (4) tokio tasks, one [`Mutex`] each, all on `<root>/lock-c`, for `RB_CONTENDED_S` (10) s. Each loop: acquire; claim an in-process holder flag (a collision is a violation); increment an unguarded counter; check the flag is still ours and clear it; release. | `handoffs_per_s`, `violations` (must be 0), `cpu_us_per_handoff`, `lock_timeouts` |
//! | `counter` | `RB_COUNTER_SESSIONS` (4) sessions, one tokio task and one started [`SharedCount`] each, on `<root>/counter`; `RB_COUNTER_N` (500) increments per task, all released at once. Each increment is Curator's compare-and-set loop: [`SharedCount::get_versioned`], then [`SharedCount::try_set`] of the value + 1 over that version, again until it succeeds (a lost race reads the count again inside `try_set`). The time runs from the release until every task is done. | `counter_ops` (increments/s), `counter_err` (\|final − expected\| + failed increments; must be 0), `counter_retries` (lost races) |
//!
//! In `lock_contended`, the counter is a plain load followed by a store, with a
//! `yield_now` between them: two holders at once lose an increment, and violations add
//! `|handoffs − counter|`. The yield is there because a task is not preempted: without an
//! await inside it, the critical section could never overlap another on the current-thread
//! runtime, and the check could not fail. Acquisitions made after the deadline (draining
//! the waiters) are not counted in `handoffs_per_s`; the CPU is divided by all of them. An
//! acquire that times out counts in `lock_timeouts` and the task tries again; any other
//! error counts there too and ends that task.
//!
//! In `election_failover`, a participant's "leader callback" is its
//! [`LeaderLatch::await_leadership`] returning; the time is taken there, in the
//! participant's own task.
//!
//! In `counter`, an increment that loses 100,000 races in a row, or fails, counts as failed
//! in `counter_err` and its task goes on with the next one; the final count is read from
//! the node.
//!
//! # Workloads without a recipe yet
//!
//! zk-recipes has no tree cache or queue recipe yet, so `cache_build` and `queue` are
//! skipped: the program says
//! so on stderr and exits with status 3, without a `RESULT` line, and the harness shows
//! n/a and lists the run as failed. It does not print a `RESULT` line with only `cpu_s`
//! and `rss_mb`, because the harness adds the server's CPU during the run to every
//! `RESULT` line, and that of a run that did nothing would read as a win.
//!
//! # Runtime
//!
//! `RB_RT=current` runs everything on tokio's current-thread runtime; by default it is the
//! multi-thread runtime. The harness has no such knob: this variable is the program's own.
//! The workload runs in a spawned task, as in a tokio service.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use zk_client::{Client, CreateOptions};
use zk_recipes::Error as RecipeError;
use zk_recipes::counter::SharedCount;
use zk_recipes::election::LeaderLatch;
use zk_recipes::lock::Mutex;

/// The longest wait for one lock acquire.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for a session.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for all contenders to finish after the deadline.
const CONTENDERS_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest wait for a session to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Exit status of a workload zk-recipes has no recipe for.
const EXIT_SKIPPED: i32 = 3;
/// Exit status of a usage error.
const EXIT_USAGE: i32 = 2;

/// A failed run: what went wrong, for stderr.
type Outcome<T> = Result<T, String>;

/// `RESULT` keys and values, in print order.
type Report = Vec<(&'static str, f64)>;

#[derive(Clone, Copy, Debug)]
enum Workload {
    LockUncontended,
    LockContended,
    ElectionFailover,
    Counter,
}

impl Workload {
    /// The workload named `name`: `Ok(None)` for one of the harness's workloads that
    /// zk-recipes has no recipe for.
    fn parse(name: &str) -> Result<Option<Self>, ()> {
        match name {
            "lock_uncontended" => Ok(Some(Self::LockUncontended)),
            "lock_contended" => Ok(Some(Self::LockContended)),
            "election_failover" => Ok(Some(Self::ElectionFailover)),
            "counter" => Ok(Some(Self::Counter)),
            "cache_build" | "queue" => Ok(None),
            _ => Err(()),
        }
    }

    async fn run(self, setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
        match self {
            Self::LockUncontended => lock_uncontended(setup, scale, report).await,
            Self::LockContended => lock_contended(setup, scale, report).await,
            Self::ElectionFailover => election_failover(setup, scale, report).await,
            Self::Counter => counter(setup, scale, report).await,
        }
    }
}

/// What every session of a run shares.
#[derive(Debug)]
struct Setup {
    hosts: String,
    root: String,
    session_timeout: Duration,
}

fn env(key: &str, default: f64) -> f64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu_seconds() -> f64 {
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |r| {
        let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        tv(r.user_time()) + tv(r.system_time())
    })
}

/// Peak RSS of this program: `VmHWM` from /proc/self/status, else `ru_maxrss`.
///
/// `ru_maxrss` survives `execve`, so it would also hold the peak of the shell that
/// started the program; `VmHWM` belongs to the program's own address space only.
fn peak_rss_mb() -> f64 {
    let hwm_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        });
    hwm_kib.map_or_else(
        || getrusage(UsageWho::RUSAGE_SELF).map_or(-1.0, |r| r.max_rss() as f64 / 1024.0),
        |kib| kib / 1024.0,
    )
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The harness's percentile: `sorted[int(n*p)]`, at most the last.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or(-1.0)
}

/// The path suffix of the warm-up phase.
fn suffix(report: bool) -> &'static str {
    if report { "" } else { "-warm" }
}

async fn connect(setup: &Setup) -> Outcome<Client> {
    let connecting = Client::builder()
        .session_timeout(setup.session_timeout)
        .connect(&setup.hosts);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(format!("connect to {}: {e}", setup.hosts)),
        Err(_) => Err(format!(
            "no session with {} in {} s",
            setup.hosts,
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

async fn close(client: &Client) {
    if tokio::time::timeout(CLOSE_TIMEOUT, client.close())
        .await
        .is_err()
    {
        eprintln!(
            "zk-recipebench: a session did not close in {} s",
            CLOSE_TIMEOUT.as_secs()
        );
    }
}

/// One session, one lock: acquire then release, `RB_LOCK_N` times.
async fn lock_uncontended(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
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
async fn lock_contended(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
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
async fn election_failover(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
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

/// Lost races after which one increment of `counter` counts as failed.
const COUNTER_MAX_LOST: u64 = 100_000;

/// What the tasks of `counter` count.
#[derive(Debug, Default)]
struct Tally {
    lost: AtomicU64,
    failed: AtomicU64,
}

/// `n` increments of `count` by the compare-and-set loop, once `go` opens.
async fn incrementer(
    count: SharedCount,
    n: usize,
    mut go: tokio::sync::watch::Receiver<bool>,
    tally: Arc<Tally>,
) {
    if go.wait_for(|open| *open).await.is_err() {
        return;
    }
    for _ in 0..n {
        let mut lost = 0;
        loop {
            let seen = count.get_versioned();
            match count
                .try_set(seen.value.wrapping_add(1), seen.version)
                .await
            {
                Ok(true) => break,
                Ok(false) if lost < COUNTER_MAX_LOST => lost += 1,
                Ok(false) => {
                    eprintln!("zk-recipebench: an increment lost {lost} races in a row");
                    Arena::bump(&tally.failed);
                    break;
                }
                Err(e) => {
                    eprintln!("zk-recipebench: increment: {e}");
                    Arena::bump(&tally.failed);
                    break;
                }
            }
        }
        tally.lost.fetch_add(lost, Ordering::Relaxed);
    }
}

/// `RB_COUNTER_SESSIONS` sessions, `RB_COUNTER_N` CAS increments each, all at once.
async fn counter(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
    let sessions = (env("RB_COUNTER_SESSIONS", 4.0) as usize).max(1);
    let n = ((env("RB_COUNTER_N", 500.0) * scale) as usize).max(1);
    let path = format!("{}/counter{}", setup.root, suffix(report));
    let mut clients = Vec::with_capacity(sessions);
    let mut counts = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let client = connect(setup).await?;
        let count = SharedCount::new(&client, &path, 0);
        count
            .start()
            .await
            .map_err(|e| format!("start a shared count: {e}"))?;
        counts.push(count);
        clients.push(client);
    }
    let tally = Arc::new(Tally::default());
    let (go, open) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = counts
        .iter()
        .map(|count| {
            let task = incrementer(count.clone(), n, open.clone(), Arc::clone(&tally));
            tokio::spawn(task)
        })
        .collect();
    let t0 = Instant::now();
    go.send_replace(true);
    for task in tasks {
        match tokio::time::timeout_at((t0 + CONTENDERS_TIMEOUT).into(), task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("incrementer failed: {e}")),
            Err(_) => return Err("incrementer stuck".to_owned()),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let (data, _) = clients[0]
        .get_data(&path)
        .await
        .map_err(|e| format!("read the count: {e}"))?;
    let last = <[u8; 4]>::try_from(&data[..])
        .map(i32::from_be_bytes)
        .map_err(|_| format!("the count is not 4 bytes: {data:?}"))?;
    for (count, client) in counts.iter().zip(&clients) {
        count.close();
        close(client).await;
    }
    let expected = (sessions * n) as i64;
    let failed = tally.failed.load(Ordering::SeqCst);
    Ok(vec![
        ("counter_ops", expected as f64 / secs),
        (
            "counter_err",
            (i64::from(last) - expected).unsigned_abs() as f64 + failed as f64,
        ),
        ("counter_retries", tally.lost.load(Ordering::SeqCst) as f64),
    ])
}

/// The whole run: root, warm-up, measured phase, cleanup, and the two output lines.
async fn bench(hosts: String, workload: Workload, runtime: &'static str) -> Outcome<()> {
    let name = std::env::var("RB_CLIENT")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "zkrs".to_owned());
    let setup = Setup {
        hosts,
        root: format!("/rb/{name}-{}", std::process::id()),
        session_timeout: Duration::from_millis(env("RB_SESSION_MS", 10_000.0) as u64),
    };
    let admin = connect(&setup).await?;
    admin
        .create_all(&setup.root, b"", &CreateOptions::persistent())
        .await
        .map_err(|e| format!("create {}: {e}", setup.root))?;
    let warm = env("RB_WARMUP", 0.25);
    let c0 = cpu_seconds();
    if warm > 0.0 {
        workload.run(&setup, warm, false).await?;
    }
    let mut result = workload.run(&setup, 1.0, true).await?;
    result.push(("cpu_s", cpu_seconds() - c0));
    result.push(("rss_mb", peak_rss_mb()));
    admin
        .delete_all(&setup.root)
        .await
        .map_err(|e| format!("delete {}: {e}", setup.root))?;
    close(&admin).await;
    // The crates of the workspace share one version.
    println!(
        "VERSION zk-recipes {v}, zk-client {v} (Rust, tokio {runtime} runtime; lock::Mutex, \
         election::LeaderLatch, counter::SharedCount)",
        v = env!("CARGO_PKG_VERSION")
    );
    println!(
        "RESULT {}",
        result
            .iter()
            .map(|(k, v)| format!("{k}={v:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: zk-recipebench HOST:PORT WORKLOAD\n\
                 workloads: lock_uncontended lock_contended election_failover counter \
                 (cache_build queue: skipped, exit 3)";
    let (hosts, name) = match args.as_slice() {
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{usage}");
            return;
        }
        [hosts, name] => (hosts.clone(), name.as_str()),
        _ => {
            eprintln!("{usage}");
            std::process::exit(EXIT_USAGE);
        }
    };
    let workload = match Workload::parse(name) {
        Ok(Some(workload)) => workload,
        Ok(None) => {
            eprintln!("zk-recipebench: {name}: zk-recipes has no recipe for it yet; skipped");
            std::process::exit(EXIT_SKIPPED);
        }
        Err(()) => {
            eprintln!("zk-recipebench: unknown workload {name}\n{usage}");
            std::process::exit(EXIT_USAGE);
        }
    };
    let (mut builder, runtime) = match std::env::var("RB_RT").as_deref() {
        Ok("current") => (
            tokio::runtime::Builder::new_current_thread(),
            "current-thread",
        ),
        _ => (tokio::runtime::Builder::new_multi_thread(), "multi-thread"),
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zk-recipebench: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let outcome = rt.block_on(rt.spawn(bench(hosts, workload, runtime)));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(why)) => {
            eprintln!("zk-recipebench: {why}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("zk-recipebench: {e}");
            std::process::exit(1);
        }
    }
}
