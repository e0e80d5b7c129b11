//! The task that runs a cache's [`TreeState`] against a client: sends its reads (at most
//! a window of them at once, pipelined), feeds the replies back in order, turns watch
//! events and connection changes into reads, and publishes snapshots and events.

use std::sync::{Arc, Mutex as StdMutex};

use futures::stream::FuturesOrdered;
use futures::{FutureExt as _, StreamExt as _};
use tokio::sync::{mpsc, watch};
use zk_client::{AddWatchMode, Client, Error as ZkError, EventType, SessionState};

use super::CacheEvent;
use super::reads::{Reader, Sent};
use super::state::{Scope, Shelf, TreeState};
use crate::error::{Error, zk};
use crate::protected::wait_connected;
use crate::state::{ConnectionState, ConnectionStates};

/// Where the cache's task publishes.
#[derive(Debug)]
pub(crate) struct Outlet {
    pub(crate) nodes: Shelf,
    /// `None` while the first read runs; then `Ok`, or why the cache stopped.
    pub(crate) ready: watch::Sender<Option<Result<(), Error>>>,
    /// The subscriber of the events, if there is one.
    pub(crate) events: StdMutex<Option<mpsc::UnboundedSender<CacheEvent>>>,
}

impl Outlet {
    pub(crate) fn new() -> Self {
        Self {
            nodes: Shelf::default(),
            ready: watch::channel(None).0,
            events: StdMutex::new(None),
        }
    }

    fn emit(&self, event: CacheEvent) {
        let mut slot = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tx) = slot.as_ref() {
            if tx.send(event).is_err() {
                *slot = None;
            }
        }
    }

    /// The cache is over: the first read, if still waited for, fails with `why`, and the
    /// event stream ends after the events already sent.
    fn stop(&self, why: Error) {
        self.ready.send_modify(|ready| {
            if !matches!(ready, Some(Ok(()))) {
                *ready = Some(Err(why));
            }
        });
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }
}

/// What the task needs.
pub(crate) struct Job {
    pub(crate) client: Client,
    pub(crate) scope: Scope,
    pub(crate) with_data: bool,
    /// Reads in flight at most.
    pub(crate) window: usize,
    pub(crate) outlet: Arc<Outlet>,
}

/// Runs the cache until the session ends or the cache is dropped (the task is aborted).
pub(crate) async fn run(job: Job) {
    let Job {
        client,
        scope,
        with_data,
        window,
        outlet,
    } = job;
    let mut states = ConnectionStates::new(&client);
    if let Err(e) = wait_connected(&client).await {
        outlet.stop(e);
        return;
    }
    let mut watcher = loop {
        match client
            .watch(&scope.root, AddWatchMode::PersistentRecursive)
            .await
        {
            Ok(watcher) => break watcher,
            Err(e) if e.is_connection_loss() => {
                if let Err(e) = wait_connected(&client).await {
                    outlet.stop(e);
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, root = %scope.root, "the cache cannot watch its root");
                outlet.stop(zk(e));
                return;
            }
        }
    };
    let mut state = TreeState::new(scope, outlet.nodes.clone());
    state.sync();
    let reader = Reader::new(client.clone(), with_data);
    let mut inflight: FuturesOrdered<Sent> = FuturesOrdered::new();
    // Reads in flight, batched or not.
    let mut reads_inflight = 0;
    let mut initialized = false;
    let mut first_state = true;
    loop {
        while reads_inflight < window {
            let room = reader.batch_size().min(window - reads_inflight);
            let reads: Vec<_> = std::iter::from_fn(|| state.next_read())
                .take(room)
                .collect();
            if reads.is_empty() {
                break;
            }
            reads_inflight += reads.len();
            inflight.push_back(reader.send(reads));
        }
        while let Some(event) = state.next_event() {
            outlet.emit(event);
        }
        if !initialized && inflight.is_empty() {
            initialized = true;
            outlet.emit(CacheEvent::Initialized);
            outlet.ready.send_replace(Some(Ok(())));
        }
        tokio::select! {
            Some(first) = inflight.next(), if !inflight.is_empty() => {
                // Every reply already here, in one go: one wake-up of this task for many.
                let ready = std::iter::once(first)
                    .chain(std::iter::from_fn(|| inflight.next().now_or_never().flatten()));
                for (read, reply) in ready.flatten() {
                    reads_inflight -= 1;
                    match reply {
                        Ok(reply) => state.on_reply(read, reply),
                        // The reconnect's sync reads it again.
                        Err(e) if e.is_connection_loss() => {}
                        Err(e) if e.is_terminal() => {
                            outlet.emit(CacheEvent::Connection(ConnectionState::Lost));
                            outlet.stop(zk(e));
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, ?read, "a cache read failed"),
                    }
                }
            },
            event = watcher.next_event() => match event {
                Some(event) => {
                    // And every event already here.
                    let ready = std::iter::once(event)
                        .chain(std::iter::from_fn(|| watcher.next_event().now_or_never().flatten()));
                    for event in ready.filter(|e| e.event_type != EventType::None) {
                        state.on_event(event.event_type, &event.path);
                    }
                }
                // The watch ends with the session.
                None => {
                    outlet.emit(CacheEvent::Connection(ConnectionState::Lost));
                    outlet.stop(ended(&client));
                    return;
                }
            },
            connection = states.next() => match connection {
                Some(ConnectionState::Connected) if first_state => first_state = false,
                Some(ConnectionState::Lost) | None => {
                    outlet.emit(CacheEvent::Connection(ConnectionState::Lost));
                    outlet.stop(ended(&client));
                    return;
                }
                Some(now) => {
                    first_state = false;
                    outlet.emit(CacheEvent::Connection(now));
                    if now == ConnectionState::Reconnected {
                        state.sync();
                    }
                }
            },
        }
    }
}

/// Why the cache stopped when its session ended: closed by this process, or ended
/// (expired, authentication failed).
fn ended(client: &Client) -> Error {
    let context = zk_client::ErrorContext::new("cache", None);
    match client.state() {
        SessionState::Closed => Error::Closed,
        SessionState::AuthFailed => Error::SessionEnded(ZkError::AuthFailed(context)),
        _ => Error::SessionEnded(ZkError::SessionExpired(context)),
    }
}
