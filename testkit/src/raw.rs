//! A minimal raw session on zk-proto's records and framing, independent of zk-client.
//!
//! The kit uses it to expire sessions and to create chroots, and tests use it to check
//! server state without trusting the client under test. One request at a time; watch
//! notifications and pings are skipped.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_proto::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use zk_proto::records::{
    Acl, ConnectRequest, ConnectResponse, CreateRequest, CreateResponse, DeleteRequest,
    ExistsRequest, GetChildrenRequest, GetChildrenResponse, GetDataRequest, GetDataResponse,
    ReplyHeader, RequestHeader,
};
use zk_proto::{CreateMode, ErrorCode, OpCode, Record};

use crate::error::{Error, Result};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A session spoken in raw frames: handshake, then one request at a time.
///
/// # Examples
///
/// ```no_run
/// use zk_testkit::RawSession;
/// use zk_proto::CreateMode;
///
/// # async fn _demo(addr: std::net::SocketAddr) -> zk_testkit::Result<()> {
/// let mut s = RawSession::connect(addr, std::time::Duration::from_secs(4)).await?;
/// s.create("/hello", b"world", CreateMode::Ephemeral).await?;
/// assert_eq!(&s.get_data("/hello").await?[..], b"world");
/// s.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RawSession {
    stream: TcpStream,
    frames: FrameDecoder,
    input: BytesMut,
    next_xid: i32,
    response: ConnectResponse,
    last_zxid: i64,
}

impl RawSession {
    /// Connects to `addr` and opens a new session asking for `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`], [`Error::Timeout`], [`Error::Protocol`], or
    /// [`Error::SessionRefused`] when the server answers with an invalid session.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(addr: std::net::SocketAddr) -> zk_testkit::Result<()> {
    /// let s = zk_testkit::RawSession::connect(addr, std::time::Duration::from_secs(4)).await?;
    /// println!("session 0x{:x}", s.session_id());
    /// # Ok(()) }
    /// ```
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self> {
        let stream = connect_tcp(addr).await?;
        Self::handshake(stream, new_session_request(timeout)).await
    }

    /// Resumes session `session_id` with its password over a new connection to `addr`.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); [`Error::SessionRefused`] when the session is gone
    /// or the password is wrong.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(addr: std::net::SocketAddr, id: i64, pw: &[u8]) -> zk_testkit::Result<()> {
    /// let s = zk_testkit::RawSession::resume(addr, id, pw, std::time::Duration::from_secs(4)).await?;
    /// # drop(s); Ok(()) }
    /// ```
    pub async fn resume(
        addr: SocketAddr,
        session_id: i64,
        password: &[u8],
        timeout: Duration,
    ) -> Result<Self> {
        let stream = connect_tcp(addr).await?;
        Self::handshake(stream, resume_request(session_id, password, timeout)).await
    }

    /// Performs the handshake on an already connected stream (for example one made by a
    /// [`NetnsConnector`](crate::NetnsConnector)).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(stream: tokio::net::TcpStream) -> zk_testkit::Result<()> {
    /// use zk_proto::records::ConnectRequest;
    /// let s = zk_testkit::RawSession::handshake(stream, ConnectRequest::new_session(4000, false)).await?;
    /// # drop(s); Ok(()) }
    /// ```
    pub async fn handshake(stream: TcpStream, request: ConnectRequest) -> Result<Self> {
        let session_id = request.session_id;
        let mut session = Self {
            stream,
            frames: FrameDecoder::new(DEFAULT_MAX_FRAME_LEN),
            input: BytesMut::new(),
            next_xid: 1,
            response: ConnectResponse::default(),
            last_zxid: 0,
        };
        session.send(&request).await?;
        let frame = session.read_frame().await?;
        if frame.len() < ConnectResponse::MIN_LEN {
            // A read-only server without local sessions answers with a bare ReplyHeader.
            return Err(Error::Protocol(format!(
                "expected a ConnectResponse, got a {}-byte frame",
                frame.len()
            )));
        }
        let response: ConnectResponse = zk_proto::decode_exact(&frame)
            .map_err(|e| Error::Protocol(format!("bad ConnectResponse: {e}")))?;
        if response.is_expired() {
            return Err(Error::SessionRefused(session_id));
        }
        session.response = response;
        Ok(session)
    }

    /// The session id.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::RawSession) { assert_ne!(s.session_id(), 0); }
    /// ```
    pub fn session_id(&self) -> i64 {
        self.response.session_id
    }

    /// The session password.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::RawSession) { assert_eq!(s.password().len(), 16); }
    /// ```
    pub fn password(&self) -> &[u8] {
        &self.response.passwd
    }

