//! [`cache_convergence`]: whether a cache's view of a tree ended equal to the servers'.

use std::collections::BTreeMap;
use std::fmt;

/// What [`cache_convergence`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheReport {
    /// Nodes on the servers.
    pub nodes: usize,
    /// Nodes on the servers the cache does not have.
    pub missing: Vec<String>,
    /// Nodes the cache has that the servers do not (deleted, or never created).
    pub extra: Vec<String>,
    /// Nodes whose data in the cache differs from the servers'.
    pub stale: Vec<String>,
}

impl CacheReport {
    /// Whether the cache holds exactly the servers' tree.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::check::CacheReport::default().converged());
    /// ```
    pub fn converged(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.stale.is_empty()
    }
}

impl fmt::Display for CacheReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cache of {} nodes: ", self.nodes)?;
        if self.converged() {
            return f.write_str("converged");
        }
        let first = |v: &[String]| v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        write!(
            f,
            "NOT converged: {} missing [{}], {} extra [{}], {} stale [{}]",
            self.missing.len(),
            first(&self.missing),
            self.extra.len(),
            first(&self.extra),
            self.stale.len(),
            first(&self.stale)
        )
    }
}

/// Compares a cache's final view (path → data) with the servers' tree read after the
/// run (path → data, for instance by a fresh session after a `sync`): every node must be
/// there with the same data, and nothing else.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
///
/// let servers = BTreeMap::from([("/a".to_owned(), b"1".to_vec()), ("/b".to_owned(), vec![])]);
/// let mut cache = servers.clone();
/// assert!(zk_testkit::check::cache_convergence(&servers, &cache).converged());
/// cache.insert("/a".into(), b"0".to_vec());
/// cache.remove("/b");
/// let r = zk_testkit::check::cache_convergence(&servers, &cache);
/// assert_eq!((r.stale.len(), r.missing.len()), (1, 1), "{r}");
/// ```
pub fn cache_convergence(
    servers: &BTreeMap<String, Vec<u8>>,
    cache: &BTreeMap<String, Vec<u8>>,
) -> CacheReport {
    let mut r = CacheReport {
        nodes: servers.len(),
        ..CacheReport::default()
    };
    for (path, data) in servers {
        match cache.get(path) {
            None => r.missing.push(path.clone()),
            Some(seen) if seen != data => r.stale.push(path.clone()),
            Some(_) => {}
        }
    }
    r.extra = cache
        .keys()
        .filter(|p| !servers.contains_key(*p))
        .cloned()
        .collect();
    r
}
