//! The session against a peer that breaks the protocol, stops answering, flaps, or loses
//! watches the way a 3.8 server does; and the liveness property: every request submitted
//! gets exactly one outcome and a close always ends the session, whatever happens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use proptest::prelude::*;

use super::sim::{self, Mode, Sim, create, get_data};
use crate::records::*;
use crate::session::{
    ConnectionFault, Event, RequestId, Session, SessionConfig, SessionState, WatchedEvent,
};
use crate::{AddWatchMode, CreateMode, ErrorCode, EventType, OpCode};

fn config() -> SessionConfig {
    SessionConfig::new(1)
        .session_timeout(Duration::from_secs(6))
        .rng_seed(7)
}

fn faults(sim: &Sim) -> Vec<ConnectionFault> {
    sim.events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::ConnectionFault(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_reply_too_short_for_its_type_fails_the_request_with_connection_loss() {
    let mut sim = Sim::new(config());
    sim.connect();
    sim.server.mode = Mode::Silent;
    let first = sim
        .session
        .submit(sim.now, OpCode::GetData, get_data("/", false));
    let second = sim
        .session
        .submit(sim.now, OpCode::GetData, get_data("/", false));
    sim.step();
    // The first requests of the connection: xids 1 and 2.
    let xid = 1;
    // A getData reply whose body stops after two bytes.
    let mut frame = sim::frame_bytes(&ReplyHeader {
        xid,
        zxid: 5,
        err: ErrorCode::Ok,
    });
    frame[3] += 2;
    frame.extend([0, 0]);
    sim.inject(&frame);
    assert_eq!(sim.reply(first), Some(Err(ErrorCode::ConnectionLoss)));
    assert_eq!(sim.reply(second), Some(Err(ErrorCode::ConnectionLoss)));
    assert!(matches!(
        faults(&sim)[..],
        [ConnectionFault::BadReply { op: "getData", .. }]
    ));
    assert!(
        faults(&sim)[0]
            .to_string()
            .starts_with("the server's reply to getData could not be decoded: "),
        "{}",
        faults(&sim)[0]
    );
    // The session carries on; the zxid of the broken reply was not taken.
    assert_eq!(sim.session.last_zxid_seen(), 0);
    sim.connect();
    assert!(sim.call(OpCode::GetData, get_data("/", false)).is_ok());
}

/// Drives a bare session through a dial and the given answer to its handshake.
fn answer_handshake(answer: &[u8]) -> (Session, Vec<Event>) {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    session.poll_connect(now).expect("a host to dial");
    session.handle_connected(now);
    let mut out = BytesMut::new();
    while session.poll_transmit(now, &mut out) > 0 {}
    session.handle_input(now, &mut BytesMut::from(answer));
    let events = std::iter::from_fn(|| session.poll_event()).collect();
    (session, events)
}

fn fault_of(events: &[Event]) -> Option<String> {
    events.iter().find_map(|e| match e {
        Event::ConnectionFault(f) => Some(f.to_string()),
        _ => None,
    })
}

#[test]
fn a_peer_that_is_not_zookeeper_is_named_in_the_fault() {
    let (_, events) = answer_handshake(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    assert_eq!(
        fault_of(&events).as_deref(),
        Some(
            "the server sent a 1213486160-byte frame (the limit is 1048575); is this a ZooKeeper port?"
        )
    );
    assert!(events.contains(&Event::CloseConnection));
    let (_, events) = answer_handshake(&[0x7f, 0xff, 0xff, 0xff]);
    assert!(fault_of(&events).unwrap().contains("2147483647-byte frame"));
    let (_, events) = answer_handshake(&[0xff, 0xff, 0xff, 0xfb]);
    assert_eq!(
        fault_of(&events).as_deref(),
        Some("the server sent a negative frame length (-5); is this a ZooKeeper port?")
    );
    // A ConnectResponse cut short inside its frame.
    let rsp = ConnectResponse {
        time_out: 6000,
        session_id: 1,
        passwd: vec![0; 16].into(),
        read_only: Some(false),
        ..ConnectResponse::default()
    };
    let mut whole = sim::frame_bytes(&rsp);
    whole.truncate(4 + 10);
    whole[..4].copy_from_slice(&10u32.to_be_bytes());
    let (session, events) = answer_handshake(&whole);
    assert_eq!(
        fault_of(&events).as_deref(),
        Some(
            "the server answered the handshake with 10 bytes that are not a ZooKeeper ConnectResponse; is this a ZooKeeper port?"
        )
    );
    assert_eq!(session.state(), SessionState::Connecting);
}

#[test]
fn a_silent_peer_is_named_in_the_fault() {
    let (mut session, events) = answer_handshake(&[]);
    assert_eq!(fault_of(&events), None);
    let at = session.poll_timeout().expect("the connect timer");
    session.handle_timeout(at);
    let events: Vec<Event> = std::iter::from_fn(|| session.poll_event()).collect();
    assert_eq!(
        fault_of(&events).as_deref(),
        Some("no complete answer to the handshake within 6000 ms")
    );
}

#[test]
fn a_connection_closed_during_the_handshake_is_named_in_the_fault() {
    let (mut session, _) = answer_handshake(&[0, 0, 0, 36, 0, 0]);
    session.handle_disconnected(Instant::now(), crate::session::DisconnectCause::Eof);
    let events: Vec<Event> = std::iter::from_fn(|| session.poll_event()).collect();
    assert_eq!(
        fault_of(&events).as_deref(),
        Some(
            "the connection ended before the server answered the handshake (closed by the server)"
        )
    );
}

/// Dials a server that accepts every handshake and then sends garbage, for `run` of
/// virtual time; returns the number of dials.
fn dials_to_a_flapping_server(run: Duration) -> usize {
    let start = Instant::now();
    let mut now = start;
    let mut session = Session::new(config(), now);
    let mut dials = 0;
    let rsp = ConnectResponse {
        time_out: 6000,
        session_id: 1,
        passwd: vec![0; 16].into(),
        read_only: Some(false),
        ..ConnectResponse::default()
    };
    while now - start < run {
        if session.poll_connect(now).is_some() {
            dials += 1;
            session.handle_connected(now);
            let mut out = BytesMut::new();
            while session.poll_transmit(now, &mut out) > 0 {}
            let mut input = BytesMut::from(&sim::frame_bytes(&rsp)[..]);
            input.extend_from_slice(b"garbage!");
            session.handle_input(now, &mut input);
        }
        while session.poll_event().is_some() {}
        let Some(at) = session.poll_timeout() else {
            break;
        };
        now = now.max(at);
        session.handle_timeout(now);
    }
    dials
}

#[test]
fn a_server_that_fails_after_every_handshake_is_dialled_with_backoff() {
    // Backoff doubles from 50 ms to 1 s with jitter in [0.5, 1): about 1.3 dials a second
    // once at the cap. Without it, a dial every 25 ms on average: 1,200 in 30 s.
    let dials = dials_to_a_flapping_server(Duration::from_secs(30));
    assert!((20..=70).contains(&dials), "{dials} dials in 30 s");
}

#[test]
fn a_server_that_answers_after_the_handshake_keeps_the_quick_reconnect() {
    let mut sim = Sim::new(config());
    sim.connect();
    assert!(sim.call(OpCode::Exists, sim::exists("/", false)).is_ok());
    let dials = sim.dials.len();
    sim.server.disconnect();
    sim.server_closed();
    sim.connect();
    assert_eq!(sim.dials.len(), dials + 1);
    // The reconnect waited less than the first backoff step.
    let (at, _) = sim.dials[dials];
    assert!(sim.elapsed() - at < Duration::from_millis(50));
}

fn child_watch(sim: &mut Sim, path: &str) -> RequestId {
    let request = Request::GetChildren(GetChildrenRequest {
        path: path.into(),
        watch: true,
    });
    let id = sim.session.submit(sim.now, OpCode::GetChildren, request);
    sim.step();
    assert!(sim.reply(id).unwrap().is_ok());
    id
}

fn add_watch(sim: &mut Sim, path: &str, mode: AddWatchMode) -> RequestId {
    let request = Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode,
    });
    let id = sim.session.submit(sim.now, OpCode::AddWatch, request);
    sim.step();
    assert!(sim.reply(id).unwrap().is_ok());
    id
}

fn fired(sim: &Sim, id: RequestId) -> Vec<WatchedEvent> {
    sim.watch_events()
        .into_iter()
        .filter(|(ids, _)| ids.contains(&id))
        .map(|(_, e)| e)
        .collect()
}

fn children_changed(path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type: EventType::NodeChildrenChanged,
        path: path.into(),
    }
}

