//! [`TaskScope`]: one namespace of tasks, its paths and ACL, and task submission.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use zk_client::{Acl, Client, CreateOptions, Error as ZkError, MultiBuilder, ReadResult, acl};

use super::master::Master;
use super::names::{self, Metadata};
use super::snapshot::{self, Snapshot};
use super::strategy::WorkerInfo;
use super::worker::WorkerBuilder;
use crate::error::{Error, Result, zk};
use crate::protected::{join, make_parents};
use crate::queue::Engine;

/// A task to submit: its data and metadata (carried in its name, see
/// [`metadata_of`](super::metadata_of)).
///
/// ```
/// let task = zk_recipes::tasks::NewTask::new(b"resize image 7").meta("size", "large");
/// assert_eq!(task.metadata(), [("size".to_owned(), "large".to_owned())]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewTask {
    data: Bytes,
    metadata: Metadata,
}

impl NewTask {
    /// A task with `data` and no metadata.
    ///
    /// ```
    /// let task = zk_recipes::tasks::NewTask::new(b"job");
    /// assert_eq!(&task.data()[..], b"job");
    /// ```
    pub fn new(data: impl AsRef<[u8]>) -> Self {
        Self {
            data: Bytes::copy_from_slice(data.as_ref()),
            metadata: Vec::new(),
        }
    }

    /// Adds a metadata pair (any text: it is escaped in the name).
    ///
    /// ```
    /// let task = zk_recipes::tasks::NewTask::new(b"job").meta("owner", "ann/ops");
    /// assert_eq!(task.metadata().len(), 1);
    /// ```
    #[must_use]
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Its data.
    ///
    /// ```
    /// assert!(zk_recipes::tasks::NewTask::default().data().is_empty());
    /// ```
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Its metadata, in the order added.
    ///
    /// ```
    /// assert!(zk_recipes::tasks::NewTask::default().metadata().is_empty());
    /// ```
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }
}

/// A scope's paths.
#[derive(Clone, Debug)]
pub(crate) struct Paths {
    root: Arc<str>,
}

impl Paths {
    pub(crate) fn root(&self) -> &str {
        &self.root
    }
    pub(crate) fn master(&self) -> String {
        join(&self.root, "master")
    }
    pub(crate) fn workers(&self) -> String {
        join(&self.root, "workers")
    }
    pub(crate) fn worker(&self, id: &str) -> String {
        join(&self.workers(), &format!("worker-{id}"))
    }
    pub(crate) fn tasks(&self) -> String {
        join(&self.root, "tasks")
    }
    pub(crate) fn task(&self, name: &str) -> String {
        join(&self.tasks(), name)
    }
    pub(crate) fn assign(&self) -> String {
        join(&self.root, "assign")
    }
    pub(crate) fn assign_dir(&self, id: &str) -> String {
        join(&self.assign(), &format!("worker-{id}"))
    }
    pub(crate) fn assigned(&self, id: &str, task: &str) -> String {
        join(&self.assign_dir(id), task)
    }
    pub(crate) fn status(&self) -> String {
        join(&self.root, "status")
    }
    pub(crate) fn status_of(&self, task: &str) -> String {
        join(&self.status(), task)
    }
    pub(crate) fn failed(&self) -> String {
        join(&self.root, "failed")
    }
    pub(crate) fn failed_of(&self, task: &str) -> String {
        join(&self.failed(), task)
    }
    pub(crate) fn running(&self) -> String {
        join(&self.root, "running")
    }
    pub(crate) fn running_of(&self, task: &str) -> String {
        join(&self.running(), task)
    }
    pub(crate) fn attempts_of(&self, task: &str) -> String {
        join(&join(&self.root, "attempts"), task)
    }
    /// The scope's own persistent folders.
    fn folders(&self) -> [String; 8] {
        [
            self.running(),
            self.master(),
            self.workers(),
            self.tasks(),
            self.assign(),
            self.status(),
            self.failed(),
            join(&self.root, "attempts"),
        ]
    }
}

/// An attempts count (ASCII decimal; 0 when unreadable).
pub(crate) fn parse_count(data: &[u8]) -> u32 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The worker id in an `assign` or `workers` child name (`worker-<id>`).
pub(crate) fn worker_id(name: &str) -> Option<&str> {
    name.strip_prefix("worker-")
}

