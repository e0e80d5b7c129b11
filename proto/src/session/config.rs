//! The session's configuration.

use std::time::Duration;

use bytes::Bytes;

use crate::path::Chroot;

/// How the session backs off between connection attempts.
///
/// The delay before attempt `n` of a run of failures is `initial × 2^(n-1)`, capped at
/// `max`, scaled by a random factor in `[0.5, 1.0)`. The first attempt after a working
/// connection drops waits a random `[0, initial)`, so clients that lost the same server do
/// not all return at once.
///
/// ```
/// use std::time::Duration;
/// use zk_proto::session::ReconnectPolicy;
/// let policy = ReconnectPolicy::default().max_backoff(Duration::from_secs(2)).max_attempts(10);
/// assert_eq!(policy.initial, Duration::from_millis(50));
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The first backoff. Default 50 ms.
    pub initial: Duration,
    /// The largest backoff. Default 1 s.
    pub max: Duration,
    /// Consecutive failed attempts before giving up (the session then closes); 0 means
    /// never give up. Default 0.
    pub max_attempts: u32,
}

impl ReconnectPolicy {
    /// Sets the first backoff.
    #[must_use]
    pub const fn initial_backoff(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// Sets the largest backoff.
    #[must_use]
    pub const fn max_backoff(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Sets the number of consecutive failed attempts before giving up (0 = never).
    #[must_use]
    pub const fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
            max_attempts: 0,
        }
    }
}

/// What a [`Session`](super::Session) needs to know.
///
/// ```
/// use std::time::Duration;
/// use zk_proto::session::SessionConfig;
/// let config = SessionConfig::new(3).session_timeout(Duration::from_secs(10)).read_only(true).rng_seed(7);
/// assert_eq!(config.host_count, 3);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The number of hosts in the connect string.
    pub host_count: usize,
    /// The chroot applied to every path.
    pub chroot: Chroot,
    /// The session timeout asked of the server. Default 30 s.
    pub session_timeout: Duration,
    /// How long one dial and handshake may take; default `session_timeout / host_count`.
    pub connect_timeout: Option<Duration>,
    /// Accept read-only servers. Default false.
    pub read_only: bool,
    /// Backoff between connection attempts.
    pub reconnect: ReconnectPolicy,
    /// The largest frame accepted from or sent to the server. Default 1,048,575.
    pub max_frame_len: usize,
    /// The path bytes per SetWatches batch on reconnect. Default 128 KiB.
    pub set_watches_batch_len: usize,
    /// Declare the session expired after this many negotiated timeouts without the server
    /// (in percent; 0 = only the server decides). Default 133, as the Java client 3.9.3.
    pub local_expiry_percent: u32,
    /// Seed of the host shuffle and the backoff jitter.
    pub rng_seed: u64,
    /// Resume this session (id and password) instead of starting a new one.
    pub resume: Option<(i64, Bytes)>,
    /// A SASL mechanism run on every connection before anything else.
    pub sasl: Option<std::sync::Arc<dyn super::SaslMechanism>>,
}

impl SessionConfig {
    /// The defaults for a connect string of `host_count` hosts.
    pub fn new(host_count: usize) -> Self {
        Self {
            host_count: host_count.max(1),
            chroot: Chroot::default(),
            session_timeout: Duration::from_secs(30),
            connect_timeout: None,
            read_only: false,
            reconnect: ReconnectPolicy::default(),
            max_frame_len: crate::frame::DEFAULT_MAX_FRAME_LEN,
            set_watches_batch_len: 128 * 1024,
            local_expiry_percent: 133,
            rng_seed: 0,
            resume: None,
            sasl: None,
        }
    }

    /// Sets the chroot.
    #[must_use]
    pub fn chroot(mut self, chroot: Chroot) -> Self {
        self.chroot = chroot;
        self
    }

    /// Sets the requested session timeout.
    #[must_use]
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Accepts read-only servers.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Sets the reconnect policy.
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Sets the largest frame.
    #[must_use]
    pub fn max_frame_len(mut self, len: usize) -> Self {
        self.max_frame_len = len;
        self
    }

    /// Sets the SetWatches batch size.
    #[must_use]
    pub fn set_watches_batch_len(mut self, len: usize) -> Self {
        self.set_watches_batch_len = len.max(1);
        self
    }

    /// Sets the local expiry threshold, in percent of the negotiated timeout (0 = off).
    #[must_use]
    pub fn local_expiry_percent(mut self, percent: u32) -> Self {
        self.local_expiry_percent = percent;
        self
    }

    /// Sets the random seed.
    #[must_use]
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = seed;
        self
    }

    /// Runs `mechanism` on every connection, before anything else.
    #[must_use]
    pub fn sasl(mut self, mechanism: std::sync::Arc<dyn super::SaslMechanism>) -> Self {
        self.sasl = Some(mechanism);
        self
    }

    /// Resumes an existing session.
    #[must_use]
    pub fn resume(mut self, session_id: i64, password: Bytes) -> Self {
        self.resume = Some((session_id, password));
        self
    }
}

/// Why the driver lost the connection.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum DisconnectCause {
    /// The dial failed.
    ConnectFailed(String),
    /// The server closed the connection.
    Eof,
    /// A read or write failed.
    Io(String),
}

/// What a server answered to `isro`.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ServerMode {
    /// `rw`: a read-write server.
    ReadWrite,
    /// `ro`: a read-only server (its ensemble lost its quorum).
    ReadOnly,
    /// No answer, or anything else.
    Unknown,
}
