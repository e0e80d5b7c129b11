//! [`partition`]: whether items shared out under per-item locks were ever worked on by a
//! member that did not hold the item's lock.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use super::{committed, sequence};
use crate::oracle::{TxnLog, TxnOp};

/// What [`partition`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionReport {
    /// Items whose lock had at least one contender.
    pub items: usize,
    /// Lock nodes created (a member's claim on an item, one per take).
    pub claims: usize,
    /// setData of the items' work nodes committed.
    pub writes: usize,
    /// (item, lock node) pairs with at least one write: the times an item was held and
    /// worked on.
    pub holds: usize,
    /// Writes committed while the writer's session had no live lock node for the item.
    pub writes_without_lock: usize,
    /// Writes committed while another member's lock node held the item (the writer's
    /// node was live but not the lowest).
    pub stale_writes: usize,
    /// Lock nodes still alive at the end of the log.
    pub nodes_left: usize,
    /// The first write that broke the rule, described with the writer's own lock history for the item.
    pub first_violation: Option<String>,
}

impl PartitionReport {
    /// Whether every safety count is zero.
    ///
    /// ```
    /// assert!(zk_testkit::check::PartitionReport::default().is_safe());
    /// ```
    pub fn is_safe(&self) -> bool {
        self.writes_without_lock == 0 && self.stale_writes == 0 && self.nodes_left == 0
    }
}

impl fmt::Display for PartitionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} items, {} claims, {} holds, {} writes; writes without the lock {}, stale writes {}, lock nodes left {}",
            self.items,
            self.claims,
            self.holds,
            self.writes,
            self.writes_without_lock,
            self.stale_writes,
            self.nodes_left
        )?;
        match &self.first_violation {
            Some(v) => write!(f, "; first: {v}"),
            None => Ok(()),
        }
    }
}

/// Checks items shared out under per-item locks, as kazoo's `SetPartitioner` does: the
/// lock of item `x` is the sequential children of `<locks_path>/x` (the lowest live one
/// holds it), and members work on `x` by writing `<work_path>/x` from the session that
/// holds the lock (a setData; creating the work nodes is not work). A write is safe when, at its zxid, the writer's session owns the
/// lowest live lock node of that item; one from a session with no live lock node of the
/// item, or whose node was not the lowest, means two members worked on one item.
///
/// ```
/// let report = zk_testkit::check::partition(&zk_testkit::TxnLog::default(), "/p/locks", "/work");
/// assert_eq!(report.writes, 0);
/// ```
pub fn partition(log: &TxnLog, locks_path: &str, work_path: &str) -> PartitionReport {
    let locks = format!("{}/", locks_path.trim_end_matches('/'));
    let work = format!("{}/", work_path.trim_end_matches('/'));
    // `<locks>/<item>/<node>` with a sequence: (item, node name).
    let lock_node = |path: &str| {
        let (item, name) = path.strip_prefix(&locks)?.split_once('/')?;
        (!name.contains('/') && sequence(name).is_some()).then(|| item.to_owned())
    };
    let work_item = |path: &str| {
        path.strip_prefix(&work)
            .filter(|item| !item.is_empty() && !item.contains('/'))
            .map(str::to_owned)
    };
    let mut report = PartitionReport::default();
    // Per item, its live lock nodes by sequence: (sequence, path) → owner session.
    let mut live: HashMap<String, BTreeSet<(i64, String)>> = HashMap::new();
    let mut owner: HashMap<String, i64> = HashMap::new();
    let mut items: HashSet<String> = HashSet::new();
    let mut holds: HashSet<String> = HashSet::new();
    // Every lock node, for the counterexample.
    let mut history: Vec<Claim> = Vec::new();
    for txn in committed(log) {
        for e in txn {
            match &e.op {
                TxnOp::SetData { path, .. } if work_item(path).is_some() => {
                    let item = work_item(path).unwrap_or_default();
                    report.writes += 1;
                    let nodes = live.get(&item);
                    let mine = nodes.and_then(|nodes| {
                        nodes.iter().find(|(_, p)| owner.get(p) == Some(&e.session))
                    });
                    let holder = nodes.and_then(|n| n.first());
                    let violates = match mine {
                        None => {
                            report.writes_without_lock += 1;
                            true
                        }
                        Some(node) => {
                            holds.insert(node.1.clone());
                            let stale = holder != Some(node);
                            report.stale_writes += usize::from(stale);
                            stale
                        }
                    };
                    if violates && report.first_violation.is_none() {
                        let own: Vec<String> = history
                            .iter()
                            .filter(|c| c.item == item && c.session == e.session)
                            .map(Claim::to_string)
                            .collect();
                        report.first_violation = Some(format!(
                            "zxid {:#x}: session {:#x} wrote {path} while {} held the lock; \
                             its own lock nodes of {item}: {}",
                            e.zxid,
                            e.session,
                            holder.map_or("nobody", |h| h.1.as_str()),
                            if own.is_empty() {
                                "none".to_owned()
                            } else {
                                own.join(", ")
                            }
                        ));
                    }
                }
                TxnOp::Create { path, .. } => {
                    if let Some(item) = lock_node(path) {
                        report.claims += 1;
                        let seq = path.rsplit('/').next().and_then(sequence).unwrap_or(0);
                        items.insert(item.clone());
                        history.push(Claim {
                            item: item.clone(),
                            path: path.clone(),
                            session: e.session,
                            created: e.zxid,
                            ended: None,
                        });
                        live.entry(item)
                            .or_default()
                            .insert((i64::from(seq), path.clone()));
                        owner.insert(path.clone(), e.session);
                    }
                }
                TxnOp::Delete { path } => {
                    if let Some(item) = lock_node(path) {
                        if let Some(nodes) = live.get_mut(&item) {
                            nodes.retain(|(_, p)| p != path);
                        }
                        end(&mut history, |c| c.path == *path, e.zxid, "deleted");
                    }
                }
                TxnOp::CloseSession => {
                    for nodes in live.values_mut() {
                        nodes.retain(|(_, p)| owner.get(p) != Some(&e.session));
                    }
                    end(
                        &mut history,
                        |c| c.session == e.session,
                        e.zxid,
                        "session closed",
                    );
                }
                _ => {}
            }
        }
    }
    report.items = items.len();
    report.holds = holds.len();
    report.nodes_left = live.values().map(BTreeSet::len).sum();
    report
}

