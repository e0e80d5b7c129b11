//! [`SessionTask`]: the one task that owns the connection and the `proto::Session`. It does
//! nothing but I/O, timers and channel plumbing; every protocol decision is the session's.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use proto::hosts::{Host, HostIndex};
use proto::records::{AuthPacket, DeleteRequest, Request, Response};
use proto::session::{
    DisconnectCause, Event, Reply, RequestId, ServerMode, Session, SessionState, WatchKind,
};
use proto::{ErrorCode, KeeperState, OpCode};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Sleep;

use crate::connector::{ConnectFuture, Connector};
use crate::error::{Error, ErrorContext, Result};
use crate::in_flight::InFlight;
use crate::low_water::LowWater;
use crate::transport::Transport;
use crate::watcher::WatchedEvent;

/// What a request's future receives from the session.
#[derive(Debug)]
pub(crate) struct RawReply {
    /// The response body, or the server's (or the session's) error code.
    pub(crate) result: std::result::Result<Response, ErrorCode>,
    /// The request id, which also names the watch the request left.
    pub(crate) id: RequestId,
    /// The kind of that watch, if it left one.
    pub(crate) watch: Option<WatchKind>,
}

/// Where a watch's events go.
#[derive(Debug)]
pub(crate) enum WatchSink {
    Oneshot(oneshot::Sender<Result<WatchedEvent>>),
    Persistent(mpsc::UnboundedSender<WatchedEvent>),
}

/// A request from a [`Client`](crate::Client) handle.
#[derive(Debug)]
pub(crate) enum Command {
    Submit {
        op_code: OpCode,
        request: Request,
        unrooted: bool,
        reply: oneshot::Sender<RawReply>,
        watch: Option<WatchSink>,
    },
    AddAuth(AuthPacket),
    /// Delete a node, again after every connection loss, until it is gone or the session
    /// ends.
    DeleteInBackground {
        path: String,
        version: i32,
    },
    Close(oneshot::Sender<()>),
    StateStream(mpsc::UnboundedSender<SessionState>),
}

/// An `isro` probe in flight.
type ProbeFuture = Pin<Box<dyn Future<Output = ServerMode> + Send>>;

/// What the handles can read without asking the task.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    pub(crate) server: Option<String>,
    /// The error of the last failed connection attempt.
    pub(crate) last_error: Option<crate::error::IoError>,
    pub(crate) session_id: i64,
    pub(crate) password: bytes::Bytes,
    pub(crate) timeout: Duration,
}

struct Waiter {
    reply: oneshot::Sender<RawReply>,
    watch: Option<WatchSink>,
}

/// The background task of a client: runs the session over the network.
///
/// [`ClientBuilder::connect`](crate::ClientBuilder::connect) spawns it on the current
/// tokio runtime; [`ClientBuilder::build`](crate::ClientBuilder::build) hands it to you to
/// spawn or drive. It finishes once every [`Client`](crate::Client) handle is dropped
/// (closing the session first) or the session has ended and no handle is left.
#[must_use = "the session does nothing unless the task is polled"]
pub struct SessionTask {
    session: Session,
    hosts: Vec<Host>,
    connector: Arc<dyn Connector>,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_open: bool,
    removals: mpsc::UnboundedReceiver<RequestId>,
    state_tx: watch::Sender<SessionState>,
    shared_tx: watch::Sender<Shared>,
    state_streams: Vec<mpsc::UnboundedSender<SessionState>>,
    close_waiters: Vec<oneshot::Sender<()>>,

    calls: InFlight<Waiter>,
    /// Deletes sent on the task's own behalf (`DeleteInBackground`): path and version.
    background_deletes: HashMap<RequestId, (String, i32)>,
    watchers: HashMap<RequestId, WatchSink>,

    transport: Option<Transport>,
    dial: Option<(HostIndex, ConnectFuture)>,
    probe: Option<(HostIndex, ProbeFuture)>,
    timer: Pin<Box<Sleep>>,
    timer_at: Option<Instant>,
    sweep_due: bool,
    low_water: LowWater,
    /// In-flight requests from which new ones wait (see `write_hold`).
    hold_threshold: usize,
}

impl std::fmt::Debug for SessionTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTask")
            .field("state", &self.session.state())
            .field("calls", &self.calls.len())
            .finish()
    }
}

/// The channels between handles and the task.
pub(crate) struct Channels {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) removals: mpsc::UnboundedSender<RequestId>,
    pub(crate) state: watch::Receiver<SessionState>,
    pub(crate) shared: watch::Receiver<Shared>,
}

