//! [`LeaderSelector`]: Curator's `LeaderSelector`: the leader's work is a future that
//! runs while it holds the election's mutex, and is cancelled when leadership is lost.

use std::sync::{Arc, Mutex as StdMutex};

use bytes::Bytes;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use zk_client::Client;

use super::leadership::Leadership;
use super::observe::LeaderObserver;
use crate::error::{Error, Result};
use crate::lock::{LostReason, Mutex, Participant};
use crate::state::LossPolicy;

/// A participant in a leader election on Curator's `LeaderSelector` layout (an
/// [`InterProcessMutex`](crate::lock::Mutex) at the election's path:
/// `_c_{uuid}-lock-{seq}`, data = participant id).
///
/// [`start`](Self::start) runs, in a background task: take the mutex, run the leader's
/// work with a [`Leadership`] term, and give the mutex back when the work returns (the
/// leader resigns), when leadership is lost under the loss policy, or when
/// [`interrupt_leadership`](Self::interrupt_leadership) is called. The work future is
/// dropped (cancelled) at that point. With [`auto_requeue`](Self::auto_requeue) the
/// selector then joins the election again; without, it stops after one term, as Curator's
/// does.
///
/// ```no_run
/// use zk_recipes::election::LeaderSelector;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let selector = LeaderSelector::new(&client, "/services/billing/selector")
///     .data("host-a")
///     .auto_requeue(true);
/// selector.start(|term| async move {
///     println!("leading with token {}", term.fencing_token());
///     // Leader's work; dropped as soon as leadership is lost.
///     std::future::pending::<()>().await
/// })?;
/// # selector.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaderSelector {
    mutex: Mutex,
    auto_requeue: bool,
    status: Arc<watch::Sender<Status>>,
    interrupts: Arc<watch::Sender<u64>>,
    run: StdMutex<Run>,
}

#[derive(Clone, Debug, Default)]
struct Status {
    leadership: Option<Leadership>,
    terms: u64,
}

#[derive(Debug)]
enum Run {
    Idle,
    Running {
        _stop: oneshot::Sender<()>,
        task: JoinHandle<()>,
    },
    Closed,
}

