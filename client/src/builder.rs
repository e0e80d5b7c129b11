//! [`ClientBuilder`]: hosts, timeouts, reconnect policy, read-only, auth, limits and the
//! connector.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proto::hosts::ConnectString;
use proto::records::AuthPacket;
use proto::session::{ReconnectPolicy, Session, SessionConfig, SessionState};

use crate::client::{Client, Inner};
use crate::connector::{Connector, TcpConnector};
use crate::error::{Error, ErrorContext, Result};
use crate::task::SessionTask;
#[cfg(feature = "tls")]
use crate::tls::TlsOptions;

/// Configures and connects a [`Client`].
///
/// ```no_run
/// use std::time::Duration;
/// # async fn _example() -> zk_client::Result<()> {
/// let client = zk_client::Client::builder()
///     .session_timeout(Duration::from_secs(10))
///     .request_timeout(Duration::from_secs(5))
///     .connect("zk1:2181,zk2:2181,zk3:2181/app")
///     .await?;
/// # let _ = client; Ok(()) }
/// ```
///
/// # Throughput
///
/// Requests are written as they are queued, many to a write, and replies are read in
/// batches. While 192 or more requests are sent and unanswered (or, with a low-water cap
/// of 1,940 bytes or more, twice the smallest replies a raised mark can wait for), new ones
/// wait in the client and go out together once replies bring that below: the server still has
/// plenty queued then, and it answers in order, so they are answered no later for it; the
/// client saves a write per handful of requests (about a fifth of its CPU per pipelined
/// getData). On Linux, while more than about 25 requests await replies on a plain TCP
/// connection, the session task raises the socket's receive low-water mark (`SO_RCVLOWAT`)
/// to the bytes those replies are certain to take (every reply frame is at least 20 bytes),
/// at most 768 bytes, so the kernel wakes it once per few replies instead of once per segment
/// (a higher mark saves more client CPU but can cost the server throughput;
/// [`max_receive_low_water`](Self::max_receive_low_water) sets the cap or turns the mark
/// off). One request at a time is never held back, and a raised mark with nothing read
/// for 2 ms drops back to one byte, so replies never wait on a server that has gone quiet
/// (the connection then uses lower marks for a while). TLS and custom connections
/// (anything but a [`tokio::net::TcpStream`] from the [`Connector`]) read with the
/// kernel's default.
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientBuilder {
    session_timeout: Duration,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    reconnect: ReconnectPolicy,
    read_only: bool,
    fail_fast: bool,
    max_queued: usize,
    max_frame_len: usize,
    max_receive_low_water: usize,
    local_expiry_percent: u32,
    auth: Vec<AuthPacket>,
    connector: Arc<dyn Connector>,
    #[cfg(feature = "tls")]
    tls: Option<TlsOptions>,
    sasl: Option<crate::sasl::DigestMd5>,
    rng_seed: Option<u64>,
    resume: Option<(i64, bytes::Bytes)>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            session_timeout: Duration::from_secs(30),
            connect_timeout: None,
            request_timeout: None,
            reconnect: ReconnectPolicy::default(),
            read_only: false,
            fail_fast: false,
            max_queued: 100_000,
            max_frame_len: proto::frame::DEFAULT_MAX_FRAME_LEN,
            max_receive_low_water: crate::low_water::MAX_MARK,
            local_expiry_percent: 133,
            auth: Vec::new(),
            connector: Arc::new(TcpConnector),
            #[cfg(feature = "tls")]
            tls: None,
            sasl: None,
            rng_seed: None,
            resume: None,
        }
    }
}

