//! ZooChestrator's cats: in the scope `/cats`, a master hands tasks round-robin to three
//! workers; each task feeds a cat and creates its follow-up task, with the feeding count
//! in the task's metadata one higher, in the same transaction as its completion. It ends
//! when every cat was fed `--rounds` times, and says who fed whom.
//!
//! ```sh
//! # A local server first (its connect string goes to ZK_SERVER, which the example reads):
//! export ZK_SERVER=$(zk server start)
//! cargo run -p zk-recipes --example cats
//! ```
//!
//! Options: `--server HOST:PORT` (default `ZK_SERVER`, else `127.0.0.1:2181`), `--scope
//! PATH` (default `/cats`), `--rounds N` (default 3).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use zk_client::Client;
use zk_recipes::tasks::{NewTask, RoundRobin, TaskScope};

const CATS: [&str; 3] = ["Tom", "Felix", "Garfield"];

/// The command line.
struct Args {
    server: String,
    scope: String,
    rounds: u32,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        server: std::env::var("ZK_SERVER").unwrap_or_else(|_| "127.0.0.1:2181".to_owned()),
        scope: "/cats".to_owned(),
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--server" => args.server = it.next().ok_or("--server needs HOST:PORT")?,
            "--scope" => args.scope = it.next().ok_or("--scope needs a path")?,
            "--rounds" => {
                args.rounds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--rounds needs a positive number")?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// The value of `key` in a task's metadata.
fn meta<'a>(metadata: &'a [(String, String)], key: &str) -> Option<&'a str> {
    metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args().map_err(|e| {
        format!("{e}\nusage: cats [--server HOST:PORT] [--scope PATH] [--rounds N]")
    })?;
    let connect = || Client::connect(&args.server);
    let boss = connect().await?;
    let scope = TaskScope::new(&boss, &args.scope);
    let master = scope.master("boss").strategy(RoundRobin::default());
    master.start()?;

    // Three workers, each on its own session, reporting each feeding.
    let (fed_tx, mut fed) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for id in ["w1", "w2", "w3"] {
        let client = connect().await?;
        let mut worker = TaskScope::new(&client, &args.scope)
            .worker(id)
            .start()
            .await?;
        let (fed_tx, rounds) = (fed_tx.clone(), args.rounds);
        workers.push(tokio::spawn(async move {
            while let Some(task) = worker.next().await {
                let task = task?;
                let metadata = task.metadata();
                let cat = meta(&metadata, "cat").unwrap_or("a stray").to_owned();
                let count: u32 = meta(&metadata, "count")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                println!("{id} feeds {cat} (feeding {count})");
                let fed = format!("{cat} fed by {id}");
                if count < rounds {
                    let next = NewTask::new(b"feed")
                        .meta("cat", cat.clone())
                        .meta("count", (count + 1).to_string());
                    task.complete_and_create(fed.as_bytes(), &next).await?;
                } else {
                    task.complete(fed.as_bytes()).await?;
                }
                let _ = fed_tx.send((cat, id, count));
            }
            drop(client);
            Ok::<(), zk_recipes::Error>(())
        }));
    }
    drop(fed_tx);

    for cat in CATS {
        scope
            .submit(&NewTask::new(b"feed").meta("cat", cat).meta("count", "1"))
            .await?;
    }
    let mut feeders: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let all = CATS.len() * args.rounds as usize;
    while feeders.values().map(Vec::len).sum::<usize>() < all {
        let Some((cat, id, _)) = tokio::time::timeout(Duration::from_secs(30), fed.recv()).await?
        else {
            return Err("the workers stopped".into());
        };
        feeders.entry(cat).or_default().push(id);
    }
    for (cat, by) in &feeders {
        println!("{cat} was fed {} times, by {}", by.len(), by.join(", "));
    }
    let now = scope.snapshot().await?;
    println!(
        "{} tasks done, {} waiting, master {}",
        now.done.len(),
        now.pending.len(),
        now.master.as_deref().unwrap_or("none")
    );
    for worker in workers {
        worker.abort();
    }
    master.close().await?;
    boss.close().await;
    Ok(())
}
