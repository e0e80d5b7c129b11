//! The session core alone, without sockets: submit → transmit → reply → event.

// `criterion_group!` defines a public function without docs.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zk_proto::frame::encode_frame;
use zk_proto::records::{ConnectResponse, GetDataRequest, ReplyHeader, Request};
use zk_proto::session::{Event, Session, SessionConfig};
use zk_proto::{ErrorCode, OpCode};

/// A session past its handshake.
fn established(now: Instant) -> Session {
    let mut session = Session::new(SessionConfig::new(1), now);
    let _ = session.poll_connect(now);
    session.handle_connected(now);
    let mut out = BytesMut::new();
    let _ = session.poll_transmit(now, &mut out);
    let rsp = ConnectResponse {
        time_out: 30_000,
        session_id: 1,
        passwd: vec![0; 16].into(),
        read_only: Some(false),
        ..Default::default()
    };
    let mut input = BytesMut::new();
    encode_frame(&mut input, &rsp, usize::MAX).expect("frame");
    session.handle_input(now, &mut input);
    while session.poll_event().is_some() {}
    session
}

fn round_trip(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Elements(1));

    // One request at a time.
    let mut session = established(now);
    let reply = {
        let mut frame = BytesMut::new();
        let header = ReplyHeader {
            xid: 0,
            zxid: 7,
            err: ErrorCode::Ok,
        };
        encode_frame(
            &mut frame,
            &(header, zk_benches::get_data_reply(100)),
            usize::MAX,
        )
        .expect("frame");
        frame
    };
    let mut out = BytesMut::with_capacity(4096);
    let mut input = BytesMut::with_capacity(4096);
    group.bench_function("get_data_round_trip", |b| {
        b.iter(|| {
            let request = Request::GetData(GetDataRequest {
                path: "/peerbench/data".into(),
                watch: false,
            });
            let id = session.submit(now, OpCode::GetData, request);
            out.clear();
            let _ = session.poll_transmit(now, &mut out);
            input.extend_from_slice(&reply);
            input[4..8].copy_from_slice(&out[4..8]); // the request's xid
            session.handle_input(now, &mut input);
            match session.poll_event() {
                Some(Event::Reply(r)) => assert_eq!(r.id, id),
                other => panic!("{other:?}"),
            }
            black_box(&session);
        });
    });

    // 256 pipelined requests per batch, replies in one buffer.
    let mut session = established(now);
    group.throughput(Throughput::Elements(256));
    group.bench_function("get_data_pipelined_256", |b| {
        b.iter(|| {
            for _ in 0..256 {
                let request = Request::GetData(GetDataRequest {
                    path: "/peerbench/data".into(),
                    watch: false,
                });
                session.submit(now, OpCode::GetData, request);
            }
            out.clear();
            while session.poll_transmit(now, &mut out) > 0 {}
            input.clear();
            for request in out.chunks(out.len() / 256) {
                let at = input.len();
                input.extend_from_slice(&reply);
                input[at + 4..at + 8].copy_from_slice(&request[4..8]);
            }
            session.handle_input(now, &mut input);
            let mut replies = 0;
            while let Some(event) = session.poll_event() {
                replies += usize::from(matches!(event, Event::Reply(_)));
            }
            assert_eq!(replies, 256);
        });
    });
    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
