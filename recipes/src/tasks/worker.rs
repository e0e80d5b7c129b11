//! [`Worker`]: registers under `workers/`, and hands over the tasks the master assigns to
//! it as a stream of [`Assignment`]s.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zk_client::{CreateOptions, Error as ZkError, ReadResult};

use super::assignment::{Assignment, release};
use super::names::sequence;
use super::scope::{TaskScope, parse_count};
use crate::error::{Error, Result, zk};
use crate::protected::wait_connected;

/// A worker to configure, then [`start`](Self::start).
///
/// ```no_run
/// # async fn _example(scope: zk_recipes::tasks::TaskScope) -> zk_recipes::Result<()> {
/// let worker = scope.worker("node-1").capacity(8).load(0.25).start().await?;
/// # drop(worker); Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a worker does nothing until started"]
pub struct WorkerBuilder {
    scope: TaskScope,
    id: String,
    capacity: Option<usize>,
    load: f64,
}

impl WorkerBuilder {
    pub(crate) fn new(scope: TaskScope, id: &str) -> Self {
        Self {
            scope,
            id: id.to_owned(),
            capacity: None,
            load: 0.0,
        }
    }

    /// At most `tasks` assigned at once (unbounded unless set).
    ///
    /// ```no_run
    /// # fn _example(scope: zk_recipes::tasks::TaskScope) {
    /// let worker = scope.worker("node-1").capacity(2);
    /// # drop(worker); }
    /// ```
    pub fn capacity(mut self, tasks: usize) -> Self {
        self.capacity = Some(tasks.max(1));
        self
    }

    /// The load it registers with (see [`Worker::set_load`]).
    ///
    /// ```no_run
    /// # fn _example(scope: zk_recipes::tasks::TaskScope) {
    /// let worker = scope.worker("node-1").load(0.5);
    /// # drop(worker); }
    /// ```
    pub fn load(mut self, load: f64) -> Self {
        self.load = load;
        self
    }

    /// Registers the worker (`workers/worker-<id>`, ephemeral, and its folder under
    /// `assign/`) and starts handing over its assignments.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an id with a `/` or an empty one, or one registered
    /// by another session; the ZooKeeper errors.
    ///
    /// ```no_run
    /// # async fn _example(scope: zk_recipes::tasks::TaskScope) -> zk_recipes::Result<()> {
    /// let worker = scope.worker("node-1").start().await?;
    /// # drop(worker); Ok(()) }
    /// ```
    pub async fn start(self) -> Result<Worker> {
        if self.id.is_empty() || self.id.contains('/') {
            return Err(Error::InvalidArgument(format!(
                "not a worker id: {:?}",
                self.id
            )));
        }
        let scope = self.scope;
        scope.make_folders().await?;
        let (client, paths) = (&scope.client, &scope.paths);
        let options = scope.options(CreateOptions::persistent());
        match client
            .create(&paths.assign_dir(&self.id), b"", &options)
            .await
        {
            Ok(_) | Err(ZkError::NodeExists(_)) => {}
            Err(e) => return Err(zk(e)),
        }
        let data = registration(&self.id, self.load, self.capacity);
        let node = paths.worker(&self.id);
        let ephemeral = scope.options(CreateOptions::ephemeral());
        let session = client.session_id();
        loop {
            match client.create(&node, data.as_bytes(), &ephemeral).await {
                Ok(_) => break,
                Err(e @ (ZkError::NodeExists(_) | ZkError::ConnectionLoss(_))) => {
                    if e.is_connection_loss() {
                        wait_connected(client).await?;
                    }
                    match client.exists(&node).await {
                        Ok(Some(stat)) if stat.ephemeral_owner == session => break,
                        Ok(Some(_)) => {
                            return Err(Error::InvalidArgument(format!(
                                "worker id {} is registered by another session",
                                self.id
                            )));
                        }
                        Ok(None) => {}
                        Err(e) => return Err(zk(e)),
                    }
                }
                Err(e) => return Err(zk(e)),
            }
        }
        release_interrupted(&scope, &self.id).await?;
        let id: Arc<str> = self.id.into();
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(deliver(scope.clone(), Arc::clone(&id), tx));
        Ok(Worker {
            scope,
            id,
            capacity: self.capacity,
            assignments: rx,
            task,
        })
    }
}

/// Gives back the tasks already assigned to worker `id` when it registers, each counted
/// as an attempt: they were given to an earlier run of this worker (a process that died
/// and came back with the same id before the master noticed), which may have started
/// them. The master, which may be moving them back too, and this race in transactions:
/// each task moves once.
async fn release_interrupted(scope: &TaskScope, id: &str) -> Result<()> {
    let (client, paths) = (&scope.client, &scope.paths);
    let tasks = match client.get_children(&paths.assign_dir(id)).await {
        Ok((tasks, _)) => tasks,
        Err(ZkError::NoNode(_)) => return Ok(()),
        Err(e) => return Err(zk(e)),
    };
    for task in tasks {
        let data = match client.get_data(&paths.assigned(id, &task)).await {
            Ok((data, _)) => data,
            Err(ZkError::NoNode(_)) => continue,
            Err(e) => return Err(zk(e)),
        };
        let earlier = scope.attempts(&task).await?;
        match release(scope, id, &task, &data, earlier, false).await {
            Ok(()) => {}
            Err(Error::SessionEnded(e)) => return Err(Error::SessionEnded(e)),
            // Moved by the master meanwhile, or waiting already: the master settles it.
            Err(e) => tracing::debug!(%e, task, "an interrupted task was not given back"),
        }
    }
    Ok(())
}

