//! The node names of each queue layout: what a put creates, which children are items,
//! which are due, and their order.

/// Curator's separator in delay and id queue names.
const SEPARATOR: char = '|';

/// Whose names the items have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Curator's `DistributedQueue` family: `queue-…{seq}`.
    Curator(Order),
    /// Curator's `SimpleDistributedQueue` (ZooKeeper's own recipe): `qn-{seq}`.
    Simple,
    /// kazoo's `Queue` and `LockingQueue`: `entry-{priority:03}-{seq}`.
    Kazoo,
}

/// The members of Curator's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// `DistributedQueue`: `queue-{seq}`, by name.
    Fifo,
    /// `DistributedPriorityQueue`: `queue-{1|0}{priority:08X}{seq}`, by name.
    Priority,
    /// `DistributedDelayQueue`: `queue-|{epoch ms:08X}|{seq}`, due ones by time.
    Delay,
    /// `DistributedIdQueue`: `queue-|{id}|{seq}`, by sequence.
    Id,
}

impl Layout {
    /// Whether a child of the items' path is an item (others, foreign nodes, are skipped).
    pub(crate) fn is_item(self, name: &str) -> bool {
        let prefix = match self {
            Self::Curator(_) => "queue-",
            Self::Simple => "qn-",
            Self::Kazoo => "entry-",
        };
        name.starts_with(prefix)
    }

    /// The items among `children` that are due at `now_ms` (every item, except in a delay
    /// queue), first to take first: by name, as Curator and kazoo sort them (priority,
    /// then sequence, for kazoo's and Curator's priority queues); a delay queue's by time,
    /// an id queue's by sequence.
    pub(crate) fn order(self, children: Vec<String>, now_ms: u64) -> Vec<String> {
        let mut items: Vec<String> = children.into_iter().filter(|c| self.is_item(c)).collect();
        match self {
            Self::Curator(Order::Delay) => {
                items.retain(|name| epoch_of(name).is_none_or(|epoch| epoch <= now_ms));
                items.sort_by_cached_key(|name| (epoch_of(name).unwrap_or(0), name.clone()));
            }
            Self::Curator(Order::Id) => items.sort_by_cached_key(|name| without_id(name)),
            _ => items.sort(),
        }
        items
    }

    /// When the next item of `children` that is not due at `now_ms` falls due (delay
    /// queues only).
    pub(crate) fn next_due(self, children: &[String], now_ms: u64) -> Option<u64> {
        if self != Self::Curator(Order::Delay) {
            return None;
        }
        children
            .iter()
            .filter(|c| self.is_item(c))
            .filter_map(|c| epoch_of(c))
            .filter(|epoch| *epoch > now_ms)
            .min()
    }
}

/// kazoo's item name for `priority`.
pub(crate) fn kazoo_name(priority: u16) -> String {
    format!("entry-{priority:03}-")
}

/// Curator's priority item name: `1` and the priority in 8 hex digits when it is not
/// negative, else `0` and its two's complement, so names sort by priority.
pub(crate) fn priority_name(priority: i32) -> String {
    let sign = if priority >= 0 { '1' } else { '0' };
    format!(
        "queue-{sign}{:08X}",
        u32::from_ne_bytes(priority.to_ne_bytes())
    )
}

/// Curator's delay item name: the epoch in milliseconds, in hex, between separators.
pub(crate) fn delay_name(epoch_ms: u64) -> String {
    format!("queue-{SEPARATOR}{epoch_ms:08X}{SEPARATOR}")
}

/// Curator's id item name: the id (`/` and `|` made `_`) between separators.
pub(crate) fn id_name(id: &str) -> String {
    let fixed = id.replace(['/', SEPARATOR], "_");
    format!("queue-{SEPARATOR}{fixed}{SEPARATOR}")
}

/// The id in an id queue's item name, as Curator reads it (`|`-separated).
pub(crate) fn id_of(name: &str) -> Option<&str> {
    let (_, rest) = name.split_once(SEPARATOR)?;
    let (id, _) = rest.split_once(SEPARATOR)?;
    Some(id)
}

/// The name without its `|id|` part: `queue-{seq}`, which orders an id queue.
fn without_id(name: &str) -> String {
    match (name.find(SEPARATOR), name.rfind(SEPARATOR)) {
        (Some(first), Some(last)) if last > first => {
            format!("{}{}", &name[..first], &name[last + 1..])
        }
        _ => name.to_owned(),
    }
}

/// The epoch in a delay queue's item name.
fn epoch_of(name: &str) -> Option<u64> {
    let last = name.rfind(SEPARATOR)?;
    let first = name[..last].rfind(SEPARATOR)?;
    u64::from_str_radix(&name[first + 1..last], 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn names_and_order() {
        assert_eq!(kazoo_name(5), "entry-005-");
        let children = owned(&[
            "entry-100-0000000001",
            "entry-001-0000000003",
            "taken",
            "entry-001-0000000002",
        ]);
        assert_eq!(
            Layout::Kazoo.order(children, 0),
            [
                "entry-001-0000000002",
                "entry-001-0000000003",
                "entry-100-0000000001"
            ]
        );
        let curator = owned(&["queue-0000000002", "lock", "queue-0000000001"]);
        assert_eq!(
            Layout::Curator(Order::Fifo).order(curator, 0),
            ["queue-0000000001", "queue-0000000002"]
        );
        assert!(!Layout::Simple.is_item("queue-0000000001"));
    }

    #[test]
    fn curator_priority_names_are_the_bytes_curator_writes_and_sort_by_priority() {
        assert_eq!(
            format!("{}0000000000", priority_name(5)),
            "queue-1000000050000000000"
        );
        assert_eq!(
            format!("{}0000000001", priority_name(-1)),
            "queue-0FFFFFFFF0000000001"
        );
        let names = owned(&[
            &format!("{}0000000000", priority_name(5)),
            &format!("{}0000000001", priority_name(-1)),
            &format!("{}0000000002", priority_name(i32::MIN)),
            &format!("{}0000000003", priority_name(0)),
        ]);
        let order = Layout::Curator(Order::Priority).order(names.clone(), 0);
        assert_eq!(
            order,
            [
                names[2].clone(),
                names[1].clone(),
                names[3].clone(),
                names[0].clone()
            ]
        );
    }

    #[test]
    fn a_delay_queue_gives_due_items_by_time_and_says_when_the_next_is_due() {
        let layout = Layout::Curator(Order::Delay);
        let names = owned(&[
            &format!("{}0000000000", delay_name(3000)),
            &format!("{}0000000001", delay_name(1000)),
            &format!("{}0000000002", delay_name(2000)),
        ]);
        assert_eq!(names[1], "queue-|000003E8|0000000001");
        assert_eq!(
            layout.order(names.clone(), 2000),
            [names[1].clone(), names[2].clone()]
        );
        assert_eq!(layout.next_due(&names, 2000), Some(3000));
        assert_eq!(layout.next_due(&names, 3000), None);
    }

    #[test]
    fn an_id_queue_orders_by_sequence_and_reads_its_ids() {
        let layout = Layout::Curator(Order::Id);
        let names = owned(&[
            &format!("{}0000000002", id_name("zz")),
            &format!("{}0000000001", id_name("a/b|c")),
        ]);
        assert_eq!(names[1], "queue-|a_b_c|0000000001");
        assert_eq!(
            layout.order(names.clone(), 0),
            [names[1].clone(), names[0].clone()]
        );
        assert_eq!(id_of(&names[0]), Some("zz"));
        assert_eq!(id_of("queue-0000000001"), None);
    }
}
