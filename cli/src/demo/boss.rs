//! `zk demo` (the default story): a boss and three workers share jobs through a
//! `zk_recipes::tasks` scope, each on its own session as separate processes would be. The
//! boss's process dies (its session closed abruptly) and its deputy takes over; a worker
//! dies with a job in hand and the job runs elsewhere; a server dies and the sessions
//! fail over. Every job is done exactly once as far as the application can see.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tokio::sync::mpsc;
use zk_client::Client;
use zk_recipes::tasks::{MasterEvent, NewTask, Snapshot, TaskScope, metadata_of};

use super::servers::Servers;
use super::steps::{Step, connect, expect};
use super::timeline::Timeline;

/// Jobs submitted.
const JOBS: usize = 16;
/// How long a worker takes over a job.
const WORK: Duration = Duration::from_millis(500);
/// The longest wait for any one thing the story waits for.
const WAIT: Duration = Duration::from_secs(30);

/// What a worker reports.
#[derive(Debug)]
enum Report {
    Started {
        job: String,
        worker: &'static str,
        attempt: u32,
    },
    Done {
        job: String,
        worker: &'static str,
    },
}

/// The job number a task carries in its metadata.
fn job_of(task: &str) -> String {
    metadata_of(task)
        .into_iter()
        .find(|(key, _)| key == "job")
        .map_or_else(|| task.to_owned(), |(_, job)| job)
}

/// Waits for `what`, at most [`WAIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> Step<T> {
    tokio::time::timeout(WAIT, future)
        .await
        .map_err(|_| format!("{what} did not happen within {} s", WAIT.as_secs()))
}

/// The next event of a master that matches `wanted`.
async fn next_event(
    events: &mut (impl futures::Stream<Item = MasterEvent> + Unpin),
    wanted: impl Fn(&MasterEvent) -> bool,
) -> Option<MasterEvent> {
    while let Some(event) = events.next().await {
        if wanted(&event) {
            return Some(event);
        }
    }
    None
}

/// A worker process: runs each job for [`WORK`] and completes it, reporting both.
fn spawn_worker(
    client: Client,
    scope: &str,
    name: &'static str,
    reports: mpsc::UnboundedSender<Report>,
) -> tokio::task::JoinHandle<()> {
    let scope = TaskScope::new(&client, scope);
    tokio::spawn(async move {
        let Ok(mut worker) = scope.worker(name).capacity(1).start().await else {
            return;
        };
        while let Some(Ok(task)) = worker.next().await {
            let job = job_of(task.name());
            let started = Report::Started {
                job: job.clone(),
                worker: name,
                attempt: task.attempt(),
            };
            let _ = reports.send(started);
            tokio::time::sleep(WORK).await;
            let result = format!("job {job} done by {name}");
            if task.complete(result.as_bytes()).await.is_ok() {
                let _ = reports.send(Report::Done { job, worker: name });
            }
        }
        drop(client);
    })
}

/// Closes `client`'s session from the server's side, as when its process dies.
async fn kill_session(client: &Client) -> Step {
    let server = client
        .connected_server()
        .ok_or("the session is not connected")?;
    let addr = server
        .parse()
        .map_err(|e| format!("the server address {server}: {e}"))?;
    zk_testkit::expire_session(addr, client.session_id(), &client.session_password())
        .await
        .map_err(|e| format!("closing session {:#x}: {e}", client.session_id()))
}

