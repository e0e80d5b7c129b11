//! Network namespaces: one per server, joined by a bridge in a private hub namespace, with
//! partitions between servers and a connector that opens sockets inside a namespace.
//!
//! Topology: namespace `zkt<pid>-<n>-hub` holds bridge `br0`; server `i`
//! lives in `zkt<pid>-<n>-s<i>` with `eth0` = `10.99.0.<i>/24`; client namespaces
//! `zkt<pid>-<n>-c<k>` get `10.99.0.<100+k>`. The root namespace gets no interface and the
//! kit never dials `10.99.*` from it: sockets to servers are made inside a client namespace
//! by a thread that entered it with `setns` ([`NetnsConnector`]).
//!
//! Partitions are blackhole routes (`ip route replace blackhole <peer>/32`) in the servers'
//! namespaces: packets to the other side are dropped silently, without RST or ICMP. Healing
//! deletes the routes and then kills the stale quorum and election sockets between the
//! healed pairs with `ss -K`; without that a rejoin waits out TCP
//! retransmission backoff (9–33 s measured).
//!
//! Needs root and iproute2 (`ip`, `ss`). [`netns_available`] says why not when it cannot
//! work, so tests can print a `SKIPPED` line.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use tokio::net::TcpStream;

use crate::config::ServerId;
use crate::container::ContainerNet;
use crate::error::{Error, Result};
use crate::process::run;

/// Client port of every server inside its namespace.
pub(crate) const NETNS_CLIENT_PORT: u16 = 2181;
/// Quorum port of every server inside its namespace.
pub(crate) const NETNS_QUORUM_PORT: u16 = 2888;
/// Election port of every server inside its namespace.
pub(crate) const NETNS_ELECTION_PORT: u16 = 3888;
/// TLS client port of every server inside its namespace.
pub(crate) const NETNS_SECURE_PORT: u16 = 2281;

const IP: &str = "ip";

/// Whether network namespaces can be used: root, `ip` and `ss` present, and a namespace can
/// actually be created.
///
/// # Errors
///
/// The reason, as text for a `SKIPPED: <reason>` line.
///
/// # Examples
///
/// ```no_run
/// match zk_testkit::netns_available() {
///     Ok(()) => println!("netns tests can run"),
///     Err(reason) => println!("SKIPPED: {reason}"),
/// }
/// ```
pub fn netns_available() -> std::result::Result<(), String> {
    static PROBE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

fn probe() -> std::result::Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("network namespaces need root (run the tests as root)".into());
    }
    for tool in ["ip", "ss"] {
        if run(tool, &["-V"]).is_err() {
            return Err(format!(
                "`{tool}` not found; install iproute2 (apt-get install iproute2)"
            ));
        }
    }
    let name = format!("zkt{}-probe", std::process::id());
    let added = run(IP, &["netns", "add", &name]);
    let _ = run(IP, &["netns", "del", &name]);
    added.map_err(|e| format!("cannot create a network namespace: {e}"))?;
    Ok(())
}

/// How the kit reaches a server: directly, or from inside a client namespace.
#[derive(Clone, Debug)]
pub(crate) enum Dialer {
    Direct,
    Netns(NetnsConnector),
}

impl Dialer {
    pub(crate) async fn connect(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match self {
            Self::Direct => match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                Ok(r) => r,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect to {addr} timed out"),
                )),
            },
            Self::Netns(c) => c.connect_timeout(addr, timeout).await,
        }
    }
}

/// Opens TCP connections from inside a network namespace.
///
/// A short-lived thread enters the namespace with `setns(CLONE_NEWNET)`, connects, and hands
/// the socket back; the socket stays in that namespace and is used from any task.
///
/// # Examples
///
/// ```no_run
/// # async fn _demo(ensemble: &zk_testkit::Ensemble) -> std::io::Result<()> {
/// if let Some(connector) = ensemble.connector() {
///     let addr = ensemble.server_addr(1).expect("server 1");
///     let stream = connector.connect(addr).await?;
///     println!("connected from {}", stream.local_addr()?);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct NetnsConnector {
    ns: String,
    ip: Ipv4Addr,
}