impl Client {
    /// A builder with the defaults.
    ///
    /// ```
    /// let builder = zk_client::Client::builder();
    /// # let _ = builder;
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Connects with the defaults; see [`ClientBuilder::connect`].
    ///
    /// `hosts` is a connect string: `host:port` pairs separated by commas, then an
    /// optional chroot, as `zk1:2181,zk2:2181,zk3:2181/myapp`. `tls://host:port` or
    /// `tcp://host:port` picks the transport per host (TLS needs
    /// [`ClientBuilder::tls`]). With a chroot every path of this client is below it, and
    /// the chroot node must exist: create it first with a client without the chroot.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::connect`]; among them [`Error::ChrootMissing`] when the chroot
    /// node does not exist.
    ///
    /// ```no_run
    /// # async fn _example() -> zk_client::Result<()> {
    /// let client = zk_client::Client::connect("127.0.0.1:2181").await?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub async fn connect(hosts: &str) -> Result<Self> {
        Self::builder().connect(hosts).await
    }
}

impl ClientBuilder {
    /// The session timeout asked of the server, which clamps it to
    /// `[2, 20] × tickTime` by default. Default 30 s.
    ///
    /// ```
    /// let b = zk_client::Client::builder().session_timeout(std::time::Duration::from_secs(6));
    /// # let _ = b;
    /// ```
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How long one connection attempt (dial and handshake) may take. Default: the
    /// session timeout divided by the number of hosts, as the Java client.
    ///
    /// ```
    /// let b = zk_client::Client::builder().connect_timeout(std::time::Duration::from_secs(2));
    /// # let _ = b;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The deadline of every request, from the call until its reply. A request past its
    /// deadline fails with [`Error::Timeout`]; if it was not sent yet it never will be.
    /// Default none: requests wait through reconnects until the session expires.
    ///
    /// ```
    /// let b = zk_client::Client::builder().request_timeout(std::time::Duration::from_secs(5));
    /// # let _ = b;
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// How to back off between connection attempts. Default: 50 ms doubling to 1 s,
    /// with jitter, forever.
    ///
    /// ```
    /// use zk_client::ReconnectPolicy;
    /// let b = zk_client::Client::builder().reconnect_policy(ReconnectPolicy::default().max_attempts(20));
    /// # let _ = b;
    /// ```
    pub fn reconnect_policy(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Accept read-only servers (of an ensemble that lost its quorum): reads keep working,
    /// writes fail with [`Error::NotReadOnly`], and the client moves to a read-write server
    /// when one is back (probing with `isro`, which the servers must whitelist). Default
    /// false.
    ///
    /// ```
    /// let b = zk_client::Client::builder().read_only(true);
    /// # let _ = b;
    /// ```
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Fail requests at once with [`Error::ConnectionLoss`] while disconnected, instead of
    /// queueing them until the reconnect. Default false.
    ///
    /// ```
    /// let b = zk_client::Client::builder().fail_fast(true);
    /// # let _ = b;
    /// ```
    pub fn fail_fast(mut self, fail_fast: bool) -> Self {
        self.fail_fast = fail_fast;
        self
    }

    /// The most requests waiting or in flight; beyond it calls fail with
    /// [`Error::QueueFull`]. Default 100,000.
    ///
    /// ```
    /// let b = zk_client::Client::builder().max_queued(10_000);
    /// # let _ = b;
    /// ```
    pub fn max_queued(mut self, max: usize) -> Self {
        self.max_queued = max.max(1);
        self
    }

    /// The highest receive low-water mark, in bytes, that the session task sets while many
    /// replies are due (see [`ClientBuilder`]'s `# Throughput`). Default 768.
    ///
    /// A higher cap wakes the task less often and so spends less client CPU per request.
    /// How it changes the server's pace depends on the server's load: with 256 pipelined
    /// getData against ZooKeeper 3.8 on two cores, 1 KiB read about a tenth more replies
    /// per second than no mark on an idle server, and about an eighth fewer right after
    /// another client's heavy write load, where 512 to 768 bytes did best. In peerbench
    /// runs (10 or 25 interleaved rounds), 768 bytes kept within 4% of the fastest other
    /// client's getData rate in all three runs that had it, while 1 KiB fell 14 to 20%
    /// behind in three of four, for a fifth to a quarter less CPU per getData. Below 512 the
    /// mark is never raised and every segment is read as it arrives. The mark never asks
    /// for more bytes than the replies in flight are certain to take, whatever the cap.
    ///
    /// ```
    /// // Read every segment as it arrives.
    /// let b = zk_client::Client::builder().max_receive_low_water(0);
    /// # let _ = b;
    /// ```
    pub fn max_receive_low_water(mut self, bytes: usize) -> Self {
        self.max_receive_low_water = bytes;
        self
    }

    /// The largest frame sent or accepted: the server's `jute.maxbuffer`. Default
    /// 1,048,575.
    ///
    /// A request above it fails with [`Error::TooLarge`](crate::Error::TooLarge) before it
    /// is sent. So does a call whose reply is above it (a large node, a long child list,
    /// a `multi_read` of many nodes): the reply is discarded as it arrives, without
    /// buffering it, and the connection and the other calls carry on.
    ///
    /// ```
    /// let b = zk_client::Client::builder().max_frame_len(4 << 20);
    /// # let _ = b;
    /// ```
    pub fn max_frame_len(mut self, len: usize) -> Self {
        self.max_frame_len = len;
        self
    }

    /// Declare the session expired when no server was reachable for this percentage of the
    /// negotiated timeout (0 = only when a server says so). Default 133, as the Java
    /// client from 3.9.3.
    ///
    /// ```
    /// let b = zk_client::Client::builder().local_expiry_percent(0);
    /// # let _ = b;
    /// ```
    pub fn local_expiry_percent(mut self, percent: u32) -> Self {
        self.local_expiry_percent = percent;
        self
    }

    /// Authenticates with `scheme` (`digest` with `user:password`), on the first
    /// connection and after every reconnect. Default none.
    ///
    /// ```
    /// let b = zk_client::Client::builder().auth("digest", b"alice:secret");
    /// # let _ = b;
    /// ```
    pub fn auth(mut self, scheme: &str, auth: &[u8]) -> Self {
        self.auth
            .push(AuthPacket::new(scheme, bytes::Bytes::copy_from_slice(auth)));
        self
    }

    /// Connects with TLS to every host of the connect string that does not say `tcp://`.
    /// Without it, only hosts written `tls://host:port` use TLS (and need these options).
    /// Default: plain TCP. Needs the `tls` feature (on by default).
    ///
    /// ```
    /// let b = zk_client::Client::builder().tls(zk_client::TlsOptions::new().ca_file("ca.pem"));
    /// # let _ = b;
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, options: TlsOptions) -> Self {
        self.tls = Some(options);
        self
    }