/// A worker node's data: `{"id", "load", "capacity"}`.
fn registration(id: &str, load: f64, capacity: Option<usize>) -> String {
    json!({"id": id, "load": load, "capacity": capacity}).to_string()
}

/// A registered worker: a [`Stream`] of the tasks assigned to it, each handed over once
/// (an [`Assignment`] dropped unfinished goes back to the pool). The stream ends, after an
/// [`Error::SessionEnded`], when the worker's session ends: its tasks are then the
/// master's to move, and the process starts a new worker on a new session.
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(scope: zk_recipes::tasks::TaskScope) -> zk_recipes::Result<()> {
/// let mut worker = scope.worker("node-1").start().await?;
/// while let Some(task) = worker.next().await {
///     let task = task?;
///     task.complete(b"done").await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Worker {
    scope: TaskScope,
    id: Arc<str>,
    capacity: Option<usize>,
    assignments: mpsc::Receiver<Result<Assignment>>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Its id.
    ///
    /// ```no_run
    /// # fn _example(worker: zk_recipes::tasks::Worker) {
    /// println!("worker {}", worker.id());
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Publishes its load, which [`LeastLoaded`](super::LeastLoaded) masters read.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the write.
    ///
    /// ```no_run
    /// # async fn _example(worker: zk_recipes::tasks::Worker) -> zk_recipes::Result<()> {
    /// worker.set_load(0.75).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_load(&self, load: f64) -> Result<()> {
        let data = registration(&self.id, load, self.capacity);
        self.scope
            .client
            .set_data(&self.scope.paths.worker(&self.id), data.as_bytes(), None)
            .await
            .map(drop)
            .map_err(zk)
    }

    /// Deregisters: deletes its node, so the master moves the tasks it still holds back
    /// to the pool, and ends the stream.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the delete.
    ///
    /// ```no_run
    /// # async fn _example(worker: zk_recipes::tasks::Worker) -> zk_recipes::Result<()> {
    /// worker.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(self) -> Result<()> {
        self.task.abort();
        match self
            .scope
            .client
            .delete(&self.scope.paths.worker(&self.id), None)
            .await
        {
            Ok(()) | Err(ZkError::NoNode(_)) => Ok(()),
            Err(e) => Err(zk(e)),
        }
    }
}

impl Stream for Worker {
    type Item = Result<Assignment>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Once the session has ended, the tasks still buffered are no longer ours: they
        // are dropped (their release fails harmlessly) and the end is reported.
        if self.scope.client.state().is_terminal() {
            while let Poll::Ready(Some(item)) = self.assignments.poll_recv(cx) {
                if let Err(e) = item {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            return Poll::Ready(None);
        }
        self.assignments.poll_recv(cx)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches the worker's folder and sends each new assignment once, in task order, until
/// the session ends or the worker is dropped.
async fn deliver(scope: TaskScope, id: Arc<str>, tx: mpsc::Sender<Result<Assignment>>) {
    let (client, paths) = (&scope.client, &scope.paths);
    let folder = paths.assign_dir(&id);
    let mut delivered: HashSet<String> = HashSet::new();
    loop {
        let failed = match client.get_children_and_watch(&folder).await {
            Ok((mut names, _, changed)) => {
                delivered.retain(|n| names.contains(n));
                names.retain(|n| !delivered.contains(n));
                names.sort_by_key(|n| (sequence(n), n.clone()));
                for chunk in names.chunks(32) {
                    let reads = chunk.iter().fold(client.multi_read(), |m, task| {
                        m.get_data(&paths.assigned(&id, task))
                            .get_data(&paths.attempts_of(task))
                    });
                    let Ok(results) = reads.commit().await else {
                        break;
                    };
                    let mut results = results.into_iter();
                    for task in chunk {
                        let (Some(read), Some(attempts)) = (results.next(), results.next()) else {
                            break;
                        };
                        let Ok(ReadResult::Data(data, _)) = read else {
                            continue;
                        };
                        let earlier = match attempts {
                            Ok(ReadResult::Data(count, stat)) => {
                                Some((parse_count(&count), stat.version))
                            }
                            _ => None,
                        };
                        delivered.insert(task.clone());
                        // Marks it running, for introspection; gone with our session.
                        let ephemeral = scope.options(CreateOptions::ephemeral());
                        let marked = client
                            .create(&paths.running_of(task), id.as_bytes(), &ephemeral)
                            .await
                            .is_ok();
                        let assignment = Assignment::new(
                            scope.clone(),
                            Arc::clone(&id),
                            task,
                            data,
                            earlier,
                            marked,
                        );
                        if tx.send(Ok(assignment)).await.is_err() {
                            return;
                        }
                    }
                }
                let mut states = client.state_watcher();
                tokio::select! {
                    _ = changed => None,
                    _ = states.wait_for(|s| s.is_terminal()) => None,
                    () = tx.closed() => return,
                }
            }
            Err(ZkError::NoNode(_)) => match client.exists_and_watch(&folder).await {
                Ok((Some(_), _)) => None,
                Ok((None, created)) => {
                    let _ = created.await;
                    None
                }
                Err(e) => Some(e),
            },
            Err(e) => Some(e),
        };
        match failed {
            None => {}
            Some(e) if e.is_connection_loss() => {
                if let Err(e) = wait_connected(client).await {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            Some(e) => {
                let ended = e.is_terminal();
                let _ = tx.send(Err(zk(e))).await;
                if ended {
                    return;
                }
                // Not the connection's fault (an ACL, say): try again later.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
        if client.state().is_terminal() {
            let context = zk_client::ErrorContext::new("worker", Some(folder.as_str().into()));
            let _ = tx
                .send(Err(Error::SessionEnded(ZkError::SessionExpired(context))))
                .await;
            return;
        }
    }
}
