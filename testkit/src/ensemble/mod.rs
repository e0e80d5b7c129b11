//! [`Ensemble`]: 1, 3 or 5 real ZooKeeper servers, with readiness, roles and process faults.
//!
//! This file starts the servers and answers questions about them; `health.rs` holds the
//! readiness and role checks, `faults.rs` the process and network faults.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{self, EnsembleConfig, NetMode, NodeAddrs, NodeFiles, ServerId};
use crate::container::{self, Backend, ContainerNet};
use crate::discovery::Installation;
use crate::error::{Error, Result};
use crate::fourlw::ServerStats;
use crate::net::{self, Dialer, Netns, NetnsConnector};
use crate::node::{self, Node};
use crate::ports::{self, PortLease};
use crate::proxy::ClientEndpoint;

mod faults;
mod health;

pub use faults::PauseGuard;
pub use health::{Health, NodeStatus};

struct Inner {
    cfg: EnsembleConfig,
    install: Option<Installation>,
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    nodes: Vec<Arc<Node>>,
    dialer: Dialer,
    default_endpoint: Option<ClientEndpoint>,
    net: Option<Arc<Netns>>,
    containers: Option<Arc<ContainerNet>>,
    _leases: Vec<PortLease>,
    version: Mutex<Option<String>>,
    started_in: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Logs first: a container's log goes with the container.
        let print = std::thread::panicking() || env_flag("ZK_TESTKIT_PRINT_LOGS");
        if print {
            let lines = std::env::var("ZK_TESTKIT_LOG_LINES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(80);
            for n in &self.nodes {
                eprintln!(
                    "---- zk-testkit: last {lines} lines of server {} ({}) ----\n{}",
                    n.id,
                    n.files.log.display(),
                    n.log_tail(lines)
                );
            }
        }
        let keep = env_flag("ZK_TESTKIT_KEEP");
        for n in &self.nodes {
            if keep {
                // Keeps a container's log in the kept folder.
                let _ = n.log_text();
            }
            n.kill_quietly();
        }
        if keep {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("zk-testkit: kept {}", kept.display());
            }
        }
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// One to nine real ZooKeeper servers (use 1, 3 or 5), each a `java` child process with
/// its own generated `zoo.cfg` and data folders in a temporary directory.
///
/// Dropping the ensemble kills every server (also while a test panics, when the server
/// logs are printed), deletes the folder and, in [`NetMode::Netns`], the namespaces.
/// Every JVM is also bound to the test process with `PR_SET_PDEATHSIG`, so nothing
/// survives an aborted test run.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// # async fn _demo() -> zk_testkit::Result<()> {
/// let ensemble = zk_testkit::Ensemble::start(3).await?;
/// let leader = ensemble.leader().await?;
/// ensemble.kill(leader)?;
/// let new_leader = ensemble.wait_new_leader(&[leader], Duration::from_secs(30)).await?;
/// assert_ne!(new_leader, leader);
/// ensemble.restart(leader).await?;
/// ensemble.wait_healthy(Duration::from_secs(30)).await?;
/// # Ok(()) }
/// ```
pub struct Ensemble {
    inner: Inner,
}

impl fmt::Debug for Ensemble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ensemble")
            .field("size", &self.inner.nodes.len())
            .field("dir", &self.inner.root)
            .field("net", &self.inner.cfg.net)
            .finish()
    }
}

impl Ensemble {
    /// Starts `size` servers with the default options and waits until they form a quorum.
    ///
    /// # Errors
    ///
    /// See [`start_with`](Self::start_with).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo() -> zk_testkit::Result<()> {
    /// let e = zk_testkit::Ensemble::start(3).await?;
    /// println!("{}", e.connect_string());
    /// # Ok(()) }
    /// ```
    pub async fn start(size: usize) -> Result<Self> {
        Self::start_with(EnsembleConfig::new(size)).await
    }

