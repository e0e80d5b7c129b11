//! `zk demo`: a guided, self-checking tour of a session.
//!
//! It connects, creates persistent, ephemeral and sequential nodes, leaves a one-shot
//! and a persistent watch and makes them fire from a second session, takes away the
//! server the session is connected to, and checks that the client reconnects to another
//! server with the same session and that the watches still fire; then it closes the
//! session and sees its ephemeral node vanish. Every claim on the timeline is checked;
//! a failed check ends the demo with exit code 1. Every wait is bounded.
//!
//! Without `--server` it starts a local 3-server ensemble through zk-testkit and kills
//! a server with SIGKILL. With `--server` it runs against an existing ensemble, whose
//! servers it must not kill: its client then reaches each server through a local relay,
//! and "taking the server away" cuts that relay. Either way it removes what it created.

mod relay;
mod timeline;

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use zk_client::proto::hosts::{ConnectString, Host, Scheme};
use zk_client::{
    AddWatchMode, Client, CreateMode, CreateOptions, EventType, KeeperState, PersistentWatcher,
    SessionState, WatchedEvent,
};
use zk_testkit::{Ensemble, Mode};

use self::relay::Relay;
use self::timeline::Timeline;
use crate::cli::DemoArgs;
use crate::connect::human_duration;
use crate::error::{CliError, Result};

/// The session timeout unless `--timeout` says otherwise: short, so a failover is quick.
const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// The longest wait for a watch event.
const EVENT_WAIT: Duration = Duration::from_secs(10);
/// The deadline of every request (requests wait through a failover).
const REQUEST_DEADLINE: Duration = Duration::from_secs(20);
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

/// A failed step: what went wrong.
type Step<T = ()> = std::result::Result<T, String>;

/// Runs the demo.
pub(crate) async fn run(_args: DemoArgs, options: Options) -> Result<()> {
    let tl = Timeline::new(options.json);
    let session_timeout = options.timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT);
    tl.step(
        "zk demo: a session, its nodes and watches, and a failover to another server \
         (every ✓ is checked, not just printed)",
    );
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
        outcome = tour(&tl, &servers, &base, session_timeout) => outcome,
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

/// The ensemble the demo runs on.
enum Servers {
    /// Started by the demo; servers can be killed.
    Local(Box<Ensemble>),
    /// Given with `--server`; the demo's client goes through relays.
    Existing {
        /// One relay per server.
        relays: Vec<Relay>,
        /// The chroot of the connect string, or empty.
        chroot: String,
    },
}

impl Servers {
    async fn local(tl: &Timeline) -> Step<Self> {
        tl.step("starting a local 3-server ZooKeeper ensemble (zk-testkit: real servers on loopback ports)");
        let ensemble = Ensemble::start(3).await.map_err(|e| {
            format!(
                "starting the ensemble: {}",
                crate::error::one_line(&e.to_string())
            )
        })?;
        let mut roles = Vec::new();
        for id in ensemble.ids() {
            let addr = ensemble
                .client_addr(id)
                .map(|a| a.to_string())
                .unwrap_or_default();
            let mode = ensemble
                .mode(id)
                .await
                .map_or_else(|| "?".to_owned(), |m| m.to_string());
            roles.push(format!("server {id} {mode} at {addr}"));
        }
        tl.step(format!(
            "ensemble up in {:.1}s (ZooKeeper {}): {}",
            ensemble.started_in().as_secs_f64(),
            ensemble
                .server_version()
                .as_deref()
                .map_or_else(|| "?".to_owned(), crate::server::short_version),
            roles.join(", ")
        ));
        Ok(Self::Local(Box::new(ensemble)))
    }

