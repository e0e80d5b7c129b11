//! Checkers that read what the servers committed ([`TxnLog`]) and say whether a lock or an
//! election kept its promise, for chaos tests of lock and election recipes (ours, or any
//! library's that uses ZooKeeper's recipe: contenders are sequential children of the path,
//! the lowest holds the lock or leads): [`mutex`], [`semaphore`], [`election`]; whether
//! items shared out under per-item locks were worked on by one member at a time:
//! [`partition`]; whether a node that must exist once was ever duplicated:
//! [`ephemerals`]; and what became of every item of a queue: [`queue`] (exactly-once
//! consumers), [`redelivery`] (at-least-once consumers); whether a register's history
//! is linearizable: [`cas_register`], or [`register`] over a [`History`](crate::History);
//! whether a counter's final value is one its acknowledged and unknown additions allow:
//! [`counter`]; and whether a cache ended holding the servers' tree:
//! [`cache_convergence`].
//!
//! The evidence is the servers' own: a holder proves what it believed by *fenced writes*,
//! multis that start with a `check` of its lock node and then write the protected
//! resource. In zxid space, the lock at zxid `z` belongs to the live contender with the
//! lowest sequence; a fenced write committed at `z` is stale unless its checked node was
//! that holder. A grant is the span from a holder's first fenced write to its last.
//!
//! ```no_run
//! # async fn _demo(ensemble: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
//! let log = zk_testkit::TxnLog::read(ensemble)?;
//! let report = zk_testkit::check::mutex(&log, "/locks/orders", "/orders");
//! assert!(report.is_safe(), "{report}");
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::oracle::{TxnLog, TxnOp};

mod cache;
mod counter;
mod linearizable;
mod nodes;
mod partition;
mod queue;
mod redelivery;
mod register;

pub use cache::{CacheReport, cache_convergence};
pub use counter::{CounterReport, counter};
pub use linearizable::{
    LinearizabilityReport, RegisterCall, RegisterOp, RegisterOutcome, cas_register,
};
pub use nodes::{NodesReport, ephemerals};
pub use partition::{PartitionReport, partition};
pub use queue::{QueueReport, queue};
pub use redelivery::{RedeliveryReport, redelivery};
pub use register::register;

/// What [`mutex`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MutexReport {
    /// Contender nodes created under the lock path.
    pub contenders: usize,
    /// Holders that made at least one fenced write (grants seen by the servers).
    pub grants: usize,
    /// Fenced writes committed.
    pub fenced_writes: usize,
    /// Pairs of grants whose spans overlap in zxid space.
    pub overlapping_grants: usize,
    /// Fenced writes committed while their lock node did not exist.
    pub writes_without_node: usize,
    /// Fenced writes committed while another contender held the lock.
    pub stale_writes: usize,
    /// Contender nodes still alive at the end of the log.
    pub nodes_left: usize,
}

impl MutexReport {
    /// Whether every safety count is zero.
    ///
    /// ```
    /// assert!(zk_testkit::check::MutexReport::default().is_safe());
    /// ```
    pub fn is_safe(&self) -> bool {
        self.overlapping_grants == 0
            && self.writes_without_node == 0
            && self.stale_writes == 0
            && self.nodes_left == 0
    }
}

impl fmt::Display for MutexReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} contenders, {} grants, {} fenced writes; overlapping grants {}, writes without the node {}, stale writes {}, nodes left {}",
            self.contenders,
            self.grants,
            self.fenced_writes,
            self.overlapping_grants,
            self.writes_without_node,
            self.stale_writes,
            self.nodes_left
        )
    }
}

/// The sequence suffix of a contender name: its last ten characters, ZooKeeper's `%010d`
/// (digits, or `-` and nine digits once the counter passed 2^31; the eleven-character
/// `-2147483648` form is not told apart from a name ending in ten digits).
///
/// ```
/// assert_eq!(zk_testkit::check::sequence("_c_x-lock-0000000042"), Some(42));
/// assert_eq!(zk_testkit::check::sequence("x__lock__-000000001"), Some(-1));
/// assert_eq!(zk_testkit::check::sequence("ready"), None);
/// ```
pub fn sequence(name: &str) -> Option<i32> {
    let tail = name.get(name.len().checked_sub(10)?..)?;
    let digits = tail.strip_prefix('-').unwrap_or(tail);
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        tail.parse().ok()
    } else {
        None
    }
}

