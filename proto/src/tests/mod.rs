//! Session scenarios on the deterministic simulation ([`sim`]): virtual time, a scripted
//! server, no sockets.

mod auth;
mod fake_server;
mod hardening;
mod sim;
mod watches;

use std::time::Duration;

use bytes::Bytes;

use self::sim::{Mode, Sim, create, exists, get_data};
use crate::hosts::HostIndex;
use crate::path::Chroot;
use crate::records::*;
use crate::session::{Event, ReconnectPolicy, ServerMode, SessionConfig, SessionState};
use crate::{CreateMode, ErrorCode, OpCode};

fn config() -> SessionConfig {
    SessionConfig::new(1)
        .session_timeout(Duration::from_secs(6))
        .rng_seed(42)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn handshake_then_pipelined_requests_in_order() {
    let mut sim = Sim::new(config());
    sim.connect();
    assert_eq!(sim.states(), [SessionState::Connected]);
    assert_eq!(sim.session.negotiated_timeout(), secs(6.0));
    assert_ne!(sim.session.session_id(), 0);
    let now = sim.now;
    let a = sim
        .session
        .submit(now, OpCode::Create, create("/a", CreateMode::Persistent));
    let b = sim.session.submit(
        now,
        OpCode::SetData,
        Request::SetData(SetDataRequest {
            path: "/a".into(),
            data: Bytes::from_static(b"v2"),
            version: 0,
        }),
    );
    let c = sim
        .session
        .submit(now, OpCode::GetData, get_data("/a", false));
    sim.step();
    let replies: Vec<_> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Reply(r) => Some(r.id),
            _ => None,
        })
        .collect();
    assert_eq!(replies, [a, b, c]);
    match sim.reply(c).unwrap().unwrap() {
        Response::GetData(r) => {
            assert_eq!(r.data.as_deref(), Some(&b"v2"[..]));
            assert_eq!(r.stat.version, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.session.last_zxid_seen(), sim.server.zxid);
}

#[test]
fn pings_keep_an_idle_session_alive() {
    let mut sim = Sim::new(config());
    sim.connect();
    sim.run_for(secs(60.0));
    let pings = sim
        .server
        .received
        .iter()
        .filter(|(_, op, _)| *op == Some(OpCode::Ping))
        .count();
    // Read timeout 4 s, a ping after 2 s of send idleness: 30 in a minute.
    assert!((28..=31).contains(&pings), "{pings} pings");
    assert_eq!(sim.states(), [SessionState::Connected]);
    assert_eq!(sim.dials.len(), 1);
}

#[test]
fn read_timeout_drops_a_silent_server_and_reconnects() {
    let mut sim = Sim::new(config());
    sim.connect();
    let id = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.server.mode = Mode::Silent;
    let silent_since = sim.elapsed();
    sim.run_until(secs(10.0), |s| {
        s.states().contains(&SessionState::Disconnected)
    });
    let lost_at = sim.elapsed() - silent_since;
    // 2/3 of the 6 s timeout since the last byte received.
    assert!(
        lost_at >= secs(3.9) && lost_at <= secs(4.1),
        "lost after {lost_at:?}"
    );
    assert_eq!(sim.reply(id), Some(Err(ErrorCode::ConnectionLoss)));
    sim.run_until(secs(5.0), |s| s.session.state() == SessionState::Connected);
    assert_eq!(
        sim.states(),
        [
            SessionState::Connected,
            SessionState::Disconnected,
            SessionState::Connected
        ]
    );
    assert_eq!(sim.server.session_count(), 1, "the same session resumed");
}

#[test]
fn reconnect_cycles_hosts_with_exponential_backoff() {
    let policy = ReconnectPolicy::default()
        .initial_backoff(secs(0.1))
        .max_backoff(secs(1.6));
    let mut sim = Sim::new(
        SessionConfig::new(3)
            .session_timeout(secs(30.0))
            .reconnect(policy)
            .rng_seed(7),
    );
    sim.up = vec![false; 3];
    sim.run_for(secs(20.0));
    let hosts: Vec<usize> = sim.dials.iter().map(|(_, h)| h.0).collect();
    for window in hosts.chunks(3).filter(|w| w.len() == 3) {
        let mut sorted = window.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2], "every host once per round: {hosts:?}");
        assert_eq!(window, &hosts[..3], "the same shuffled order each round");
    }
    let gaps: Vec<Duration> = sim.dials.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for (n, gap) in gaps.iter().enumerate() {
        let full = secs(0.1 * f64::from(1u32 << n.min(10))).min(secs(1.6));
        assert!(
            *gap >= full / 2 && *gap <= full,
            "attempt {}: {gap:?} not in [{:?}, {full:?}]",
            n + 2,
            full / 2
        );
    }
    assert_eq!(sim.session.state(), SessionState::Connecting);
    // A host comes back: the next attempt to reach it connects.
    sim.up[hosts[0]] = true;
    sim.connect();
    assert_eq!(sim.connected, Some(HostIndex(hosts[0])));
}

