//! Every proxy fault, measured on the bytes a raw client sees.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use zk_proto::{CreateMode, ErrorCode, Record};
use zk_testkit::{ClientEndpoint, RawSession, Shared};

use crate::common::{Wire, connect_frame, create_frame, exists_frame};

/// A ConnectResponse with the read-only byte: 4 + 37 bytes on the wire.
const CONNECT_RESPONSE_BYTES: usize = 41;

async fn endpoint(name: &str) -> (Shared, ClientEndpoint) {
    let zk = zk_testkit::shared().await.expect("shared server");
    let ep = zk.server().client_endpoint(name).await.expect("endpoint");
    (zk, ep)
}

fn proxy_addr(ep: &ClientEndpoint) -> std::net::SocketAddr {
    ep.addr(1).expect("proxy in front of server 1")
}

#[tokio::test]
async fn pass_through_changes_nothing() {
    let (zk, ep) = endpoint("plain").await;
    let mut wire = Wire::connect(proxy_addr(&ep)).await;
    let rsp = wire.handshake(4000).await;
    assert_ne!(rsp.session_id, 0);
    wire.send(&exists_frame(1, zk.chroot())).await;
    let (header, _) = wire.reply().await;
    assert_eq!((header.xid, header.err), (1, ErrorCode::Ok));
    let stats = ep.stats();
    assert_eq!(stats.accepted, 1);
    assert_eq!(
        stats.bytes_down,
        CONNECT_RESPONSE_BYTES as u64 + 4 + 16 + 68
    );
}

#[tokio::test]
async fn latency_delays_each_direction() {
    let (_zk, ep) = endpoint("latency").await;
    let mut wire = Wire::connect(proxy_addr(&ep)).await;
    wire.handshake(4000).await;
    let up = Duration::from_millis(150);
    let down = Duration::from_millis(100);
    let slow = ep.latency(up, down);
    let t0 = Instant::now();
    wire.send(&exists_frame(1, "/")).await;
    let (header, _) = wire.reply().await;
    let took = t0.elapsed();
    assert_eq!(header.err, ErrorCode::Ok);
    assert!(
        took >= up + down,
        "round trip took {took:?}, less than the injected {:?}",
        up + down
    );
    drop(slow);
    wire.send(&exists_frame(2, "/")).await;
    let (header, _) = wire.reply().await;
    assert_eq!(header.xid, 2, "the connection survives the heal");
}

#[tokio::test]
async fn blackhole_holds_bytes_without_closing_and_delivers_after_heal() {
    let (_zk, ep) = endpoint("blackhole").await;
    let mut wire = Wire::connect(proxy_addr(&ep)).await;
    wire.handshake(4000).await;
    let before = ep.stats();
    let hole = ep.blackhole();
    wire.send(&exists_frame(1, "/")).await;
    let held = wire.frame(Duration::from_millis(800)).await;
    let err = held.expect_err("no byte, no EOF and no RST may arrive through a blackhole");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert_eq!(
        ep.stats().bytes_up,
        before.bytes_up,
        "nothing reached the server"
    );
    drop(hole);
    let (header, _) = wire.reply().await;
    assert_eq!(
        (header.xid, header.err),
        (1, ErrorCode::Ok),
        "held request delivered after the heal"
    );
}

#[tokio::test]
async fn blackhole_server_affects_only_that_server() {
    let (_zk, ep) = endpoint("blackhole-one").await;
    assert!(ep.blackhole_server(9).is_err(), "unknown server");
    let hole = ep.blackhole_server(1).expect("server 1");
    let mut wire = Wire::connect(proxy_addr(&ep)).await;
    wire.send(&connect_frame(0, &[0; 16], 4000)).await;
    let err = wire
        .frame(Duration::from_millis(500))
        .await
        .expect_err("held");
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    hole.heal();
    let frame = wire
        .frame(Duration::from_secs(10))
        .await
        .expect("read")
        .expect("ConnectResponse");
    assert_eq!(frame.len(), 37);
}

#[tokio::test]
async fn reset_all_sends_rst_and_the_session_survives() {
    let (_zk, ep) = endpoint("reset").await;
    let mut wire = Wire::connect(proxy_addr(&ep)).await;
    let rsp = wire.handshake(6000).await;
    ep.reset_all();
    let err = wire
        .read_all(Duration::from_secs(5))
        .await
        .expect_err("a reset connection");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    // The session lives on: resume it through the proxy.
    let stream = tokio::net::TcpStream::connect(proxy_addr(&ep))
        .await
        .expect("connect");
    let request = zk_proto::records::ConnectRequest {
        session_id: rsp.session_id,
        passwd: rsp.passwd.clone(),
        ..zk_proto::records::ConnectRequest::new_session(6000, false)
    };
    let resumed = RawSession::handshake(stream, request)
        .await
        .expect("resume after reset");
    assert_eq!(resumed.session_id(), rsp.session_id);
}