/// Checks a mutex on `lock_path` whose holders fence their writes to `resource` (a
/// `check` of their lock node, then a write under `resource`, in one multi). See the
/// module docs.
///
/// ```
/// let report = zk_testkit::check::mutex(&zk_testkit::TxnLog::default(), "/l", "/r");
/// assert_eq!(report.grants, 0);
/// ```
pub fn mutex(log: &TxnLog, lock_path: &str, resource: &str) -> MutexReport {
    let prefix = format!("{}/", lock_path.trim_end_matches('/'));
    let is_contender = |path: &str| {
        path.strip_prefix(&prefix)
            .is_some_and(|name| !name.contains('/') && sequence(name).is_some())
    };
    let mut report = MutexReport::default();
    // Live contenders by sequence, as the log is replayed.
    let mut live: BTreeMap<(i64, String), ()> = BTreeMap::new();
    let mut owner: HashMap<String, i64> = HashMap::new();
    // Per holder node: first and last fenced write.
    let mut spans: HashMap<String, (i64, i64)> = HashMap::new();
    for txn in transactions(log) {
        let zxid = txn[0].zxid;
        if let Some(node) = fenced_write(txn, is_contender, resource) {
            report.fenced_writes += 1;
            let holder = live.keys().next().map(|(_, p)| p.clone());
            if !live.keys().any(|(_, p)| *p == node) {
                report.writes_without_node += 1;
            } else if holder.as_deref() != Some(node.as_str()) {
                report.stale_writes += 1;
            }
            spans.entry(node).or_insert((zxid, zxid)).1 = zxid;
        }
        for e in txn {
            match &e.op {
                TxnOp::Create { path, .. } if is_contender(path) => {
                    report.contenders += 1;
                    let seq = path.rsplit('/').next().and_then(sequence).unwrap_or(0);
                    live.insert((i64::from(seq), path.clone()), ());
                    owner.insert(path.clone(), e.session);
                }
                TxnOp::Delete { path } if is_contender(path) => {
                    live.retain(|(_, p), ()| p != path);
                }
                TxnOp::CloseSession => {
                    live.retain(|(_, p), ()| owner.get(p) != Some(&e.session));
                }
                _ => {}
            }
        }
    }
    report.nodes_left = live.len();
    report.grants = spans.len();
    let mut ordered: Vec<(i64, i64)> = spans.into_values().collect();
    ordered.sort_unstable();
    for (k, (_, end)) in ordered.iter().enumerate() {
        report.overlapping_grants += ordered[k + 1..]
            .iter()
            .take_while(|(start, _)| start <= end)
            .count();
    }
    report
}

/// What [`election`] found: [`mutex`]'s figures in an election's words. A term is a
/// leader's span from its first fenced write to its last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ElectionReport {
    /// Participant nodes created under the election path.
    pub participants: usize,
    /// Leaders that made at least one fenced write.
    pub terms: usize,
    /// Fenced writes committed.
    pub fenced_writes: usize,
    /// Pairs of terms that overlap in zxid space (two leaders at once).
    pub overlapping_terms: usize,
    /// Fenced writes committed while their participant node did not exist.
    pub writes_without_node: usize,
    /// Fenced writes of a deposed leader committed while another participant led.
    pub stale_writes: usize,
    /// Participant nodes still alive at the end of the log.
    pub nodes_left: usize,
}

impl ElectionReport {
    /// Whether every safety count is zero.
    ///
    /// ```
    /// assert!(zk_testkit::check::ElectionReport::default().is_safe());
    /// ```
    pub fn is_safe(&self) -> bool {
        self.overlapping_terms == 0
            && self.writes_without_node == 0
            && self.stale_writes == 0
            && self.nodes_left == 0
    }
}