/// One namespace of tasks: where they are submitted, assigned and finished, with the ACL
/// its nodes are made with. Cheap to clone; clones share the scope.
///
/// ```no_run
/// use zk_recipes::tasks::{NewTask, TaskScope};
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let scope = TaskScope::new(&client, "/render").credentials("render", "s3cret");
/// scope.submit(&NewTask::new(b"frame 12").meta("film", "intro")).await?;
/// println!("{} waiting", scope.snapshot().await?.pending.len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TaskScope {
    pub(crate) client: Client,
    pub(crate) paths: Paths,
    pub(crate) acl: Option<Vec<Acl>>,
    made: Arc<AtomicBool>,
    submitter: Engine,
}

impl TaskScope {
    /// The scope at `path`. Creates nothing until used.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let scope = zk_recipes::tasks::TaskScope::new(&client, "/cats");
    /// # drop(scope); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        let paths = Paths {
            root: path.trim_end_matches('/').into(),
        };
        let submitter = Engine::producer(client, &paths.tasks());
        Self {
            client: client.clone(),
            paths,
            acl: None,
            made: Arc::new(AtomicBool::new(false)),
            submitter,
        }
    }

    /// Authenticates the client with digest credentials `user:password` and makes the
    /// scope's nodes readable and writable only by them (`CREATOR_ALL_ACL`), as
    /// ZooChestrator's scopes with credentials are.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let scope = zk_recipes::tasks::TaskScope::new(&client, "/cats").credentials("cats", "meow");
    /// # drop(scope); }
    /// ```
    #[must_use]
    pub fn credentials(self, user: &str, password: &str) -> Self {
        self.client
            .add_auth("digest", format!("{user}:{password}").as_bytes());
        self.acl(acl::creator_all())
    }

    /// The ACL the scope's nodes are made with (the server's open ACL unless set).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let scope = zk_recipes::tasks::TaskScope::new(&client, "/cats").acl(zk_client::acl::open());
    /// # drop(scope); }
    /// ```
    #[must_use]
    pub fn acl(mut self, acl: Vec<Acl>) -> Self {
        self.submitter.acl = Some(acl.clone());
        self.acl = Some(acl);
        self
    }

    /// The scope's path.
    ///
    /// ```no_run
    /// # fn _example(scope: zk_recipes::tasks::TaskScope) {
    /// assert_eq!(scope.path(), "/cats");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        self.paths.root()
    }

    /// How many earlier assignments of `task` ended without an outcome, and the version
    /// of that count's node (`None`: none did).
    pub(crate) async fn attempts(&self, task: &str) -> Result<Option<(u32, i32)>> {
        match self.client.get_data(&self.paths.attempts_of(task)).await {
            Ok((count, stat)) => Ok(Some((parse_count(&count), stat.version))),
            Err(ZkError::NoNode(_)) => Ok(None),
            Err(e) => Err(zk(e)),
        }
    }

    /// Adds to `multi` the move of `task` (with `data`) from worker `worker` back to the
    /// waiting tasks, counting the attempt (`earlier`: the count read before).
    pub(crate) fn move_back(
        &self,
        multi: MultiBuilder,
        worker: &str,
        task: &str,
        data: &[u8],
        earlier: Option<(u32, i32)>,
    ) -> MultiBuilder {
        let options = self.options(CreateOptions::persistent());
        let attempts = self.paths.attempts_of(task);
        let multi = multi
            .create(&self.paths.task(task), data, &options)
            .delete(&self.paths.assigned(worker, task), None);
        match earlier {
            Some((count, version)) => {
                multi.set_data(&attempts, (count + 1).to_string().as_bytes(), Some(version))
            }
            None => multi.create(&attempts, b"1", &options),
        }
    }

    /// The workers named by `workers/` children `names` (`worker-<id>`), with their data;
    /// those gone meanwhile are left out. Read 64 at a time.
    pub(crate) async fn read_workers(&self, names: &[String]) -> Result<Vec<WorkerInfo>> {
        let ids: Vec<&str> = names.iter().filter_map(|n| worker_id(n)).collect();
        let mut workers = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(64) {
            let reads = chunk.iter().fold(self.client.multi_read(), |m, id| {
                m.get_data(&self.paths.worker(id))
            });
            for (id, read) in chunk.iter().zip(reads.commit().await.map_err(zk)?) {
                if let Ok(ReadResult::Data(data, _)) = read {
                    let mut info = WorkerInfo::parse(&data, id);
                    (*id).clone_into(&mut info.id);
                    workers.push(info);
                }
            }
        }
        Ok(workers)
    }

    /// Create options for a node of the scope.
    pub(crate) fn options(&self, options: CreateOptions) -> CreateOptions {
        match &self.acl {
            Some(acl) => options.acl(acl.clone()),
            None => options,
        }
    }

    /// Makes the scope's folders, once per scope handle.
    pub(crate) async fn make_folders(&self) -> Result<()> {
        if self.made.load(Ordering::Acquire) {
            return Ok(());
        }
        make_parents(&self.client, self.paths.root()).await?;
        let options = self.options(CreateOptions::persistent());
        // Pipelined; each either made or there already.
        let creates: Vec<_> = self
            .paths
            .folders()
            .iter()
            .map(|p| self.client.create(p, b"", &options))
            .collect();
        for create in creates {
            match create.await {
                Ok(_) | Err(ZkError::NodeExists(_)) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        self.made.store(true, Ordering::Release);
        Ok(())
    }

    /// Submits a task. A submission whose reply is lost is resolved by a receipt, as
    /// queue puts are: the task is never added twice. Submissions made at the same moment
    /// go out together.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for metadata too long for a name; the ZooKeeper errors
    /// (`NoAuth` without the scope's credentials); when the session ends before the
    /// outcome of a lost reply is known, [`Error::SessionEnded`] (it may have been added).
    ///
    /// ```no_run
    /// # async fn _example(scope: zk_recipes::tasks::TaskScope) -> zk_recipes::Result<()> {
    /// scope.submit(&zk_recipes::tasks::NewTask::new(b"job")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit(&self, task: &NewTask) -> Result<()> {
        let name = names::prefix(&task.metadata)?;
        self.make_folders().await?;
        self.submitter.put_all(&[&task.data], &name).await
    }

    /// A master candidate with id `id` (its latch node's data); it does nothing until
    /// [`Master::start`].
    ///
    /// ```no_run
    /// # fn _example(scope: zk_recipes::tasks::TaskScope) {
    /// let master = scope.master("node-1");
    /// # drop(master); }
    /// ```
    pub fn master(&self, id: &str) -> Master {
        Master::new(self.clone(), id)
    }

    /// A worker with id `id` (its node is `workers/worker-<id>`), to configure and
    /// [`start`](WorkerBuilder::start).
    ///
    /// ```no_run
    /// # async fn _example(scope: zk_recipes::tasks::TaskScope) -> zk_recipes::Result<()> {
    /// let worker = scope.worker("node-1").capacity(2).start().await?;
    /// # drop(worker); Ok(()) }
    /// ```
    pub fn worker(&self, id: &str) -> WorkerBuilder {
        WorkerBuilder::new(self.clone(), id)
    }

    /// What the scope holds now: the master, the workers and their load, the tasks
    /// waiting, assigned per worker, running, done and failed.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the reads.
    ///
    /// ```no_run
    /// # async fn _example(scope: zk_recipes::tasks::TaskScope) -> zk_recipes::Result<()> {
    /// let now = scope.snapshot().await?;
    /// println!("master {:?}, {} waiting", now.master, now.pending.len());
    /// # Ok(()) }
    /// ```
    pub async fn snapshot(&self) -> Result<Snapshot> {
        snapshot::read(self).await
    }

    /// The result of a completed task (`status/<task>`), if it completed.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the read.
    ///
    /// ```no_run
    /// # async fn _example(scope: zk_recipes::tasks::TaskScope) -> zk_recipes::Result<()> {
    /// if let Some(result) = scope.result("task-0000000001").await? {
    ///     println!("{result:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn result(&self, task: &str) -> Result<Option<Bytes>> {
        if task.contains('/') {
            return Err(Error::InvalidArgument(format!("not a task name: {task}")));
        }
        match self.client.get_data(&self.paths.status_of(task)).await {
            Ok((data, _)) => Ok(Some(data)),
            Err(ZkError::NoNode(_)) => Ok(None),
            Err(e) => Err(zk(e)),
        }
    }
}