    /// Authenticates every connection with SASL DIGEST-MD5 as `username` (the server's
    /// JAAS `DigestLoginModule`), before anything else is sent. The session then has the
    /// `sasl` identity `username`. Default: no SASL.
    ///
    /// ```
    /// let b = zk_client::Client::builder().sasl_digest("bob", "bobsecret");
    /// # let _ = b;
    /// ```
    pub fn sasl_digest(mut self, username: &str, password: &str) -> Self {
        self.sasl = Some(crate::sasl::DigestMd5 {
            username: username.to_owned(),
            password: password.to_owned(),
        });
        self
    }

    /// Opens connections with `connector` instead of plain TCP (TLS, when configured, is
    /// layered on top).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = zk_client::Client::builder().connector(Arc::new(zk_client::connector::TcpConnector::default()));
    /// # let _ = b;
    /// ```
    pub fn connector(mut self, connector: Arc<dyn Connector>) -> Self {
        self.connector = connector;
        self
    }

    /// Seeds the host shuffle and backoff jitter (for reproducible tests). Default: from
    /// the clock.
    ///
    /// ```
    /// let b = zk_client::Client::builder().rng_seed(7);
    /// # let _ = b;
    /// ```
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Resumes an existing session instead of starting a new one.
    ///
    /// ```
    /// let b = zk_client::Client::builder().resume_session(0x1234, vec![0; 16].into());
    /// # let _ = b;
    /// ```
    pub fn resume_session(mut self, session_id: i64, password: bytes::Bytes) -> Self {
        self.resume = Some((session_id, password));
        self
    }