impl fmt::Display for ElectionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} participants, {} terms, {} fenced writes; overlapping terms {}, writes without the node {}, stale writes {}, nodes left {}",
            self.participants,
            self.terms,
            self.fenced_writes,
            self.overlapping_terms,
            self.writes_without_node,
            self.stale_writes,
            self.nodes_left
        )
    }
}

/// Checks a leader election on `election_path` (ZooKeeper's recipe, as Curator's
/// `LeaderLatch` and `LeaderSelector` lay it out: the lowest sequential child leads) whose
/// leaders fence their writes to `resource`: at most one leader per term in zxid space,
/// and no write of a deposed leader accepted. The same replay as [`mutex`].
///
/// ```
/// let report = zk_testkit::check::election(&zk_testkit::TxnLog::default(), "/e", "/r");
/// assert!(report.is_safe() && report.terms == 0);
/// ```
pub fn election(log: &TxnLog, election_path: &str, resource: &str) -> ElectionReport {
    let m = mutex(log, election_path, resource);
    ElectionReport {
        participants: m.contenders,
        terms: m.grants,
        fenced_writes: m.fenced_writes,
        overlapping_terms: m.overlapping_grants,
        writes_without_node: m.writes_without_node,
        stale_writes: m.stale_writes,
        nodes_left: m.nodes_left,
    }
}

/// What [`semaphore`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SemaphoreReport {
    /// Lease nodes created.
    pub leases: usize,
    /// Lease holders that made at least one fenced write.
    pub grants: usize,
    /// Fenced writes committed.
    pub fenced_writes: usize,
    /// The most grants whose spans (first to last fenced write) cover one zxid.
    pub max_concurrent: usize,
    /// Fenced writes committed while their lease node did not exist.
    pub writes_without_node: usize,
    /// Lease nodes still alive at the end of the log.
    pub nodes_left: usize,
}

impl fmt::Display for SemaphoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} leases, {} grants, {} fenced writes; at most {} at once, writes without the lease {}, leases left {}",
            self.leases,
            self.grants,
            self.fenced_writes,
            self.max_concurrent,
            self.writes_without_node,
            self.nodes_left
        )
    }
}

/// Checks a semaphore whose lease nodes are the children of `leases_path` and whose
/// holders fence their writes to `resource` with a `check` of their lease node: how many
/// held at once (by the spans of their fenced writes), and whether any wrote without its
/// lease.
///
/// ```
/// let report = zk_testkit::check::semaphore(&zk_testkit::TxnLog::default(), "/s/leases", "/r");
/// assert_eq!(report.max_concurrent, 0);
/// ```
pub fn semaphore(log: &TxnLog, leases_path: &str, resource: &str) -> SemaphoreReport {
    let prefix = format!("{}/", leases_path.trim_end_matches('/'));
    let is_lease = |path: &str| path.strip_prefix(&prefix).is_some_and(|n| !n.contains('/'));
    let mut report = SemaphoreReport::default();
    let mut live: HashMap<String, i64> = HashMap::new();
    let mut spans: HashMap<String, (i64, i64)> = HashMap::new();
    for txn in transactions(log) {
        let zxid = txn[0].zxid;
        if let Some(node) = fenced_write(txn, is_lease, resource) {
            report.fenced_writes += 1;
            if !live.contains_key(&node) {
                report.writes_without_node += 1;
            }
            spans.entry(node).or_insert((zxid, zxid)).1 = zxid;
        }
        for e in txn {
            match &e.op {
                TxnOp::Create { path, .. } if is_lease(path) => {
                    report.leases += 1;
                    live.insert(path.clone(), e.session);
                }
                TxnOp::Delete { path } => {
                    live.remove(path);
                }
                TxnOp::CloseSession => live.retain(|_, owner| *owner != e.session),
                _ => {}
            }
        }
    }
    report.nodes_left = live.len();
    report.grants = spans.len();
    let mut edges: Vec<(i64, i32)> = spans
        .values()
        .flat_map(|(start, end)| [(*start, 1), (*end, -1)])
        .collect();
    // Starts before ends at the same zxid: spans that touch count as overlapping.
    edges.sort_unstable_by_key(|(zxid, delta)| (*zxid, -delta));
    let mut open = 0i32;
    for (_, delta) in edges {
        open += delta;
        report.max_concurrent = report
            .max_concurrent
            .max(usize::try_from(open).unwrap_or(0));
    }
    report
}

