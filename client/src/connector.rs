//! How the session task opens connections: plain TCP by default, or a custom dialer
//! (the testkit's network-namespace connector, a proxy, TLS).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;

use proto::hosts::Host;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream to a server.
///
/// Every `AsyncRead + AsyncWrite + Send + Unpin + 'static` type is one. When it is a plain
/// [`TcpStream`], the session task tunes the socket's receive low-water mark while many
/// replies are due (see [`ClientBuilder`](crate::ClientBuilder#throughput)).
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// The connection as [`Any`], to recognise a plain [`TcpStream`].
    fn as_any(&self) -> &dyn Any;
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A boxed [`Connection`].
pub type BoxConnection = Box<dyn Connection>;

/// The future a [`Connector`] returns.
pub type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<BoxConnection>> + Send>>;

/// Opens connections to servers.
///
/// ```
/// use std::sync::Arc;
/// use zk_client::connector::{BoxConnection, ConnectFuture, Connector};
/// use zk_client::Host;
///
/// /// Dials every host through a fixed local port (a test proxy, say).
/// #[derive(Debug)]
/// struct ViaProxy(u16);
///
/// impl Connector for ViaProxy {
///     fn connect(&self, _host: &Host) -> ConnectFuture {
///         let port = self.0;
///         Box::pin(async move {
///             let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
///             Ok(Box::new(stream) as BoxConnection)
///         })
///     }
/// }
/// let _builder = zk_client::Client::builder().connector(Arc::new(ViaProxy(2181)));
/// ```
pub trait Connector: fmt::Debug + Send + Sync + 'static {
    /// Opens a connection to `host`.
    fn connect(&self, host: &Host) -> ConnectFuture;
}

/// Plain TCP with `TCP_NODELAY`: the default.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct TcpConnector;

impl Connector for TcpConnector {
    fn connect(&self, host: &Host) -> ConnectFuture {
        let literal = host
            .host
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| std::net::SocketAddr::new(ip, host.port));
        let name = (host.host.clone(), host.port);
        Box::pin(async move {
            // An IP literal needs no resolver (which would run on a blocking thread).
            let stream = match literal {
                Some(addr) => TcpStream::connect(addr).await?,
                None => TcpStream::connect(name).await?,
            };
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as BoxConnection)
        })
    }
}

/// Asks `host` whether it is a read-write or a read-only server (the `isro` four-letter
/// word, which the server must whitelist).
pub(crate) async fn probe_mode(host: Host) -> proto::session::ServerMode {
    use proto::session::ServerMode;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = async {
        let mut stream = TcpStream::connect((host.host.as_str(), host.port)).await?;
        stream.write_all(b"isro").await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        io::Result::Ok(answer)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
        Ok(Ok(answer)) if answer == b"rw" => ServerMode::ReadWrite,
        Ok(Ok(answer)) if answer == b"ro" => ServerMode::ReadOnly,
        _ => ServerMode::Unknown,
    }
}
