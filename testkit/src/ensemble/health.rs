//! Readiness, roles and health checks by `srvr` (never `ruok`: a member without quorum still
//! answers `imok`).

use std::fmt;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::Ensemble;
use crate::config::ServerId;
use crate::error::{Error, Result};
use crate::fourlw::{self, Mode, ServerStats};
use crate::node::ProcessState;

/// How long a four-letter word may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one `srvr` probe of a health check may take. A healthy server answers in
/// milliseconds; a server cut off by a partition never does, and every poll of a wait
/// would otherwise pay the full timeout for it.
const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_millis(800);
/// How often readiness is polled.
pub(super) const POLL: Duration = Duration::from_millis(50);

/// What one server looked like in a health check.
///
/// # Examples
///
/// ```
/// use zk_testkit::{Mode, NodeStatus};
///
/// assert_eq!(NodeStatus::Serving(Mode::Leader).mode(), Some(&Mode::Leader));
/// assert_eq!(NodeStatus::Down.mode(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeStatus {
    /// Killed or stopped by the kit.
    Down,
    /// Paused by the kit (SIGSTOP).
    Paused,
    /// Running and answered `srvr` with this mode.
    Serving(Mode),
    /// Running but gave no usable answer.
    NoAnswer(String),
}

impl NodeStatus {
    /// The reported mode, if the server answered.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::NodeStatus::Paused.mode().is_none());
    /// ```
    pub fn mode(&self) -> Option<&Mode> {
        match self {
            Self::Serving(m) => Some(m),
            _ => None,
        }
    }
}

/// A snapshot of every server's role.
///
/// # Examples
///
/// ```no_run
/// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
/// let health = e.health().await;
/// println!("leader: {:?}; {health}", health.leader());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    standalone: bool,
    size: usize,
    nodes: Vec<(ServerId, NodeStatus)>,
}

impl Health {
    /// Every server's status, in id order.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) {
    /// for (id, status) in e.health().await.nodes() { println!("{id}: {status:?}"); }
    /// # }
    /// ```
    pub fn nodes(&self) -> &[(ServerId, NodeStatus)] {
        &self.nodes
    }

    /// The ids reporting `leader`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) { assert!(e.health().await.leaders().len() <= 1); }
    /// ```
    pub fn leaders(&self) -> Vec<ServerId> {
        self.with_mode(|m| *m == Mode::Leader)
    }