#[tokio::test]
async fn refuse_new_resets_new_connections_only() {
    let (_zk, ep) = endpoint("refuse").await;
    let mut open = Wire::connect(proxy_addr(&ep)).await;
    open.handshake(4000).await;
    let refuse = ep.refuse_new();
    let mut refused = Wire::connect(proxy_addr(&ep)).await;
    refused.send(&connect_frame(0, &[0; 16], 4000)).await;
    match refused.read_all(Duration::from_secs(5)).await {
        Ok(bytes) => assert!(bytes.is_empty(), "got {} bytes", bytes.len()),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
            "{e}"
        ),
    }
    assert_eq!(ep.stats().refused, 1);
    open.send(&exists_frame(1, "/")).await;
    let (header, _) = open.reply().await;
    assert_eq!(header.xid, 1, "open connections are not touched");
    drop(refuse);
    let mut again = Wire::connect(proxy_addr(&ep)).await;
    assert_ne!(again.handshake(4000).await.session_id, 0);
}

#[tokio::test]
async fn slice_delivers_frames_in_small_chunks() {
    let (_zk, ep) = endpoint("slice").await;
    let sliced = ep.slice(4, Duration::from_millis(15));
    let mut stream = tokio::net::TcpStream::connect(proxy_addr(&ep))
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(&connect_frame(0, &[0; 16], 4000))
        .await
        .expect("write");
    let mut got = Vec::new();
    let mut reads = 0;
    let mut buf = [0u8; 64];
    while got.len() < CONNECT_RESPONSE_BYTES {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("bytes keep coming")
            .expect("read");
        assert_ne!(n, 0, "EOF after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    let stats = ep.stats();
    assert_eq!(stats.max_write_down, 4, "no write larger than the slice");
    assert!(
        stats.writes_down >= 11,
        "41 bytes in slices of at most 4: {stats:?}"
    );
    assert!(reads > 1, "the client saw the frame in pieces");
    let mut frame = &got[4..];
    let rsp = zk_proto::records::ConnectResponse::decode(&mut frame).expect("intact response");
    assert_ne!(rsp.session_id, 0);
    drop(sliced);
}

#[tokio::test]
async fn cut_after_closes_mid_frame_after_exactly_n_bytes() {
    let (_zk, ep) = endpoint("cut").await;
    let cut = ep.cut_after(20);
    let mut wire = Wire::connect(proxy_addr(&ep)).await;
    wire.send(&connect_frame(0, &[0; 16], 4000)).await;
    let bytes = wire
        .read_all(Duration::from_secs(10))
        .await
        .expect("EOF after the cut");
    assert_eq!(bytes.len(), 20, "delivered exactly the limit, then FIN");
    drop(cut);
    let mut again = Wire::connect(proxy_addr(&ep)).await;
    assert_ne!(again.handshake(4000).await.session_id, 0);
}

#[tokio::test]
async fn drop_reply_loses_the_response_after_the_server_applied_it() {
    let (zk, ep) = endpoint("lost-reply").await;
    let lost = ep.drop_reply(2);
    let mut wire = Wire::connect(proxy_addr(&ep)).await;
    wire.handshake(4000).await;
    // Request 1 is answered.
    wire.send(&exists_frame(1, zk.chroot())).await;
    let (header, _) = wire.reply().await;
    assert_eq!(header.xid, 1);
    // Request 2's reply is swallowed and the connection closed.
    let path = zk.path("/applied");
    wire.send(&create_frame(2, &path, CreateMode::Persistent))
        .await;
    let rest = wire
        .read_all(Duration::from_secs(10))
        .await
        .expect("EOF instead of the reply");
    assert!(
        rest.is_empty(),
        "no byte of the reply arrives, got {}",
        rest.len()
    );
    assert_eq!(ep.stats().dropped_replies, 1);
    // The create happened all the same.
    let mut check = RawSession::connect(zk.addr(), Duration::from_secs(4))
        .await
        .expect("session");
    assert!(check.exists(&path).await.expect("exists"));
    drop(lost);
}