/// Requests are encoded until this much is waiting, then written.
const WRITE_HIGH_WATER: usize = 16 * 1024;

impl SessionTask {
    pub(crate) fn new(
        session: Session,
        hosts: Vec<Host>,
        connector: Arc<dyn Connector>,
        max_low_water: usize,
    ) -> (Self, Channels) {
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (removals_tx, removals) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(session.state());
        let shared = Shared {
            server: None,
            last_error: None,
            session_id: 0,
            password: bytes::Bytes::new(),
            timeout: session.negotiated_timeout(),
        };
        let (shared_tx, shared_rx) = watch::channel(shared);
        let task = Self {
            session,
            hosts,
            connector,
            commands,
            commands_open: true,
            removals,
            state_tx,
            shared_tx,
            state_streams: Vec::new(),
            close_waiters: Vec::new(),
            calls: InFlight::default(),
            background_deletes: HashMap::new(),
            watchers: HashMap::new(),
            transport: None,
            dial: None,
            probe: None,
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            timer_at: None,
            sweep_due: false,
            low_water: LowWater::new(max_low_water),
            hold_threshold: crate::write_hold::hold_threshold(max_low_water),
        };
        let channels = Channels {
            commands: commands_tx,
            removals: removals_tx,
            state: state_rx,
            shared: shared_rx,
        };
        (task, channels)
    }