/// A session on a server that keeps one watch mode per path, as 3.8 does, with `/q`.
fn sim_with_q() -> Sim {
    let mut sim = Sim::new(config());
    sim.server.recursive_clobbers_child = true;
    sim.connect();
    sim.call(OpCode::Create, create("/q", CreateMode::Persistent))
        .unwrap();
    sim
}

#[test]
fn a_child_watch_set_before_a_recursive_watch_is_rearmed() {
    let mut sim = sim_with_q();
    let child = child_watch(&mut sim, "/q");
    add_watch(&mut sim, "/q", AddWatchMode::PersistentRecursive);
    // The server dropped the child watch; the session set it again.
    let rearms = sim.received(OpCode::GetChildren2);
    assert!(matches!(&rearms[..], [Request::GetChildren2(r)] if r.path == "/q" && r.watch));
    assert!(fired(&sim, child).is_empty());
    sim.server.external_create("/q/x", CreateMode::Persistent);
    sim.step();
    assert_eq!(fired(&sim, child), [children_changed("/q")]);
}

#[test]
fn a_child_change_while_the_watch_was_down_fires_it_once() {
    let mut sim = sim_with_q();
    let child = child_watch(&mut sim, "/q");
    // Another client creates /q/x between the addWatch and the re-arm.
    sim.server.create_after_add_watch = Some("/q/x".into());
    let recursive = add_watch(&mut sim, "/q", AddWatchMode::PersistentRecursive);
    assert_eq!(fired(&sim, child), [children_changed("/q")]);
    // The recursive watch saw the creation itself.
    assert_eq!(
        fired(&sim, recursive),
        [WatchedEvent {
            event_type: EventType::NodeCreated,
            path: "/q/x".into()
        }]
    );
    sim.server.external_create("/q/y", CreateMode::Persistent);
    sim.step();
    assert_eq!(fired(&sim, child).len(), 1);
}

