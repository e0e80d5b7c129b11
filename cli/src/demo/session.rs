//! `zk demo session`: a session, its nodes and watches, and a failover to another server.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use zk_client::{
    AddWatchMode, Client, CreateMode, CreateOptions, EventType, KeeperState, PersistentWatcher,
    SessionState, WatchedEvent,
};

use super::servers::Servers;
use super::steps::{EVENT_WAIT, Step, connect, expect, zk};
use super::timeline::Timeline;
use crate::connect::human_duration;

/// The main session's walk through nodes, watches, failover and close.
pub(super) async fn tour(
    tl: &Timeline,
    servers: &Servers,
    base: &str,
    session_timeout: Duration,
) -> Step {
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
