//! Process faults (kill, stop, restart, pause, lost disk), client endpoints, network
//! partitions and session expiry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Ensemble;
use super::health::{Health, POLL};
use crate::config::ServerId;
use crate::error::{Error, Result};
use crate::net::{Dialer, Netns, Partition};
use crate::node::{Node, ProcessState};
use crate::proxy::ClientEndpoint;

/// A paused server; dropping the guard (or [`resume`](Self::resume)) sends SIGCONT.
///
/// # Examples
///
/// ```no_run
/// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
/// let paused = e.pause(2)?;
/// // ... server 2 neither answers nor times anyone out ...
/// paused.resume();
/// # Ok(()) }
/// ```
#[must_use = "the server resumes as soon as the guard is dropped"]
#[derive(Debug)]
pub struct PauseGuard {
    node: Arc<Node>,
    generation: u64,
}

impl PauseGuard {
    /// The paused server.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { assert_eq!(e.pause(1)?.server(), 1); Ok(()) }
    /// ```
    pub fn server(&self) -> ServerId {
        self.node.id
    }

    /// Resumes the server now (same as dropping the guard).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { e.pause(1)?.resume(); Ok(()) }
    /// ```
    pub fn resume(self) {}
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        self.node.resume(self.generation);
    }
}

impl Ensemble {
    /// Kills server `id` with SIGKILL. Its data and `myid` stay for a
    /// [`restart`](Self::restart).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] or [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { e.kill(1)?; e.restart(1).await }
    /// ```
    pub fn kill(&self, id: ServerId) -> Result<()> {
        self.node(id)?.kill()
    }

    /// Stops server `id` with SIGTERM (SIGKILL after 10 s).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] or [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { e.stop(2).await }
    /// ```
    pub async fn stop(&self, id: ServerId) -> Result<()> {
        self.node(id)?.stop(Duration::from_secs(10)).await
    }