impl NetnsConnector {
    /// The namespace's name (as in `ip netns list`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(c: &zk_testkit::NetnsConnector) { println!("{}", c.namespace()); }
    /// ```
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The namespace's address on the bridge.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(c: &zk_testkit::NetnsConnector) { assert_eq!(c.ip().octets()[0], 10); }
    /// ```
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// Connects to `addr` from inside the namespace, waiting at most 10 s.
    ///
    /// # Errors
    ///
    /// The connect error, or `TimedOut`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(c: zk_testkit::NetnsConnector, addr: std::net::SocketAddr) -> std::io::Result<()> {
    /// let stream = c.connect(addr).await?;
    /// # drop(stream); Ok(()) }
    /// ```
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        self.connect_timeout(addr, Duration::from_secs(10)).await
    }

    /// Connects to `addr` from inside the namespace, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// The connect error, or `TimedOut`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(c: zk_testkit::NetnsConnector, addr: std::net::SocketAddr) -> std::io::Result<()> {
    /// let stream = c.connect_timeout(addr, std::time::Duration::from_secs(1)).await?;
    /// # drop(stream); Ok(()) }
    /// ```
    pub async fn connect_timeout(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        let path = netns_path(&self.ns);
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("zk-testkit-setns".into())
            .spawn(move || {
                let result = connect_in(&path, addr, timeout);
                let _ = tx.send(result);
            })?;
        let std_stream = rx
            .await
            .map_err(|_| io::Error::other("setns connector thread died"))??;
        TcpStream::from_std(std_stream)
    }
}

