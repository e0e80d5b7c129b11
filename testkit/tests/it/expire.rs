//! Server-side session expiry without any client library.

use std::time::Duration;

use zk_proto::CreateMode;
use zk_testkit::{Error, RawSession};

use crate::common::{Wire, wait_exists};

#[tokio::test]
async fn expire_session_makes_an_ephemeral_node_vanish() {
    let zk = zk_testkit::shared().await.expect("shared server");
    let mut victim = RawSession::connect(zk.addr(), Duration::from_secs(30))
        .await
        .expect("victim session");
    let path = zk.path("/ephemeral");
    victim
        .create(&path, b"", CreateMode::Ephemeral)
        .await
        .expect("create");
    let mut observer = RawSession::connect(zk.addr(), Duration::from_secs(30))
        .await
        .expect("observer session");
    assert!(observer.exists(&path).await.expect("exists"));

    let (id, password) = (victim.session_id(), victim.password().to_vec());
    zk_testkit::expire_session(zk.addr(), id, &password)
        .await
        .expect("expire");

    wait_exists(zk.addr(), &path, false, Duration::from_secs(10)).await;
    // The victim's connection was taken over and closed by the server.
    assert!(
        victim.exists("/").await.is_err(),
        "the victim's connection is gone"
    );
    // And the session cannot be resumed: it is expired.
    let resumed = RawSession::resume(zk.addr(), id, &password, Duration::from_secs(30)).await;
    assert!(
        matches!(resumed, Err(Error::SessionRefused(s)) if s == id),
        "{resumed:?}"
    );
}

#[tokio::test]
async fn expiring_an_unknown_session_is_refused() {
    let zk = zk_testkit::shared().await.expect("shared server");
    let err = zk_testkit::expire_session(zk.addr(), 0x0bad_5e55_1011, &[7; 16])
        .await
        .expect_err("no such session");
    assert!(matches!(err, Error::SessionRefused(_)), "{err}");
}

/// Answers the next ConnectRequest on `wire`; returns the session id it asked to resume.
async fn answer_connect(wire: &mut Wire, time_out: i32, session_id: i64) -> i64 {
    let frame = wire
        .frame(Duration::from_secs(10))
        .await
        .expect("read")
        .expect("a ConnectRequest");
    let request: zk_proto::records::ConnectRequest =
        zk_proto::decode_exact(&frame).expect("ConnectRequest");
    let response = zk_proto::records::ConnectResponse {
        protocol_version: 0,
        time_out,
        session_id,
        passwd: bytes::Bytes::from_static(&[0; 16]),
        read_only: Some(false),
    };
    let mut out = bytes::BytesMut::new();
    zk_proto::frame::encode_frame(&mut out, &response, 1 << 20).expect("encode");
    wire.send(&out).await;
    request.session_id
}

/// The victim's client can take its session back between the hijacking resume and the
/// closeSession; the server then drops the hijacking connection unanswered. Expiry tries
/// again, and a refused resume then means the close went through.
#[tokio::test]
async fn expire_session_tries_again_when_the_close_goes_unanswered() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let id = 0x1234;
    let server = tokio::spawn(async move {
        // First connection: the resume succeeds, the closeSession is read and not answered.
        let mut first = Wire::over(listener.accept().await.expect("accept").0);
        let first_resumes = answer_connect(&mut first, 4000, id).await;
        first
            .frame(Duration::from_secs(10))
            .await
            .expect("read")
            .expect("a closeSession");
        drop(first);
        // Second: the session is gone.
        let mut second = Wire::over(listener.accept().await.expect("accept").0);
        let second_resumes = answer_connect(&mut second, 0, 0).await;
        [first_resumes, second_resumes]
    });
    zk_testkit::expire_session(addr, id, &[0; 16])
        .await
        .expect("expired on the second attempt");
    assert_eq!(
        server.await.expect("server"),
        [id, id],
        "both attempts resume the victim's session"
    );

    // A session that is refused on the first attempt was never there: an error.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut only = Wire::over(listener.accept().await.expect("accept").0);
        answer_connect(&mut only, 0, 0).await;
    });
    let refused = zk_testkit::expire_session(addr, id, &[0; 16]).await;
    assert!(
        matches!(refused, Err(Error::SessionRefused(s)) if s == id),
        "{refused:?}"
    );
}
