//! What the session sends: the handshake, the SASL exchange, the setup after a reconnect
//! (auth replay, SetWatches), queued requests in order, and pings.

use bytes::{Bytes, BytesMut};

use super::pending::{Origin, Pending, PendingKind, Queued, reply_needs_request};
use super::{Create2, NO_PASSWORD, Session};
use crate::frame::{FrameError, encode_frame};
use crate::records::{AddWatchRequest, ConnectRequest, GetSaslRequest, Request, RequestHeader};
use crate::xid::{AUTH_XID, PING_XID};
use crate::{ErrorCode, OpCode, Record};

/// At most this much is added to the transmit buffer per call.
const BUDGET: usize = 256 * 1024;

/// Frames `request` with its header into `out`, or leaves `out` as it was when the frame
/// would exceed `max_len`.
fn write_request(
    out: &mut BytesMut,
    xid: i32,
    op_code: OpCode,
    request: &Request,
    max_len: usize,
) -> Result<(), FrameError> {
    let header = RequestHeader { xid, op_code };
    encode_frame(out, &(header, RequestBody(request)), max_len)
}

impl Session {
    /// The ConnectRequest of this connection: the global session unless a local one is due.
    pub(super) fn write_connect_request(&mut self, out: &mut BytesMut) {
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.last_zxid,
            time_out: i32::try_from(self.config.session_timeout.as_millis()).unwrap_or(i32::MAX),
            session_id: 0,
            passwd: Bytes::from_static(&NO_PASSWORD),
            read_only: Some(self.config.read_only),
        };
        let request = match (&self.global, std::mem::take(&mut self.read_only.try_local)) {
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
    }

    /// Everything due on the established connection, in order.
    pub(super) fn transmit_requests(&mut self, out: &mut BytesMut) {
        let Some(link) = self.conn.link() else {
            return;
        };
        if let Some(sasl) = link.sasl.as_mut() {
            // Nothing else goes out until the exchange completes.
            if let Some(token) = sasl.token.take() {
                let request = Request::Sasl(GetSaslRequest {
                    token: token.into(),
                });
                self.write_tracked(out, OpCode::Sasl, &request, PendingKind::Sasl);
            }
            return;
        }
        let setup_due = std::mem::take(&mut link.setup_due);
        let ping_due = std::mem::take(&mut link.ping_due);
        let start = out.len();
        if setup_due {
            self.write_setup(out);
        }
        while out.len() - start < BUDGET && self.create2 != Create2::Probing {
            let Some(queued) = self.queue.pop_front() else {
                break;
            };
            self.transmit_one(queued, out);
        }
        if ping_due && out.len() == start {
            let _ = write_request(out, PING_XID, OpCode::Ping, &Request::Empty(()), usize::MAX);
        }
    }

    /// Auth replay, then the SetWatches batches that re-arm every watch.
    fn write_setup(&mut self, out: &mut BytesMut) {
        for packet in &self.auth {
            let request = Request::Auth(packet.clone());
            let _ = write_request(out, AUTH_XID, OpCode::Auth, &request, usize::MAX);
        }
        let batches = self
            .watches
            .set_watches(self.last_zxid, self.config.set_watches_batch_len);
        for (op_code, batch) in batches {
            self.write_tracked(out, op_code, &batch, PendingKind::SetWatches);
        }
    }

    /// Sends a request of the session's own whose reply is awaited as `kind`.
    fn write_tracked(
        &mut self,
        out: &mut BytesMut,
        op_code: OpCode,
        request: &Request,
        kind: PendingKind,
    ) {
        let xid = self.xids.next_xid();
        let _ = write_request(out, xid, op_code, request, usize::MAX);
        self.pending.push_back(Pending { xid, op_code, kind });
    }

    fn transmit_one(&mut self, queued: Queued, out: &mut BytesMut) {
        let Queued {
            origin,
            mut op_code,
            request,
        } = queued;
        if op_code == OpCode::Auth {
            let _ = write_request(out, AUTH_XID, op_code, &request, usize::MAX);
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
        if let Err(error) = write_request(out, xid, op_code, &request, self.config.max_frame_len) {
            tracing::warn!(%error, ?op_code, "request too large");
            if self.create2 == Create2::Probing && op_code == OpCode::Create2 {
                self.create2 = Create2::Unknown;
            }
            if let Origin::User(id) = origin {
                self.fail(id, ErrorCode::MarshallingError);
            }
            return;
        }
        let rearm = match origin {
            Origin::User(_) => self.persistent_rearm(&request),
            _ => Vec::new(),
        };
        let kind = match origin {
            _ if op_code == OpCode::CloseSession => PendingKind::Close,
            Origin::User(id) => {
                let probing = op_code == OpCode::Create2 && self.create2 == Create2::Probing;
                PendingKind::User {
                    id,
                    request: reply_needs_request(&request, probing).then(|| Box::new(request)),
                }
            }
            Origin::Session => {
                let keep = matches!(&request, Request::AddWatch(r) if r.mode == crate::AddWatchMode::PersistentRecursive);
                PendingKind::Internal(keep.then(|| Box::new(request)))
            }
            Origin::ChildRearm { since } => match request {
                Request::GetChildren2(r) => PendingKind::ChildRearm(Box::new((r.path, since))),
                _ => PendingKind::Internal(None),
            },
        };
        self.pending.push_back(Pending { xid, op_code, kind });
        // ZOOKEEPER-4466 (3.8): a standard watch set after a persistent one on the same path
        // turns the persistent watch into a one-shot one. Adding the persistent watch again
        // right after restores it (3.9 servers just keep it).
        for request in rearm.into_iter().rev() {
            self.queue
                .push_front(Queued::session(OpCode::AddWatch, request));
        }
    }

    /// The addWatch requests that restore the persistent watches on the path a watching
    /// read is about to leave a standard watch on.
    ///
    /// A 3.8 server keeps one mode per watcher and path in each of its two watch tables
    /// (data and child). getData and exists set the data table's entry to standard, which
    /// breaks both persistent kinds; getChildren sets the child table's, which only a
    /// persistent (not recursive) watch needs: a recursive watch never gets
    /// NodeChildrenChanged, and adding it again would turn the child watch just set into
    /// a recursive entry that never fires.
    fn persistent_rearm(&self, request: &Request) -> Vec<Request> {
        let (path, child) = match request {
            // A persistent watch would take the path's entries from a recursive one; the
            // recursive one is added again after it (it covers the node's own events too).
            Request::AddWatch(r) if r.mode == crate::AddWatchMode::Persistent => {
                return self
                    .watches
                    .persistent_modes(&r.path)
                    .into_iter()
                    .filter(|mode| *mode == crate::AddWatchMode::PersistentRecursive)
                    .map(|mode| {
                        Request::AddWatch(AddWatchRequest {
                            path: r.path.clone(),
                            mode,
                        })
                    })
                    .collect();
            }
            Request::GetData(r) if r.watch => (&r.path, false),
            Request::Exists(r) if r.watch => (&r.path, false),
            Request::GetChildren(r) if r.watch => (&r.path, true),
            Request::GetChildren2(r) if r.watch => (&r.path, true),
            _ => return Vec::new(),
        };
        self.watches
            .persistent_modes(path)
            .into_iter()
            .filter(|mode| !child || *mode == crate::AddWatchMode::Persistent)
            .map(|mode| {
                Request::AddWatch(AddWatchRequest {
                    path: path.clone(),
                    mode,
                })
            })
            .collect()
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
