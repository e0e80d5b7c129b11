//! [`Master`]: a master candidate; while it leads, it assigns waiting tasks and moves the
//! tasks of dead workers back, each move fenced by its latch node.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex as StdMutex};

use bytes::Bytes;
use futures::Stream;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use zk_client::{CreateOptions, Error as ZkError, OneshotWatcher, ReadResult};

use super::names::sequence;
use super::scope::{TaskScope, worker_id};
use super::strategy::{Random, Strategy, WorkerInfo};
use crate::election::{LeaderLatch, Leadership};
use crate::error::{Error, Result, zk};
use crate::protected::wait_connected;

/// How soon a round whose move failed is tried again.
const RETRY: std::time::Duration = std::time::Duration::from_millis(200);

/// How often an idle master reads again without a change (loads published meanwhile).
const IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// What a master did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MasterEvent {
    /// This candidate became the master; `token` fences its moves.
    Elected {
        /// The term's fencing token (its latch node's czxid).
        token: i64,
    },
    /// A waiting task was given to a worker.
    Assigned {
        /// The task's name.
        task: String,
        /// The worker's id.
        worker: String,
    },
    /// A task of a worker whose session ended went back to the waiting tasks.
    Recovered {
        /// The task's name.
        task: String,
        /// The dead worker's id.
        worker: String,
    },
    /// A duplicate waiting task was removed on taking over (it was also assigned to a live
    /// worker, or already done).
    Deduplicated {
        /// The task's name.
        task: String,
    },
    /// This candidate is no longer the master.
    Deposed {
        /// Why, in words.
        reason: String,
    },
}

/// A master candidate of a [`TaskScope`]: joins the scope's election (a
/// [`LeaderLatch`] at `<scope>/master`) and, while it leads, assigns every waiting task to
/// a live worker with room, by its [`Strategy`] ([`Random`] unless set), and moves the
/// tasks of workers whose session ended back to the waiting tasks. Every move is one
/// transaction fenced by a `check` of its latch node.
///
/// ```no_run
/// use futures::StreamExt;
/// use zk_recipes::tasks::{LeastLoaded, MasterEvent, TaskScope};
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let master = TaskScope::new(&client, "/render").master("node-1").strategy(LeastLoaded::default());
/// let mut events = std::pin::pin!(master.events());
/// master.start()?;
/// while let Some(event) = events.next().await {
///     if let MasterEvent::Assigned { task, worker } = event {
///         println!("{task} -> {worker}");
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Master {
    scope: TaskScope,
    latch: Arc<LeaderLatch>,
    strategy: Arc<dyn Strategy>,
    events: broadcast::Sender<MasterEvent>,
    run: StdMutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Master {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Master")
            .field("scope", &self.scope.path())
            .field("latch", &self.latch)
            .finish_non_exhaustive()
    }
}

impl Master {
    pub(crate) fn new(scope: TaskScope, id: &str) -> Self {
        let latch = LeaderLatch::new(&scope.client, &scope.paths.master()).data(id.to_owned());
        Self {
            scope,
            latch: Arc::new(latch),
            strategy: Arc::new(Random::default()),
            events: broadcast::channel(1024).0,
            run: StdMutex::new(None),
        }
    }

    /// How the master picks a worker for each task.
    ///
    /// ```no_run
    /// # fn _example(scope: zk_recipes::tasks::TaskScope) {
    /// let master = scope.master("node-1").strategy(zk_recipes::tasks::RoundRobin::default());
    /// # drop(master); }
    /// ```
    #[must_use]
    pub fn strategy(mut self, strategy: impl Strategy) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Joins the election; the master's work runs in the background whenever it leads.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when started twice or after [`close`](Self::close).
    ///
    /// ```no_run
    /// # fn _example(master: zk_recipes::tasks::Master) -> zk_recipes::Result<()> {
    /// master.start()?;
    /// # Ok(()) }
    /// ```
    pub fn start(&self) -> Result<()> {
        let mut run = self
            .run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if run.is_some() {
            return Err(Error::InvalidArgument(
                "the master was started already".into(),
            ));
        }
        self.latch.start()?;
        let (scope, latch) = (self.scope.clone(), Arc::clone(&self.latch));
        let (strategy, events) = (Arc::clone(&self.strategy), self.events.clone());
        *run = Some(tokio::spawn(async move {
            while let Ok(term) = latch.await_leadership().await {
                let _ = events.send(MasterEvent::Elected {
                    token: term.fencing_token(),
                });
                let leader = Leader {
                    scope: &scope,
                    term: &term,
                    strategy: strategy.as_ref(),
                    events: &events,
                };
                let reason = tokio::select! {
                    outcome = leader.lead() => match outcome {
                        Ok(()) | Err(Error::NotLeader) => "its latch node is gone".to_owned(),
                        Err(e) => e.to_string(),
                    },
                    why = term.lost() => why.to_string(),
                };
                let _ = events.send(MasterEvent::Deposed { reason });
                // A term that ended on an error while still leading: wait for its end
                // before the next one.
                let _ = term.lost().await;
            }
        }));
        Ok(())
    }

