//! [`FakeServer`]: the scripted in-memory server of the simulation ([`super::sim`]).
//!
//! It speaks the real wire format and keeps a small data tree, sessions and
//! per-connection watches, so the session under test exchanges the same frames it would
//! with ZooKeeper. Faults are scripted: refuse dials, stop answering, close, send raw
//! bytes, answer with a wrong xid, expire the session, behave like a pre-3.5 server.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::{Bytes, BytesMut};

use crate::frame::{FrameDecoder, encode_frame};
use crate::records::*;
use crate::xid::{AUTH_XID, NOTIFICATION_XID, PING_XID};
use crate::{
    AddWatchMode, CreateMode, ErrorCode, EventType, KeeperState, OpCode, Record, WatcherType,
    decode_exact,
};

#[derive(Clone, Debug, Default)]
pub(crate) struct Node {
    pub(crate) data: Bytes,
    pub(crate) stat: Stat,
    seq: i32,
}

#[derive(Clone, Debug)]
struct ServerSession {
    password: Bytes,
    timeout_ms: i32,
}

/// Watches of the current connection, by server path.
#[derive(Debug, Default)]
struct ConnWatches {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
    persistent: BTreeSet<String>,
    recursive: BTreeSet<String>,
}

/// What the server does with the bytes of the current connection.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Mode {
    /// Answer everything.
    Normal,
    /// Read and drop everything, answer nothing (a paused or partitioned server).
    Silent,
}

/// Every frame the server received, decoded: `(xid, op)`; the handshake is `(0, None)`.
pub(crate) type Received = Vec<(i32, Option<OpCode>, Bytes)>;

#[derive(Debug)]
pub(crate) struct FakeServer {
    pub(crate) nodes: BTreeMap<String, Node>,
    sessions: HashMap<i64, ServerSession>,
    /// Sessions created while read-only (local to this server).
    local_sessions: BTreeSet<i64>,
    next_session: i64,
    pub(crate) zxid: i64,
    /// Session of the current connection, once the handshake is done.
    conn_session: Option<i64>,
    conn_open: bool,
    watches: ConnWatches,
    inbound: BytesMut,
    frames: FrameDecoder,
    pub(crate) outbound: BytesMut,
    pub(crate) mode: Mode,
    /// Behave like a server before 3.5: create2 is UNIMPLEMENTED.
    pub(crate) no_create2: bool,
    pub(crate) read_only: bool,
    pub(crate) received: Received,
    /// Auth schemes in the order received on the current connection.
    pub(crate) auths: Vec<String>,
    /// Replace the xid of the next reply (to test xid mismatch).
    pub(crate) corrupt_next_xid: bool,
    pub(crate) min_timeout_ms: i32,
    /// Require SASL with this secret (a toy exchange: empty token → "nonce", then the
    /// secret → "done").
    pub(crate) sasl_secret: Option<Vec<u8>>,
    sasl_done: bool,
    pub(crate) max_timeout_ms: i32,
    /// Keep one watch mode per path as a 3.8 server does: adding a recursive watch drops
    /// a child watch on the same path (ZOOKEEPER-4466).
    pub(crate) recursive_clobbers_child: bool,
    /// Another client creates this node right after the next addWatch is answered.
    pub(crate) create_after_add_watch: Option<String>,
}