/// The log's transactions: the events of one zxid together (a multi's members).
fn transactions(log: &TxnLog) -> impl Iterator<Item = &[crate::oracle::TxnEvent]> {
    log.events().chunk_by(|a, b| a.zxid == b.zxid)
}

/// The log's transactions that did not fail.
fn committed(log: &TxnLog) -> impl Iterator<Item = &[crate::oracle::TxnEvent]> {
    transactions(log).filter(|txn| !failed(txn))
}

/// The name of `path` when it is a direct child of `prefix` (a folder with its `/`).
fn child_of(prefix: &str, path: &str) -> Option<String> {
    path.strip_prefix(prefix)
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .map(str::to_owned)
}

/// The node a committed fenced write checked: a `check` of a node `is_node` accepts, and a
/// change under `resource`, in one transaction that did not fail.
fn fenced_write(
    txn: &[crate::oracle::TxnEvent],
    is_node: impl Fn(&str) -> bool,
    resource: &str,
) -> Option<String> {
    if !writes(txn, resource) || failed(txn) {
        return None;
    }
    txn.iter().find_map(|e| match &e.op {
        TxnOp::Check { path, .. } if is_node(path) => Some(path.clone()),
        _ => None,
    })
}

/// Whether a transaction changes `resource` or a node below it.
fn writes(txn: &[crate::oracle::TxnEvent], resource: &str) -> bool {
    txn.iter().any(|e| match &e.op {
        TxnOp::SetData { path, .. } | TxnOp::Create { path, .. } | TxnOp::Delete { path } => {
            path == resource || path.starts_with(&format!("{resource}/"))
        }
        _ => false,
    })
}

