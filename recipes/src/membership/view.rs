//! [`MembershipWatch`]: a group's members, kept current by a task, as a latest value and
//! as a stream of joins, leaves and updates.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument as _;
use zk_client::{AddWatchMode, Client, Error as ZkError, EventType, SessionState, WatchedEvent};

use crate::protected::{join, wait_connected};

/// The members of a group, by node name.
pub type Members = BTreeMap<String, Member>;

/// A member of a group, as a view saw it.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct Member {
    /// Its node's name (not the full path).
    pub node: String,
    /// Its id: the node name (Curator's `GroupMember`), the data (kazoo's `Party`), or
    /// what follows the first `-` of the name (kazoo's `ShallowParty`).
    pub id: String,
    /// Its node's data: the payload (Curator) or the identifier (kazoo's `Party`); empty
    /// for a `ShallowParty`, whose data is not read.
    pub data: Bytes,
    /// The zxid that created its node: another value means the node was made again (the
    /// member left and joined). 0 when not read (a `ShallowParty`'s first members).
    pub czxid: i64,
}

/// A change of a group's membership.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum MembershipEvent {
    /// A member joined (or was there when the watch started).
    Joined(Member),
    /// A member left: its node is gone.
    Left(Member),
    /// A member's data changed.
    Updated {
        /// What it was.
        previous: Member,
        /// What it is.
        member: Member,
    },
}

impl MembershipEvent {
    /// The member the event is about (as it is now, or was when it left).
    ///
    /// ```no_run
    /// # fn _example(event: zk_recipes::membership::MembershipEvent) {
    /// println!("{}", event.member().id);
    /// # }
    /// ```
    pub fn member(&self) -> &Member {
        match self {
            Self::Joined(m) | Self::Left(m) | Self::Updated { member: m, .. } => m,
        }
    }
}

/// How a group names its members.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Layout {
    /// Curator's `GroupMember`: `<path>/<id>`, data = payload.
    Curator,
    /// kazoo's `Party`: `<path>/{hex}__party__`, data = identifier.
    Party,
    /// kazoo's `ShallowParty`: `<path>/{hex}-<identifier>`.
    Shallow,
}

/// The name part of kazoo's `Party` nodes.
pub(crate) const PARTY: &str = "__party__";

impl Layout {
    /// Whether `name` is a member node.
    pub(crate) fn accepts(self, name: &str) -> bool {
        match self {
            Self::Party => name.contains(PARTY),
            Self::Curator | Self::Shallow => true,
        }
    }

    fn reads_data(self) -> bool {
        self != Self::Shallow
    }

    pub(crate) fn member(self, node: String, data: Bytes, czxid: i64) -> Member {
        let id = match self {
            Self::Curator => node.clone(),
            Self::Party => String::from_utf8_lossy(&data).into_owned(),
            Self::Shallow => shallow_id(&node).to_owned(),
        };
        Member {
            node,
            id,
            data,
            czxid,
        }
    }
}

/// The identifier of a `ShallowParty` node: what follows the first `-` (the whole name
/// when there is none, as kazoo has it).
pub(crate) fn shallow_id(node: &str) -> &str {
    node.split_once('-').map_or(node, |(_, id)| id)
}

/// The group's members as a [`Stream`] of [`MembershipEvent`]s, with the latest members
/// at hand ([`members`](Self::members)). It starts with a `Joined` for each member known
/// when it was made (none before the first read), then every change.
///
/// The task behind it watches the group with one persistent recursive watch, reads each
/// member's data as it joins or changes (not for a `ShallowParty`), and reads the whole
/// group again after every reconnect, reporting only what changed, by creation zxid and
/// data rather than by version: a member whose node was deleted and made again while we
/// were cut off is a `Left` and a `Joined` even when the new node has the same version
/// (Curator's ABA bug, commit 127efd5e), and a change of data is an `Updated`. An event
/// from before a read is checked against the server first, so it reports nothing stale.
/// The stream ends when
/// the session does (a [`GroupMember`](super::GroupMember) with a session factory goes on
/// with the new session) or its member is closed.
///
/// ```no_run
/// use futures::StreamExt;
/// use zk_recipes::membership::MembershipEvent;
/// # async fn _example(client: zk_client::Client) {
/// let mut group = zk_recipes::membership::watch_group(&client, "/groups/workers");
/// while let Some(event) = group.next().await {
///     match event {
///         MembershipEvent::Joined(m) => println!("{} joined: {:?}", m.id, m.data),
///         MembershipEvent::Left(m) => println!("{} left", m.id),
///         MembershipEvent::Updated { member, .. } => println!("{} now {:?}", member.id, member.data),
///         _ => {}
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct MembershipWatch {
    events: mpsc::UnboundedReceiver<MembershipEvent>,
    latest: watch::Receiver<Option<Members>>,
}

