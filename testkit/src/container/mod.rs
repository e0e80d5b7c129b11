//! The container backend: each server a container of a ZooKeeper image, driven through
//! the `docker` command line.
//!
//! The kit speaks the official `zookeeper` image's interface, so `zookeeper:3.8` from
//! Docker Hub works where a registry is reachable, and so does the image that
//! `scripts/build-zk-image.sh` builds from Debian's packages where none is:
//!
//! * `ZOO_MY_ID`, and `ZOO_SERVERS` as space-separated `server.N=IP:2888:3888;2181`, with
//!   fixed IPs on a network of the kit's own with an explicit subnet (names would make an
//!   election slow while a container is stopped, as its name stops resolving);
//! * `ZOO_TICK_TIME`, `ZOO_INIT_LIMIT`, `ZOO_SYNC_LIMIT`, `ZOO_4LW_COMMANDS_WHITELIST`,
//!   `ZOO_ADMINSERVER_ENABLED`, `ZOO_MAX_CLIENT_CNXNS`, `ZOO_STANDALONE_ENABLED`, the other
//!   `zoo.cfg` settings in `ZOO_CFG_EXTRA`, and the JVM options in `JVMFLAGS`;
//! * `/data` and `/datalog` are bind mounts of the ensemble's temporary folder, so
//!   [`TxnLog`](crate::TxnLog) reads the transaction logs as on the process backend.
//!
//! # Networks
//!
//! Each ensemble makes two bridge networks, labelled with its run id:
//!
//! * **quorum**: `--internal`, with a subnet of its own in `10.201.0.0/16`–`10.250.0.0/16`;
//!   the servers reach each other here, and nothing here reaches out;
//! * **clients**: the client port of each server is published on `127.0.0.1:<port>` (a
//!   port leased as on the process backend) through this network, by Docker's userland
//!   proxy, which needs no firewall rules (`dockerd --iptables=false` works).
//!
//! A partition disconnects servers from the quorum network: their clients still reach
//! them, as on the process backend, and the quorum loses them. Docker cannot cut one
//! group of servers from another while keeping each group whole, so every server outside
//! the largest side is cut from all the others (for ZooKeeper this changes nothing a
//! quorum sees: a side without a majority elects no one either way).
//!
//! # Faults
//!
//! | kit | Docker |
//! |---|---|
//! | [`kill`](crate::Ensemble::kill) | `docker kill` (SIGKILL) |
//! | [`stop`](crate::Ensemble::stop) | `docker stop` (SIGTERM, then SIGKILL) |
//! | [`restart`](crate::Ensemble::restart) | `docker start` (same container, same data) |
//! | [`pause`](crate::Ensemble::pause) | `docker pause` / `unpause` (the cgroup freezer) |
//! | [`partition`](crate::Ensemble::partition), [`heal`](crate::Ensemble::heal) | `docker network disconnect` / `connect --ip` |
//!
//! # Clean-up
//!
//! Containers and networks carry the labels `zk-testkit.run` (the ensemble), `zk-testkit.pid`
//! (the test process), `zk-testkit.boot` (this machine's boot id) and `zk-testkit.host`
//! (its host name). Dropping the ensemble removes them; the first container ensemble of a
//! process also removes those of this host whose process has gone, so a run killed with
//! SIGKILL leaks nothing past the next run.

mod docker;
mod layout;
mod network;
mod server;

use std::sync::OnceLock;

pub(crate) use docker::{docker, docker_async};
pub(crate) use layout::prepare;
pub(crate) use network::ContainerNet;
pub(crate) use server::ContainerServer;

/// The image used when neither [`EnsembleConfig::image`](crate::EnsembleConfig::image) nor
/// `ZK_TESTKIT_IMAGE` names one: the image `scripts/build-zk-image.sh` builds.
pub const DEFAULT_IMAGE: &str = "zk-testkit/zookeeper:3.8.0-debian";

/// Where the servers of an ensemble run.
///
/// The default is [`Process`](Backend::Process), or [`Container`](Backend::Container) when
/// `ZK_TESTKIT_BACKEND=docker` (or `container`) is set.
///
/// # Examples
///
/// ```
/// use zk_testkit::{Backend, EnsembleConfig};
///
/// let cfg = EnsembleConfig::new(3).backend(Backend::Container);
/// assert_eq!(cfg.backend_kind(), Backend::Container);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// Each server a `java` child process (the default).
    Process,
    /// Each server a container of a ZooKeeper image, through the `docker` command line.
    Container,
}

impl Backend {
    /// The backend `ZK_TESTKIT_BACKEND` names: `docker` or `container` for
    /// [`Container`](Self::Container), anything else or nothing for
    /// [`Process`](Self::Process).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = zk_testkit::Backend::from_env();
    /// println!("tests run on {b}");
    /// ```
    pub fn from_env() -> Self {
        match std::env::var("ZK_TESTKIT_BACKEND").as_deref() {
            Ok("docker" | "container" | "containers") => Self::Container,
            _ => Self::Process,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Process => "process",
            Self::Container => "container",
        })
    }
}

