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
mod event;
mod pending;
mod sasl;
mod timer;
mod watches;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use self::chroot::{prefix_paths, strip_paths};
pub use self::config::{DisconnectCause, ReconnectPolicy, ServerMode, SessionConfig};
pub use self::event::{Event, Reply, RequestId, SessionState, WatchKind, WatchedEvent};
use self::pending::{Pending, PendingKind, Queued, reply_needs_request};
pub use self::sasl::{SaslError, SaslExchange, SaslMechanism};
use self::timer::{Timer, TimerTable};
use self::watches::WatchRegistry;
use crate::frame::{FrameDecoder, encode_frame};
use crate::hosts::{HostIndex, HostOrder};
use crate::path::Chroot;
use crate::records::{
    AddWatchRequest, AuthPacket, ConnectRequest, ConnectResponse, RemoveWatchesRequest,
    ReplyHeader, Request, RequestHeader, Response, WatcherEvent,
};
use crate::rng::Rng;
use crate::xid::{AUTH_XID, NOTIFICATION_XID, PING_XID, XidCounter};
use crate::{AddWatchMode, ErrorCode, OpCode, Record, WatcherType, decode_exact};

/// The connection the session is using.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Conn {
    /// No connection; dial when [`Timer::Reconnect`] fires (or at once when it is unset).
    Idle,
    /// [`Session::poll_connect`] returned this host; waiting for `handle_connected`.
    Dialing(HostIndex),
    /// Connected; the ConnectRequest is sent (`sent`) or about to be.
    Handshaking { host: HostIndex, sent: bool },
    /// The session is established on this connection.
    Established { host: HostIndex },
}

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
    rng: Rng,
    timers: TimerTable,
    frames: FrameDecoder,

    session_id: i64,
    password: Bytes,
    /// The read-write (global) session: from `resume` or the first read-write handshake.
    /// A read-only server's session is local and never presented to another server.
    global: Option<(i64, Bytes)>,
    /// The next handshake asks for a new (local) session: a read-only server could not
    /// validate the global one.
    try_local: bool,
    /// The session id the last ConnectRequest presented (0: a new session).
    presented: i64,
    /// Dial this host again at once (a read-only server that will give a local session).
    retry_now: Option<HostIndex>,
    /// A host that closed the handshake of the global session: ask it `isro`.
    ro_check_due: Option<HostIndex>,
    /// The host whose `isro` answer is awaited for that.
    ro_check: Option<HostIndex>,
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
    setup_due: bool,
    /// The SASL exchange of this connection, until it completes.
    sasl: Option<Box<dyn SaslExchange>>,
    /// The next SASL token to send.
    sasl_token: Option<Vec<u8>>,
    /// The state to report once SASL completes.
    sasl_then: SessionState,
    ping_due: bool,
    create2: Create2,
    closing: bool,

    watches: WatchRegistry,
    auth: Vec<AuthPacket>,
    events: VecDeque<Event>,
    probe: Option<(HostIndex, Duration)>,
    probe_due: bool,
}

const MIN_PING: Duration = Duration::from_millis(10);
const NO_PASSWORD: [u8; crate::records::connect::PASSWORD_LEN] =
    [0; crate::records::connect::PASSWORD_LEN];