fn connect_in(ns: &Path, addr: SocketAddr, timeout: Duration) -> io::Result<std::net::TcpStream> {
    let file = File::open(ns)?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    let stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_nonblocking(true)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn netns_path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

/// The namespaces of one ensemble.
#[derive(Debug)]
pub(crate) struct Netns {
    prefix: String,
    size: usize,
    clients: Mutex<Vec<(String, Ipv4Addr)>>,
    next_client: AtomicU32,
    /// Blackhole routes in force: (namespace of the dropping side, peer address) → count.
    routes: Mutex<HashMap<(ServerId, Ipv4Addr), u32>>,
}

impl Netns {
    /// Creates the hub, the bridge and one namespace per server.
    pub(crate) fn create(size: usize) -> Result<Arc<Self>> {
        netns_available().map_err(Error::NetnsUnavailable)?;
        sweep_stale();
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let net = Arc::new(Self {
            prefix: format!("zkt{}-{seq}", std::process::id()),
            size,
            clients: Mutex::new(Vec::new()),
            next_client: AtomicU32::new(0),
            routes: Mutex::new(HashMap::new()),
        });
        let hub = net.hub();
        run(IP, &["netns", "add", &hub])?;
        run(IP, &["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        run(IP, &["-n", &hub, "link", "set", "br0", "up"])?;
        for id in 1..=size {
            let id =
                u8::try_from(id).map_err(|_| Error::InvalidConfig("too many servers".into()))?;
            net.attach(&net.server_ns(id), &format!("s{id}"), server_ip(id))?;
        }
        Ok(net)
    }

    fn hub(&self) -> String {
        format!("{}-hub", self.prefix)
    }

    pub(crate) fn server_ns(&self, id: ServerId) -> String {
        format!("{}-s{id}", self.prefix)
    }

    /// Creates namespace `ns`, a veth pair `v<port>` (hub side) / `eth0` and the address.
    fn attach(&self, ns: &str, port: &str, ip: Ipv4Addr) -> Result<()> {
        let hub = self.hub();
        let veth = format!("v{port}");
        let cidr = format!("{ip}/24");
        run(IP, &["netns", "add", ns])?;
        run(IP, &["-n", ns, "link", "set", "lo", "up"])?;
        run(
            IP,
            &[
                "-n", &hub, "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns",
                ns,
            ],
        )?;
        run(IP, &["-n", &hub, "link", "set", &veth, "master", "br0"])?;
        run(IP, &["-n", &hub, "link", "set", &veth, "up"])?;
        run(IP, &["-n", ns, "addr", "add", &cidr, "dev", "eth0"])?;
        run(IP, &["-n", ns, "link", "set", "eth0", "up"])?;
        Ok(())
    }

    /// Adds a client namespace and returns a connector for it.
    pub(crate) fn add_client(&self) -> Result<NetnsConnector> {
        let k = self.next_client.fetch_add(1, Ordering::Relaxed);
        if k >= 150 {
            return Err(Error::InvalidConfig(
                "at most 150 client namespaces per ensemble".into(),
            ));
        }
        let ip = Ipv4Addr::new(10, 99, 0, 100 + u8::try_from(k).unwrap_or(0));
        let ns = format!("{}-c{k}", self.prefix);
        self.attach(&ns, &format!("c{k}"), ip)?;
        if let Ok(mut clients) = self.clients.lock() {
            clients.push((ns.clone(), ip));
        }
        Ok(NetnsConnector { ns, ip })
    }

    fn client_ips(&self) -> Vec<Ipv4Addr> {
        self.clients
            .lock()
            .map(|c| c.iter().map(|(_, ip)| *ip).collect())
            .unwrap_or_default()
    }

    /// Drops traffic between `a` and `b` in both directions.
    fn block(&self, a: ServerId, b_ip: Ipv4Addr) -> Result<()> {
        let mut routes = self
            .routes
            .lock()
            .map_err(|_| Error::Protocol("route table lock poisoned".into()))?;
        let count = routes.entry((a, b_ip)).or_insert(0);
        *count += 1;
        if *count == 1 {
            let dst = format!("{b_ip}/32");
            run(
                IP,
                &[
                    "-n",
                    &self.server_ns(a),
                    "route",
                    "replace",
                    "blackhole",
                    &dst,
                ],
            )?;
        }
        Ok(())
    }

    fn unblock(&self, a: ServerId, b_ip: Ipv4Addr) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let remove = match routes.get_mut(&(a, b_ip)) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => true,
            None => false,
        };
        if remove {
            routes.remove(&(a, b_ip));
            let dst = format!("{b_ip}/32");
            let _ = run(
                IP,
                &["-n", &self.server_ns(a), "route", "del", "blackhole", &dst],
            );
        }
    }

    /// Kills the quorum and election sockets of server `a` to `b_ip` (stale after a heal).
    fn kill_quorum_sockets(&self, a: ServerId, b_ip: Ipv4Addr) {
        let filter = format!(
            "( dst {b_ip} ) and ( sport = :{q} or dport = :{q} or sport = :{e} or dport = :{e} )",
            q = NETNS_QUORUM_PORT,
            e = NETNS_ELECTION_PORT
        );
        let ns = self.server_ns(a);
        let _ = run(
            IP,
            &[
                "netns",
                "exec",
                &ns,
                "ss",
                "-K",
                "-t",
                "-n",
                "state",
                "connected",
                &filter,
            ],
        );
    }

    /// Applies a partition: every pair of servers on different sides is cut.
    pub(crate) fn partition(self: &Arc<Self>, sides: &[&[ServerId]]) -> Result<Partition> {
        let mut cuts = Vec::new();
        for (i, side) in sides.iter().enumerate() {
            for other in sides.iter().skip(i + 1) {
                for &a in *side {
                    for &b in *other {
                        self.check(a)?;
                        self.check(b)?;
                        if a == b {
                            return Err(Error::InvalidConfig(format!(
                                "server {a} is on two sides of the partition"
                            )));
                        }
                        cuts.push((a, server_ip(b)));
                        cuts.push((b, server_ip(a)));
                    }
                }
            }
        }
        self.apply(cuts, format!("{sides:?}"))
    }

    /// Cuts server `id` from every other server and every client namespace.
    pub(crate) fn isolate(self: &Arc<Self>, id: ServerId) -> Result<Partition> {
        self.check(id)?;
        let mut cuts = Vec::new();
        for other in 1..=self.size {
            let other = u8::try_from(other).unwrap_or(0);
            if other != id {
                cuts.push((id, server_ip(other)));
                cuts.push((other, server_ip(id)));
            }
        }
        for ip in self.client_ips() {
            cuts.push((id, ip));
        }
        self.apply(cuts, format!("isolate {id}"))
    }

    fn apply(self: &Arc<Self>, cuts: Vec<(ServerId, Ipv4Addr)>, what: String) -> Result<Partition> {
        let mut applied = Vec::with_capacity(cuts.len());
        for (a, ip) in cuts {
            if let Err(e) = self.block(a, ip) {
                for (a, ip) in applied {
                    self.unblock(a, ip);
                }
                return Err(e);
            }
            applied.push((a, ip));
        }
        tracing::info!(partition = %what, "partition applied");
        Ok(Partition {
            cut: Cut::Netns {
                net: Arc::clone(self),
                cuts: applied,
            },
            what,
        })
    }

    fn check(&self, id: ServerId) -> Result<()> {
        if id == 0 || usize::from(id) > self.size {
            return Err(Error::UnknownServer(id));
        }
        Ok(())
    }

    /// Removes every blackhole route and kills the stale quorum sockets of those pairs.
    pub(crate) fn heal_all(&self) {
        let cuts: Vec<(ServerId, Ipv4Addr)> = self
            .routes
            .lock()
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default();
        if let Ok(mut routes) = self.routes.lock() {
            routes.clear();
        }
        for (a, ip) in &cuts {
            let dst = format!("{ip}/32");
            let _ = run(
                IP,
                &["-n", &self.server_ns(*a), "route", "del", "blackhole", &dst],
            );
        }
        for (a, ip) in cuts {
            self.kill_quorum_sockets(a, ip);
        }
    }

    fn teardown(&self) {
        let mut names = vec![self.hub()];
        for id in 1..=self.size {
            names.push(self.server_ns(u8::try_from(id).unwrap_or(0)));
        }
        if let Ok(clients) = self.clients.lock() {
            names.extend(clients.iter().map(|(ns, _)| ns.clone()));
        }
        for ns in names {
            let _ = run(IP, &["netns", "del", &ns]);
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// The address of server `id` inside the namespaces.
pub(crate) fn server_ip(id: ServerId) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, 0, id)
}

pub(crate) fn server_sockaddr(id: ServerId, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(server_ip(id), port))
}

/// Deletes namespaces left by earlier runs whose process is gone (`zkt<pid>-...`).
fn sweep_stale() {
    let Ok(list) = run(IP, &["netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix("zkt") else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('-') else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run(IP, &["netns", "del", name]);
        }
    }
}

/// A partition in force; dropping it removes its rules (without waiting for the ensemble).
///
/// Use [`heal`](Self::heal) to also wait until the ensemble is healthy again.
///
/// # Examples
///
/// ```no_run
/// # async fn _demo(ensemble: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
/// let cut = ensemble.partition(&[&[1], &[2, 3]])?;
/// // ... servers 2 and 3 elect a leader without 1 ...
/// cut.heal(ensemble, std::time::Duration::from_secs(60)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Partition {
    cut: Cut,
    what: String,
}

