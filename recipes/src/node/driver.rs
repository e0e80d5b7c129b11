//! The task of a [`PersistentNode`](super::PersistentNode): makes the node, watches it,
//! makes it again, and deletes it at the end.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch};
use zk_client::{
    Client, CreateMode, CreateOptions, Error as ZkError, EventType, OneshotWatcher, Stat,
};

use super::persistent_node::{Config, Data, Factory, NodeState, Shared};
use crate::error::{Error, Result, zk};
use crate::protected::{self, join, wait_connected};

/// What the task works with.
pub(crate) struct Ctx {
    pub(crate) config: Config,
    pub(crate) shared: Arc<Shared>,
    pub(crate) data: watch::Receiver<Data>,
}

/// Our node.
#[derive(Debug)]
struct Node {
    path: String,
}

/// What the task knows about our node.
#[derive(Debug)]
struct Slot {
    /// The session we work on.
    client: Client,
    /// The protected prefix, `_c_{uuid}-`: one for the node's whole life (CURATOR-190).
    prefix: String,
    node: Option<Node>,
    /// A create was sent whose outcome we do not know.
    unsure: bool,
    /// A create's reply was lost: look for a protected node before making one.
    lost_reply: bool,
    /// The node was adopted (or found again): set our data on it.
    sync: bool,
    /// Our earlier sessions, whose nodes are ours to delete.
    previous: Vec<i64>,
}

/// What a create attempt came to.
enum Made {
    /// Our node exists now (`Slot::node`).
    Created,
    /// Try again (once connected).
    Retry,
    /// A node of another session is in the way.
    Blocked { path: String, owner: i64 },
}

/// Runs the node until stopped (by `close` or a drop) or it fails, then deletes it.
pub(crate) async fn drive(
    mut ctx: Ctx,
    client: Client,
    mut stopped: oneshot::Receiver<()>,
) -> Result<()> {
    let mut slot = Slot {
        client,
        prefix: protected::new_prefix(),
        node: None,
        unsure: false,
        lost_reply: false,
        sync: false,
        previous: Vec::new(),
    };
    let failed = tokio::select! {
        biased;
        _ = &mut stopped => None,
        e = run(&mut ctx, &mut slot) => Some(e),
    };
    let cleaned = cleanup(&ctx.config, &slot).await;
    let session = slot.client.clone();
    ctx.shared.session.send_replace((session, false));
    match failed {
        None => ctx.shared.publish(NodeState::Closed),
        Some(e) => {
            tracing::warn!(error = %e, "the node stopped");
            ctx.shared.publish(NodeState::Failed(e));
        }
    }
    cleaned
}

/// Keeps the node on one session after another, while a factory gives new ones. Returns
/// the error that ends the node.
async fn run(ctx: &mut Ctx, slot: &mut Slot) -> Error {
    loop {
        let ended = session(ctx, slot).await;
        if !matches!(ended, Error::SessionEnded(_)) {
            return ended;
        }
        let Some(factory) = ctx.config.factory.clone() else {
            return ended;
        };
        let old = slot.client.session_id();
        tracing::info!(
            session = format_args!("{old:#x}"),
            "the session ended; starting another"
        );
        slot.previous.push(old);
        ctx.shared.publish(NodeState::Creating);
        let client = new_session(&factory).await;
        if let Some(node) = slot.node.take() {
            if ctx.config.mode.is_sequential() && !ctx.config.protected {
                // Its name is never made again: it can only be the old session's.
                let _ = client.delete_in_background(&node.path, None);
            }
        }
        // The old session's protected node, if the server still has it, is found by its
        // prefix and deleted.
        slot.lost_reply = ctx.config.protected;
        slot.unsure = false;
        slot.sync = false;
        slot.client = client.clone();
        ctx.shared.session.send_replace((client, true));
    }
}

