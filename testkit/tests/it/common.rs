//! Helpers shared by the test modules: raw frames through zk-proto, and a limit on how
//! many ensembles run at once.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};
use zk_proto::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use zk_proto::records::{
    Acl, ConnectRequest, ConnectResponse, CreateRequest, ExistsRequest, ReplyHeader, RequestHeader,
};
use zk_proto::{CreateMode, OpCode, Record};
use zk_testkit::{Backend, EnsembleConfig};

/// Ensembles of three servers are started one at a time: two cores are shared by up to
/// three JVMs of an ensemble, the shared server and the build.
static HEAVY: Semaphore = Semaphore::const_new(1);

pub(crate) async fn heavy() -> SemaphorePermit<'static> {
    HEAVY.acquire().await.expect("semaphore never closes")
}

/// Where network namespaces are not available, says so visibly and returns true.
///
/// The line goes straight to the process's standard error: the test harness captures
/// `println!`/`eprintln!` of passing tests, and a skip must never look like a pass.
pub(crate) fn skip_without_netns(test: &str) -> bool {
    match zk_testkit::netns_available() {
        Ok(()) => false,
        Err(reason) => {
            use io::Write as _;
            let _ = writeln!(io::stderr().lock(), "SKIPPED: {test}: {reason}");
            true
        }
    }
}

/// Runs the test case `$case(backend)` once per backend, as `$case::processes` and
/// `$case::containers` (the latter skipped visibly without Docker, see
/// `zk_testkit::container::skip_unless_ready`).
macro_rules! on_both_backends {
    ($case:ident) => {
        mod $case {
            #[tokio::test]
            async fn processes() {
                super::$case(zk_testkit::Backend::Process).await;
            }

            #[tokio::test]
            async fn containers() {
                if zk_testkit::container::skip_unless_ready(concat!(module_path!(), "::containers"))
                {
                    return;
                }
                super::$case(zk_testkit::Backend::Container).await;
            }
        }
    };
}
pub(crate) use on_both_backends;

/// The options of a test of `backend`.
pub(crate) fn on(backend: Backend, size: usize) -> EnsembleConfig {
    EnsembleConfig::new(size).backend(backend)
}

pub(crate) fn connect_frame(session_id: i64, password: &[u8], timeout_ms: i32) -> BytesMut {
    let request = ConnectRequest {
        session_id,
        passwd: bytes::Bytes::copy_from_slice(password),
        ..ConnectRequest::new_session(timeout_ms, false)
    };
    let mut out = BytesMut::new();
    encode_frame(&mut out, &request, DEFAULT_MAX_FRAME_LEN).expect("frame");
    out
}

pub(crate) fn exists_frame(xid: i32, path: &str) -> BytesMut {
    let mut out = BytesMut::new();
    let header = RequestHeader {
        xid,
        op_code: OpCode::Exists,
    };
    let body = ExistsRequest {
        path: path.to_owned(),
        watch: false,
    };
    encode_frame(&mut out, &(header, body), DEFAULT_MAX_FRAME_LEN).expect("frame");
    out
}

pub(crate) fn create_frame(xid: i32, path: &str, mode: CreateMode) -> BytesMut {
    let mut out = BytesMut::new();
    let header = RequestHeader {
        xid,
        op_code: OpCode::Create,
    };
    let body = CreateRequest {
        path: path.to_owned(),
        data: bytes::Bytes::new(),
        acl: vec![Acl::open_unsafe()],
        flags: mode,
    };
    encode_frame(&mut out, &(header, body), DEFAULT_MAX_FRAME_LEN).expect("frame");
    out
}

/// A connection speaking raw frames.
pub(crate) struct Wire {
    pub(crate) stream: TcpStream,
    frames: FrameDecoder,
    input: BytesMut,
}

impl Wire {
    pub(crate) async fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self::over(stream)
    }

    pub(crate) fn over(stream: TcpStream) -> Self {
        Self {
            stream,
            frames: FrameDecoder::default(),
            input: BytesMut::new(),
        }
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next frame; `Ok(None)` on EOF.
    pub(crate) async fn frame(&mut self, timeout: Duration) -> io::Result<Option<BytesMut>> {
        let work = async {
            loop {
                if let Some(f) = self
                    .frames
                    .decode(&mut self.input)
                    .map_err(|e| io::Error::other(e.to_string()))?
                {
                    return Ok(Some(f));
                }
                if self.stream.read_buf(&mut self.input).await? == 0 {
                    return Ok(None);
                }
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no frame")),
        }
    }

    pub(crate) async fn handshake(&mut self, timeout_ms: i32) -> ConnectResponse {
        self.send(&connect_frame(0, &[0; 16], timeout_ms)).await;
        let frame = self
            .frame(Duration::from_secs(10))
            .await
            .expect("read")
            .expect("a ConnectResponse, not EOF");
        zk_proto::decode_exact(&frame).expect("ConnectResponse")
    }

    pub(crate) async fn reply(&mut self) -> (ReplyHeader, BytesMut) {
        let mut frame = self
            .frame(Duration::from_secs(10))
            .await
            .expect("read")
            .expect("a reply, not EOF");
        let header = ReplyHeader::decode(&mut frame).expect("ReplyHeader");
        (header, frame)
    }

    /// Every byte until EOF or `timeout`; the error kind tells a reset from a timeout.
    pub(crate) async fn read_all(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        let mut out = self.input.split().to_vec();
        let work = async {
            let mut buf = [0u8; 256];
            loop {
                let n = self.stream.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                out.extend_from_slice(&buf[..n]);
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(())) => Ok(out),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("still open after {} bytes", out.len()),
            )),
        }
    }
}

/// Polls `check` until it returns true or `timeout` passes.
pub(crate) async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if check().await {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `exists(path)` through `addr` until it equals `want` or `timeout` passes,
/// reconnecting when the server drops the connection (it does on every role change).
pub(crate) async fn wait_exists(
    addr: std::net::SocketAddr,
    path: &str,
    want: bool,
    timeout: Duration,
) {
    let start = std::time::Instant::now();
    let mut session: Option<zk_testkit::RawSession> = None;
    loop {
        if session.is_none() {
            session = zk_testkit::RawSession::connect(addr, Duration::from_secs(10))
                .await
                .ok();
        }
        if let Some(s) = session.as_mut() {
            match s.exists(path).await {
                Ok(found) if found == want => return,
                Ok(_) => {}
                Err(_) => session = None,
            }
        }
        assert!(
            start.elapsed() < timeout,
            "exists({path}) through {addr} did not become {want} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new raw session on `addr`, retrying while the server is between roles.
pub(crate) async fn session_at(
    addr: std::net::SocketAddr,
    timeout: Duration,
) -> zk_testkit::RawSession {
    let start = std::time::Instant::now();
    loop {
        match zk_testkit::RawSession::connect(addr, Duration::from_secs(10)).await {
            Ok(s) => return s,
            Err(err) => assert!(
                start.elapsed() < timeout,
                "no session on {addr} within {timeout:?}: {err}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
