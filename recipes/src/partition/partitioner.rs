//! [`Partitioner`]: kazoo's `SetPartitioner`, driven by a background task, with its states
//! as a stream.

use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use uuid::Uuid;
use zk_client::{Client, CreateOptions};

use super::assign::share;
use crate::error::{Error, Result, zk};
use crate::lock::{Compat, LockGuard, LostReason, Mutex};
use crate::membership::{Members, ShallowParty};
use crate::protected::{join, wait_connected};
use crate::state::{ConnectionState, LossPolicy};

/// Where a [`Partitioner`] is, as kazoo's `PartitionState` (plus the loss of items).
///
/// ```
/// use zk_recipes::partition::PartitionState;
/// let state = PartitionState::Acquired(vec!["q1".into()]);
/// assert_eq!(state.items(), ["q1"]);
/// assert!(PartitionState::Allocating.items().is_empty());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PartitionState {
    /// Waiting for the membership to settle and for the locks of our share (kazoo's
    /// `ALLOCATING`). We hold nothing we may work on.
    Allocating,
    /// Our share is ours: every item's lock is held (kazoo's `ACQUIRED`). Work on them.
    Acquired(Vec<String>),
    /// The members or the items changed: stop working on these items now; their locks
    /// are being released before a new share is allocated (kazoo's `RELEASE`).
    Release(Vec<String>),
    /// A lock of our share can no longer be trusted (the connection was lost, the session
    /// ended, a lock node was deleted): stop working on these items now. Reported before
    /// another member can take them. A new share is allocated once connected again.
    Lost {
        /// The items we held.
        items: Vec<String>,
        /// Why.
        reason: LostReason,
    },
    /// The partitioner is over (kazoo's `FAILURE`): closed ([`Error::Closed`]), its
    /// session ended, or an error retrying cannot fix. It holds nothing.
    Failed(Error),
}

impl PartitionState {
    /// The items we may work on: those of [`Acquired`](Self::Acquired), else none.
    ///
    /// ```
    /// # use zk_recipes::partition::PartitionState;
    /// assert!(PartitionState::Release(vec!["q1".into()]).items().is_empty());
    /// ```
    pub fn items(&self) -> &[String] {
        match self {
            Self::Acquired(items) => items,
            _ => &[],
        }
    }

    /// Whether this is [`Acquired`](Self::Acquired).
    ///
    /// ```
    /// # use zk_recipes::partition::PartitionState;
    /// assert!(PartitionState::Acquired(Vec::new()).is_acquired());
    /// ```
    pub fn is_acquired(&self) -> bool {
        matches!(self, Self::Acquired(_))
    }

    /// Whether this is [`Failed`](Self::Failed): no state follows.
    ///
    /// ```
    /// # use zk_recipes::partition::PartitionState;
    /// assert!(PartitionState::Failed(zk_recipes::Error::Closed).is_final());
    /// ```
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Failed(_))
    }
}

/// What the partitioner, its task and its streams share.
#[derive(Debug)]
struct Shared {
    latest: watch::Sender<PartitionState>,
    /// `None` once the task has ended.
    subscribers: StdMutex<Option<Vec<mpsc::UnboundedSender<PartitionState>>>>,
    items: watch::Sender<Vec<String>>,
}

impl Shared {
    fn publish(&self, state: PartitionState) {
        let mut subscribers = lock(&self.subscribers);
        if let Some(subscribers) = subscribers.as_mut() {
            subscribers.retain(|tx| tx.send(state.clone()).is_ok());
        }
        tracing::debug!(?state, "partition");
        self.latest.send_replace(state);
    }

    fn end(&self, state: PartitionState) {
        self.publish(state);
        lock(&self.subscribers).take();
    }
}

#[derive(Debug)]
enum Run {
    Idle,
    /// `stop`: sent by `close`, dropped by `Drop`; either way the task releases and leaves.
    Running {
        stop: oneshot::Sender<()>,
        task: JoinHandle<()>,
    },
    Closed,
}