    fn handle_command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Submit {
                op_code,
                request,
                unrooted,
                reply,
                watch,
            } => {
                let id = if unrooted {
                    self.session.submit_unrooted(now, op_code, request)
                } else {
                    self.session.submit(now, op_code, request)
                };
                self.calls.insert(id, Waiter { reply, watch });
            }
            Command::AddAuth(packet) => self.session.add_auth(now, packet),
            Command::DeleteInBackground { path, version } => {
                self.delete_in_background(now, path, version);
            }
            Command::Close(done) => {
                self.session.close(now);
                if self.session.state().is_terminal() {
                    // Nothing left to close: closed before, expired, or closed just now
                    // without a connection.
                    let _ = done.send(());
                } else {
                    self.close_waiters.push(done);
                }
            }
            Command::StateStream(tx) => {
                if tx.send(self.session.state()).is_ok() {
                    self.state_streams.push(tx);
                }
            }
        }
    }

    /// Delivers the session's events.
    fn dispatch(&mut self, now: Instant) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Reply(reply) => self.deliver_reply(reply, now),
                Event::Watch { watchers, event } => {
                    let delivered = WatchedEvent::node(event.event_type, event.path);
                    for id in watchers {
                        self.deliver_watch(id, &delivered, now);
                    }
                }
                Event::State(state) => self.state_changed(state),
                Event::ConnectionFault(fault) => {
                    let error = io::Error::new(io::ErrorKind::InvalidData, fault);
                    self.shared_tx
                        .send_modify(|s| s.last_error = Some(error.into()));
                }
                Event::CloseConnection => self.drop_connection(),
                _ => {}
            }
        }
    }

    fn delete_in_background(&mut self, now: Instant, path: String, version: i32) {
        let request = Request::Delete(DeleteRequest {
            path: path.clone(),
            version,
        });
        let id = self.session.submit(now, OpCode::Delete, request);
        self.background_deletes.insert(id, (path, version));
    }

    fn deliver_reply(&mut self, reply: Reply, now: Instant) {
        if let Some((path, version)) = self.background_deletes.remove(&reply.id) {
            match reply.result {
                // Sent again after the reconnect (it waits in the session's queue).
                Err(ErrorCode::ConnectionLoss) => self.delete_in_background(now, path, version),
                Ok(_) | Err(ErrorCode::NoNode) => {}
                Err(code) => tracing::debug!(%path, ?code, "background delete ended"),
            }
            return;
        }
        let Some(call) = self.calls.remove(reply.id) else {
            return;
        };
        if let (Some(_), Some(sink)) = (reply.watch, call.watch) {
            self.watchers.insert(reply.id, sink);
        }
        let raw = RawReply {
            result: reply.result,
            id: reply.id,
            watch: reply.watch,
        };
        // The caller may have given up (deadline); nothing to do then.
        let _ = call.reply.send(raw);
    }

    fn deliver_watch(&mut self, id: RequestId, event: &WatchedEvent, now: Instant) {
        match self.watchers.remove(&id) {
            Some(WatchSink::Oneshot(tx)) => {
                let _ = tx.send(Ok(event.clone()));
            }
            Some(WatchSink::Persistent(tx)) => {
                if tx.send(event.clone()).is_ok() {
                    self.watchers.insert(id, WatchSink::Persistent(tx));
                } else {
                    self.session.remove_watcher(now, id);
                }
            }
            None => {}
        }
    }

    fn state_changed(&mut self, state: SessionState) {
        // The session details first, so whoever sees the new state also sees its session
        // id and server.
        let server = self
            .session
            .connected_host()
            .and_then(|h| self.hosts.get(h.0))
            .map(ToString::to_string);
        let shared = Shared {
            server,
            last_error: self.shared_tx.borrow().last_error.clone(),
            session_id: self.session.session_id(),
            password: self.session.password().clone(),
            timeout: self.session.negotiated_timeout(),
        };
        let _ = self.shared_tx.send(shared);
        let _ = self.state_tx.send(state);
        self.state_streams.retain(|tx| tx.send(state).is_ok());
        self.sweep_due |= state.is_connected();
        let keeper = match state {
            SessionState::Connected => Some(KeeperState::SyncConnected),
            SessionState::ConnectedReadOnly => Some(KeeperState::ConnectedReadOnly),
            SessionState::Disconnected => Some(KeeperState::Disconnected),
            _ => None,
        };
        if let Some(keeper) = keeper {
            let event = WatchedEvent::session(keeper);
            for sink in self.watchers.values() {
                if let WatchSink::Persistent(tx) = sink {
                    let _ = tx.send(event.clone());
                }
            }
        }
        if let Some(code) = state.terminal_error() {
            let context = || ErrorContext::new("watch", None);
            for (_, sink) in self.watchers.drain() {
                match sink {
                    WatchSink::Oneshot(tx) => {
                        let _ = tx.send(Err(Error::from_code(code, context())));
                    }
                    WatchSink::Persistent(tx) => {
                        let keeper = match state {
                            SessionState::Expired => KeeperState::Expired,
                            SessionState::AuthFailed => KeeperState::AuthFailed,
                            _ => KeeperState::Closed,
                        };
                        let _ = tx.send(WatchedEvent::session(keeper));
                    }
                }
            }
            for done in self.close_waiters.drain(..) {
                let _ = done.send(());
            }
        }
    }

    fn drop_connection(&mut self) {
        self.transport = None;
        self.dial = None;
    }

    /// Forgets requests whose caller gave up (deadline) before they were sent.
    fn sweep_abandoned(&mut self) {
        let session = &mut self.session;
        self.calls
            .retain(|id, call| !(call.reply.is_closed() && session.cancel(id)));
    }

    fn poll_commands(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut progress = false;
        while self.commands_open {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(command)) => {
                    self.handle_command(command, now);
                    progress = true;
                }
                Poll::Ready(None) => {
                    // Every handle is gone: close the session.
                    self.commands_open = false;
                    self.session.close(now);
                    progress = true;
                }
                Poll::Pending => break,
            }
        }
        while let Poll::Ready(Some(id)) = self.removals.poll_recv(cx) {
            self.watchers.remove(&id);
            self.session.remove_watcher(now, id);
            progress = true;
        }
        progress
    }

    fn poll_dial(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        if self.dial.is_none() {
            let Some(host) = self.session.poll_connect(now) else {
                return false;
            };
            let future = match self.hosts.get(host.0) {
                Some(h) => self.connector.connect(h),
                None => Box::pin(async { Err(io::Error::other("no such host")) }) as ConnectFuture,
            };
            self.dial = Some((host, future));
        }
        let Some((host, future)) = self.dial.as_mut() else {
            return false;
        };
        let host = *host;
        match future.as_mut().poll(cx) {
            Poll::Pending => false,
            Poll::Ready(result) => {
                self.dial = None;
                match result {
                    Ok(conn) => {
                        tracing::debug!(host = %self.hosts[host.0], "connected");
                        self.transport = Some(Transport::new(conn));
                        self.low_water.reset();
                        self.session.handle_connected(now);
                    }
                    Err(error) => {
                        tracing::debug!(host = %self.hosts[host.0], %error, "connect failed");
                        let message = error.to_string();
                        self.shared_tx
                            .send_modify(|s| s.last_error = Some(error.into()));
                        self.session
                            .handle_disconnected(now, DisconnectCause::ConnectFailed(message));
                    }
                }
                true
            }
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut progress = false;
        loop {
            let Some(transport) = self.transport.as_mut() else {
                return progress;
            };
            match transport.poll_read(cx) {
                Poll::Pending => {
                    let in_flight = self.session.in_flight();
                    self.low_water.on_drained(transport.tcp(), in_flight, now);
                    return progress;
                }
                Poll::Ready(Ok((0, _))) => {
                    self.lost(DisconnectCause::Eof, now);
                    return true;
                }
                Poll::Ready(Ok((_, filled))) => {
                    self.low_water.on_read(now);
                    self.session.handle_input(now, transport.read_buffer());
                    // Deliver what arrived before reading more, so replies flow while a
                    // big response is still streaming in.
                    self.dispatch(now);
                    if !filled {
                        // A short read means the socket is drained: write what these
                        // replies led to before reading again.
                        return true;
                    }
                    progress = true;
                }
                Poll::Ready(Err(error)) => {
                    self.lost(DisconnectCause::Io(error.to_string()), now);
                    return true;
                }
            }
        }
    }

    fn lost(&mut self, cause: DisconnectCause, now: Instant) {
        self.drop_connection();
        self.session.handle_disconnected(now, cause);
    }

    fn fill_write_buffer(&mut self, now: Instant) {
        if self.transport.is_none() {
            return;
        }
        if self.sweep_due && self.session.queued() > 0 {
            self.sweep_due = false;
            self.sweep_abandoned();
        }
        let Some(transport) = self.transport.as_mut() else {
            return;
        };
        let hold = crate::write_hold::hold(
            self.session.in_flight(),
            transport.has_unwritten(),
            self.hold_threshold,
        );
        if hold {
            return;
        }
        let out = transport.write_buffer();
        while out.len() < WRITE_HIGH_WATER && self.session.poll_transmit(now, out) > 0 {}
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let Some(transport) = self.transport.as_mut() else {
            return false;
        };
        let wrote = match transport.poll_write(cx) {
            Poll::Pending => return false,
            Poll::Ready(Ok(wrote)) => wrote,
            Poll::Ready(Err(error)) => {
                self.lost(DisconnectCause::Io(error.to_string()), now);
                return true;
            }
        };
        match transport.poll_flush(cx) {
            Poll::Ready(Err(error)) => {
                self.lost(DisconnectCause::Io(error.to_string()), now);
                true
            }
            _ => wrote,
        }
    }

    fn poll_probe(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        if self.probe.is_none() {
            let Some(host) = self.session.poll_probe() else {
                return false;
            };
            let target = self.hosts[host.0].clone();
            self.probe = Some((host, Box::pin(crate::connector::probe_mode(target))));
        }
        let Some((host, future)) = self.probe.as_mut() else {
            return false;
        };
        let host = *host;
        match future.as_mut().poll(cx) {
            Poll::Pending => false,
            Poll::Ready(mode) => {
                self.probe = None;
                self.session.handle_probe(now, host, mode);
                true
            }
        }
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let Some(at) = self.session.poll_timeout() else {
            self.timer_at = None;
            return false;
        };
        // Re-arming the runtime's timer costs more than an early wake-up: the session pushes
        // its ping deadline back on every write, so the sleep only ever moves earlier, and
        // when it fires the session acts on what is due and the sleep is armed again.
        if self.timer_at.is_none_or(|armed| at < armed) {
            self.timer_at = Some(at);
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::from_std(at));
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.timer_at = None;
            // The sleep may have been armed for an earlier deadline since moved later, so
            // only the clock says what is due; a deadline the turn's clock has not reached
            // yet is armed again and fires on a later turn.
            self.session.handle_timeout(now);
            if !self.session.state().is_connected() {
                // Abandoned requests must not wait for a reconnect.
                self.sweep_abandoned();
            }
            return true;
        }
        false
    }

    fn poll_low_water(&mut self, cx: &mut Context<'_>) -> bool {
        let socket = self.transport.as_ref().and_then(Transport::tcp);
        self.low_water.poll_watchdog(cx, socket)
    }

    fn finished(&self) -> bool {
        !self.commands_open && self.session.state().is_terminal()
    }
}

impl Future for SessionTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Bounded work per poll, so one busy client cannot starve its runtime thread.
        for _ in 0..64 {
            // The clock is read once per turn and passed down.
            let now = Instant::now();
            let mut progress = this.poll_commands(cx, now);
            progress |= this.poll_dial(cx, now);
            progress |= this.poll_read(cx, now);
            this.dispatch(now);
            this.fill_write_buffer(now);
            progress |= this.poll_write(cx, now);
            progress |= this.poll_probe(cx, now);
            progress |= this.poll_timer(cx, now);
            progress |= this.poll_low_water(cx);
            this.dispatch(now);
            if this.finished() {
                return Poll::Ready(());
            }
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