impl MembershipWatch {
    /// The members now, by node name: `None` before the first read.
    ///
    /// ```no_run
    /// # fn _example(group: zk_recipes::membership::MembershipWatch) {
    /// if let Some(members) = group.members() {
    ///     println!("{} members", members.len());
    /// }
    /// # }
    /// ```
    pub fn members(&self) -> Option<Members> {
        self.latest.borrow().clone()
    }

    /// Waits for the first read, and returns the members of that moment or later.
    ///
    /// ```no_run
    /// # async fn _example(group: zk_recipes::membership::MembershipWatch) {
    /// let members = group.current().await;
    /// # let _ = members; }
    /// ```
    pub async fn current(&self) -> Members {
        let mut latest = self.latest.clone();
        match latest.wait_for(Option::is_some).await {
            Ok(seen) => seen.clone().unwrap_or_default(),
            Err(_) => self.members().unwrap_or_default(),
        }
    }

    /// The latest members as a `watch` receiver (closed when the view's task ends).
    pub(crate) fn latest(&self) -> watch::Receiver<Option<Members>> {
        self.latest.clone()
    }
}

impl Stream for MembershipWatch {
    type Item = MembershipEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

/// What a view and its watches share.
#[derive(Debug)]
struct ViewShared {
    latest: watch::Sender<Option<Members>>,
    /// `None` once the task has ended.
    subscribers: StdMutex<Option<Vec<mpsc::UnboundedSender<MembershipEvent>>>>,
}

/// A view of a group, kept by a task.
#[derive(Debug)]
pub(crate) struct View {
    shared: Arc<ViewShared>,
    _latest: watch::Receiver<Option<Members>>,
    /// Dropped (or sent) to stop the task of an owned view.
    _stop: Option<oneshot::Sender<()>>,
}

impl View {
    /// Follows the group at `path` on the sessions `sessions` gives. An `owned` view ends
    /// when it is dropped; another one when every watch of it is. Without a tokio runtime
    /// nothing is read.
    pub(crate) fn spawn(
        sessions: watch::Receiver<(Client, bool)>,
        path: &str,
        layout: Layout,
        owned: bool,
    ) -> Self {
        let (latest, receiver) = watch::channel(None);
        let shared = Arc::new(ViewShared {
            latest,
            subscribers: StdMutex::new(Some(Vec::new())),
        });
        let (stop, stopped) = oneshot::channel();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let follow = Follow {
                sessions,
                path: path.to_owned(),
                layout,
                shared: shared.clone(),
                known: Members::new(),
                first: true,
            };
            let span = tracing::debug_span!("membership", path = %path);
            runtime.spawn(follow.run(owned.then_some(stopped)).instrument(span));
        }
        Self {
            shared,
            _latest: receiver,
            _stop: owned.then_some(stop),
        }
    }

    /// A watch of one session's group: it ends with the session.
    pub(crate) fn watch(client: &Client, path: &str, layout: Layout) -> MembershipWatch {
        let (_, sessions) = watch::channel((client.clone(), false));
        Self::spawn(sessions, path, layout, false).subscribe()
    }

    /// A stream of the view's changes, starting with the members known now.
    pub(crate) fn subscribe(&self) -> MembershipWatch {
        let mut subscribers = lock(&self.shared.subscribers);
        let (tx, events) = mpsc::unbounded_channel();
        if let Some(members) = &*self.shared.latest.borrow() {
            for member in members.values() {
                let _ = tx.send(MembershipEvent::Joined(member.clone()));
            }
        }
        if let Some(subscribers) = subscribers.as_mut() {
            subscribers.push(tx);
        }
        MembershipWatch {
            events,
            latest: self.shared.latest.subscribe(),
        }
    }

