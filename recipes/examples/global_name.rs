//! A global name: every process that runs this registers as a candidate for one name;
//! exactly one holds it at a time, and when it stops, the next in line takes over within
//! the session timeout. `--whereis` prints the current holder instead.
//!
//! ```sh
//! # A local server first (its connect string goes to ZK_SERVER, which the example reads):
//! export ZK_SERVER=$(zk server start)
//! # In three terminals:
//! cargo run -p zk-recipes --example global_name
//! # In a fourth:
//! cargo run -p zk-recipes --example global_name -- --whereis
//! ```
//!
//! Options: `--server HOST:PORT` (default `ZK_SERVER`, else `127.0.0.1:2181`), `--name
//! NAME` (default `billing`), `--whereis`, and `--for SECONDS`, which makes a candidate
//! leave after that long (for scripts; by default it runs until Ctrl-C).

use std::time::Duration;

use zk_client::Client;
use zk_recipes::election::NameRegistry;

/// The command line.
struct Args {
    server: String,
    name: String,
    whereis: bool,
    run_for: Option<Duration>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        server: std::env::var("ZK_SERVER").unwrap_or_else(|_| "127.0.0.1:2181".to_owned()),
        name: "billing".to_owned(),
        whereis: false,
        run_for: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--whereis" => args.whereis = true,
            "--server" => args.server = it.next().ok_or("--server needs HOST:PORT")?,
            "--name" => args.name = it.next().ok_or("--name needs a name")?,
            "--for" => {
                let secs: f64 = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--for needs a number of seconds")?;
                args.run_for = Some(Duration::from_secs_f64(secs));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args().map_err(|e| {
        format!(
            "{e}\nusage: global_name [--server HOST:PORT] [--name NAME] [--whereis] [--for SECONDS]"
        )
    })?;
    let client = Client::builder()
        .session_timeout(Duration::from_secs(6))
        .connect(&args.server)
        .await?;
    let names = NameRegistry::new(&client, "/global-names");

    if args.whereis {
        match names.whereis(&args.name).await? {
            Some(holder) => println!(
                "{} is held by {}",
                args.name,
                String::from_utf8_lossy(&holder)
            ),
            None => println!("nobody holds {}", args.name),
        }
        client.close().await;
        return Ok(());
    }

    let me = format!("pid {}", std::process::id());
    println!("{me}: candidate for {}", args.name);
    let name = args.name.clone();
    let who = me.clone();
    let candidate = names.register_candidate(&args.name, me.clone(), move |term| {
        let (name, who) = (name.clone(), who.clone());
        async move {
            println!("{who}: I hold {name} (term {})", term.fencing_token());
            // The work of the name's holder; cancelled if the name is lost.
            std::future::pending::<()>().await;
        }
    })?;
    match args.run_for {
        Some(run_for) => tokio::time::sleep(run_for).await,
        None => tokio::signal::ctrl_c().await?,
    }
    candidate.close().await?;
    println!("{me}: left");
    client.close().await;
    Ok(())
}