/// The image `ZK_TESTKIT_IMAGE` names, else [`DEFAULT_IMAGE`].
pub(crate) fn image_from_env() -> String {
    std::env::var("ZK_TESTKIT_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_IMAGE.to_owned())
}

/// Whether the container backend can run here: `Err` says why not (no `docker`, no daemon
/// answering), with the commands that fix it, so a test can print a `SKIPPED` line.
///
/// The image is not checked here; a missing image fails the start with the command that
/// builds it.
///
/// # Examples
///
/// ```no_run
/// match zk_testkit::docker_available() {
///     Ok(()) => println!("container tests can run"),
///     Err(reason) => println!("SKIPPED: {reason}"),
/// }
/// ```
pub fn docker_available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

fn probe() -> Result<(), String> {
    match std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
    {
        Err(_) => Err("the `docker` command is not installed \
             (apt-get install docker.io, then start the daemon: dockerd --iptables=false &)"
            .into()),
        Ok(out) if !out.status.success() => Err(format!(
            "no Docker daemon answers ({}); start one: dockerd --iptables=false &",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => Ok(()),
    }
}

/// Whether `image` is present on the Docker host (no pull is tried).
///
/// # Examples
///
/// ```no_run
/// let image = zk_testkit::EnsembleConfig::new(1).image_name();
/// if !zk_testkit::container::image_present(&image) {
///     println!("build it: scripts/build-zk-image.sh");
/// }
/// ```
pub fn image_present(image: &str) -> bool {
    docker(&["image", "inspect", "--format", "{{.Id}}", image]).is_ok()
}

/// For a test of the container backend: `true`, after a `SKIPPED: <test>: <reason>` line on
/// standard error, when no Docker daemon answers or the configured image
/// ([`EnsembleConfig::image_name`](crate::EnsembleConfig::image_name)) is missing; the
/// test then returns. Under `ZK_TESTKIT_REQUIRE_DOCKER=1` (as in CI) it panics instead,
/// since a skip there would hide that the container backend went untested.
///
/// The line goes straight to the process's standard error: the test harness captures
/// `println!` of passing tests, and a skip must never look like a pass.
///
/// # Panics
///
/// Under `ZK_TESTKIT_REQUIRE_DOCKER=1` when the backend cannot run.
///
/// # Examples
///
/// ```no_run
/// # async fn _test() {
/// if zk_testkit::container::skip_unless_ready("my_container_test") {
///     return;
/// }
/// // ... Ensemble::start_with(EnsembleConfig::new(3).backend(Backend::Container)) ...
/// # }
/// ```
pub fn skip_unless_ready(test: &str) -> bool {
    let image = image_from_env();
    let ready = docker_available().and_then(|()| {
        if image_present(&image) {
            Ok(())
        } else {
            Err(format!(
                "image {image} is missing: build it with scripts/build-zk-image.sh (or \
                 scripts/start-docker.sh), or set ZK_TESTKIT_IMAGE"
            ))
        }
    });
    let Err(reason) = ready else {
        return false;
    };
    let required =
        std::env::var("ZK_TESTKIT_REQUIRE_DOCKER").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "{test}: the container backend is required here (ZK_TESTKIT_REQUIRE_DOCKER): {reason}"
    );
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {reason}");
    true
}

/// This machine's boot id, which tells a container of a process that has gone from one of
/// a live process with a reused pid after a reboot.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// This machine's host name: a daemon shared with other hosts or containers (another
/// pid namespace) must not lose their containers to this host's sweep.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The labels every container and network of one ensemble carries.
pub(crate) fn labels(run: &str) -> Vec<String> {
    vec![
        format!("zk-testkit.run={run}"),
        format!("zk-testkit.pid={}", std::process::id()),
        format!("zk-testkit.boot={}", boot_id()),
        format!("zk-testkit.host={}", host_name()),
    ]
}

/// A new run id: unique among the ensembles of this machine.
pub(crate) fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos & 0xffff
    )
}

/// Removes, once per process, the containers and networks of kit runs made on this host
/// whose process is gone (or ran before the last reboot).
pub(crate) fn sweep_stale_once() {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| {
        sweep_stale();
    });
}

/// Removes the kit's containers and networks made on this host by a process that has gone
/// (or before the last reboot), and returns how many it removed. The first container
/// ensemble of each process does this by itself; a test harness may call it too.
///
/// # Examples
///
/// ```no_run
/// let removed = zk_testkit::container::sweep_stale();
/// println!("removed {removed} stale containers and networks");
/// ```
pub fn sweep_stale() -> usize {
    let mut removed = 0;
    let boot = boot_id();
    let format = "{{.ID}} {{.Label \"zk-testkit.pid\"}} {{.Label \"zk-testkit.boot\"}}";
    let host = format!("label=zk-testkit.host={}", host_name());
    let stale = |listing: &str| -> Vec<String> {
        listing
            .lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let id = parts.next()?;
                let pid: u32 = parts.next()?.parse().ok()?;
                let their_boot = parts.next().unwrap_or_default();
                let alive =
                    their_boot == boot && std::path::Path::new(&format!("/proc/{pid}")).exists();
                (!alive).then(|| id.to_owned())
            })
            .collect()
    };
    let filter = "label=zk-testkit.run";
    let ps = [
        "ps",
        "-a",
        "--filter",
        filter,
        "--filter",
        host.as_str(),
        "--format",
        format,
    ];
    if let Ok(listing) = docker(&ps) {
        let ids = stale(&listing);
        if !ids.is_empty() {
            tracing::info!(count = ids.len(), "removing stale zk-testkit containers");
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            if docker(&args).is_ok() {
                removed += ids.len();
            }
        }
    }
    let ls = [
        "network",
        "ls",
        "--filter",
        filter,
        "--filter",
        host.as_str(),
        "--format",
        format,
    ];
    if let Ok(listing) = docker(&ls) {
        for id in stale(&listing) {
            if docker(&["network", "rm", &id]).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}
