//! A status board: each server process publishes its status under `/status/<host>` as an
//! ephemeral node; a monitor keeps a [`TreeCache`] of `/status` and prints a line whenever
//! a server starts, changes from running to stopped, or disappears.
//!
//! ```sh
//! # A local server first (its connect string goes to ZK_SERVER, which the example reads):
//! export ZK_SERVER=$(zk server start)
//! # Then, in one terminal:
//! cargo run -p zk-recipes --example status_board -- monitor
//! # and in others:
//! cargo run -p zk-recipes --example status_board -- serve web-1
//! cargo run -p zk-recipes --example status_board -- serve web-2 --stop-after 5
//! ```
//!
//! Options: `--server HOST:PORT` (default `ZK_SERVER`, else `127.0.0.1:2181`); for
//! `serve`, `--stop-after SECONDS` (the status becomes `stopped`) and `--for SECONDS` (the
//! process ends, and its node goes with its session); for `monitor`, `--for SECONDS`. By
//! default both run until Ctrl-C.

use std::time::Duration;

use futures::StreamExt as _;
use zk_client::{Client, CreateMode, CreateOptions};
use zk_recipes::cache::{CacheEvent, TreeCache};

const BOARD: &str = "/status";

/// The command line.
struct Args {
    server: String,
    role: Role,
    stop_after: Option<Duration>,
    run_for: Option<Duration>,
}

enum Role {
    Serve(String),
    Monitor,
}

fn seconds(value: Option<String>, flag: &str) -> Result<Duration, String> {
    value
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} needs a number of seconds"))
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut server = std::env::var("ZK_SERVER").unwrap_or_else(|_| "127.0.0.1:2181".to_owned());
    let mut role = None;
    let (mut stop_after, mut run_for) = (None, None);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--server" => server = it.next().ok_or("--server needs HOST:PORT")?,
            "--stop-after" => stop_after = Some(seconds(it.next(), "--stop-after")?),
            "--for" => run_for = Some(seconds(it.next(), "--for")?),
            "monitor" => role = Some(Role::Monitor),
            "serve" => role = Some(Role::Serve(it.next().ok_or("serve needs a host name")?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let role = role.ok_or("say `serve HOST` or `monitor`")?;
    Ok(Args {
        server,
        role,
        stop_after,
        run_for,
    })
}

/// Until `run_for` has passed, or Ctrl-C.
async fn until_done(run_for: Option<Duration>) {
    match run_for {
        Some(run_for) => tokio::time::sleep(run_for).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Publishes `/status/<host>`: `running`, then `stopped` after `stop_after`.
async fn serve(client: &Client, host: &str, args: &Args) -> zk_recipes::Result<()> {
    client
        .create_all(BOARD, b"", &CreateOptions::persistent())
        .await?;
    let node = format!("{BOARD}/{host}");
    let ephemeral = CreateOptions::new(CreateMode::Ephemeral);
    client.create(&node, b"running", &ephemeral).await?;
    println!("{host}: running");
    let publish = async {
        if let Some(stop_after) = args.stop_after {
            tokio::time::sleep(stop_after).await;
            client.set_data(&node, b"stopped", None).await?;
            println!("{host}: stopped");
        }
        std::future::pending::<zk_recipes::Result<()>>().await
    };
    tokio::select! {
        published = publish => published,
        () = until_done(args.run_for) => Ok(()),
    }
}

/// Prints the board's changes.
async fn monitor(client: &Client, args: &Args) -> zk_recipes::Result<()> {
    let mut board = TreeCache::builder(client, BOARD).max_depth(1).start()?;
    let host = |path: &str| path.rsplit('/').next().unwrap_or_default().to_owned();
    let status = |data: &Option<bytes::Bytes>| {
        String::from_utf8_lossy(data.as_deref().unwrap_or_default()).into_owned()
    };
    let follow = async {
        while let Some(event) = board.next().await {
            match event {
                CacheEvent::Added(n) if &*n.path != BOARD => {
                    println!("{} is {}", host(&n.path), status(&n.data));
                }
                CacheEvent::Updated { old, new } if &*new.path != BOARD => {
                    let (was, now) = (status(&old.data), status(&new.data));
                    if was != now {
                        println!("{} changed from {was} to {now}", host(&new.path));
                    }
                }
                CacheEvent::Removed(n) if &*n.path != BOARD => {
                    println!("{} disappeared", host(&n.path));
                }
                CacheEvent::Initialized => println!("watching {BOARD}"),
                CacheEvent::Connection(state) => println!("connection: {state:?}"),
                _ => {}
            }
        }
    };
    tokio::select! {
        () = follow => {}
        () = until_done(args.run_for) => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args().map_err(|e| {
        format!(
            "{e}\nusage: status_board [--server HOST:PORT] (serve HOST [--stop-after S] | monitor) [--for S]"
        )
    })?;
    let client = Client::builder()
        .session_timeout(Duration::from_secs(6))
        .connect(&args.server)
        .await?;
    match &args.role {
        Role::Serve(host) => serve(&client, host, &args).await?,
        Role::Monitor => monitor(&client, &args).await?,
    }
    client.close().await;
    Ok(())
}
