//! [`LeaderLatch`]: Curator's `LeaderLatch`, with leadership confirmed only while our node
//! exists and belongs to our session, terms with fencing tokens, and leader changes as a
//! stream.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use zk_client::{Client, Error as ZkError, EventType, OneshotWatcher, Stat};

use super::leadership::{Leadership, TermEnd};
use super::observe::LeaderObserver;
use crate::error::{Error, Result, zk};
use crate::lock::LostReason;
use crate::lock::Participant;
use crate::lock::guard::delete_node;
use crate::lock::handle::read_participants;
use crate::lock::names::contenders;
use crate::protected::{self, join, wait_connected};
use crate::state::LossPolicy;

/// The name of a latch node after its protected prefix: `_c_{uuid}-latch-{seq}`.
pub(crate) const LATCH: &str = "latch-";

/// A participant in a leader election with Curator's `LeaderLatch` layout: an
/// ephemeral-sequential node `<path>/_c_{uuid}-latch-{seq}` whose data is the participant
/// id; the lowest sequence leads, the others each watch their predecessor.
///
/// [`start`](Self::start) joins the election in a background task, which keeps our node
/// and re-checks the election after every change: our predecessor going, a reconnect, our
/// node or the election's path deleted (it joins again). Leadership is granted only while
/// our node is first *and* its `ephemeralOwner` is our session (CURATOR-696), and ends
/// when the [loss policy](LossPolicy) says so: by default as soon as the connection is
/// lost. Each grant is a [`Leadership`] term with a fencing token.
///
/// [`close`](Self::close) leaves the election and deletes our node; dropping the latch
/// does the same in the background. Several latches, on one path or several, can share a
/// client: each is its own participant.
///
/// ```no_run
/// use zk_recipes::election::LeaderLatch;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let latch = LeaderLatch::new(&client, "/services/billing/leader").data("host-a:8080");
/// latch.start()?;
/// let term = latch.await_leadership().await?;
/// tokio::select! {
///     // The leader's work, with the term's fencing token for the resources it writes.
///     () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
///     why = term.lost() => eprintln!("no longer leader: {why}"),
/// }
/// latch.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaderLatch {
    client: Client,
    path: String,
    data: Bytes,
    policy: LossPolicy,
    status: Arc<watch::Sender<Status>>,
    run: StdMutex<Run>,
}

/// What the latch's task reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Status {
    /// The current term, while we lead.
    leadership: Option<Leadership>,
    /// Our node, while we are in the election.
    node: Option<Arc<str>>,
    /// Why the latch is over, once it is.
    ended: Option<Ended>,
}

#[derive(Clone, Debug)]
enum Ended {
    Closed,
    Failed(Error),
}

#[derive(Debug)]
enum Run {
    Idle,
    /// `stop`: sent by `close` (which then deletes the node itself); dropped by `Drop`
    /// (the task deletes it in the background).
    Running {
        stop: oneshot::Sender<()>,
        task: JoinHandle<Slot>,
    },
    Closed,
}

