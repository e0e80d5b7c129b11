//! `zk chaos <workload>`: a named workload against a fresh ensemble (processes or
//! containers) under a seeded nemesis, then each checker's verdict and figures, and the
//! command line that replays the same schedule.
//!
//! The nemesis kills and pauses the leader, blackholes and resets the clients'
//! connections, expires their sessions and, where the backend can (containers, or
//! processes in network namespaces as root), partitions the leader and random halves.
//! Workers take one session after another, so an expired session is replaced.

mod locks;
mod queue;
mod register;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinHandle;
use zk_client::Client;
use zk_testkit::{
    Backend, Ensemble, EnsembleConfig, FaultKind, History, Nemesis, SessionRegistry, TxnLog, check,
};

use crate::cli::{ChaosArgs, ChaosBackend, Workload};
use crate::error::CliError;

/// The clients' session timeout.
const SESSION: Duration = Duration::from_secs(4);

/// What a workload's checkers said.
struct Verdict {
    ok: bool,
    lines: Vec<String>,
    figures: serde_json::Value,
}

/// Runs `zk chaos`.
pub(crate) async fn run(args: ChaosArgs, json: bool) -> Result<(), CliError> {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::from(d.subsec_nanos()) % 1_000_000)
    });
    let say = |line: String| {
        if !json {
            println!("{line}");
        }
    };
    let (cfg, note) = config(&args);
    say(format!(
        "zk chaos {}: {} servers on the {} backend, {} clients, {} s of faults, seed {seed}",
        args.workload.name(),
        args.nodes,
        cfg.backend_kind(),
        args.clients,
        args.secs
    ));
    if let Some(note) = &note {
        say(format!("note: {note}"));
    }
    let t0 = Instant::now();
    let ensemble = Ensemble::start_with(cfg)
        .await
        .map_err(|e| CliError::msg(format!("starting the ensemble: {e}")))?;
    say(format!(
        "ensemble up in {:.1} s (ZooKeeper {})",
        ensemble.started_in().as_secs_f64(),
        ensemble.server_version().unwrap_or_else(|| "?".into())
    ));
    let setup = Client::connect(&ensemble.connect_string())
        .await
        .map_err(|e| CliError::msg(format!("connecting to the ensemble: {e}")))?;

    let mut run = ChaosRun {
        sessions: SessionRegistry::default(),
        stop: Arc::default(),
        workers: Vec::new(),
        nemesis: Some(nemesis(seed, ensemble.can_partition())),
    };
    let verdict = match args.workload {
        Workload::Register => run_register(&mut run, &ensemble, &setup, &args, seed).await?,
        Workload::Lock | Workload::Election => {
            run_locks(&mut run, &ensemble, &setup, &args).await?
        }
        Workload::Queue => run_queue(&mut run, &ensemble, &setup, &args).await?,
    };
    setup.close().await;

    let replay = format!(
        "zk chaos {} --backend {} --nodes {} --clients {} --secs {} --seed {seed}",
        args.workload.name(),
        args.backend.name(),
        args.nodes,
        args.clients,
        args.secs
    );
    if json {
        let out = json!({
            "workload": args.workload.name(),
            "backend": args.backend.name(),
            "nodes": args.nodes,
            "clients": args.clients,
            "secs": args.secs,
            "seed": seed,
            "ok": verdict.ok,
            "figures": verdict.figures,
            "replay": replay,
            "elapsedSecs": t0.elapsed().as_secs_f64(),
        });
        println!("{out}");
    } else {
        for line in &verdict.lines {
            println!("{line}");
        }
        println!(
            "verdict: {} (in {:.0} s); replay: {replay}",
            if verdict.ok { "PASS" } else { "FAIL" },
            t0.elapsed().as_secs_f64()
        );
    }
    if verdict.ok {
        Ok(())
    } else {
        Err(CliError::msg(format!(
            "chaos {}: a checker found a violation; replay: {replay}",
            args.workload.name()
        )))
    }
}