/// One lock node's life.
struct Claim {
    item: String,
    path: String,
    session: i64,
    created: i64,
    /// The zxid that ended it, and how.
    ended: Option<(i64, &'static str)>,
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ended {
            Some((ended, how)) => {
                write!(f, "{} [{:#x}, {ended:#x} {how})", self.path, self.created)
            }
            None => write!(f, "{} [{:#x}, alive)", self.path, self.created),
        }
    }
}

/// Ends the live claims that `which` picks, at `zxid`.
fn end(history: &mut [Claim], which: impl Fn(&Claim) -> bool, zxid: i64, how: &'static str) {
    for claim in history.iter_mut().filter(|c| c.ended.is_none() && which(c)) {
        claim.ended = Some((zxid, how));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{NodeKind, TxnEvent};

    fn event(zxid: i64, session: i64, op: TxnOp) -> TxnEvent {
        TxnEvent {
            zxid,
            index: 0,
            session,
            cxid: 0,
            time_ms: 0,
            op,
        }
    }

    fn claim(zxid: i64, session: i64, item: &str, seq: u32) -> TxnEvent {
        let path = format!("/p/locks/{item}/{session:x}__lock__{seq:010}");
        let (data, kind) = (Vec::new(), NodeKind::Ephemeral);
        event(zxid, session, TxnOp::Create { path, data, kind })
    }

    fn work(zxid: i64, session: i64, item: &str) -> TxnEvent {
        let path = format!("/work/{item}");
        let (data, version) = (Vec::new(), 1);
        event(
            zxid,
            session,
            TxnOp::SetData {
                path,
                data,
                version,
            },
        )
    }

    #[test]
    fn handing_an_item_over_is_safe_and_working_on_without_the_lock_is_not() {
        // Session 1 holds q1 and works; it expires; session 2 takes q1 and works.
        let mut events = vec![
            claim(1, 1, "q1", 0),
            work(2, 1, "q1"),
            event(3, 1, TxnOp::CloseSession),
            claim(4, 2, "q1", 1),
            work(5, 2, "q1"),
            event(6, 2, TxnOp::CloseSession),
        ];
        let report = partition(&TxnLog::from_events(events.clone()), "/p/locks", "/work");
        assert!(report.is_safe(), "{report}");
        assert_eq!(
            (report.items, report.claims, report.holds, report.writes),
            (1, 2, 2, 2)
        );

        // Session 2 claims q1 while 1 holds it and works at once: a stale write. Session 3
        // works on q1 with no claim at all.
        events.insert(1, claim(1, 2, "q1", 5));
        events.push(work(7, 3, "q1"));
        events[2] = work(2, 2, "q1");
        let report = partition(&TxnLog::from_events(events), "/p/locks", "/work");
        assert_eq!(report.stale_writes, 1, "{report}");
        assert_eq!(report.writes_without_lock, 1, "{report}");
        assert!(!report.is_safe());
        // The counterexample names the writer, the holder and the writer's own claim.
        assert_eq!(
            report.first_violation.as_deref(),
            Some(
                "zxid 0x2: session 0x2 wrote /work/q1 while /p/locks/q1/1__lock__0000000000 held \
                 the lock; its own lock nodes of q1: /p/locks/q1/2__lock__0000000005 [0x1, alive)"
            )
        );
    }

    #[test]
    fn a_lock_node_left_behind_is_counted() {
        let events = vec![claim(1, 1, "q1", 0), work(2, 1, "q1")];
        let report = partition(&TxnLog::from_events(events), "/p/locks", "/work");
        assert_eq!(report.nodes_left, 1);
        assert!(!report.is_safe());
    }
}