#[test]
fn a_child_watch_after_a_recursive_watch_does_not_add_the_recursive_watch_again() {
    let mut sim = sim_with_q();
    add_watch(&mut sim, "/q", AddWatchMode::PersistentRecursive);
    let child = child_watch(&mut sim, "/q");
    assert_eq!(sim.received(OpCode::AddWatch).len(), 1);
    sim.server.external_create("/q/x", CreateMode::Persistent);
    sim.step();
    assert_eq!(fired(&sim, child), [children_changed("/q")]);
}

#[test]
fn child_watches_under_a_recursive_watch_are_rearmed_after_a_reconnect() {
    let mut sim = sim_with_q();
    add_watch(&mut sim, "/q", AddWatchMode::PersistentRecursive);
    let child = child_watch(&mut sim, "/q");
    sim.server.disconnect();
    sim.server_closed();
    sim.connect();
    sim.step();
    assert_eq!(sim.received(OpCode::SetWatches2).len(), 1);
    assert_eq!(sim.received(OpCode::GetChildren2).len(), 1);
    sim.server.external_create("/q/x", CreateMode::Persistent);
    sim.step();
    assert_eq!(fired(&sim, child), [children_changed("/q")]);
}

#[test]
fn a_persistent_watch_added_after_a_recursive_one_keeps_the_recursive_one() {
    let mut sim = Sim::new(config());
    sim.connect();
    sim.call(OpCode::Create, create("/q", CreateMode::Persistent))
        .unwrap();
    add_watch(&mut sim, "/q", AddWatchMode::PersistentRecursive);
    add_watch(&mut sim, "/q", AddWatchMode::Persistent);
    let modes: Vec<AddWatchMode> = sim
        .received(OpCode::AddWatch)
        .into_iter()
        .map(|r| match r {
            Request::AddWatch(r) => r.mode,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        modes,
        [
            AddWatchMode::PersistentRecursive,
            AddWatchMode::Persistent,
            AddWatchMode::PersistentRecursive
        ]
    );
}

/// One step of the liveness property.
#[derive(Clone, Debug)]
enum Action {
    Submit(u8),
    Run(u16),
    ServerSilent,
    ServerCloses,
    Garbage(Vec<u8>),
    ExternalChange(u8),
    Expire,
    Close,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => any::<u8>().prop_map(Action::Submit),
        3 => any::<u16>().prop_map(Action::Run),
        1 => Just(Action::ServerSilent),
        1 => Just(Action::ServerCloses),
        1 => proptest::collection::vec(any::<u8>(), 0..24).prop_map(Action::Garbage),
        2 => any::<u8>().prop_map(Action::ExternalChange),
        1 => Just(Action::Expire),
        1 => Just(Action::Close),
    ]
}