    /// Starts server `id` again with the same data folder and `myid` (stopping it first if
    /// it runs), and waits until its JVM answers `srvr`. Call
    /// [`wait_healthy`](Self::wait_healthy) to wait until it has rejoined.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`], [`Error::ServerExited`] or [`Error::Timeout`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// e.kill(3)?;
    /// e.restart(3).await?;
    /// # Ok(()) }
    /// ```
    pub async fn restart(&self, id: ServerId) -> Result<()> {
        let node = Arc::clone(self.node(id)?);
        if node.state() != ProcessState::Down {
            node.stop(Duration::from_secs(10)).await?;
        }
        spawn_off_runtime(&node).await?;
        let deadline = self.inner.cfg.start_deadline;
        let t0 = Instant::now();
        loop {
            node.check_alive()?;
            if self.four_letter_word(id, "srvr").await.is_ok() {
                return Ok(());
            }
            if t0.elapsed() >= deadline {
                return Err(Error::timeout(
                    format!("server {id} to answer after a restart"),
                    deadline,
                    node.log_tail(15),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Pauses server `id` with SIGSTOP until the guard is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`], or [`Error::InvalidConfig`] when it is not running.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let guard = e.pause(1)?;
    /// drop(guard); // SIGCONT
    /// # Ok(()) }
    /// ```
    pub fn pause(&self, id: ServerId) -> Result<PauseGuard> {
        let node = Arc::clone(self.node(id)?);
        let generation = node.pause()?;
        Ok(PauseGuard { node, generation })
    }

    /// Kills server `id`, deletes its snapshots and transaction logs (a lost disk; `myid`
    /// stays) and starts it again. In an ensemble it then fetches the data from the leader.
    ///
    /// # Errors
    ///
    /// As [`restart`](Self::restart).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { e.wipe_and_restart(2).await }
    /// ```
    pub async fn wipe_and_restart(&self, id: ServerId) -> Result<()> {
        let node = self.node(id)?;
        node.kill()?;
        node.wipe()?;
        self.restart(id).await
    }

    /// A new client endpoint: one fault proxy per server on `127.0.0.1`, running on the
    /// current tokio runtime. In [`NetMode::Netns`](crate::NetMode::Netns) the endpoint also gets its own client
    /// namespace, which the proxies dial from.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a listener cannot be bound; namespace errors in netns mode.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let ep = e.client_endpoint("worker-1").await?;
    /// println!("{}", ep.connect_string());
    /// # Ok(()) }
    /// ```
    pub async fn client_endpoint(&self, name: &str) -> Result<ClientEndpoint> {
        let dialer = match &self.inner.net {
            Some(net) => Dialer::Netns(net.add_client()?),
            None => Dialer::Direct,
        };
        let servers: Vec<(ServerId, SocketAddr)> = self
            .inner
            .nodes
            .iter()
            .map(|n| (n.id, n.client_addr))
            .collect();
        ClientEndpoint::start(name, &servers, dialer).await
    }

    fn netns(&self) -> Result<&Arc<Netns>> {
        self.inner.net.as_ref().ok_or_else(|| {
            Error::NetnsUnavailable(
                "partitions need the container backend or an ensemble started with \
                 NetMode::Netns"
                    .into(),
            )
        })
    }

    /// Cuts the network between every pair of servers on different sides, e.g.
    /// `&[&[1], &[2, 3]]`. Clients are not affected. Servers in no side keep all links.
    ///
    /// On the container backend every server outside the largest side is disconnected
    /// from the quorum network, so servers on a smaller side lose each other too (see
    /// [`crate::container`]).
    ///
    /// # Errors
    ///
    /// [`Error::NetnsUnavailable`] on the process backend unless started with
    /// [`NetMode::Netns`](crate::NetMode::Netns); [`Error::UnknownServer`];
    /// [`Error::Command`] when `ip` or `docker` fails.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let cut = e.partition(&[&[1, 2], &[3]])?;
    /// cut.heal(e, std::time::Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub fn partition(&self, sides: &[&[ServerId]]) -> Result<Partition> {
        if let Some(net) = &self.inner.containers {
            return net.partition(&self.ids(), sides);
        }
        self.netns()?.partition(sides)
    }

    /// Cuts server `id` from every other server and from every client namespace. On the
    /// container backend its clients still reach it, as they do in a
    /// [`partition`](Self::partition).
    ///
    /// # Errors
    ///
    /// As [`partition`](Self::partition).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let cut = e.isolate(1)?;
    /// cut.heal(e, std::time::Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub fn isolate(&self, id: ServerId) -> Result<Partition> {
        if let Some(net) = &self.inner.containers {
            return net.isolate(&self.ids(), id);
        }
        self.netns()?.isolate(id)
    }

    /// Removes every partition, kills the stale quorum and election sockets with `ss -K`
    /// (otherwise a rejoin waits out TCP retransmission backoff) and waits until the
    /// ensemble is healthy.
    ///
    /// # Errors
    ///
    /// [`Error::NetnsUnavailable`] on the process backend unless started with
    /// [`NetMode::Netns`](crate::NetMode::Netns); [`Error::Timeout`] when it is not healthy
    /// within `timeout`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// e.heal(std::time::Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn heal(&self, timeout: Duration) -> Result<Health> {
        match &self.inner.containers {
            Some(net) => net.heal_all(),
            None => self.netns()?.heal_all(),
        }
        self.wait_healthy(timeout).await
    }

    /// Expires a session on the servers: attaches a second connection with the same
    /// session id and password, then closes the session (Curator's and ZooKeeper's FAQ
    /// method). Every
    /// ephemeral node of the session is deleted, and its owner is told the session expired
    /// when it next talks to a server.
    ///
    /// # Errors
    ///
    /// [`Error::SessionRefused`] when the session is already gone or the password is
    /// wrong; [`Error::Io`] / [`Error::Timeout`] when no server answers.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble, id: i64, password: &[u8]) -> zk_testkit::Result<()> {
    /// e.expire_session(id, password).await?;
    /// # Ok(()) }
    /// ```
    pub async fn expire_session(&self, session_id: i64, password: &[u8]) -> Result<()> {
        let mut last = None;
        for n in &self.inner.nodes {
            if n.state() != ProcessState::Running {
                continue;
            }
            match crate::expire::expire_session_via(
                &self.inner.dialer,
                n.client_addr,
                session_id,
                password,
                Duration::from_secs(10),
            )
            .await
            {
                Ok(()) => return Ok(()),
                Err(e @ Error::SessionRefused(_)) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::timeout(
                "a running server to expire the session on",
                Duration::ZERO,
                "",
            )
        }))
    }
}

/// Starts `node` on a blocking thread: a container start is three `docker` commands
/// (about 0.5 s), which must not stall the runtime's other tasks (proxies, clients).
pub(super) async fn spawn_off_runtime(node: &Arc<Node>) -> Result<()> {
    let node = Arc::clone(node);
    tokio::task::spawn_blocking(move || node.spawn())
        .await
        .map_err(|e| Error::io("starting a server", std::io::Error::other(e)))?
}