impl LeaderSelector {
    /// A selector on the election at `path`. Creates nothing until
    /// [`start`](Self::start).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let selector = zk_recipes::election::LeaderSelector::new(&client, "/election");
    /// # drop(selector); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self {
            mutex: Mutex::new(client, path),
            auto_requeue: false,
            status: Arc::new(watch::channel(Status::default()).0),
            interrupts: Arc::new(watch::channel(0).0),
            run: StdMutex::new(Run::Idle),
        }
    }

    /// The data of our node: the participant id others see. Default empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let s = zk_recipes::election::LeaderSelector::new(&client, "/e").data("host-a");
    /// # drop(s); }
    /// ```
    #[must_use]
    pub fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.mutex = self.mutex.data(data);
        self
    }

    /// When leadership must be considered lost. Default [`LossPolicy::standard`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::state::LossPolicy;
    /// let s = zk_recipes::election::LeaderSelector::new(&client, "/e")
    ///     .loss_policy(LossPolicy::session());
    /// # drop(s); }
    /// ```
    #[must_use]
    pub fn loss_policy(mut self, policy: LossPolicy) -> Self {
        self.mutex = self.mutex.loss_policy(policy);
        self
    }

    /// Join the election again after each term (Curator's `autoRequeue`). Default off.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let s = zk_recipes::election::LeaderSelector::new(&client, "/e").auto_requeue(true);
    /// # drop(s); }
    /// ```
    #[must_use]
    pub fn auto_requeue(mut self, requeue: bool) -> Self {
        self.auto_requeue = requeue;
        self
    }

    /// Joins the election; `work` runs each time we lead, with the term.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when already started, or outside a tokio runtime;
    /// [`Error::Closed`] after [`close`](Self::close).
    ///
    /// ```no_run
    /// # fn _example(selector: zk_recipes::election::LeaderSelector) -> zk_recipes::Result<()> {
    /// selector.start(|term| async move { println!("term {}", term.fencing_token()) })?;
    /// # Ok(()) }
    /// ```
    pub fn start<F, Fut>(&self, work: F) -> Result<()>
    where
        F: FnMut(Leadership) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut run = lock(&self.run);
        match *run {
            Run::Idle => {}
            Run::Running { .. } => {
                return Err(Error::InvalidArgument(
                    "the selector is already started".into(),
                ));
            }
            Run::Closed => return Err(Error::Closed),
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidArgument("start needs a tokio runtime".into()))?;
        let (stop, stopped) = oneshot::channel();
        let select = Select {
            mutex: self.mutex.clone(),
            auto_requeue: self.auto_requeue,
            status: self.status.clone(),
            interrupts: self.interrupts.subscribe(),
        };
        let span = tracing::info_span!("leader_selector", path = %self.mutex.path());
        let task = runtime.spawn(select.run(work, stopped).instrument(span));
        *run = Run::Running { _stop: stop, task };
        Ok(())
    }

    /// Whether we lead now.
    ///
    /// ```no_run
    /// # fn _example(selector: zk_recipes::election::LeaderSelector) {
    /// println!("leading: {}", selector.has_leadership());
    /// # }
    /// ```
    pub fn has_leadership(&self) -> bool {
        self.status
            .borrow()
            .leadership
            .as_ref()
            .is_some_and(Leadership::is_current)
    }

    /// How many terms this selector has led.
    ///
    /// ```no_run
    /// # fn _example(selector: zk_recipes::election::LeaderSelector) {
    /// println!("{} terms", selector.terms());
    /// # }
    /// ```
    pub fn terms(&self) -> u64 {
        self.status.borrow().terms
    }

    /// Ends the current term, if we lead: the work is cancelled and the mutex given
    /// back (then, with auto-requeue, the selector joins again). Does nothing otherwise.
    ///
    /// ```no_run
    /// # fn _example(selector: zk_recipes::election::LeaderSelector) {
    /// selector.interrupt_leadership();
    /// # }
    /// ```
    pub fn interrupt_leadership(&self) {
        self.interrupts.send_modify(|n| *n += 1);
    }

    /// The participants in election order, with their data; the first one leads.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the reads.
    ///
    /// ```no_run
    /// # async fn _example(selector: zk_recipes::election::LeaderSelector) -> zk_recipes::Result<()> {
    /// println!("{:?}", selector.participants().await?);
    /// # Ok(()) }
    /// ```
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        self.mutex.participants().await
    }

    /// The leader changes of this election, in order ([`LeaderObserver`]).
    ///
    /// ```no_run
    /// # fn _example(selector: zk_recipes::election::LeaderSelector) {
    /// let leaders = selector.observe();
    /// # drop(leaders); }
    /// ```
    pub fn observe(&self) -> LeaderObserver {
        LeaderObserver::new(self.mutex.client(), self.mutex.path(), "lock-")
    }

    /// Leaves the election: cancels the work, gives the mutex back (or stops waiting for
    /// it) and returns once the task is done. Idempotent.
    ///
    /// ```no_run
    /// # async fn _example(selector: zk_recipes::election::LeaderSelector) {
    /// selector.close().await;
    /// # }
    /// ```
    pub async fn close(&self) {
        let run = std::mem::replace(&mut *lock(&self.run), Run::Closed);
        if let Run::Running { _stop, task } = run {
            drop(_stop);
            let _ = task.await;
        }
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The selector's task.
struct Select {
    mutex: Mutex,
    auto_requeue: bool,
    status: Arc<watch::Sender<Status>>,
    interrupts: watch::Receiver<u64>,
}

impl Select {
    async fn run<F, Fut>(mut self, mut work: F, mut stopped: oneshot::Receiver<()>)
    where
        F: FnMut(Leadership) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        loop {
            let acquired = tokio::select! {
                _ = &mut stopped => return,
                acquired = self.mutex.acquire() => acquired,
            };
            let guard = match acquired {
                Ok(guard) => guard,
                Err(e) if e.is_retryable() => {
                    tracing::debug!(error = %e, "acquire failed; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the selector stopped");
                    return;
                }
            };
            let (term, end) = Leadership::begin(
                self.mutex.client(),
                guard.node().into(),
                guard.fencing_token(),
            );
            self.interrupts.mark_unchanged();
            self.status.send_modify(|s| {
                s.leadership = Some(term.clone());
                s.terms += 1;
            });
            tracing::info!(node = %guard.node(), token = guard.fencing_token(), "leading");
            let mut stop = false;
            let why = tokio::select! {
                () = work(term) => LostReason::Closed,
                why = guard.lost() => why,
                _ = self.interrupts.changed() => LostReason::Closed,
                _ = &mut stopped => { stop = true; LostReason::Closed }
            };
            tracing::info!(%why, "no longer leading");
            end.end(why);
            self.status.send_modify(|s| s.leadership = None);
            // Given back before joining again, so we never hold two nodes (CURATOR-337).
            if let Err(e) = guard.release().await {
                tracing::debug!(error = %e, "release");
            }
            if stop || !self.auto_requeue {
                return;
            }
        }
    }
}
