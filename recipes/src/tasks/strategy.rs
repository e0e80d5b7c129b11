//! How the master picks a worker for a task: [`Strategy`], and the built-in [`Random`],
//! [`RoundRobin`] and [`LeastLoaded`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

/// A live worker as the master sees it when it assigns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// The worker's id (its node is `workers/worker-<id>`).
    pub id: String,
    /// The load it last published (lower is less loaded).
    #[serde(default)]
    pub load: f64,
    /// How many tasks it takes at once (`None`: no limit).
    #[serde(default)]
    pub capacity: Option<usize>,
    /// How many tasks it holds now (counted by the master, not published).
    #[serde(skip)]
    pub assigned: usize,
}

impl WorkerInfo {
    /// Whether it can take one more task.
    ///
    /// ```
    /// let mut worker = zk_recipes::tasks::WorkerInfo::default();
    /// worker.capacity = Some(1);
    /// assert!(worker.has_room());
    /// worker.assigned = 1;
    /// assert!(!worker.has_room());
    /// ```
    pub fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| self.assigned < c)
    }

    /// Reads a worker node's data: our JSON (`{"id", "load", "capacity"}`), or
    /// ZooChestrator's (`{"id", "extraData": {"LoadFactor"}}`); any other data gives a
    /// worker of id `fallback_id` with no load and no limit.
    pub(crate) fn parse(data: &[u8], fallback_id: &str) -> Self {
        let mut info = serde_json::from_slice::<Self>(data).unwrap_or_default();
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
            if let Some(load) = value
                .pointer("/extraData/LoadFactor")
                .and_then(serde_json::Value::as_f64)
            {
                info.load = load;
            }
        }
        if info.id.is_empty() {
            fallback_id.clone_into(&mut info.id);
        }
        info
    }
}

/// Picks the worker for a task among those with room (never empty), by index.
///
/// ```
/// use zk_recipes::tasks::{Strategy, WorkerInfo};
///
/// /// Always the worker with the smallest id.
/// struct First;
///
/// impl Strategy for First {
///     fn pick(&self, _task: &str, workers: &[WorkerInfo]) -> usize {
///         (0..workers.len()).min_by_key(|i| &workers[*i].id).unwrap_or(0)
///     }
/// }
///
/// assert_eq!(First.pick("task-0000000001", &[WorkerInfo::default()]), 0);
/// ```
pub trait Strategy: Send + Sync + 'static {
    /// The index in `workers` of the worker that gets `task` (its name). An index out of
    /// range counts as the first.
    fn pick(&self, task: &str, workers: &[WorkerInfo]) -> usize;
}

/// Any worker, uniformly (ZooChestrator's default).
///
/// ```
/// use zk_recipes::tasks::{Random, Strategy, WorkerInfo};
/// let workers = vec![WorkerInfo::default(); 3];
/// assert!(Random::default().pick("task-0000000001", &workers) < 3);
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Random;

impl Strategy for Random {
    fn pick(&self, _task: &str, workers: &[WorkerInfo]) -> usize {
        let draw = uuid::Uuid::new_v4().as_u128();
        usize::try_from(draw % workers.len().max(1) as u128).unwrap_or(0)
    }
}

/// The workers in turn, by id order.
///
/// ```
/// use zk_recipes::tasks::{RoundRobin, Strategy, WorkerInfo};
/// let workers: Vec<WorkerInfo> = ["a", "b"]
///     .iter()
///     .map(|id| { let mut w = WorkerInfo::default(); w.id = id.to_string(); w })
///     .collect();
/// let rr = RoundRobin::default();
/// let picks: Vec<usize> = (0..4).map(|_| rr.pick("task", &workers)).collect();
/// assert_eq!(picks, [0, 1, 0, 1]);
/// ```
#[derive(Debug, Default)]
pub struct RoundRobin {
    last: Mutex<Option<String>>,
    fallback: AtomicUsize,
}

impl Strategy for RoundRobin {
    fn pick(&self, _task: &str, workers: &[WorkerInfo]) -> usize {
        let mut order: Vec<usize> = (0..workers.len()).collect();
        order.sort_by(|a, b| workers[*a].id.cmp(&workers[*b].id));
        let Ok(mut last) = self.last.lock() else {
            return self.fallback.fetch_add(1, Ordering::Relaxed) % workers.len().max(1);
        };
        // The first worker whose id comes after the last one picked, else the first.
        let next = last
            .as_ref()
            .and_then(|l| order.iter().find(|i| workers[**i].id > *l))
            .or_else(|| order.first())
            .copied()
            .unwrap_or(0);
        if let Some(worker) = workers.get(next) {
            *last = Some(worker.id.clone());
        }
        next
    }
}

/// The worker with the lowest published load, then the fewest tasks, then the smallest id.
///
/// ```
/// use zk_recipes::tasks::{LeastLoaded, Strategy, WorkerInfo};
/// let mut busy = WorkerInfo::default();
/// busy.load = 0.9;
/// let idle = WorkerInfo::default();
/// assert_eq!(LeastLoaded::default().pick("task", &[busy, idle]), 1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct LeastLoaded;

impl Strategy for LeastLoaded {
    fn pick(&self, _task: &str, workers: &[WorkerInfo]) -> usize {
        (0..workers.len())
            .min_by(|a, b| {
                let (a, b) = (&workers[*a], &workers[*b]);
                a.load
                    .total_cmp(&b.load)
                    .then(a.assigned.cmp(&b.assigned))
                    .then(a.id.cmp(&b.id))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_data_is_read_tolerantly() {
        let ours = WorkerInfo::parse(br#"{"id":"w1","load":0.5,"capacity":2}"#, "x");
        assert_eq!(
            (ours.id.as_str(), ours.load, ours.capacity),
            ("w1", 0.5, Some(2))
        );
        let zoochestrator = WorkerInfo::parse(br#"{"id":"w2","extraData":{"LoadFactor":3}}"#, "x");
        assert_eq!((zoochestrator.id.as_str(), zoochestrator.load), ("w2", 3.0));
        let book = WorkerInfo::parse(b"Idle", "worker-9");
        assert_eq!((book.id.as_str(), book.capacity), ("worker-9", None));
    }

    #[test]
    fn round_robin_survives_a_worker_leaving() {
        let named = |ids: &[&str]| -> Vec<WorkerInfo> {
            ids.iter()
                .map(|id| WorkerInfo {
                    id: (*id).to_owned(),
                    ..WorkerInfo::default()
                })
                .collect()
        };
        let rr = RoundRobin::default();
        assert_eq!(rr.pick("t", &named(&["a", "b", "c"])), 0);
        assert_eq!(rr.pick("t", &named(&["a", "b", "c"])), 1);
        // `b` was last; without it, `c` comes next.
        assert_eq!(rr.pick("t", &named(&["c", "a"])), 0);
        assert_eq!(rr.pick("t", &named(&["c", "a"])), 1);
    }
}