    async fn existing(tl: &Timeline, hosts: &str) -> Step<Self> {
        let cs: ConnectString = hosts
            .parse()
            .map_err(|e| format!("invalid server list {hosts:?}: {e}"))?;
        if cs.hosts.iter().any(|h| h.scheme == Scheme::Tls) {
            return Err(
                "the demo speaks plain TCP only: give it the servers' plain client ports"
                    .to_owned(),
            );
        }
        let chroot = match cs.chroot.as_str() {
            "/" => String::new(),
            chroot => chroot.to_owned(),
        };
        let plain: Vec<String> = cs.hosts.iter().map(host_port).collect();
        if !chroot.is_empty() {
            check_chroot(&plain.join(","), &chroot).await?;
        }
        let mut relays = Vec::with_capacity(cs.hosts.len());
        for host in &cs.hosts {
            let target = host_port(host);
            let relay = Relay::start(target.clone())
                .await
                .map_err(|e| format!("starting a local relay to {target}: {e}"))?;
            relays.push(relay);
        }
        tl.step(format!(
            "using the ensemble at {hosts}; the demo's client reaches each server through a \
             local relay, so it can be cut off from one without touching the server"
        ));
        Ok(Self::Existing { relays, chroot })
    }

    /// The connect string of the demo's main session.
    fn client_hosts(&self) -> String {
        match self {
            Self::Local(ensemble) => ensemble.connect_string(),
            Self::Existing { relays, chroot } => {
                let hosts: Vec<String> = relays.iter().map(|r| r.addr.to_string()).collect();
                format!("{}{chroot}", hosts.join(","))
            }
        }
    }

    /// The connect string of the observer: every server but `except` (the main
    /// session's), so it is not disturbed when that one goes.
    fn observer_hosts(&self, except: &str) -> String {
        match self {
            Self::Local(ensemble) => {
                let hosts: Vec<String> = ensemble
                    .ids()
                    .into_iter()
                    .filter_map(|id| ensemble.client_addr(id))
                    .map(|a| a.to_string())
                    .filter(|a| a != except)
                    .collect();
                hosts.join(",")
            }
            Self::Existing { relays, chroot } => {
                let mut hosts: Vec<&str> = relays
                    .iter()
                    .filter(|r| r.addr.to_string() != except)
                    .map(|r| r.target.as_str())
                    .collect();
                if hosts.is_empty() {
                    hosts = relays.iter().map(|r| r.target.as_str()).collect();
                }
                format!("{}{chroot}", hosts.join(","))
            }
        }
    }

    /// Every server, for the clean-up.
    fn all_hosts(&self) -> String {
        match self {
            Self::Local(ensemble) => ensemble.connect_string(),
            Self::Existing { relays, chroot } => {
                let hosts: Vec<&str> = relays.iter().map(|r| r.target.as_str()).collect();
                format!("{}{chroot}", hosts.join(","))
            }
        }
    }

    fn can_fail_over(&self) -> bool {
        match self {
            Self::Local(_) => true,
            Self::Existing { relays, .. } => relays.len() > 1,
        }
    }

    fn local_id(ensemble: &Ensemble, addr: &str) -> Option<u8> {
        ensemble.ids().into_iter().find(|id| {
            ensemble
                .client_addr(*id)
                .is_some_and(|a| a.to_string() == addr)
        })
    }

    /// `server 2 (127.0.0.1:20002, leader)`, or the server behind a relay.
    async fn describe(&self, addr: &str) -> String {
        match self {
            Self::Local(ensemble) => match Self::local_id(ensemble, addr) {
                Some(id) => {
                    let mode = ensemble
                        .mode(id)
                        .await
                        .map_or_else(|| "?".to_owned(), |m| m.to_string());
                    format!("server {id} ({addr}, {mode})")
                }
                None => addr.to_owned(),
            },
            Self::Existing { relays, .. } => relays
                .iter()
                .find(|r| r.addr.to_string() == addr)
                .map_or_else(|| addr.to_owned(), |r| r.target.clone()),
        }
    }

    /// Takes the server at `addr` away from the main session; returns the id of a
    /// killed leader, so the new election can be shown.
    async fn take_down(&self, tl: &Timeline, addr: &str) -> Step<Option<u8>> {
        match self {
            Self::Local(ensemble) => {
                let id = Self::local_id(ensemble, addr)
                    .ok_or_else(|| format!("{addr} is not a server of the ensemble"))?;
                let leader = ensemble.mode(id).await == Some(Mode::Leader);
                let role = if leader { ", the leader" } else { "" };
                tl.step(format!(
                    "killing server {id} ({addr}{role}) with SIGKILL: the server this session is connected to"
                ));
                ensemble
                    .kill(id)
                    .map_err(|e| format!("killing server {id}: {e}"))?;
                Ok(leader.then_some(id))
            }
            Self::Existing { relays, .. } => {
                let relay = relays
                    .iter()
                    .find(|r| r.addr.to_string() == addr)
                    .ok_or_else(|| format!("{addr} is not one of the demo's relays"))?;
                tl.step(format!(
                    "cutting this session off {}: the relay drops its connection and refuses new ones",
                    relay.target
                ));
                relay.cut();
                Ok(None)
            }
        }
    }
}

