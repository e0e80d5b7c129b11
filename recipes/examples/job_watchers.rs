//! Distributed job watchers: executors run jobs, watchers follow them, and a submitter
//! hands jobs in. Members register under `<base>/executors` and `<base>/watchers`; jobs
//! wait in a queue (`<base>/queue`) and report their progress in their own node
//! (`<base>/jobs/<job>`); the watchers share the jobs fairly with a `Partitioner`, which
//! locks each job its watcher follows, and share them again whenever a watcher or a job
//! comes or goes.
//!
//! ```sh
//! # A local server first (its connect string goes to ZK_SERVER, which the example reads):
//! export ZK_SERVER=$(zk server start)
//! # Then, in separate terminals:
//! cargo run -p zk-recipes --example job_watchers -- executor e1
//! cargo run -p zk-recipes --example job_watchers -- watcher ann
//! cargo run -p zk-recipes --example job_watchers -- watcher bob
//! cargo run -p zk-recipes --example job_watchers -- submit build test deploy
//! ```
//!
//! Options (before the role): `--server HOST:PORT` (default `ZK_SERVER`, else
//! `127.0.0.1:2181`), `--base PATH` (default `/job-watchers`), `--for SECONDS` (an
//! executor or watcher leaves after that long; by default it runs until Ctrl-C).

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, CreateOptions, Error as ZkError};
use zk_recipes::membership::GroupMember;
use zk_recipes::partition::{PartitionState, Partitioner};
use zk_recipes::queue::SimpleDistributedQueue;

