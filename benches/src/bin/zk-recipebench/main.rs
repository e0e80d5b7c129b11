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
//! | `lock_uncontended` | One session, one [`Mutex`](zk_recipes::lock::Mutex) on `<root>/lock-u`. `RB_LOCK_N` (2000) times: acquire, then release; the latency is the pair. | `lock_p50_us`, `lock_p99_us`, `acquire_p50_us`, `lock_ops` (pairs/s), `lock_cpu_us` (process CPU per pair), and `write_pair_p50_us`: a bare ephemeral create then delete on the same session afterwards, the floor of any acquire+release that waits for its delete |
//! | `election_failover` | `RB_ELECTION_N` (3) participants, one session and one [`LeaderLatch`](zk_recipes::election::LeaderLatch) each, on `<root>/election`. `RB_FAILOVERS` (20) times: wait until all N are registered and exactly one live participant leads; mark it dead, take t0 and close its session (not the latch); the time runs until another participant's `await_leadership` returns. Then a replacement joins. A participant that starts leading while another live one leads is a double leader. | `failover_p50_ms`, `failover_mean_ms`, `failover_p99_ms`, `double_leaders` (must be 0) |
//! | `cache_build` | Setup (not timed): `<root>/tree` with `RB_CACHE_PARENTS` (100) × `RB_CACHE_CHILDREN` (200) nodes of 100 bytes, created pipelined (`RB_WINDOW`, 256, in flight). A fresh session then starts a [`TreeCache`](zk_recipes::cache::TreeCache) (reads sent 64 to a `multi_read`); the time runs until its `Initialized` event. RSS (`VmRSS`) is read before the start and right after. Then `RB_CACHE_UPDATES` (1000) pipelined setData from the setup session, spread over all parents; the time runs until the cache has reported an update with the new data for every one. The cache and its session are closed before the pipelined teardown. | `cache_build_ms`, `cache_rss_mb`, `cache_nodes` (= 20,101), `cache_update_ms`, `cache_missed` (must be 0), and `cache_writes_ms`: when the last setData answered, the floor of `cache_update_ms` |
//! | `lock_contended` | `RB_SESSIONS` (4) sessions × `RB_TASKS` (4) tokio tasks, one [`Mutex`](zk_recipes::lock::Mutex) each, all on `<root>/lock-c`, for `RB_CONTENDED_S` (10) s. Each loop: acquire; claim an in-process holder flag (a collision is a violation); increment an unguarded counter; check the flag is still ours and clear it; release. | `handoffs_per_s`, `violations` (must be 0), `cpu_us_per_handoff`, `lock_timeouts` |
//! | `queue` | One producer session puts `RB_QUEUE_N` (5000) items of 100 bytes (an 8-digit index first) into a [`DistributedQueue`](zk_recipes::queue::DistributedQueue) on `<root>/queue` (Curator's layout and framing), `RB_WINDOW` (256) puts in flight; the time runs until every put answered. Then one consumer session claims up to `RB_QUEUE_BATCH` (64) items at once with [`claim_batch`](zk_recipes::queue::DistributedQueue::claim_batch) and acknowledges each ([`Claimed::ack`](zk_recipes::queue::Claimed::ack): at-least-once delivery, claims under `<root>/queue-locks`), until it has every item or none comes for 10 s; the time runs until the last acknowledgement. | `queue_put_ops`, `queue_take_ops`, `queue_lost`, `queue_dup` (both must be 0), `queue_left` (children left) |
//! | `counter` | `RB_COUNTER_SESSIONS` (4) sessions, one tokio task and one started [`SharedCount`](zk_recipes::counter::SharedCount) each, on `<root>/counter`; `RB_COUNTER_N` (500) increments per task, all released at once. Each increment is Curator's compare-and-set loop: [`SharedCount::get_versioned`](zk_recipes::counter::SharedCount::get_versioned), then [`SharedCount::try_set`](zk_recipes::counter::SharedCount::try_set) of the value + 1 over that version, again until it succeeds (a lost race reads the count again inside `try_set`). The time runs from the release until every task is done. | `counter_ops` (increments/s), `counter_err` (\|final − expected\| + failed increments; must be 0), `counter_retries` (lost races) |
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
//! [`LeaderLatch::await_leadership`](zk_recipes::election::LeaderLatch::await_leadership) returning; the time is taken there, in the
//! participant's own task.
//!
//! In `counter`, an increment that loses 100,000 races in a row, or fails, counts as failed
//! in `counter_err` and its task goes on with the next one; the final count is read from
//! the node.
//!
//! # Runtime
//!
//! `RB_RT=current` runs everything on tokio's current-thread runtime; by default it is the
//! multi-thread runtime. The harness has no such knob: this variable is the program's own.
//! The workload runs in a spawned task, as in a tokio service.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};
use zk_client::{Client, CreateOptions};

mod cache;
mod counter;
mod election;
mod lock;
mod queue;

use cache::cache_build;
use counter::counter;
use election::election_failover;
use lock::{lock_contended, lock_uncontended};
use queue::queue;

/// The longest wait for one lock acquire.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for a session.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for all contenders to finish after the deadline.
const CONTENDERS_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest wait for a session to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

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
    CacheBuild,
    Counter,
    Queue,
}

impl Workload {
    /// The workload named `name`.
    fn parse(name: &str) -> Result<Self, ()> {
        match name {
            "lock_uncontended" => Ok(Self::LockUncontended),
            "lock_contended" => Ok(Self::LockContended),
            "election_failover" => Ok(Self::ElectionFailover),
            "cache_build" => Ok(Self::CacheBuild),
            "counter" => Ok(Self::Counter),
            "queue" => Ok(Self::Queue),
            _ => Err(()),
        }
    }

    async fn run(self, setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
        match self {
            Self::LockUncontended => lock_uncontended(setup, scale, report).await,
            Self::LockContended => lock_contended(setup, scale, report).await,
            Self::ElectionFailover => election_failover(setup, scale, report).await,
            Self::CacheBuild => cache_build(setup, scale, report).await,
            Self::Counter => counter(setup, scale, report).await,
            Self::Queue => queue(setup, scale, report).await,
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
         election::LeaderLatch, cache::TreeCache, counter::SharedCount, \
         queue::DistributedQueue[claimed, acked])",
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
                 workloads: lock_uncontended lock_contended election_failover cache_build \
                 counter queue";
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
    let Ok(workload) = Workload::parse(name) else {
        eprintln!("zk-recipebench: unknown workload {name}\n{usage}");
        std::process::exit(EXIT_USAGE);
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
