//! [`queue`]: what became of every item of a queue whose consumers put their effect in
//! the transaction that removes the item (exactly-once processing).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::{child_of, committed, sequence};
use crate::oracle::{TxnLog, TxnOp};

/// What [`queue`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueReport {
    /// Items put (created under the items' path).
    pub put: usize,
    /// Items removed together with their effect: processed exactly once.
    pub processed: usize,
    /// Items still in the queue at the end of the log.
    pub left: usize,
    /// Items removed in a transaction without an effect: taken and lost to processing.
    pub removed_without_effect: usize,
    /// Effects committed without the removal of their item.
    pub effects_without_removal: usize,
    /// Item ids whose effect was committed more than once.
    pub duplicated: usize,
    /// Pairs of one producer's items claimed out of their put order (item `k + 1` first
    /// claimed before item `k`).
    pub inversions: usize,
    /// The first transaction that broke a rule, as the log has it.
    pub first_violation: Option<String>,
}

impl QueueReport {
    /// Whether nothing was lost, duplicated or reordered.
    ///
    /// ```
    /// assert!(zk_testkit::check::QueueReport::default().is_safe());
    /// ```
    pub fn is_safe(&self) -> bool {
        self.removed_without_effect == 0
            && self.effects_without_removal == 0
            && self.duplicated == 0
            && self.inversions == 0
    }
}

impl fmt::Display for QueueReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} put, {} processed, {} left; removed without effect {}, effects without removal {}, duplicated {}, FIFO inversions {}",
            self.put,
            self.processed,
            self.left,
            self.removed_without_effect,
            self.effects_without_removal,
            self.duplicated,
            self.inversions
        )?;
        match &self.first_violation {
            Some(v) => write!(f, "; first: {v}"),
            None => Ok(()),
        }
    }
}

/// Checks a queue whose items are the sequential children of `items_path`, each holding
/// an id `<producer>/<index>` as its data, whose claims are children of `claims_path`
/// named after the item, and whose consumers commit their effect, a node
/// `<effects_path>/<producer>-<index>`, in the transaction that deletes the item.
///
/// An item removed without its effect was lost to processing; an effect without a removal,
/// or twice, was a duplicate. FIFO per producer: among one producer's items, the first
/// claim of item `k + 1` must not come before that of item `k`.
///
/// ```
/// let report = zk_testkit::check::queue(&zk_testkit::TxnLog::default(), "/q", "/q-claims", "/done");
/// assert_eq!(report.put, 0);
/// ```
pub fn queue(log: &TxnLog, items_path: &str, claims_path: &str, effects_path: &str) -> QueueReport {
    let items = format!("{}/", items_path.trim_end_matches('/'));
    let claims = format!("{}/", claims_path.trim_end_matches('/'));
    let effects = format!("{}/", effects_path.trim_end_matches('/'));
    let mut report = QueueReport::default();
    // Item name → its id, while in the queue.
    let mut live: HashMap<String, String> = HashMap::new();
    let mut order = FirstClaims::default();
    let mut effect_counts: HashMap<String, usize> = HashMap::new();
    for txn in committed(log) {
        let zxid = txn[0].zxid;
        let mut removed = Vec::new();
        let mut effects_here = Vec::new();
        for e in txn {
            match &e.op {
                TxnOp::Create { path, data, .. } => {
                    if let Some(name) = child_of(&items, path).filter(|n| sequence(n).is_some()) {
                        let id = String::from_utf8_lossy(data).into_owned();
                        report.put += 1;
                        order.put(&name, &id);
                        live.insert(name, id);
                    } else if let Some(name) = child_of(&claims, path) {
                        order.claimed(&name, zxid);
                    } else if let Some(effect) = child_of(&effects, path) {
                        effects_here.push(effect);
                    }
                }
                TxnOp::Delete { path } => {
                    if let Some(name) = child_of(&items, path) {
                        if let Some(id) = live.remove(&name) {
                            removed.push(id);
                        }
                    }
                }
                _ => {}
            }
        }
        for effect in &effects_here {
            *effect_counts.entry(effect.clone()).or_default() += 1;
        }
        let mut violates = !effects_here.is_empty() && removed.is_empty();
        for id in &removed {
            let effect = id.replace('/', "-");
            match effects_here.iter().position(|e| *e == effect) {
                Some(at) => {
                    effects_here.swap_remove(at);
                    report.processed += 1;
                }
                None => {
                    report.removed_without_effect += 1;
                    violates = true;
                }
            }
        }
        report.effects_without_removal += effects_here.len();
        violates |= !effects_here.is_empty();
        if violates && report.first_violation.is_none() {
            let ops: Vec<String> = txn
                .iter()
                .map(|e| format!("{:?} by {:#x}", e.op, e.session))
                .collect();
            report.first_violation = Some(format!("zxid {zxid:#x}: {}", ops.join(", ")));
        }
    }
    report.left = live.len();
    report.duplicated = effect_counts.values().filter(|n| **n > 1).count();
    report.inversions = order.inversions();
    report
}

