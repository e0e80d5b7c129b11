//! [`Server`]: one standalone ZooKeeper server.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::EnsembleConfig;
use crate::ensemble::{Ensemble, PauseGuard};
use crate::error::{Error, Result};
use crate::fourlw::Mode;
use crate::proxy::ClientEndpoint;

/// One standalone ZooKeeper server (an [`Ensemble`] of one, without `server.N` lines).
///
/// Dropping it kills the JVM and deletes its folder; the log is printed when a test
/// panics.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use zk_testkit::{RawSession, Server};
///
/// # async fn _demo() -> zk_testkit::Result<()> {
/// let server = Server::start().await?;
/// let mut session = RawSession::connect(server.addr(), Duration::from_secs(4)).await?;
/// assert!(session.exists("/zookeeper").await?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    ensemble: Ensemble,
    addr: SocketAddr,
}

impl Server {
    /// Starts a standalone server with the default options.
    ///
    /// # Errors
    ///
    /// As [`Ensemble::start_with`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo() -> zk_testkit::Result<()> {
    /// let server = zk_testkit::Server::start().await?;
    /// println!("{} after {:?}", server.connect_string(), server.started_in());
    /// # Ok(()) }
    /// ```
    pub async fn start() -> Result<Self> {
        Self::start_with(EnsembleConfig::new(1)).await
    }

    /// Starts a standalone server with `cfg` (its size is forced to 1).
    ///
    /// # Errors
    ///
    /// As [`Ensemble::start_with`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo() -> zk_testkit::Result<()> {
    /// let cfg = zk_testkit::EnsembleConfig::new(1).extended_types(true);
    /// let server = zk_testkit::Server::start_with(cfg).await?;
    /// # drop(server); Ok(()) }
    /// ```
    pub async fn start_with(cfg: EnsembleConfig) -> Result<Self> {
        let ensemble = Ensemble::start_with(cfg.with_size(1)).await?;
        let addr = ensemble.client_addr(1).ok_or(Error::UnknownServer(1))?;
        Ok(Self { ensemble, addr })
    }

    /// The client address, usable from the test process.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) { assert!(s.addr().ip().is_loopback()); }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) { assert!(s.connect_string().starts_with("127.0.0.1:")); }
    /// ```
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// The underlying one-server ensemble, for everything else (logs, four-letter words,
    /// data folders, partitions in netns mode).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) { assert_eq!(s.ensemble().size(), 1); }
    /// ```
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    /// How long the start took, from launching the JVM until it served.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) { println!("{:?}", s.started_in()); }
    /// ```
    pub fn started_in(&self) -> Duration {
        self.ensemble.started_in()
    }

    /// The version reported by `srvr`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) { println!("{:?}", s.server_version()); }
    /// ```
    pub fn server_version(&self) -> Option<String> {
        self.ensemble.server_version()
    }

    /// The JVM's process id, if it runs.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) { println!("{:?}", s.pid()); }
    /// ```
    pub fn pid(&self) -> Option<u32> {
        self.ensemble.pid(1)
    }

    /// Resident memory in bytes.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) { println!("{:?}", s.rss_bytes()); }
    /// ```
    pub fn rss_bytes(&self) -> Option<u64> {
        self.ensemble.rss_bytes(1)
    }

    /// The server's mode, `None` when down or paused.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &zk_testkit::Server) { assert_eq!(s.mode().await, Some(zk_testkit::Mode::Standalone)); }
    /// ```
    pub async fn mode(&self) -> Option<Mode> {
        self.ensemble.mode(1).await
    }

    /// SIGKILL (the data stays).
    ///
    /// # Errors
    ///
    /// As [`Ensemble::kill`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &zk_testkit::Server) -> zk_testkit::Result<()> { s.kill()?; s.restart().await }
    /// ```
    pub fn kill(&self) -> Result<()> {
        self.ensemble.kill(1)
    }

    /// SIGTERM.
    ///
    /// # Errors
    ///
    /// As [`Ensemble::stop`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &zk_testkit::Server) -> zk_testkit::Result<()> { s.stop().await }
    /// ```
    pub async fn stop(&self) -> Result<()> {
        self.ensemble.stop(1).await
    }

    /// Starts again on the same data and waits until it serves.
    ///
    /// # Errors
    ///
    /// As [`Ensemble::restart`] and [`Ensemble::wait_healthy`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &zk_testkit::Server) -> zk_testkit::Result<()> { s.restart().await }
    /// ```
    pub async fn restart(&self) -> Result<()> {
        self.ensemble.restart(1).await?;
        let deadline = self.ensemble.config().start_deadline;
        self.ensemble.wait_healthy(deadline).await.map(|_| ())
    }

    /// SIGSTOP until the guard is dropped.
    ///
    /// # Errors
    ///
    /// As [`Ensemble::pause`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(s: &zk_testkit::Server) -> zk_testkit::Result<()> { let _p = s.pause()?; Ok(()) }
    /// ```
    pub fn pause(&self) -> Result<PauseGuard> {
        self.ensemble.pause(1)
    }

    /// Kills, deletes all data, starts again and waits until it serves.
    ///
    /// # Errors
    ///
    /// As [`restart`](Self::restart).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &zk_testkit::Server) -> zk_testkit::Result<()> { s.wipe_and_restart().await }
    /// ```
    pub async fn wipe_and_restart(&self) -> Result<()> {
        self.ensemble.wipe_and_restart(1).await?;
        let deadline = self.ensemble.config().start_deadline;
        self.ensemble.wait_healthy(deadline).await.map(|_| ())
    }

    /// Expires a session (see [`Ensemble::expire_session`]).
    ///
    /// # Errors
    ///
    /// As [`Ensemble::expire_session`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &zk_testkit::Server, id: i64, pw: &[u8]) -> zk_testkit::Result<()> { s.expire_session(id, pw).await }
    /// ```
    pub async fn expire_session(&self, session_id: i64, password: &[u8]) -> Result<()> {
        self.ensemble.expire_session(session_id, password).await
    }

    /// A fault proxy in front of the server (see [`Ensemble::client_endpoint`]).
    ///
    /// # Errors
    ///
    /// As [`Ensemble::client_endpoint`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(s: &zk_testkit::Server) -> zk_testkit::Result<()> {
    /// let ep = s.client_endpoint("c1").await?;
    /// # drop(ep); Ok(()) }
    /// ```
    pub async fn client_endpoint(&self, name: &str) -> Result<ClientEndpoint> {
        self.ensemble.client_endpoint(name).await
    }
}
