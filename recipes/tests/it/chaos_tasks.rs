//! Chaos: 200 tasks through 3 master candidates and 4 workers, each on sessions the
//! nemesis cuts, resets and expires (a worker whose session ends mid-task is a killed
//! worker; a master's is a master failover), on a 3-server ensemble whose leader it kills,
//! pauses and partitions; besides, the test kills a worker every 1.5 s, in turn (its
//! session closed from the server's side, as when the process is killed).
//!
//! Figures: lost tasks (submitted, never done) = 0; orphan assignments at the end = 0;
//! duplicate runs, each accounted for by the death of the session of the run before it;
//! the reassignment latency (a dead run's session end to the next run) p50/p99.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use zk_client::Client;
use zk_recipes::tasks::{NewTask, TaskScope};
use zk_testkit::SessionRegistry;

use crate::chaos_kit::{ChaosRun, session_after_session};

const RUN: &str = "the task manager chaos run";
const SCOPE: &str = "/chaos-tasks";
const TASKS: usize = 200;

/// One run of a task: the worker's session, the attempt it was told, when it began.
#[derive(Clone, Debug)]
struct Run {
    session: i64,
    attempt: u32,
    began: Instant,
}

/// What the workers saw.
#[derive(Debug, Default)]
struct Runs {
    /// Task name → its runs, in order.
    by_task: StdMutex<BTreeMap<String, Vec<Run>>>,
    /// Sessions that ended, and when the worker saw it.
    ended: StdMutex<BTreeMap<i64, Instant>>,
    /// Each worker's current session: id and password.
    live: StdMutex<BTreeMap<usize, (i64, Vec<u8>)>>,
    /// Worker sessions the test killed.
    killed: std::sync::atomic::AtomicUsize,
}

/// Worker `i`: one session after another, each a worker `w<i>` taking two tasks at a time,
/// that runs each for about 150 ms and completes it, until `stop`.
async fn work(
    i: usize,
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    runs: Arc<Runs>,
) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, runs) = (stop.clone(), runs.clone());
        async move {
            let session = client.session_id();
            runs.live
                .lock()
                .unwrap()
                .insert(i, (session, client.session_password().to_vec()));
            let scope = TaskScope::new(&client, SCOPE);
            let Ok(mut worker) = scope.worker(&format!("w{i}")).capacity(2).start().await else {
                return;
            };
            while !stop.load(Ordering::SeqCst) {
                let next = tokio::time::timeout(Duration::from_millis(200), worker.next()).await;
                let task = match next {
                    Err(_) => continue,
                    Ok(Some(Ok(task))) => task,
                    Ok(Some(Err(_)) | None) => break,
                };
                runs.by_task
                    .lock()
                    .unwrap()
                    .entry(task.name().to_owned())
                    .or_default()
                    .push(Run {
                        session,
                        attempt: task.attempt(),
                        began: Instant::now(),
                    });
                tokio::time::sleep(Duration::from_millis(150)).await;
                if task.complete(b"ok").await.is_err() && client.state().is_terminal() {
                    break;
                }
            }
            // The session ends here (closed after this returns), if it has not already.
            if !stop.load(Ordering::SeqCst) {
                runs.ended.lock().unwrap().insert(session, Instant::now());
            }
        }
    })
    .await;
}

/// Kills a worker (closes its session from the server's side, as when its process is
/// killed) every 1.5 s, in turn, until `stop`.
async fn kill_workers(servers: Vec<std::net::SocketAddr>, runs: Arc<Runs>, stop: Arc<AtomicBool>) {
    let mut next = 0;
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let victim = runs.live.lock().unwrap().get(&(next % 4)).cloned();
        next += 1;
        let Some((id, password)) = victim else {
            continue;
        };
        for server in &servers {
            let expired = tokio::time::timeout(
                Duration::from_secs(2),
                zk_testkit::expire_session(*server, id, &password),
            )
            .await;
            if matches!(expired, Ok(Ok(()))) {
                runs.killed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Master candidate `i`: one session after another, each a master until its session ends
/// or `stop`.
async fn lead(i: usize, hosts: String, sessions: SessionRegistry, stop: Arc<AtomicBool>) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client: Client| {
        let stop = stop.clone();
        async move {
            let master = TaskScope::new(&client, SCOPE).master(&format!("m{i}"));
            if master.start().is_err() {
                return;
            }
            let mut states = client.state_watcher();
            while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
                let _ = tokio::time::timeout(
                    Duration::from_millis(200),
                    states.wait_for(|s| s.is_terminal()),
                )
                .await;
            }
            let _ = master.close().await;
        }
    })
    .await;
}

