//! [`Assignment`]: a task given to this worker, and the four ways to finish it.

use std::sync::Arc;

use bytes::Bytes;
use zk_client::{CreateMode, CreateOptions, Error as ZkError, MultiBuilder};

use super::names::{self, Metadata};
use super::scope::{NewTask, TaskScope};
use crate::error::{Error, Result, zk};
use crate::lock::LostReason;
use crate::protected::{present, wait_connected};

/// A task the master assigned to this worker (`assign/worker-<id>/<task>`).
///
/// Finish it with [`complete`](Self::complete), [`fail`](Self::fail),
/// [`release`](Self::release) or [`complete_and_create`](Self::complete_and_create): each
/// is one transaction that removes the assignment, so a task is finished once, and not at
/// all when the master took it back meanwhile (then [`Error::InvalidArgument`] says so
/// and the run's outcome must be dropped). Dropping it unfinished releases it in the
/// background.
///
/// Execution is at least once: a task whose worker died is run again elsewhere, and
/// [`attempt`](Self::attempt) counts the runs, so the work can be made idempotent.
///
/// ```no_run
/// # async fn _example(task: zk_recipes::tasks::Assignment) -> zk_recipes::Result<()> {
/// if task.attempt() > 1 {
///     println!("{} ran before; checking what it left", task.name());
/// }
/// tokio::select! {
///     why = task.lost() => println!("stop: {why}"),
///     () = tokio::time::sleep(std::time::Duration::from_secs(1)) => task.complete(b"ok").await?,
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Assignment {
    scope: TaskScope,
    worker: Arc<str>,
    name: String,
    data: Bytes,
    /// Earlier runs that ended without an outcome, and the version of their count node.
    earlier: Option<(u32, i32)>,
    /// Whether our `running/<task>` node was made.
    running: bool,
    settled: bool,
}

impl Assignment {
    pub(crate) fn new(
        scope: TaskScope,
        worker: Arc<str>,
        name: &str,
        data: Bytes,
        earlier: Option<(u32, i32)>,
        running: bool,
    ) -> Self {
        Self {
            scope,
            worker,
            name: name.to_owned(),
            data,
            earlier,
            running,
            settled: false,
        }
    }

    /// The task's name (`task-{metadata}-{seq}`).
    ///
    /// ```no_run
    /// # fn _example(task: zk_recipes::tasks::Assignment) {
    /// println!("{}", task.name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The task's data.
    ///
    /// ```no_run
    /// # fn _example(task: zk_recipes::tasks::Assignment) {
    /// println!("{:?}", task.data());
    /// # }
    /// ```
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The task's metadata, from its name.
    ///
    /// ```no_run
    /// # fn _example(task: zk_recipes::tasks::Assignment) {
    /// for (key, value) in task.metadata() {
    ///     println!("{key} = {value}");
    /// }
    /// # }
    /// ```
    pub fn metadata(&self) -> Metadata {
        names::metadata_of(&self.name)
    }

    /// Which assignment of the task this is: 1, or more when earlier assignments ended
    /// without an outcome (their worker died, or released the task), so the task may have
    /// run before, in part.
    ///
    /// ```no_run
    /// # fn _example(task: zk_recipes::tasks::Assignment) {
    /// assert!(task.attempt() >= 1);
    /// # }
    /// ```
    pub fn attempt(&self) -> u32 {
        self.earlier.map_or(1, |(count, _)| count + 1)
    }

    /// Resolves when this worker should stop working on the task: its session ended, or
    /// the task was taken away (its assignment deleted). Cancel-safe.
    ///
    /// ```no_run
    /// # async fn _example(task: zk_recipes::tasks::Assignment) {
    /// let why = task.lost().await;
    /// eprintln!("stopping {}: {why}", task.name());
    /// # }
    /// ```
    pub async fn lost(&self) -> LostReason {
        let client = &self.scope.client;
        let path = self.scope.paths.assigned(&self.worker, &self.name);
        loop {
            let mut states = client.state_watcher();
            if client.state().is_terminal() {
                return LostReason::SessionEnded;
            }
            match client.exists_and_watch(&path).await {
                Ok((None, _)) => return LostReason::NodeDeleted,
                Ok((Some(_), changed)) => {
                    tokio::select! {
                        _ = changed => {}
                        _ = states.wait_for(|s| s.is_terminal()) => return LostReason::SessionEnded,
                    }
                }
                Err(e) if e.is_terminal() => return LostReason::SessionEnded,
                Err(_) => {
                    if wait_connected(client).await.is_err() {
                        return LostReason::SessionEnded;
                    }
                }
            }
        }
    }

    /// Finishes the task with `result`, written to `status/<task>`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the task is no longer ours (the master took it
    /// back); [`Error::SessionEnded`]; the other ZooKeeper errors, after which the task
    /// goes back to the pool, as when an assignment is dropped. A lost reply is resolved,
    /// not returned.
    ///
    /// ```no_run
    /// # async fn _example(task: zk_recipes::tasks::Assignment) -> zk_recipes::Result<()> {
    /// task.complete(b"42").await?;
    /// # Ok(()) }
    /// ```
    pub async fn complete(self, result: &[u8]) -> Result<()> {
        let status = self.scope.paths.status_of(&self.name);
        let options = self.scope.options(CreateOptions::persistent());
        self.finish(|m| m.create(&status, result, &options), &status)
            .await
    }