fn request(pick: u8) -> (OpCode, Request) {
    let path = ["/a", "/a/b", "/c"][usize::from(pick % 3)].to_owned();
    let watch = pick & 0x10 != 0;
    match (pick >> 2) % 6 {
        0 => (OpCode::Create, create(&path, CreateMode::Persistent)),
        1 => (OpCode::GetData, get_data(&path, watch)),
        2 => (
            OpCode::GetChildren,
            Request::GetChildren(GetChildrenRequest { path, watch }),
        ),
        3 => (
            OpCode::AddWatch,
            Request::AddWatch(AddWatchRequest {
                path,
                mode: if watch {
                    AddWatchMode::PersistentRecursive
                } else {
                    AddWatchMode::Persistent
                },
            }),
        ),
        4 => (OpCode::Exists, sim::exists(&path, watch)),
        _ => (
            OpCode::Delete,
            Request::Delete(DeleteRequest { path, version: -1 }),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the network and the server do, every submitted request gets exactly one
    /// outcome, and a close ends the session within the read timeout.
    #[test]
    fn every_request_gets_one_outcome_and_close_always_ends(
        actions in proptest::collection::vec(action(), 1..40),
        clobber in any::<bool>(),
    ) {
        let mut sim = Sim::new(config());
        sim.server.recursive_clobbers_child = clobber;
        let mut submitted = Vec::new();
        for action in actions {
            match action {
                Action::Submit(pick) => {
                    let (op, request) = request(pick);
                    submitted.push(sim.session.submit(sim.now, op, request));
                    sim.step();
                }
                Action::Run(ms) => sim.run_for(Duration::from_millis(u64::from(ms) % 8000)),
                Action::ServerSilent => sim.server.mode = Mode::Silent,
                Action::ServerCloses => {
                    sim.server.disconnect();
                    sim.server_closed();
                }
                Action::Garbage(bytes) => {
                    if sim.connected.is_some() {
                        sim.inject(&bytes);
                    }
                }
                Action::ExternalChange(pick) => {
                    let path = ["/a", "/a/x", "/c/x"][usize::from(pick % 3)];
                    if crate::path::parent(path).is_some_and(|p| sim.server.nodes.contains_key(p)) && !sim.server.nodes.contains_key(path) {
                        sim.server.external_create(path, CreateMode::Persistent);
                        sim.step();
                    }
                }
                Action::Expire => {
                    let id = sim.session.session_id();
                    sim.server.expire(id);
                    sim.server_closed();
                }
                Action::Close => sim.session.close(sim.now),
            }
        }
        sim.session.close(sim.now);
        // The read timeout is 4 s: closing never takes longer.
        sim.run_until(Duration::from_secs(5), |s| s.session.state().is_terminal());
        let mut outcomes: HashMap<RequestId, usize> = HashMap::new();
        for (_, event) in &sim.events {
            if let Event::Reply(reply) = event {
                *outcomes.entry(reply.id).or_default() += 1;
            }
        }
        for id in &submitted {
            prop_assert_eq!(outcomes.get(id).copied(), Some(1), "request {:?}", id);
        }
        prop_assert_eq!(outcomes.len(), submitted.len());
        prop_assert_eq!(sim.session.in_flight() + sim.session.queued(), 0);
    }
}

/// A getData reply with `len` bytes of data to the request `xid`.
fn get_data_reply(xid: i32, zxid: i64, len: usize) -> Vec<u8> {
    sim::frame_bytes(&(
        ReplyHeader {
            xid,
            zxid,
            err: ErrorCode::Ok,
        },
        GetDataResponse {
            data: Some(vec![7; len].into()),
            stat: Stat::default(),
        },
    ))
}

fn closes(sim: &Sim) -> usize {
    sim.events
        .iter()
        .filter(|(_, e)| *e == Event::CloseConnection)
        .count()
}

#[test]
fn a_reply_above_the_frame_limit_fails_only_its_request_and_the_connection_stays() {
    let mut sim = Sim::new(config().max_frame_len(1024));
    sim.connect();
    sim.server.mode = Mode::Silent;
    let calls: Vec<_> = (0..3)
        .map(|_| {
            sim.session
                .submit(sim.now, OpCode::GetData, get_data("/", false))
        })
        .collect();
    sim.step();
    let closes_before = closes(&sim);
    // xids 1..=3: a small reply, a reply of 64 KiB (64 times the limit), a small reply;
    // delivered a few bytes at a time, as a slow link would.
    let mut wire = get_data_reply(1, 10, 10);
    wire.extend(get_data_reply(2, 11, 64 << 10));
    wire.extend(get_data_reply(3, 12, 20));
    let mut input = BytesMut::new();
    for chunk in wire.chunks(7) {
        input.extend_from_slice(chunk);
        sim.session.handle_input(sim.now, &mut input);
        // Never more than a frame under the limit is held.
        assert!(input.len() < 1024 + 7, "{}", input.len());
    }
    assert!(input.is_empty());
    sim.step();
    let data_len = |r: Option<Result<Response, ErrorCode>>| match r {
        Some(Ok(Response::GetData(rsp))) => rsp.data.map(|d| d.len()),
        other => panic!("{other:?}"),
    };
    assert_eq!(data_len(sim.reply(calls[0])), Some(10));
    assert_eq!(sim.reply(calls[1]), Some(Err(ErrorCode::ReplyTooLarge)));
    assert_eq!(data_len(sim.reply(calls[2])), Some(20));
    assert_eq!(sim.session.state(), SessionState::Connected);
    assert_eq!(closes(&sim), closes_before);
    assert!(faults(&sim).is_empty(), "{:?}", faults(&sim));
    // The discarded reply's header was well-formed: its zxid counts.
    assert_eq!(sim.session.last_zxid_seen(), 12);
}

#[test]
fn an_oversized_notification_or_handshake_answer_still_drops_the_connection() {
    let mut sim = Sim::new(config().max_frame_len(1024));
    sim.connect();
    let mut frame = sim::frame_bytes(&(
        ReplyHeader {
            xid: -1,
            zxid: -1,
            err: ErrorCode::Ok,
        },
        WatcherEvent {
            event_type: EventType::NodeDataChanged,
            state: crate::KeeperState::SyncConnected,
            path: "/".repeat(2000),
        },
    ));
    sim.inject(&frame);
    assert_eq!(sim.session.state(), SessionState::Disconnected);
    assert!(matches!(
        faults(&sim)[..],
        [ConnectionFault::FrameTooLong { max: 1024, .. }]
    ));
    // During the handshake the length alone is enough to give up on the server.
    let mut sim = Sim::new(config().max_frame_len(1024));
    sim.server.mode = Mode::Silent;
    sim.step();
    frame.truncate(4);
    sim.inject(&frame);
    assert!(matches!(
        faults(&sim)[..],
        [ConnectionFault::FrameTooLong { max: 1024, .. }]
    ));
}

#[test]
fn a_server_that_grants_hours_cannot_make_a_close_last_hours() {
    let start = Instant::now();
    let mut session = Session::new(config(), start);
    assert!(session.poll_connect(start).is_some());
    session.handle_connected(start);
    let mut out = BytesMut::new();
    while session.poll_transmit(start, &mut out) > 0 {}
    // The handshake grants 60 hours.
    let rsp = ConnectResponse {
        time_out: 218_104_069,
        session_id: 7,
        passwd: vec![1; 16].into(),
        ..ConnectResponse::default()
    };
    session.handle_input(start, &mut BytesMut::from(&sim::frame_bytes(&rsp)[..]));
    assert_eq!(session.state(), SessionState::Connected);
    session.close(start);
    while session.poll_transmit(start, &mut out) > 0 {}
    // The server never answers the close: the session still ends within two thirds of
    // the 6 s asked for.
    let mut now = start;
    while !session.state().is_terminal() {
        let at = session.poll_timeout().expect("a timer while closing");
        assert!(at <= start + Duration::from_secs(4), "{:?}", at - start);
        now = now.max(at);
        session.handle_timeout(now);
    }
    assert_eq!(session.state(), SessionState::Closed);
}
