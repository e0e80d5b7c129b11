//! Free loopback ports that parallel test binaries never share.
//!
//! A port is leased by taking an exclusive `flock` on `$TMPDIR/zk-testkit-ports/<port>.lock`
//! and then checking that `127.0.0.1:<port>` can be bound. The lock is held for as long as
//! the [`PortLease`] lives (for a server: as long as its ensemble), so another process using
//! this kit skips the port even while the server is down between a kill and a restart. The
//! kernel drops the lock when the process dies, so a crashed run leaks nothing.
//!
//! The lock folder is world-writable with the sticky bit, like `/tmp`, so runs as root and
//! as other users share it.
//!
//! Ports come from `20000..32000`, below Linux's default ephemeral range (32768 and up), so
//! outgoing connections never take them either.

use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

/// The range leased ports come from.
pub const PORT_RANGE: Range<u16> = 20000..32000;

/// A leased port; the lease ends when this value is dropped.
///
/// # Examples
///
/// ```
/// let leases = zk_testkit::ports::reserve(3)?;
/// assert_eq!(leases.len(), 3);
/// assert!(leases.iter().all(|l| zk_testkit::ports::PORT_RANGE.contains(&l.port())));
/// # Ok::<(), zk_testkit::Error>(())
/// ```
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    _lock: Flock<File>,
}

impl PortLease {
    /// The port number.
    ///
    /// # Examples
    ///
    /// ```
    /// let lease = zk_testkit::ports::reserve(1)?.remove(0);
    /// assert!(lease.port() >= 20000);
    /// # Ok::<(), zk_testkit::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Leases `count` distinct free ports.
///
/// # Errors
///
/// [`Error::Io`] when the lock folder cannot be created, or when the whole range was
/// tried without finding enough free ports.
///
/// # Examples
///
/// ```
/// let leases = zk_testkit::ports::reserve(2)?;
/// assert_ne!(leases[0].port(), leases[1].port());
/// # Ok::<(), zk_testkit::Error>(())
/// ```
pub fn reserve(count: usize) -> Result<Vec<PortLease>> {
    let dir = lock_dir();
    fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating port lock folder {}", dir.display()), e))?;
    // Shared by every user of the machine, like /tmp itself.
    let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777));
    let span = u64::from(PORT_RANGE.end - PORT_RANGE.start);
    let mut offset = start_offset() % span;
    let mut leases = Vec::with_capacity(count);
    for _ in 0..span {
        if leases.len() == count {
            break;
        }
        // Stride 7 (coprime with the span) spreads parallel runs over the range.
        offset = (offset + 7) % span;
        let Ok(delta) = u16::try_from(offset) else {
            continue;
        };
        let port = PORT_RANGE.start + delta;
        if let Some(lease) = try_lease(&dir, port) {
            leases.push(lease);
        }
    }
    if leases.len() < count {
        return Err(Error::io(
            "leasing ports",
            std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("found only {} free ports in {PORT_RANGE:?}", leases.len()),
            ),
        ));
    }
    Ok(leases)
}

fn try_lease(dir: &std::path::Path, port: u16) -> Option<PortLease> {
    let path = dir.join(format!("{port}.lock"));
    // A lock file another user created may be read-only for us; flock works on it anyway.
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .or_else(|_| File::open(&path))
        .ok()?;
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).ok()?;
    // Holding the lock, check nobody else (another program) uses the port.
    let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).ok()?;
    drop(probe);
    Some(PortLease { port, _lock: lock })
}

fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("zk-testkit-ports")
}

fn start_offset() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()) ^ d.as_secs())
        .unwrap_or(0);
    let pid = u64::from(std::process::id());
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    zk_proto::rng::SplitMix64::new(nanos ^ (pid << 20) ^ (call << 40)).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_exclusive_within_a_process() {
        let a = reserve(5).expect("ports");
        let b = reserve(5).expect("ports");
        let mut all: Vec<u16> = a.iter().chain(&b).map(PortLease::port).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 10);
    }
}
