//! [`ephemerals`]: how many nodes of one owner's name were alive at once, for recipes that
//! keep exactly one node (a persistent ephemeral node, a group member).

use std::fmt;

use crate::oracle::TxnLog;

/// What [`ephemerals`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodesReport {
    /// Nodes of the name created.
    pub created: usize,
    /// The most alive at one zxid: 1 when the node was never duplicated.
    pub max_alive: usize,
    /// Nodes still alive at the end of the log.
    pub alive_at_end: usize,
}

impl fmt::Display for NodesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created, at most {} alive at once, {} alive at the end",
            self.created, self.max_alive, self.alive_at_end
        )
    }
}

/// Counts the children of `parent` whose names contain `name` (a protected or sequential
/// node's name is made of it) over the whole log: how many were created, and the most
/// that were alive at one zxid. An ephemeral ends with its session.
///
/// ```
/// let report = zk_testkit::check::ephemerals(&zk_testkit::TxnLog::default(), "/members", "a-");
/// assert_eq!(report.max_alive, 0);
/// ```
pub fn ephemerals(log: &TxnLog, parent: &str, name: &str) -> NodesReport {
    let prefix = format!("{}/", parent.trim_end_matches('/'));
    let lives: Vec<_> = log
        .node_lifetimes()
        .into_iter()
        .filter(|life| {
            life.path
                .strip_prefix(&prefix)
                .is_some_and(|n| !n.contains('/') && n.contains(name))
        })
        .collect();
    let mut edges: Vec<(i64, i32)> = lives
        .iter()
        .flat_map(|life| {
            let end = life.ended.map(|zxid| (zxid, -1));
            std::iter::once((life.created, 1)).chain(end)
        })
        .collect();
    // An end and a start at one zxid (a multi) do not overlap.
    edges.sort_unstable();
    let (mut open, mut most) = (0i32, 0i32);
    for (_, delta) in edges {
        open += delta;
        most = most.max(open);
    }
    NodesReport {
        created: lives.len(),
        max_alive: usize::try_from(most).unwrap_or(0),
        alive_at_end: lives.iter().filter(|l| l.ended.is_none()).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{NodeKind, TxnEvent, TxnOp};

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

    fn create(zxid: i64, session: i64, path: &str) -> TxnEvent {
        let (data, kind) = (Vec::new(), NodeKind::Ephemeral);
        event(
            zxid,
            session,
            TxnOp::Create {
                path: path.into(),
                data,
                kind,
            },
        )
    }

    #[test]
    fn a_node_made_again_after_its_session_is_not_a_duplicate_but_two_at_once_are() {
        let mut events = vec![
            create(1, 1, "/m/_c_x-a-0000000000"),
            create(2, 1, "/m/_c_y-b-0000000001"),
            event(3, 1, TxnOp::CloseSession),
            create(4, 2, "/m/_c_z-a-0000000002"),
        ];
        let report = ephemerals(&TxnLog::from_events(events.clone()), "/m", "-a-");
        assert_eq!(
            (report.created, report.max_alive, report.alive_at_end),
            (2, 1, 1)
        );
        events.push(create(5, 3, "/m/_c_w-a-0000000003"));
        let report = ephemerals(&TxnLog::from_events(events), "/m", "-a-");
        assert_eq!(report.max_alive, 2, "{report}");
    }
}
