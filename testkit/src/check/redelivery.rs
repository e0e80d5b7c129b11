//! [`redelivery`]: what became of every item of a queue whose consumers process at least
//! once (the effect first, the removal after it), and whether every item processed twice
//! was processed again because a consumer died in between.

use std::collections::HashMap;
use std::fmt;

use super::queue::FirstClaims;
use super::{child_of, committed, sequence};
use crate::oracle::{TxnLog, TxnOp};

/// What [`redelivery`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedeliveryReport {
    /// Items put (created under the items' path).
    pub put: usize,
    /// Items removed after at least one effect: processed.
    pub processed: usize,
    /// Items still in the queue at the end of the log.
    pub left: usize,
    /// Items removed before any effect of theirs: lost to processing.
    pub lost: usize,
    /// Effects beyond the first of an item: items processed again.
    pub duplicates: usize,
    /// Of those, the ones whose earlier processing was not followed by the death (session
    /// end) of the consumer that did it before the item's removal; or effects after it.
    pub unaccounted: usize,
    /// Pairs of one producer's items claimed out of their put order.
    pub inversions: usize,
    /// The first effect that broke a rule.
    pub first_violation: Option<String>,
}

impl RedeliveryReport {
    /// Whether nothing was lost or reordered, and every duplicate is accounted for.
    ///
    /// ```
    /// assert!(zk_testkit::check::RedeliveryReport::default().is_safe());
    /// ```
    pub fn is_safe(&self) -> bool {
        self.lost == 0 && self.unaccounted == 0 && self.inversions == 0
    }
}

impl fmt::Display for RedeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} put, {} processed, {} left; lost {}, duplicates {} ({} not accounted for by a consumer's death), FIFO inversions {}",
            self.put,
            self.processed,
            self.left,
            self.lost,
            self.duplicates,
            self.unaccounted,
            self.inversions
        )?;
        match &self.first_violation {
            Some(v) => write!(f, "; first: {v}"),
            None => Ok(()),
        }
    }
}

/// One item's history.
#[derive(Debug, Default)]
struct Item {
    /// Its effects: (zxid, session).
    effects: Vec<(i64, i64)>,
    /// Its removal: (zxid, session).
    removed: Option<(i64, i64)>,
}