impl Session {
    /// A session that will connect when first polled.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let mut rng = Rng::new(config.rng_seed);
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
            try_local: false,
            presented: 0,
            retry_now: None,
            ro_check_due: None,
            ro_check: None,
            negotiated,
            last_zxid: 0,
            last_contact: now,
            failures: 0,
            xids: XidCounter::new(),
            next_id: 1,
            queue: VecDeque::new(),
            pending: VecDeque::new(),
            setup_due: false,
            sasl: None,
            sasl_token: None,
            sasl_then: SessionState::Connected,
            ping_due: false,
            create2: Create2::Unknown,
            closing: false,
            watches: WatchRegistry::default(),
            auth: Vec::new(),
            events: VecDeque::new(),
            probe: None,
            probe_due: false,
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
        match self.conn {
            Conn::Established { host } => Some(host),
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

    fn read_timeout(&self) -> Duration {
        self.negotiated * 2 / 3
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
                id,
                op_code,
                request,
            });
        }
        id
    }

    /// Adds an authentication identity; it is sent now (when connected) and replayed, in
    /// the order added, after every reconnect.
    pub fn add_auth(&mut self, _now: Instant, packet: AuthPacket) {
        if matches!(self.conn, Conn::Established { .. }) && !self.setup_due {
            self.queue.push_back(Queued {
                id: RequestId(0),
                op_code: OpCode::Auth,
                request: Request::Auth(packet.clone()),
            });
        }
        self.auth.push(packet);
    }

    /// Forgets a request that has not been sent yet (its deadline passed). Returns false
    /// when it is already in flight: its reply will still arrive.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        let before = self.queue.len();
        self.queue.retain(|q| q.id != id);
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
                self.queue.push_back(Queued {
                    id: RequestId(0),
                    op_code: OpCode::RemoveWatches,
                    request,
                });
            }
        }
    }

    /// Closes the session: sends closeSession after the requests already submitted, then
    /// [`SessionState::Closed`]. Without a connection the session closes at once (the
    /// server expires it later).
    pub fn close(&mut self, _now: Instant) {
        if self.state.is_terminal() || self.closing {
            return;
        }
        if matches!(self.conn, Conn::Established { .. }) {
            self.closing = true;
            self.queue.push_back(Queued {
                id: RequestId(0),
                op_code: OpCode::CloseSession,
                request: Request::Empty(()),
            });
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
        if self.conn == Conn::Idle {
            return;
        }
        tracing::debug!(?cause, "connection lost");
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
            let frame = match self.frames.decode(input) {
                Ok(Some(frame)) => frame.freeze(),
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "bad frame from server");
                    return self.drop_connection(now);
                }
            };
            self.received(now);
            let ok = match self.conn {
                Conn::Handshaking { host, .. } => self.handle_handshake(now, host, &frame),
                _ => self.handle_frame(frame),
            };
            if !ok {
                return self.drop_connection(now);
            }
        }
    }

    /// Time passed; acts on every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.take_expired(now) {
            match timer {
                Timer::Connect => {
                    if matches!(self.conn, Conn::Dialing(_) | Conn::Handshaking { .. }) {
                        tracing::debug!("connect timeout");
                        self.drop_connection(now);
                    }
                }
                Timer::Read => {
                    if matches!(self.conn, Conn::Established { .. }) {
                        tracing::debug!("read timeout");
                        self.drop_connection(now);
                    }
                }
                Timer::Ping => self.ping_due = matches!(self.conn, Conn::Established { .. }),
                Timer::Reconnect => {}
                Timer::Expiry => {
                    if !self.state.is_connected() && !self.state.is_terminal() {
                        tracing::debug!("no server for too long; session considered expired");
                        self.drop_transport();
                        self.terminate(SessionState::Expired);
                    }
                }
                Timer::Probe => self.probe_due = self.state == SessionState::ConnectedReadOnly,
            }
        }
    }

    /// The answer of `host` to an `isro` probe asked for by [`poll_probe`](Self::poll_probe).
    pub fn handle_probe(&mut self, now: Instant, host: HostIndex, mode: ServerMode) {
        if self.ro_check == Some(host) {
            self.ro_check = None;
            if mode == ServerMode::ReadOnly && !matches!(self.conn, Conn::Established { .. }) {
                // A read-only server closed the handshake of our global session: open a
                // local one there and resume the global one on a read-write server later.
                tracing::debug!(
                    ?host,
                    "read-only server refused the global session; opening a local one"
                );
                self.try_local = true;
                self.hosts.prefer(host);
                self.timers.set(Timer::Reconnect, now);
            }
            return;
        }
        if self.state != SessionState::ConnectedReadOnly {
            return;
        }
        if mode == ServerMode::ReadWrite {
            tracing::debug!(?host, "read-write server found");
            self.hosts.prefer(host);
            self.drop_connection(now);
            self.timers.stop(Timer::Reconnect);
        } else {
            let backoff = self.probe.map_or(Duration::from_millis(100), |(_, b)| {
                (b * 2).min(Duration::from_secs(60))
            });
            self.probe = Some((host, backoff));
            self.timers.set(Timer::Probe, now + backoff);
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
        if self.conn != Conn::Idle || self.state.is_terminal() {
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

    /// A host to probe with `isro`: while connected read-only, to find a read-write server;
    /// and, with read-only sessions allowed, after a server closed the handshake of the
    /// global session (a read-only server does that). Answer with
    /// [`handle_probe`](Self::handle_probe).
    #[must_use]
    pub fn poll_probe(&mut self) -> Option<HostIndex> {
        if let Some(host) = self.ro_check_due.take() {
            self.ro_check = Some(host);
            return Some(host);
        }
        if !std::mem::take(&mut self.probe_due) {
            return None;
        }
        let host = self.hosts.peek();
        (Some(host) != self.connected_host()).then_some(host)
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
                let request = ConnectRequest {
                    protocol_version: 0,
                    last_zxid_seen: self.last_zxid,
                    time_out: i32::try_from(self.config.session_timeout.as_millis())
                        .unwrap_or(i32::MAX),
                    session_id: 0,
                    passwd: Bytes::from_static(&NO_PASSWORD),
                    read_only: Some(self.config.read_only),
                };
                let request = match (&self.global, std::mem::take(&mut self.try_local)) {
                    (Some((id, password)), false) => ConnectRequest {
                        session_id: *id,
                        passwd: password.clone(),
                        ..request
                    },
                    _ => request,
                };
                self.presented = request.session_id;
                // A 45-byte record always fits.
                let _ = encode_frame(out, &request, usize::MAX);
                self.conn = Conn::Handshaking { host, sent: true };
            }
            Conn::Established { .. } => self.transmit_requests(out),
            _ => {}
        }
        let written = out.len() - start;
        if written > 0 && matches!(self.conn, Conn::Established { .. }) {
            self.sent(now);
        }
        written
    }

    // ---- internals -----------------------------------------------------------------

    fn transmit_requests(&mut self, out: &mut BytesMut) {
        const BUDGET: usize = 256 * 1024;
        if self.sasl.is_some() {
            if let Some(token) = self.sasl_token.take() {
                let xid = self.xids.next_xid();
                let header = RequestHeader {
                    xid,
                    op_code: OpCode::Sasl,
                };
                let request = Request::Sasl(crate::records::GetSaslRequest {
                    token: token.into(),
                });
                let _ = encode_frame(out, &(header, RequestBody(&request)), usize::MAX);
                self.pending.push_back(Pending {
                    xid,
                    op_code: OpCode::Sasl,
                    kind: PendingKind::Sasl,
                });
            }
            return;
        }
        let start = out.len();
        if std::mem::take(&mut self.setup_due) {
            for packet in self.auth.clone() {
                let _ = encode_frame(
                    out,
                    &(
                        RequestHeader {
                            xid: AUTH_XID,
                            op_code: OpCode::Auth,
                        },
                        packet,
                    ),
                    usize::MAX,
                );
            }
            for (op_code, batch) in self
                .watches
                .set_watches(self.last_zxid, self.config.set_watches_batch_len)
            {
                let xid = self.xids.next_xid();
                let header = RequestHeader { xid, op_code };
                let _ = encode_frame(out, &(header, RequestBody(&batch)), usize::MAX);
                self.pending.push_back(Pending {
                    xid,
                    op_code,
                    kind: PendingKind::SetWatches,
                });
            }
        }
        while out.len() - start < BUDGET && self.create2 != Create2::Probing {
            let Some(queued) = self.queue.pop_front() else {
                break;
            };
            self.transmit_one(queued, out);
        }
        if std::mem::take(&mut self.ping_due) && out.len() == start {
            let _ = encode_frame(
                out,
                &RequestHeader {
                    xid: PING_XID,
                    op_code: OpCode::Ping,
                },
                usize::MAX,
            );
        }
    }

    fn transmit_one(&mut self, queued: Queued, out: &mut BytesMut) {
        let Queued {
            id,
            mut op_code,
            request,
        } = queued;
        if op_code == OpCode::Auth {
            let _ = encode_frame(
                out,
                &(
                    RequestHeader {
                        xid: AUTH_XID,
                        op_code,
                    },
                    RequestBody(&request),
                ),
                usize::MAX,
            );
            return;
        }
        if op_code == OpCode::Create2 {
            match self.create2 {
                Create2::Unsupported => op_code = OpCode::Create,
                Create2::Unknown => self.create2 = Create2::Probing,
                _ => {}
            }
        }
        let xid = self.xids.next_xid();
        let header = RequestHeader { xid, op_code };
        let framed = encode_frame(
            out,
            &(header, RequestBody(&request)),
            self.config.max_frame_len,
        );
        if let Err(error) = framed {
            tracing::warn!(%error, ?op_code, "request too large");
            if self.create2 == Create2::Probing && op_code == OpCode::Create2 {
                self.create2 = Create2::Unknown;
            }
            if id.0 != 0 {
                self.fail(id, ErrorCode::MarshallingError);
            }
            return;
        }
        let rearm = self.persistent_rearm(&request);
        let kind = match op_code {
            OpCode::CloseSession => PendingKind::Close,
            _ if id.0 == 0 => PendingKind::Internal,
            _ => {
                let probing = op_code == OpCode::Create2 && self.create2 == Create2::Probing;
                PendingKind::User {
                    id,
                    request: reply_needs_request(&request, probing).then(|| Box::new(request)),
                }
            }
        };
        self.pending.push_back(Pending { xid, op_code, kind });
        // ZOOKEEPER-4466 (3.8): a standard watch set after a persistent one on the same path
        // turns the persistent watch into a one-shot one. Adding the persistent watch again
        // right after restores it (3.9 servers just keep it).
        for request in rearm.into_iter().rev() {
            self.queue.push_front(Queued {
                id: RequestId(0),
                op_code: OpCode::AddWatch,
                request,
            });
        }
    }

    /// The addWatch requests that restore the persistent watches on the path a watching
    /// read is about to leave a standard watch on.
    fn persistent_rearm(&self, request: &Request) -> Vec<Request> {
        let path = match request {
            Request::GetData(r) if r.watch => &r.path,
            Request::Exists(r) if r.watch => &r.path,
            Request::GetChildren(r) if r.watch => &r.path,
            Request::GetChildren2(r) if r.watch => &r.path,
            _ => return Vec::new(),
        };
        self.watches
            .persistent_modes(path)
            .into_iter()
            .map(|mode| {
                Request::AddWatch(AddWatchRequest {
                    path: path.clone(),
                    mode,
                })
            })
            .collect()
    }

    fn handle_handshake(&mut self, now: Instant, host: HostIndex, frame: &Bytes) -> bool {
        // A read-only server without local sessions answers a bare ReplyHeader.
        let Ok(rsp) = decode_exact::<ConnectResponse>(frame) else {
            tracing::debug!(
                len = frame.len(),
                "not a ConnectResponse; trying the next host"
            );
            return false;
        };
        self.timers.stop(Timer::Connect);
        tracing::debug!(?host, session_id = rsp.session_id, time_out = rsp.time_out, read_only = ?rsp.read_only, "handshake answered");
        if rsp.is_expired() {
            let resumed = self.presented != 0;
            return match resumed {
                // A read-only server cannot validate a global session: take a local one
                // there (reads keep working) and resume the global one on a read-write
                // server later.
                true if rsp.read_only == Some(true) && self.config.read_only => {
                    tracing::debug!(
                        "read-only server does not know the session; opening a local one"
                    );
                    self.try_local = true;
                    self.retry_now = Some(host);
                    false
                }
                true => {
                    self.drop_transport();
                    self.terminate(SessionState::Expired);
                    true
                }
                // The server refused a new session: try another.
                false => false,
            };
        }
        let read_only = rsp.read_only == Some(true);
        self.negotiated = Duration::from_millis(u64::try_from(rsp.time_out).unwrap_or(0));
        self.session_id = rsp.session_id;
        self.password = rsp.passwd;
        if !read_only {
            self.global = Some((self.session_id, self.password.clone()));
        }
        self.failures = 0;
        self.conn = Conn::Established { host };
        self.setup_due = !self.auth.is_empty() || self.watches.len() > 0;
        self.timers.stop(Timer::Expiry);
        self.timers.set(Timer::Read, now + self.read_timeout());
        self.timers.set(Timer::Ping, now + self.ping_interval());
        let state = if read_only {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        };
        if read_only {
            self.probe = None;
            self.timers
                .set(Timer::Probe, now + Duration::from_millis(100));
        } else {
            self.timers.stop(Timer::Probe);
        }
        match &self.config.sasl {
            // Nothing else is sent, and the session is not reported connected, until the
            // SASL exchange completes.
            Some(mechanism) => {
                let mut exchange = mechanism.start();
                self.sasl_token = Some(exchange.initial());
                self.sasl = Some(exchange);
                self.sasl_then = state;
            }
            None => self.set_state(state),
        }
        true
    }

    fn handle_frame(&mut self, mut frame: Bytes) -> bool {
        let Ok(header) = ReplyHeader::decode(&mut frame) else {
            return false;
        };
        match header.xid {
            NOTIFICATION_XID => {
                let Ok(event) = decode_exact::<WatcherEvent>(&frame) else {
                    return false;
                };
                self.notify(event);
                true
            }
            PING_XID => true,
            AUTH_XID => {
                if header.err == ErrorCode::AuthFailed {
                    self.drop_transport();
                    self.terminate(SessionState::AuthFailed);
                }
                true
            }
            xid => self.handle_reply(xid, header, frame),
        }
    }

    fn handle_reply(&mut self, xid: i32, header: ReplyHeader, mut frame: Bytes) -> bool {
        let Some(front) = self.pending.front() else {
            tracing::warn!(xid, "reply with nothing pending");
            return false;
        };
        if front.xid != xid {
            tracing::warn!(xid, expected = front.xid, "xid out of order");
            return false;
        }
        let Some(Pending { op_code, kind, .. }) = self.pending.pop_front() else {
            return false;
        };
        if header.zxid > 0 {
            self.last_zxid = header.zxid;
        }
        match kind {
            PendingKind::SetWatches | PendingKind::Internal => true,
            PendingKind::Sasl => {
                self.sasl_step(header.err, &frame);
                true
            }
            PendingKind::Close => {
                self.drop_transport();
                self.terminate(SessionState::Closed);
                true
            }
            PendingKind::User { id, request } => {
                if op_code == OpCode::Create2 && self.create2 == Create2::Probing {
                    if header.err == ErrorCode::Unimplemented {
                        // A server before 3.5: it did nothing; send the same create as op 1
                        // (the probe always keeps its request).
                        self.create2 = Create2::Unsupported;
                        if let Some(request) = request {
                            self.queue.push_front(Queued {
                                id,
                                op_code: OpCode::Create,
                                request: *request,
                            });
                            return true;
                        }
                    } else {
                        self.create2 = Create2::Supported;
                    }
                }
                let result = if header.err.is_ok() {
                    match Response::decode_body(op_code, &mut frame) {
                        Ok(mut response) => {
                            strip_paths(&self.config.chroot, &mut response);
                            Ok(response)
                        }
                        Err(error) => {
                            tracing::warn!(%error, ?op_code, "undecodable reply");
                            return false;
                        }
                    }
                } else {
                    Err(header.err)
                };
                let watch =
                    request.and_then(|request| self.register_watch(id, op_code, &request, &result));
                if result == Err(ErrorCode::SessionClosedRequireSaslAuth) {
                    // The server requires SASL and closes the connection: no retry can
                    // succeed without it.
                    self.events.push_back(Event::Reply(Reply {
                        id,
                        zxid: header.zxid,
                        result,
                        watch,
                    }));
                    self.drop_transport();
                    self.terminate(SessionState::AuthFailed);
                    return true;
                }
                self.events.push_back(Event::Reply(Reply {
                    id,
                    zxid: header.zxid,
                    result,
                    watch,
                }));
                true
            }
        }
    }

    /// Feeds the server's SASL token to the exchange.
    fn sasl_step(&mut self, err: ErrorCode, frame: &Bytes) {
        let Some(exchange) = self.sasl.as_mut() else {
            return;
        };
        let step = if err.is_ok() {
            decode_exact::<crate::records::SetSaslResponse>(frame)
                .map_err(|e| SaslError(e.to_string()))
                .and_then(|rsp| exchange.step(&rsp.token))
        } else {
            Err(SaslError(format!("server answered {err}")))
        };
        match step {
            Ok(Some(token)) => self.sasl_token = Some(token),
            Ok(None) => {
                self.sasl = None;
                self.setup_due = !self.auth.is_empty() || self.watches.len() > 0;
                self.set_state(self.sasl_then);
            }
            Err(error) => {
                tracing::warn!(%error, "sasl authentication failed");
                self.drop_transport();
                self.terminate(SessionState::AuthFailed);
            }
        }
    }

    /// Registers the watch a successful request leaves, as the Java client does: getData
    /// and getChildren only when the node exists, exists either way.
    fn register_watch(
        &mut self,
        id: RequestId,
        op_code: OpCode,
        request: &Request,
        result: &Result<Response, ErrorCode>,
    ) -> Option<WatchKind> {
        let (kind, path) = match (request, result) {
            (Request::GetData(r), Ok(_)) if r.watch => (WatchKind::Data, &r.path),
            (Request::Exists(r), Ok(_)) if r.watch => (WatchKind::Data, &r.path),
            (Request::Exists(r), Err(ErrorCode::NoNode)) if r.watch => (WatchKind::Exist, &r.path),
            (Request::GetChildren(r), Ok(_)) if r.watch => (WatchKind::Child, &r.path),
            (Request::GetChildren2(r), Ok(_)) if r.watch => (WatchKind::Child, &r.path),
            (Request::AddWatch(r), Ok(_)) => match r.mode {
                AddWatchMode::Persistent => (WatchKind::Persistent, &r.path),
                AddWatchMode::PersistentRecursive => (WatchKind::PersistentRecursive, &r.path),
            },
            (Request::RemoveWatches(r), Ok(_)) if op_code == OpCode::RemoveWatches => {
                let kinds: &[WatchKind] = match r.watcher_type {
                    WatcherType::Data => &[WatchKind::Data, WatchKind::Exist],
                    WatcherType::Children => &[WatchKind::Child],
                    WatcherType::Persistent => &[WatchKind::Persistent],
                    WatcherType::PersistentRecursive => &[WatchKind::PersistentRecursive],
                    _ => &[
                        WatchKind::Data,
                        WatchKind::Exist,
                        WatchKind::Child,
                        WatchKind::Persistent,
                        WatchKind::PersistentRecursive,
                    ],
                };
                let path = self.config.chroot.strip_or_keep(&r.path).to_owned();
                for (watcher, event_type) in self.watches.remove_kinds(&r.path, kinds) {
                    let event = WatchedEvent {
                        event_type,
                        path: path.clone(),
                    };
                    self.events.push_back(Event::Watch {
                        watchers: vec![watcher],
                        event,
                    });
                }
                return None;
            }
            _ => return None,
        };
        self.watches.add(kind, path, id);
        Some(kind)
    }

    fn notify(&mut self, event: WatcherEvent) {
        let watchers = self.watches.fire(event.event_type, &event.path);
        if watchers.is_empty() {
            return;
        }
        let path = self.config.chroot.strip_or_keep(&event.path).to_owned();
        self.events.push_back(Event::Watch {
            watchers,
            event: WatchedEvent {
                event_type: event.event_type,
                path,
            },
        });
    }

    fn ping_interval(&self) -> Duration {
        (self.read_timeout() / 2).max(MIN_PING)
    }

    fn sent(&mut self, now: Instant) {
        self.timers.set(Timer::Ping, now + self.ping_interval());
    }

    fn received(&mut self, now: Instant) {
        self.last_contact = now;
        if matches!(self.conn, Conn::Established { .. }) {
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

    /// The session drops the connection itself: tell the driver, then handle the loss.
    fn drop_connection(&mut self, now: Instant) {
        self.drop_transport();
        self.connection_lost(now);
    }

    fn drop_transport(&mut self) {
        if self.conn != Conn::Idle {
            self.events.push_back(Event::CloseConnection);
        }
    }

    fn connection_lost(&mut self, now: Instant) {
        let was_established = matches!(self.conn, Conn::Established { .. });
        if let Conn::Handshaking { host, sent: true } = self.conn {
            if self.config.read_only && self.presented != 0 && self.retry_now.is_none() {
                self.ro_check_due = Some(host);
            }
        }
        self.conn = Conn::Idle;
        for timer in [Timer::Connect, Timer::Read, Timer::Ping, Timer::Probe] {
            self.timers.stop(timer);
        }
        self.ping_due = false;
        self.probe_due = false;
        self.setup_due = false;
        self.sasl = None;
        self.sasl_token = None;
        if self.create2 == Create2::Probing {
            self.create2 = Create2::Unknown;
        }
        let closing = self.closing;
        for pending in std::mem::take(&mut self.pending) {
            if let PendingKind::User { id, .. } = pending.kind {
                self.fail(id, ErrorCode::ConnectionLoss);
            }
        }
        if closing {
            return self.terminate(SessionState::Closed);
        }
        if self.state.is_terminal() {
            return;
        }
        if let Some(host) = self.retry_now.take() {
            self.hosts.prefer(host);
            self.timers.set(Timer::Reconnect, now);
        } else if was_established {
            self.set_state(SessionState::Disconnected);
            let delay = self
                .rng
                .below(self.config.reconnect.initial.as_micros() as u64);
            self.timers
                .set(Timer::Reconnect, now + Duration::from_micros(delay));
        } else {
            self.failures += 1;
            let policy = self.config.reconnect;
            if policy.max_attempts != 0 && self.failures >= policy.max_attempts {
                tracing::debug!(attempts = self.failures, "giving up reconnecting");
                return self.terminate(SessionState::Closed);
            }
            let exp = policy
                .initial
                .saturating_mul(1 << (self.failures - 1).min(20))
                .min(policy.max);
            let micros = exp.as_micros() as u64;
            let delay = micros / 2 + self.rng.below(micros / 2 + 1);
            self.timers
                .set(Timer::Reconnect, now + Duration::from_micros(delay));
        }
        if self.global.is_some() && self.config.local_expiry_percent > 0 {
            let limit = self.negotiated * self.config.local_expiry_percent / 100;
            self.timers.set(Timer::Expiry, self.last_contact + limit);
        }
    }

    /// Ends the session for good: every request and watcher fails with the state's code.
    fn terminate(&mut self, state: SessionState) {
        self.conn = Conn::Idle;
        self.timers = TimerTable::default();
        self.closing = false;
        let code = state.terminal_error().unwrap_or(ErrorCode::Closing);
        let ids: Vec<RequestId> = self
            .pending
            .drain(..)
            .filter_map(|p| match p.kind {
                PendingKind::User { id, .. } => Some(id),
                _ => None,
            })
            .chain(self.queue.drain(..).map(|q| q.id).filter(|id| id.0 != 0))
            .collect();
        for id in ids {
            self.fail(id, code);
        }
        self.watches.clear();
        self.set_state(state);
    }
}

/// A request body borrowed as a [`Record`] for framing.
struct RequestBody<'a>(&'a Request);

impl Record for RequestBody<'_> {
    const MIN_LEN: usize = 0;
    fn encode<B: bytes::BufMut>(&self, buf: &mut B) {
        self.0.encode_body(buf);
    }
    fn decode<B: bytes::Buf>(_buf: &mut B) -> Result<Self, crate::DecodeError> {
        Err(crate::DecodeError::new(crate::DecodeErrorKind::Invalid(
            "request bodies are encoded only",
        )))
    }
    fn encoded_len(&self) -> usize {
        self.0.body_len()
    }
}
