//! [`Session`]: the ZooKeeper client session as a deterministic state machine, without I/O.
//!
//! The session owns everything about a client session except sockets and clocks: the
//! handshake, xids and the FIFO of pending replies, the last zxid seen, pings and read
//! timeouts, host order and backoff, the watch registry and its re-registration on
//! reconnect, auth replay, chroot, read-only mode, expiry and close. A driver (zk-client's
//! task, or a test with a virtual clock) feeds it bytes and time, and carries out what it
//! asks for.

mod chroot;
mod config;
mod connection;
mod event;
mod fault;
mod pending;
mod read_only;
mod receive;
mod sasl;
mod timer;
mod transmit;
mod watches;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use self::chroot::prefix_paths;
pub use self::config::{DisconnectCause, ReconnectPolicy, ServerMode, SessionConfig};
use self::connection::Conn;
pub use self::event::{Event, Reply, RequestId, SessionState, WatchKind, WatchedEvent};
pub use self::fault::ConnectionFault;
use self::pending::{Origin, Pending, PendingKind, Queued};
use self::read_only::ReadOnlyProbe;
pub use self::sasl::{SaslError, SaslExchange, SaslMechanism};
use self::timer::{Timer, TimerTable};
use self::watches::WatchRegistry;
use crate::frame::{Decoded, FrameDecoder};
use crate::hosts::{HostIndex, HostOrder};
use crate::path::Chroot;
use crate::records::{AuthPacket, RemoveWatchesRequest, Request};
use crate::rng::SplitMix64;
use crate::xid::XidCounter;
use crate::{ErrorCode, OpCode, WatcherType};

/// Whether the server understands create2 (3.5+). Learnt from the first create2: until
/// its reply, later requests are held back so a fallback to create keeps the order.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Create2 {
    Unknown,
    Probing,
    Supported,
    Unsupported,
}

/// The ZooKeeper session state machine.
///
/// # Method groups
///
/// - getters: [`state`](Self::state), [`session_id`](Self::session_id),
///   [`password`](Self::password), [`negotiated_timeout`](Self::negotiated_timeout),
///   [`last_zxid_seen`](Self::last_zxid_seen), [`connected_host`](Self::connected_host);
/// - inputs: [`handle_connected`](Self::handle_connected),
///   [`handle_input`](Self::handle_input), [`handle_disconnected`](Self::handle_disconnected),
///   [`handle_timeout`](Self::handle_timeout), [`handle_probe`](Self::handle_probe);
/// - commands: [`submit`](Self::submit), [`submit_unrooted`](Self::submit_unrooted),
///   [`add_auth`](Self::add_auth), [`cancel`](Self::cancel),
///   [`remove_watcher`](Self::remove_watcher), [`close`](Self::close);
/// - outputs: [`poll_connect`](Self::poll_connect), [`poll_transmit`](Self::poll_transmit),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout),
///   [`poll_probe`](Self::poll_probe).
///
/// After any input or command, a driver polls in this order until each returns nothing:
/// `poll_event` (deliver, and on [`Event::CloseConnection`] drop the socket),
/// `poll_connect` (dial that host, then `handle_connected` or `handle_disconnected`),
/// `poll_transmit` (write the bytes), and finally `poll_timeout` (sleep until then, then
/// `handle_timeout`).
///
/// See [`SessionState`] for the state diagram.
///
/// # Example
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use zk_proto::records::{ConnectResponse, GetDataRequest, Request};
/// use zk_proto::session::{Event, Session, SessionConfig, SessionState};
/// use zk_proto::{frame::encode_frame, OpCode};
///
/// let now = Instant::now();
/// let mut session = Session::new(SessionConfig::new(1), now);
/// let host = session.poll_connect(now).expect("dial the only host");
/// session.handle_connected(now);
/// let mut out = BytesMut::new();
/// assert_eq!(session.poll_transmit(now, &mut out), 49); // the ConnectRequest
///
/// // The server accepts.
/// let rsp = ConnectResponse { time_out: 30_000, session_id: 1, passwd: vec![0; 16].into(), read_only: Some(false), ..Default::default() };
/// let mut input = BytesMut::new();
/// encode_frame(&mut input, &rsp, 1 << 20).unwrap();
/// session.handle_input(now, &mut input);
/// assert_eq!(session.poll_event(), Some(Event::State(SessionState::Connected)));
///
/// // Requests are framed into the transmit buffer.
/// let id = session.submit(now, OpCode::GetData, Request::GetData(GetDataRequest { path: "/a".into(), watch: false }));
/// out.clear();
/// assert_eq!(session.poll_transmit(now, &mut out), 4 + 8 + 4 + 2 + 1);
/// assert!(session.poll_timeout().unwrap() > now);
/// # let _ = (host, id);
/// ```
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: SessionState,
    conn: Conn,
    hosts: HostOrder,
    rng: SplitMix64,
    timers: TimerTable,
    frames: FrameDecoder,

    session_id: i64,
    password: Bytes,
    /// The read-write (global) session: from `resume` or the first read-write handshake.
    /// A read-only server's session is local and never presented to another server.
    global: Option<(i64, Bytes)>,
    /// The session id the last ConnectRequest presented (0: a new session).
    presented: i64,
    read_only: ReadOnlyProbe,
    negotiated: Duration,
    last_zxid: i64,
    /// Last time anything was received from a server of this session.
    last_contact: Instant,
    /// Consecutive failed connection attempts.
    failures: u32,

    xids: XidCounter,
    next_id: u64,
    queue: VecDeque<Queued>,
    pending: VecDeque<Pending>,
    create2: Create2,
    closing: bool,

    watches: WatchRegistry,
    auth: Vec<AuthPacket>,
    events: VecDeque<Event>,
}