    /// Starts the servers described by `cfg` and waits until they are healthy.
    ///
    /// # Errors
    ///
    /// [`Error::NotInstalled`] / [`Error::JavaNotFound`] when ZooKeeper or Java is missing;
    /// [`Error::InvalidConfig`]; [`Error::NetnsUnavailable`] for [`NetMode::Netns`] without
    /// root; [`Error::ServerExited`] when a JVM dies during start-up;
    /// [`Error::Timeout`] when no quorum forms within the start deadline (the message
    /// carries the last lines of every log).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo() -> zk_testkit::Result<()> {
    /// let cfg = zk_testkit::EnsembleConfig::new(5).tick(std::time::Duration::from_millis(200));
    /// let e = zk_testkit::Ensemble::start_with(cfg).await?;
    /// println!("formed in {:?}", e.started_in());
    /// # Ok(()) }
    /// ```
    pub async fn start_with(cfg: EnsembleConfig) -> Result<Self> {
        cfg.validate()?;
        if cfg.backend == Backend::Container {
            return Self::start_containers(cfg).await;
        }
        let install = match &cfg.installation {
            Some(i) => i.clone(),
            None => Installation::discover()?,
        };
        let prefix = cfg.dir_prefix.as_deref().unwrap_or("zk-testkit-");
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| Error::io("creating the ensemble's temporary folder", e))?;
        let root = dir.path().to_path_buf();
        let size = cfg.size;

        let (net, dialer, leases, layout) = match cfg.net {
            NetMode::Netns => {
                let net = Netns::create(size)?;
                let probe = net.add_client()?;
                let layout = netns_layout(&cfg, size);
                (Some(net), Dialer::Netns(probe), Vec::new(), layout)
            }
            NetMode::Loopback => {
                let per_node = if cfg.tls.is_some() { 4 } else { 3 };
                let leases = ports::reserve(per_node * size)?;
                let layout = loopback_layout(&cfg, size, &leases);
                (None, Dialer::Direct, leases, layout)
            }
        };

        let all_addrs: Vec<NodeAddrs> = layout.iter().map(|(a, _, _)| a.clone()).collect();
        let logging = config::render_logging(&cfg.log_level);
        let mut nodes = Vec::with_capacity(size);
        for (addrs, client_addr, secure_addr) in layout {
            let files = NodeFiles::new(&root.join(format!("s{}", addrs.id)));
            let (zoo_cfg, dynamic) = config::render_zoo_cfg(&cfg, &addrs, &all_addrs, &files);
            let jaas = cfg
                .sasl
                .as_ref()
                .filter(|s| s.jaas_file.is_none())
                .map(config::render_jaas);
            node::write_files(
                &files,
                addrs.id,
                &zoo_cfg,
                dynamic.as_deref(),
                &logging,
                jaas.as_deref(),
            )?;
            let args = config::jvm_args(&cfg, &install, &files);
            let netns = net.as_ref().map(|n| n.server_ns(addrs.id));
            nodes.push(Arc::new(Node::new(
                addrs,
                client_addr,
                secure_addr,
                files,
                netns,
                install.java().to_path_buf(),
                args,
            )));
        }