/// Fair sharing of a set of items among the live members of a group, on kazoo's
/// `SetPartitioner` layout, so kazoo and Rust members can share one set:
///
/// - each member is in a kazoo `ShallowParty` at `<path>/party` (`{hex}-<identifier>`);
/// - each item is guarded by a kazoo `Lock` at `<path>/locks/<item>` (a [`Mutex`] in
///   [`Compat::Kazoo`] mode, data = identifier);
/// - a member's share is [`share`](super::share): sort the items and the identifiers,
///   take items `i ≡ index (mod members)`.
///
/// [`start`](Self::start) runs it in a background task, whose states
/// ([`PartitionState`]) come as a stream ([`assignments`](Self::assignments)) with the
/// latest at hand ([`state`](Self::state)). When the members or the items change, the
/// task reports [`Release`](PartitionState::Release), releases every lock, then allocates
/// again: it waits for the membership to stay the same for the
/// [time boundary](Self::time_boundary), then takes the locks of its new share one by one,
/// each as soon as its old owner has let it go, and reports
/// [`Acquired`](PartitionState::Acquired). No two live members ever hold one item: the
/// per-item lock says who holds it.
///
/// Each held lock's [`LockGuard::lost`] is watched (standard [loss policy](LossPolicy)):
/// when the connection goes, the task reports [`Lost`](PartitionState::Lost) at once,
/// before the server can let another member take the items, and allocates again once
/// connected. When the session ends the partitioner is [`Failed`](PartitionState::Failed),
/// as kazoo's is.
///
/// [`close`](Self::close) releases the locks and leaves the party; dropping the
/// partitioner does the same in the background.
///
/// ```no_run
/// use futures::StreamExt;
/// use zk_recipes::partition::{PartitionState, Partitioner};
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let queues = ["queue-1", "queue-2", "queue-3"];
/// let partitioner = Partitioner::new(&client, "/work_queues", queues).identifier("host-a");
/// partitioner.start()?;
/// let mut assignments = partitioner.assignments();
/// while let Some(state) = assignments.next().await {
///     match state {
///         PartitionState::Acquired(items) => println!("working on {items:?}"),
///         PartitionState::Release(_) | PartitionState::Lost { .. } => println!("stop work"),
///         PartitionState::Failed(e) => return Err(e),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Partitioner {
    client: Client,
    path: String,
    identifier: String,
    time_boundary: Duration,
    shared: Arc<Shared>,
    run: StdMutex<Run>,
}

impl Partitioner {
    /// A member of the partition of `items` at `path`. Creates nothing until
    /// [`start`](Self::start). Each item must fit in a node name (no `/`).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let p = zk_recipes::partition::Partitioner::new(&client, "/jobs", ["a", "b"]);
    /// # drop(p); }
    /// ```
    pub fn new<I>(client: &Client, path: &str, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let items = normalize(items.into_iter().map(Into::into).collect());
        let hex = Uuid::new_v4().simple().to_string();
        Self {
            client: client.clone(),
            path: path.to_owned(),
            identifier: format!("{}-{}", std::process::id(), &hex[..8]),
            time_boundary: Duration::ZERO,
            shared: Arc::new(Shared {
                latest: watch::channel(PartitionState::Allocating).0,
                subscribers: StdMutex::new(Some(Vec::new())),
                items: watch::channel(items).0,
            }),
            run: StdMutex::new(Run::Idle),
        }
    }

