//! What the session receives: the answer to the handshake, replies matched to requests in
//! order, the SASL exchange's tokens, and watch notifications.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::chroot::strip_paths;
use super::connection::{Conn, Link, Sasl};
use super::event::{Event, Reply, RequestId, SessionState, WatchKind, WatchedEvent};
use super::fault::ConnectionFault;
use super::pending::{Origin, Pending, PendingKind, Queued};
use super::sasl::SaslError;
use super::timer::Timer;
use super::{Create2, Session};
use crate::hosts::HostIndex;
use crate::records::{
    ConnectResponse, GetChildren2Request, GetChildren2Response, ReplyHeader, Request, Response,
    SetSaslResponse, WatcherEvent,
};
use crate::xid::{AUTH_XID, NOTIFICATION_XID, PING_XID};
use crate::{AddWatchMode, ErrorCode, EventType, OpCode, Record, WatcherType, decode_exact};

/// How a frame's handling ended when the connection must go: with a fault to report, or
/// (`None`) quietly, to dial again at once.
pub(super) type Abort = Option<ConnectionFault>;

/// The length of a [`ReplyHeader`]: xid, zxid and err.
pub(super) const REPLY_HEADER_LEN: usize = 16;

impl Session {
    /// The answer to the handshake.
    pub(super) fn handle_handshake(
        &mut self,
        now: Instant,
        host: HostIndex,
        frame: &Bytes,
    ) -> Result<(), Abort> {
        // A read-only server without local sessions answers a bare ReplyHeader.
        let Ok(rsp) = decode_exact::<ConnectResponse>(frame) else {
            return Err(Some(ConnectionFault::BadHandshake { len: frame.len() }));
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
                    self.read_only.try_local = true;
                    self.read_only.retry_now = Some(host);
                    Err(None)
                }
                true => {
                    self.drop_transport();
                    self.terminate(SessionState::Expired);
                    Ok(())
                }
                // The server refused a new session: try another.
                false => Err(Some(ConnectionFault::SessionRefused)),
            };
        }
        let read_only = rsp.read_only == Some(true);
        self.negotiated = Duration::from_millis(u64::try_from(rsp.time_out).unwrap_or(0));
        self.session_id = rsp.session_id;
        self.password = rsp.passwd;
        if !read_only {
            self.global = Some((self.session_id, self.password.clone()));
        }
        let mut link = Link::new(host);
        link.setup_due = self.setup_needed();
        self.timers.stop(Timer::Expiry);
        self.timers.set(Timer::Read, now + self.read_timeout());
        self.timers.set(Timer::Ping, now + self.ping_interval());
        let state = if read_only {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        };
        self.schedule_probe(now, read_only);
        match &self.config.sasl {
            // Nothing else is sent, and the session is not reported connected, until the
            // SASL exchange completes.
            Some(mechanism) => {
                let mut exchange = mechanism.start();
                link.sasl = Some(Sasl {
                    token: Some(exchange.initial()),
                    exchange,
                    then: state,
                });
                self.conn = Conn::Established(link);
            }
            None => {
                self.conn = Conn::Established(link);
                self.set_state(state);
            }
        }
        Ok(())
    }

    /// Whether a new connection must replay auth and re-arm watches first.
    fn setup_needed(&self) -> bool {
        !self.auth.is_empty() || self.watches.len() > 0
    }

    /// The head of a reply longer than the frame limit, whose rest the decoder discards:
    /// the oldest request in flight fails with [`ErrorCode::ReplyTooLarge`] and the
    /// connection stays. Anything else that long (a notification, an internal request's
    /// reply, garbage) drops the connection as before.
    pub(super) fn handle_oversized(&mut self, head: &[u8], len: usize) -> Result<(), Abort> {
        let too_long = ConnectionFault::FrameTooLong {
            len,
            max: self.config.max_frame_len,
        };
        let (Conn::Established(_), Ok(header)) = (&self.conn, ReplyHeader::decode(&mut &head[..]))
        else {
            return Err(Some(too_long));
        };
        let front_is_user = self
            .pending
            .front()
            .is_some_and(|p| p.xid == header.xid && matches!(p.kind, PendingKind::User { .. }));
        if !front_is_user {
            return Err(Some(too_long));
        }
        let Some(Pending {
            kind: PendingKind::User { id, .. },
            op_code,
            ..
        }) = self.pending.pop_front()
        else {
            return Err(Some(too_long));
        };
        tracing::debug!(
            ?op_code,
            len,
            max = self.config.max_frame_len,
            "reply too large; discarded"
        );
        self.saw_zxid(header.zxid);
        self.events.push_back(Event::Reply(Reply {
            id,
            zxid: header.zxid,
            result: Err(ErrorCode::ReplyTooLarge),
            watch: None,
        }));
        Ok(())
    }

    /// A frame on the established connection.
    pub(super) fn handle_frame(&mut self, mut frame: Bytes) -> Result<(), Abort> {
        let len = frame.len();
        let Ok(header) = ReplyHeader::decode(&mut frame) else {
            return Err(Some(ConnectionFault::ShortHeader { len }));
        };
        self.handle_message(header, frame)?;
        // The server answered something well-formed after the handshake: the connection
        // works, so a later loss starts a fresh run of backoff.
        if let Some(link) = self.conn.link() {
            if !link.proven {
                link.proven = true;
                self.failures = 0;
            }
        }
        Ok(())
    }

    /// A notification, a ping or auth answer, or a reply.
    fn handle_message(&mut self, header: ReplyHeader, frame: Bytes) -> Result<(), Abort> {
        match header.xid {
            NOTIFICATION_XID => {
                let event = decode_exact::<WatcherEvent>(&frame)
                    .map_err(|e| ConnectionFault::BadNotification(e.to_string()))?;
                self.notify(event);
                Ok(())
            }
            PING_XID => Ok(()),
            AUTH_XID => {
                if header.err == ErrorCode::AuthFailed {
                    self.drop_transport();
                    self.terminate(SessionState::AuthFailed);
                }
                Ok(())
            }
            xid => self.handle_reply(xid, header, frame).map_err(Some),
        }
    }

    /// A reply to the oldest request in flight.
    fn handle_reply(
        &mut self,
        xid: i32,
        header: ReplyHeader,
        mut frame: Bytes,
    ) -> Result<(), ConnectionFault> {
        let expected = match self.pending.front() {
            None => return Err(ConnectionFault::UnexpectedReply { xid }),
            Some(front) => front.xid,
        };
        if expected != xid {
            return Err(ConnectionFault::XidOutOfOrder { xid, expected });
        }
        let Some(Pending { op_code, kind, .. }) = self.pending.pop_front() else {
            return Err(ConnectionFault::UnexpectedReply { xid });
        };
        // A user reply's zxid counts once its body decoded: garbage must not make the
        // session claim a zxid no server has.
        if !matches!(kind, PendingKind::User { .. }) {
            self.saw_zxid(header.zxid);
        }
        match kind {
            PendingKind::SetWatches => {
                let last = !self
                    .pending
                    .iter()
                    .any(|p| matches!(p.kind, PendingKind::SetWatches));
                if last {
                    self.rearm_child_watches(None, header.zxid);
                }
            }
            PendingKind::Internal(request) => {
                if let (Some(request), true) = (request, header.err.is_ok()) {
                    self.recursive_added(&request, header.zxid);
                }
            }
            PendingKind::ChildRearm(rearm) => {
                let (path, since) = *rearm;
                self.child_rearm_answered(&path, since, header.err, &mut frame);
            }
            PendingKind::Sasl => self.sasl_step(header.err, &frame),
            PendingKind::Close => {
                self.drop_transport();
                self.terminate(SessionState::Closed);
            }
            PendingKind::User { id, request } => {
                if self.create2_probe_answered(op_code, header.err) {
                    // A server before 3.5 did nothing: send the same create as op 1 (the
                    // probe always keeps its request).
                    if let Some(request) = request {
                        self.queue.push_front(Queued {
                            origin: Origin::User(id),
                            op_code: OpCode::Create,
                            request: *request,
                        });
                        return Ok(());
                    }
                }
                let result = if header.err.is_ok() {
                    match Response::decode_body(op_code, &mut frame) {
                        Ok(mut response) => {
                            strip_paths(&self.config.chroot, &mut response);
                            Ok(response)
                        }
                        Err(error) => {
                            // The request goes back to the front of the FIFO, so dropping
                            // the connection fails it with the others in flight.
                            self.pending.push_front(Pending {
                                xid,
                                op_code,
                                kind: PendingKind::User { id, request },
                            });
                            return Err(ConnectionFault::bad_reply(op_code, error));
                        }
                    }
                } else {
                    Err(header.err)
                };
                self.saw_zxid(header.zxid);
                let watch = request.and_then(|request| {
                    let watch = self.register_watch(id, op_code, &request, &result);
                    if result.is_ok() {
                        self.recursive_added(&request, header.zxid);
                    }
                    watch
                });
                let sasl_required = result == Err(ErrorCode::SessionClosedRequireSaslAuth);
                self.events.push_back(Event::Reply(Reply {
                    id,
                    zxid: header.zxid,
                    result,
                    watch,
                }));
                if sasl_required {
                    // The server requires SASL and closes the connection: no retry can
                    // succeed without it.
                    self.drop_transport();
                    self.terminate(SessionState::AuthFailed);
                }
            }
        }
        Ok(())
    }

    fn saw_zxid(&mut self, zxid: i64) {
        if zxid > 0 {
            self.last_zxid = zxid;
        }
    }

    /// Learns from the reply to a create2 probe whether the server knows create2. True when
    /// it does not: the create must be sent again as create.
    fn create2_probe_answered(&mut self, op_code: OpCode, err: ErrorCode) -> bool {
        if op_code != OpCode::Create2 || self.create2 != Create2::Probing {
            return false;
        }
        if err == ErrorCode::Unimplemented {
            self.create2 = Create2::Unsupported;
            true
        } else {
            self.create2 = Create2::Supported;
            false
        }
    }

    /// A recursive watch was added (by `request`, answered at `zxid`). A 3.8 server keeps
    /// one mode per watcher and path in its child-watch table too, so the child watches of
    /// that path were just turned into a recursive entry that never fires
    /// (ZOOKEEPER-4466): re-arm them.
    fn recursive_added(&mut self, request: &Request, zxid: i64) {
        if let Request::AddWatch(r) = request {
            if r.mode == AddWatchMode::PersistentRecursive {
                self.rearm_child_watches(Some(&r.path), zxid);
            }
        }
    }

    /// Queues a getChildren2 with a watch for `path` (or, with `None`, for every path)
    /// that has both standard child watchers and a recursive watch. Its reply tells
    /// whether a child changed after `since`, while the child watch was not armed.
    fn rearm_child_watches(&mut self, path: Option<&str>, since: i64) {
        let since = since.max(self.last_zxid);
        for path in self.watches.child_paths_under_recursive(path) {
            let request = Request::GetChildren2(GetChildren2Request { path, watch: true });
            self.queue.push_front(Queued {
                origin: Origin::ChildRearm { since },
                op_code: OpCode::GetChildren2,
                request,
            });
        }
    }

    /// The reply to a child watch re-arm: the children changed after `since` (the watch
    /// missed it), or the node is gone. Either fires the child watchers still waiting.
    fn child_rearm_answered(&mut self, path: &str, since: i64, err: ErrorCode, frame: &mut Bytes) {
        let event_type = match err {
            ErrorCode::Ok => match GetChildren2Response::decode(frame) {
                Ok(rsp) if rsp.stat.pzxid > since => EventType::NodeChildrenChanged,
                _ => return,
            },
            ErrorCode::NoNode => EventType::NodeDeleted,
            _ => return,
        };
        let watchers = self.watches.take_kind(WatchKind::Child, path);
        if watchers.is_empty() {
            return;
        }
        tracing::debug!(path, ?event_type, "a child change missed while re-arming");
        let path = self.config.chroot.strip_or_keep(path).to_owned();
        self.events.push_back(Event::Watch {
            watchers,
            event: WatchedEvent { event_type, path },
        });
    }

    /// Feeds the server's SASL token to the exchange.
    fn sasl_step(&mut self, err: ErrorCode, frame: &Bytes) {
        let Some(link) = self.conn.link() else {
            return;
        };
        let Some(sasl) = link.sasl.as_mut() else {
            return;
        };
        let step = if err.is_ok() {
            decode_exact::<SetSaslResponse>(frame)
                .map_err(|e| SaslError(e.to_string()))
                .and_then(|rsp| sasl.exchange.step(&rsp.token))
        } else {
            Err(SaslError(format!("server answered {err}")))
        };
        match step {
            Ok(Some(token)) => sasl.token = Some(token),
            Ok(None) => {
                let then = sasl.then;
                link.sasl = None;
                link.setup_due = !self.auth.is_empty() || self.watches.len() > 0;
                self.set_state(then);
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

    /// Routes a notification to the watchers it fires.
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
}