/// Checks a queue whose items are the sequential children of `items_path`, each holding an
/// id `<producer>/<index>` as its data, whose claims are children of `claims_path` named
/// after the item, and whose consumers first record each processing as a sequential node
/// `<effects_path>/<producer>-<index>-<seq>`, then remove the item in a later transaction.
///
/// An item removed before any effect was lost. An item processed more than once is a
/// duplicate, accounted for when every processing but the remover's last was done by a
/// session that ended after it and before the removal: a consumer that died after
/// processing. FIFO per producer as in [`queue`](super::queue).
///
/// ```
/// let log = zk_testkit::TxnLog::default();
/// let report = zk_testkit::check::redelivery(&log, "/q", "/q-claims", "/done");
/// assert_eq!(report.put, 0);
/// ```
pub fn redelivery(
    log: &TxnLog,
    items_path: &str,
    claims_path: &str,
    effects_path: &str,
) -> RedeliveryReport {
    let items_prefix = format!("{}/", items_path.trim_end_matches('/'));
    let claims = format!("{}/", claims_path.trim_end_matches('/'));
    let effects = format!("{}/", effects_path.trim_end_matches('/'));
    let mut report = RedeliveryReport::default();
    let mut order = FirstClaims::default();
    // Item name → its id key (`<producer>-<index>`), while in the queue.
    let mut live: HashMap<String, String> = HashMap::new();
    let mut history: HashMap<String, Item> = HashMap::new();
    let mut ended: HashMap<i64, i64> = HashMap::new();
    for txn in committed(log) {
        for e in txn {
            match &e.op {
                TxnOp::CloseSession => {
                    ended.entry(e.session).or_insert(e.zxid);
                }
                TxnOp::Create { path, data, .. } => {
                    if let Some(name) =
                        child_of(&items_prefix, path).filter(|n| sequence(n).is_some())
                    {
                        let id = String::from_utf8_lossy(data).into_owned();
                        report.put += 1;
                        order.put(&name, &id);
                        live.insert(name, id.replace('/', "-"));
                    } else if let Some(name) = child_of(&claims, path) {
                        order.claimed(&name, e.zxid);
                    } else if let Some(effect) = child_of(&effects, path) {
                        let key = effect.get(..effect.len().saturating_sub(10)).unwrap_or("");
                        let key = key.strip_suffix('-').unwrap_or(key);
                        let item = history.entry(key.to_owned()).or_default();
                        item.effects.push((e.zxid, e.session));
                    }
                }
                TxnOp::Delete { path } => {
                    if let Some(key) = child_of(&items_prefix, path).and_then(|n| live.remove(&n)) {
                        history.entry(key).or_default().removed = Some((e.zxid, e.session));
                    }
                }
                _ => {}
            }
        }
    }
    report.left = live.len();
    report.inversions = order.inversions();
    let mut keys: Vec<&String> = history.keys().collect();
    keys.sort();
    for key in keys {
        let item = &history[key];
        let Some((removed_at, remover)) = item.removed else {
            continue;
        };
        let mut violation = None;
        let before: Vec<&(i64, i64)> = item.effects.iter().filter(|e| e.0 < removed_at).collect();
        if before.is_empty() {
            report.lost += 1;
            violation = Some(format!(
                "{key} removed at {removed_at:#x} without an effect"
            ));
        } else {
            report.processed += 1;
        }
        report.duplicates += item.effects.len().saturating_sub(1);
        // The remover's last effect is the processing that counted.
        let counted = before.iter().rposition(|e| e.1 == remover);
        for (i, &&(at, session)) in before.iter().enumerate() {
            let died = ended
                .get(&session)
                .is_some_and(|end| at < *end && *end < removed_at);
            if Some(i) != counted && !died {
                report.unaccounted += 1;
                violation.get_or_insert_with(|| {
                    format!(
                        "{key} processed at {at:#x} by {session:#x}, which lived on past its removal at {removed_at:#x}"
                    )
                });
            }
        }
        for &(at, session) in item.effects.iter().filter(|e| e.0 >= removed_at) {
            report.unaccounted += 1;
            violation.get_or_insert_with(|| {
                format!("{key} processed at {at:#x} by {session:#x}, after its removal")
            });
        }
        if report.first_violation.is_none() {
            report.first_violation = violation;
        }
    }
    report
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

    fn create(zxid: i64, session: i64, path: &str, data: &str) -> TxnEvent {
        let (data, kind) = (data.as_bytes().to_vec(), NodeKind::Persistent);
        let path = path.into();
        event(zxid, session, TxnOp::Create { path, data, kind })
    }

    fn delete(zxid: i64, session: i64, path: &str) -> TxnEvent {
        event(zxid, session, TxnOp::Delete { path: path.into() })
    }

    /// Item p/0 processed by session 2, which dies; then by session 3, which removes it.
    fn history() -> Vec<TxnEvent> {
        vec![
            create(1, 1, "/q/qn-0000000000", "p/0"),
            create(2, 2, "/c/qn-0000000000", ""),
            create(3, 2, "/done/p-0-0000000000", ""),
            event(4, 2, TxnOp::CloseSession),
            create(5, 3, "/c/qn-0000000000", ""),
            create(6, 3, "/done/p-0-0000000001", ""),
            delete(7, 3, "/q/qn-0000000000"),
        ]
    }

    #[test]
    fn a_duplicate_after_a_consumer_died_is_accounted_for() {
        let report = redelivery(&TxnLog::from_events(history()), "/q", "/c", "/done");
        assert!(report.is_safe(), "{report}");
        assert_eq!((report.put, report.processed, report.duplicates), (1, 1, 1));
    }

    #[test]
    fn a_duplicate_by_a_live_consumer_and_a_lost_item_are_found() {
        let mut events = history();
        // Session 2 does not die.
        events.remove(3);
        events.push(create(8, 1, "/q/qn-0000000001", "p/1"));
        events.push(delete(9, 3, "/q/qn-0000000001"));
        let report = redelivery(&TxnLog::from_events(events), "/q", "/c", "/done");
        assert_eq!(report.unaccounted, 1, "{report}");
        assert_eq!(report.lost, 1, "{report}");
        assert!(!report.is_safe());
        assert!(report.first_violation.unwrap().contains("lived on"));
    }
}