const MIN_PING: Duration = Duration::from_millis(10);
const NO_PASSWORD: [u8; crate::records::connect::PASSWORD_LEN] =
    [0; crate::records::connect::PASSWORD_LEN];

impl Session {
    /// A session that will connect when first polled.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let mut rng = SplitMix64::new(config.rng_seed);
        let hosts = HostOrder::new(config.host_count, &mut rng);
        let global = config.resume.clone();
        let (session_id, password) = global
            .clone()
            .unwrap_or((0, Bytes::from_static(&NO_PASSWORD)));
        let negotiated = config.session_timeout;
        let frames = FrameDecoder::new(config.max_frame_len);
        Self {
            config,
            state: SessionState::Connecting,
            conn: Conn::Idle,
            hosts,
            rng,
            timers: TimerTable::default(),
            frames,
            session_id,
            password,
            global,
            presented: 0,
            read_only: ReadOnlyProbe::default(),
            negotiated,
            last_zxid: 0,
            last_contact: now,
            failures: 0,
            xids: XidCounter::new(),
            next_id: 1,
            queue: VecDeque::new(),
            pending: VecDeque::new(),
            create2: Create2::Unknown,
            closing: false,
            watches: WatchRegistry::default(),
            auth: Vec::new(),
            events: VecDeque::new(),
        }
    }

    // ---- getters -------------------------------------------------------------------

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The session id (0 before the first handshake).
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// The session password.
    pub fn password(&self) -> &Bytes {
        &self.password
    }

    /// The negotiated session timeout (the requested one before the first handshake).
    pub fn negotiated_timeout(&self) -> Duration {
        self.negotiated
    }

    /// The highest zxid seen in a reply to an ordinary request.
    pub fn last_zxid_seen(&self) -> i64 {
        self.last_zxid
    }

    /// The host of the established connection.
    pub fn connected_host(&self) -> Option<HostIndex> {
        match &self.conn {
            Conn::Established(link) => Some(link.host),
            _ => None,
        }
    }

    /// The chroot.
    pub fn chroot(&self) -> &Chroot {
        &self.config.chroot
    }

    /// Requests sent and awaiting their reply.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Requests submitted but not yet sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Watchers registered.
    pub fn watcher_count(&self) -> usize {
        self.watches.len()
    }

    /// Two thirds of the granted timeout; while closing, at most two thirds of the one we
    /// asked for, so that a server that granted hours cannot make a close last that long.
    fn read_timeout(&self) -> Duration {
        let granted = self.negotiated * 2 / 3;
        if self.closing {
            granted.min(self.config.session_timeout * 2 / 3)
        } else {
            granted
        }
    }

    fn connect_timeout(&self) -> Duration {
        self.config
            .connect_timeout
            .unwrap_or(self.negotiated / self.hosts.len() as u32)
    }

    // ---- commands ------------------------------------------------------------------

    /// Submits a request whose paths are client paths; the chroot is applied here.
    ///
    /// The request is sent after those submitted before it. Its reply comes as
    /// [`Event::Reply`] with the returned id. Requests with `watch` set (getData, exists,
    /// getChildren, getChildren2) and addWatch leave a watch identified by the same id.
    pub fn submit(&mut self, now: Instant, op_code: OpCode, mut request: Request) -> RequestId {
        prefix_paths(&self.config.chroot, &mut request);
        self.submit_unrooted(now, op_code, request)
    }

    /// Submits a request whose paths are server paths, used as given (getConfig reads
    /// `/zookeeper/config` whatever the chroot).
    pub fn submit_unrooted(
        &mut self,
        _now: Instant,
        op_code: OpCode,
        request: Request,
    ) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        if let Some(code) = self.state.terminal_error() {
            self.fail(id, code);
        } else if self.closing {
            self.fail(id, ErrorCode::Closing);
        } else {
            self.queue.push_back(Queued {
                origin: Origin::User(id),
                op_code,
                request,
            });
        }
        id
    }

    /// Adds an authentication identity; it is sent now (when connected) and replayed, in
    /// the order added, after every reconnect.
    pub fn add_auth(&mut self, _now: Instant, packet: AuthPacket) {
        // Once connected, it is sent now; during the setup, the replay sends it.
        if self.conn.link().is_some_and(|link| !link.setup_due) {
            let request = Request::Auth(packet.clone());
            self.queue.push_back(Queued::session(OpCode::Auth, request));
        }
        self.auth.push(packet);
    }

    /// Forgets a request that has not been sent yet (its deadline passed). Returns false
    /// when it is already in flight: its reply will still arrive.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        let before = self.queue.len();
        self.queue.retain(|q| q.origin != Origin::User(id));
        self.queue.len() != before
    }

    /// Removes a watcher (it was dropped). When it was the last watcher of a persistent
    /// watch, the watch is removed on the server too.
    pub fn remove_watcher(&mut self, _now: Instant, id: RequestId) {
        if let Some(path) = self.watches.remove(id) {
            if !self.state.is_terminal() && !self.closing {
                let request = Request::RemoveWatches(RemoveWatchesRequest {
                    path,
                    watcher_type: WatcherType::Any,
                });
                self.queue
                    .push_back(Queued::session(OpCode::RemoveWatches, request));
            }
        }
    }

    /// Closes the session: sends closeSession after the requests already submitted, then
    /// [`SessionState::Closed`]. Without a connection the session closes at once (the
    /// server expires it later). The answer is awaited at most the read timeout of the
    /// session timeout asked for (two thirds of it), even when the server granted more.
    pub fn close(&mut self, now: Instant) {
        if self.state.is_terminal() || self.closing {
            return;
        }
        if self.conn.is_established() {
            self.closing = true;
            let request = Request::Empty(());
            self.queue
                .push_back(Queued::session(OpCode::CloseSession, request));
            let bound = now + self.read_timeout();
            if self.timers.get(Timer::Read).is_none_or(|at| at > bound) {
                self.timers.set(Timer::Read, bound);
            }
        } else {
            self.terminate(SessionState::Closed);
        }
    }

    // ---- inputs --------------------------------------------------------------------

    /// The driver connected to the host [`poll_connect`](Self::poll_connect) returned.
    pub fn handle_connected(&mut self, now: Instant) {
        if let Conn::Dialing(host) = self.conn {
            self.conn = Conn::Handshaking { host, sent: false };
            self.frames = FrameDecoder::new(self.config.max_frame_len);
            self.timers
                .set(Timer::Connect, now + self.connect_timeout());
        }
    }

    /// The connection ended (dial failed, EOF, I/O error).
    pub fn handle_disconnected(&mut self, now: Instant, cause: DisconnectCause) {
        if self.conn.is_idle() {
            return;
        }
        tracing::debug!(?cause, "connection lost");
        if matches!(self.conn, Conn::Handshaking { sent: true, .. }) {
            let cause = match cause {
                DisconnectCause::Eof => "closed by the server".to_owned(),
                DisconnectCause::Io(e) | DisconnectCause::ConnectFailed(e) => e,
            };
            let fault = ConnectionFault::HandshakeClosed(cause);
            self.events.push_back(Event::ConnectionFault(fault));
        }
        self.connection_lost(now);
    }

    /// Bytes received on the connection; consumes every complete frame in `input`.
    pub fn handle_input(&mut self, now: Instant, input: &mut BytesMut) {
        loop {
            if !matches!(
                self.conn,
                Conn::Handshaking { sent: true, .. } | Conn::Established { .. }
            ) {
                input.clear();
                return;
            }
            // A reply above the limit fails only its own request when a user request
            // is waiting; otherwise the length alone says the peer is broken.
            let user_waits = self.conn.is_established()
                && self
                    .pending
                    .front()
                    .is_some_and(|p| matches!(p.kind, PendingKind::User { .. }));
            self.frames
                .set_oversized_head(user_waits.then_some(receive::REPLY_HEADER_LEN));
            let decoded = match self.frames.decode_or_skip(input) {
                Ok(Some(decoded)) => decoded,
                Ok(None) => return,
                Err(error) => {
                    input.clear();
                    return self.fault(now, error.into());
                }
            };
            self.received(now);
            let handshaking = match self.conn {
                Conn::Handshaking { host, .. } => Some(host),
                _ => None,
            };
            let handled = match (decoded, handshaking) {
                (Decoded::Frame(frame), Some(host)) => {
                    self.handle_handshake(now, host, &frame.freeze())
                }
                (Decoded::Frame(frame), None) => self.handle_frame(frame.freeze()),
                (Decoded::Oversized { head, len }, _) => self.handle_oversized(&head, len),
            };
            match handled {
                Ok(()) => {}
                Err(Some(fault)) => {
                    input.clear();
                    return self.fault(now, fault);
                }
                Err(None) => {
                    input.clear();
                    return self.drop_connection(now);
                }
            }
        }
    }

    /// Time passed; acts on every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.take_expired(now) {
            match timer {
                Timer::Connect => match self.conn {
                    Conn::Dialing(_) => {
                        self.fault(now, ConnectionFault::ConnectTimeout(self.connect_timeout()));
                    }
                    Conn::Handshaking { .. } => {
                        let timeout = self.connect_timeout();
                        self.fault(now, ConnectionFault::HandshakeTimeout(timeout));
                    }
                    _ => {}
                },
                Timer::Read => {
                    if self.conn.is_established() {
                        self.fault(now, ConnectionFault::ReadTimeout(self.read_timeout()));
                    }
                }
                Timer::Ping => {
                    if let Some(link) = self.conn.link() {
                        link.ping_due = true;
                    }
                }
                Timer::Reconnect => {}
                Timer::Expiry => {
                    if !self.state.is_connected() && !self.state.is_terminal() {
                        tracing::debug!("no server for too long; session considered expired");
                        self.drop_transport();
                        self.terminate(SessionState::Expired);
                    }
                }
                Timer::Probe => self.probe_timer(),
            }
        }
    }

    // ---- outputs -------------------------------------------------------------------

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The host to dial now, if any. Call [`handle_connected`](Self::handle_connected) or
    /// [`handle_disconnected`](Self::handle_disconnected) with the outcome.
    #[must_use]
    pub fn poll_connect(&mut self, now: Instant) -> Option<HostIndex> {
        if !self.conn.is_idle() || self.state.is_terminal() {
            return None;
        }
        if self.timers.get(Timer::Reconnect).is_some_and(|at| at > now) {
            return None;
        }
        self.timers.stop(Timer::Reconnect);
        let (host, _) = self.hosts.next_host();
        self.conn = Conn::Dialing(host);
        self.timers
            .set(Timer::Connect, now + self.connect_timeout());
        Some(host)
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Appends every frame ready to send to `out`; returns the number of bytes added.
    ///
    /// At most about 256 KiB are added per call; call again while it returns non-zero.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, out: &mut BytesMut) -> usize {
        let start = out.len();
        match self.conn {
            Conn::Handshaking { host, sent: false } => {
                self.write_connect_request(out);
                self.conn = Conn::Handshaking { host, sent: true };
            }
            Conn::Established(_) => self.transmit_requests(out),
            _ => {}
        }
        let written = out.len() - start;
        if written > 0 && self.conn.is_established() {
            self.sent(now);
        }
        written
    }

    // ---- internals -----------------------------------------------------------------

    fn ping_interval(&self) -> Duration {
        (self.read_timeout() / 2).max(MIN_PING)
    }

    fn sent(&mut self, now: Instant) {
        self.timers.set(Timer::Ping, now + self.ping_interval());
    }

    fn received(&mut self, now: Instant) {
        self.last_contact = now;
        if self.conn.is_established() {
            self.timers.set(Timer::Read, now + self.read_timeout());
        }
    }

    fn set_state(&mut self, state: SessionState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(Event::State(state));
        }
    }

    fn fail(&mut self, id: RequestId, code: ErrorCode) {
        self.events.push_back(Event::Reply(Reply {
            id,
            zxid: 0,
            result: Err(code),
            watch: None,
        }));
    }
}