    /// Whether this candidate is the master now, as far as it knows.
    ///
    /// ```no_run
    /// # fn _example(master: zk_recipes::tasks::Master) {
    /// println!("master: {}", master.is_master());
    /// # }
    /// ```
    pub fn is_master(&self) -> bool {
        self.latch.has_leadership()
    }

    /// What this master does from now on: elected, assigned, recovered, deposed. A
    /// receiver that falls more than 1,024 events behind skips the oldest.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(master: zk_recipes::tasks::Master) {
    /// let mut events = std::pin::pin!(master.events());
    /// while let Some(event) = events.next().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> impl Stream<Item = MasterEvent> + Send + 'static + use<> {
        futures::stream::unfold(self.events.subscribe(), |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((event, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    /// Leaves the election (deleting its latch node) and stops assigning.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the delete.
    ///
    /// ```no_run
    /// # async fn _example(master: zk_recipes::tasks::Master) -> zk_recipes::Result<()> {
    /// master.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        let run = self
            .run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(run) = run {
            run.abort();
        }
        self.latch.close().await
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        if let Some(run) = self
            .run
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            run.abort();
        }
    }
}

/// One term's work.
struct Leader<'a> {
    scope: &'a TaskScope,
    term: &'a Leadership,
    strategy: &'a dyn Strategy,
    events: &'a broadcast::Sender<MasterEvent>,
}

/// What a round read: the live workers, the assignments per worker folder, the waiting
/// tasks, and the watches that end the wait for the next round.
struct Round {
    workers: Vec<WorkerInfo>,
    assigned: HashMap<String, Vec<String>>,
    pending: Vec<String>,
    changes: Vec<OneshotWatcher>,
}