#[test]
fn reconnect_gives_up_after_max_attempts() {
    let policy = ReconnectPolicy::default().max_attempts(4);
    let mut sim = Sim::new(SessionConfig::new(2).reconnect(policy));
    sim.up = vec![false; 2];
    let id = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.run_until(secs(30.0), |s| s.session.state() == SessionState::Closed);
    assert_eq!(sim.dials.len(), 4);
    assert_eq!(sim.reply(id), Some(Err(ErrorCode::Closing)));
}

#[test]
fn server_expiry_is_terminal() {
    let mut sim = Sim::new(config());
    sim.connect();
    sim.call(OpCode::Create, create("/e", CreateMode::Ephemeral))
        .unwrap();
    let watched = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/e", true));
    sim.step();
    assert_eq!(sim.session.watcher_count(), 1);
    let id = sim.session.session_id();
    sim.server.expire(id);
    sim.server_closed();
    sim.run_until(secs(5.0), |s| s.session.state() == SessionState::Expired);
    assert!(!sim.server.nodes.contains_key("/e"));
    assert_eq!(sim.session.watcher_count(), 0);
    let later = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.step();
    assert_eq!(sim.reply(later), Some(Err(ErrorCode::SessionExpired)));
    assert!(sim.reply(watched).unwrap().is_ok());
}

#[test]
fn local_expiry_after_four_thirds_of_the_timeout_without_a_server() {
    let mut sim = Sim::new(config());
    sim.connect();
    let last_contact = sim.elapsed();
    sim.up = vec![false];
    sim.server.disconnect();
    sim.server_closed();
    sim.run_until(secs(30.0), |s| s.session.state() == SessionState::Expired);
    let after = sim.elapsed() - last_contact;
    assert!(
        after >= secs(7.9) && after <= secs(8.1),
        "expired after {after:?}"
    );
    assert_eq!(
        sim.states(),
        [
            SessionState::Connected,
            SessionState::Disconnected,
            SessionState::Expired
        ]
    );
}

#[test]
fn xid_mismatch_drops_the_connection() {
    let mut sim = Sim::new(config());
    sim.connect();
    sim.server.corrupt_next_xid = true;
    let id = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.step();
    assert_eq!(sim.reply(id), Some(Err(ErrorCode::ConnectionLoss)));
    assert!(sim.events.iter().any(|(_, e)| *e == Event::CloseConnection));
    sim.run_until(secs(5.0), |s| s.session.state() == SessionState::Connected);
    assert_eq!(
        sim.call(OpCode::Exists, exists("/", false)).map(|_| ()),
        Ok(())
    );
}

#[test]
fn garbage_and_oversize_frames_drop_the_connection() {
    let mut sim = Sim::new(config().max_frame_len(1024));
    sim.connect();
    // A frame too short for a reply header.
    sim.inject(&[0, 0, 0, 3, 1, 2, 3]);
    assert_eq!(sim.session.state(), SessionState::Disconnected);
    sim.connect();
    // A notification whose body is not a WatcherEvent.
    let mut frame = sim::frame_bytes(&ReplyHeader {
        xid: -1,
        zxid: -1,
        err: ErrorCode::Ok,
    });
    frame[3] += 2;
    frame.extend([0xff, 0xff]);
    sim.inject(&frame);
    assert_eq!(sim.session.state(), SessionState::Disconnected);
    sim.connect();
    // A frame above the limit that answers no request in flight.
    let mut frame = vec![0x7f, 0xff, 0xff, 0xff];
    frame.extend(
        &sim::frame_bytes(&ReplyHeader {
            xid: 99,
            zxid: 1,
            err: ErrorCode::Ok,
        })[4..],
    );
    sim.inject(&frame);
    assert_eq!(sim.session.state(), SessionState::Disconnected);
    sim.connect();
    assert_eq!(
        sim.events
            .iter()
            .filter(|(_, e)| *e == Event::CloseConnection)
            .count(),
        3
    );
}