    /// Builds the client and its [`SessionTask`] without spawning it or waiting for a
    /// connection. The task must be polled (spawned) for anything to happen.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] or [`Error::InvalidPath`] for a bad connect string.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> zk_client::Result<()> {
    /// let (client, task) = zk_client::Client::builder().build("127.0.0.1:2181/app")?;
    /// let task = tokio::spawn(task);
    /// # drop(client); task.abort(); Ok(()) }
    /// ```
    pub fn build(self, hosts: &str) -> Result<(Client, SessionTask)> {
        let context = || ErrorContext::new("connect", None);
        let connect_string: ConnectString = hosts.parse().map_err(|e| match e {
            proto::hosts::ConnectStringError::InvalidChroot(p) => Error::InvalidPath(context(), p),
            _ => Error::InvalidArgument(context(), "invalid connect string"),
        })?;
        let seed = self.rng_seed.unwrap_or_else(|| {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        });
        let mut config = SessionConfig::new(connect_string.hosts.len())
            .chroot(connect_string.chroot.clone())
            .session_timeout(self.session_timeout)
            .read_only(self.read_only)
            .reconnect(self.reconnect)
            .max_frame_len(self.max_frame_len)
            .local_expiry_percent(self.local_expiry_percent)
            .rng_seed(seed);
        if let Some(timeout) = self.connect_timeout {
            config = config.connect_timeout(timeout);
        }
        if let Some((id, password)) = self.resume {
            config = config.resume(id, password);
        }
        if let Some(sasl) = self.sasl {
            config = config.sasl(Arc::new(sasl));
        }
        let wants_tls = connect_string
            .hosts
            .iter()
            .any(|h| h.scheme == proto::hosts::Scheme::Tls);
        #[cfg(feature = "tls")]
        let connector = {
            if wants_tls && self.tls.is_none() {
                return Err(Error::InvalidArgument(
                    context(),
                    "a tls:// host needs ClientBuilder::tls",
                ));
            }
            Arc::new(crate::tls::SchemeConnector {
                inner: self.connector,
                tls_by_default: self.tls.is_some(),
                tls: self.tls,
            })
        };
        #[cfg(not(feature = "tls"))]
        let connector = {
            if wants_tls {
                return Err(Error::InvalidArgument(
                    context(),
                    "a tls:// host needs zk-client's tls feature",
                ));
            }
            self.connector
        };
        let now = std::time::Instant::now();
        let mut session = Session::new(config, now);
        for packet in self.auth {
            session.add_auth(now, packet);
        }
        let (task, channels) = SessionTask::new(
            session,
            connect_string.hosts,
            connector,
            self.max_receive_low_water,
        );
        let inner = Inner::new(
            channels,
            connect_string.chroot.as_str().to_owned(),
            self.request_timeout,
            self.fail_fast,
            self.max_queued,
            self.max_frame_len,
        );
        Ok((Client::from_inner(inner), task))
    }

