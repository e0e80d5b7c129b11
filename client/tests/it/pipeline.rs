//! Deep pipelines: many requests in flight on one connection.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use proto::ErrorCode;
use proto::frame::encode_frame;
use proto::records::{ConnectResponse, GetDataResponse, ReplyHeader, RequestHeader, Stat};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zk_client::Client;

use crate::support::{client as shared_client, within};

/// Accepts a connection and completes its handshake.
async fn accept(listener: &TcpListener) -> TcpStream {
    let (mut stream, _) = listener.accept().await.unwrap();
    read_frame(&mut stream).await.unwrap();
    let accept = ConnectResponse {
        protocol_version: 0,
        time_out: 30_000,
        session_id: 7,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
    };
    let mut out = BytesMut::new();
    encode_frame(&mut out, &accept, 1 << 20).unwrap();
    stream.write_all(&out).await.unwrap();
    stream
}

/// Reads `n` requests and returns their xids.
async fn read_xids(stream: &mut TcpStream, n: usize) -> Vec<i32> {
    let mut xids = Vec::new();
    for _ in 0..n {
        let frame = read_frame(stream).await.unwrap();
        let header: RequestHeader = proto::Record::decode(&mut &frame[..]).unwrap();
        xids.push(header.xid);
    }
    xids
}

/// Answers each getData of `xids` with its xid as the node's data.
async fn answer(stream: &mut TcpStream, xids: &[i32]) {
    let mut out = BytesMut::new();
    for xid in xids {
        let header = ReplyHeader {
            xid: *xid,
            zxid: 1,
            err: ErrorCode::Ok,
        };
        let body = GetDataResponse {
            data: Some(Bytes::from(xid.to_string())),
            stat: Stat::default(),
        };
        encode_frame(&mut out, &(header, body), 1 << 20).unwrap();
    }
    stream.write_all(&out).await.unwrap();
}

/// Asserts that the replies, in call order, carry strictly increasing xids: each caller
/// got the reply to its own request.
fn assert_in_request_order(replies: &[(Bytes, Stat)]) {
    let xids: Vec<i32> = replies
        .iter()
        .map(|(data, _)| std::str::from_utf8(data).unwrap().parse().unwrap())
        .collect();
    assert!(xids.windows(2).all(|w| w[0] < w[1]), "{xids:?}");
}

/// A client of the scripted server at `addr`.
async fn connect(addr: std::net::SocketAddr) -> Client {
    Client::builder()
        .session_timeout(Duration::from_secs(30))
        .connect(&addr.to_string())
        .await
        .unwrap()
}

/// Reads one length-prefixed frame.
async fn read_frame(stream: &mut TcpStream) -> std::io::Result<BytesMut> {
    let len = stream.read_i32().await?;
    let mut frame = BytesMut::zeroed(usize::try_from(len).unwrap_or(0));
    stream.read_exact(&mut frame).await?;
    Ok(frame)
}

/// A scripted server: accepts the handshake, reads `requests` getData requests, answers
/// the first `answered`, then stays silent with the connection open.
async fn stalling_server(listener: TcpListener, requests: usize, answered: usize) {
    let mut stream = accept(&listener).await;
    let xids = read_xids(&mut stream, requests).await;
    answer(&mut stream, &xids[..answered]).await;
    // Hold the connection open, answering nothing more, until the test aborts the task.
    std::future::pending::<()>().await;
}

/// Replies that arrive while hundreds more are due reach their callers even when the
/// server then goes quiet (the receive low-water mark must not hold them back).
#[tokio::test]
async fn replies_short_of_a_deep_pipeline_are_delivered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(stalling_server(listener, 300, 10));
    let client = connect(addr).await;
    let mut calls: Vec<_> = (0..300).map(|_| client.get_data("/a")).collect();
    let rest = calls.split_off(10);
    let first = futures::future::try_join_all(calls);
    let replies = tokio::time::timeout(Duration::from_secs(2), first)
        .await
        .expect("the ten answered requests completed well before the read timeout")
        .unwrap();
    assert_eq!(replies.len(), 10);
    assert_in_request_order(&replies);
    drop(rest);
    server.abort();
}

/// Thousands of requests pipelined against a real server all complete, in order.
#[tokio::test]
async fn a_deep_pipeline_completes_in_order() {
    let (client, _zk) = shared_client().await;
    let path = "/n";
    client
        .create(
            path,
            b"0",
            &zk_client::CreateOptions::new(zk_client::CreateMode::Persistent),
        )
        .await
        .unwrap();
    let sets: Vec<_> = (1..=2_000)
        .map(|i| client.set_data(path, i.to_string().as_bytes(), Some(i - 1)))
        .collect();
    let stats = within(futures::future::try_join_all(sets)).await.unwrap();
    for (i, stat) in stats.iter().enumerate() {
        assert_eq!(stat.version, i32::try_from(i + 1).unwrap());
    }
    let gets: Vec<_> = (0..2_000).map(|_| client.get_data(path)).collect();
    for (data, stat) in within(futures::future::try_join_all(gets)).await.unwrap() {
        assert_eq!(&data[..], b"2000");
        assert_eq!(stat.version, 2_000);
    }
}

/// While the server has 192 or more requests to answer, new requests wait in the client,
/// and they go out together once replies bring the count below that; every caller still
/// gets its own reply, in order.
#[tokio::test]
async fn new_requests_wait_while_the_server_has_plenty_to_answer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (first_read, first_read_rx) = tokio::sync::oneshot::channel();
    let (more_made, more_made_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let mut stream = accept(&listener).await;
        let first = read_xids(&mut stream, 200).await;
        first_read.send(()).unwrap();
        more_made_rx.await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(300), stream.read_u8()).await;
        assert!(early.is_err(), "a request was written with 200 unanswered");
        answer(&mut stream, &first[..100]).await;
        let more = tokio::time::timeout(Duration::from_secs(10), read_xids(&mut stream, 50))
            .await
            .expect("the held requests were written once 100 were in flight");
        answer(&mut stream, &first[100..]).await;
        answer(&mut stream, &more).await;
        std::future::pending::<()>().await;
    });
    let client = connect(addr).await;
    let mut calls: Vec<_> = (0..200).map(|_| client.get_data("/a")).collect();
    within(first_read_rx).await.unwrap();
    calls.extend((0..50).map(|_| client.get_data("/a")));
    more_made.send(()).unwrap();
    let replies = within(futures::future::try_join_all(calls)).await.unwrap();
    assert_eq!(replies.len(), 250);
    assert_in_request_order(&replies);
    assert!(!server.is_finished(), "the server's checks passed");
    server.abort();
}