/// The ensemble's options: containers when asked; processes in network namespaces where
/// they can be made (so partitions run), else on loopback with a note.
fn config(args: &ChaosArgs) -> (EnsembleConfig, Option<String>) {
    let cfg = EnsembleConfig::new(args.nodes);
    match args.backend {
        ChaosBackend::Docker => (cfg.backend(Backend::Container), None),
        ChaosBackend::Process => match zk_testkit::netns_available() {
            Ok(()) => (
                cfg.backend(Backend::Process)
                    .net(zk_testkit::NetMode::Netns),
                None,
            ),
            Err(reason) => (
                cfg.backend(Backend::Process),
                Some(format!("no partitions: {reason}")),
            ),
        },
    }
}

/// The nemesis: leader kills and pauses, client blackholes and resets, session expiry,
/// and partitions where the ensemble allows them; a fault about every 0.7 s, held 1.5 s.
fn nemesis(seed: u64, partitions: bool) -> Nemesis {
    let mut nemesis = Nemesis::new(seed)
        .with(FaultKind::KillLeader, 2)
        .with(FaultKind::PauseLeader, 1)
        .with(FaultKind::ClientBlackhole, 2)
        .with(FaultKind::ClientReset, 2)
        .with(FaultKind::ExpireSession, 2);
    if partitions {
        nemesis = nemesis
            .with(FaultKind::PartitionLeader, 2)
            .with(FaultKind::RandomHalves, 1);
    }
    nemesis.hold(Duration::from_millis(1500))
}

/// The state of one run: sessions the nemesis may expire, the stop flag, the workers.
struct ChaosRun {
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    nemesis: Option<Nemesis>,
}

impl ChaosRun {
    /// Starts a worker that takes one session after another through its own endpoint
    /// (which the nemesis cuts and resets), running `work` on each, until the run stops.
    async fn worker<F, Fut>(
        &mut self,
        ensemble: &Ensemble,
        name: &str,
        work: F,
    ) -> Result<(), CliError>
    where
        F: FnMut(Client) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = Arc::clone(&self.stop);
        let worker = self.spawn_worker(ensemble, name, stop, work).await?;
        self.workers.push(worker);
        Ok(())
    }

    /// As [`worker`](Self::worker), until `stop` rather than the run's end; the caller
    /// joins it.
    async fn spawn_worker<F, Fut>(
        &mut self,
        ensemble: &Ensemble,
        name: &str,
        stop: Arc<AtomicBool>,
        work: F,
    ) -> Result<JoinHandle<()>, CliError>
    where
        F: FnMut(Client) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let endpoint = ensemble
            .client_endpoint(name)
            .await
            .map_err(|e| CliError::msg(format!("a client endpoint: {e}")))?;
        self.nemesis = self.nemesis.take().map(|n| n.endpoint(endpoint.clone()));
        let sessions = self.sessions.clone();
        Ok(tokio::spawn(async move {
            // The endpoint's proxies live as long as the worker.
            let hosts = endpoint.connect_string();
            session_after_session(hosts, sessions, stop, work).await;
            drop(endpoint);
        }))
    }

    /// Runs the nemesis for `secs`, then stops the workers and waits for a healthy
    /// ensemble. Returns the nemesis's summary line.
    async fn faults(&mut self, ensemble: &Ensemble, secs: u64) -> Result<Vec<String>, CliError> {
        let nemesis = self
            .nemesis
            .take()
            .ok_or_else(|| CliError::msg("the nemesis runs once"))?
            .sessions(self.sessions.clone());
        let log = nemesis
            .run(
                ensemble,
                Duration::from_millis(700),
                Duration::from_secs(secs),
            )
            .await;
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers.drain(..) {
            if tokio::time::timeout(Duration::from_secs(60), worker)
                .await
                .is_err()
            {
                return Err(CliError::msg("a worker did not stop within 60 s"));
            }
        }
        ensemble
            .wait_healthy(Duration::from_secs(60))
            .await
            .map_err(|e| CliError::msg(format!("the ensemble after the run: {e}")))?;
        // The nemesis prints each action on standard error as it goes.
        Ok(vec![format!(
            "nemesis: {} faults, {} slow recoveries",
            log.faults, log.slow_recoveries
        )])
    }
}