    /// The negotiated session timeout.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::RawSession) { println!("{:?}", s.timeout()); }
    /// ```
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.response.time_out).unwrap_or(0))
    }

    /// The whole ConnectResponse.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::RawSession) { println!("{:?}", s.connect_response().read_only); }
    /// ```
    pub fn connect_response(&self) -> &ConnectResponse {
        &self.response
    }

    /// The zxid of the last reply.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::RawSession) { println!("{}", s.last_zxid()); }
    /// ```
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Sends one request and returns the reply header and the raw reply body.
    ///
    /// # Errors
    ///
    /// [`Error::Io`], [`Error::Timeout`] or [`Error::Protocol`]; server error codes are
    /// returned in the header, not as errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &mut zk_testkit::RawSession) -> zk_testkit::Result<()> {
    /// use zk_proto::{OpCode, records::SyncRequest};
    /// let (header, _body) = s.request(OpCode::Sync, &SyncRequest { path: "/".into() }).await?;
    /// assert!(header.err.is_ok());
    /// # Ok(()) }
    /// ```
    pub async fn request<R: Record>(
        &mut self,
        op_code: OpCode,
        body: &R,
    ) -> Result<(ReplyHeader, BytesMut)> {
        let xid = self.next_xid;
        self.next_xid = self.next_xid.checked_add(1).unwrap_or(1);
        let header = RequestHeader { xid, op_code };
        let len = header.encoded_len() + body.encoded_len();
        if len > DEFAULT_MAX_FRAME_LEN {
            return Err(Error::Protocol(format!(
                "request of {len} bytes is too long"
            )));
        }
        let mut out = BytesMut::with_capacity(4 + len);
        out.put_i32(i32::try_from(len).unwrap_or(i32::MAX));
        header.encode(&mut out);
        body.encode(&mut out);
        self.write(&out).await?;
        loop {
            let mut frame = self.read_frame().await?;
            let header = ReplyHeader::decode(&mut frame)
                .map_err(|e| Error::Protocol(format!("bad ReplyHeader: {e}")))?;
            if zk_proto::xid::is_special(header.xid) {
                continue;
            }
            if header.xid != xid {
                return Err(Error::Protocol(format!(
                    "reply xid {} does not match request xid {xid}",
                    header.xid
                )));
            }
            if header.zxid > 0 {
                self.last_zxid = header.zxid;
            }
            return Ok((header, frame));
        }
    }

    async fn call<R: Record, T: Record>(&mut self, what: &str, op: OpCode, body: &R) -> Result<T> {
        let (header, body) = self.request(op, body).await?;
        check(what, header.err)?;
        zk_proto::decode_exact(&body)
            .map_err(|e| Error::Protocol(format!("bad reply to {what}: {e}")))
    }

    /// Creates `path` with `data` and the open ACL; returns the created path.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] with the error code (e.g. -110 NODEEXISTS), or transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &mut zk_testkit::RawSession) -> zk_testkit::Result<()> {
    /// let p = s.create("/q-", b"", zk_proto::CreateMode::PersistentSequential).await?;
    /// assert!(p.starts_with("/q-"));
    /// # Ok(()) }
    /// ```
    pub async fn create(&mut self, path: &str, data: &[u8], mode: CreateMode) -> Result<String> {
        let body = CreateRequest {
            path: path.to_owned(),
            data: Bytes::copy_from_slice(data),
            acl: vec![Acl::open_unsafe()],
            flags: mode,
        };
        let rsp: CreateResponse = self
            .call(&format!("create {path}"), OpCode::Create, &body)
            .await?;
        Ok(rsp.path)
    }

    /// Whether `path` exists.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] for codes other than NONODE, or transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &mut zk_testkit::RawSession) -> zk_testkit::Result<()> {
    /// assert!(s.exists("/").await?);
    /// # Ok(()) }
    /// ```
    pub async fn exists(&mut self, path: &str) -> Result<bool> {
        let body = ExistsRequest {
            path: path.to_owned(),
            watch: false,
        };
        let (header, _) = self.request(OpCode::Exists, &body).await?;
        match header.err {
            ErrorCode::Ok => Ok(true),
            ErrorCode::NoNode => Ok(false),
            other => Err(Error::Server {
                what: format!("exists {path}"),
                code: other.code(),
            }),
        }
    }

    /// The data of `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] (e.g. -101 NONODE) or transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &mut zk_testkit::RawSession) -> zk_testkit::Result<()> {
    /// let data = s.get_data("/zookeeper/config").await?;
    /// # let _ = data; Ok(()) }
    /// ```
    pub async fn get_data(&mut self, path: &str) -> Result<Bytes> {
        let body = GetDataRequest {
            path: path.to_owned(),
            watch: false,
        };
        let rsp: GetDataResponse = self
            .call(&format!("getData {path}"), OpCode::GetData, &body)
            .await?;
        Ok(rsp.data.unwrap_or_default())
    }

    /// The children of `path`, sorted.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] or transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &mut zk_testkit::RawSession) -> zk_testkit::Result<()> {
    /// assert!(s.get_children("/").await?.contains(&"zookeeper".to_owned()));
    /// # Ok(()) }
    /// ```
    pub async fn get_children(&mut self, path: &str) -> Result<Vec<String>> {
        let body = GetChildrenRequest {
            path: path.to_owned(),
            watch: false,
        };
        let rsp: GetChildrenResponse = self
            .call(&format!("getChildren {path}"), OpCode::GetChildren, &body)
            .await?;
        let mut children = rsp.children;
        children.sort();
        Ok(children)
    }

    /// Deletes `path` (any version).
    ///
    /// # Errors
    ///
    /// [`Error::Server`] (e.g. -101 NONODE, -111 NOTEMPTY) or transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &mut zk_testkit::RawSession) -> zk_testkit::Result<()> {
    /// s.delete("/hello").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&mut self, path: &str) -> Result<()> {
        let body = DeleteRequest {
            path: path.to_owned(),
            version: -1,
        };
        let (header, _) = self.request(OpCode::Delete, &body).await?;
        check(&format!("delete {path}"), header.err)
    }

    /// Closes the session (closeSession, opcode −11): its ephemeral nodes are deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] or transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: zk_testkit::RawSession) -> zk_testkit::Result<()> { s.close().await }
    /// ```
    pub async fn close(mut self) -> Result<()> {
        let (header, _) = self.request(OpCode::CloseSession, &()).await?;
        check("closeSession", header.err)?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }

    /// Drops the connection without closing the session (the session lives on until it
    /// times out or is resumed).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: zk_testkit::RawSession) { s.disconnect(); }
    /// ```
    pub fn disconnect(self) {}

    async fn send<R: Record>(&mut self, record: &R) -> Result<()> {
        let mut out = BytesMut::new();
        encode_frame(&mut out, record, DEFAULT_MAX_FRAME_LEN)
            .map_err(|e| Error::Protocol(format!("cannot frame a request: {e}")))?;
        self.write(&out).await
    }

    async fn write(&mut self, out: &[u8]) -> Result<()> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.stream.write_all(out)).await {
            Ok(r) => r.map_err(|e| Error::io("sending a request", e)),
            Err(_) => Err(Error::timeout("sending a request", REQUEST_TIMEOUT, "")),
        }
    }

    async fn read_frame(&mut self) -> Result<BytesMut> {
        let work = async {
            loop {
                if let Some(frame) = self
                    .frames
                    .decode(&mut self.input)
                    .map_err(|e| Error::Protocol(format!("bad frame: {e}")))?
                {
                    return Ok(frame);
                }
                let n = self
                    .stream
                    .read_buf(&mut self.input)
                    .await
                    .map_err(|e| Error::io("reading a reply", e))?;
                if n == 0 {
                    return Err(Error::io(
                        "reading a reply",
                        std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the server closed the connection",
                        ),
                    ));
                }
            }
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, work).await {
            Ok(r) => r,
            Err(_) => Err(Error::timeout("a reply", REQUEST_TIMEOUT, "")),
        }
    }
}

fn check(what: &str, err: ErrorCode) -> Result<()> {
    if err.is_ok() {
        Ok(())
    } else {
        Err(Error::Server {
            what: what.to_owned(),
            code: err.code(),
        })
    }
}

async fn connect_tcp(addr: SocketAddr) -> Result<TcpStream> {
    match tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(Error::io(format!("connecting to {addr}"), e)),
        Err(_) => Err(Error::timeout(
            format!("a connection to {addr}"),
            REQUEST_TIMEOUT,
            "",
        )),
    }
}

fn millis_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// A ConnectRequest for a new session.
pub(crate) fn new_session_request(timeout: Duration) -> ConnectRequest {
    ConnectRequest::new_session(millis_i32(timeout), false)
}

/// A ConnectRequest resuming `session_id`.
pub(crate) fn resume_request(
    session_id: i64,
    password: &[u8],
    timeout: Duration,
) -> ConnectRequest {
    ConnectRequest {
        session_id,
        passwd: Bytes::copy_from_slice(password),
        ..ConnectRequest::new_session(millis_i32(timeout), false)
    }
}
