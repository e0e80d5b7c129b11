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
    let mut xids = Vec::new();
    for _ in 0..requests {
        let frame = read_frame(&mut stream).await.unwrap();
        let header: RequestHeader = proto::Record::decode(&mut &frame[..]).unwrap();
        xids.push(header.xid);
    }
    out.clear();
    for xid in &xids[..answered] {
        let header = ReplyHeader {
            xid: *xid,
            zxid: 1,
            err: ErrorCode::Ok,
        };
        let body = GetDataResponse {
            data: Some(Bytes::from_static(b"x")),
            stat: Stat::default(),
        };
        encode_frame(&mut out, &(header, body), 1 << 20).unwrap();
    }
    stream.write_all(&out).await.unwrap();
    // Hold the connection open, answering nothing more.
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// Replies that arrive while hundreds more are due reach their callers even when the
/// server then goes quiet (the receive low-water mark must not hold them back).
#[tokio::test]
async fn replies_short_of_a_deep_pipeline_are_delivered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(stalling_server(listener, 300, 10));
    let client = Client::builder()
        .session_timeout(Duration::from_secs(30))
        .connect(&addr.to_string())
        .await
        .unwrap();
    let mut calls: Vec<_> = (0..300).map(|_| client.get_data("/a")).collect();
    let rest = calls.split_off(10);
    let first = futures::future::try_join_all(calls);
    let replies = tokio::time::timeout(Duration::from_secs(2), first)
        .await
        .expect("the ten answered requests completed well before the read timeout")
        .unwrap();
    assert_eq!(replies.len(), 10);
    assert!(replies.iter().all(|(data, _)| &data[..] == b"x"));
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
