//! Connect strings (`host:port,host:port/chroot`) and the order hosts are tried in.

use std::fmt;

use crate::path::{Chroot, PathError};
use crate::rng::SplitMix64;

/// The port ZooKeeper listens on when a connect string gives none.
pub const DEFAULT_PORT: u16 = 2181;

/// The position of a host in the connect string.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct HostIndex(pub usize);

/// Whether a host is reached over plain TCP or TLS.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Scheme {
    /// Use the client's default.
    #[default]
    Default,
    /// `tcp://host:port`.
    Tcp,
    /// `tls://host:port`.
    Tls,
}

/// One server of a connect string.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Host {
    /// A host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// The client port.
    pub port: u16,
    /// The transport asked for, if any.
    pub scheme: Scheme,
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::Default => {}
            Scheme::Tcp => f.write_str("tcp://")?,
            Scheme::Tls => f.write_str("tls://")?,
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A connect string that cannot be parsed.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectStringError {
    /// No host at all.
    #[error("connect string has no host")]
    NoHost,
    /// A host entry is empty or malformed.
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    /// A port is not a number in 1..=65535.
    #[error("invalid port in {0:?}")]
    InvalidPort(String),
    /// The chroot is not a valid path.
    #[error("invalid chroot: {0}")]
    InvalidChroot(#[from] PathError),
}

/// A parsed connect string: the servers and the chroot.
///
/// ```
/// use zk_proto::hosts::{ConnectString, Scheme};
/// let cs: ConnectString = "zk1:2181,tls://zk2:2281,[::1]/app".parse()?;
/// assert_eq!(cs.hosts.len(), 3);
/// assert_eq!(cs.hosts[1].scheme, Scheme::Tls);
/// assert_eq!((cs.hosts[2].host.as_str(), cs.hosts[2].port), ("::1", 2181));
/// assert_eq!(cs.chroot.as_str(), "/app");
/// # Ok::<(), zk_proto::hosts::ConnectStringError>(())
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ConnectString {
    /// The servers, in the order given.
    pub hosts: Vec<Host>,
    /// The chroot (`/` for none).
    pub chroot: Chroot,
}

impl std::str::FromStr for ConnectString {
    type Err = ConnectStringError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // The chroot starts at the first '/' that is not part of a scheme.
        let (hosts_part, chroot) = match find_chroot(s) {
            Some(i) => (&s[..i], Chroot::new(&s[i..])?),
            None => (s, Chroot::default()),
        };
        let hosts = hosts_part
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(parse_host)
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err(ConnectStringError::NoHost);
        }
        Ok(Self { hosts, chroot })
    }
}

/// The index of the chroot's leading `/`, skipping the `//` of `scheme://` prefixes.
fn find_chroot(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"://") {
            i += 3;
            continue;
        }
        if bytes[i] == b'/' {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn parse_host(entry: &str) -> Result<Host, ConnectStringError> {
    let (scheme, rest) = if let Some(rest) = entry.strip_prefix("tcp://") {
        (Scheme::Tcp, rest)
    } else if let Some(rest) = entry.strip_prefix("tls://") {
        (Scheme::Tls, rest)
    } else {
        (Scheme::Default, entry)
    };
    let invalid = || ConnectStringError::InvalidHost(entry.to_owned());
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(invalid)?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(invalid)?)),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => (rest, None), // bare IPv6 literal
            None => (rest, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(invalid());
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| ConnectStringError::InvalidPort(entry.to_owned()))?,
    };
    Ok(Host {
        host: host.to_owned(),
        port,
        scheme,
    })
}

/// The order the session tries hosts in: shuffled once by the seeded generator, then round
/// robin, as the Java client does.
#[derive(Clone, Debug)]
pub(crate) struct HostOrder {
    order: Vec<HostIndex>,
    next: usize,
}

impl HostOrder {
    pub(crate) fn new(count: usize, rng: &mut SplitMix64) -> Self {
        let mut order: Vec<HostIndex> = (0..count.max(1)).map(HostIndex).collect();
        rng.shuffle(&mut order);
        Self { order, next: 0 }
    }

    /// The next host to dial, and whether the list wrapped around to its start.
    pub(crate) fn next_host(&mut self) -> (HostIndex, bool) {
        let host = self.order[self.next];
        self.next = (self.next + 1) % self.order.len();
        (host, self.next == 0)
    }

    /// Makes `host` the next one dialed (a read-write server found while read-only).
    pub(crate) fn prefer(&mut self, host: HostIndex) {
        if let Some(i) = self.order.iter().position(|h| *h == host) {
            self.next = i;
        }
    }

    /// The host after the next one to be dialed, for read-write probes.
    pub(crate) fn peek(&self) -> HostIndex {
        self.order[self.next]
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_style_strings() {
        let cs: ConnectString = "127.0.0.1:2181,127.0.0.1:2182".parse().unwrap();
        assert_eq!(
            cs.hosts.iter().map(|h| h.port).collect::<Vec<_>>(),
            [2181, 2182]
        );
        assert!(cs.chroot.is_root());
        let cs: ConnectString = "localhost/a/b".parse().unwrap();
        assert_eq!(
            cs.hosts[0],
            Host {
                host: "localhost".into(),
                port: 2181,
                scheme: Scheme::Default
            }
        );
        assert_eq!(cs.chroot.as_str(), "/a/b");
        let cs: ConnectString = "tcp://h:1/x".parse().unwrap();
        assert_eq!(
            (cs.hosts[0].scheme, cs.chroot.as_str()),
            (Scheme::Tcp, "/x")
        );
        assert_eq!(cs.hosts[0].to_string(), "tcp://h:1");
        let cs: ConnectString = "[fe80::1]:2000".parse().unwrap();
        assert_eq!(cs.hosts[0].to_string(), "[fe80::1]:2000");
    }

    #[test]
    fn rejects_bad_strings() {
        assert_eq!("".parse::<ConnectString>(), Err(ConnectStringError::NoHost));
        assert_eq!(
            "/app".parse::<ConnectString>(),
            Err(ConnectStringError::NoHost)
        );
        assert!(matches!(
            "h:0".parse::<ConnectString>(),
            Err(ConnectStringError::InvalidPort(_))
        ));
        assert!(matches!(
            "h:x".parse::<ConnectString>(),
            Err(ConnectStringError::InvalidPort(_))
        ));
        assert!(matches!(
            "h/app/".parse::<ConnectString>(),
            Err(ConnectStringError::InvalidChroot(_))
        ));
        assert!(matches!(
            "[::1".parse::<ConnectString>(),
            Err(ConnectStringError::InvalidHost(_))
        ));
    }

    #[test]
    fn host_order_cycles_through_every_host() {
        let mut order = HostOrder::new(3, &mut SplitMix64::new(9));
        let first: Vec<_> = (0..3).map(|_| order.next_host()).collect();
        assert!(first[2].1, "wrapped after the last host");
        let mut seen: Vec<usize> = first.iter().map(|(h, _)| h.0).collect();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2]);
        order.prefer(first[1].0);
        assert_eq!(order.next_host().0, first[1].0);
    }
}