/// The `q`-quantile of `values` (sorted), in ms.
fn quantile(values: &[Duration], q: f64) -> u128 {
    if values.is_empty() {
        return 0;
    }
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index].as_millis()
}

#[tokio::test]
async fn chaos_tasks_lose_nothing_and_account_for_every_second_run() {
    let mut run = ChaosRun::start(RUN, 8).await;
    let setup = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    let scope = TaskScope::new(&setup, SCOPE);
    let tasks: Vec<NewTask> = (0..TASKS)
        .map(|i| NewTask::new(format!("job {i}")))
        .collect();
    for task in &tasks {
        scope.submit(task).await.unwrap();
    }
    let runs = Arc::new(Runs::default());
    let mut handles = Vec::new();
    for i in 0..3 {
        let endpoint = run.endpoint(&format!("master-{i}")).await;
        handles.push(tokio::spawn(lead(
            i,
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
        )));
    }
    for i in 0..4 {
        let endpoint = run.endpoint(&format!("worker-{i}")).await;
        handles.push(tokio::spawn(work(
            i,
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
            runs.clone(),
        )));
    }
    let killing = Arc::new(AtomicBool::new(false));
    let servers = run
        .ensemble
        .ids()
        .into_iter()
        .filter_map(|id| run.ensemble.client_addr(id))
        .collect();
    let killer = tokio::spawn(kill_workers(servers, runs.clone(), killing.clone()));
    let log = run.faults().await;
    killing.store(true, Ordering::SeqCst);
    let _ = killer.await;
    run.ensemble
        .wait_healthy(Duration::from_secs(60))
        .await
        .expect("healthy after the run");
    let finished = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(now) = scope.snapshot().await {
                if now.done.len() >= TASKS {
                    return now;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let _ = run.finish(handles, &[]).await;
    let now = scope.snapshot().await.unwrap();
    setup.close().await;

    let by_task = runs.by_task.lock().unwrap().clone();
    let ended = runs.ended.lock().unwrap().clone();
    let done: HashSet<&String> = now.done.iter().collect();
    let lost = TASKS.saturating_sub(done.len());
    let orphans: usize = now.assigned.values().map(Vec::len).sum::<usize>() + now.pending.len();
    let (mut duplicates, mut unaccounted, mut latencies) = (0, Vec::new(), Vec::new());
    for (task, task_runs) in &by_task {
        duplicates += task_runs.len().saturating_sub(1);
        for pair in task_runs.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            match ended.get(&before.session) {
                Some(end) => latencies.push(after.began.saturating_duration_since(*end)),
                None => unaccounted.push(format!("{task}: {before:?} then {after:?}")),
            }
            if after.attempt <= before.attempt {
                unaccounted.push(format!(
                    "{task}: attempt {} after {}",
                    after.attempt, before.attempt
                ));
            }
        }
    }
    latencies.sort();
    println!(
        "tasks: {TASKS} submitted, {} done, lost {lost}, orphan assignments {orphans}; {} runs, \
         duplicates {duplicates} ({} unaccounted), worker sessions ended {} ({} killed by the \
         test); reassignment latency p50 {} ms, p99 {} ms; {}\n{log}",
        done.len(),
        by_task.values().map(Vec::len).sum::<usize>(),
        unaccounted.len(),
        ended.len(),
        runs.killed.load(Ordering::Relaxed),
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.99),
        run.describe(&log)
    );
    assert!(finished.is_ok(), "not every task was done: {now:?}");
    assert_eq!(lost, 0);
    assert_eq!(orphans, 0, "{now:?}");
    assert!(unaccounted.is_empty(), "{unaccounted:#?}");
}