impl LeaderLatch {
    /// A latch on the election at `path`. Creates nothing until [`start`](Self::start).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let latch = zk_recipes::election::LeaderLatch::new(&client, "/election");
    /// # drop(latch); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self {
            client: client.clone(),
            path: path.to_owned(),
            data: Bytes::new(),
            policy: LossPolicy::standard(),
            status: Arc::new(watch::channel(Status::default()).0),
            run: StdMutex::new(Run::Idle),
        }
    }

    /// The data of our node: the participant id others see in
    /// [`participants`](Self::participants) and [`observe`](Self::observe) (Curator reads
    /// it as the id). Default empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let latch = zk_recipes::election::LeaderLatch::new(&client, "/e").data("host-a");
    /// # drop(latch); }
    /// ```
    #[must_use]
    pub fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.data = data.into();
        self
    }

    /// When leadership must be considered lost ([`Leadership::lost`]). Default
    /// [`LossPolicy::standard`]: as soon as the connection is lost.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::state::LossPolicy;
    /// let latch = zk_recipes::election::LeaderLatch::new(&client, "/e")
    ///     .loss_policy(LossPolicy::session());
    /// # drop(latch); }
    /// ```
    #[must_use]
    pub fn loss_policy(mut self, policy: LossPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The election's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::election::LeaderLatch::new(&client, "/e").path(), "/e");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Joins the election: a background task creates our node and follows the election
    /// until [`close`](Self::close), a drop, or the end of the session.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when already started, or outside a tokio runtime;
    /// [`Error::Closed`] after [`close`](Self::close).
    ///
    /// ```no_run
    /// # fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// latch.start()?;
    /// # Ok(()) }
    /// ```
    pub fn start(&self) -> Result<()> {
        let mut run = lock(&self.run);
        match *run {
            Run::Idle => {}
            Run::Running { .. } => {
                return Err(Error::InvalidArgument(
                    "the latch is already started".into(),
                ));
            }
            Run::Closed => return Err(Error::Closed),
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidArgument("start needs a tokio runtime".into()))?;
        let (stop, stopped) = oneshot::channel();
        let ctx = Ctx {
            client: self.client.clone(),
            path: self.path.clone(),
            data: self.data.clone(),
            policy: self.policy,
            status: self.status.clone(),
            term: StdMutex::new(None),
        };
        let span = tracing::info_span!("leader_latch", path = %self.path);
        let task = runtime.spawn(drive(ctx, stopped).instrument(span));
        *run = Run::Running { stop, task };
        Ok(())
    }

    /// Whether we lead now.
    ///
    /// ```no_run
    /// # fn _example(latch: zk_recipes::election::LeaderLatch) {
    /// if latch.has_leadership() {
    ///     println!("leading");
    /// }
    /// # }
    /// ```
    pub fn has_leadership(&self) -> bool {
        self.leadership().is_some()
    }

    /// The current term, while we lead.
    ///
    /// ```no_run
    /// # fn _example(latch: zk_recipes::election::LeaderLatch) {
    /// if let Some(term) = latch.leadership() {
    ///     println!("leading with token {}", term.fencing_token());
    /// }
    /// # }
    /// ```
    pub fn leadership(&self) -> Option<Leadership> {
        self.status
            .borrow()
            .leadership
            .clone()
            .filter(Leadership::is_current)
    }

    /// The fencing token of the current term, while we lead: the czxid of our node.
    ///
    /// ```no_run
    /// # fn _example(latch: zk_recipes::election::LeaderLatch) {
    /// let token: Option<i64> = latch.fencing_token();
    /// # let _ = token; }
    /// ```
    pub fn fencing_token(&self) -> Option<i64> {
        self.leadership().map(|term| term.fencing_token())
    }

    /// A multi fenced by the current term ([`Leadership::fenced`]).
    ///
    /// # Errors
    ///
    /// [`Error::NotLeader`] when we do not lead.
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// latch.fenced()?.set_data("/config/owner", b"me", None).commit().await?;
    /// # Ok(()) }
    /// ```
    pub fn fenced(&self) -> Result<zk_client::MultiBuilder> {
        self.leadership()
            .map(|term| term.fenced())
            .ok_or(Error::NotLeader)
    }

    /// Waits until we lead, and returns the term. Cancel-safe: dropping the future changes
    /// nothing (the latch stays in the election).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] before [`start`](Self::start); [`Error::Closed`] once
    /// closed; [`Error::SessionEnded`] when the session ended (the latch is over: start a
    /// new one on a new client); the error that stopped the latch otherwise.
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// let term = latch.await_leadership().await?;
    /// # let _ = term; Ok(()) }
    /// ```
    pub async fn await_leadership(&self) -> Result<Leadership> {
        if matches!(*lock(&self.run), Run::Idle) {
            return Err(Error::InvalidArgument(
                "start the latch before waiting for leadership".into(),
            ));
        }
        let mut status = self.status.subscribe();
        loop {
            let seen = status
                .wait_for(|s| {
                    s.ended.is_some() || s.leadership.as_ref().is_some_and(Leadership::is_current)
                })
                .await
                .map_err(|_| Error::Closed)?
                .clone();
            if let Some(ended) = seen.ended {
                return Err(match ended {
                    Ended::Closed => Error::Closed,
                    Ended::Failed(e) => e,
                });
            }
            if let Some(term) = seen.leadership.filter(Leadership::is_current) {
                return Ok(term);
            }
        }
    }

    /// Like [`await_leadership`](Self::await_leadership), for at most `timeout`: `None`
    /// when we do not lead by then.
    ///
    /// # Errors
    ///
    /// As [`await_leadership`](Self::await_leadership).
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// let term = latch.await_leadership_timeout(std::time::Duration::from_secs(5)).await?;
    /// println!("leading: {}", term.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn await_leadership_timeout(&self, timeout: Duration) -> Result<Option<Leadership>> {
        match tokio::time::timeout(timeout, self.await_leadership()).await {
            Ok(term) => term.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Sets the data of our node while we lead, without a new election: observers see the
    /// change ([`observe`](Self::observe)) with the same term.
    ///
    /// # Errors
    ///
    /// [`Error::NotLeader`] when we do not lead (or our node just went); the ZooKeeper
    /// errors of the setData.
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// latch.proclaim("host-a:8080 (draining)").await?;
    /// # Ok(()) }
    /// ```
    pub async fn proclaim(&self, data: impl Into<Bytes>) -> Result<()> {
        let term = self.leadership().ok_or(Error::NotLeader)?;
        match self.client.set_data(term.node(), &data.into(), None).await {
            Ok(_) => Ok(()),
            Err(ZkError::NoNode(_)) => Err(Error::NotLeader),
            Err(e) => Err(zk(e)),
        }
    }

    /// Our node, while we are in the election.
    ///
    /// ```no_run
    /// # fn _example(latch: zk_recipes::election::LeaderLatch) {
    /// println!("{:?}", latch.node());
    /// # }
    /// ```
    pub fn node(&self) -> Option<String> {
        self.status.borrow().node.as_deref().map(str::to_owned)
    }

    /// The participants in election order, with their data; the first one
    /// (`holds == true`) leads. Needs no start.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the reads (a missing path is an empty election).
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// for p in latch.participants().await? {
    ///     println!("{} {:?} leads: {}", p.node, p.data, p.holds);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        read_participants(&self.client, &self.path, &[LATCH], |_, index| index == 0).await
    }

    /// The current leader, if any.
    ///
    /// # Errors
    ///
    /// As [`participants`](Self::participants).
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// if let Some(leader) = latch.leader().await? {
    ///     println!("led by {:?}", leader.data);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn leader(&self) -> Result<Option<Participant>> {
        Ok(self.participants().await?.into_iter().find(|p| p.holds))
    }

    /// The leader changes of this election, in order, as a stream
    /// ([`super::observe`]).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) {
    /// let mut leaders = latch.observe();
    /// while let Some(leader) = leaders.next().await {
    ///     println!("{leader:?}");
    /// }
    /// # }
    /// ```
    pub fn observe(&self) -> LeaderObserver {
        LeaderObserver::new(&self.client, &self.path, LATCH)
    }

    /// Leaves the election: ends the term (its [`Leadership::lost`] says
    /// [`LostReason::Closed`]), stops the task and deletes our node. Idempotent.
    ///
    /// # Errors
    ///
    /// Only when the session ended meanwhile, when the node is gone with it anyway.
    ///
    /// ```no_run
    /// # async fn _example(latch: zk_recipes::election::LeaderLatch) -> zk_recipes::Result<()> {
    /// latch.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        let run = std::mem::replace(&mut *lock(&self.run), Run::Closed);
        let slot = match run {
            Run::Running { stop, task } => {
                let _ = stop.send(());
                task.await.ok()
            }
            Run::Idle | Run::Closed => None,
        };
        self.status.send_modify(|s| {
            s.leadership = None;
            s.node = None;
            if s.ended.is_none() {
                s.ended = Some(Ended::Closed);
            }
        });
        match slot {
            Some(Slot {
                node: Some((node, _)),
                ..
            }) => delete_node(&self.client, &node).await,
            Some(slot) => {
                slot.forget(&self.client, &self.path);
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// The std mutex's value, whatever a panicking holder left.
fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the task knows about our node.
#[derive(Debug)]
struct Slot {
    prefix: String,
    node: Option<(Arc<str>, Stat)>,
    /// A create was sent: a node of `prefix` may exist even when `node` is `None`.
    attempted: bool,
}

impl Slot {
    /// Deletes, in the background, whatever node we have or may have.
    fn forget(&self, client: &Client, parent: &str) {
        if self.attempted {
            let known = self.node.as_ref().map(|(node, _)| &**node);
            protected::forget(client, parent, &self.prefix, known);
        }
    }
}

/// What the task shares with the latch.
struct Ctx {
    client: Client,
    path: String,
    data: Bytes,
    policy: LossPolicy,
    status: Arc<watch::Sender<Status>>,
    term: StdMutex<Option<TermEnd>>,
}

impl Ctx {
    /// We lead with `node`: a new term unless this one is already running.
    fn lead(&self, node: &Arc<str>, czxid: i64) {
        let current = self
            .status
            .borrow()
            .leadership
            .as_ref()
            .is_some_and(|t| t.node() == &**node && t.is_current());
        if current {
            return;
        }
        let (term, end) = Leadership::begin(&self.client, node.clone(), czxid);
        tracing::info!(%node, token = czxid, "leading");
        *lock(&self.term) = Some(end);
        self.status.send_modify(|s| s.leadership = Some(term));
    }

    /// We do not lead (any more): the term, if one runs, ends for `why`.
    fn follow(&self, why: LostReason) {
        if let Some(end) = lock(&self.term).take() {
            tracing::info!(%why, "no longer leading");
            end.end(why);
        }
        self.status
            .send_if_modified(|s| s.leadership.take().is_some());
    }

    fn set_node(&self, node: Option<Arc<str>>) {
        self.status.send_modify(|s| s.node = node);
    }
}

/// The latch's task: runs the election until stopped or the session ends.
async fn drive(ctx: Ctx, mut stopped: oneshot::Receiver<()>) -> Slot {
    let mut slot = Slot {
        prefix: protected::new_prefix(),
        node: None,
        attempted: false,
    };
    let outcome = tokio::select! {
        biased;
        closing = &mut stopped => Err(closing.is_ok()),
        result = run(&ctx, &mut slot) => Ok(result),
    };
    match outcome {
        // `close` deletes the node.
        Err(true) => ctx.follow(LostReason::Closed),
        // Dropped: delete it here.
        Err(false) => {
            ctx.follow(LostReason::Closed);
            slot.forget(&ctx.client, &ctx.path);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the latch stopped");
            ctx.follow(match e {
                Error::SessionEnded(_) => LostReason::SessionEnded,
                _ => LostReason::Closed,
            });
            slot.forget(&ctx.client, &ctx.path);
            ctx.status.send_modify(|s| {
                s.node = None;
                s.ended = Some(Ended::Failed(e));
            });
        }
    }
    slot
}

/// The election loop (Curator's `reset` and `checkLeadership`): every pass makes sure we
/// have a node of this session with a watch on it, reads the children, and leads or waits
/// for the predecessor. The watch on our node is set with the read of the children (both
/// go out together) and kept across passes, so a pass costs one round trip, and a
/// follower also learns at once when its own node is deleted. Returns only with the error
/// that ends the latch.
async fn run(ctx: &Ctx, slot: &mut Slot) -> Result<std::convert::Infallible> {
    let client = &ctx.client;
    let mut lost_reply = false;
    let mut own: Option<OneshotWatcher> = None;
    loop {
        wait_connected(client).await?;
        let (node, stat) = match slot.node.clone() {
            Some((node, stat)) if stat.ephemeral_owner == client.session_id() => (node, stat),
            stale => {
                if let Some((old, _)) = stale {
                    // A node of another session never leads for us (CURATOR-696).
                    let _ = client.delete_in_background(&old, None);
                    slot.node = None;
                    slot.prefix = protected::new_prefix();
                }
                own = None;
                slot.attempted = true;
                let created = protected::create(
                    client,
                    &ctx.path,
                    &slot.prefix,
                    LATCH,
                    &ctx.data,
                    std::mem::take(&mut lost_reply),
                )
                .await?;
                let node: Arc<str> = created.path.into();
                slot.node = Some((node.clone(), created.stat));
                ctx.set_node(Some(node.clone()));
                (node, created.stat)
            }
        };
        let arm = own.is_none().then(|| client.exists_and_watch(&node));
        let children = client.get_children(&ctx.path);
        if let Some(arm) = arm {
            match arm.await {
                Ok((Some(_), watch)) => own = Some(watch),
                Ok((None, _)) => {
                    gone(ctx, slot);
                    continue;
                }
                Err(e) if e.is_connection_loss() => continue,
                Err(e) => return Err(zk(e)),
            }
        }
        let children = match children.await {
            Ok((children, _)) => children,
            // The election's path is gone, and our node with it (CURATOR-724): join again.
            Err(ZkError::NoNode(_)) => {
                gone(ctx, slot);
                continue;
            }
            Err(e) if e.is_connection_loss() => continue,
            Err(e) => return Err(zk(e)),
        };
        let contenders = contenders(&children, &[LATCH]);
        let ours = node.rsplit('/').next().unwrap_or_default();
        let Some(watch) = own.as_mut() else { continue };
        let event = match contenders.iter().position(|c| c.name == ours) {
            None => {
                gone(ctx, slot);
                continue;
            }
            Some(0) if stat.ephemeral_owner == client.session_id() => {
                // Leads while our node is first and ours, until it changes or goes or the
                // loss policy says so.
                ctx.lead(&node, stat.czxid);
                tokio::select! {
                    event = watch => Some(event),
                    state = ctx.policy.lost(client) => {
                        ctx.follow(match state {
                            crate::state::ConnectionState::Suspended => LostReason::Suspended,
                            _ => LostReason::SessionEnded,
                        });
                        None
                    }
                }
            }
            // Not ours: the next pass replaces it.
            Some(0) => None,
            Some(index) => {
                // Our node stays first once it is (no later node sorts before it), so
                // there is no term to end here but after a sequence wrap.
                ctx.follow(LostReason::NodeDeleted);
                let predecessor = join(&ctx.path, &contenders[index - 1].name);
                let mut states = client.state_watcher();
                match client.get_data_and_watch(&predecessor).await {
                    Ok((_, _, changed)) => tokio::select! {
                        _ = changed => None,
                        _ = states.changed() => None,
                        event = watch => Some(event),
                    },
                    Err(ZkError::NoNode(_)) => None,
                    Err(e) if e.is_connection_loss() => None,
                    Err(e) => return Err(zk(e)),
                }
            }
        };
        // Our node's watch fired: it is used up, and says whether the node is gone.
        if let Some(event) = event {
            own = None;
            match event {
                Ok(event) if event.event_type == EventType::NodeDeleted => gone(ctx, slot),
                // Our data changed (proclaimed): still ours; look again.
                Ok(_) => {}
                Err(e) if e.is_terminal() => return Err(zk(e)),
                Err(_) => {}
            }
        }
    }
}

/// Our node is gone: the term ends, and the next pass makes a new one.
fn gone(ctx: &Ctx, slot: &mut Slot) {
    ctx.follow(LostReason::NodeDeleted);
    slot.node = None;
    ctx.set_node(None);
}