/// The first claim of each producer's items, in put order: FIFO per producer.
#[derive(Debug, Default)]
pub(super) struct FirstClaims {
    /// Producer → index → first claim zxid.
    by_producer: HashMap<String, BTreeMap<u64, Option<i64>>>,
    /// Item name → (producer, index).
    keys: HashMap<String, (String, u64)>,
}

impl FirstClaims {
    /// Item `name` was put with id `<producer>/<index>`.
    pub(super) fn put(&mut self, name: &str, id: &str) {
        if let Some((producer, index)) = id.split_once('/') {
            if let Ok(index) = index.parse::<u64>() {
                let producer = producer.to_owned();
                self.by_producer
                    .entry(producer.clone())
                    .or_default()
                    .insert(index, None);
                self.keys.insert(name.to_owned(), (producer, index));
            }
        }
    }

    /// Item `name` was claimed at `zxid`.
    pub(super) fn claimed(&mut self, name: &str, zxid: i64) {
        if let Some((producer, index)) = self.keys.get(name) {
            if let Some(first) = self
                .by_producer
                .get_mut(producer)
                .and_then(|m| m.get_mut(index))
            {
                first.get_or_insert(zxid);
            }
        }
    }

    /// Pairs of consecutive items of one producer first claimed in the other order.
    pub(super) fn inversions(&self) -> usize {
        let mut inversions = 0;
        for items in self.by_producer.values() {
            let claims: Vec<Option<i64>> = items.values().copied().collect();
            for pair in claims.windows(2) {
                if let [Some(earlier), Some(later)] = pair {
                    if later < earlier {
                        inversions += 1;
                    }
                }
            }
        }
        inversions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{NodeKind, TxnEvent};

    fn event(zxid: i64, index: u32, op: TxnOp) -> TxnEvent {
        TxnEvent {
            zxid,
            index,
            session: 1,
            cxid: 0,
            time_ms: 0,
            op,
        }
    }

    fn create(zxid: i64, index: u32, path: &str, data: &str) -> TxnEvent {
        let (data, kind) = (data.as_bytes().to_vec(), NodeKind::Persistent);
        event(
            zxid,
            index,
            TxnOp::Create {
                path: path.into(),
                data,
                kind,
            },
        )
    }

    fn delete(zxid: i64, index: u32, path: &str) -> TxnEvent {
        event(zxid, index, TxnOp::Delete { path: path.into() })
    }

    /// Producer p puts items 0 and 1; a consumer claims and processes both in order.
    fn history() -> Vec<TxnEvent> {
        vec![
            create(1, 0, "/q/qn-0000000000", "p/0"),
            create(2, 0, "/q/qn-0000000001", "p/1"),
            create(3, 0, "/c/qn-0000000000", ""),
            create(4, 0, "/c/qn-0000000001", ""),
            delete(5, 0, "/q/qn-0000000000"),
            delete(5, 1, "/c/qn-0000000000"),
            create(5, 2, "/done/p-0", ""),
            delete(6, 0, "/q/qn-0000000001"),
            delete(6, 1, "/c/qn-0000000001"),
            create(6, 2, "/done/p-1", ""),
        ]
    }

    #[test]
    fn a_clean_history_is_safe() {
        let report = queue(&TxnLog::from_events(history()), "/q", "/c", "/done");
        assert!(report.is_safe(), "{report}");
        assert_eq!((report.put, report.processed, report.left), (2, 2, 0));
    }

    #[test]
    fn a_lost_item_an_extra_effect_and_an_inversion_are_found() {
        let mut events = history();
        // Item 1 removed without its effect; item 0's effect committed again alone.
        events.retain(|e| !(e.zxid == 6 && e.index == 2));
        events.push(create(7, 0, "/done/p-0", ""));
        // The claims in the other order.
        events[2].zxid = 4;
        events[3].zxid = 3;
        events.sort_by_key(|e| (e.zxid, e.index));
        let report = queue(&TxnLog::from_events(events), "/q", "/c", "/done");
        assert_eq!(report.removed_without_effect, 1, "{report}");
        assert_eq!(report.effects_without_removal, 1, "{report}");
        assert_eq!(report.duplicated, 1, "{report}");
        assert_eq!(report.inversions, 1, "{report}");
        assert!(!report.is_safe());
    }
}