        let ensemble = Self {
            inner: Inner {
                cfg,
                install: Some(install),
                dir: Some(dir),
                root,
                nodes,
                dialer,
                default_endpoint: None,
                net,
                containers: None,
                _leases: leases,
                version: Mutex::new(None),
                started_in: Duration::ZERO,
            },
        };
        ensemble.launch().await
    }

    /// Starts the servers of `cfg` as containers (see [`crate::container`]).
    async fn start_containers(cfg: EnsembleConfig) -> Result<Self> {
        let prefix = cfg.dir_prefix.as_deref().unwrap_or("zk-testkit-");
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| Error::io("creating the ensemble's temporary folder", e))?;
        let root = dir.path().to_path_buf();
        let layout = container::prepare(&cfg, &root).await?;
        let ensemble = Self {
            inner: Inner {
                cfg,
                install: None,
                dir: Some(dir),
                root,
                nodes: layout.nodes.into_iter().map(Arc::new).collect(),
                dialer: Dialer::Direct,
                default_endpoint: None,
                net: None,
                containers: Some(layout.net),
                _leases: layout.leases,
                version: Mutex::new(None),
                started_in: Duration::ZERO,
            },
        };
        ensemble.launch().await
    }

    /// Starts every server and waits for the quorum.
    async fn launch(mut self) -> Result<Self> {
        let ensemble = &mut self;
        let size = ensemble.inner.nodes.len();
        let t0 = Instant::now();
        // Highest id first: the others then find it up when they look (as kazoo does).
        for n in ensemble.inner.nodes.iter().rev() {
            faults::spawn_off_runtime(n).await?;
        }
        let deadline = ensemble.inner.cfg.start_deadline;
        ensemble.wait_formed(deadline).await?;
        ensemble.inner.started_in = t0.elapsed();
        ensemble.record_version().await;

        if ensemble.inner.cfg.net == NetMode::Netns {
            let ep = ensemble.client_endpoint("default").await?;
            ensemble.inner.default_endpoint = Some(ep);
        }
        tracing::info!(
            size,
            started_in = ?ensemble.inner.started_in,
            dir = %ensemble.inner.root.display(),
            backend = %ensemble.inner.cfg.backend,
            "ensemble ready"
        );
        Ok(self)
    }

    async fn record_version(&self) {
        for n in &self.inner.nodes {
            if let Ok(text) = self.four_letter_word(n.id, "srvr").await {
                let stats = ServerStats::parse(&text);
                if let Some(v) = stats.version {
                    if let Ok(mut slot) = self.inner.version.lock() {
                        *slot = Some(v);
                    }
                    return;
                }
            }
        }
    }

    fn node(&self, id: ServerId) -> Result<&Arc<Node>> {
        self.inner
            .nodes
            .iter()
            .find(|n| n.id == id)
            .ok_or(Error::UnknownServer(id))
    }

    /// The number of servers.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { assert_eq!(e.size(), e.ids().len()); }
    /// ```
    pub fn size(&self) -> usize {
        self.inner.nodes.len()
    }

    /// The server ids, `1..=size`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { assert_eq!(e.ids()[0], 1); }
    /// ```
    pub fn ids(&self) -> Vec<ServerId> {
        self.inner.nodes.iter().map(|n| n.id).collect()
    }

    /// The options the ensemble was started with.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { println!("{:?}", e.config().tick_time()); }
    /// ```
    pub fn config(&self) -> &EnsembleConfig {
        &self.inner.cfg
    }

    /// The installation in use; `None` on the container backend.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) {
    /// if let Some(install) = e.installation() {
    ///     println!("{}", install.source());
    /// }
    /// # }
    /// ```
    pub fn installation(&self) -> Option<&Installation> {
        self.inner.install.as_ref()
    }

    /// Where the servers run.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { println!("servers are {}es", e.backend()); }
    /// ```
    pub fn backend(&self) -> Backend {
        self.inner.cfg.backend
    }

    /// Whether [`partition`](Self::partition) and [`isolate`](Self::isolate) work: on the
    /// container backend, and on the process backend in [`NetMode::Netns`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { println!("{}", e.can_partition()); }
    /// ```
    pub fn can_partition(&self) -> bool {
        self.inner.net.is_some() || self.inner.containers.is_some()
    }

    /// The server version reported by `srvr` (e.g. `3.8.0-...`), recorded at start.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { println!("{:?}", e.server_version()); }
    /// ```
    pub fn server_version(&self) -> Option<String> {
        self.inner.version.lock().ok().and_then(|v| v.clone())
    }

    /// How long the start took, from launching the JVMs to a healthy ensemble.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { println!("{:?}", e.started_in()); }
    /// ```
    pub fn started_in(&self) -> Duration {
        self.inner.started_in
    }

    /// The ensemble's temporary folder (`s<id>/` per server).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { assert!(e.dir().exists()); }
    /// ```
    pub fn dir(&self) -> &Path {
        &self.inner.root
    }

    /// The folder holding server `id`'s transaction logs (`dataLogDir`).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { println!("{}", e.data_log_dir(1)?.display()); Ok(()) }
    /// ```
    pub fn data_log_dir(&self, id: ServerId) -> Result<&Path> {
        Ok(&self.node(id)?.files.data_log_dir)
    }

    /// The folder holding server `id`'s snapshots and `myid` (`dataDir`).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { println!("{}", e.data_dir(1)?.display()); Ok(()) }
    /// ```
    pub fn data_dir(&self, id: ServerId) -> Result<&Path> {
        Ok(&self.node(id)?.files.data_dir)
    }

    /// A connect string for the whole ensemble that works from the test process:
    /// `127.0.0.1:<port>,...`. In [`NetMode::Netns`] these are pass-through proxies into
    /// the namespaces.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { assert!(e.connect_string().contains("127.0.0.1:")); }
    /// ```
    pub fn connect_string(&self) -> String {
        if let Some(ep) = &self.inner.default_endpoint {
            return ep.connect_string();
        }
        self.inner
            .nodes
            .iter()
            .map(|n| n.client_addr.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The client address of server `id` as the kit dials it: `127.0.0.1:<port>` on
    /// loopback, `10.99.0.<id>:2181` inside the namespaces (dial it with
    /// [`connector`](Self::connector)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { assert!(e.server_addr(1).is_some()); }
    /// ```
    pub fn server_addr(&self, id: ServerId) -> Option<SocketAddr> {
        self.node(id).ok().map(|n| n.client_addr)
    }

    /// The address of server `id` usable from the test process: the server itself on
    /// loopback, the default pass-through proxy in [`NetMode::Netns`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { assert!(e.client_addr(1).is_some()); }
    /// ```
    pub fn client_addr(&self, id: ServerId) -> Option<SocketAddr> {
        match &self.inner.default_endpoint {
            Some(ep) => ep.addr(id),
            None => self.server_addr(id),
        }
    }

    /// The TLS client address of server `id`, when TLS is configured.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { let _ = e.secure_addr(1); }
    /// ```
    pub fn secure_addr(&self, id: ServerId) -> Option<SocketAddr> {
        self.node(id).ok().and_then(|n| n.secure_addr)
    }

    /// A connector into the kit's own client namespace ([`NetMode::Netns`] only).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { let _ = e.connector(); }
    /// ```
    pub fn connector(&self) -> Option<NetnsConnector> {
        match &self.inner.dialer {
            Dialer::Netns(c) => Some(c.clone()),
            Dialer::Direct => None,
        }
    }

    /// The process id of server `id`'s JVM, if it runs.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { println!("{:?}", e.pid(1)); }
    /// ```
    pub fn pid(&self, id: ServerId) -> Option<u32> {
        self.node(id).ok()?.pid()
    }

    /// Resident memory of server `id` in bytes (`VmRSS`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { println!("{:?} MiB", e.rss_bytes(1).map(|b| b >> 20)); }
    /// ```
    pub fn rss_bytes(&self, id: ServerId) -> Option<u64> {
        crate::process::rss_bytes(self.pid(id)?)
    }

    /// Server `id`'s log file (standard output and error of every start).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> { println!("{}", e.log_path(1)?.display()); Ok(()) }
    /// ```
    pub fn log_path(&self, id: ServerId) -> Result<&Path> {
        Ok(&self.node(id)?.files.log)
    }

    /// Server `id`'s whole log.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// assert!(e.log(1)?.contains("zk-testkit: starting server 1"));
    /// # Ok(()) }
    /// ```
    pub fn log(&self, id: ServerId) -> Result<String> {
        Ok(self.node(id)?.log_text())
    }

    /// Prints the last `lines` lines of every server's log to standard error (captured
    /// per test by the test harness, shown when the test fails).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) { e.print_logs(50); }
    /// ```
    pub fn print_logs(&self, lines: usize) {
        for n in &self.inner.nodes {
            eprintln!(
                "---- zk-testkit: last {lines} lines of server {} ({}) ----\n{}",
                n.id,
                n.files.log.display(),
                n.log_tail(lines)
            );
        }
    }
}

fn loopback_layout(
    cfg: &EnsembleConfig,
    size: usize,
    leases: &[PortLease],
) -> Vec<(NodeAddrs, SocketAddr, Option<SocketAddr>)> {
    let per_node = if cfg.tls.is_some() { 4 } else { 3 };
    (0..size)
        .map(|i| {
            let p = &leases[i * per_node..(i + 1) * per_node];
            let id = u8::try_from(i + 1).unwrap_or(u8::MAX);
            let secure = (per_node == 4).then(|| p[3].port());
            let addrs = NodeAddrs {
                id,
                ip: Ipv4Addr::LOCALHOST.to_string(),
                client_port: p[0].port(),
                quorum_port: p[1].port(),
                election_port: p[2].port(),
                secure_port: secure,
            };
            let client = SocketAddr::from((Ipv4Addr::LOCALHOST, p[0].port()));
            let secure = secure.map(|s| SocketAddr::from((Ipv4Addr::LOCALHOST, s)));
            (addrs, client, secure)
        })
        .collect()
}

fn netns_layout(
    cfg: &EnsembleConfig,
    size: usize,
) -> Vec<(NodeAddrs, SocketAddr, Option<SocketAddr>)> {
    (1..=size)
        .map(|i| {
            let id = u8::try_from(i).unwrap_or(u8::MAX);
            let secure = cfg.tls.is_some().then_some(net::NETNS_SECURE_PORT);
            let addrs = NodeAddrs {
                id,
                ip: net::server_ip(id).to_string(),
                client_port: net::NETNS_CLIENT_PORT,
                quorum_port: net::NETNS_QUORUM_PORT,
                election_port: net::NETNS_ELECTION_PORT,
                secure_port: secure,
            };
            let client = net::server_sockaddr(id, net::NETNS_CLIENT_PORT);
            let secure = secure.map(|s| net::server_sockaddr(id, s));
            (addrs, client, secure)
        })
        .collect()
}