    /// The single leader, if exactly one server reports `leader`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) { let _ = e.health().await.leader(); }
    /// ```
    pub fn leader(&self) -> Option<ServerId> {
        match self.leaders().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// The ids in this mode.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) { let _ = e.health().await.followers(); }
    /// ```
    pub fn followers(&self) -> Vec<ServerId> {
        self.with_mode(|m| *m == Mode::Follower)
    }

    fn with_mode(&self, f: impl Fn(&Mode) -> bool) -> Vec<ServerId> {
        self.nodes
            .iter()
            .filter(|(_, s)| s.mode().is_some_and(&f))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether one leader leads a majority of the configured servers (always true for a
    /// serving standalone server).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) { let _ = e.health().await.has_quorum(); }
    /// ```
    pub fn has_quorum(&self) -> bool {
        if self.standalone {
            return !self.with_mode(|m| *m == Mode::Standalone).is_empty();
        }
        let Some(_) = self.leader() else { return false };
        let voters = 1 + self.followers().len();
        voters > self.size / 2
    }

    /// Whether every running server serves: one standalone server, or one leader with all
    /// other running servers following or observing. Paused and down servers are left out.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) { let _ = e.health().await.is_healthy(); }
    /// ```
    pub fn is_healthy(&self) -> bool {
        let live: Vec<&NodeStatus> = self
            .nodes
            .iter()
            .map(|(_, s)| s)
            .filter(|s| !matches!(s, NodeStatus::Down | NodeStatus::Paused))
            .collect();
        if live.is_empty() {
            return false;
        }
        if self.standalone {
            return live.iter().all(|s| s.mode() == Some(&Mode::Standalone));
        }
        self.leader().is_some()
            && live.iter().all(|s| {
                matches!(
                    s.mode(),
                    Some(Mode::Leader | Mode::Follower | Mode::Observer)
                )
            })
            && self.has_quorum()
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .nodes
            .iter()
            .map(|(id, s)| match s {
                NodeStatus::Down => format!("{id}=down"),
                NodeStatus::Paused => format!("{id}=paused"),
                NodeStatus::Serving(m) => format!("{id}={m}"),
                NodeStatus::NoAnswer(why) => format!("{id}=no answer ({why})"),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

impl Ensemble {
    /// Sends a four-letter word to server `id` and returns the text.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`], [`Error::Io`] or [`Error::Timeout`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let mntr = e.four_letter_word(1, "mntr").await?;
    /// assert!(mntr.contains("zk_server_state"));
    /// # Ok(()) }
    /// ```
    pub async fn four_letter_word(&self, id: ServerId, cmd: &str) -> Result<String> {
        let addr = self.node(id)?.client_addr;
        fourlw::query_via(&self.inner.dialer, addr, cmd, PROBE_TIMEOUT).await
    }

    /// `srvr`, parsed.
    ///
    /// # Errors
    ///
    /// As [`four_letter_word`](Self::four_letter_word).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// println!("zxid {:?}", e.srvr(1).await?.zxid);
    /// # Ok(()) }
    /// ```
    pub async fn srvr(&self, id: ServerId) -> Result<ServerStats> {
        Ok(ServerStats::parse(
            &self.four_letter_word(id, "srvr").await?,
        ))
    }

    /// `mntr`, parsed into `(key, value)` pairs.
    ///
    /// # Errors
    ///
    /// As [`four_letter_word`](Self::four_letter_word).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let kv = e.mntr(1).await?;
    /// assert!(kv.iter().any(|(k, _)| k == "zk_server_state"));
    /// # Ok(()) }
    /// ```
    pub async fn mntr(&self, id: ServerId) -> Result<Vec<(String, String)>> {
        Ok(fourlw::parse_mntr(
            &self.four_letter_word(id, "mntr").await?,
        ))
    }

    /// Server `id`'s mode, or `None` when it is down, paused or gives no answer.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) { println!("{:?}", e.mode(1).await); }
    /// ```
    pub async fn mode(&self, id: ServerId) -> Option<Mode> {
        let node = self.node(id).ok()?;
        if node.state() != ProcessState::Running {
            return None;
        }
        self.srvr(id).await.ok().map(|s| s.mode)
    }

    /// The kit's view of server `id`'s process.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { println!("{:?}", e.process_state(1)?); Ok(()) }
    /// ```
    pub fn process_state(&self, id: ServerId) -> Result<ProcessState> {
        Ok(self.node(id)?.state())
    }

    /// Probes every running server with `srvr`, in parallel.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) { println!("{}", e.health().await); }
    /// ```
    pub async fn health(&self) -> Health {
        let mut probes = JoinSet::new();
        let mut nodes = Vec::with_capacity(self.inner.nodes.len());
        for n in &self.inner.nodes {
            match n.state() {
                ProcessState::Down => nodes.push((n.id, NodeStatus::Down)),
                ProcessState::Paused => nodes.push((n.id, NodeStatus::Paused)),
                ProcessState::Running => {
                    let dialer = self.inner.dialer.clone();
                    let (id, addr) = (n.id, n.client_addr);
                    probes.spawn(async move {
                        let status =
                            match fourlw::query_via(&dialer, addr, "srvr", HEALTH_PROBE_TIMEOUT)
                                .await
                            {
                                Ok(text) if text.contains("Mode:") => {
                                    NodeStatus::Serving(ServerStats::parse(&text).mode)
                                }
                                Ok(text) if text.contains("not currently serving") => {
                                    NodeStatus::Serving(Mode::NotServing)
                                }
                                Ok(text) => NodeStatus::NoAnswer(text.trim().to_owned()),
                                Err(e) => NodeStatus::NoAnswer(e.to_string()),
                            };
                        (id, status)
                    });
                }
            }
        }
        while let Some(r) = probes.join_next().await {
            if let Ok(pair) = r {
                nodes.push(pair);
            }
        }
        nodes.sort_by_key(|(id, _)| *id);
        Health {
            standalone: self.inner.cfg.standalone(),
            size: self.inner.nodes.len(),
            nodes,
        }
    }

    fn check_processes(&self) -> Result<()> {
        for n in &self.inner.nodes {
            n.check_alive()?;
        }
        Ok(())
    }

    /// Polls until `done` holds for `confirmations` polls in a row with the same roles.
    async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        confirmations: usize,
        done: impl Fn(&Health) -> bool,
    ) -> Result<Health> {
        let t0 = Instant::now();
        let mut seen: Option<(Health, usize)> = None;
        loop {
            self.check_processes()?;
            let health = self.health().await;
            if done(&health) {
                let count = match &seen {
                    Some((last, n)) if *last == health => n + 1,
                    _ => 1,
                };
                if count >= confirmations {
                    return Ok(health);
                }
                seen = Some((health.clone(), count));
            } else {
                seen = None;
            }
            if t0.elapsed() >= timeout {
                let mut details = health.to_string();
                for n in &self.inner.nodes {
                    details.push_str(&format!(
                        "\n---- server {} log tail ----\n{}",
                        n.id,
                        n.log_tail(15)
                    ));
                }
                return Err(Error::timeout(what, timeout, details));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until every running server serves: one leader and the rest following (or one
    /// standalone server). Paused and down servers are left out.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] (with every server's state and log tail) or
    /// [`Error::ServerExited`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let health = e.wait_healthy(std::time::Duration::from_secs(30)).await?;
    /// println!("{health}");
    /// # Ok(()) }
    /// ```
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<Health> {
        // Twice in a row: a server resumed after a pause reports its old role for a moment
        // before it notices that the ensemble moved on.
        self.wait_for("a healthy ensemble", timeout, 2, Health::is_healthy)
            .await
    }

    /// Like [`wait_healthy`](Self::wait_healthy) with a single confirmation, for freshly
    /// started servers, which have no stale role to report.
    pub(super) async fn wait_formed(&self, timeout: Duration) -> Result<Health> {
        self.wait_for("a healthy ensemble", timeout, 1, Health::is_healthy)
            .await
    }

    /// Waits until exactly one server leads a majority and returns its id. Unlike
    /// [`wait_healthy`](Self::wait_healthy) this ignores servers cut off by a partition.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] or [`Error::ServerExited`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let leader = e.wait_leader(std::time::Duration::from_secs(30)).await?;
    /// # let _ = leader; Ok(()) }
    /// ```
    pub async fn wait_leader(&self, timeout: Duration) -> Result<ServerId> {
        let health = self
            .wait_for("a leader with quorum", timeout, 1, |h| {
                h.has_quorum() && (h.standalone || h.leader().is_some())
            })
            .await?;
        health
            .leader()
            .or_else(|| health.nodes.first().map(|(id, _)| *id))
            .ok_or_else(|| Error::timeout("a leader", timeout, health.to_string()))
    }

    /// Waits until some server other than those in `not` leads a majority.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] or [`Error::ServerExited`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let old = e.leader().await?;
    /// let _cut = e.isolate(old)?;
    /// let new = e.wait_new_leader(&[old], std::time::Duration::from_secs(30)).await?;
    /// assert_ne!(new, old);
    /// # Ok(()) }
    /// ```
    pub async fn wait_new_leader(&self, not: &[ServerId], timeout: Duration) -> Result<ServerId> {
        let health = self
            .wait_for("a new leader", timeout, 1, |h| {
                h.has_quorum() && h.leader().is_some_and(|l| !not.contains(&l))
            })
            .await?;
        health
            .leader()
            .ok_or_else(|| Error::timeout("a new leader", timeout, health.to_string()))
    }

    /// The current leader (the standalone server's id for a single server).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] (with zero wait) when no single server leads right now.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// println!("leader is {}", e.leader().await?);
    /// # Ok(()) }
    /// ```
    pub async fn leader(&self) -> Result<ServerId> {
        let health = self.health().await;
        if self.inner.cfg.standalone() {
            if let Some((id, _)) = health
                .nodes
                .iter()
                .find(|(_, s)| s.mode() == Some(&Mode::Standalone))
            {
                return Ok(*id);
            }
        }
        health
            .leader()
            .ok_or_else(|| Error::timeout("a single leader", Duration::ZERO, health.to_string()))
    }
}