/// One session after another through `hosts`, until `stop`.
async fn session_after_session<F, Fut>(
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    mut work: F,
) where
    F: FnMut(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    while !stop.load(Ordering::SeqCst) {
        let Ok(client) = Client::builder()
            .session_timeout(SESSION)
            .connect(&hosts)
            .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        sessions.add(client.session_id(), &client.session_password());
        work(client.clone()).await;
        sessions.remove(client.session_id());
        client.close().await;
    }
}

async fn run_register(
    run: &mut ChaosRun,
    ensemble: &Ensemble,
    setup: &Client,
    args: &ChaosArgs,
    seed: u64,
) -> Result<Verdict, CliError> {
    register::setup(setup)
        .await
        .map_err(|e| CliError::msg(format!("creating the register: {e}")))?;
    let history = History::new();
    let values = Arc::new(AtomicI64::new(1));
    for c in 0..args.clients {
        let name = format!("c{c}");
        let (history, values, stop) = (history.clone(), values.clone(), Arc::clone(&run.stop));
        let mut n = 0u64;
        let worker_name = name.clone();
        run.worker(ensemble, &name, move |client| {
            n += 1;
            let rng = seed ^ (u64::from(c) << 32) ^ n;
            register::work(
                worker_name.clone(),
                client,
                stop.clone(),
                history.clone(),
                values.clone(),
                rng,
            )
        })
        .await?;
    }
    let mut lines = run.faults(ensemble, args.secs).await?;
    let operations = history.operations();
    let count = |f: &str| operations.iter().filter(|o| o.op.f == f).count();
    let unknown = operations
        .iter()
        .filter(|o| {
            o.outcome
                .as_ref()
                .is_none_or(zk_testkit::Outcome::is_indeterminate)
        })
        .count();
    let started = Instant::now();
    let report = check::register(&history, register::PATH, 0);
    let took = started.elapsed();
    lines.push(format!(
        "register: {} operations ({} reads, {} writes, {} cas), {unknown} with unknown outcome",
        operations.len(),
        count("read"),
        count("write"),
        count("cas")
    ));
    lines.push(format!(
        "linearizability: {report} (checked in {} ms)",
        took.as_millis()
    ));
    Ok(Verdict {
        ok: report.linearizable,
        figures: json!({
            "operations": operations.len(),
            "reads": count("read"),
            "writes": count("write"),
            "cas": count("cas"),
            "unknown": unknown,
            "linearizable": report.linearizable,
            "statesExplored": report.explored,
            "counterexample": report.counterexample,
            "checkMillis": u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        }),
        lines,
    })
}