/// The story.
pub(super) async fn story(
    tl: &Timeline,
    servers: &Servers,
    base: &str,
    session_timeout: Duration,
) -> Step {
    let hosts = servers.client_hosts();
    let path = format!("{base}/jobs");
    tl.section("a boss, its deputy and three workers, each its own session");
    let boss_client = connect(&hosts, session_timeout).await?;
    let deputy_client = connect(&hosts, session_timeout).await?;
    let scope = TaskScope::new(&deputy_client, &path);
    let boss = TaskScope::new(&boss_client, &path).master("boss");
    let deputy = scope.master("deputy");
    let mut boss_events = std::pin::pin!(boss.events());
    let mut deputy_events = std::pin::pin!(deputy.events());
    boss.start().map_err(|e| e.to_string())?;
    let elected = within(
        "the boss's election",
        next_event(&mut boss_events, |e| {
            matches!(e, MasterEvent::Elected { .. })
        }),
    )
    .await?;
    let Some(MasterEvent::Elected { token: boss_token }) = elected else {
        return Err("the boss's events ended".to_owned());
    };
    deputy.start().map_err(|e| e.to_string())?;
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let mut worker_clients = BTreeMap::new();
    for name in ["w1", "w2", "w3"] {
        let client = connect(&hosts, session_timeout).await?;
        worker_clients.insert(name, client.clone());
        spawn_worker(client, &path, name, reports_tx.clone());
    }
    drop(reports_tx);
    let now = within(
        "three workers registering",
        until(&scope, |s| s.workers.len() == 3),
    )
    .await??;
    expect(
        now.master.as_deref() == Some("boss"),
        format!("the boss leads (fencing token {boss_token:#x}); the deputy waits in line"),
        tl,
    )?;
    expect(
        now.workers
            .keys()
            .map(String::as_str)
            .eq(["w1", "w2", "w3"]),
        "three workers registered: w1, w2, w3".to_owned(),
        tl,
    )?;

    tl.section("jobs (each worker takes one at a time)");
    for job in 1..=JOBS {
        let task = NewTask::new(format!("job {job}")).meta("job", job.to_string());
        scope.submit(&task).await.map_err(|e| e.to_string())?;
    }
    tl.step(format!(
        "submitted {JOBS} jobs; the boss gives each to a worker in one fenced transaction"
    ));
    let mut log = Log::default();
    within(
        "the first jobs",
        log.until(tl, &mut reports, |l| l.done.len() >= 3),
    )
    .await??;

    tl.section("the boss's process dies");
    let killed = Instant::now();
    kill_session(&boss_client).await?;
    tl.step("closed the boss's session from the server's side, as when its process is killed");
    let took_over = within(
        "the deputy's election",
        next_event(&mut deputy_events, |e| {
            matches!(e, MasterEvent::Elected { .. })
        }),
    )
    .await?;
    let Some(MasterEvent::Elected { token }) = took_over else {
        return Err("the deputy's events ended".to_owned());
    };
    expect(
        token > boss_token,
        format!(
            "the deputy took over in {} ms, with a larger fencing token ({token:#x}): the old boss can move nothing",
            killed.elapsed().as_millis()
        ),
        tl,
    )?;

    tl.section("a worker dies with a job in hand");
    let job = within(
        "w2 starting a job",
        log.until_started(tl, &mut reports, "w2"),
    )
    .await??;
    let w2 = worker_clients.get("w2").ok_or("no w2")?;
    kill_session(w2).await?;
    tl.step(format!("closed w2's session while it works on job {job}"));
    let recovered = within(
        "the recovery of w2's job",
        next_event(&mut deputy_events, |e| {
            matches!(e, MasterEvent::Recovered { .. })
        }),
    )
    .await?;
    let moved = match recovered {
        Some(MasterEvent::Recovered { task, .. }) => job_of(&task),
        _ => return Err("the deputy's events ended".to_owned()),
    };
    expect(
        moved == job,
        format!(
            "the boss moved job {job} of the dead w2 back to the pool, in one fenced transaction"
        ),
        tl,
    )?;
    within(
        "the job's second run",
        log.until(tl, &mut reports, |l| {
            l.runs.get(&job).is_some_and(|runs| runs.len() >= 2)
        }),
    )
    .await??;
    let second = &log.runs[&job][1];
    expect(
        second.1 != "w2" && second.2 == 2,
        format!(
            "job {job} runs again on {}, told it is attempt {}",
            second.1, second.2
        ),
        tl,
    )?;

    tl.section("a server dies");
    let survivors: Vec<(&str, i64)> = [("deputy", &deputy_client), ("w1", &worker_clients["w1"])]
        .into_iter()
        .chain([("w3", &worker_clients["w3"])])
        .map(|(name, c)| (name, c.session_id()))
        .collect();
    servers.take_down_leader(tl).await?;
    within(
        "the remaining jobs",
        log.until(tl, &mut reports, |l| l.done.len() >= JOBS),
    )
    .await??;
    let same = survivors.iter().all(|(name, id)| {
        let client = match *name {
            "deputy" => &deputy_client,
            other => &worker_clients[other],
        };
        client.session_id() == *id && client.state().is_connected()
    });
    expect(
        same,
        "the deputy's and the live workers' sessions went on through the failover, unchanged"
            .to_owned(),
        tl,
    )?;

    tl.section("the outcome");
    let now = scope.snapshot().await.map_err(|e| e.to_string())?;
    let mut done_per_job: BTreeMap<String, usize> = BTreeMap::new();
    for task in &now.done {
        *done_per_job.entry(job_of(task)).or_default() += 1;
    }
    expect(
        done_per_job.len() == JOBS && done_per_job.values().all(|n| *n == 1),
        format!("all {JOBS} jobs are done, each exactly once (one result node per job)"),
        tl,
    )?;
    expect(
        now.pending.is_empty() && now.assigned.values().all(Vec::is_empty),
        "nothing is left waiting or assigned".to_owned(),
        tl,
    )?;
    let reruns: Vec<&String> = log
        .runs
        .iter()
        .filter(|(_, r)| r.len() > 1)
        .map(|(j, _)| j)
        .collect();
    expect(
        reruns == [&job],
        format!(
            "{} runs for {JOBS} jobs: only job {job}, whose worker died, ran twice",
            log.runs.values().map(Vec::len).sum::<usize>()
        ),
        tl,
    )?;
    let _ = deputy.close().await;
    drop(boss);
    for client in worker_clients
        .values()
        .chain([&deputy_client, &boss_client])
    {
        client.clone().close().await;
    }
    Ok(())
}

