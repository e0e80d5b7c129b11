//! Boss and workers, as distributed-process-zookeeper's example has them: with no job
//! arguments a process is a boss candidate and a worker; with jobs as arguments it is a
//! requestor that finds the boss, sends it the jobs and prints their results. The boss
//! delegates each job to a worker and says so; stop the boss and another candidate becomes
//! the boss, and delegates and works in turn.
//!
//! ```sh
//! # A local server first (its connect string goes to ZK_SERVER, which the example reads):
//! export ZK_SERVER=$(zk server start)
//! # Then, in two or three terminals:
//! cargo run -p zk-recipes --example boss
//! # And in another, as often as you like:
//! cargo run -p zk-recipes --example boss -- "paint the fence" "wash the car"
//! ```
//!
//! Options: `--server HOST:PORT` (default `ZK_SERVER`, else `127.0.0.1:2181`), `--scope
//! PATH` (default `/boss`), `--for SECONDS` (a candidate leaves after that long; by
//! default it runs until Ctrl-C).

use std::time::Duration;

use futures::StreamExt;
use zk_client::Client;
use zk_recipes::tasks::{MasterEvent, NewTask, TaskScope, metadata_of};

/// The command line.
struct Args {
    server: String,
    scope: String,
    run_for: Option<Duration>,
    jobs: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        server: std::env::var("ZK_SERVER").unwrap_or_else(|_| "127.0.0.1:2181".to_owned()),
        scope: "/boss".to_owned(),
        run_for: None,
        jobs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--server" => args.server = it.next().ok_or("--server needs HOST:PORT")?,
            "--scope" => args.scope = it.next().ok_or("--scope needs a path")?,
            "--for" => {
                let secs: f64 = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--for needs a number of seconds")?;
                args.run_for = Some(Duration::from_secs_f64(secs));
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag:?}")),
            job => args.jobs.push(job.to_owned()),
        }
    }
    Ok(args)
}

/// A boss candidate and a worker, until Ctrl-C or `run_for`.
async fn candidate(scope: &TaskScope, run_for: Option<Duration>) -> zk_recipes::Result<()> {
    let me = format!("pid {}", std::process::id());
    let master = scope.master(&me);
    let mut events = std::pin::pin!(master.events());
    master.start()?;
    let mut worker = scope.worker(&me).start().await?;
    println!("{me}: a boss candidate and a worker");
    let stop = async {
        match run_for {
            Some(run_for) => tokio::time::sleep(run_for).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some(event) = events.next() => match event {
                MasterEvent::Elected { .. } => println!("{me}: I am the boss"),
                MasterEvent::Assigned { task, worker } => {
                    println!("{me}: the boss gives {} to {worker}", job_of(&task));
                }
                MasterEvent::Recovered { task, worker } => {
                    println!("{me}: {worker} is gone; {} goes to someone else", job_of(&task));
                }
                MasterEvent::Deposed { reason } => println!("{me}: no longer the boss: {reason}"),
                _ => {}
            },
            Some(task) = worker.next() => {
                let task = task?;
                let job = job_of(task.name());
                println!("{me}: working on {job}");
                tokio::time::sleep(Duration::from_millis(300)).await;
                task.complete(format!("{job}: done by {me}").as_bytes()).await?;
            }
        }
    }
    worker.close().await?;
    master.close().await?;
    println!("{me}: left");
    Ok(())
}

/// The job a task carries in its metadata.
fn job_of(task: &str) -> String {
    metadata_of(task)
        .into_iter()
        .find(|(key, _)| key == "job")
        .map_or_else(|| task.to_owned(), |(_, job)| job)
}

/// Sends `jobs` to the boss and prints each result.
async fn request(scope: &TaskScope, jobs: &[String]) -> zk_recipes::Result<()> {
    let now = scope.snapshot().await?;
    match &now.master {
        Some(boss) => println!("the boss is {boss}"),
        None => println!("there is no boss yet; the jobs wait for one"),
    }
    let request = uuid::Uuid::new_v4().simple().to_string();
    for job in jobs {
        scope
            .submit(&NewTask::new(job).meta("job", job).meta("request", &request))
            .await?;
    }
    let mut left: Vec<&String> = jobs.iter().collect();
    while !left.is_empty() {
        for task in scope.snapshot().await?.done {
            let metadata = metadata_of(&task);
            let mine = metadata
                .iter()
                .any(|(k, v)| k == "request" && *v == request);
            let job = job_of(&task);
            if let Some(at) = left.iter().position(|j| **j == job).filter(|_| mine) {
                left.remove(at);
                if let Some(result) = scope.result(&task).await? {
                    println!("{}", String::from_utf8_lossy(&result));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args().map_err(|e| {
        format!("{e}\nusage: boss [--server HOST:PORT] [--scope PATH] [--for SECONDS] [JOB...]")
    })?;
    let client = Client::builder()
        .session_timeout(Duration::from_secs(6))
        .connect(&args.server)
        .await?;
    let scope = TaskScope::new(&client, &args.scope);
    if args.jobs.is_empty() {
        candidate(&scope, args.run_for).await?;
    } else {
        tokio::time::timeout(Duration::from_secs(60), request(&scope, &args.jobs))
            .await
            .map_err(|_| "no result within 60 s")??;
    }
    client.close().await;
    Ok(())
}