/// The command line.
struct Args {
    server: String,
    base: String,
    run_for: Option<Duration>,
    role: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        server: std::env::var("ZK_SERVER").unwrap_or_else(|_| "127.0.0.1:2181".to_owned()),
        base: "/job-watchers".to_owned(),
        run_for: None,
        role: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--server" => args.server = it.next().ok_or("--server needs HOST:PORT")?,
            "--base" => args.base = it.next().ok_or("--base needs a path")?,
            "--for" => {
                let secs: f64 = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--for needs a number of seconds")?;
                args.run_for = Some(Duration::from_secs_f64(secs));
            }
            other => args.role.push(other.to_owned()),
        }
    }
    if args.role.len() < 2 {
        return Err("say the role: executor ID, watcher ID, or submit JOB...".to_owned());
    }
    Ok(args)
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Until Ctrl-C or `run_for`.
async fn stopped(run_for: Option<Duration>) {
    match run_for {
        Some(run_for) => tokio::time::sleep(run_for).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Hands `jobs` in: a node each, then a place in the queue.
async fn submit(client: &Client, base: &str, jobs: &[String]) -> Result<(), Failure> {
    let queue = SimpleDistributedQueue::new(client, &format!("{base}/queue"));
    for job in jobs {
        let node = format!("{base}/jobs/{job}");
        loop {
            match client
                .create(&node, b"queued", &CreateOptions::persistent())
                .await
            {
                Ok(_) => break,
                Err(ZkError::NoNode(_)) => {
                    for path in [base.to_owned(), format!("{base}/jobs")] {
                        match client
                            .create(&path, b"", &CreateOptions::persistent())
                            .await
                        {
                            Ok(_) | Err(ZkError::NodeExists(_)) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                Err(e) => return Err(format!("{job}: {e}").into()),
            }
        }
        queue.offer(job.as_bytes()).await?;
        println!("submitted {job}");
    }
    Ok(())
}

/// Runs queued jobs one at a time, writing their progress, until stopped.
async fn execute(
    client: &Client,
    base: &str,
    id: &str,
    run_for: Option<Duration>,
) -> Result<(), Failure> {
    let member = GroupMember::new(client, &format!("{base}/executors"), id);
    member.start()?;
    let queue = SimpleDistributedQueue::new(client, &format!("{base}/queue"));
    println!("executor {id}: ready");
    let work = async {
        loop {
            let claimed = queue.claim().await?;
            let job = String::from_utf8_lossy(claimed.data()).into_owned();
            let node = format!("{base}/jobs/{job}");
            for percent in [25, 50, 75] {
                let progress = format!("running on {id}: {percent}%");
                client.set_data(&node, progress.as_bytes(), None).await?;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            client
                .set_data(&node, format!("done by {id}").as_bytes(), None)
                .await?;
            claimed.ack().await?;
            println!("executor {id}: ran {job}");
        }
    };
    let outcome: Result<(), Failure> = tokio::select! {
        r = work => r,
        () = stopped(run_for) => Ok(()),
    };
    member.close().await?;
    println!("executor {id}: left");
    outcome
}

/// Follows the jobs of its share, printing each change of their progress, until stopped.
async fn watch(
    client: &Client,
    base: &str,
    id: &str,
    run_for: Option<Duration>,
) -> Result<(), Failure> {
    let member = GroupMember::new(client, &format!("{base}/watchers"), id);
    member.start()?;
    let jobs_path = format!("{base}/jobs");
    let partitioner =
        Partitioner::new(client, &format!("{base}/partition"), Vec::<String>::new()).identifier(id);
    partitioner.start()?;
    println!("watcher {id}: ready");
    let mut states = partitioner.assignments();
    let mut following: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut stop = std::pin::pin!(stopped(run_for));
    loop {
        // The jobs as they are now, and a watch for the next change.
        let changed = match client.get_children_and_watch(&jobs_path).await {
            Ok((jobs, _, changed)) => {
                partitioner.set_items(jobs)?;
                Some(changed)
            }
            Err(ZkError::NoNode(_)) => client
                .exists_and_watch(&jobs_path)
                .await
                .ok()
                .map(|(_, w)| w),
            Err(e) => return Err(e.into()),
        };
        let jobs_changed = async {
            match changed {
                Some(changed) => {
                    let _ = changed.await;
                }
                None => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        };
        tokio::select! {
            () = &mut stop => break,
            () = jobs_changed => {}
            Some(state) = states.next() => match state {
                PartitionState::Acquired(jobs) if jobs.is_empty() => {
                    println!("watcher {id}: my share is empty");
                }
                PartitionState::Acquired(jobs) => {
                    println!("watcher {id}: my share is [{}], each job locked", jobs.join(", "));
                    for job in jobs {
                        let task = tokio::spawn(follow(client.clone(), jobs_path.clone(), id.to_owned(), job.clone()));
                        following.insert(job, task);
                    }
                }
                PartitionState::Release(_) | PartitionState::Lost { .. } => {
                    for (_, task) in following.drain() {
                        task.abort();
                    }
                }
                PartitionState::Failed(e) => return Err(e.into()),
                _ => {}
            },
        }
    }
    for (_, task) in following.drain() {
        task.abort();
    }
    partitioner.close().await?;
    member.close().await?;
    println!("watcher {id}: left");
    Ok(())
}

/// Prints each change of `job`'s progress, until it is done.
async fn follow(client: Client, jobs_path: String, id: String, job: String) {
    let node = format!("{jobs_path}/{job}");
    let mut last = None;
    loop {
        let Ok((data, _, changed)) = client.get_data_and_watch(&node).await else {
            return;
        };
        let progress = String::from_utf8_lossy(&data).into_owned();
        if last.as_ref() != Some(&progress) {
            println!("watcher {id}: {job} is {progress}");
        }
        if progress.starts_with("done") {
            return;
        }
        last = Some(progress);
        let _ = changed.await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args = args().map_err(|e| {
        format!(
            "{e}\nusage: job_watchers [--server HOST:PORT] [--base PATH] [--for SECONDS] \
             (executor ID | watcher ID | submit JOB...)"
        )
    })?;
    let client = Client::builder()
        .session_timeout(Duration::from_secs(6))
        .connect(&args.server)
        .await?;
    let (role, rest) = (args.role[0].as_str(), &args.role[1..]);
    let outcome = match role {
        "executor" => execute(&client, &args.base, &rest[0], args.run_for).await,
        "watcher" => watch(&client, &args.base, &rest[0], args.run_for).await,
        "submit" => submit(&client, &args.base, rest).await,
        other => Err(format!("unknown role {other:?}: executor, watcher or submit").into()),
    };
    client.close().await;
    outcome
}