async fn run_locks(
    run: &mut ChaosRun,
    ensemble: &Ensemble,
    setup: &Client,
    args: &ChaosArgs,
) -> Result<Verdict, CliError> {
    locks::setup(setup)
        .await
        .map_err(|e| CliError::msg(format!("creating the resource: {e}")))?;
    let grants = Arc::new(AtomicUsize::new(0));
    let election = args.workload == Workload::Election;
    for c in 0..args.clients {
        let name = format!("c{c}");
        let (grants, stop) = (grants.clone(), Arc::clone(&run.stop));
        let worker_name = name.clone();
        run.worker(ensemble, &name, move |client| {
            let (grants, stop, name) = (grants.clone(), stop.clone(), worker_name.clone());
            async move {
                // Two contenders per session.
                let tasks: Vec<_> = (0..2)
                    .map(|k| {
                        let (client, stop, grants) = (client.clone(), stop.clone(), grants.clone());
                        let name = format!("{name}.{k}");
                        tokio::spawn(async move {
                            if election {
                                locks::lead(name, client, stop, grants).await;
                            } else {
                                locks::lock(client, stop, grants).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    let _ = task.await;
                }
            }
        })
        .await?;
    }
    let mut lines = run.faults(ensemble, args.secs).await?;
    let parent = if election {
        locks::ELECTION
    } else {
        locks::LOCK
    };
    drain(setup, parent).await;
    let txns = read_log(ensemble)?;
    let counted = grants.load(Ordering::Relaxed);
    let (ok, report, figures) = if election {
        let report = check::election(&txns, locks::ELECTION, locks::RESOURCE);
        (report.is_safe(), report.to_string(), format!("{report:?}"))
    } else {
        let report = check::mutex(&txns, locks::LOCK, locks::RESOURCE);
        (report.is_safe(), report.to_string(), format!("{report:?}"))
    };
    let what = if election { "leaderships" } else { "grants" };
    lines.push(format!("clients counted {counted} {what}"));
    lines.push(format!("{}: {report}", args.workload.name()));
    Ok(Verdict {
        ok,
        figures: json!({ "counted": counted, "report": report, "detail": figures }),
        lines,
    })
}

async fn run_queue(
    run: &mut ChaosRun,
    ensemble: &Ensemble,
    setup: &Client,
    args: &ChaosArgs,
) -> Result<Verdict, CliError> {
    queue::setup(setup)
        .await
        .map_err(|e| CliError::msg(format!("creating the queue: {e}")))?;
    let tally = Arc::new(queue::Tally::default());
    // Producers stop with the nemesis; consumers go on until the queue is empty.
    let consumers_stop = Arc::new(AtomicBool::new(false));
    let mut consumers = Vec::new();
    for c in 0..args.clients {
        let next = Arc::new(AtomicUsize::new(0));
        let (tally_p, stop) = (tally.clone(), Arc::clone(&run.stop));
        run.worker(ensemble, &format!("producer-{c}"), move |client| {
            queue::produce(
                usize::from(c),
                client,
                stop.clone(),
                next.clone(),
                tally_p.clone(),
            )
        })
        .await?;
        let (tally_c, stop) = (tally.clone(), consumers_stop.clone());
        let consumer = run
            .spawn_worker(
                ensemble,
                &format!("consumer-{c}"),
                consumers_stop.clone(),
                move |client| queue::consume(client, stop.clone(), tally_c.clone()),
            )
            .await?;
        consumers.push(consumer);
    }
    let mut lines = run.faults(ensemble, args.secs).await?;
    // Let the consumers empty the queue (30 s at most), then stop them.
    drain(setup, queue::ITEMS).await;
    consumers_stop.store(true, Ordering::SeqCst);
    for consumer in consumers {
        let _ = tokio::time::timeout(Duration::from_secs(60), consumer).await;
    }
    drain(setup, queue::CLAIMS).await;
    let txns = read_log(ensemble)?;
    let report = check::queue(&txns, queue::ITEMS, queue::CLAIMS, queue::DONE);
    lines.push(format!(
        "clients: {} puts acknowledged, {} unknown; {} items acknowledged by consumers",
        tally.puts.load(Ordering::Relaxed),
        tally.puts_unknown.load(Ordering::Relaxed),
        tally.acks.load(Ordering::Relaxed)
    ));
    lines.push(format!("queue: {report}"));
    Ok(Verdict {
        ok: report.is_safe(),
        figures: json!({
            "putsAcked": tally.puts.load(Ordering::Relaxed),
            "putsUnknown": tally.puts_unknown.load(Ordering::Relaxed),
            "acks": tally.acks.load(Ordering::Relaxed),
            "report": report.to_string(),
        }),
        lines,
    })
}

/// Waits (30 s at most) until `parent` has no children: the consumers empty a queue, and
/// abandoned sessions expire on the servers' clock, their nodes going with them.
async fn drain(client: &Client, parent: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match client.get_children(parent).await {
            Ok((children, _)) if children.is_empty() => return,
            Err(zk_client::Error::NoNode(_)) => return,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn read_log(ensemble: &Ensemble) -> Result<TxnLog, CliError> {
    TxnLog::read(ensemble).map_err(|e| CliError::msg(format!("reading the transaction log: {e}")))
}
