//! The cache as a state machine without I/O: watch events and read replies go in; the
//! reads to send and the cache events to report come out. The driver (`driver.rs`) sends
//! the reads, in order, and feeds their replies back in the same order.
//!
//! The rule that keeps it right: nothing is trusted but a read. A watch event only says
//! *which* node to read again; the reply says what the node is now, and it is never older
//! than the event (replies and events come in server order on one session). A node whose
//! read says "no node" is removed with whatever is left below it. A reconnect reads every
//! known node again and walks the tree for new ones, so what was missed is found.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};

use bytes::Bytes;
use zk_client::{EventType, Stat};

use super::{CacheEvent, ChildData, Snapshot};

/// A read the cache needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// The node's data and Stat (or Stat only); with `walk`, its children are read next
    /// when it has any and the depth allows.
    Node { path: Arc<str>, walk: bool },
    /// The node's children: those not in the cache yet are read, walking.
    Children { path: Arc<str> },
}

/// What a read returned.
#[derive(Debug)]
pub(crate) enum Reply {
    Node(Option<(Option<Bytes>, Stat)>),
    Children(Option<Vec<String>>),
}

/// Which paths a cache keeps.
pub(crate) type PathFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Which nodes to keep.
#[derive(Clone)]
pub(crate) struct Scope {
    pub(crate) root: Arc<str>,
    /// Levels below the root (0: the root only).
    pub(crate) max_depth: usize,
    pub(crate) filter: Option<PathFilter>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("root", &self.root)
            .field("max_depth", &self.max_depth)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl Scope {
    /// The depth of `path` below the root, if it is the root or below it.
    pub(crate) fn depth(&self, path: &str) -> Option<usize> {
        if path == &*self.root {
            return Some(0);
        }
        let rest = if &*self.root == "/" {
            path.strip_prefix('/')?
        } else {
            path.strip_prefix(&*self.root)?.strip_prefix('/')?
        };
        (!rest.is_empty()).then(|| rest.split('/').count())
    }

    /// Whether `path` belongs in the cache.
    pub(crate) fn keeps(&self, path: &str) -> bool {
        self.depth(path).is_some_and(|d| d <= self.max_depth)
            && self.filter.as_ref().is_none_or(|keep| keep(path))
    }

    fn child(&self, parent: &str, name: &str) -> Arc<str> {
        if parent == "/" {
            format!("/{name}").into()
        } else {
            format!("{parent}/{name}").into()
        }
    }
}

/// The cached nodes by path.
pub(crate) type Nodes = BTreeMap<Arc<str>, ChildData>;

/// The cached nodes, shared by the cache's task and its handle: the task changes the map
/// in place, and a snapshot is a clone of the `Arc` (so the map is copied only when it
/// changes while a snapshot is held).
pub(crate) type Shelf = Arc<StdMutex<Arc<Nodes>>>;

/// The cached tree, and what it still has to read.
#[derive(Debug)]
pub(crate) struct TreeState {
    scope: Scope,
    nodes: Shelf,
    /// Reads to send, in order.
    pending: VecDeque<Read>,
    /// Events to report, in order.
    events: VecDeque<CacheEvent>,
}

impl TreeState {
    pub(crate) fn new(scope: Scope, nodes: Shelf) -> Self {
        Self {
            scope,
            nodes,
            pending: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Reads the whole tree: the root, walking, and every node known (a sync, at the
    /// start and after a reconnect).
    pub(crate) fn sync(&mut self) {
        let root = self.scope.root.clone();
        self.pending.push_back(Read::Node {
            path: root.clone(),
            walk: true,
        });
        let known: Vec<Arc<str>> = self
            .nodes()
            .keys()
            .filter(|p| **p != root)
            .cloned()
            .collect();
        for path in known {
            self.pending.push_back(Read::Node { path, walk: true });
        }
    }

    /// A watch event: read the node it names again.
    pub(crate) fn on_event(&mut self, event_type: EventType, path: &str) {
        if !self.scope.keeps(path) {
            return;
        }
        let walk = matches!(event_type, EventType::NodeCreated | EventType::NodeDeleted);
        let data = matches!(event_type, EventType::NodeDataChanged);
        if walk || data {
            self.pending.push_back(Read::Node {
                path: path.into(),
                walk,
            });
        }
    }

    /// The reply to `read` (the oldest read sent and not answered yet).
    pub(crate) fn on_reply(&mut self, read: Read, reply: Reply) {
        match (read, reply) {
            (Read::Node { path, walk }, Reply::Node(Some((data, stat)))) => {
                let depth = self.scope.depth(&path).unwrap_or(usize::MAX);
                if walk && stat.num_children > 0 && depth < self.scope.max_depth {
                    self.pending
                        .push_back(Read::Children { path: path.clone() });
                }
                self.upsert(path, data, stat);
            }
            (Read::Node { path, .. }, Reply::Node(None)) => self.remove(&path),
            (Read::Children { path }, Reply::Children(Some(children))) => {
                for name in children {
                    let child = self.scope.child(&path, &name);
                    if self.scope.keeps(&child) && !self.nodes().contains_key(&child) {
                        self.pending.push_back(Read::Node {
                            path: child,
                            walk: true,
                        });
                    }
                }
            }
            // Gone meanwhile: its own read or event says so.
            (Read::Children { .. }, Reply::Children(None)) => {}
            // A reply of the wrong kind cannot come from the driver.
            (Read::Node { .. }, Reply::Children(_)) | (Read::Children { .. }, Reply::Node(_)) => {}
        }
    }

    /// The shared map, locked.
    fn nodes(&self) -> MutexGuard<'_, Arc<Nodes>> {
        lock(&self.nodes)
    }

    fn upsert(&mut self, path: Arc<str>, data: Option<Bytes>, stat: Stat) {
        let new = ChildData {
            path: path.clone(),
            data,
            stat,
        };
        let mut nodes = lock(&self.nodes);
        match nodes.get(&path) {
            Some(old) if old.stat.mzxid == stat.mzxid && old.stat.czxid == stat.czxid => {
                // Same version of the same node: only the children's count may differ.
                if old.stat != stat {
                    Arc::make_mut(&mut nodes).insert(path, new);
                }
            }
            Some(old) => {
                let old = old.clone();
                Arc::make_mut(&mut nodes).insert(path, new.clone());
                self.events.push_back(CacheEvent::Updated { old, new });
            }
            None => {
                Arc::make_mut(&mut nodes).insert(path, new.clone());
                self.events.push_back(CacheEvent::Added(new));
            }
        }
    }

    /// Removes `path` and whatever is left below it, deepest first.
    fn remove(&mut self, path: &str) {
        let below = format!("{}/", path.trim_end_matches('/'));
        let mut nodes = lock(&self.nodes);
        // Every key that starts with `below` sorts from `below` on, without a gap.
        let mut gone: Vec<Arc<str>> = nodes
            .range::<str, _>((
                std::ops::Bound::Included(below.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(p, _)| p.starts_with(&below))
            .map(|(p, _)| p.clone())
            .collect();
        gone.reverse();
        if nodes.contains_key(path) {
            gone.push(path.into());
        }
        if gone.is_empty() {
            return;
        }
        let nodes = Arc::make_mut(&mut nodes);
        for p in gone {
            if let Some(old) = nodes.remove(&p) {
                self.events.push_back(CacheEvent::Removed(old));
            }
        }
    }

    /// The next read to send.
    pub(crate) fn next_read(&mut self) -> Option<Read> {
        self.pending.pop_front()
    }

    /// The next event to report.
    pub(crate) fn next_event(&mut self) -> Option<CacheEvent> {
        self.events.pop_front()
    }

    /// A snapshot: shares the tree, copies nothing.
    #[cfg(test)]
    fn snapshot(&self) -> Snapshot {
        snapshot(&self.nodes)
    }
}

/// The map, whatever a panicking holder of the lock left.
fn lock(nodes: &Shelf) -> MutexGuard<'_, Arc<Nodes>> {
    nodes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A snapshot of `nodes`: shares the tree, copies nothing.
pub(crate) fn snapshot(nodes: &Shelf) -> Snapshot {
    Snapshot {
        nodes: lock(nodes).clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(depth: usize) -> Scope {
        Scope {
            root: "/r".into(),
            max_depth: depth,
            filter: None,
        }
    }

    fn stat(czxid: i64, mzxid: i64, children: i32) -> Stat {
        Stat {
            czxid,
            mzxid,
            num_children: children,
            ..Stat::default()
        }
    }

    fn node(data: &str, s: Stat) -> Reply {
        Reply::Node(Some((Some(Bytes::copy_from_slice(data.as_bytes())), s)))
    }

    /// Answers every pending read from `tree` (path → (data, stat, children)).
    fn serve(state: &mut TreeState, tree: &BTreeMap<&str, (&str, Stat, Vec<&str>)>) {
        while let Some(read) = state.next_read() {
            let reply = match &read {
                Read::Node { path, .. } => match tree.get(&**path) {
                    Some((d, s, _)) => node(d, *s),
                    None => Reply::Node(None),
                },
                Read::Children { path } => Reply::Children(
                    tree.get(&**path)
                        .map(|(_, _, c)| c.iter().map(|s| (*s).to_owned()).collect()),
                ),
            };
            state.on_reply(read, reply);
        }
    }

    fn events(state: &mut TreeState) -> Vec<String> {
        std::iter::from_fn(|| state.next_event())
            .map(|e| match e {
                CacheEvent::Added(n) => format!("+{}", n.path),
                CacheEvent::Updated { new, .. } => format!("~{}", new.path),
                CacheEvent::Removed(n) => format!("-{}", n.path),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn depth_and_scope() {
        let s = scope(1);
        assert_eq!(s.depth("/r"), Some(0));
        assert_eq!(s.depth("/r/a"), Some(1));
        assert_eq!(s.depth("/r/a/b"), Some(2));
        assert_eq!(s.depth("/ra"), None);
        assert!(s.keeps("/r/a") && !s.keeps("/r/a/b"));
        let top = Scope {
            root: "/".into(),
            max_depth: 1,
            filter: None,
        };
        assert_eq!(top.depth("/a"), Some(1));
        assert_eq!(top.child("/", "a").as_ref(), "/a");
    }

    #[test]
    fn a_sync_walks_the_tree_to_its_depth() {
        let mut tree = BTreeMap::new();
        tree.insert("/r", ("root", stat(1, 1, 2), vec!["a", "b"]));
        tree.insert("/r/a", ("a", stat(2, 2, 1), vec!["x"]));
        tree.insert("/r/b", ("b", stat(3, 3, 0), vec![]));
        tree.insert("/r/a/x", ("x", stat(4, 4, 0), vec![]));
        let mut state = TreeState::new(scope(1), Shelf::default());
        state.sync();
        serve(&mut state, &tree);
        assert_eq!(events(&mut state), ["+/r", "+/r/a", "+/r/b"]);
        let mut deep = TreeState::new(scope(5), Shelf::default());
        deep.sync();
        serve(&mut deep, &tree);
        assert_eq!(deep.snapshot().len(), 4);
    }

    #[test]
    fn events_are_read_again_and_a_missed_deletion_is_found_by_a_sync() {
        let mut tree = BTreeMap::new();
        tree.insert("/r", ("root", stat(1, 1, 1), vec!["a"]));
        tree.insert("/r/a", ("a", stat(2, 2, 0), vec![]));
        let mut state = TreeState::new(scope(3), Shelf::default());
        state.sync();
        serve(&mut state, &tree);
        events(&mut state);
        // A change: the event names the node, the read says what it is.
        tree.insert("/r/a", ("a2", stat(2, 5, 0), vec![]));
        state.on_event(EventType::NodeDataChanged, "/r/a");
        serve(&mut state, &tree);
        assert_eq!(events(&mut state), ["~/r/a"]);
        // A repeated event for the same version reports nothing.
        state.on_event(EventType::NodeDataChanged, "/r/a");
        serve(&mut state, &tree);
        assert!(events(&mut state).is_empty());
        // While disconnected: a deleted and a new node; the sync finds both.
        tree.remove("/r/a");
        tree.insert("/r", ("root", stat(1, 1, 1), vec!["b"]));
        tree.insert("/r/b", ("b", stat(7, 7, 0), vec![]));
        state.sync();
        serve(&mut state, &tree);
        let mut seen = events(&mut state);
        seen.sort();
        assert_eq!(seen, ["+/r/b", "-/r/a"]);
    }

    #[test]
    fn a_root_deleted_and_made_again_ends_with_the_new_tree() {
        let mut tree = BTreeMap::new();
        tree.insert("/r", ("root", stat(1, 1, 1), vec!["a"]));
        tree.insert("/r/a", ("a", stat(2, 2, 0), vec![]));
        let mut state = TreeState::new(scope(3), Shelf::default());
        state.sync();
        serve(&mut state, &tree);
        events(&mut state);
        let before = state.snapshot();
        tree.clear();
        state.on_event(EventType::NodeDeleted, "/r/a");
        state.on_event(EventType::NodeDeleted, "/r");
        serve(&mut state, &tree);
        assert_eq!(events(&mut state), ["-/r/a", "-/r"]);
        tree.insert("/r", ("again", stat(9, 9, 0), vec![]));
        state.on_event(EventType::NodeCreated, "/r");
        serve(&mut state, &tree);
        assert_eq!(events(&mut state), ["+/r"]);
        // The earlier snapshot is untouched: snapshots share, they do not alias.
        assert_eq!(before.len(), 2);
        assert_eq!(state.snapshot().len(), 1);
    }

    #[test]
    fn a_deleted_node_takes_what_is_left_below_it() {
        let mut tree = BTreeMap::new();
        tree.insert("/r", ("root", stat(1, 1, 1), vec!["a"]));
        tree.insert("/r/a", ("a", stat(2, 2, 1), vec!["x"]));
        tree.insert("/r/a/x", ("x", stat(3, 3, 0), vec![]));
        tree.insert("/r/ab", ("ab", stat(4, 4, 0), vec![]));
        tree.insert("/r/a-b", ("a-b", stat(5, 5, 0), vec![]));
        let mut state = TreeState::new(scope(3), Shelf::default());
        state.sync();
        serve(&mut state, &tree);
        state.on_event(EventType::NodeCreated, "/r/ab");
        state.on_event(EventType::NodeCreated, "/r/a-b");
        serve(&mut state, &tree);
        events(&mut state);
        tree.remove("/r/a");
        state.on_event(EventType::NodeDeleted, "/r/a");
        serve(&mut state, &tree);
        assert_eq!(events(&mut state), ["-/r/a/x", "-/r/a"]);
        assert!(state.snapshot().get("/r/ab").is_some());
        assert!(state.snapshot().get("/r/a-b").is_some());
    }

    #[test]
    fn curator_476_a_child_deleted_between_the_listing_and_its_read_is_never_added() {
        let mut tree = BTreeMap::new();
        tree.insert("/r", ("root", stat(1, 1, 2), vec!["a", "b"]));
        tree.insert("/r/a", ("a", stat(2, 2, 0), vec![]));
        tree.insert("/r/b", ("b", stat(3, 3, 0), vec![]));
        let mut state = TreeState::new(scope(3), Shelf::default());
        state.sync();
        // The root and its listing are answered; then b goes before its own read.
        for _ in 0..2 {
            let read = state.next_read().expect("a read");
            let reply = match &read {
                Read::Node { .. } => node("root", stat(1, 1, 2)),
                Read::Children { .. } => Reply::Children(Some(vec!["a".into(), "b".into()])),
            };
            state.on_reply(read, reply);
        }
        tree.remove("/r/b");
        serve(&mut state, &tree);
        assert_eq!(events(&mut state), ["+/r", "+/r/a"]);
        assert!(state.snapshot().get("/r/b").is_none());
        // Its deletion event, when it comes, reports nothing either.
        state.on_event(EventType::NodeDeleted, "/r/b");
        serve(&mut state, &tree);
        assert!(events(&mut state).is_empty());
    }

    #[test]
    fn a_node_made_again_with_the_same_version_and_data_is_an_update() {
        let mut tree = BTreeMap::new();
        tree.insert("/r", ("root", stat(1, 1, 1), vec!["a"]));
        tree.insert("/r/a", ("same", stat(2, 2, 0), vec![]));
        let mut state = TreeState::new(scope(3), Shelf::default());
        state.sync();
        serve(&mut state, &tree);
        events(&mut state);
        // Deleted and made again while disconnected: version 0 and the same data again,
        // but another node (another czxid); the sync after the reconnect sees it.
        tree.insert("/r/a", ("same", stat(8, 8, 0), vec![]));
        state.sync();
        serve(&mut state, &tree);
        let seen: Vec<CacheEvent> = std::iter::from_fn(|| state.next_event()).collect();
        match &seen[..] {
            [CacheEvent::Updated { old, new }] => {
                assert_eq!((old.stat.czxid, new.stat.czxid), (2, 8));
                assert_eq!(old.stat.version, new.stat.version);
            }
            other => panic!("{other:?}"),
        }
    }
}
