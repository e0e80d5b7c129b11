//! A deterministic simulation of a [`Session`] against a scripted in-memory server
//! ([`FakeServer`]), on a virtual clock: no sockets, no threads, no real time.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

pub(crate) use super::fake_server::{FakeServer, Mode};
use crate::frame::encode_frame;
use crate::hosts::HostIndex;
use crate::records::*;
use crate::session::{DisconnectCause, Event, Session, SessionConfig};
use crate::{CreateMode, ErrorCode, OpCode, Record};

/// A session and a fake ensemble of `hosts` hosts (one data tree) on a virtual clock.
pub(crate) struct Sim {
    pub(crate) session: Session,
    pub(crate) server: FakeServer,
    pub(crate) now: Instant,
    pub(crate) start: Instant,
    /// Which hosts accept connections.
    pub(crate) up: Vec<bool>,
    pub(crate) connected: Option<HostIndex>,
    /// Every event the session produced, with its virtual time.
    pub(crate) events: Vec<(Duration, Event)>,
    /// Hosts dialed, with the virtual time.
    pub(crate) dials: Vec<(Duration, HostIndex)>,
    /// Bytes the client wrote.
    pub(crate) written: usize,
}

impl Sim {
    pub(crate) fn new(config: SessionConfig) -> Self {
        let start = Instant::now();
        let hosts = config.host_count;
        Self {
            session: Session::new(config, start),
            server: FakeServer::new(),
            now: start,
            start,
            up: vec![true; hosts],
            connected: None,
            events: Vec::new(),
            dials: Vec::new(),
            written: 0,
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Runs everything that is ready now, without advancing the clock.
    pub(crate) fn step(&mut self) {
        loop {
            let mut progress = false;
            while let Some(event) = self.session.poll_event() {
                progress = true;
                if event == Event::CloseConnection {
                    self.connected = None;
                    self.server.disconnect();
                }
                self.events.push((self.elapsed(), event));
            }
            if let Some(host) = self.session.poll_connect(self.now) {
                progress = true;
                self.dials.push((self.elapsed(), host));
                if self.up[host.0] {
                    self.connected = Some(host);
                    self.server.accept();
                    self.session.handle_connected(self.now);
                } else {
                    self.session.handle_disconnected(
                        self.now,
                        DisconnectCause::ConnectFailed("refused".into()),
                    );
                }
            }
            let mut out = BytesMut::new();
            while self.session.poll_transmit(self.now, &mut out) > 0 {}
            if !out.is_empty() && self.connected.is_some() {
                progress = true;
                self.written += out.len();
                if !self.server.receive(&out) {
                    self.deliver_server_output();
                    self.server_closed();
                    continue;
                }
            }
            if self.deliver_server_output() {
                progress = true;
            }
            if !progress {
                return;
            }
        }
    }

    fn deliver_server_output(&mut self) -> bool {
        if self.server.outbound.is_empty() || self.connected.is_none() {
            self.server.outbound.clear();
            return false;
        }
        let mut input = std::mem::take(&mut self.server.outbound);
        self.session.handle_input(self.now, &mut input);
        true
    }

    /// The server closed the connection (after sending what it had).
    pub(crate) fn server_closed(&mut self) {
        if self.connected.take().is_some() {
            self.session
                .handle_disconnected(self.now, DisconnectCause::Eof);
            self.step();
        }
    }

    /// Sends raw bytes to the client as if from the server.
    pub(crate) fn inject(&mut self, bytes: &[u8]) {
        let mut input = BytesMut::from(bytes);
        self.session.handle_input(self.now, &mut input);
        self.step();
    }

    /// Advances the virtual clock to the session's next timer (at most to `limit`), and
    /// runs what is due.
    pub(crate) fn advance(&mut self, limit: Instant) -> bool {
        self.step();
        match self.session.poll_timeout() {
            Some(at) if at <= limit => {
                self.now = self.now.max(at);
                self.session.handle_timeout(self.now);
                self.step();
                true
            }
            _ => {
                self.now = limit;
                false
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.advance(until) {}
    }

    /// Runs until `pred` holds, failing after `limit` of virtual time.
    pub(crate) fn run_until(&mut self, limit: Duration, mut pred: impl FnMut(&Self) -> bool) {
        let until = self.now + limit;
        self.step();
        while !pred(self) {
            assert!(
                self.advance(until) || pred(self),
                "condition not reached within {limit:?}; events: {:?}",
                self.events
            );
        }
    }

    pub(crate) fn connect(&mut self) {
        self.run_until(Duration::from_secs(5), |s| s.session.state().is_connected());
    }

    /// Submits and runs until the reply, returning it.
    pub(crate) fn call(&mut self, op: OpCode, request: Request) -> Result<Response, ErrorCode> {
        let id = self.session.submit(self.now, op, request);
        self.run_until(Duration::from_secs(60), |s| s.reply(id).is_some());
        self.reply(id).expect("reply")
    }

    pub(crate) fn reply(
        &self,
        id: crate::session::RequestId,
    ) -> Option<Result<Response, ErrorCode>> {
        self.events.iter().find_map(|(_, e)| match e {
            Event::Reply(r) if r.id == id => Some(r.result.clone()),
            _ => None,
        })
    }

    /// The requests the server received with this opcode, decoded.
    pub(crate) fn received(&self, op: OpCode) -> Vec<Request> {
        self.server
            .received
            .iter()
            .filter(|(_, o, _)| *o == Some(op))
            .map(|(_, _, body)| Request::decode_body(op, &mut body.clone()).unwrap())
            .collect()
    }

    pub(crate) fn states(&self) -> Vec<crate::session::SessionState> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::State(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn watch_events(
        &self,
    ) -> Vec<(Vec<crate::session::RequestId>, crate::session::WatchedEvent)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Watch { watchers, event } => Some((watchers.clone(), event.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Client-side helpers to build requests.
pub(crate) fn create(path: &str, mode: CreateMode) -> Request {
    Request::Create(CreateRequest {
        path: path.to_owned(),
        data: Bytes::from_static(b"d"),
        acl: vec![Acl::open_unsafe()],
        flags: mode,
    })
}

pub(crate) fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.to_owned(),
        watch,
    })
}

pub(crate) fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(ExistsRequest {
        path: path.to_owned(),
        watch,
    })
}

pub(crate) fn frame_bytes(frame: &impl Record) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, frame, usize::MAX).unwrap();
    out.to_vec()
}