    /// Finishes the task with `result` and submits `next` in the same transaction
    /// (ZooChestrator's `deleteAndCreateFollowingTask`): the follow-up exists exactly when
    /// this task is done.
    ///
    /// # Errors
    ///
    /// As [`complete`](Self::complete); [`Error::InvalidArgument`] for metadata too long.
    ///
    /// ```no_run
    /// # async fn _example(task: zk_recipes::tasks::Assignment) -> zk_recipes::Result<()> {
    /// task.complete_and_create(b"step 1 done", &zk_recipes::tasks::NewTask::new(b"step 2")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn complete_and_create(self, result: &[u8], next: &NewTask) -> Result<()> {
        let paths = &self.scope.paths;
        let next_path = paths.task(&names::prefix(next.metadata())?);
        let status = paths.status_of(&self.name);
        let options = self.scope.options(CreateOptions::persistent());
        let sequential = self
            .scope
            .options(CreateOptions::new(CreateMode::PersistentSequential));
        self.finish(
            |m| {
                m.create(&status, result, &options)
                    .create(&next_path, next.data(), &sequential)
            },
            &status,
        )
        .await
    }

    /// Finishes the task as failed, with `reason` written to `failed/<task>`; it is not
    /// run again.
    ///
    /// # Errors
    ///
    /// As [`complete`](Self::complete).
    ///
    /// ```no_run
    /// # async fn _example(task: zk_recipes::tasks::Assignment) -> zk_recipes::Result<()> {
    /// task.fail("the input file is missing").await?;
    /// # Ok(()) }
    /// ```
    pub async fn fail(self, reason: &str) -> Result<()> {
        let failed = self.scope.paths.failed_of(&self.name);
        let options = self.scope.options(CreateOptions::persistent());
        self.finish(|m| m.create(&failed, reason.as_bytes(), &options), &failed)
            .await
    }

    /// Gives the task back to the pool, unfinished (counted as an attempt); the master
    /// assigns it again.
    ///
    /// # Errors
    ///
    /// As [`complete`](Self::complete).
    ///
    /// ```no_run
    /// # async fn _example(task: zk_recipes::tasks::Assignment) -> zk_recipes::Result<()> {
    /// task.release().await?;
    /// # Ok(()) }
    /// ```
    pub async fn release(mut self) -> Result<()> {
        self.settled = true;
        release(
            &self.scope,
            &self.worker,
            &self.name,
            &self.data,
            self.earlier,
            self.running,
        )
        .await
    }

    /// Removes the assignment, and the attempts count, with `ops` in one transaction;
    /// `made` is a node `ops` creates, which tells after a lost reply whether it was
    /// applied.
    ///
    /// A failure that leaves the task ours (an error of the server's, not a lost reply)
    /// gives it back to the pool in the background, as a drop does.
    async fn finish(
        mut self,
        ops: impl Fn(MultiBuilder) -> MultiBuilder,
        made: &str,
    ) -> Result<()> {
        let client = &self.scope.client;
        let paths = &self.scope.paths;
        let assigned = paths.assigned(&self.worker, &self.name);
        let attempts = paths.attempts_of(&self.name);
        loop {
            let mut multi = client.multi().delete(&assigned, None);
            if self.earlier.is_some() {
                multi = multi.delete(&attempts, None);
            }
            if self.running {
                multi = multi.delete(&paths.running_of(&self.name), None);
            }
            match ops(multi).commit().await {
                Ok(_) => {
                    self.settled = true;
                    return Ok(());
                }
                Err(ZkError::NoNode(e)) if e.path.as_deref() == Some(assigned.as_str()) => {
                    self.settled = true;
                    return Err(self.taken_back());
                }
                Err(e) if e.is_connection_loss() => {
                    match present(client, &[&assigned, made]).await?[..] {
                        // Not applied: send it again.
                        [true, _] => {}
                        [false, true] => {
                            self.settled = true;
                            return Ok(());
                        }
                        _ => {
                            self.settled = true;
                            return Err(self.taken_back());
                        }
                    }
                }
                Err(e) => return Err(zk(e)),
            }
        }
    }

    fn taken_back(&self) -> Error {
        Error::InvalidArgument(format!(
            "task {} is no longer assigned to worker {}",
            self.name, self.worker
        ))
    }
}

impl Drop for Assignment {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (scope, worker, name, data, earlier, running) = (
            self.scope.clone(),
            Arc::clone(&self.worker),
            std::mem::take(&mut self.name),
            self.data.clone(),
            self.earlier,
            self.running,
        );
        runtime.spawn(async move {
            let _ = release(&scope, &worker, &name, &data, earlier, running).await;
        });
    }
}

/// Moves a task from worker `worker` back to the waiting tasks and counts the attempt;
/// `running`: our `running/<task>` node goes too.
pub(crate) async fn release(
    scope: &TaskScope,
    worker: &str,
    name: &str,
    data: &Bytes,
    earlier: Option<(u32, i32)>,
    running: bool,
) -> Result<()> {
    let (client, paths) = (&scope.client, &scope.paths);
    let assigned = paths.assigned(worker, name);
    loop {
        let multi = if running {
            client.multi().delete(&paths.running_of(name), None)
        } else {
            client.multi()
        };
        let multi = scope.move_back(multi, worker, name, data, earlier);
        match multi.commit().await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_connection_loss() => {
                if present(client, &[&assigned]).await? == [false] {
                    // Applied, or taken back by the master: either way not ours.
                    return Ok(());
                }
            }
            Err(ZkError::NoNode(e)) if e.path.as_deref() == Some(assigned.as_str()) => {
                return Ok(());
            }
            Err(e) => return Err(zk(e)),
        }
    }
}
