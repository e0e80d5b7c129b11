//! The contest every lock flavour runs (Curator's `LockInternals`): create a protected
//! ephemeral-sequential node, read the children, let the flavour's rule decide from the
//! ordered contenders whether we hold it or which node to wait for, watch only that node
//! with getData, and re-read after every wake-up. A wait that ends any other way than
//! with the lock (deadline, error, the future dropped) deletes our node in the background.
//!
//! The first create and the first read of the children are sent together (zk-client
//! sends requests in call order, and the server runs them in that order), so an
//! uncontended acquire costs one round trip.

use std::time::Instant;

use bytes::Bytes;
use zk_client::{Client, CreateMode, CreateOptions, Error as ZkError, Stat};

use super::names::{Compat, Contender, contenders};
use crate::error::{Error, Result, zk};
use crate::protected::{self, join, wait_connected};

/// What a flavour's rule decides from the ordered contenders and our index among them.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) enum Decision {
    /// We hold it.
    Acquired,
    /// Wait until this contender's node changes or goes.
    WaitFor(String),
}

/// A flavour's rule (Curator's `LockInternalsDriver.getsTheLock`).
pub(crate) trait Rule: Send + Sync {
    fn decide(&self, contenders: &[Contender], ours: usize) -> Decision;
}

/// At most `n` holders; each waiter watches the contender `n` places before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MaxLeases(pub(crate) usize);

impl Rule for MaxLeases {
    fn decide(&self, contenders: &[Contender], ours: usize) -> Decision {
        if ours < self.0 {
            Decision::Acquired
        } else {
            Decision::WaitFor(contenders[ours - self.0].name.clone())
        }
    }
}

/// Where and how a contest runs.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub(crate) path: String,
    pub(crate) compat: Compat,
    /// The name after the prefix (`lock-`, `__lock__`, `__WRIT__`, ...).
    pub(crate) node_name: &'static str,
    /// The names that mark contenders.
    pub(crate) patterns: Vec<&'static str>,
    pub(crate) data: Bytes,
}

/// A won contest: our node and its Stat.
#[derive(Clone, Debug)]
pub(crate) struct Won {
    pub(crate) node: String,
    pub(crate) stat: Stat,
}

/// How long to wait.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Until acquired.
    Forever,
    /// Until then, else [`Error::Timeout`].
    Until(tokio::time::Instant),
    /// Not at all: one look, and our node goes if we do not hold it.
    No,
}

/// Runs the contest: `Ok(None)` only for [`Wait::No`] when someone else holds it.
pub(crate) async fn run(
    client: &Client,
    spec: &Spec,
    rule: &dyn Rule,
    wait: Wait,
) -> Result<Option<Won>> {
    let started = Instant::now();
    let attempt = Attempt {
        client,
        parent: &spec.path,
        prefix: spec.compat.new_prefix(),
        node: None,
        stat: None,
        won: false,
    };
    let contest = contest(attempt, spec, rule, matches!(wait, Wait::No));
    match wait {
        Wait::Until(deadline) => match tokio::time::timeout_at(deadline, contest).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(started.elapsed())),
        },
        Wait::Forever | Wait::No => contest.await,
    }
}

/// Our node while the contest runs: deleted in the background unless the contest is won,
/// whichever way the contest ends (an error, the deadline, the future dropped).
struct Attempt<'a> {
    client: &'a Client,
    parent: &'a str,
    prefix: String,
    node: Option<String>,
    /// Our node's Stat at creation.
    stat: Option<Stat>,
    won: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.won {
            protected::forget(self.client, self.parent, &self.prefix, self.node.as_deref());
        }
    }
}

/// What one look at the contenders found.
enum Look {
    Won,
    /// Someone else holds it (for a look that does not wait).
    Held,
    /// Look again: we waited, or our node must be made again.
    Again,
}

