//! The watch registry: which requests are watching which server paths, how a notification
//! is routed to them, and the SetWatches batches that re-arm them after a reconnect.

use std::collections::HashMap;

use super::event::{RequestId, WatchKind};
use crate::records::{Request, SetWatches, SetWatches2};
use crate::{AddWatchMode, EventType, OpCode};

/// Watchers by kind and server path.
#[derive(Debug, Default)]
pub(crate) struct WatchRegistry {
    data: HashMap<String, Vec<RequestId>>,
    exist: HashMap<String, Vec<RequestId>>,
    child: HashMap<String, Vec<RequestId>>,
    persistent: HashMap<String, Vec<RequestId>>,
    recursive: HashMap<String, Vec<RequestId>>,
    by_id: HashMap<RequestId, (WatchKind, String)>,
}

impl WatchRegistry {
    fn map(&mut self, kind: WatchKind) -> &mut HashMap<String, Vec<RequestId>> {
        match kind {
            WatchKind::Data => &mut self.data,
            WatchKind::Exist => &mut self.exist,
            WatchKind::Child => &mut self.child,
            WatchKind::Persistent => &mut self.persistent,
            WatchKind::PersistentRecursive => &mut self.recursive,
        }
    }

    fn map_ref(&self, kind: WatchKind) -> &HashMap<String, Vec<RequestId>> {
        match kind {
            WatchKind::Data => &self.data,
            WatchKind::Exist => &self.exist,
            WatchKind::Child => &self.child,
            WatchKind::Persistent => &self.persistent,
            WatchKind::PersistentRecursive => &self.recursive,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn add(&mut self, kind: WatchKind, server_path: &str, id: RequestId) {
        self.map(kind)
            .entry(server_path.to_owned())
            .or_default()
            .push(id);
        self.by_id.insert(id, (kind, server_path.to_owned()));
    }

    /// Removes one watcher. Returns the server path of a persistent watch that no watcher
    /// needs any more and that can be removed on the server without disturbing a standard
    /// watch on the same path.
    pub(crate) fn remove(&mut self, id: RequestId) -> Option<String> {
        let (kind, path) = self.by_id.remove(&id)?;
        let map = self.map(kind);
        let now_empty = map.get_mut(&path).is_some_and(|ids| {
            ids.retain(|i| *i != id);
            ids.is_empty()
        });
        if !now_empty {
            return None;
        }
        map.remove(&path);
        let standard_remains = [WatchKind::Data, WatchKind::Exist, WatchKind::Child]
            .into_iter()
            .any(|k| self.map_ref(k).contains_key(&path));
        let persistent_remains =
            self.persistent.contains_key(&path) || self.recursive.contains_key(&path);
        (kind.is_persistent() && !standard_remains && !persistent_remains).then_some(path)
    }

    /// Removes every watcher of the kinds a successful removeWatches cleared, returning
    /// them with the event to deliver.
    pub(crate) fn remove_kinds(
        &mut self,
        server_path: &str,
        kinds: &[WatchKind],
    ) -> Vec<(RequestId, EventType)> {
        let mut removed = Vec::new();
        for &kind in kinds {
            let event = match kind {
                WatchKind::Data | WatchKind::Exist => EventType::DataWatchRemoved,
                WatchKind::Child => EventType::ChildWatchRemoved,
                WatchKind::Persistent | WatchKind::PersistentRecursive => {
                    EventType::PersistentWatchRemoved
                }
            };
            for id in self.map(kind).remove(server_path).unwrap_or_default() {
                self.by_id.remove(&id);
                removed.push((id, event));
            }
        }
        removed
    }

    fn take(&mut self, kind: WatchKind, path: &str, out: &mut Vec<RequestId>) {
        if let Some(ids) = self.map(kind).remove(path) {
            for id in &ids {
                self.by_id.remove(id);
            }
            out.extend(ids);
        }
    }

    /// The watchers a notification fires, removing the one-shot ones (as the Java
    /// client's `ZKWatchManager.materialize`). Recursive watchers never get
    /// NodeChildrenChanged (ZOOKEEPER-4475).
    pub(crate) fn fire(&mut self, event_type: EventType, path: &str) -> Vec<RequestId> {
        let mut fired = Vec::new();
        match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                self.take(WatchKind::Data, path, &mut fired);
                self.take(WatchKind::Exist, path, &mut fired);
            }
            EventType::NodeChildrenChanged => self.take(WatchKind::Child, path, &mut fired),
            EventType::NodeDeleted => {
                self.take(WatchKind::Data, path, &mut fired);
                self.take(WatchKind::Exist, path, &mut fired);
                self.take(WatchKind::Child, path, &mut fired);
            }
            _ => return fired,
        }
        if let Some(ids) = self.persistent.get(path) {
            fired.extend(ids);
        }
        if event_type != EventType::NodeChildrenChanged && !self.recursive.is_empty() {
            let mut ancestor = Some(path);
            while let Some(p) = ancestor {
                if let Some(ids) = self.recursive.get(p) {
                    fired.extend(ids);
                }
                ancestor = crate::path::parent(p);
            }
        }
        fired
    }

