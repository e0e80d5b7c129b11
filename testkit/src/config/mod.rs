//! Ensemble options: the settings a test chooses for its servers ([`EnsembleConfig`],
//! [`TlsConfig`], [`SaslConfig`], [`NetMode`]).
//!
//! The files written from them (`zoo.cfg`, the dynamic configuration, the JAAS file,
//! logging settings) and the `java` command line are rendered in the private `render`
//! submodule. Every run writes fresh files into its own temporary folder (the server
//! rewrites `zoo.cfg` when reconfig is on, so files are never shared between runs).

mod render;

use std::path::PathBuf;
use std::time::Duration;

use crate::container::Backend;
use crate::discovery::Installation;
use crate::error::{Error, Result};

pub(crate) use render::{
    CONTAINER_PORTS, NodeAddrs, NodeFiles, container_env, jvm_args, render_jaas, render_logging,
    render_zoo_cfg,
};

/// A server's id (`myid`), 1-based.
pub type ServerId = u8;

/// The digest for user `super` with password `superpw`, for
/// [`EnsembleConfig::super_digest`]. Authenticate with `addauth digest super:superpw`.
///
/// # Examples
///
/// ```
/// let cfg = zk_testkit::EnsembleConfig::new(3).reconfig(true).super_digest(zk_testkit::SUPER_DIGEST_SUPERPW);
/// # let _ = cfg;
/// ```
pub const SUPER_DIGEST_SUPERPW: &str = "super:g9oN2HttPfn8MMWJZ2r45Np/LIA=";

/// How servers are wired to each other and to the test process.
///
/// # Examples
///
/// ```
/// use zk_testkit::{EnsembleConfig, NetMode};
///
/// let cfg = EnsembleConfig::new(3).net(NetMode::Netns);
/// # let _ = cfg;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetMode {
    /// Every server listens on `127.0.0.1` with its own free ports. Needs nothing special;
    /// no partitions between servers.
    #[default]
    Loopback,
    /// Every server runs in its own network namespace joined by a bridge, so servers can be
    /// partitioned from each other. Needs root and `ip` (iproute2).
    Netns,
}

/// TLS on the client port: the server-side settings of PROTOCOL.md §12.8.
///
/// The plaintext client port stays open next to the TLS port (the kit probes readiness on
/// it). Key stores are made by the caller, for example with `keytool`.
///
/// # Examples
///
/// ```
/// use zk_testkit::{EnsembleConfig, TlsConfig};
///
/// let tls = TlsConfig::new("/tmp/tls/server.p12", "changeit", "/tmp/tls/truststore.p12", "changeit")
///     .client_auth("want");
/// let cfg = EnsembleConfig::new(1).tls(tls);
/// # let _ = cfg;
/// ```
#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub(crate) keystore: PathBuf,
    pub(crate) keystore_password: String,
    pub(crate) truststore: PathBuf,
    pub(crate) truststore_password: String,
    pub(crate) client_auth: Option<String>,
    /// `ssl.keyStore.type` and `ssl.trustStore.type` (`PEM`, `PKCS12`, ...); the server
    /// guesses from the file name when unset.
    pub(crate) store_type: Option<String>,
    pub(crate) extra: Vec<(String, String)>,
}

impl TlsConfig {
    /// A PKCS#12 key store and trust store with their passwords.
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = zk_testkit::TlsConfig::new("server.p12", "pw", "trust.p12", "pw");
    /// # let _ = tls;
    /// ```
    pub fn new(
        keystore: impl Into<PathBuf>,
        keystore_password: impl Into<String>,
        truststore: impl Into<PathBuf>,
        truststore_password: impl Into<String>,
    ) -> Self {
        Self {
            keystore: keystore.into(),
            keystore_password: keystore_password.into(),
            truststore: truststore.into(),
            truststore_password: truststore_password.into(),
            client_auth: None,
            store_type: None,
            extra: Vec::new(),
        }
    }

    /// `ssl.clientAuth`: `need` (the server's default), `want` or `none`.
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = zk_testkit::TlsConfig::new("s.p12", "pw", "t.p12", "pw").client_auth("none");
    /// # let _ = tls;
    /// ```
    pub fn client_auth(mut self, mode: impl Into<String>) -> Self {
        self.client_auth = Some(mode.into());
        self
    }

    /// Any other `ssl.*` line, for example `("ssl.enabledProtocols", "TLSv1.3,TLSv1.2")`.
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = zk_testkit::TlsConfig::new("s.p12", "pw", "t.p12", "pw")
    ///     .option("ssl.enabledProtocols", "TLSv1.3,TLSv1.2");
    /// # let _ = tls;
    /// ```
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }
}

