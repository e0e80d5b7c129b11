//! Watchers as owned values: one-shot watches are futures, persistent watches and session
//! state transitions are streams. Dropping a watcher removes it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use proto::session::{RequestId, SessionState};
use proto::{EventType, KeeperState};
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{Error, ErrorContext, Result};

/// A watch notification.
///
/// Node events carry the node's path (chroot stripped) and `state` SyncConnected.
/// Persistent watchers also receive session events: `event_type` [`EventType::None`],
/// `state` Disconnected when the connection drops (events may be missed from then on)
/// and SyncConnected when the session is re-established and the watch re-armed, with an
/// empty path.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// The session state.
    pub state: KeeperState,
    /// The node, or empty for a session event.
    pub path: String,
}

impl WatchedEvent {
    pub(crate) fn node(event_type: EventType, path: String) -> Self {
        Self {
            event_type,
            state: KeeperState::SyncConnected,
            path,
        }
    }

    pub(crate) fn session(state: KeeperState) -> Self {
        Self {
            event_type: EventType::None,
            state,
            path: String::new(),
        }
    }
}

/// Removes a watcher from the session when it is dropped.
#[derive(Debug)]
pub(crate) struct Remover {
    pub(crate) id: RequestId,
    pub(crate) tx: mpsc::UnboundedSender<RequestId>,
}

impl Drop for Remover {
    fn drop(&mut self) {
        // The session task may be gone; then there is nothing to remove.
        let _ = self.tx.send(self.id);
    }
}

/// A one-shot watch: resolves at the first change of the node, then is done.
///
/// Left by `get_data_and_watch`, `exists_and_watch` and `get_children_and_watch`. It
/// survives reconnects (re-armed with SetWatches); it resolves with an error when the
/// session ends (expired, closed, authentication failed) before the change. Dropping it
/// forgets the watch.
///
/// ```no_run
/// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
/// let (data, _stat, watcher) = client.get_data_and_watch("/config").await?;
/// println!("config is {data:?}");
/// let event = watcher.await?;
/// println!("{:?} on {}", event.event_type, event.path);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a watcher does nothing unless awaited"]
pub struct OneshotWatcher {
    rx: oneshot::Receiver<Result<WatchedEvent>>,
    _remover: Remover,
}

impl OneshotWatcher {
    pub(crate) fn new(rx: oneshot::Receiver<Result<WatchedEvent>>, remover: Remover) -> Self {
        Self {
            rx,
            _remover: remover,
        }
    }
}

impl Future for OneshotWatcher {
    type Output = Result<WatchedEvent>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(Error::Closed(ErrorContext::new("watch", None)))))
    }
}

/// A persistent or persistent recursive watch: a stream of every change, until dropped.
///
/// Created by [`Client::watch`](crate::Client::watch). Between a `Disconnected` and a
/// `SyncConnected` session event changes may be missed (the server does not replay them);
/// re-read what you need after `SyncConnected`. The stream ends when the session ends.
///
/// ```no_run
/// use zk_client::AddWatchMode;
/// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
/// let mut events = client.watch("/services", AddWatchMode::PersistentRecursive).await?;
/// while let Some(event) = events.next_event().await {
///     println!("{:?} {}", event.event_type, event.path);
/// }
/// # Ok(()) }
/// ```
///
/// It is also a [`Stream`](futures_core::Stream), for stream combinators
/// (`futures::StreamExt`, `tokio_stream::StreamExt`).
#[derive(Debug)]
#[must_use = "a watcher does nothing unless polled"]
pub struct PersistentWatcher {
    rx: mpsc::UnboundedReceiver<WatchedEvent>,
    _remover: Remover,
}

impl PersistentWatcher {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<WatchedEvent>, remover: Remover) -> Self {
        Self {
            rx,
            _remover: remover,
        }
    }

    /// The next event; `None` once the session has ended.
    ///
    /// ```no_run
    /// # async fn _example(mut events: zk_client::PersistentWatcher) {
    /// if let Some(event) = events.next_event().await {
    ///     println!("{:?} {}", event.event_type, event.path);
    /// }
    /// # }
    /// ```
    pub async fn next_event(&mut self) -> Option<WatchedEvent> {
        self.rx.recv().await
    }
}

impl Stream for PersistentWatcher {
    type Item = WatchedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// The latest session state, never missing the current one (it may skip intermediate
/// ones; use [`StateStream`] for every transition).
///
/// ```no_run
/// # async fn _example(client: zk_client::Client) {
/// let mut state = client.state_watcher();
/// while state.changed().await.is_ok() {
///     println!("now {:?}", state.current());
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct StateWatcher {
    rx: watch::Receiver<SessionState>,
}

impl StateWatcher {
    pub(crate) fn new(rx: watch::Receiver<SessionState>) -> Self {
        Self { rx }
    }

    /// The current state.
    pub fn current(&self) -> SessionState {
        *self.rx.borrow()
    }

    /// Waits for the state to change.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the session task has ended.
    pub async fn changed(&mut self) -> Result<SessionState> {
        self.rx
            .changed()
            .await
            .map_err(|_| Error::Closed(ErrorContext::new("state", None)))?;
        Ok(*self.rx.borrow_and_update())
    }

    /// Waits until `pred` holds for the state, returning that state.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the session task has ended first.
    pub async fn wait_for(
        &mut self,
        mut pred: impl FnMut(SessionState) -> bool,
    ) -> Result<SessionState> {
        let state = self
            .rx
            .wait_for(|s| pred(*s))
            .await
            .map_err(|_| Error::Closed(ErrorContext::new("state", None)))?;
        Ok(*state)
    }
}

/// Every session state transition, in order, none dropped.
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(client: zk_client::Client) {
/// let mut transitions = client.state_stream();
/// while let Some(state) = transitions.next().await {
///     println!("{state:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct StateStream {
    rx: mpsc::UnboundedReceiver<SessionState>,
}

impl StateStream {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<SessionState>) -> Self {
        Self { rx }
    }
}

impl Stream for StateStream {
    type Item = SessionState;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}
