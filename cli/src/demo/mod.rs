//! `zk demo`: guided, self-checking stories on a real ensemble.
//!
//! - `zk demo` (the boss and workers): a boss, its deputy and three workers share jobs
//!   through a `zk_recipes::tasks` scope; the boss's process dies and the deputy takes
//!   over, a worker dies with a job in hand and the job runs elsewhere, a server dies and
//!   the sessions fail over; every job is done exactly once.
//! - `zk demo session` (the client tour): a session's nodes and watches, and a failover
//!   of the session to another server with its watches intact.
//!
//! Every claim on the timeline is checked; a failed check ends the demo with exit code 1.
//! Every wait is bounded. Without `--server` the demo starts a local 3-server ensemble
//! through zk-testkit and kills servers with SIGKILL. With `--server` it runs against an
//! existing ensemble, whose servers it must not kill: the session tour then reaches each
//! server through a local relay and cuts that relay instead. Either way it removes what
//! it created.

mod boss;
mod relay;
mod servers;
mod session;
mod steps;
mod timeline;

use std::time::Duration;

use zk_client::Client;

use self::servers::Servers;
use self::steps::{DEFAULT_SESSION_TIMEOUT, REQUEST_DEADLINE, Step, zk};
use self::timeline::Timeline;
use crate::cli::{DemoArgs, DemoStory};
use crate::error::{CliError, Result};

/// The longest the clean-up may take.
const CLEANUP_DEADLINE: Duration = Duration::from_secs(20);

/// How the demo was asked to run.
#[derive(Debug)]
pub(crate) struct Options {
    /// `--server` given on the command line: an existing ensemble.
    pub(crate) server: Option<String>,
    /// `--timeout` given on the command line: the session timeout.
    pub(crate) timeout: Option<Duration>,
    /// `--json`: the timeline as JSON lines.
    pub(crate) json: bool,
}

/// Runs the demo.
pub(crate) async fn run(args: DemoArgs, options: Options) -> Result<()> {
    let tl = Timeline::new(options.json);
    let session_timeout = options.timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT);
    let story = args.story.unwrap_or(DemoStory::Boss);
    tl.step(match story {
        DemoStory::Boss => {
            "zk demo: a boss and three workers share jobs through ZooKeeper; the boss, a \
             worker and a server die, and every job is still done exactly once (every ✓ \
             is checked, not just printed; `zk demo session` tours the client instead)"
        }
        DemoStory::Session => {
            "zk demo session: a session, its nodes and watches, and a failover to another \
             server (every ✓ is checked, not just printed)"
        }
    });
    tl.section("the ensemble");
    let servers = match &options.server {
        Some(hosts) => Servers::existing(&tl, hosts).await,
        None => Servers::local(&tl).await,
    };
    let servers = servers.map_err(|e| {
        tl.fail(&e);
        CliError::msg(format!("the demo failed: {e}"))
    })?;
    let base = format!("/zk-demo-{}", std::process::id());
    let outcome = tokio::select! {
        outcome = async {
            match story {
                DemoStory::Boss => boss::story(&tl, &servers, &base, session_timeout).await,
                DemoStory::Session => session::tour(&tl, &servers, &base, session_timeout).await,
            }
        } => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
    };
    if let Err(e) = &outcome {
        tl.fail(e);
    }
    tl.section("clean-up");
    let cleaned = clean_up(&tl, &servers, &base).await;
    if let Servers::Local(ensemble) = servers {
        drop(ensemble);
        tl.step("stopped the local ensemble: its servers and their data are gone");
    }
    match (outcome, cleaned) {
        (Ok(()), Ok(())) => {
            tl.step("demo complete: every step was checked");
            Ok(())
        }
        (Err(e), _) | (Ok(()), Err(e)) => Err(CliError::msg(format!("the demo failed: {e}"))),
    }
}

/// Removes the demo's nodes with a fresh session.
async fn clean_up(tl: &Timeline, servers: &Servers, base: &str) -> Step {
    let hosts = servers.all_hosts();
    let attempt = async {
        let client = Client::builder()
            .session_timeout(DEFAULT_SESSION_TIMEOUT)
            .request_timeout(REQUEST_DEADLINE)
            .connect(&hosts)
            .await?;
        let removed = client.delete_all(base).await;
        let left = client.exists(base).await;
        client.close().await;
        removed?;
        Ok::<_, zk_client::Error>(left?.is_none())
    };
    match tokio::time::timeout(CLEANUP_DEADLINE, attempt).await {
        Ok(Ok(true)) => {
            tl.step(format!("removed {base}: the demo left nothing behind"));
            Ok(())
        }
        Ok(Ok(false)) => fail_cleanup(tl, base, "it is still there".to_owned()),
        Ok(Err(e)) => fail_cleanup(tl, base, zk(e)),
        Err(_) => fail_cleanup(tl, base, "timed out".to_owned()),
    }
}

fn fail_cleanup(tl: &Timeline, base: &str, why: String) -> Step {
    let message = format!("could not remove {base}: {why}");
    tl.fail(&message);
    Err(message)
}