/// A chroot must exist before clients can use it.
async fn check_chroot(hosts: &str, chroot: &str) -> Step {
    let client = connect(hosts, DEFAULT_SESSION_TIMEOUT).await?;
    let found = client.exists(chroot).await;
    client.close().await;
    match found.map_err(zk)? {
        Some(_) => Ok(()),
        None => Err(format!(
            "the chroot {chroot} does not exist (create it first: zk --server {hosts} create {chroot})"
        )),
    }
}

fn host_port(host: &Host) -> String {
    if host.host.contains(':') {
        format!("[{}]:{}", host.host, host.port)
    } else {
        format!("{}:{}", host.host, host.port)
    }
}

async fn connect(hosts: &str, session_timeout: Duration) -> Step<Client> {
    let client = Client::builder()
        .session_timeout(session_timeout)
        .request_timeout(REQUEST_DEADLINE)
        .connect(hosts)
        .await
        .map_err(|e| format!("connecting to {hosts}: {}", crate::error::describe(&e)))?;
    Ok(client)
}

/// Turns a client error into a step failure.
fn zk(e: zk_client::Error) -> String {
    crate::error::describe(&e)
}

/// The main session's walk through nodes, watches, failover and close.
async fn tour(tl: &Timeline, servers: &Servers, base: &str, session_timeout: Duration) -> Step {
    tl.section("a session and its nodes");
    let client = connect(&servers.client_hosts(), session_timeout).await?;
    let session = client.session_id();
    let first_server = client.connected_server().unwrap_or_default();
    tl.step(format!(
        "connected to {}: session {session:#x}, timeout {} (negotiated with the server)",
        servers.describe(&first_server).await,
        human_duration(client.session_timeout())
    ));

    // Nodes of each kind.
    let config = format!("{base}/config");
    let alive = format!("{base}/alive");
    let jobs = format!("{base}/jobs");
    let persistent = CreateOptions::persistent();
    client.create(base, b"", &persistent).await.map_err(zk)?;
    client
        .create(&config, b"v1", &persistent)
        .await
        .map_err(zk)?;
    tl.step(format!(
        "created {base} and {config} = \"v1\" (persistent: they stay until deleted)"
    ));
    let (_, stat) = client
        .create(&alive, b"", &CreateOptions::ephemeral())
        .await
        .map_err(zk)?;
    tl.step(format!(
        "created {alive} (ephemeral: it lives as long as the session)"
    ));
    expect(
        stat.ephemeral_owner == session,
        format!("its owner is session {session:#x}"),
        tl,
    )?;
    client.create(&jobs, b"", &persistent).await.map_err(zk)?;
    let (job, _) = client
        .create(
            &format!("{jobs}/job-"),
            b"build",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .map_err(zk)?;
    tl.step(format!(
        "created {jobs}/job- (sequential: the server appends a counter)"
    ));
    expect(
        is_sequential_name(&job, "job-"),
        format!("the server named it {job}"),
        tl,
    )?;

    // A second session makes the changes the first one watches.
    let observer = connect(&servers.observer_hosts(&first_server), session_timeout).await?;
    tl.step(format!(
        "a second session (the observer, {:#x}) connected to {}: it makes the changes",
        observer.session_id(),
        servers
            .describe(&observer.connected_server().unwrap_or_default())
            .await
    ));

    tl.section("watches");
    let (_, _, config_changed) = client.get_data_and_watch(&config).await.map_err(zk)?;
    tl.step(format!(
        "one-shot watch on {config} (zk get -w): fires once, at the next change"
    ));
    let mut job_events = client
        .watch(&jobs, AddWatchMode::PersistentRecursive)
        .await
        .map_err(zk)?;
    tl.step(format!(
        "persistent recursive watch on {jobs} (zk watch -R): fires for every change below it"
    ));
    let (_, alive_gone) = observer.exists_and_watch(&alive).await.map_err(zk)?;
    tl.step(format!("the observer watches {alive}, to see when it goes"));

    // Make them fire.
    observer.set_data(&config, b"v2", None).await.map_err(zk)?;
    tl.step(format!("observer: set {config} = \"v2\""));
    let event = oneshot(config_changed).await?;
    expect_event(
        &event,
        EventType::NodeDataChanged,
        &config,
        "one-shot watch fired",
        tl,
    )?;
    let (job2, _) = observer
        .create(
            &format!("{jobs}/job-"),
            b"test",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .map_err(zk)?;
    tl.step(format!("observer: created {job2}"));
    let event = next_node_event(&mut job_events).await?;
    expect_event(
        &event,
        EventType::NodeCreated,
        &job2,
        "persistent watch fired",
        tl,
    )?;
    observer.set_data(&job2, b"done", None).await.map_err(zk)?;
    tl.step(format!("observer: set {job2} = \"done\""));
    let event = next_node_event(&mut job_events).await?;
    expect_event(
        &event,
        EventType::NodeDataChanged,
        &job2,
        "persistent watch fired again (it stays armed)",
        tl,
    )?;
    let (_, _, config_changed) = client.get_data_and_watch(&config).await.map_err(zk)?;
    tl.step(format!(
        "one-shot watch on {config} set again (the first one is used up)"
    ));

    tl.section("failover");
    if servers.can_fail_over() {
        fail_over(
            tl,
            servers,
            &client,
            &observer,
            session_timeout,
            &first_server,
            &alive,
            config_changed,
            &mut job_events,
            &config,
            &jobs,
        )
        .await?;
    } else {
        tl.step("one server only: no other server to fail over to, so that part is skipped");
    }

    tl.section("closing the session");
    drop(job_events);
    tl.step(format!("closing session {session:#x}"));
    client.close().await;
    let event = oneshot(alive_gone).await?;
    expect_event(
        &event,
        EventType::NodeDeleted,
        &alive,
        "the observer saw the ephemeral node vanish",
        tl,
    )?;
    let still_there = observer.exists(&alive).await.map_err(zk)?;
    expect(
        still_there.is_none(),
        format!("{alive} is gone: ephemeral nodes end with their session"),
        tl,
    )?;
    observer.close().await;
    Ok(())
}

/// Takes the main session's server away and checks the reconnect, the session and the
/// watches.
#[allow(
    clippy::too_many_arguments,
    reason = "one step of the tour, using most of its state"
)]
async fn fail_over(
    tl: &Timeline,
    servers: &Servers,
    client: &Client,
    observer: &Client,
    session_timeout: Duration,
    first_server: &str,
    alive: &str,
    config_changed: zk_client::OneshotWatcher,
    job_events: &mut PersistentWatcher,
    config: &str,
    jobs: &str,
) -> Step {
    let session = client.session_id();
    let mut transitions = client.state_stream();
    // The stream starts with the current state.
    let _ = transitions.next().await;
    let killed_leader = servers.take_down(tl, first_server).await?;
    let began = Instant::now();
    // The client must reconnect before the session could expire.
    let limit = session_timeout * 2 + Duration::from_secs(5);
    let mut disconnected = false;
    loop {
        let next = tokio::time::timeout_at((began + limit).into(), transitions.next()).await;
        let state = match next {
            Ok(Some(state)) => state,
            Ok(None) => return Err("the session task ended".to_owned()),
            Err(_) => {
                return Err(format!("no reconnect within {}", human_duration(limit)));
            }
        };
        match state {
            SessionState::Disconnected => {
                disconnected = true;
                tl.step("session: Disconnected; the client tries the other servers");
            }
            SessionState::Connected if disconnected => break,
            SessionState::Connected => {}
            other => return Err(format!("the session went {other:?}")),
        }
    }
    let elapsed = began.elapsed();
    let now_server = client.connected_server().unwrap_or_default();
    tl.step(format!(
        "session: Connected to {} after {:.2}s",
        servers.describe(&now_server).await,
        elapsed.as_secs_f64()
    ));
    expect(
        now_server != first_server,
        "it is another server".to_owned(),
        tl,
    )?;
    expect(
        client.session_id() == session,
        format!("it is the same session, {session:#x}"),
        tl,
    )?;
    if let (Some(old), Servers::Local(ensemble)) = (killed_leader, servers) {
        if let Ok(new) = ensemble
            .wait_new_leader(&[old], Duration::from_secs(10))
            .await
        {
            tl.step(format!(
                "the remaining servers elected server {new} as the new leader"
            ));
        }
    }
    // The persistent watch reports the gap: changes in between are not replayed.
    let mut saw = Vec::new();
    while !saw.contains(&KeeperState::SyncConnected) {
        let event = next_event(job_events).await?;
        if event.event_type == EventType::None {
            saw.push(event.state);
        } else {
            return Err(format!(
                "expected the session events first, got {:?} {}",
                event.event_type, event.path
            ));
        }
    }
    expect(
        saw.contains(&KeeperState::Disconnected),
        "the persistent watch was told: Disconnected, then SyncConnected".to_owned(),
        tl,
    )?;
    let stat = observer.exists(alive).await.map_err(zk)?;
    expect(
        stat.is_some_and(|s| s.ephemeral_owner == session),
        format!("{alive} is still there: the session survived the failover"),
        tl,
    )?;
    observer.set_data(config, b"v3", None).await.map_err(zk)?;
    tl.step(format!("observer: set {config} = \"v3\""));
    let event = oneshot(config_changed).await?;
    expect_event(
        &event,
        EventType::NodeDataChanged,
        config,
        "one-shot watch fired after the failover",
        tl,
    )?;
    let (job3, _) = observer
        .create(
            &format!("{jobs}/job-"),
            b"deploy",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .map_err(zk)?;
    tl.step(format!("observer: created {job3}"));
    let event = next_node_event(job_events).await?;
    expect_event(
        &event,
        EventType::NodeCreated,
        &job3,
        "persistent watch fired after the failover",
        tl,
    )
}

/// Prints a check, or fails the step.
fn expect(ok: bool, claim: String, tl: &Timeline) -> Step {
    if ok {
        tl.check(claim);
        Ok(())
    } else {
        Err(format!("not so: {claim}"))
    }
}

fn expect_event(
    event: &WatchedEvent,
    kind: EventType,
    path: &str,
    what: &str,
    tl: &Timeline,
) -> Step {
    if event.event_type == kind && event.path == path {
        tl.check(format!("{what}: {kind:?} {path}"));
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {kind:?} {path}, got {:?} {}",
            event.event_type, event.path
        ))
    }
}

