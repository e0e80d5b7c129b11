//! One server per test binary, with a unique chroot per test (kazoo's and Curator's
//! `BaseClassForTests` pattern).
//!
//! The first call starts a standalone server; later calls, from any test thread and any
//! tokio runtime, reuse it. Each call creates a fresh chroot node, so tests running in
//! parallel never see each other's znodes. The server lives until the test binary exits
//! (the JVM is bound to the process with `PR_SET_PDEATHSIG`), and its folder is removed by
//! the next run.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::OnceCell;
use zk_proto::CreateMode;

use crate::config::EnsembleConfig;
use crate::error::{Error, Result};
use crate::raw::RawSession;
use crate::server::Server;

static SHARED: OnceCell<Server> = OnceCell::const_new();

/// Prefix of the shared server's temporary folder; the pid follows.
pub(crate) const SHARED_DIR_PREFIX: &str = "zk-testkit-shared-";

/// A test's view of the binary's shared server: the server plus the test's own chroot.
///
/// # Examples
///
/// ```no_run
/// # async fn _demo() -> zk_testkit::Result<()> {
/// let zk = zk_testkit::shared().await?;
/// // e.g. "127.0.0.1:21234/zkt-4242-1-my_test"
/// let connect_string = zk.connect_string();
/// # let _ = connect_string; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Shared {
    server: &'static Server,
    chroot: String,
}

impl Shared {
    /// The shared server.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(zk: &zk_testkit::Shared) { println!("{:?}", zk.server().pid()); }
    /// ```
    pub fn server(&self) -> &'static Server {
        self.server
    }

    /// This test's chroot, e.g. `/zkt-4242-1-my_test`. The node exists.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(zk: &zk_testkit::Shared) { assert!(zk.chroot().starts_with("/zkt-")); }
    /// ```
    pub fn chroot(&self) -> &str {
        &self.chroot
    }

    /// The connect string with the chroot: `127.0.0.1:<port>/<chroot>`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(zk: &zk_testkit::Shared) { assert!(zk.connect_string().contains("/zkt-")); }
    /// ```
    pub fn connect_string(&self) -> String {
        format!("{}{}", self.server.connect_string(), self.chroot)
    }

    /// The server's address (no chroot).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(zk: &zk_testkit::Shared) { println!("{}", zk.addr()); }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `path` inside this test's chroot (`/a` → `/zkt-.../a`), for raw sessions, which do
    /// not apply a chroot.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(zk: &zk_testkit::Shared) { assert!(zk.path("/a").ends_with("/a")); }
    /// ```
    pub fn path(&self, path: &str) -> String {
        if path == "/" {
            self.chroot.clone()
        } else {
            format!("{}{path}", self.chroot)
        }
    }
}

/// The test binary's shared standalone server, plus a new chroot for the calling test.
///
/// # Errors
///
/// As [`Server::start`] on the first call; [`Error::Server`] / [`Error::Io`] when the
/// chroot cannot be created.
///
/// # Examples
///
/// ```no_run
/// #[tokio::test]
/// async fn my_test() -> zk_testkit::Result<()> {
///     let zk = zk_testkit::shared().await?;
///     let mut s = zk_testkit::RawSession::connect(zk.addr(), std::time::Duration::from_secs(4)).await?;
///     s.create(&zk.path("/a"), b"", zk_proto::CreateMode::Persistent).await?;
///     Ok(())
/// }
/// ```
pub async fn shared() -> Result<Shared> {
    let server = SHARED
        .get_or_try_init(|| async {
            sweep_old_dirs();
            let mut cfg = EnsembleConfig::new(1);
            cfg.dir_prefix = Some(format!("{SHARED_DIR_PREFIX}{}-", std::process::id()));
            Server::start_with(cfg).await
        })
        .await?;
    let chroot = unique_chroot();
    let mut session = RawSession::connect(server.addr(), Duration::from_secs(10)).await?;
    match session.create(&chroot, b"", CreateMode::Persistent).await {
        Ok(_) => {}
        Err(Error::Server { code: -110, .. }) => {}
        Err(e) => return Err(e),
    }
    let _ = session.close().await;
    Ok(Shared { server, chroot })
}

fn unique_chroot() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed) + 1;
    let thread = std::thread::current();
    let name: String = thread
        .name()
        .unwrap_or("test")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = name.trim_matches('_');
    let name = if name.len() > 60 {
        &name[name.len() - 60..]
    } else {
        name
    };
    format!("/zkt-{}-{n}-{name}", std::process::id())
}

/// Removes folders of shared servers whose test process is gone.
fn sweep_old_dirs() {
    let Ok(read) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in read.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(SHARED_DIR_PREFIX) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('-') else {
            continue;
        };
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
