//! [`LeaderObserver`]: the leader changes of an election, in order, for participants and
//! for processes that only watch.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::sync::{mpsc, watch};
use tracing::Instrument as _;
use zk_client::{AddWatchMode, Client, Error as ZkError, EventType, SessionState};

use crate::lock::names::{contenders, sequence_of};
use crate::protected::{join, wait_connected};

/// The leader of an election, as an observer saw it.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct Leader {
    /// The leader's node (a client path).
    pub node: String,
    /// Its data: the participant id, or what the leader last proclaimed.
    pub data: Bytes,
    /// Its term's fencing token: the czxid of its node.
    pub fencing_token: i64,
}

/// The leader changes of one election as a [`Stream`]: `Some(leader)` when a participant
/// leads, or when the leader proclaims new data; `None` when nobody does. The first item
/// is the state when observing starts.
///
/// It follows the election with one persistent recursive watch, applying every
/// creation and deletion of a contender in the order the server made them, and reads each
/// contender's data as it joins, so a leader that led only between two reads is still
/// reported (one whose node was gone before its data could be read is not). After a
/// reconnect it reads the election again rather than trusting what it may have missed,
/// and reports only what changed. It ends when the session does; dropping it stops the
/// watch. It needs a tokio runtime where it is made (else it ends at once).
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(client: zk_client::Client) {
/// let mut leaders = zk_recipes::election::observe(&client, "/services/billing/leader");
/// while let Some(leader) = leaders.next().await {
///     match leader {
///         Some(l) => println!("led by {:?} (term {})", l.data, l.fencing_token),
///         None => println!("no leader"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct LeaderObserver {
    changes: mpsc::UnboundedReceiver<Option<Leader>>,
    latest: watch::Receiver<Option<Option<Leader>>>,
}

/// Observes the [`LeaderLatch`](super::LeaderLatch) election at `path`, as a participant or
/// not ([`LeaderObserver`]).
///
/// ```no_run
/// # async fn _example(client: zk_client::Client) {
/// let leaders = zk_recipes::election::observe(&client, "/election");
/// # drop(leaders); }
/// ```
pub fn observe(client: &Client, path: &str) -> LeaderObserver {
    LeaderObserver::new(client, path, super::latch::LATCH)
}

impl LeaderObserver {
    /// Observes the election at `path` whose contenders are named `…{name}{seq}`.
    pub(crate) fn new(client: &Client, path: &str, name: &'static str) -> Self {
        let (tx, changes) = mpsc::unbounded_channel();
        let latest = spawn(client, path, name, Some(tx));
        Self { changes, latest }
    }

    /// The latest leader seen: `None` before the first read, `Some(None)` when nobody
    /// leads.
    ///
    /// ```no_run
    /// # fn _example(leaders: zk_recipes::election::LeaderObserver) {
    /// if let Some(Some(leader)) = leaders.latest() {
    ///     println!("led by {:?}", leader.data);
    /// }
    /// # }
    /// ```
    pub fn latest(&self) -> Option<Option<Leader>> {
        self.latest.borrow().clone()
    }

    /// Waits until the first read is done, and returns the leader of that moment or later.
    ///
    /// ```no_run
    /// # async fn _example(leaders: zk_recipes::election::LeaderObserver) {
    /// let now = leaders.current().await;
    /// # let _ = now; }
    /// ```
    pub async fn current(&self) -> Option<Leader> {
        let mut latest = self.latest.clone();
        match latest.wait_for(Option::is_some).await {
            Ok(seen) => seen.clone().flatten(),
            Err(_) => self.latest().flatten(),
        }
    }
}

impl Stream for LeaderObserver {
    type Item = Option<Leader>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.changes.poll_recv(cx)
    }
}

/// The latest leader of the election at `path`, kept by a task that runs until every
/// receiver is dropped (and sends each change to `tx` too, when given). Without a tokio
/// runtime the receiver stays empty.
pub(crate) fn spawn(
    client: &Client,
    path: &str,
    name: &'static str,
    tx: Option<mpsc::UnboundedSender<Option<Leader>>>,
) -> watch::Receiver<Option<Option<Leader>>> {
    let (latest_tx, latest) = watch::channel(None);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let span = tracing::debug_span!("observe_leader", path = %path);
        let task = Follow {
            client: client.clone(),
            path: path.to_owned(),
            name,
            tx,
            latest: Arc::new(latest_tx),
            last: None,
        };
        runtime.spawn(task.run().instrument(span));
    }
    latest
}

/// What a pass knows of each contender: its node and data, or `None` when it was gone
/// before it could be read.
type Known = HashMap<String, Option<Leader>>;

/// The observer's task.
struct Follow {
    client: Client,
    path: String,
    name: &'static str,
    tx: Option<mpsc::UnboundedSender<Option<Leader>>>,
    latest: Arc<watch::Sender<Option<Option<Leader>>>>,
    /// The last leader reported, once one was.
    last: Option<Option<Leader>>,
}

/// Why one pass of following ended.
enum Pass {
    /// Read everything again (a reconnect, a watch that could not be set).
    Again,
    /// Stop: the session ended or the stream was dropped.
    Stop,
}