    /// Our identifier among the members (kazoo's `identifier`): it orders the members,
    /// so every member needs its own. It must fit in a node name. Default
    /// `{pid}-{random hex}` (kazoo's is `{fqdn}-{pid}`).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let p = zk_recipes::partition::Partitioner::new(&client, "/jobs", ["a"]).identifier("host-a");
    /// assert_eq!(p.id(), "host-a");
    /// # }
    /// ```
    #[must_use]
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = identifier.into();
        self
    }

    /// How long the membership must stay the same before a share is allocated (kazoo's
    /// `time_boundary`), so that members joining one after another cause one rebalance
    /// rather than many. Default zero: allocate on the membership as read (kazoo's
    /// default is 30 s).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use std::time::Duration;
    /// let p = zk_recipes::partition::Partitioner::new(&client, "/jobs", ["a"])
    ///     .time_boundary(Duration::from_secs(5));
    /// # drop(p); }
    /// ```
    #[must_use]
    pub fn time_boundary(mut self, boundary: Duration) -> Self {
        self.time_boundary = boundary;
        self
    }

    /// The partition's path.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::partition::Partitioner) {
    /// println!("{}", p.path());
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Our identifier.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::partition::Partitioner) {
    /// println!("{}", p.id());
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.identifier
    }

    /// The items being partitioned, sorted, each once.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::partition::Partitioner) {
    /// println!("{:?}", p.items());
    /// # }
    /// ```
    pub fn items(&self) -> Vec<String> {
        self.shared.items.borrow().clone()
    }

    /// Replaces the items. Every member must be given the same items (kazoo's members
    /// are given theirs when made); a running partitioner releases its share and
    /// allocates again.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an item that cannot be a node name.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::partition::Partitioner) -> zk_recipes::Result<()> {
    /// p.set_items(["a", "b", "c"])?;
    /// # Ok(()) }
    /// ```
    pub fn set_items<I>(&self, items: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let items = normalize(items.into_iter().map(Into::into).collect());
        check_names(&items)?;
        self.shared.items.send_if_modified(|current| {
            let changed = *current != items;
            *current = items;
            changed
        });
        Ok(())
    }

    /// Joins the party and starts allocating, in a background task.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when already started or closed, outside a tokio runtime,
    /// or for an identifier or item that cannot be a node name.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::partition::Partitioner) -> zk_recipes::Result<()> {
    /// p.start()?;
    /// # Ok(()) }
    /// ```
    pub fn start(&self) -> Result<()> {
        check_names(std::slice::from_ref(&self.identifier))?;
        check_names(&self.shared.items.borrow())?;
        let mut run = lock(&self.run);
        if !matches!(*run, Run::Idle) {
            return Err(Error::InvalidArgument(
                "the partitioner was already started".into(),
            ));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidArgument("no tokio runtime to run in".into()))?;
        let (stop, stopped) = oneshot::channel();
        let driver = Driver {
            client: self.client.clone(),
            locks: join(&self.path, "locks"),
            party: ShallowParty::new(
                &self.client,
                &join(&self.path, "party"),
                self.identifier.clone(),
            ),
            identifier: self.identifier.clone(),
            time_boundary: self.time_boundary,
            items: self.shared.items.subscribe(),
            shared: self.shared.clone(),
            held: Vec::new(),
        };
        let span = tracing::debug_span!("partitioner", path = %self.path, id = %self.identifier);
        let task = runtime.spawn(driver.run(stopped).instrument(span));
        *run = Run::Running { stop, task };
        Ok(())
    }

    /// The state now.
    ///
    /// ```no_run
    /// # fn _example(p: zk_recipes::partition::Partitioner) {
    /// for item in p.state().items() {
    ///     println!("mine: {item}");
    /// }
    /// # }
    /// ```
    pub fn state(&self) -> PartitionState {
        self.shared.latest.borrow().clone()
    }

    /// The states as a stream, starting with the state now; it ends after
    /// [`Failed`](PartitionState::Failed).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(p: zk_recipes::partition::Partitioner) {
    /// let mut states = p.assignments();
    /// while let Some(state) = states.next().await {
    ///     println!("{state:?}");
    /// }
    /// # }
    /// ```
    pub fn assignments(&self) -> Assignments {
        let mut subscribers = lock(&self.shared.subscribers);
        let (tx, events) = mpsc::unbounded_channel();
        let _ = tx.send(self.shared.latest.borrow().clone());
        if let Some(subscribers) = subscribers.as_mut() {
            subscribers.push(tx);
        }
        Assignments {
            events,
            latest: self.shared.latest.subscribe(),
        }
    }

    /// Waits until our share is acquired (kazoo's `wait_for_acquire`) and returns it.
    ///
    /// # Errors
    ///
    /// The error of [`Failed`](PartitionState::Failed) when the partitioner is over first.
    ///
    /// ```no_run
    /// # async fn _example(p: zk_recipes::partition::Partitioner) -> zk_recipes::Result<()> {
    /// let mine = p.wait_for_acquire().await?;
    /// # let _ = mine; Ok(()) }
    /// ```
    pub async fn wait_for_acquire(&self) -> Result<Vec<String>> {
        let mut latest = self.shared.latest.subscribe();
        let seen = latest
            .wait_for(|s| s.is_acquired() || s.is_final())
            .await
            .map(|s| s.clone())
            .unwrap_or_else(|_| self.state());
        match seen {
            PartitionState::Acquired(items) => Ok(items),
            PartitionState::Failed(e) => Err(e),
            _ => Err(Error::Closed),
        }
    }

    /// Releases our items, leaves the party and ends the partitioner (kazoo's `finish`).
    ///
    /// # Errors
    ///
    /// None yet; the releases go on in the background when the connection is down.
    ///
    /// ```no_run
    /// # async fn _example(p: zk_recipes::partition::Partitioner) -> zk_recipes::Result<()> {
    /// p.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        let previous = std::mem::replace(&mut *lock(&self.run), Run::Closed);
        match previous {
            Run::Running { stop, task } => {
                let _ = stop.send(());
                let _ = task.await;
            }
            Run::Idle => self.shared.end(PartitionState::Failed(Error::Closed)),
            Run::Closed => {}
        }
        Ok(())
    }
}