async fn oneshot(watcher: zk_client::OneshotWatcher) -> Step<WatchedEvent> {
    match tokio::time::timeout(EVENT_WAIT, watcher).await {
        Ok(Ok(event)) => Ok(event),
        Ok(Err(e)) => Err(format!("the watch ended: {}", zk(e))),
        Err(_) => Err(format!(
            "the watch did not fire within {}",
            human_duration(EVENT_WAIT)
        )),
    }
}

async fn next_event(watcher: &mut PersistentWatcher) -> Step<WatchedEvent> {
    match tokio::time::timeout(EVENT_WAIT, watcher.next_event()).await {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err("the persistent watch ended".to_owned()),
        Err(_) => Err(format!(
            "the persistent watch did not fire within {}",
            human_duration(EVENT_WAIT)
        )),
    }
}

/// The next node event, passing over session events.
async fn next_node_event(watcher: &mut PersistentWatcher) -> Step<WatchedEvent> {
    loop {
        let event = next_event(watcher).await?;
        if event.event_type != EventType::None {
            return Ok(event);
        }
    }
}

fn is_sequential_name(path: &str, prefix: &str) -> bool {
    path.rsplit('/')
        .next()
        .and_then(|name| name.strip_prefix(prefix))
        .is_some_and(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_names() {
        assert!(is_sequential_name("/d/jobs/job-0000000012", "job-"));
        assert!(!is_sequential_name("/d/jobs/job-12", "job-"));
        assert!(!is_sequential_name("/d/jobs/task-0000000012", "job-"));
    }
}