    /// Takes the watchers of `kind` on `path` (one-shot kinds: they fire).
    pub(crate) fn take_kind(&mut self, kind: WatchKind, path: &str) -> Vec<RequestId> {
        let mut taken = Vec::new();
        self.take(kind, path, &mut taken);
        taken
    }

    /// The paths (`path` only, or every path) with both standard child watchers and a
    /// recursive watch.
    pub(crate) fn child_paths_under_recursive(&self, path: Option<&str>) -> Vec<String> {
        match path {
            Some(path) => (self.child.contains_key(path) && self.recursive.contains_key(path))
                .then(|| path.to_owned())
                .into_iter()
                .collect(),
            None => self
                .child
                .keys()
                .filter(|p| self.recursive.contains_key(*p))
                .cloned()
                .collect(),
        }
    }

    /// The persistent watch modes registered on exactly `path`.
    pub(crate) fn persistent_modes(&self, path: &str) -> Vec<AddWatchMode> {
        let mut modes = Vec::new();
        if self.persistent.contains_key(path) {
            modes.push(AddWatchMode::Persistent);
        }
        if self.recursive.contains_key(path) {
            modes.push(AddWatchMode::PersistentRecursive);
        }
        modes
    }

    /// The server paths watched with `kind`.
    fn paths(&self, kind: WatchKind) -> impl Iterator<Item = &String> {
        self.map_ref(kind).keys()
    }

    /// The SetWatches/SetWatches2 requests that re-arm every watch, in batches whose
    /// paths total at most `batch_len` bytes (the last path of a batch may overshoot, as in
    /// the Java client). A batch without persistent watches uses SetWatches (op 101) so
    /// servers older than 3.6 accept it.
    pub(crate) fn set_watches(
        &self,
        relative_zxid: i64,
        batch_len: usize,
    ) -> Vec<(OpCode, Request)> {
        let mut batches = Vec::new();
        let mut current = SetWatches2 {
            relative_zxid,
            ..SetWatches2::default()
        };
        let mut size = 0;
        let kinds = [
            WatchKind::Data,
            WatchKind::Exist,
            WatchKind::Child,
            WatchKind::Persistent,
            WatchKind::PersistentRecursive,
        ];
        for kind in kinds {
            for path in self.paths(kind) {
                if size >= batch_len {
                    batches.push(std::mem::replace(
                        &mut current,
                        SetWatches2 {
                            relative_zxid,
                            ..SetWatches2::default()
                        },
                    ));
                    size = 0;
                }
                size += path.len();
                let list = match kind {
                    WatchKind::Data => &mut current.data_watches,
                    WatchKind::Exist => &mut current.exist_watches,
                    WatchKind::Child => &mut current.child_watches,
                    WatchKind::Persistent => &mut current.persistent_watches,
                    WatchKind::PersistentRecursive => &mut current.persistent_recursive_watches,
                };
                list.push(path.clone());
            }
        }
        if size > 0 {
            batches.push(current);
        }
        batches
            .into_iter()
            .map(|b| {
                if b.persistent_watches.is_empty() && b.persistent_recursive_watches.is_empty() {
                    let v1 = SetWatches {
                        relative_zxid: b.relative_zxid,
                        data_watches: b.data_watches,
                        exist_watches: b.exist_watches,
                        child_watches: b.child_watches,
                    };
                    (OpCode::SetWatches, Request::SetWatches(v1))
                } else {
                    (OpCode::SetWatches2, Request::SetWatches2(b))
                }
            })
            .collect()
    }

