//! Arbitrary bytes, timeouts, disconnects and requests fed into a `Session`.
//!
//! Each input byte picks an action; some take their argument from the following bytes.
//! The session must never panic, never report more replies than requests, and never dial
//! once it is in a terminal state. Liveness: after the input, a close ends the session
//! within the read timeout, and every submitted request has had exactly one reply.
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zk_proto::OpCode;
use zk_proto::frame::encode_frame;
use zk_proto::records::{ConnectResponse, GetDataRequest, Request};
use zk_proto::session::{DisconnectCause, Event, ServerMode, Session, SessionConfig};

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut now = start;
    let config = SessionConfig::new(3)
        .session_timeout(Duration::from_secs(6))
        .max_frame_len(4096)
        .rng_seed(1);
    let mut session = Session::new(config, now);
    let mut submitted = Vec::new();
    let mut replies: HashMap<_, usize> = HashMap::new();
    let mut bytes = data.iter().copied();
    while let Some(action) = bytes.next() {
        match action % 8 {
            0 => {
                if session.poll_connect(now).is_some() {
                    session.handle_connected(now);
                }
            }
            1 => {
                let len = usize::from(bytes.next().unwrap_or(0));
                let chunk: Vec<u8> = bytes.by_ref().take(len).collect();
                session.handle_input(now, &mut BytesMut::from(&chunk[..]));
            }
            2 => {
                let rsp = ConnectResponse {
                    time_out: 6000,
                    session_id: 7,
                    passwd: vec![1; 16].into(),
                    read_only: Some(action & 0x80 != 0),
                    ..ConnectResponse::default()
                };
                let mut frame = BytesMut::new();
                let _ = encode_frame(&mut frame, &rsp, 4096);
                session.handle_input(now, &mut frame);
            }
            3 => {
                now += Duration::from_millis(u64::from(bytes.next().unwrap_or(0)) * 40);
                session.handle_timeout(now);
            }
            4 => session.handle_disconnected(now, DisconnectCause::Eof),
            5 => {
                let watch = action & 0x80 != 0;
                let path = if action & 0x40 != 0 { "/a" } else { "/" };
                let id = session.submit(
                    now,
                    OpCode::GetData,
                    Request::GetData(GetDataRequest {
                        path: path.into(),
                        watch,
                    }),
                );
                submitted.push(id);
            }
            6 => session.close(now),
            _ => {
                if let Some(host) = session.poll_probe() {
                    let mode = match action >> 6 {
                        0 => ServerMode::ReadWrite,
                        1 => ServerMode::ReadOnly,
                        _ => ServerMode::Unknown,
                    };
                    session.handle_probe(now, host, mode);
                }
            }
        }
        while let Some(event) = session.poll_event() {
            if let Event::Reply(reply) = event {
                *replies.entry(reply.id).or_default() += 1;
                if let Ok(body) = reply.result {
                    assert!(body.body_len() < 4096);
                }
            }
        }
        let mut out = BytesMut::new();
        while session.poll_transmit(now, &mut out) > 0 {}
        assert!(replies.len() <= submitted.len());
        if session.state().is_terminal() {
            assert!(session.poll_connect(now).is_none());
        }
    }
    // Close, and let time pass: the session ends within the read timeout (4 s here).
    session.close(now);
    let deadline = now + Duration::from_secs(5);
    while !session.state().is_terminal() {
        let at = session.poll_timeout().expect("a timer while closing");
        assert!(at <= deadline, "close did not end the session in time");
        now = now.max(at);
        session.handle_timeout(now);
    }
    while let Some(event) = session.poll_event() {
        if let Event::Reply(reply) = event {
            *replies.entry(reply.id).or_default() += 1;
        }
    }
    for id in &submitted {
        assert_eq!(replies.get(id), Some(&1), "request {id:?}");
    }
});