/// What a partition removed: blackhole routes in namespaces, or containers' links to the
/// quorum network.
#[derive(Debug)]
enum Cut {
    Netns {
        net: Arc<Netns>,
        cuts: Vec<(ServerId, Ipv4Addr)>,
    },
    Container {
        net: Arc<ContainerNet>,
        servers: Vec<ServerId>,
    },
}

impl Cut {
    fn is_empty(&self) -> bool {
        match self {
            Self::Netns { cuts, .. } => cuts.is_empty(),
            Self::Container { servers, .. } => servers.is_empty(),
        }
    }
}

impl Partition {
    /// Removes this partition's rules, kills the stale quorum sockets between the healed
    /// pairs (`ss -K`), then waits until the ensemble is healthy.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the ensemble is not healthy within `deadline`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(ensemble: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// let cut = ensemble.isolate(2)?;
    /// cut.heal(ensemble, std::time::Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn heal(
        mut self,
        ensemble: &crate::Ensemble,
        deadline: Duration,
    ) -> Result<crate::Health> {
        self.remove();
        ensemble.wait_healthy(deadline).await
    }

    /// What was cut, for logs.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(p: &zk_testkit::Partition) { println!("{}", p.description()); }
    /// ```
    pub fn description(&self) -> &str {
        &self.what
    }

    /// A partition of containers, undone by connecting `servers` back.
    pub(crate) fn container(net: Arc<ContainerNet>, servers: Vec<ServerId>, what: String) -> Self {
        Self {
            cut: Cut::Container { net, servers },
            what,
        }
    }

    fn remove(&mut self) {
        match &mut self.cut {
            Cut::Netns { net, cuts } => {
                let cuts = std::mem::take(cuts);
                for (a, ip) in &cuts {
                    net.unblock(*a, *ip);
                }
                for (a, ip) in cuts {
                    net.kill_quorum_sockets(a, ip);
                }
            }
            Cut::Container { net, servers } => {
                let servers = std::mem::take(servers);
                net.restore(&servers);
            }
        }
        tracing::info!(partition = %self.what, "partition removed");
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        if !self.cut.is_empty() {
            self.remove();
        }
    }
}