impl Follow {
    async fn run(mut self) {
        loop {
            if wait_connected(&self.client).await.is_err() {
                return;
            }
            let latest = self.latest.clone();
            let pass = tokio::select! {
                pass = self.pass() => pass,
                () = latest.closed() => Pass::Stop,
            };
            if matches!(pass, Pass::Stop) {
                return;
            }
            // Not in a hurry: a connection loss is seen by the state a moment later.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Sets the watch, reads the election (every contender's data, pipelined), then
    /// applies events until a reconnect.
    async fn pass(&mut self) -> Pass {
        let client = self.client.clone();
        let mut states = client.state_watcher();
        let mut watcher = match client
            .watch(&self.path, AddWatchMode::PersistentRecursive)
            .await
        {
            Ok(watcher) => watcher,
            Err(e) => return again_unless_over(&e),
        };
        let children = match client.get_children(&self.path).await {
            Ok((children, _)) => children,
            Err(ZkError::NoNode(_)) => Vec::new(),
            Err(e) => return again_unless_over(&e),
        };
        // Events queued now may be older than the read or newer: none is dropped, since
        // applying an old one changes nothing (a creation is read again, and a deleted
        // sequential node never comes back).
        let names: Vec<String> = contenders(&children, &[self.name])
            .into_iter()
            .map(|c| c.name)
            .collect();
        let reads: Vec<_> = names
            .iter()
            .map(|name| client.get_data(&join(&self.path, name)))
            .collect();
        let mut known = Known::new();
        for (name, read) in names.into_iter().zip(reads) {
            match self.contender(&name, read.await) {
                Ok(read) => known.insert(name, read),
                Err(pass) => return pass,
            };
        }
        let mut leader = self.first(&known);
        if !self.report(&known, leader.as_deref()) {
            return Pass::Stop;
        }
        loop {
            tokio::select! {
                event = watcher.next_event() => {
                    let Some(event) = event else { return Pass::Stop };
                    let mut reread = false;
                    if event.path == self.path && event.event_type == EventType::NodeDeleted {
                        known.clear();
                    } else if zk_client::proto::path::parent(&event.path) == Some(self.path.as_str()) {
                        let name = event.path.rsplit('/').next().unwrap_or_default().to_owned();
                        match event.event_type {
                            EventType::NodeDeleted => { known.remove(&name); }
                            EventType::NodeCreated | EventType::NodeDataChanged
                                if sequence_of(&name, &[self.name]).is_some() =>
                            {
                                reread = leader.as_deref() == Some(name.as_str());
                                let read = client.get_data(&event.path).await;
                                match self.contender(&name, read) {
                                    Ok(read) => known.insert(name, read),
                                    Err(pass) => return pass,
                                };
                            }
                            _ => {}
                        }
                    }
                    let now = self.first(&known);
                    if now != leader || reread {
                        leader = now;
                        if !self.report(&known, leader.as_deref()) {
                            return Pass::Stop;
                        }
                    }
                }
                state = states.changed() => match state {
                    Ok(SessionState::Connected | SessionState::ConnectedReadOnly) => return Pass::Again,
                    Ok(s) if s.is_terminal() => return Pass::Stop,
                    Ok(_) => {}
                    Err(_) => return Pass::Stop,
                },
            }
        }
    }

    /// A contender's read: `None` when its node was already gone (its deletion event
    /// follows); a failed read ends the pass.
    fn contender(
        &self,
        name: &str,
        read: zk_client::Result<(Bytes, zk_client::Stat)>,
    ) -> Result<Option<Leader>, Pass> {
        match read {
            Ok((data, stat)) => Ok(Some(Leader {
                node: join(&self.path, name),
                data,
                fencing_token: stat.czxid,
            })),
            Err(ZkError::NoNode(_)) => Ok(None),
            Err(e) => Err(again_unless_over(&e)),
        }
    }

    /// The first contender.
    fn first(&self, known: &Known) -> Option<String> {
        let names: Vec<String> = known.keys().cloned().collect();
        contenders(&names, &[self.name])
            .into_iter()
            .next()
            .map(|c| c.name)
    }

    /// Reports the leader `name` if anything changed; `false` once the stream is dropped.
    /// A leader whose node was gone before its data could be read is not reported (its
    /// deletion is on the way).
    fn report(&mut self, known: &Known, name: Option<&str>) -> bool {
        let now = match name {
            None => None,
            Some(name) => match known.get(name) {
                Some(Some(leader)) => Some(leader.clone()),
                _ => return true,
            },
        };
        if self.last.as_ref() == Some(&now) {
            return true;
        }
        tracing::debug!(leader = ?now.as_ref().map(|l| &l.node), "leader changed");
        self.last = Some(now.clone());
        self.latest.send_replace(Some(now.clone()));
        match &self.tx {
            Some(tx) => tx.send(now).is_ok(),
            None => true,
        }
    }
}

/// A failed call: try again once connected after a connection loss; stop otherwise (the
/// session is over, or the path cannot be watched or read).
fn again_unless_over(e: &ZkError) -> Pass {
    if e.is_connection_loss() {
        Pass::Again
    } else {
        if !e.is_terminal() {
            tracing::warn!(error = %e, "cannot observe the election");
        }
        Pass::Stop
    }
}