#[test]
fn a_server_that_stops_mid_frame_times_out() {
    let mut sim = Sim::new(config());
    sim.connect();
    let id = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.server.mode = Mode::Silent;
    sim.step();
    // Half of a reply arrives, then nothing.
    let reply = sim::frame_bytes(&(
        ReplyHeader {
            xid: 1,
            zxid: 1,
            err: ErrorCode::Ok,
        },
        ExistsResponse::default(),
    ));
    sim.inject(&reply[..20]);
    sim.run_until(secs(10.0), |s| {
        s.session.state() == SessionState::Disconnected
    });
    assert_eq!(sim.reply(id), Some(Err(ErrorCode::ConnectionLoss)));
}

#[test]
fn requests_wait_while_disconnected_but_in_flight_ones_fail() {
    let mut sim = Sim::new(config());
    sim.connect();
    sim.server.mode = Mode::Silent;
    let in_flight = sim.session.submit(
        sim.now,
        OpCode::Create,
        create("/seq-", CreateMode::PersistentSequential),
    );
    sim.step();
    sim.server.disconnect();
    sim.server_closed();
    assert_eq!(
        sim.reply(in_flight),
        Some(Err(ErrorCode::ConnectionLoss)),
        "{:?}",
        sim.events
    );
    let waiting = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.step();
    assert!(sim.reply(waiting).is_none());
    sim.connect();
    sim.step();
    assert!(sim.reply(waiting).unwrap().is_ok());
    // Nothing was retried by itself.
    assert_eq!(sim.received(OpCode::Create).len(), 0);
}

#[test]
fn cancel_removes_only_unsent_requests() {
    let mut sim = Sim::new(config());
    sim.up = vec![false];
    let id = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    assert!(sim.session.cancel(id));
    assert!(!sim.session.cancel(id));
    sim.up = vec![true];
    sim.connect();
    sim.step();
    assert_eq!(sim.reply(id), None);
    assert!(sim.received(OpCode::Exists).is_empty());
}

#[test]
fn create2_falls_back_to_create_on_old_servers_keeping_order() {
    let mut sim = Sim::new(config());
    sim.server.no_create2 = true;
    sim.connect();
    let now = sim.now;
    let a = sim
        .session
        .submit(now, OpCode::Create2, create("/a", CreateMode::Persistent));
    let b = sim
        .session
        .submit(now, OpCode::GetData, get_data("/a", false));
    let c = sim
        .session
        .submit(now, OpCode::Create2, create("/b", CreateMode::Persistent));
    sim.step();
    assert_eq!(
        sim.reply(a),
        Some(Ok(Response::Create(CreateResponse { path: "/a".into() })))
    );
    assert!(
        sim.reply(b).unwrap().is_ok(),
        "getData ran after the create"
    );
    assert_eq!(
        sim.reply(c),
        Some(Ok(Response::Create(CreateResponse { path: "/b".into() })))
    );
    assert_eq!(sim.received(OpCode::Create2).len(), 1, "probed once");
    assert_eq!(sim.received(OpCode::Create).len(), 2);
}

#[test]
fn chroot_is_applied_to_requests_replies_and_events() {
    let mut sim = Sim::new(config().chroot(Chroot::new("/app").unwrap()));
    sim.server.external_create("/app", CreateMode::Persistent);
    sim.server.external_create("/apple", CreateMode::Persistent);
    sim.connect();
    let created = sim
        .call(
            OpCode::Create,
            create("/q-", CreateMode::EphemeralSequential),
        )
        .unwrap();
    assert_eq!(
        created,
        Response::Create(CreateResponse {
            path: "/q-0000000000".into()
        })
    );
    assert!(sim.server.nodes.contains_key("/app/q-0000000000"));
    let watcher = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/w", true));
    sim.step();
    sim.server.external_create("/app/w", CreateMode::Persistent);
    sim.step();
    assert_eq!(sim.watch_events()[0].0, [watcher]);
    assert_eq!(sim.watch_events()[0].1.path, "/w");
    let multi = MultiRequest {
        ops: vec![MultiOp::Create(CreateRequest {
            path: "/m".into(),
            data: Bytes::new(),
            acl: vec![Acl::open_unsafe()],
            flags: CreateMode::Ephemeral,
        })],
    };
    let result = sim.call(OpCode::Multi, Request::Multi(multi)).unwrap();
    assert_eq!(
        result,
        Response::Multi(MultiResponse {
            results: vec![MultiResult::Create(CreateResponse { path: "/m".into() })]
        })
    );
    let eph = sim
        .call(
            OpCode::GetEphemerals,
            Request::GetEphemerals(GetEphemeralsRequest {
                prefix_path: "/".into(),
            }),
        )
        .unwrap();
    let Response::GetEphemerals(mut eph) = eph else {
        panic!()
    };
    eph.ephemerals.sort();
    assert_eq!(eph.ephemerals, ["/m", "/q-0000000000"]);
    // getConfig-style requests skip the chroot.
    let id = sim
        .session
        .submit_unrooted(sim.now, OpCode::Exists, exists("/apple", false));
    sim.step();
    assert!(sim.reply(id).unwrap().is_ok());
}