/// SASL DIGEST-MD5 on the client port (PROTOCOL.md §12.9).
///
/// # Examples
///
/// ```
/// use zk_testkit::{EnsembleConfig, SaslConfig};
///
/// let sasl = SaslConfig::digest_users([("bob", "bobsecret")]).require(true);
/// let cfg = EnsembleConfig::new(1).sasl(sasl);
/// # let _ = cfg;
/// ```
#[derive(Clone, Debug)]
pub struct SaslConfig {
    pub(crate) users: Vec<(String, String)>,
    pub(crate) jaas_file: Option<PathBuf>,
    pub(crate) require: bool,
}

impl SaslConfig {
    /// A generated JAAS `Server` section with these `user_<name>="<password>"` entries.
    ///
    /// # Examples
    ///
    /// ```
    /// let sasl = zk_testkit::SaslConfig::digest_users([("super", "adminsecret"), ("bob", "bobsecret")]);
    /// # let _ = sasl;
    /// ```
    pub fn digest_users<U, P>(users: impl IntoIterator<Item = (U, P)>) -> Self
    where
        U: Into<String>,
        P: Into<String>,
    {
        Self {
            users: users
                .into_iter()
                .map(|(u, p)| (u.into(), p.into()))
                .collect(),
            jaas_file: None,
            require: false,
        }
    }

    /// Uses an existing JAAS file instead of a generated one.
    ///
    /// # Examples
    ///
    /// ```
    /// let sasl = zk_testkit::SaslConfig::jaas_file("/etc/zk/jaas.conf");
    /// # let _ = sasl;
    /// ```
    pub fn jaas_file(path: impl Into<PathBuf>) -> Self {
        Self {
            users: Vec::new(),
            jaas_file: Some(path.into()),
            require: false,
        }
    }

    /// Rejects sessions that did not authenticate with SASL
    /// (`sessionRequireClientSASLAuth=true`). Default: `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sasl = zk_testkit::SaslConfig::digest_users([("bob", "pw")]).require(true);
    /// # let _ = sasl;
    /// ```
    pub fn require(mut self, yes: bool) -> Self {
        self.require = yes;
        self
    }
}

/// Options for a [`Server`](crate::Server) or an [`Ensemble`](crate::Ensemble).
///
/// Defaults, tuned for fast tests: tickTime 200 ms, initLimit 10, syncLimit 5,
/// maxSessionTimeout 60 s, `forceSync=no`, `maxClientCnxns=0`, the admin server off, all
/// four-letter words enabled, and small JVMs (`-Xmx128m`, serial GC, C1 only) so five
/// servers fit on two cores.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zk_testkit::EnsembleConfig;
///
/// let cfg = EnsembleConfig::new(3)
///     .tick(Duration::from_millis(200))
///     .extended_types(true)
///     .option("snapCount", "1000");
/// assert_eq!(cfg.size(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct EnsembleConfig {
    pub(crate) size: usize,
    pub(crate) tick: Duration,
    pub(crate) init_limit: u32,
    pub(crate) sync_limit: u32,
    pub(crate) min_session_timeout: Option<Duration>,
    pub(crate) max_session_timeout: Option<Duration>,
    pub(crate) extended_types: bool,
    pub(crate) reconfig: bool,
    pub(crate) super_digest: Option<String>,
    pub(crate) read_only: bool,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) sasl: Option<SaslConfig>,
    pub(crate) net: NetMode,
    pub(crate) options: Vec<(String, String)>,
    pub(crate) jvm_opts: Vec<String>,
    pub(crate) extra_jvm_opts: Vec<String>,
    pub(crate) start_deadline: Duration,
    pub(crate) installation: Option<Installation>,
    pub(crate) log_level: String,
    pub(crate) dir_prefix: Option<String>,
    pub(crate) backend: Backend,
    pub(crate) image: Option<String>,
    pub(crate) memory: Option<u64>,
}

/// The default JVM options: small heap, serial GC, C1 only, one active CPU.
pub const DEFAULT_JVM_OPTS: &[&str] = &[
    "-Xms16m",
    "-Xmx128m",
    "-Xss512k",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:ActiveProcessorCount=1",
    "-XX:-UsePerfData",
    "-Djava.net.preferIPv4Stack=true",
];

impl EnsembleConfig {
    /// Options for `size` servers (1 = standalone; 3 or 5 for an ensemble).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::EnsembleConfig::new(5).size(), 5);
    /// ```
    pub fn new(size: usize) -> Self {
        Self {
            size,
            tick: Duration::from_millis(200),
            init_limit: 10,
            sync_limit: 5,
            min_session_timeout: None,
            max_session_timeout: Some(Duration::from_secs(60)),
            extended_types: false,
            reconfig: false,
            super_digest: None,
            read_only: false,
            tls: None,
            sasl: None,
            net: NetMode::Loopback,
            options: Vec::new(),
            jvm_opts: DEFAULT_JVM_OPTS.iter().map(|s| (*s).to_owned()).collect(),
            extra_jvm_opts: Vec::new(),
            start_deadline: Duration::from_secs(90),
            installation: None,
            log_level: "INFO".to_owned(),
            dir_prefix: None,
            backend: Backend::from_env(),
            image: None,
            memory: None,
        }
    }

