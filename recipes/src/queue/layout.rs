//! The node names of each queue layout: what a put creates, which children are items,
//! and their order.

/// Whose names the items have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Curator's `DistributedQueue`: `queue-{seq}`.
    Curator,
    /// Curator's `SimpleDistributedQueue` (ZooKeeper's own recipe): `qn-{seq}`.
    Simple,
    /// kazoo's `Queue` and `LockingQueue`: `entry-{priority:03}-{seq}`.
    Kazoo,
}

impl Layout {
    /// The name a put creates (the server appends the sequence).
    pub(crate) fn put_name(self, priority: u16) -> String {
        match self {
            Self::Curator => "queue-".to_owned(),
            Self::Simple => "qn-".to_owned(),
            Self::Kazoo => format!("entry-{priority:03}-"),
        }
    }

    /// Whether a child of the items' path is an item (others, foreign nodes, are skipped).
    pub(crate) fn is_item(self, name: &str) -> bool {
        let prefix = match self {
            Self::Curator => "queue-",
            Self::Simple => "qn-",
            Self::Kazoo => "entry-",
        };
        name.starts_with(prefix)
    }

    /// The items among `children`, first to take first: by name, as Curator and kazoo
    /// sort them (priority, then sequence, for kazoo's).
    pub(crate) fn order(self, children: Vec<String>) -> Vec<String> {
        let mut items: Vec<String> = children.into_iter().filter(|c| self.is_item(c)).collect();
        items.sort();
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_order() {
        assert_eq!(Layout::Kazoo.put_name(5), "entry-005-");
        assert_eq!(Layout::Curator.put_name(5), "queue-");
        let children = vec![
            "entry-100-0000000001".to_owned(),
            "entry-001-0000000003".to_owned(),
            "taken".to_owned(),
            "entry-001-0000000002".to_owned(),
        ];
        assert_eq!(
            Layout::Kazoo.order(children),
            [
                "entry-001-0000000002",
                "entry-001-0000000003",
                "entry-100-0000000001"
            ]
        );
        let curator = vec![
            "queue-0000000002".to_owned(),
            "lock".to_owned(),
            "queue-0000000001".to_owned(),
        ];
        assert_eq!(
            Layout::Curator.order(curator),
            ["queue-0000000001", "queue-0000000002"]
        );
        assert!(!Layout::Simple.is_item("queue-0000000001"));
    }
}