    /// Forgets every watcher (the session ended; the client ends their watchers).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> RequestId {
        RequestId(n)
    }

    #[test]
    fn one_shot_watches_fire_once_persistent_stay() {
        let mut reg = WatchRegistry::default();
        reg.add(WatchKind::Data, "/a", id(1));
        reg.add(WatchKind::Exist, "/a", id(2));
        reg.add(WatchKind::Child, "/a", id(3));
        reg.add(WatchKind::Persistent, "/a", id(4));
        reg.add(WatchKind::PersistentRecursive, "/", id(5));
        assert_eq!(
            reg.fire(EventType::NodeDataChanged, "/a"),
            [id(1), id(2), id(4), id(5)]
        );
        assert_eq!(reg.fire(EventType::NodeDataChanged, "/a"), [id(4), id(5)]);
        // Recursive watchers never see children events.
        assert_eq!(
            reg.fire(EventType::NodeChildrenChanged, "/a"),
            [id(3), id(4)]
        );
        assert_eq!(reg.fire(EventType::NodeDeleted, "/a/b"), [id(5)]);
        assert_eq!(reg.len(), 2);
    }

    #[test]
    fn delete_fires_data_exist_and_child() {
        let mut reg = WatchRegistry::default();
        reg.add(WatchKind::Data, "/a", id(1));
        reg.add(WatchKind::Child, "/a", id(2));
        assert_eq!(reg.fire(EventType::NodeDeleted, "/a"), [id(1), id(2)]);
        assert_eq!(reg.len(), 0);
    }

    #[test]
    fn removing_the_last_persistent_watcher_asks_for_server_removal() {
        let mut reg = WatchRegistry::default();
        reg.add(WatchKind::Persistent, "/p", id(1));
        reg.add(WatchKind::Persistent, "/p", id(2));
        reg.add(WatchKind::PersistentRecursive, "/q", id(3));
        reg.add(WatchKind::Data, "/q", id(4));
        assert_eq!(reg.remove(id(1)), None);
        assert_eq!(reg.remove(id(2)), Some("/p".to_owned()));
        // A standard watch on /q would be removed too by removeWatches(Any): keep it.
        assert_eq!(reg.remove(id(3)), None);
        assert_eq!(reg.remove(id(4)), None);
        assert_eq!(reg.remove(id(4)), None);
    }

    #[test]
    fn set_watches_batches_by_size_and_version() {
        let mut reg = WatchRegistry::default();
        for i in 0..10 {
            reg.add(WatchKind::Data, &format!("/data/{i:04}"), id(i));
        }
        reg.add(WatchKind::PersistentRecursive, "/r", id(100));
        let batches = reg.set_watches(7, 30);
        // 10 paths of 10 bytes: 3 per batch (the third overshoots), then the recursive one.
        let total: usize = batches
            .iter()
            .map(|(_, b)| match b {
                Request::SetWatches(s) => s.data_watches.len(),
                Request::SetWatches2(s) => {
                    s.data_watches.len() + s.persistent_recursive_watches.len()
                }
                other => panic!("unexpected {other:?}"),
            })
            .sum();
        assert_eq!(total, 11);
        assert_eq!(batches.len(), 4);
        assert!(batches[..3].iter().all(|(op, _)| *op == OpCode::SetWatches));
        assert_eq!(batches[3].0, OpCode::SetWatches2);
        assert!(batches.iter().all(|(_, b)| match b {
            Request::SetWatches(s) => s.relative_zxid == 7,
            Request::SetWatches2(s) => s.relative_zxid == 7,
            _ => false,
        }));
    }
}