    /// The number of servers.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::EnsembleConfig::new(1).size(), 1);
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Sets the number of servers. Default: the value given to [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::EnsembleConfig::new(1).with_size(3).size(), 3);
    /// ```
    pub fn with_size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// `tickTime`. Default: 200 ms (fast fail-over; sessions may last 0.4 s to 60 s).
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).tick(std::time::Duration::from_secs(2));
    /// assert_eq!(cfg.tick_time(), std::time::Duration::from_secs(2));
    /// ```
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// The configured `tickTime`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3);
    /// assert_eq!(cfg.tick_time(), std::time::Duration::from_millis(200));
    /// ```
    pub fn tick_time(&self) -> Duration {
        self.tick
    }

    /// `initLimit` and `syncLimit`, in ticks. Default: 10 and 5.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).limits(20, 10);
    /// # let _ = cfg;
    /// ```
    pub fn limits(mut self, init_limit: u32, sync_limit: u32) -> Self {
        self.init_limit = init_limit;
        self.sync_limit = sync_limit;
        self
    }

    /// `minSessionTimeout` and `maxSessionTimeout`; `None` leaves the server default
    /// (2 and 20 ticks). Default: none and 60 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let cfg = zk_testkit::EnsembleConfig::new(1).session_timeouts(Some(Duration::from_secs(1)), None);
    /// # let _ = cfg;
    /// ```
    pub fn session_timeouts(mut self, min: Option<Duration>, max: Option<Duration>) -> Self {
        self.min_session_timeout = min;
        self.max_session_timeout = max;
        self
    }

    /// TTL and container nodes: `extendedTypesEnabled=true` plus
    /// `-Dznode.container.checkIntervalMs=1000` so expired nodes go within about a second.
    /// Default: off.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(1).extended_types(true);
    /// # let _ = cfg;
    /// ```
    pub fn extended_types(mut self, on: bool) -> Self {
        self.extended_types = on;
        self
    }

    /// Dynamic reconfiguration: `reconfigEnabled=true`, `standaloneEnabled=false` and a
    /// `dynamicConfigFile` (PROTOCOL.md §12.6). Pair it with
    /// [`super_digest`](Self::super_digest) to be allowed to call reconfig. Default: off.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).reconfig(true);
    /// # let _ = cfg;
    /// ```
    pub fn reconfig(mut self, on: bool) -> Self {
        self.reconfig = on;
        self
    }

    /// `DigestAuthenticationProvider.superDigest`, e.g. [`SUPER_DIGEST_SUPERPW`].
    /// Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).super_digest(zk_testkit::SUPER_DIGEST_SUPERPW);
    /// # let _ = cfg;
    /// ```
    pub fn super_digest(mut self, digest: impl Into<String>) -> Self {
        self.super_digest = Some(digest.into());
        self
    }

    /// Read-only mode: the JVM flag `-Dreadonlymode.enabled=true` plus
    /// `localSessionsEnabled=true`, which 3.7 and later need (PROTOCOL.md §12.7).
    /// Default: off.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).read_only(true);
    /// # let _ = cfg;
    /// ```
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// TLS on an extra client port. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = zk_testkit::TlsConfig::new("s.p12", "pw", "t.p12", "pw");
    /// let cfg = zk_testkit::EnsembleConfig::new(1).tls(tls);
    /// # let _ = cfg;
    /// ```
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// SASL authentication. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// let sasl = zk_testkit::SaslConfig::digest_users([("bob", "pw")]);
    /// let cfg = zk_testkit::EnsembleConfig::new(1).sasl(sasl);
    /// # let _ = cfg;
    /// ```
    pub fn sasl(mut self, sasl: SaslConfig) -> Self {
        self.sasl = Some(sasl);
        self
    }

    /// How servers are wired. Default: [`NetMode::Loopback`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).net(zk_testkit::NetMode::Netns);
    /// # let _ = cfg;
    /// ```
    pub fn net(mut self, net: NetMode) -> Self {
        self.net = net;
        self
    }

    /// The configured [`NetMode`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::EnsembleConfig::new(3).net_mode(), zk_testkit::NetMode::Loopback);
    /// ```
    pub fn net_mode(&self) -> NetMode {
        self.net
    }

    /// Any other `zoo.cfg` line. Unknown keys become `zookeeper.<key>` system properties.
    /// A key given here replaces the kit's own line for that key.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).option("cnxTimeout", "1000");
    /// # let _ = cfg;
    /// ```
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// Replaces the default JVM options ([`DEFAULT_JVM_OPTS`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(1).jvm_opts(["-Xmx256m"]);
    /// # let _ = cfg;
    /// ```
    pub fn jvm_opts<S: Into<String>>(mut self, opts: impl IntoIterator<Item = S>) -> Self {
        self.jvm_opts = opts.into_iter().map(Into::into).collect();
        self
    }

    /// Adds JVM options after the defaults, e.g. `-Dzookeeper.snapCount=100`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(1).jvm_opt("-Dzookeeper.snapCount=100");
    /// # let _ = cfg;
    /// ```
    pub fn jvm_opt(mut self, opt: impl Into<String>) -> Self {
        self.extra_jvm_opts.push(opt.into());
        self
    }

    /// How long a start or restart may take before it fails. Default: 90 s (five JVMs on
    /// two busy cores took up to 15 s in the measurements).
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(5).start_deadline(std::time::Duration::from_secs(120));
    /// # let _ = cfg;
    /// ```
    pub fn start_deadline(mut self, deadline: Duration) -> Self {
        self.start_deadline = deadline;
        self
    }

    /// Uses this installation instead of [`Installation::discover`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let install = zk_testkit::Installation::discover()?;
    /// let cfg = zk_testkit::EnsembleConfig::new(1).installation(install);
    /// # let _ = cfg;
    /// # Ok::<(), zk_testkit::Error>(())
    /// ```
    pub fn installation(mut self, installation: Installation) -> Self {
        self.installation = Some(installation);
        self
    }

    /// Where the servers run: child processes or containers. Default:
    /// [`Backend::from_env`] (`ZK_TESTKIT_BACKEND`), else [`Backend::Process`].
    ///
    /// The container backend (see [`container`](crate::container)) takes every option but
    /// TLS, SASL, reconfig, [`NetMode::Netns`] and [`installation`](Self::installation),
    /// which are refused at start with [`Error::InvalidConfig`].
    ///
    /// # Examples
    ///
    /// ```
    /// use zk_testkit::{Backend, EnsembleConfig};
    /// let cfg = EnsembleConfig::new(3).backend(Backend::Process);
    /// assert_eq!(cfg.backend_kind(), Backend::Process);
    /// ```
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// The configured [`Backend`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(1);
    /// println!("{}", cfg.backend_kind());
    /// ```
    pub fn backend_kind(&self) -> Backend {
        self.backend
    }

    /// The container image (container backend). Default: `ZK_TESTKIT_IMAGE`, else
    /// [`DEFAULT_IMAGE`](crate::container::DEFAULT_IMAGE), which
    /// `scripts/build-zk-image.sh` builds; `zookeeper:3.8` from Docker Hub works too.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).image("zookeeper:3.8");
    /// assert_eq!(cfg.image_name(), "zookeeper:3.8");
    /// ```
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// The container image that will be used.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!zk_testkit::EnsembleConfig::new(1).image_name().is_empty());
    /// ```
    pub fn image_name(&self) -> String {
        self.image
            .clone()
            .unwrap_or_else(crate::container::image_from_env)
    }

    /// A memory limit for each server's container (`docker create --memory`), in bytes.
    /// Default: none. The process backend ignores it (its heap is set by the JVM options).
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(3).container_memory(256 << 20);
    /// # let _ = cfg;
    /// ```
    pub fn container_memory(mut self, bytes: u64) -> Self {
        self.memory = Some(bytes);
        self
    }

    /// The server's log level (`INFO`, `DEBUG`, `WARN`...). Default: `INFO`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = zk_testkit::EnsembleConfig::new(1).log_level("DEBUG");
    /// # let _ = cfg;
    /// ```
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.log_level = level.into();
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.size == 0 || self.size > 9 {
            return Err(Error::InvalidConfig(format!(
                "size must be 1..=9 (1, 3 or 5 recommended), got {}",
                self.size
            )));
        }
        if self.tick < Duration::from_millis(10) {
            return Err(Error::InvalidConfig(format!(
                "tickTime {:?} is below 10 ms",
                self.tick
            )));
        }
        if self.backend == Backend::Container {
            let refused = [
                (self.tls.is_some(), "TLS"),
                (self.sasl.is_some(), "SASL"),
                (self.reconfig, "reconfig"),
                (self.net == NetMode::Netns, "NetMode::Netns"),
                (self.installation.is_some(), "an explicit installation"),
            ];
            if let Some((_, what)) = refused.iter().find(|(on, _)| *on) {
                return Err(Error::InvalidConfig(format!(
                    "{what} is not supported on the container backend; use Backend::Process"
                )));
            }
        }
        Ok(())
    }

    /// Whether the servers run without `server.N` lines.
    pub(crate) fn standalone(&self) -> bool {
        self.size == 1 && !self.reconfig
    }
}
