//! [`SessionTask`]: the one task that owns the connection and the `proto::Session`. It does
//! nothing but I/O, timers and channel plumbing; every protocol decision is the session's.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use proto::hosts::{Host, HostIndex};
use proto::records::{AuthPacket, Request, Response};
use proto::session::{
    DisconnectCause, Event, Reply, RequestId, ServerMode, Session, SessionState, WatchKind,
};
use proto::{ErrorCode, KeeperState, OpCode};
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Sleep;

use crate::calls::Calls;
use crate::connector::{BoxConnection, ConnectFuture, Connector};
use crate::error::{Context as ErrorContext, Error, Result};
use crate::low_water::LowWater;
use crate::watcher::WatchedEvent;

/// What a request's future receives: the result, the request id (which also names the
/// watch it left) and the kind of that watch.
pub(crate) type RawReply = (
    std::result::Result<Response, ErrorCode>,
    RequestId,
    Option<WatchKind>,
);

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

struct Call {
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

    calls: Calls<Call>,
    watchers: HashMap<RequestId, WatchSink>,

    conn: Option<BoxConnection>,
    dial: Option<(HostIndex, ConnectFuture)>,
    probe: Option<(HostIndex, ProbeFuture)>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    written: usize,
    needs_flush: bool,
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

const READ_CHUNK: usize = 16 * 1024;
/// Requests are encoded until this much is waiting, then written.
const WRITE_HIGH_WATER: usize = 16 * 1024;
/// The most buffer an idle connection keeps: a buffer grown for a large request or reply is
/// given back once it is empty, so one 1 MB frame does not pin 1 MB for the connection's life.
const RETAINED_BUFFER: usize = 64 * 1024;
const WRITE_BUFFER: usize = 4096;

/// Makes room for the next read. An empty buffer that has grown past [`RETAINED_BUFFER`],
/// or is short of room, gets a new allocation: reserving would reclaim the old one, which
/// may have grown for a large reply.
fn make_read_room(rbuf: &mut BytesMut) {
    let short = rbuf.capacity() - rbuf.len() < READ_CHUNK / 4;
    if rbuf.is_empty() && (short || rbuf.capacity() > RETAINED_BUFFER) {
        *rbuf = BytesMut::with_capacity(READ_CHUNK);
    } else if short {
        rbuf.reserve(READ_CHUNK);
    }
}

/// Gives back a written-out buffer that grew past [`RETAINED_BUFFER`].
fn shrink_written(wbuf: &mut BytesMut) {
    wbuf.clear();
    if wbuf.capacity() > RETAINED_BUFFER {
        *wbuf = BytesMut::with_capacity(WRITE_BUFFER);
    }
}

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
            calls: Calls::default(),
            watchers: HashMap::new(),
            conn: None,
            dial: None,
            probe: None,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: BytesMut::with_capacity(WRITE_BUFFER),
            written: 0,
            needs_flush: false,
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
                self.calls.insert(id, Call { reply, watch });
            }
            Command::AddAuth(packet) => self.session.add_auth(now, packet),
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
    fn dispatch(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Reply(reply) => self.deliver_reply(reply),
                Event::Watch { watchers, event } => {
                    let delivered = WatchedEvent::node(event.event_type, event.path);
                    for id in watchers {
                        self.deliver_watch(id, &delivered);
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

    fn deliver_reply(&mut self, reply: Reply) {
        let Some(call) = self.calls.remove(reply.id) else {
            return;
        };
        if let (Some(_), Some(sink)) = (reply.watch, call.watch) {
            self.watchers.insert(reply.id, sink);
        }
        let raw = (reply.result, reply.id, reply.watch);
        // The caller may have given up (deadline); nothing to do then.
        let _ = call.reply.send(raw);
    }

    fn deliver_watch(&mut self, id: RequestId, event: &WatchedEvent) {
        match self.watchers.remove(&id) {
            Some(WatchSink::Oneshot(tx)) => {
                let _ = tx.send(Ok(event.clone()));
            }
            Some(WatchSink::Persistent(tx)) => {
                if tx.send(event.clone()).is_ok() {
                    self.watchers.insert(id, WatchSink::Persistent(tx));
                } else {
                    self.session.remove_watcher(Instant::now(), id);
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
        self.conn = None;
        self.dial = None;
        self.rbuf.clear();
        make_read_room(&mut self.rbuf);
        shrink_written(&mut self.wbuf);
        self.written = 0;
        self.needs_flush = false;
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
                        self.conn = Some(conn);
                        self.low_water.reset();
                        self.session.handle_connected(Instant::now());
                    }
                    Err(error) => {
                        tracing::debug!(host = %self.hosts[host.0], %error, "connect failed");
                        let message = error.to_string();
                        self.shared_tx
                            .send_modify(|s| s.last_error = Some(error.into()));
                        self.session.handle_disconnected(
                            Instant::now(),
                            DisconnectCause::ConnectFailed(message),
                        );
                    }
                }
                true
            }
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return progress;
            };
            make_read_room(&mut self.rbuf);
            let room = self.rbuf.capacity() - self.rbuf.len();
            match tokio_util::io::poll_read_buf(Pin::new(&mut **conn), cx, &mut self.rbuf) {
                Poll::Pending => {
                    let socket = crate::low_water::plain_tcp(&**conn);
                    let in_flight = self.session.in_flight();
                    self.low_water.on_drained(socket, in_flight, Instant::now());
                    return progress;
                }
                Poll::Ready(Ok(0)) => {
                    self.lost(DisconnectCause::Eof);
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    let now = Instant::now();
                    self.low_water.on_read(now);
                    self.session.handle_input(now, &mut self.rbuf);
                    // Deliver what arrived before reading more, so replies flow while a
                    // big response is still streaming in.
                    self.dispatch();
                    if n < room {
                        // A short read means the socket is drained: write what these
                        // replies led to before reading again.
                        return true;
                    }
                    progress = true;
                }
                Poll::Ready(Err(error)) => {
                    self.lost(DisconnectCause::Io(error.to_string()));
                    return true;
                }
            }
        }
    }

    fn lost(&mut self, cause: DisconnectCause) {
        self.drop_connection();
        self.session.handle_disconnected(Instant::now(), cause);
    }

    fn fill_write_buffer(&mut self, now: Instant) {
        if self.conn.is_none() {
            return;
        }
        if self.sweep_due && self.session.queued() > 0 {
            self.sweep_due = false;
            self.sweep_abandoned();
        }
        if crate::write_hold::hold(
            self.session.in_flight(),
            !self.wbuf.is_empty(),
            self.hold_threshold,
        ) {
            return;
        }
        while self.wbuf.len() < WRITE_HIGH_WATER
            && self.session.poll_transmit(now, &mut self.wbuf) > 0
        {}
    }

    fn poll_write(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        let mut progress = false;
        while self.written < self.wbuf.len() {
            match Pin::new(&mut *conn).poll_write(cx, &self.wbuf[self.written..]) {
                Poll::Pending => return progress,
                Poll::Ready(Ok(0)) => {
                    self.lost(DisconnectCause::Eof);
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(error)) => {
                    self.lost(DisconnectCause::Io(error.to_string()));
                    return true;
                }
            }
        }
        shrink_written(&mut self.wbuf);
        self.written = 0;
        if self.needs_flush {
            match Pin::new(&mut *conn).poll_flush(cx) {
                Poll::Pending => {}
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(error)) => {
                    self.lost(DisconnectCause::Io(error.to_string()));
                    return true;
                }
            }
        }
        progress
    }

    fn poll_probe(&mut self, cx: &mut Context<'_>) -> bool {
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
                self.session.handle_probe(Instant::now(), host, mode);
                true
            }
        }
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
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
            self.session.handle_timeout(Instant::now());
            if !self.session.state().is_connected() {
                // Abandoned requests must not wait for a reconnect.
                self.sweep_abandoned();
            }
            return true;
        }
        false
    }

    fn poll_low_water(&mut self, cx: &mut Context<'_>) -> bool {
        let socket = self
            .conn
            .as_ref()
            .and_then(|c| crate::low_water::plain_tcp(&**c));
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
            let now = Instant::now();
            let mut progress = this.poll_commands(cx, now);
            progress |= this.poll_dial(cx, now);
            progress |= this.poll_read(cx);
            this.dispatch();
            this.fill_write_buffer(now);
            progress |= this.poll_write(cx);
            progress |= this.poll_probe(cx);
            progress |= this.poll_timer(cx);
            progress |= this.poll_low_water(cx);
            this.dispatch();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_read_buffer_does_not_reclaim_a_large_allocation() {
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        // A 1 MiB reply arrives; the buffer grows for it and the reply is split off.
        rbuf.resize(1 << 20, 7);
        let reply = rbuf.split().freeze();
        drop(reply);
        make_read_room(&mut rbuf);
        assert!(rbuf.capacity() >= READ_CHUNK / 4);
        assert!(rbuf.capacity() <= RETAINED_BUFFER, "{}", rbuf.capacity());
        // An empty buffer with much room left from a large reply is given back too.
        let mut grown = BytesMut::with_capacity(1 << 20);
        make_read_room(&mut grown);
        assert_eq!(grown.capacity(), READ_CHUNK);
        // A partial frame that fills the buffer keeps its bytes and gets room after them.
        rbuf.clear();
        let partial: Vec<u8> = (0..rbuf.capacity() - 10).map(|i| i as u8).collect();
        rbuf.extend_from_slice(&partial);
        make_read_room(&mut rbuf);
        assert_eq!(&rbuf[..], &partial[..]);
        assert!(rbuf.capacity() - rbuf.len() >= READ_CHUNK);
    }

    #[test]
    fn a_written_buffer_gives_back_what_a_large_request_grew() {
        let mut wbuf = BytesMut::with_capacity(WRITE_BUFFER);
        wbuf.resize(1 << 20, 7);
        shrink_written(&mut wbuf);
        assert!(wbuf.is_empty());
        assert_eq!(wbuf.capacity(), WRITE_BUFFER);
        // Within the limit it is kept, allocation and all.
        wbuf.resize(RETAINED_BUFFER, 7);
        let capacity = wbuf.capacity();
        shrink_written(&mut wbuf);
        assert_eq!(wbuf.capacity(), capacity);
    }
}