/// The states of a [`Partitioner`] as a [`Stream`], with the latest at hand.
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(p: zk_recipes::partition::Partitioner) {
/// let mut states = p.assignments();
/// let first = states.next().await;
/// println!("{first:?}, now {:?}", states.latest());
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct Assignments {
    events: mpsc::UnboundedReceiver<PartitionState>,
    latest: watch::Receiver<PartitionState>,
}

impl Assignments {
    /// The partitioner's state now (perhaps ahead of the stream).
    ///
    /// ```no_run
    /// # fn _example(states: zk_recipes::partition::Assignments) {
    /// println!("{:?}", states.latest().items());
    /// # }
    /// ```
    pub fn latest(&self) -> PartitionState {
        self.latest.borrow().clone()
    }
}

impl Stream for Assignments {
    type Item = PartitionState;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

/// Why the partitioner leaves its `Acquired` state.
enum Change {
    Rebalance,
    Lost(LostReason),
}

/// The partitioner's task.
struct Driver {
    client: Client,
    locks: String,
    party: ShallowParty,
    identifier: String,
    time_boundary: Duration,
    items: watch::Receiver<Vec<String>>,
    shared: Arc<Shared>,
    held: Vec<LockGuard>,
}

impl Driver {
    async fn run(mut self, stopped: oneshot::Receiver<()>) {
        let end = tokio::select! {
            end = self.partition() => end,
            _ = stopped => Error::Closed,
        };
        // Our items first, then our membership, as kazoo's `finish`.
        let now = self.shared.latest.borrow().clone();
        if let PartitionState::Acquired(items) = now {
            self.shared.publish(PartitionState::Release(items));
        }
        self.release_all().await;
        if !self.client.state().is_terminal() {
            let _ = self.party.leave().await;
        }
        self.shared.end(PartitionState::Failed(end));
    }

    /// Allocates, holds and rebalances until the partitioner is over; returns why.
    async fn partition(&mut self) -> Error {
        let policy = LossPolicy::standard();
        loop {
            let allocating = matches!(*self.shared.latest.borrow(), PartitionState::Allocating);
            if !allocating {
                self.shared.publish(PartitionState::Allocating);
            }
            if let Err(e) = wait_connected(&self.client).await {
                return e;
            }
            if let Err(e) = self.prepare().await {
                if !e.is_retryable() {
                    return e;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            // The party's latest members for this round (the view's events are not
            // needed: its stream is dropped at once). It ends with the session.
            let mut members = self.party.watch().latest();
            let ids = tokio::select! {
                ids = settled(&mut members, &self.identifier, self.time_boundary) => ids,
                _ = policy.lost(&self.client) => None,
            };
            let Some(ids) = ids else { continue };
            let items = self.items.borrow_and_update().clone();
            let mine = share(&self.identifier, &ids, &items);
            tracing::debug!(?ids, ?mine, "allocating");

            // The locks of our share, each once its old owner let it go.
            let mut aborted = false;
            for item in &mine {
                let lock = Mutex::new(&self.client, &join(&self.locks, item))
                    .compat(Compat::Kazoo)
                    .data(self.identifier.clone());
                tokio::select! {
                    acquired = lock.acquire() => match acquired {
                        Ok(guard) => self.held.push(guard),
                        Err(e) if e.is_retryable() => {
                            aborted = true;
                        }
                        Err(Error::SessionEnded(_)) => aborted = true,
                        Err(e) => return e,
                    },
                    () = changed(&mut members, &ids) => aborted = true,
                    _ = self.items.changed() => aborted = true,
                    _ = policy.lost(&self.client) => aborted = true,
                }
                if aborted {
                    break;
                }
            }
            if aborted {
                self.release_all().await;
                continue;
            }

            self.shared.publish(PartitionState::Acquired(mine.clone()));
            let change = tokio::select! {
                () = changed(&mut members, &ids) => Change::Rebalance,
                _ = self.items.changed() => Change::Rebalance,
                reason = any_lost(&self.held, &self.client, policy) => Change::Lost(reason),
            };
            match change {
                Change::Rebalance => {
                    self.shared.publish(PartitionState::Release(mine));
                    self.release_all().await;
                }
                Change::Lost(reason) => {
                    self.shared.publish(PartitionState::Lost {
                        items: mine,
                        reason,
                    });
                    // Deleted in the background once connected, if the session lives.
                    self.held.clear();
                }
            }
        }
    }

    /// Our paths (persistent, as kazoo's `ensure_path`), and our party node.
    async fn prepare(&self) -> Result<()> {
        let persistent = CreateOptions::persistent();
        self.client
            .create_all(&self.locks, b"", &persistent)
            .await
            .map_err(zk)?;
        self.party.join().await
    }

    /// Releases every held lock: waits for the deletes while connected; otherwise they
    /// go on in the background (nothing waits for a reconnect).
    async fn release_all(&mut self) {
        if !self.client.state().is_connected() {
            self.held.clear();
            return;
        }
        for guard in self.held.drain(..) {
            let _ = guard.release().await;
        }
    }
}

/// The members' identifiers, sorted, once the view has read them, they include ours and
/// they stayed the same for `boundary`; `None` when the view ends.
async fn settled(
    members: &mut watch::Receiver<Option<Members>>,
    me: &str,
    boundary: Duration,
) -> Option<Vec<String>> {
    loop {
        let ids = members.borrow_and_update().as_ref().map(ids_of);
        match ids {
            Some(ids) if ids.iter().any(|id| id == me) => {
                if boundary.is_zero() {
                    return Some(ids);
                }
                tokio::select! {
                    () = tokio::time::sleep(boundary) => return Some(ids),
                    seen = members.changed() => seen.ok()?,
                }
            }
            _ => members.changed().await.ok()?,
        }
    }
}

/// Resolves when the members' identifiers are no longer `ids`, or the view ends.
async fn changed(members: &mut watch::Receiver<Option<Members>>, ids: &[String]) {
    loop {
        if members.changed().await.is_err() {
            return;
        }
        if members.borrow_and_update().as_ref().map(ids_of).as_deref() != Some(ids) {
            return;
        }
    }
}

/// Resolves when a held lock is lost (or, holding none, when the connection is).
async fn any_lost(held: &[LockGuard], client: &Client, policy: LossPolicy) -> LostReason {
    if held.is_empty() {
        return match policy.lost(client).await {
            ConnectionState::Suspended => LostReason::Suspended,
            _ => LostReason::SessionEnded,
        };
    }
    let losses = held.iter().map(|guard| Box::pin(guard.lost()));
    futures::future::select_all(losses).await.0
}

fn ids_of(members: &Members) -> Vec<String> {
    let mut ids: Vec<String> = members.values().map(|m| m.id.clone()).collect();
    ids.sort();
    ids
}

fn normalize(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

fn check_names(names: &[String]) -> Result<()> {
    match names
        .iter()
        .find(|n| n.is_empty() || n.contains('/') || *n == "." || *n == "..")
    {
        Some(bad) => Err(Error::InvalidArgument(format!(
            "{bad:?} cannot be a node name"
        ))),
        None => Ok(()),
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