#[test]
fn close_sends_close_session_after_queued_requests() {
    let mut sim = Sim::new(config());
    sim.connect();
    let first = sim
        .session
        .submit(sim.now, OpCode::Create, create("/e", CreateMode::Ephemeral));
    sim.session.close(sim.now);
    let after = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.step();
    assert!(sim.reply(first).unwrap().is_ok());
    assert_eq!(sim.reply(after), Some(Err(ErrorCode::Closing)));
    assert_eq!(sim.session.state(), SessionState::Closed);
    assert!(
        !sim.server.nodes.contains_key("/e"),
        "the server ended the session"
    );
    let ops: Vec<_> = sim
        .server
        .received
        .iter()
        .filter_map(|(_, op, _)| *op)
        .collect();
    assert_eq!(ops, [OpCode::Create, OpCode::CloseSession]);
}

#[test]
fn read_only_session_moves_to_a_read_write_server() {
    let mut sim = Sim::new(
        SessionConfig::new(2)
            .read_only(true)
            .session_timeout(secs(6.0))
            .rng_seed(3),
    );
    sim.server.read_only = true;
    sim.connect();
    assert_eq!(sim.session.state(), SessionState::ConnectedReadOnly);
    let first = sim.connected.unwrap();
    sim.run_for(secs(0.2));
    let probe = sim.session.poll_probe().expect("a probe after 100 ms");
    assert_ne!(probe, first);
    sim.session
        .handle_probe(sim.now, probe, ServerMode::ReadOnly);
    assert!(sim.session.poll_probe().is_none());
    sim.run_for(secs(0.25));
    let probe = sim
        .session
        .poll_probe()
        .expect("another probe after 200 ms");
    // The other host is read-write now.
    sim.server.read_only = false;
    sim.session
        .handle_probe(sim.now, probe, ServerMode::ReadWrite);
    sim.run_until(secs(2.0), |s| s.session.state() == SessionState::Connected);
    assert_eq!(sim.connected, Some(probe));
    // A read-only session id is local: the read-write server was asked for a new session.
    let handshakes: Vec<ConnectRequest> = sim
        .server
        .received
        .iter()
        .filter(|(_, op, _)| op.is_none())
        .map(|(_, _, b)| crate::decode_exact(b).unwrap())
        .collect();
    assert_eq!(handshakes.len(), 2);
    assert_eq!(handshakes[1].session_id, 0);
    assert_eq!(handshakes[0].read_only, Some(true));
}

#[test]
fn a_global_session_rides_out_a_read_only_period() {
    let mut sim = Sim::new(
        SessionConfig::new(2)
            .read_only(true)
            .session_timeout(secs(6.0))
            .rng_seed(5),
    );
    sim.connect();
    assert_eq!(sim.session.state(), SessionState::Connected);
    let global = sim.session.session_id();
    // The ensemble loses its quorum: the servers turn read-only.
    sim.server.read_only = true;
    sim.server.disconnect();
    sim.server_closed();
    sim.run_until(secs(2.0), |s| {
        s.session.state() == SessionState::ConnectedReadOnly
    });
    let local = sim.session.session_id();
    assert_ne!(local, global, "a local session on the read-only server");
    assert!(
        sim.call(OpCode::Exists, exists("/", false)).is_ok(),
        "reads work"
    );
    // Quorum back: a probe finds a read-write server and the global session resumes.
    sim.server.read_only = false;
    sim.run_for(secs(0.2));
    let probe = sim.session.poll_probe().expect("probe");
    sim.session
        .handle_probe(sim.now, probe, ServerMode::ReadWrite);
    sim.run_until(secs(2.0), |s| s.session.state() == SessionState::Connected);
    assert_eq!(sim.session.session_id(), global);
    let presented: Vec<i64> = sim
        .server
        .received
        .iter()
        .filter(|(_, op, _)| op.is_none())
        .map(|(_, _, b)| crate::decode_exact::<ConnectRequest>(b).unwrap().session_id)
        .collect();
    assert_eq!(presented, [0, global, 0, global]);
    assert!(!sim.states().contains(&SessionState::Expired));
}