    /// Connects: spawns the session task on the current tokio runtime and waits until the
    /// session is established (or, with [`read_only`](Self::read_only), connected to a
    /// read-only server); then, when the connect string has a chroot, checks that the
    /// chroot node exists.
    ///
    /// `hosts` is a connect string: `host:port` pairs separated by commas, then an
    /// optional chroot (`zk1:2181,zk2:2181/myapp`). A host may be written
    /// `tls://host:port` or `tcp://host:port` to pick its transport ([`tls`](Self::tls)
    /// makes TLS the default for the others). IPv6 addresses go in brackets
    /// (`[::1]:2181`). With a chroot, every path this client names is below it, and the
    /// node must exist beforehand: ZooKeeper does not create it.
    ///
    /// ```no_run
    /// # async fn _example() -> zk_client::Result<()> {
    /// // Make the chroot once, with a client that has none.
    /// let root = zk_client::Client::connect("zk1:2181,zk2:2181").await?;
    /// root.create_all("/myapp", b"", &zk_client::CreateOptions::persistent()).await?;
    /// // Paths of this client are below /myapp: "/config" is /myapp/config.
    /// let app = zk_client::Client::builder().connect("zk1:2181,zk2:2181/myapp").await?;
    /// # let _ = app; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A bad connect string; [`Error::Io`] with the cause the last attempt met (refused,
    /// a TLS failure, a peer that is not ZooKeeper, no answer to the handshake) when no
    /// server accepted a session within the session timeout, else [`Error::Timeout`];
    /// [`Error::AuthFailed`] or [`Error::SessionExpired`] (a resumed session) when the
    /// first handshake says so; [`Error::ChrootMissing`] when the chroot node does not
    /// exist (the session is closed then).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(self, hosts: &str) -> Result<Client> {
        // A little longer than the session timeout, so the last attempt's own timeout (the
        // session timeout divided among the hosts) fires first and names its cause.
        let wait = self.session_timeout.max(Duration::from_secs(1)) * 11 / 10;
        let (client, task) = self.build(hosts)?;
        tokio::spawn(task);
        let client = wait_connected(client, wait).await?;
        let chroot = client.chroot();
        if chroot != "/" && client.chroot_exists().await?.is_none() {
            client.close().await;
            let context = ErrorContext::new("connect", Some(Arc::from(chroot)));
            return Err(Error::ChrootMissing(context));
        }
        Ok(client)
    }
}

/// Waits until the session of `client` is established, or why it could not be.
async fn wait_connected(client: Client, wait: Duration) -> Result<Client> {
    let mut state = client.state_watcher();
    let reached = tokio::time::timeout(
        wait,
        state.wait_for(|s| s.is_connected() || s.is_terminal()),
    )
    .await;
    let context = || ErrorContext::new("connect", None);
    match reached {
        Ok(Ok(s)) if s.is_connected() => Ok(client),
        Ok(Ok(SessionState::AuthFailed)) => Err(Error::AuthFailed(context())),
        Ok(Ok(SessionState::Expired)) => Err(Error::SessionExpired(context())),
        Ok(_) => Err(Error::Closed(context())),
        // Say why the servers could not be reached, when a connection attempt failed.
        Err(_) => match client.last_connect_error() {
            Some(error) => Err(Error::Io(context(), error)),
            None => Err(Error::Timeout(context())),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::{Client, Error};

    fn refusal(hosts: &str) -> Option<&'static str> {
        match Client::builder().build(hosts) {
            Err(Error::InvalidArgument(_, why)) => Some(why),
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => None,
        }
    }

    #[cfg(feature = "tls")]
    #[tokio::test]
    async fn a_tls_host_needs_tls_options() {
        assert_eq!(
            refusal("tls://127.0.0.1:1"),
            Some("a tls:// host needs ClientBuilder::tls")
        );
        let with = Client::builder()
            .tls(crate::TlsOptions::new())
            .build("tls://127.0.0.1:1");
        assert!(with.is_ok());
        assert_eq!(refusal("tcp://127.0.0.1:1,127.0.0.1:2"), None);
    }

    #[cfg(not(feature = "tls"))]
    #[tokio::test]
    async fn without_the_tls_feature_a_tls_host_is_refused() {
        assert_eq!(
            refusal("127.0.0.1:1,tls://127.0.0.1:2"),
            Some("a tls:// host needs zk-client's tls feature")
        );
        assert_eq!(refusal("tcp://127.0.0.1:1,127.0.0.1:2"), None);
    }
}