/// Reads `scope` until `done` accepts it.
async fn until(scope: &TaskScope, done: impl Fn(&Snapshot) -> bool) -> Step<Snapshot> {
    loop {
        let now = scope.snapshot().await.map_err(|e| e.to_string())?;
        if done(&now) {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the workers reported.
#[derive(Debug, Default)]
struct Log {
    /// Job → its runs: (job, worker, attempt).
    runs: BTreeMap<String, Vec<(String, &'static str, u32)>>,
    /// Jobs done, with who did them.
    done: BTreeMap<String, &'static str>,
}

impl Log {
    /// Records one report and prints it.
    fn record(&mut self, tl: &Timeline, report: Report) {
        match report {
            Report::Started {
                job,
                worker,
                attempt,
            } => {
                if attempt > 1 {
                    tl.step(format!("{worker} starts job {job} (attempt {attempt})"));
                }
                self.runs
                    .entry(job.clone())
                    .or_default()
                    .push((job, worker, attempt));
            }
            Report::Done { job, worker } => {
                tl.step(format!("{worker} did job {job}"));
                self.done.insert(job, worker);
            }
        }
    }

    /// Records reports until `done` accepts the log.
    async fn until(
        &mut self,
        tl: &Timeline,
        reports: &mut mpsc::UnboundedReceiver<Report>,
        done: impl Fn(&Self) -> bool,
    ) -> Step {
        while !done(self) {
            let report = reports.recv().await.ok_or("the workers stopped")?;
            self.record(tl, report);
        }
        Ok(())
    }

    /// Records reports until `worker` starts a job; that job.
    async fn until_started(
        &mut self,
        tl: &Timeline,
        reports: &mut mpsc::UnboundedReceiver<Report>,
        worker: &str,
    ) -> Step<String> {
        loop {
            let report = reports.recv().await.ok_or("the workers stopped")?;
            let job = match &report {
                Report::Started { job, worker: w, .. } if *w == worker => Some(job.clone()),
                _ => None,
            };
            self.record(tl, report);
            if let Some(job) = job {
                return Ok(job);
            }
        }
    }
}