/// Whether a transaction failed (a multi with an error member).
fn failed(txn: &[crate::oracle::TxnEvent]) -> bool {
    txn.iter().any(|e| matches!(e.op, TxnOp::Error { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{NodeKind, TxnEvent};

    fn event(zxid: i64, index: u32, session: i64, op: TxnOp) -> TxnEvent {
        TxnEvent {
            zxid,
            index,
            session,
            cxid: 0,
            time_ms: 0,
            op,
        }
    }

    fn create(zxid: i64, session: i64, path: &str) -> TxnEvent {
        let kind = NodeKind::Ephemeral;
        event(
            zxid,
            0,
            session,
            TxnOp::Create {
                path: path.into(),
                data: Vec::new(),
                kind,
            },
        )
    }

    fn fenced(zxid: i64, node: &str) -> [TxnEvent; 2] {
        let check = TxnOp::Check {
            path: node.into(),
            version: 0,
        };
        let set = TxnOp::SetData {
            path: "/r".into(),
            data: Vec::new(),
            version: 1,
        };
        [event(zxid, 0, 1, check), event(zxid, 1, 1, set)]
    }

    #[test]
    fn a_clean_history_is_safe_and_a_stale_write_is_counted() {
        let a = "/l/_c_a-lock-0000000000";
        let b = "/l/_c_b-lock-0000000001";
        let mut events = vec![create(1, 1, a), create(2, 2, b)];
        events.extend(fenced(3, a));
        events.push(event(4, 0, 1, TxnOp::Delete { path: a.into() }));
        events.extend(fenced(5, b));
        events.push(event(6, 0, 2, TxnOp::Delete { path: b.into() }));
        let report = mutex(&TxnLog::from_events(events), "/l", "/r");
        assert!(report.is_safe(), "{report}");
        assert_eq!(
            (report.grants, report.fenced_writes, report.contenders),
            (2, 2, 2)
        );

        // b writes while a holds: a stale write, and two grants that overlap.
        let mut events = vec![create(1, 1, a), create(2, 2, b)];
        events.extend(fenced(3, b));
        events.extend(fenced(4, a));
        events.push(event(5, 0, 1, TxnOp::Delete { path: a.into() }));
        events.extend(fenced(6, b));
        events.push(event(7, 0, 2, TxnOp::Delete { path: b.into() }));
        let report = mutex(&TxnLog::from_events(events), "/l", "/r");
        assert_eq!(report.stale_writes, 1, "{report}");
        assert_eq!(report.overlapping_grants, 1, "{report}");
        assert!(!report.is_safe());
    }

    #[test]
    fn a_deposed_leaders_write_is_a_stale_write() {
        let a = "/l/_c_a-latch-0000000000";
        let b = "/l/_c_b-latch-0000000001";
        // a leads and writes; b leads once a's node is gone; a's late write is stale.
        let mut events = vec![create(1, 1, a), create(2, 2, b)];
        events.extend(fenced(3, a));
        events.push(event(4, 0, 1, TxnOp::Delete { path: a.into() }));
        events.extend(fenced(5, b));
        let report = election(&TxnLog::from_events(events.clone()), "/l", "/r");
        assert_eq!((report.terms, report.participants), (2, 2));
        assert_eq!(report.nodes_left, 1);
        events.push(event(6, 0, 2, TxnOp::Delete { path: b.into() }));
        assert!(election(&TxnLog::from_events(events.clone()), "/l", "/r").is_safe());
        events.extend(fenced(7, a));
        let report = election(&TxnLog::from_events(events), "/l", "/r");
        assert_eq!(report.writes_without_node, 1, "{report}");
        assert!(!report.is_safe());
    }

    #[test]
    fn two_leaders_at_once_are_found() {
        let a = "/l/_c_a-latch-0000000000";
        let b = "/l/_c_b-latch-0000000001";
        // b writes as leader while a, the lowest, still leads and writes.
        let mut events = vec![create(1, 1, a), create(2, 2, b)];
        events.extend(fenced(3, a));
        events.extend(fenced(4, b));
        events.extend(fenced(5, a));
        let report = election(&TxnLog::from_events(events), "/l", "/r");
        assert_eq!(report.stale_writes, 1, "{report}");
        assert!(report.overlapping_terms >= 1, "{report}");
        assert!(!report.is_safe());
    }

    #[test]
    fn concurrent_lease_spans_are_counted() {
        let lease = |n: usize| format!("/s/leases/_c_{n}-lease-000000000{n}");
        let fence = |zxid, n: usize| {
            let check = TxnOp::Check {
                path: lease(n),
                version: 0,
            };
            let set = TxnOp::SetData {
                path: "/r".into(),
                data: Vec::new(),
                version: 1,
            };
            [event(zxid, 0, 1, check), event(zxid, 1, 1, set)]
        };
        let mut events = vec![create(1, 1, &lease(1)), create(2, 2, &lease(2))];
        events.extend(fence(3, 1));
        events.extend(fence(4, 2));
        events.extend(fence(5, 1));
        events.extend(fence(6, 2));
        events.push(event(7, 0, 1, TxnOp::CloseSession));
        events.push(event(8, 0, 2, TxnOp::CloseSession));
        let report = semaphore(&TxnLog::from_events(events), "/s/leases", "/r");
        assert_eq!(report.max_concurrent, 2, "{report}");
        assert_eq!((report.grants, report.nodes_left), (2, 0));
    }

    #[test]
    fn nodes_left_and_session_close() {
        let a = "/l/_c_a-lock-0000000000";
        let events = vec![create(1, 7, a), event(2, 0, 7, TxnOp::CloseSession)];
        assert_eq!(
            mutex(&TxnLog::from_events(events), "/l", "/r").nodes_left,
            0
        );
        let events = vec![create(1, 7, a)];
        assert_eq!(
            mutex(&TxnLog::from_events(events), "/l", "/r").nodes_left,
            1
        );
    }
}