impl Leader<'_> {
    /// Assigns and recovers until the term ends.
    async fn lead(&self) -> Result<()> {
        let client = &self.scope.client;
        self.scope.make_folders().await?;
        let mut first = true;
        loop {
            let round = match self.read().await {
                Ok(round) => round,
                Err(Error::Zk(e)) if e.is_connection_loss() => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if first {
                self.deduplicate(&round).await?;
                first = false;
            }
            let live: HashSet<&str> = round.workers.iter().map(|w| w.id.as_str()).collect();
            let mut recovered = false;
            for (worker, tasks) in &round.assigned {
                if !live.contains(worker.as_str()) {
                    self.recover(worker, tasks).await?;
                    recovered = true;
                }
            }
            if recovered {
                continue;
            }
            let skipped = self
                .assign(round.workers, &round.assigned, &round.pending)
                .await?;
            // A skipped move is tried again soon, even if nothing changes meanwhile.
            let patience = if skipped { RETRY } else { IDLE };
            let _ =
                tokio::time::timeout(patience, futures::future::select_all(round.changes)).await;
        }
    }

    /// Reads the workers, assignments and waiting tasks, leaving a watch on each list.
    async fn read(&self) -> Result<Round> {
        let (client, paths) = (&self.scope.client, &self.scope.paths);
        let mut changes = Vec::new();
        let (names, _, changed) = client
            .get_children_and_watch(&paths.workers())
            .await
            .map_err(zk)?;
        changes.push(changed);
        let mut workers = self.scope.read_workers(&names).await?;
        let (dirs, _, changed) = client
            .get_children_and_watch(&paths.assign())
            .await
            .map_err(zk)?;
        changes.push(changed);
        let mut assigned = HashMap::new();
        for dir in &dirs {
            let Some(id) = worker_id(dir) else { continue };
            match client.get_children_and_watch(&paths.assign_dir(id)).await {
                Ok((tasks, _, changed)) => {
                    changes.push(changed);
                    assigned.insert(id.to_owned(), tasks);
                }
                Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        let (mut pending, _, changed) = client
            .get_children_and_watch(&paths.tasks())
            .await
            .map_err(zk)?;
        changes.push(changed);
        pending.sort_by_key(|name| (sequence(name), name.clone()));
        for worker in &mut workers {
            worker.assigned = assigned.get(&worker.id).map_or(0, Vec::len);
        }
        Ok(Round {
            workers,
            assigned,
            pending,
            changes,
        })
    }

    /// The book's duplicate rules, on taking over: a waiting task that is also assigned to
    /// a live worker, or that has a status, is removed from the waiting tasks.
    async fn deduplicate(&self, round: &Round) -> Result<()> {
        let (client, paths) = (&self.scope.client, &self.scope.paths);
        let live: HashSet<&str> = round.workers.iter().map(|w| w.id.as_str()).collect();
        let assigned: HashSet<&str> = round
            .assigned
            .iter()
            .filter(|(w, _)| live.contains(w.as_str()))
            .flat_map(|(_, tasks)| tasks.iter().map(String::as_str))
            .collect();
        let done: HashSet<String> = match client.get_children(&paths.status()).await {
            Ok((names, _)) => names.into_iter().collect(),
            Err(ZkError::NoNode(_)) => HashSet::new(),
            Err(e) => return Err(zk(e)),
        };
        for task in &round.pending {
            if assigned.contains(task.as_str()) || done.contains(task) {
                let removal = self.term.fenced().delete(&paths.task(task), None);
                match removal.commit().await {
                    Ok(_) => {
                        let _ = self
                            .events
                            .send(MasterEvent::Deduplicated { task: task.clone() });
                    }
                    Err(e) => self.skip(e)?,
                }
            }
        }
        Ok(())
    }

    /// Moves the tasks of a dead worker back to the waiting tasks, counting the attempt,
    /// then removes its folder.
    async fn recover(&self, worker: &str, tasks: &[String]) -> Result<()> {
        let (client, paths) = (&self.scope.client, &self.scope.paths);
        for task in tasks {
            let assigned = paths.assigned(worker, task);
            let data: Bytes = match client.get_data(&assigned).await {
                Ok((data, _)) => data,
                Err(ZkError::NoNode(_)) => continue,
                Err(e) => return Err(zk(e)),
            };
            let earlier = self.scope.attempts(task).await?;
            let multi = self
                .scope
                .move_back(self.term.fenced(), worker, task, &data, earlier);
            match multi.commit().await {
                Ok(_) => {
                    let _ = self.events.send(MasterEvent::Recovered {
                        task: task.clone(),
                        worker: worker.to_owned(),
                    });
                }
                // Already waiting (the book's duplicate): drop the assignment only.
                Err(ZkError::NodeExists(e)) if e.path.as_deref() == Some(&paths.task(task)) => {
                    let drop_it = self.term.fenced().delete(&assigned, None);
                    if let Err(e) = drop_it.commit().await {
                        self.skip(e)?;
                    }
                }
                Err(e) => self.skip(e)?,
            }
        }
        let folder = self.term.fenced().delete(&paths.assign_dir(worker), None);
        match folder.commit().await {
            Ok(_) | Err(ZkError::NotEmpty(_) | ZkError::NoNode(_)) => Ok(()),
            Err(e) => self.skip(e),
        }
    }

    /// Gives waiting tasks, in order, to workers with room, by the strategy: the reads and
    /// the moves of a round go out together. Whether a move failed and was skipped.
    async fn assign(
        &self,
        mut workers: Vec<WorkerInfo>,
        assigned: &HashMap<String, Vec<String>>,
        pending: &[String],
    ) -> Result<bool> {
        let (client, paths) = (&self.scope.client, &self.scope.paths);
        let room: usize = workers
            .iter()
            .map(|w| {
                w.capacity
                    .map_or(usize::MAX, |c| c.saturating_sub(w.assigned))
            })
            .fold(0, usize::saturating_add);
        let batch: Vec<&String> = pending.iter().take(room.min(64)).collect();
        if batch.is_empty() {
            return Ok(false);
        }
        let reads = batch
            .iter()
            .fold(client.multi_read(), |m, task| m.get_data(&paths.task(task)));
        let reads = reads.commit().await.map_err(zk)?;
        let options = self.scope.options(CreateOptions::persistent());
        let mut moves = Vec::new();
        for (task, read) in batch.into_iter().zip(reads) {
            let Ok(ReadResult::Data(data, stat)) = read else {
                continue;
            };
            let room: Vec<usize> = (0..workers.len())
                .filter(|i| workers[*i].has_room())
                .collect();
            if room.is_empty() {
                break;
            }
            let candidates: Vec<WorkerInfo> = room.iter().map(|i| workers[*i].clone()).collect();
            let pick = self
                .strategy
                .pick(task, &candidates)
                .min(candidates.len() - 1);
            let worker = &mut workers[room[pick]];
            worker.assigned += 1;
            if !assigned.contains_key(&worker.id) {
                // A worker whose folder the master has not seen: make it first.
                match client
                    .create(&paths.assign_dir(&worker.id), b"", &options)
                    .await
                {
                    Ok(_) | Err(ZkError::NodeExists(_)) => {}
                    Err(e) => return Err(zk(e)),
                }
            }
            let commit = self
                .term
                .fenced()
                .create(&paths.assigned(&worker.id, task), &data, &options)
                .delete(&paths.task(task), Some(stat.version))
                .commit();
            moves.push((task.clone(), worker.id.clone(), commit));
        }
        let mut skipped = false;
        for (task, worker, commit) in moves {
            match commit.await {
                Ok(_) => {
                    let _ = self.events.send(MasterEvent::Assigned { task, worker });
                }
                Err(e) => {
                    self.skip(e)?;
                    skipped = true;
                }
            }
        }
        Ok(skipped)
    }

    /// A failed move: the end of the term when the fence failed (our latch node is gone)
    /// or the session ended; otherwise skipped (the next round reads again).
    fn skip(&self, error: ZkError) -> Result<()> {
        match &error {
            ZkError::NoNode(e) if e.path.as_deref() == Some(self.term.node()) => {
                Err(Error::NotLeader)
            }
            e if e.is_terminal() => Err(zk(error)),
            _ if !self.term.is_current() => Err(Error::NotLeader),
            _ => {
                tracing::debug!(%error, "a task move failed; reading again");
                Ok(())
            }
        }
    }
}
