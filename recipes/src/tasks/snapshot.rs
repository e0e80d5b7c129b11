//! [`Snapshot`]: what a scope holds, for introspection and monitoring.

use std::collections::BTreeMap;

use zk_client::Error as ZkError;

use super::names::sequence;
use super::scope::{TaskScope, worker_id};
use super::strategy::WorkerInfo;
use crate::election::LeaderLatch;
use crate::error::{Result, zk};

/// What a [`TaskScope`] held when read (each list read on its own, so a task moving
/// between two reads can show twice or not at all).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The current master's id, if one leads.
    pub master: Option<String>,
    /// The live workers, by id, with their load, capacity and number of tasks.
    pub workers: BTreeMap<String, WorkerInfo>,
    /// Tasks waiting for a worker, in order.
    pub pending: Vec<String>,
    /// Tasks assigned, per worker id (dead workers' too, until the master moves them).
    pub assigned: BTreeMap<String, Vec<String>>,
    /// Tasks a live worker has handed to its application, with the worker's id.
    pub running: BTreeMap<String, String>,
    /// Completed tasks.
    pub done: Vec<String>,
    /// Failed tasks.
    pub failed: Vec<String>,
}

/// The children of `path`, sorted by sequence (none when it does not exist).
async fn children(scope: &TaskScope, path: &str) -> Result<Vec<String>> {
    match scope.client.get_children(path).await {
        Ok((mut names, _)) => {
            names.sort_by_key(|n| (sequence(n), n.clone()));
            Ok(names)
        }
        Err(ZkError::NoNode(_)) => Ok(Vec::new()),
        Err(e) => Err(zk(e)),
    }
}

pub(crate) async fn read(scope: &TaskScope) -> Result<Snapshot> {
    let paths = &scope.paths;
    let master = LeaderLatch::new(&scope.client, &paths.master())
        .leader()
        .await?
        .map(|p| String::from_utf8_lossy(&p.data).into_owned());
    let mut snapshot = Snapshot {
        master,
        pending: children(scope, &paths.tasks()).await?,
        done: children(scope, &paths.status()).await?,
        failed: children(scope, &paths.failed()).await?,
        ..Snapshot::default()
    };
    for task in children(scope, &paths.running()).await? {
        match scope.client.get_data(&paths.running_of(&task)).await {
            Ok((worker, _)) => {
                let worker = String::from_utf8_lossy(&worker).into_owned();
                snapshot.running.insert(task, worker);
            }
            Err(ZkError::NoNode(_)) => {}
            Err(e) => return Err(zk(e)),
        }
    }
    for dir in children(scope, &paths.assign()).await? {
        if let Some(id) = worker_id(&dir) {
            let tasks = children(scope, &paths.assign_dir(id)).await?;
            snapshot.assigned.insert(id.to_owned(), tasks);
        }
    }
    let names = children(scope, &paths.workers()).await?;
    for mut info in scope.read_workers(&names).await? {
        info.assigned = snapshot.assigned.get(&info.id).map_or(0, Vec::len);
        snapshot.workers.insert(info.id.clone(), info);
    }
    Ok(snapshot)
}
