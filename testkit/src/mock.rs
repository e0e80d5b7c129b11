//! [`MockServer`]: a scripted server speaking ZooKeeper's frames, for the protocol corners a
//! real server will not produce: garbage, impossible lengths, replies cut short, unknown
//! xids, silence, a byte a second, notifications nobody asked for.
//!
//! Each accepted connection runs the script given to [`MockServer::start`] with a
//! [`MockConnection`], which reads the client's frames and writes whatever the script
//! wants, well-formed ([`MockConnection::accept_session`], [`MockConnection::reply`]) or
//! not ([`MockConnection::send_raw`]). The server counts connections, so a test can bound
//! how often a client dials.
//!
//! ```
//! use zk_proto::ErrorCode;
//! use zk_proto::records::ExistsResponse;
//! use zk_testkit::mock::MockServer;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! // Accepts the session, answers the first request with a wrong xid.
//! let server = MockServer::start(|mut conn| async move {
//!     conn.accept_session().await?;
//!     if let Some(request) = conn.read_request().await? {
//!         conn.reply(request.xid + 7, 1, ErrorCode::Ok, Some(&ExistsResponse::default())).await?;
//!     }
//!     conn.hold().await
//! })
//! .await?;
//! assert!(server.connect_string().starts_with("127.0.0.1:"));
//! assert_eq!(server.connections(), 0);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use zk_proto::frame::{FrameDecoder, encode_frame};
use zk_proto::records::{
    ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, SyncRequest, SyncResponse,
    WatcherEvent,
};
use zk_proto::xid::{NOTIFICATION_XID, PING_XID};
use zk_proto::{ErrorCode, EventType, KeeperState, OpCode, Record, decode_exact};

/// A scripted server on a free loopback port; stops accepting when dropped.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl MockServer {
    /// Listens on `127.0.0.1:0` and runs `script` on every connection accepted.
    ///
    /// # Errors
    ///
    /// When the listening socket cannot be bound.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// // Says nothing, ever.
    /// let server = zk_testkit::mock::MockServer::start(|conn| conn.hold()).await?;
    /// # drop(server); Ok(()) }
    /// ```
    pub async fn start<F, Fut>(script: F) -> io::Result<Self>
    where
        F: Fn(MockConnection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let accept = tokio::spawn(async move {
            let mut scripts = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                let conn = MockConnection::new(stream);
                scripts.spawn(script(conn));
                // Reap finished scripts so a long run does not pile them up.
                while scripts.try_join_next().is_some() {}
            }
        });
        Ok(Self {
            addr,
            connections,
            accept,
        })
    }

    /// The listening address.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let server = zk_testkit::mock::MockServer::start(|conn| conn.hold()).await?;
    /// assert!(server.addr().ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:port`, for a client's connect string.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let server = zk_testkit::mock::MockServer::start(|conn| conn.hold()).await?;
    /// assert_eq!(server.connect_string(), server.addr().to_string());
    /// # Ok(()) }
    /// ```
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let server = zk_testkit::mock::MockServer::start(|conn| conn.hold()).await?;
    /// let _socket = tokio::net::TcpStream::connect(server.addr()).await?;
    /// # tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    /// assert_eq!(server.connections(), 1);
    /// # Ok(()) }
    /// ```
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // The accept loop owns the scripts' JoinSet: aborting it ends every connection.
        self.accept.abort();
    }
}

/// A request the client sent: its header and its body, undecoded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MockRequest {
    /// The request's xid.
    pub xid: i32,
    /// Its operation.
    pub op_code: OpCode,
    /// The body after the header.
    pub body: Bytes,
}

/// One accepted connection, driven by the script.
#[derive(Debug)]
pub struct MockConnection {
    stream: TcpStream,
    input: BytesMut,
    frames: FrameDecoder,
    zxid: i64,
}

const SESSION_ID: i64 = 0x5eed_0000_0000_0001;