    /// The members now, once read.
    pub(crate) fn members(&self) -> Option<Members> {
        self.shared.latest.borrow().clone()
    }
}

/// Why a pass of following ended.
enum Pass {
    /// Read everything again (a reconnect, a watch that could not be set).
    Again,
    /// The session ended.
    Ended,
    /// Stop for good (the group cannot be read).
    Stop,
}

/// The view's task.
struct Follow {
    sessions: watch::Receiver<(Client, bool)>,
    path: String,
    layout: Layout,
    shared: Arc<ViewShared>,
    known: Members,
    /// Nothing published yet.
    first: bool,
}

impl Follow {
    async fn run(mut self, stopped: Option<oneshot::Receiver<()>>) {
        let shared = self.shared.clone();
        let stop = async {
            match stopped {
                Some(stopped) => {
                    let _ = stopped.await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop => {}
            () = shared.latest.closed() => {}
            () = self.follow() => {}
        }
        // The streams end.
        lock(&shared.subscribers).take();
    }

    /// Follows the group on one session after another.
    async fn follow(&mut self) {
        loop {
            let client = self.sessions.borrow_and_update().0.clone();
            match self.session(&client).await {
                Pass::Stop => return,
                Pass::Again | Pass::Ended => {}
            }
            // The session ended: go on with the next one, if one comes.
            let old = client.session_id();
            loop {
                let (next, more) = self.sessions.borrow_and_update().clone();
                if next.session_id() != old && !next.state().is_terminal() {
                    break;
                }
                if !more || self.sessions.changed().await.is_err() {
                    return;
                }
            }
        }
    }

    /// Follows the group while `client`'s session lasts.
    async fn session(&mut self, client: &Client) -> Pass {
        loop {
            if wait_connected(client).await.is_err() {
                return Pass::Ended;
            }
            match self.pass(client).await {
                // Not in a hurry: a connection loss is seen by the state a moment later.
                Pass::Again => tokio::time::sleep(Duration::from_millis(20)).await,
                other => return other,
            }
        }
    }

    /// Sets the watch, reads the group (every member's data, pipelined), then applies
    /// events until a reconnect.
    async fn pass(&mut self, client: &Client) -> Pass {
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
        // Events from before the read may be among the first ones applied: each is
        // checked against the server before it changes the view, so an old one changes
        // nothing.
        let names: Vec<String> = children
            .into_iter()
            .filter(|c| self.layout.accepts(c))
            .collect();
        let mut fresh = Members::new();
        if self.layout.reads_data() {
            let reads: Vec<_> = names
                .iter()
                .map(|name| client.get_data(&join(&self.path, name)))
                .collect();
            for (name, read) in names.into_iter().zip(reads) {
                match read.await {
                    Ok((data, stat)) => {
                        let member = self.layout.member(name.clone(), data, stat.czxid);
                        fresh.insert(name, member);
                    }
                    Err(ZkError::NoNode(_)) => {}
                    Err(e) => return again_unless_over(&e),
                }
            }
        } else {
            for name in names {
                let member = self.layout.member(name.clone(), Bytes::new(), 0);
                fresh.insert(name, member);
            }
        }
        self.replace(fresh);
        loop {
            tokio::select! {
                event = watcher.next_event() => {
                    let Some(event) = event else { return Pass::Ended };
                    if let Some(pass) = self.apply(client, event).await {
                        return pass;
                    }
                }
                state = states.changed() => match state {
                    Ok(SessionState::Connected | SessionState::ConnectedReadOnly) => return Pass::Again,
                    Ok(s) if s.is_terminal() => return Pass::Ended,
                    Ok(_) => {}
                    Err(_) => return Pass::Ended,
                },
            }
        }
    }

    /// Applies one event; `Some` when the pass must end.
    async fn apply(&mut self, client: &Client, event: WatchedEvent) -> Option<Pass> {
        if event.path == self.path {
            if event.event_type == EventType::NodeDeleted {
                self.replace(Members::new());
            }
            return None;
        }
        if zk_client::proto::path::parent(&event.path) != Some(self.path.as_str()) {
            return None;
        }
        let name = zk_client::proto::path::name(&event.path).to_owned();
        if !self.layout.accepts(&name) {
            return None;
        }
        let mut members = self.known.clone();
        match event.event_type {
            EventType::NodeDeleted => match client.exists(&event.path).await {
                // The node we know is still there: the event is from before our read.
                Ok(Some(stat)) if members.get(&name).is_none_or(|m| same(m.czxid, stat.czxid)) => {
                    return None;
                }
                // Gone, or made again (its creation event follows).
                Ok(_) => {
                    members.remove(&name);
                }
                Err(e) => return Some(again_unless_over(&e)),
            },
            EventType::NodeCreated | EventType::NodeDataChanged if self.layout.reads_data() => {
                match client.get_data(&event.path).await {
                    Ok((data, stat)) => {
                        let member = self.layout.member(name.clone(), data, stat.czxid);
                        members.insert(name, member);
                    }
                    // Gone already: its deletion follows.
                    Err(ZkError::NoNode(_)) => {
                        members.remove(&name);
                    }
                    Err(e) => return Some(again_unless_over(&e)),
                }
            }
            EventType::NodeCreated => match client.exists(&event.path).await {
                Ok(Some(stat)) => {
                    let member = self.layout.member(name.clone(), Bytes::new(), stat.czxid);
                    members.insert(name, member);
                }
                // Gone already: its deletion follows.
                Ok(None) => return None,
                Err(e) => return Some(again_unless_over(&e)),
            },
            _ => return None,
        }
        self.replace(members);
        None
    }

    /// Makes `members` the view, and reports what changed.
    fn replace(&mut self, members: Members) {
        let mut events = Vec::new();
        let mut again = Vec::new();
        for (name, before) in &self.known {
            match members.get(name) {
                None => events.push(MembershipEvent::Left(before.clone())),
                Some(now) if !same(before.czxid, now.czxid) => {
                    events.push(MembershipEvent::Left(before.clone()));
                    again.push(MembershipEvent::Joined(now.clone()));
                }
                Some(now) if now.data != before.data => events.push(MembershipEvent::Updated {
                    previous: before.clone(),
                    member: now.clone(),
                }),
                Some(_) => {}
            }
        }
        events.append(&mut again);
        for (name, now) in &members {
            if !self.known.contains_key(name) {
                events.push(MembershipEvent::Joined(now.clone()));
            }
        }
        if events.is_empty() && !self.first {
            return;
        }
        self.first = false;
        for event in &events {
            tracing::debug!(?event, "membership changed");
        }
        let mut subscribers = lock(&self.shared.subscribers);
        self.shared.latest.send_replace(Some(members.clone()));
        self.known = members;
        if let Some(subscribers) = subscribers.as_mut() {
            for event in events {
                subscribers.retain(|tx| tx.send(event.clone()).is_ok());
            }
        }
    }
}

/// Whether two creation zxids are of the same node (0: not known, taken as the same).
fn same(a: i64, b: i64) -> bool {
    a == 0 || b == 0 || a == b
}

/// A failed call: read again after a connection loss; the session ended; or stop (the
/// group cannot be watched or read).
fn again_unless_over(e: &ZkError) -> Pass {
    if e.is_connection_loss() {
        Pass::Again
    } else if e.is_terminal() {
        Pass::Ended
    } else {
        tracing::warn!(error = %e, "cannot watch the group");
        Pass::Stop
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_ids_follow_the_first_dash() {
        assert_eq!(shallow_id("0123abcd-worker-1"), "worker-1");
        assert_eq!(shallow_id("0123abcd-"), "");
        assert_eq!(shallow_id("nodash"), "nodash");
    }

    #[test]
    fn party_nodes_are_told_apart() {
        assert!(Layout::Party.accepts("0123__party__"));
        assert!(!Layout::Party.accepts("ready"));
        let member = Layout::Party.member("0123__party__".into(), Bytes::from_static(b"host-a"), 7);
        assert_eq!(member.id, "host-a");
    }
}