/// A new session from `factory`, retried until one comes.
async fn new_session(factory: &Factory) -> Client {
    let mut pause = Duration::from_millis(100);
    loop {
        match factory().await {
            Ok(client) if !client.state().is_terminal() => return client,
            Ok(_) => tracing::warn!("the new session has ended already"),
            Err(e) => tracing::warn!(error = %e, "cannot start a new session"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Keeps the node on `slot.client`'s session. Returns the error that ends it:
/// [`Error::SessionEnded`] when the session does.
async fn session(ctx: &mut Ctx, slot: &mut Slot) -> Error {
    let client = slot.client.clone();
    let mut states = client.state_watcher();
    let mut own: Option<OneshotWatcher> = None;
    // Look at the node on the server again (after a reconnect).
    let mut check = true;
    loop {
        if let Err(e) = wait_connected(&client).await {
            return e;
        }
        // 1. Our node: still there, still ours, watched.
        if let Some(node) = &slot.node {
            if own.is_none() || check {
                let path = node.path.clone();
                let seen = if own.is_none() {
                    client
                        .exists_and_watch(&path)
                        .await
                        .map(|(stat, watch)| (stat, Some(watch)))
                } else {
                    client.exists(&path).await.map(|stat| (stat, None))
                };
                match seen {
                    Ok((Some(stat), watch)) if owns(&ctx.config, &client, &stat) => {
                        if watch.is_some() {
                            own = watch;
                        }
                    }
                    Ok(_) => {
                        tracing::info!(%path, "our node is gone");
                        slot.node = None;
                        own = None;
                    }
                    Err(e) if e.is_connection_loss() => continue,
                    Err(e) => return zk(e),
                }
            }
        }
        check = false;
        // 2. No node: make one.
        if slot.node.is_none() {
            own = None;
            ctx.shared.publish(NodeState::Creating);
            match create(ctx, slot, &client).await {
                Ok(Made::Created | Made::Retry) => {}
                Ok(Made::Blocked { path, owner }) => {
                    tracing::info!(%path, owner = format_args!("{owner:#x}"), "a node of another session is in the way");
                    ctx.shared.publish(NodeState::Blocked {
                        path: path.clone(),
                        owner,
                    });
                    match client.exists_and_watch(&path).await {
                        Ok((Some(_), gone)) => tokio::select! {
                            _ = gone => {}
                            changed = states.changed() => if changed.is_err() {
                                return client_gone();
                            },
                        },
                        Ok((None, _)) => {}
                        Err(e) if e.is_connection_loss() => {}
                        Err(e) => return zk(e),
                    }
                }
                Err(e) => return e,
            }
            // The next pass watches the new node, or tries again.
            continue;
        }
        let Some(path) = slot.node.as_ref().map(|n| n.path.clone()) else {
            continue;
        };
        // 3. Our data on it.
        let wanted = ctx.data.borrow().generation;
        if slot.sync || ctx.shared.status.borrow().applied < wanted {
            let (generation, bytes) = snapshot(&mut ctx.data);
            match client.set_data(&path, &bytes, None).await {
                Ok(_) => {
                    slot.sync = false;
                    ctx.shared.applied(generation);
                }
                Err(ZkError::NoNode(_)) => {
                    slot.node = None;
                    continue;
                }
                Err(e) if e.is_connection_loss() => continue,
                Err(e) if e.is_terminal() => return zk(e),
                Err(e) => {
                    tracing::warn!(error = %e, %path, "cannot set the node's data");
                    slot.sync = false;
                    ctx.shared.rejected(generation, zk(e));
                }
            }
        }
        ctx.shared
            .publish(NodeState::Created { path: path.clone() });
        // 4. Wait for a change: of the node, the connection, or our data.
        let Some(watch) = own.as_mut() else { continue };
        tokio::select! {
            event = watch => {
                own = None;
                match event {
                    Ok(event) if event.event_type == EventType::NodeDeleted => {
                        tracing::info!(%path, "our node was deleted");
                        slot.node = None;
                    }
                    // Its data changed (by someone else): watch it again.
                    Ok(_) => {}
                    Err(e) if e.is_terminal() => return zk(e),
                    Err(_) => {}
                }
            }
            changed = states.changed() => match changed {
                Ok(_) => check = true,
                Err(_) => return client_gone(),
            },
            changed = ctx.data.changed() => if changed.is_err() {
                // The node is gone: its stop follows.
                return Error::Closed;
            },
        }
    }
}

/// One attempt at making the node.
async fn create(ctx: &mut Ctx, slot: &mut Slot, client: &Client) -> Result<Made> {
    let config = &ctx.config;
    let (parent, name) = split(&config.path);
    if config.protected && slot.lost_reply {
        match find(config, slot, client, parent).await {
            Ok(true) => return Ok(Made::Created),
            Ok(false) => slot.lost_reply = false,
            Err(e) if e.is_connection_loss() => return Ok(Made::Retry),
            Err(e) => return Err(zk(e)),
        }
    }
    let target = if config.protected {
        join(parent, &format!("{}{name}", slot.prefix))
    } else {
        config.path.clone()
    };
    let (generation, bytes) = snapshot(&mut ctx.data);
    let mut options = CreateOptions::new(config.mode).acl(config.acl.clone());
    if let Some(ttl) = config.ttl {
        options = options.ttl(ttl);
    }
    slot.unsure = true;
    let created = client.create(&target, &bytes, &options).await;
    if !matches!(&created, Err(e) if e.is_connection_loss()) {
        slot.unsure = false;
    }
    match created {
        Ok((path, _)) => {
            tracing::debug!(%path, "created");
            slot.node = Some(Node { path });
            ctx.shared.applied(generation);
            Ok(Made::Created)
        }
        Err(ZkError::NoNode(_)) => match make_parents(config, client, parent).await {
            Ok(()) => Ok(Made::Retry),
            // A parent deleted as we made the next one: make them again.
            Err(Error::Zk(ZkError::NoNode(_))) => Ok(Made::Retry),
            Err(e) if e.is_retryable() => Ok(Made::Retry),
            Err(e) => Err(e),
        },
        Err(ZkError::NodeExists(_)) if !config.mode.is_sequential() => {
            existing(config, slot, client, target).await
        }
        Err(e) if e.is_connection_loss() => {
            slot.lost_reply = true;
            Ok(Made::Retry)
        }
        Err(e) => Err(refused(e, config.mode)),
    }
}

/// A node is at our path: adopt it if it is ours, delete it if one of our earlier
/// sessions left it, else wait for it to go.
async fn existing(config: &Config, slot: &mut Slot, client: &Client, path: String) -> Result<Made> {
    let stat = match client.exists(&path).await {
        Ok(Some(stat)) => stat,
        Ok(None) => return Ok(Made::Retry),
        Err(e) if e.is_connection_loss() => return Ok(Made::Retry),
        Err(e) => return Err(zk(e)),
    };
    if owns(config, client, &stat) {
        tracing::info!(%path, "adopting our node");
        slot.node = Some(Node { path });
        slot.sync = true;
        return Ok(Made::Created);
    }
    if config.mode.is_ephemeral() && slot.previous.contains(&stat.ephemeral_owner) {
        tracing::info!(%path, "deleting the node of our earlier session");
        return match client.delete(&path, Some(stat.version)).await {
            Ok(()) | Err(ZkError::NoNode(_) | ZkError::BadVersion(_)) => Ok(Made::Retry),
            Err(e) if e.is_connection_loss() => Ok(Made::Retry),
            Err(e) => Err(zk(e)),
        };
    }
    Ok(Made::Blocked {
        path,
        owner: stat.ephemeral_owner,
    })
}

/// Our protected node, if a create whose reply was lost made it: adopted when ours; any
/// other node of our prefix (an earlier session's, a second one) is deleted.
async fn find(
    config: &Config,
    slot: &mut Slot,
    client: &Client,
    parent: &str,
) -> zk_client::Result<bool> {
    let children = match client.get_children(parent).await {
        Ok((children, _)) => children,
        Err(ZkError::NoNode(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut found = None;
    for child in children.iter().filter(|c| c.starts_with(&slot.prefix)) {
        let path = join(parent, child);
        match client.exists(&path).await? {
            Some(stat) if found.is_none() && owns(config, client, &stat) => found = Some(path),
            Some(_) => {
                tracing::info!(%path, "deleting a stale node of our prefix");
                let _ = client.delete_in_background(&path, None);
            }
            None => {}
        }
    }
    Ok(match found {
        Some(path) => {
            tracing::info!(%path, "found our node again");
            slot.node = Some(Node { path });
            slot.sync = true;
            true
        }
        None => false,
    })
}

/// Whether a node with `stat` is ours: an ephemeral of our session, or, for the
/// persistent modes, not an ephemeral at all.
fn owns(config: &Config, client: &Client, stat: &Stat) -> bool {
    if config.mode.is_ephemeral() {
        stat.ephemeral_owner == client.session_id()
    } else {
        stat.ephemeral_owner == 0
    }
}

/// Makes the missing parents of the node.
async fn make_parents(config: &Config, client: &Client, parent: &str) -> Result<()> {
    if parent == "/" {
        return Ok(());
    }
    if config.parents == CreateMode::Persistent {
        client
            .create_all(parent, b"", &CreateOptions::persistent())
            .await
            .map(drop)
            .map_err(zk)
    } else {
        protected::make_parents(client, parent).await
    }
}

/// Deletes what the node has, or may have, on the server.
async fn cleanup(config: &Config, slot: &Slot) -> Result<()> {
    let client = &slot.client;
    if config.keep_on_close || client.state().is_terminal() {
        return Ok(());
    }
    if let Some(node) = &slot.node {
        if !client.state().is_connected() {
            let _ = client.delete_in_background(&node.path, None);
            return Ok(());
        }
        return crate::lock::guard::delete_node(client, &node.path).await;
    }
    if !slot.unsure {
        return Ok(());
    }
    let (parent, _) = split(&config.path);
    if config.protected {
        protected::forget(client, parent, &slot.prefix, None);
    } else if !config.mode.is_sequential() {
        // The create may have made the node: delete it if it is ours, once we can see.
        let (client, path, config) = (client.clone(), config.path.clone(), config.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                while wait_connected(&client).await.is_ok() {
                    match client.exists(&path).await {
                        Ok(Some(stat)) if owns(&config, &client, &stat) => {
                            let _ = client.delete(&path, Some(stat.version)).await;
                            return;
                        }
                        Err(e) if e.is_connection_loss() => {}
                        _ => return,
                    }
                }
            });
        }
    }
    Ok(())
}

/// The error for a create the server refused; a TTL create on a server without TTL nodes
/// says how to turn them on.
pub(crate) fn refused(error: ZkError, mode: CreateMode) -> Error {
    match error {
        ZkError::Unimplemented(_) if mode.is_ttl() => super::ttl::unsupported(error),
        e => zk(e),
    }
}

/// The data to write now, marked seen.
fn snapshot(data: &mut watch::Receiver<Data>) -> (u64, Bytes) {
    let data = data.borrow_and_update();
    (data.generation, data.bytes.clone())
}

/// The parent of `path` and its last segment.
fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// The client's task is gone.
fn client_gone() -> Error {
    let context = zk_client::ErrorContext::new("wait", None);
    Error::SessionEnded(ZkError::Closed(context))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_names_the_parent_and_the_name() {
        assert_eq!(split("/a"), ("/", "a"));
        assert_eq!(split("/a/b/c"), ("/a/b", "c"));
        assert_eq!(split("/a/job-"), ("/a", "job-"));
    }
}