impl MockConnection {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            input: BytesMut::new(),
            frames: FrameDecoder::new(1 << 24),
            zxid: 0,
        }
    }

    /// The next frame from the client, or `None` once it closed the connection.
    ///
    /// # Errors
    ///
    /// A read error, or a frame the decoder refuses.
    pub async fn read_frame(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            match self.frames.decode(&mut self.input) {
                Ok(Some(frame)) => return Ok(Some(frame.freeze())),
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            if self.stream.read_buf(&mut self.input).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Reads the ConnectRequest and accepts it: the session it presents, or a new one, with
    /// the timeout it asked for.
    ///
    /// # Errors
    ///
    /// When the client closed the connection or sent something else.
    pub async fn accept_session(&mut self) -> io::Result<ConnectRequest> {
        let request = self.read_connect_request().await?;
        let response = Self::session_for(&request);
        self.send_record(&response).await?;
        Ok(request)
    }

    /// Reads the ConnectRequest without answering it.
    ///
    /// # Errors
    ///
    /// When the client closed the connection or sent something else.
    pub async fn read_connect_request(&mut self) -> io::Result<ConnectRequest> {
        let frame = self
            .read_frame()
            .await?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no handshake"))?;
        decode_exact::<ConnectRequest>(&frame)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// The ConnectResponse [`accept_session`](Self::accept_session) sends for `request`.
    pub fn session_for(request: &ConnectRequest) -> ConnectResponse {
        let session_id = if request.session_id == 0 {
            SESSION_ID
        } else {
            request.session_id
        };
        ConnectResponse {
            protocol_version: 0,
            time_out: request.time_out,
            session_id,
            passwd: vec![7; 16].into(),
            read_only: Some(false),
        }
    }

    /// The ConnectResponse for `request`, framed, as bytes (to send cut short or slowly).
    pub fn session_bytes(request: &ConnectRequest) -> Vec<u8> {
        let mut out = BytesMut::new();
        // A ConnectResponse is always far below the limit.
        let _ = encode_frame(&mut out, &Self::session_for(request), usize::MAX);
        out.to_vec()
    }

    /// The next request that is not a ping (pings are answered on the way), or `None`
    /// once the client closed the connection.
    ///
    /// # Errors
    ///
    /// A read error or a frame too short for a request header.
    pub async fn read_request(&mut self) -> io::Result<Option<MockRequest>> {
        loop {
            let Some(mut frame) = self.read_frame().await? else {
                return Ok(None);
            };
            let header = RequestHeader::decode(&mut frame)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if header.xid == PING_XID {
                self.reply_header(PING_XID, ErrorCode::Ok).await?;
                continue;
            }
            return Ok(Some(MockRequest {
                xid: header.xid,
                op_code: header.op_code,
                body: frame,
            }));
        }
    }

    /// Answers with a reply header (zxid `zxid`) and, when given, a body.
    ///
    /// # Errors
    ///
    /// A write error.
    pub async fn reply<R: Record>(
        &mut self,
        xid: i32,
        zxid: i64,
        err: ErrorCode,
        body: Option<&R>,
    ) -> io::Result<()> {
        self.zxid = self.zxid.max(zxid);
        let header = ReplyHeader { xid, zxid, err };
        let mut out = BytesMut::new();
        let framed = match body {
            Some(body) => encode_frame(&mut out, &(header, Borrowed(body)), usize::MAX),
            None => encode_frame(&mut out, &header, usize::MAX),
        };
        framed.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.send_raw(&out).await
    }

    /// Answers with a reply header alone.
    ///
    /// # Errors
    ///
    /// A write error.
    pub async fn reply_header(&mut self, xid: i32, err: ErrorCode) -> io::Result<()> {
        let zxid = self.zxid;
        self.reply::<()>(xid, zxid, err, None).await
    }

    /// Answers `xid` with an OK header followed by `body` as raw bytes (a body cut short, or
    /// one of the wrong type).
    ///
    /// # Errors
    ///
    /// A write error.
    pub async fn reply_raw(&mut self, xid: i32, body: &[u8]) -> io::Result<()> {
        let header = ReplyHeader {
            xid,
            zxid: self.zxid,
            err: ErrorCode::Ok,
        };
        let mut out = BytesMut::new();
        let _ = encode_frame(&mut out, &header, usize::MAX);
        let len = u32::try_from(out.len() - 4 + body.len()).unwrap_or(u32::MAX);
        out[..4].copy_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
        self.send_raw(&out).await
    }

    /// Sends a watch notification.
    ///
    /// # Errors
    ///
    /// A write error.
    pub async fn notify(&mut self, event_type: EventType, path: &str) -> io::Result<()> {
        let event = WatcherEvent {
            event_type,
            state: KeeperState::SyncConnected,
            path: path.to_owned(),
        };
        self.reply(NOTIFICATION_XID, -1, ErrorCode::Ok, Some(&event))
            .await
    }

    /// Sends a framed record (no reply header).
    ///
    /// # Errors
    ///
    /// A write error.
    pub async fn send_record<R: Record>(&mut self, record: &R) -> io::Result<()> {
        let mut out = BytesMut::new();
        encode_frame(&mut out, &Borrowed(record), usize::MAX)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.send_raw(&out).await
    }

    /// Sends bytes as they are.
    ///
    /// # Errors
    ///
    /// A write error.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Sends bytes one at a time, `every` apart.
    ///
    /// # Errors
    ///
    /// A write error.
    pub async fn drip(&mut self, bytes: &[u8], every: Duration) -> io::Result<()> {
        for byte in bytes {
            self.send_raw(&[*byte]).await?;
            tokio::time::sleep(every).await;
        }
        Ok(())
    }

    /// Reads and drops whatever the client sends, answering nothing, until it closes the
    /// connection.
    ///
    /// # Errors
    ///
    /// A read error.
    pub async fn hold(mut self) -> io::Result<()> {
        let mut sink = [0u8; 4096];
        while self.stream.read(&mut sink).await? > 0 {}
        Ok(())
    }

    /// Answers requests well-formed until the client closes the connection, and returns
    /// them: pings, sync (its path back) and closeSession succeed, anything else gets
    /// NONODE (a reply without a body).
    ///
    /// # Errors
    ///
    /// A read or write error.
    pub async fn serve(mut self) -> io::Result<Vec<MockRequest>> {
        let mut answered = Vec::new();
        while let Some(request) = self.read_request().await? {
            self.zxid += 1;
            match request.op_code {
                OpCode::Sync => {
                    let path = decode_exact::<SyncRequest>(&request.body)
                        .map(|r| r.path)
                        .unwrap_or_default();
                    let zxid = self.zxid;
                    let body = SyncResponse { path };
                    self.reply(request.xid, zxid, ErrorCode::Ok, Some(&body))
                        .await?;
                }
                OpCode::CloseSession => self.reply_header(request.xid, ErrorCode::Ok).await?,
                _ => self.reply_header(request.xid, ErrorCode::NoNode).await?,
            }
            let close = request.op_code == OpCode::CloseSession;
            answered.push(request);
            if close {
                break;
            }
        }
        Ok(answered)
    }
}

/// A record borrowed for framing.
struct Borrowed<'a, R>(&'a R);

impl<R: Record> Record for Borrowed<'_, R> {
    const MIN_LEN: usize = R::MIN_LEN;
    fn encode<B: bytes::BufMut>(&self, buf: &mut B) {
        self.0.encode(buf);
    }
    fn decode<B: bytes::Buf>(_buf: &mut B) -> Result<Self, zk_proto::DecodeError> {
        Err(zk_proto::DecodeError::new(
            zk_proto::DecodeErrorKind::Invalid("borrowed records are encoded only"),
        ))
    }
    fn encoded_len(&self) -> usize {
        self.0.encoded_len()
    }
}