impl FakeServer {
    pub(crate) fn new() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_owned(), Node::default());
        Self {
            nodes,
            sessions: HashMap::new(),
            local_sessions: BTreeSet::new(),
            next_session: 0x0100_0000_0000_0000,
            zxid: 0,
            conn_session: None,
            conn_open: false,
            watches: ConnWatches::default(),
            inbound: BytesMut::new(),
            frames: FrameDecoder::new(1 << 24),
            outbound: BytesMut::new(),
            mode: Mode::Normal,
            no_create2: false,
            read_only: false,
            received: Vec::new(),
            auths: Vec::new(),
            corrupt_next_xid: false,
            min_timeout_ms: 4_000,
            sasl_secret: None,
            sasl_done: false,
            max_timeout_ms: 40_000,
            recursive_clobbers_child: false,
            create_after_add_watch: None,
        }
    }

    pub(crate) fn accept(&mut self) {
        self.conn_open = true;
        self.mode = Mode::Normal;
        self.conn_session = None;
        self.watches = ConnWatches::default();
        self.inbound.clear();
        self.outbound.clear();
        self.frames = FrameDecoder::new(1 << 24);
        self.auths.clear();
        self.sasl_done = false;
    }

    pub(crate) fn disconnect(&mut self) {
        self.conn_open = false;
        self.conn_session = None;
        self.inbound.clear();
        self.outbound.clear();
    }

    /// Expires a session as the server's session tracker would.
    pub(crate) fn expire(&mut self, session_id: i64) {
        self.end_session(session_id);
        if self.conn_session == Some(session_id) {
            self.disconnect();
        }
    }

    /// Removes a session and its ephemeral nodes.
    fn end_session(&mut self, session_id: i64) {
        self.sessions.remove(&session_id);
        let ephemerals: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.stat.ephemeral_owner == session_id)
            .map(|(p, _)| p.clone())
            .collect();
        for path in ephemerals {
            self.nodes.remove(&path);
        }
    }

    pub(crate) fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Feeds bytes from the client. Returns false when the server closes the connection.
    pub(crate) fn receive(&mut self, bytes: &[u8]) -> bool {
        if !self.conn_open {
            return false;
        }
        if self.mode == Mode::Silent {
            return true;
        }
        self.inbound.extend_from_slice(bytes);
        while let Ok(Some(frame)) = self.frames.decode(&mut self.inbound) {
            if !self.handle(frame.freeze()) {
                // Closed after sending what it had queued.
                self.conn_open = false;
                self.conn_session = None;
                self.inbound.clear();
                return false;
            }
        }
        true
    }

    fn reply<R: Record>(&mut self, xid: i32, err: ErrorCode, body: Option<R>) {
        let xid = if std::mem::take(&mut self.corrupt_next_xid) {
            xid + 1000
        } else {
            xid
        };
        let header = ReplyHeader {
            xid,
            zxid: self.zxid,
            err,
        };
        match body {
            Some(body) if err.is_ok() => {
                encode_frame(&mut self.outbound, &(header, body), usize::MAX).unwrap()
            }
            _ => encode_frame(&mut self.outbound, &header, usize::MAX).unwrap(),
        }
    }

    fn notify(&mut self, event_type: EventType, path: &str) {
        let header = ReplyHeader {
            xid: NOTIFICATION_XID,
            zxid: -1,
            err: ErrorCode::Ok,
        };
        let event = WatcherEvent {
            event_type,
            state: KeeperState::SyncConnected,
            path: path.to_owned(),
        };
        encode_frame(&mut self.outbound, &(header, event), usize::MAX).unwrap();
    }

    fn handle(&mut self, mut frame: Bytes) -> bool {
        let Some(session_id) = self.conn_session else {
            self.received.push((0, None, frame.clone()));
            return self.handshake(&frame);
        };
        let Ok(header) = RequestHeader::decode(&mut frame) else {
            return false;
        };
        self.received
            .push((header.xid, Some(header.op_code), frame.clone()));
        let Ok(request) = Request::decode_body(header.op_code, &mut frame.clone()) else {
            self.reply::<()>(header.xid, ErrorCode::MarshallingError, None);
            return true;
        };
        let xid = header.xid;
        match (header.op_code, request) {
            (OpCode::Sasl, Request::Sasl(req)) => {
                let secret = self.sasl_secret.clone().unwrap_or_default();
                if req.token.is_empty() {
                    self.reply(
                        xid,
                        ErrorCode::Ok,
                        Some(SetSaslResponse {
                            token: Bytes::from_static(b"nonce"),
                        }),
                    );
                } else if req.token[..] == secret[..] {
                    self.sasl_done = true;
                    self.reply(
                        xid,
                        ErrorCode::Ok,
                        Some(SetSaslResponse {
                            token: Bytes::from_static(b"done"),
                        }),
                    );
                } else {
                    self.reply::<()>(xid, ErrorCode::AuthFailed, None);
                    return false;
                }
            }
            (_, _) if self.sasl_secret.is_some() && !self.sasl_done => {
                self.reply::<()>(xid, ErrorCode::SessionClosedRequireSaslAuth, None);
                return false;
            }
            (OpCode::Ping, _) => self.reply(PING_XID, ErrorCode::Ok, Some(())),
            (OpCode::Auth, Request::Auth(auth)) => {
                self.auths.push(auth.scheme.clone());
                if auth.scheme == "fail" {
                    self.reply::<()>(AUTH_XID, ErrorCode::AuthFailed, None);
                    return false;
                }
                self.reply(AUTH_XID, ErrorCode::Ok, Some(()));
            }
            (OpCode::CloseSession, _) => {
                self.end_session(session_id);
                self.zxid += 1;
                self.reply(xid, ErrorCode::Ok, Some(()));
                return false;
            }
            (OpCode::Create2, _) if self.no_create2 => {
                self.reply::<()>(xid, ErrorCode::Unimplemented, None)
            }
            (op @ (OpCode::Create | OpCode::Create2), Request::Create(req)) => {
                match self.create(session_id, &req) {
                    Ok(path) if op == OpCode::Create => {
                        self.reply(xid, ErrorCode::Ok, Some(CreateResponse { path }))
                    }
                    Ok(path) => {
                        let stat = self.nodes[&path].stat;
                        self.reply(xid, ErrorCode::Ok, Some(Create2Response { path, stat }));
                    }
                    Err(err) => self.reply::<()>(xid, err, None),
                }
            }
            (OpCode::Delete, Request::Delete(req)) => match self.delete(&req.path, req.version) {
                Ok(()) => self.reply(xid, ErrorCode::Ok, Some(())),
                Err(err) => self.reply::<()>(xid, err, None),
            },
            (OpCode::Exists, Request::Exists(req)) => match self.nodes.get(&req.path) {
                Some(node) => {
                    let stat = node.stat;
                    if req.watch {
                        self.watches.data.insert(req.path.clone());
                    }
                    self.reply(xid, ErrorCode::Ok, Some(ExistsResponse { stat }));
                }
                None => {
                    if req.watch {
                        self.watches.exist.insert(req.path.clone());
                    }
                    self.reply::<()>(xid, ErrorCode::NoNode, None);
                }
            },
            (OpCode::GetData, Request::GetData(req)) => match self.nodes.get(&req.path).cloned() {
                Some(node) => {
                    if req.watch {
                        self.watches.data.insert(req.path.clone());
                    }
                    self.reply(
                        xid,
                        ErrorCode::Ok,
                        Some(GetDataResponse {
                            data: Some(node.data),
                            stat: node.stat,
                        }),
                    );
                }
                None => self.reply::<()>(xid, ErrorCode::NoNode, None),
            },
            (OpCode::SetData, Request::SetData(req)) => {
                match self.set_data(&req.path, req.data, req.version) {
                    Ok(stat) => self.reply(xid, ErrorCode::Ok, Some(SetDataResponse { stat })),
                    Err(err) => self.reply::<()>(xid, err, None),
                }
            }
            (
                op @ (OpCode::GetChildren | OpCode::GetChildren2),
                Request::GetChildren(GetChildrenRequest { path, watch }),
            )
            | (
                op @ OpCode::GetChildren2,
                Request::GetChildren2(GetChildren2Request { path, watch }),
            ) => match self.nodes.get(&path).map(|n| n.stat) {
                Some(stat) => {
                    if watch {
                        self.watches.child.insert(path.clone());
                    }
                    let children = self.children(&path);
                    if op == OpCode::GetChildren {
                        self.reply(xid, ErrorCode::Ok, Some(GetChildrenResponse { children }));
                    } else {
                        self.reply(
                            xid,
                            ErrorCode::Ok,
                            Some(GetChildren2Response { children, stat }),
                        );
                    }
                }
                None => self.reply::<()>(xid, ErrorCode::NoNode, None),
            },
            (OpCode::AddWatch, Request::AddWatch(req)) => {
                let path = req.path.clone();
                match req.mode {
                    AddWatchMode::Persistent => self.watches.persistent.insert(req.path),
                    AddWatchMode::PersistentRecursive => {
                        if self.recursive_clobbers_child {
                            // 3.8: the child table's entry for the path becomes recursive,
                            // and a recursive entry never gets NodeChildrenChanged.
                            self.watches.child.remove(&path);
                        }
                        self.watches.recursive.insert(req.path)
                    }
                };
                self.reply(
                    xid,
                    ErrorCode::Ok,
                    Some(ErrorResponse { err: ErrorCode::Ok }),
                );
                if let Some(child) = self.create_after_add_watch.take() {
                    self.external_create(&child, CreateMode::Persistent);
                }
            }
            (OpCode::RemoveWatches, Request::RemoveWatches(req)) => {
                let w = &mut self.watches;
                let removed = match req.watcher_type {
                    WatcherType::Data => w.data.remove(&req.path) | w.exist.remove(&req.path),
                    WatcherType::Children => w.child.remove(&req.path),
                    _ => {
                        let sets = [
                            &mut w.data,
                            &mut w.exist,
                            &mut w.child,
                            &mut w.persistent,
                            &mut w.recursive,
                        ];
                        sets.into_iter()
                            .fold(false, |any, set| set.remove(&req.path) | any)
                    }
                };
                let err = if removed {
                    ErrorCode::Ok
                } else {
                    ErrorCode::NoWatcher
                };
                self.reply(xid, err, Some(()));
            }
            (OpCode::SetWatches, Request::SetWatches(sw)) => {
                let sw2 = SetWatches2 {
                    relative_zxid: sw.relative_zxid,
                    data_watches: sw.data_watches,
                    exist_watches: sw.exist_watches,
                    child_watches: sw.child_watches,
                    ..SetWatches2::default()
                };
                self.set_watches(xid, sw2);
            }
            (OpCode::SetWatches2, Request::SetWatches2(sw)) => self.set_watches(xid, sw),
            (OpCode::Multi, Request::Multi(multi)) => {
                let results = multi
                    .ops
                    .iter()
                    .map(|op| match op {
                        MultiOp::Create(req) => match self.create(session_id, req) {
                            Ok(path) => MultiResult::Create(CreateResponse { path }),
                            Err(err) => MultiResult::Error(err),
                        },
                        MultiOp::Delete(req) => match self.delete(&req.path, req.version) {
                            Ok(()) => MultiResult::Delete,
                            Err(err) => MultiResult::Error(err),
                        },
                        _ => MultiResult::Error(ErrorCode::Unimplemented),
                    })
                    .collect();
                self.reply(xid, ErrorCode::Ok, Some(MultiResponse { results }));
            }
            (OpCode::GetEphemerals, Request::GetEphemerals(req)) => {
                let ephemerals = self
                    .nodes
                    .iter()
                    .filter(|(p, n)| {
                        n.stat.ephemeral_owner == session_id && p.starts_with(&req.prefix_path)
                    })
                    .map(|(p, _)| p.clone())
                    .collect();
                self.reply(
                    xid,
                    ErrorCode::Ok,
                    Some(GetEphemeralsResponse { ephemerals }),
                );
            }
            _ => self.reply::<()>(xid, ErrorCode::Unimplemented, None),
        }
        true
    }

    fn handshake(&mut self, frame: &[u8]) -> bool {
        let Ok(req) = decode_exact::<ConnectRequest>(frame) else {
            return false;
        };
        if self.read_only && req.read_only != Some(true) {
            return false;
        }
        if req.last_zxid_seen > self.zxid {
            return false;
        }
        let timeout_ms = req.time_out.clamp(self.min_timeout_ms, self.max_timeout_ms);
        if self.read_only && req.session_id != 0 && !self.local_sessions.contains(&req.session_id) {
            // A read-only server cannot validate a global session.
            let rsp = ConnectResponse {
                passwd: Bytes::from_static(&[0; 16]),
                read_only: Some(true),
                ..ConnectResponse::default()
            };
            encode_frame(&mut self.outbound, &rsp, usize::MAX).unwrap();
            return false;
        }
        let invalid = ConnectResponse {
            read_only: req.read_only.map(|_| false),
            ..ConnectResponse::default()
        };
        let (session_id, password) = if req.session_id == 0 {
            self.next_session += 1;
            let id = self.next_session;
            let password = Bytes::from(id.to_be_bytes().repeat(2));
            self.sessions.insert(
                id,
                ServerSession {
                    password: password.clone(),
                    timeout_ms,
                },
            );
            (id, password)
        } else {
            match self.sessions.get(&req.session_id) {
                Some(s) if s.password == req.passwd => (req.session_id, s.password.clone()),
                _ => {
                    encode_frame(
                        &mut self.outbound,
                        &ConnectResponse {
                            passwd: Bytes::from_static(&[0; 16]),
                            ..invalid
                        },
                        usize::MAX,
                    )
                    .unwrap();
                    return false;
                }
            }
        };
        let timeout_ms = self.sessions[&session_id].timeout_ms;
        let rsp = ConnectResponse {
            protocol_version: 0,
            time_out: timeout_ms,
            session_id,
            passwd: password,
            read_only: req.read_only.map(|_| self.read_only),
        };
        encode_frame(&mut self.outbound, &rsp, usize::MAX).unwrap();
        self.conn_session = Some(session_id);
        true
    }

    fn set_watches(&mut self, xid: i32, sw: SetWatches2) {
        let rel = sw.relative_zxid;
        for path in sw.data_watches {
            match self.nodes.get(&path) {
                None => self.notify(EventType::NodeDeleted, &path),
                Some(n) if n.stat.mzxid > rel => self.notify(EventType::NodeDataChanged, &path),
                Some(_) => {
                    self.watches.data.insert(path);
                }
            }
        }
        for path in sw.exist_watches {
            if self.nodes.contains_key(&path) {
                self.notify(EventType::NodeCreated, &path);
            } else {
                self.watches.exist.insert(path);
            }
        }
        for path in sw.child_watches {
            match self.nodes.get(&path) {
                None => self.notify(EventType::NodeDeleted, &path),
                Some(n) if n.stat.pzxid > rel => self.notify(EventType::NodeChildrenChanged, &path),
                Some(_) => {
                    self.watches.child.insert(path);
                }
            }
        }
        self.watches.persistent.extend(sw.persistent_watches);
        if self.recursive_clobbers_child {
            for path in &sw.persistent_recursive_watches {
                self.watches.child.remove(path);
            }
        }
        self.watches
            .recursive
            .extend(sw.persistent_recursive_watches);
        self.reply(xid, ErrorCode::Ok, Some(()));
    }

    fn children(&self, path: &str) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|p| crate::path::parent(p) == Some(path))
            .map(|p| crate::path::name(p).to_owned())
            .collect()
    }

    /// Fires the connection's watches for a change, as the server does.
    fn trigger(&mut self, event_type: EventType, path: &str) {
        let w = &mut self.watches;
        let mut fire = match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                w.data.remove(path) | w.exist.remove(path)
            }
            EventType::NodeDeleted => {
                w.data.remove(path) | w.exist.remove(path) | w.child.remove(path)
            }
            EventType::NodeChildrenChanged => w.child.remove(path),
            _ => false,
        };
        fire |= w.persistent.contains(path);
        if event_type != EventType::NodeChildrenChanged {
            let mut p = Some(path);
            while let Some(q) = p {
                fire |= w.recursive.contains(q);
                p = crate::path::parent(q);
            }
        }
        if fire && self.conn_session.is_some() {
            self.notify(event_type, path);
        }
    }

    fn create(&mut self, session_id: i64, req: &CreateRequest) -> Result<String, ErrorCode> {
        self.zxid += 1;
        let parent_path = crate::path::parent(&req.path)
            .ok_or(ErrorCode::NodeExists)?
            .to_owned();
        let parent = self.nodes.get_mut(&parent_path).ok_or(ErrorCode::NoNode)?;
        if parent.stat.ephemeral_owner != 0 {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let path = if req.flags.is_sequential() {
            parent.seq += 1;
            format!("{}{:010}", req.path, parent.seq - 1)
        } else {
            req.path.clone()
        };
        if self.nodes.contains_key(&path) {
            return Err(ErrorCode::NodeExists);
        }
        let parent = self.nodes.get_mut(&parent_path).ok_or(ErrorCode::NoNode)?;
        parent.stat.cversion += 1;
        parent.stat.num_children += 1;
        parent.stat.pzxid = self.zxid;
        let owner = if req.flags.is_ephemeral() {
            session_id
        } else {
            0
        };
        let stat = Stat {
            czxid: self.zxid,
            mzxid: self.zxid,
            pzxid: self.zxid,
            ephemeral_owner: owner,
            data_length: req.data.len() as i32,
            ..Stat::default()
        };
        self.nodes.insert(
            path.clone(),
            Node {
                data: req.data.clone(),
                stat,
                seq: 0,
            },
        );
        self.trigger(EventType::NodeCreated, &path);
        self.trigger(EventType::NodeChildrenChanged, &parent_path);
        Ok(path)
    }

    fn delete(&mut self, path: &str, version: i32) -> Result<(), ErrorCode> {
        self.zxid += 1;
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        if version != -1 && node.stat.version != version {
            return Err(ErrorCode::BadVersion);
        }
        if node.stat.num_children > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        self.nodes.remove(path);
        let parent_path = crate::path::parent(path).unwrap_or("/").to_owned();
        if let Some(parent) = self.nodes.get_mut(&parent_path) {
            parent.stat.num_children -= 1;
            parent.stat.cversion += 1;
            parent.stat.pzxid = self.zxid;
        }
        self.trigger(EventType::NodeDeleted, path);
        self.trigger(EventType::NodeChildrenChanged, &parent_path);
        Ok(())
    }

    pub(crate) fn set_data(
        &mut self,
        path: &str,
        data: Bytes,
        version: i32,
    ) -> Result<Stat, ErrorCode> {
        self.zxid += 1;
        let zxid = self.zxid;
        let node = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
        if version != -1 && node.stat.version != version {
            return Err(ErrorCode::BadVersion);
        }
        node.stat.version += 1;
        node.stat.mzxid = zxid;
        node.stat.data_length = data.len() as i32;
        node.data = data;
        let stat = node.stat;
        self.trigger(EventType::NodeDataChanged, path);
        Ok(stat)
    }

    /// A change made by another client (no connection of ours sees a reply).
    pub(crate) fn external_create(&mut self, path: &str, mode: CreateMode) {
        let req = CreateRequest {
            path: path.to_owned(),
            data: Bytes::new(),
            acl: vec![Acl::open_unsafe()],
            flags: mode,
        };
        self.create(0x7777, &req).unwrap();
    }
}
