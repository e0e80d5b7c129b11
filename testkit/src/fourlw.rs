//! Four-letter words (`srvr`, `mntr`, ...) and parsing their answers (PROTOCOL.md §9).
//!
//! Readiness uses `srvr`, never `ruok`: a member of an ensemble without quorum still
//! answers `imok` but is not serving.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::net::Dialer;

/// A server's role as reported by `srvr`.
///
/// # Examples
///
/// ```
/// use zk_testkit::Mode;
///
/// assert_eq!(Mode::parse("leader"), Mode::Leader);
/// assert!(Mode::Follower.is_serving());
/// assert!(!Mode::NotServing.is_serving());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// A single server without peers.
    Standalone,
    /// The ensemble's leader.
    Leader,
    /// A voting follower.
    Follower,
    /// A non-voting observer.
    Observer,
    /// Serving reads only, without quorum (`-Dreadonlymode.enabled=true`).
    ReadOnly,
    /// The server answered but is not serving requests (no quorum, electing).
    NotServing,
    /// A mode this kit does not know.
    Other(String),
}

impl Mode {
    /// Parses the value of the `Mode:` line.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::Mode::parse("read-only"), zk_testkit::Mode::ReadOnly);
    /// ```
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "standalone" => Self::Standalone,
            "leader" => Self::Leader,
            "follower" => Self::Follower,
            "observer" => Self::Observer,
            "read-only" => Self::ReadOnly,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Whether the server accepts sessions in this mode (read-only counts).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::Mode::Standalone.is_serving());
    /// ```
    pub fn is_serving(&self) -> bool {
        matches!(
            self,
            Self::Standalone | Self::Leader | Self::Follower | Self::Observer | Self::ReadOnly
        )
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standalone => f.write_str("standalone"),
            Self::Leader => f.write_str("leader"),
            Self::Follower => f.write_str("follower"),
            Self::Observer => f.write_str("observer"),
            Self::ReadOnly => f.write_str("read-only"),
            Self::NotServing => f.write_str("not-serving"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// The parsed answer to `srvr`.
///
/// # Examples
///
/// ```
/// use zk_testkit::{Mode, ServerStats};
///
/// let s = ServerStats::parse("Zookeeper version: 3.8.0-1, built on x\nZxid: 0x10\nMode: follower\nNode count: 5\n");
/// assert_eq!(s.mode, Mode::Follower);
/// assert_eq!(s.zxid, Some(16));
/// assert_eq!(s.version.as_deref(), Some("3.8.0-1, built on x"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// The `Zookeeper version:` line.
    pub version: Option<String>,
    /// The last zxid the server processed.
    pub zxid: Option<i64>,
    /// The server's role.
    pub mode: Mode,
    /// The number of znodes.
    pub node_count: Option<u64>,
    /// Open client connections.
    pub connections: Option<u64>,
}

impl ServerStats {
    /// Parses the text of a `srvr` answer.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = zk_testkit::ServerStats::parse("This ZooKeeper instance is not currently serving requests\n");
    /// assert_eq!(s.mode, zk_testkit::Mode::NotServing);
    /// ```
    pub fn parse(text: &str) -> Self {
        let mut stats = Self {
            version: None,
            zxid: None,
            mode: Mode::NotServing,
            node_count: None,
            connections: None,
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "Zookeeper version" => stats.version = Some(value.to_owned()),
                "Zxid" => {
                    stats.zxid = i64::from_str_radix(value.trim_start_matches("0x"), 16).ok();
                }
                "Mode" => stats.mode = Mode::parse(value),
                "Node count" => stats.node_count = value.parse().ok(),
                "Connections" => stats.connections = value.parse().ok(),
                _ => {}
            }
        }
        stats
    }
}

/// Parses a `mntr` answer into `(key, value)` pairs, in order.
///
/// # Examples
///
/// ```
/// let kv = zk_testkit::fourlw::parse_mntr("zk_server_state\tleader\nzk_znode_count\t5\n");
/// assert_eq!(kv[0], ("zk_server_state".to_owned(), "leader".to_owned()));
/// ```
pub fn parse_mntr(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Sends a four-letter word to a server on a plain TCP address and returns the answer.
///
/// # Errors
///
/// [`Error::Io`] when the connection fails, [`Error::Timeout`] when the answer does not
/// end (EOF) within `timeout`.
///
/// # Examples
///
/// ```no_run
/// # async fn _demo(addr: std::net::SocketAddr) -> zk_testkit::Result<()> {
/// let text = zk_testkit::fourlw::query(addr, "srvr", std::time::Duration::from_secs(2)).await?;
/// println!("{text}");
/// # Ok(()) }
/// ```
pub async fn query(addr: SocketAddr, cmd: &str, timeout: Duration) -> Result<String> {
    query_via(&Dialer::Direct, addr, cmd, timeout).await
}

pub(crate) async fn query_via(
    dialer: &Dialer,
    addr: SocketAddr,
    cmd: &str,
    timeout: Duration,
) -> Result<String> {
    let work = async {
        let mut stream = dialer
            .connect(addr, timeout)
            .await
            .map_err(|e| Error::io(format!("connecting to {addr} for `{cmd}`"), e))?;
        stream
            .write_all(cmd.as_bytes())
            .await
            .map_err(|e| Error::io(format!("sending `{cmd}` to {addr}"), e))?;
        let mut out = Vec::new();
        stream
            .read_to_end(&mut out)
            .await
            .map_err(|e| Error::io(format!("reading `{cmd}` from {addr}"), e))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(Error::timeout(format!("`{cmd}` from {addr}"), timeout, "")),
    }
}