async fn contest(
    mut attempt: Attempt<'_>,
    spec: &Spec,
    rule: &dyn Rule,
    once: bool,
) -> Result<Option<Won>> {
    let client = attempt.client;
    let mut first = true;
    let mut lost_reply = false;
    loop {
        let (node, stat, children) = match attempt.node.clone() {
            None if first => {
                first = false;
                // The create and the read of the children go out together.
                let path = join(&spec.path, &format!("{}{}", attempt.prefix, spec.node_name));
                let options = CreateOptions::new(CreateMode::EphemeralSequential);
                let created = client.create(&path, &spec.data, &options);
                let children = client.get_children(&spec.path);
                match created.await {
                    Ok((node, stat)) => {
                        attempt.node = Some(node.clone());
                        (node, stat, Some(children.await))
                    }
                    Err(e) if e.is_connection_loss() => {
                        // The node may exist: the careful path looks for it first.
                        lost_reply = true;
                        wait_connected(client).await?;
                        continue;
                    }
                    // No parent yet, or anything else: the careful path says.
                    Err(_) => continue,
                }
            }
            None => {
                let created = protected::create(
                    client,
                    &spec.path,
                    &attempt.prefix,
                    spec.node_name,
                    &spec.data,
                    std::mem::take(&mut lost_reply),
                )
                .await?;
                attempt.node = Some(created.path.clone());
                (created.path, created.stat, None)
            }
            // Our node, as created: the read of the children says whether it still exists.
            Some(node) => (node, attempt.stat.unwrap_or_default(), None),
        };
        attempt.stat = Some(stat);
        match look(&mut attempt, spec, rule, &node, &stat, children, once).await? {
            Look::Won => {
                attempt.won = true;
                return Ok(Some(Won { node, stat }));
            }
            Look::Held => return Ok(None),
            Look::Again => {}
        }
    }
}

/// One look at the contenders, with the children already read if `children` is given.
async fn look(
    attempt: &mut Attempt<'_>,
    spec: &Spec,
    rule: &dyn Rule,
    node: &str,
    stat: &Stat,
    children: Option<zk_client::Result<(Vec<String>, Stat)>>,
    once: bool,
) -> Result<Look> {
    let client = attempt.client;
    let children = match children {
        Some(read) => read,
        None => client.get_children(&spec.path).await,
    };
    let children = match children {
        Ok((children, _)) => children,
        Err(e) if e.is_connection_loss() => {
            wait_connected(client).await?;
            return Ok(Look::Again);
        }
        Err(ZkError::NoNode(_)) => {
            attempt.node = None;
            return Ok(Look::Again);
        }
        Err(e) => return Err(zk(e)),
    };
    let ours = node.rsplit('/').next().unwrap_or_default();
    let contenders = contenders(&children, &spec.patterns);
    let Some(index) = contenders.iter().position(|c| c.name == ours) else {
        // Our node vanished between the create and the read.
        attempt.node = None;
        return Ok(Look::Again);
    };
    match rule.decide(&contenders, index) {
        // Only a node of our own, live session counts (CURATOR-696).
        Decision::Acquired if stat.ephemeral_owner == client.session_id() => Ok(Look::Won),
        Decision::Acquired => {
            attempt.node = None;
            Ok(Look::Again)
        }
        Decision::WaitFor(_) if once => Ok(Look::Held),
        Decision::WaitFor(name) => {
            let predecessor = join(&spec.path, &name);
            tracing::trace!(%predecessor, "waiting");
            let mut states = client.state_watcher();
            match client.get_data_and_watch(&predecessor).await {
                Ok((_, _, changed)) => {
                    // Any change of the node or of the connection: look again.
                    tokio::select! {
                        _ = changed => {}
                        _ = states.changed() => {}
                    }
                    Ok(Look::Again)
                }
                Err(ZkError::NoNode(_)) => Ok(Look::Again),
                Err(e) if e.is_connection_loss() => {
                    wait_connected(client).await?;
                    Ok(Look::Again)
                }
                Err(e) => Err(zk(e)),
            }
        }
    }
}
