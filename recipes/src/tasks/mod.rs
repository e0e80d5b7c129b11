//! A master-worker task manager on the layout of *ZooKeeper: Distributed Process
//! Coordination* (Junqueira and Reed) and ZooChestrator, with every move fenced.
//!
//! A [`TaskScope`] is one namespace of tasks; a process may join several, as a master
//! candidate ([`Master`]), a worker ([`Worker`]), a submitter, or all three:
//!
//! | path | mode | data |
//! |---|---|---|
//! | `<scope>/master/_c_{uuid}-latch-{seq}` | ES | a [`LeaderLatch`](crate::election::LeaderLatch): the master's id |
//! | `<scope>/workers/worker-<id>` | E | JSON `{"id", "load", "capacity"}` |
//! | `<scope>/tasks/task-{metadata}-{seq}` | PS | the task's data: waiting for a worker |
//! | `<scope>/assign/worker-<id>/<task>` | P | the task's data: assigned to that worker |
//! | `<scope>/running/<task>` | E | the worker's id, while its application has the task |
//! | `<scope>/status/<task>` | P | the result of a completed task |
//! | `<scope>/failed/<task>` | P | why a task failed |
//! | `<scope>/attempts/<task>` | P | how many earlier runs of the task ended without an outcome |
//!
//! - **Only the master assigns**, and each move is one transaction that starts with a
//!   `check` of the master's latch node: `[check master, create assign/w/t, delete tasks/t]`.
//!   A deposed or partitioned master moves nothing, and a master killed during a move
//!   leaves the task in exactly one place.
//! - **Workers** get their assignments as a [`Stream`](futures::Stream) and end each with
//!   [`Assignment::complete`], [`fail`](Assignment::fail), [`release`](Assignment::release)
//!   (back to the pool) or [`complete_and_create`](Assignment::complete_and_create) (the
//!   follow-up task in the same transaction).
//! - **Recovery**: when a worker's session ends, the master moves its tasks back, each in
//!   a fenced transaction that also counts the attempt; a new master first applies the
//!   book's duplicate rules (a task both waiting and assigned to a live worker, or waiting
//!   with a status, is removed from `tasks`). Execution is at least once, and
//!   [`Assignment::attempt`] tells a run that follows an interrupted one.
//! - **Strategies**: [`Random`], [`RoundRobin`], [`LeastLoaded`] (from the load each worker
//!   publishes), or your own [`Strategy`]; a worker's capacity bounds what it is given.
//! - **Metadata** travels in the task's name ([`metadata_of`]), so a listing needs no reads.
//!
//! ```no_run
//! use futures::StreamExt;
//! use zk_recipes::tasks::{NewTask, RoundRobin, TaskScope};
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let scope = TaskScope::new(&client, "/cats");
//! let master = scope.master("node-1").strategy(RoundRobin::default());
//! master.start()?;
//! let mut worker = scope.worker("node-1").capacity(4).start().await?;
//! scope.submit(&NewTask::new(b"feed Tom").meta("cat", "Tom")).await?;
//! while let Some(task) = worker.next().await {
//!     let task = task?;
//!     println!("{} (attempt {})", task.name(), task.attempt());
//!     task.complete(b"fed").await?;
//! }
//! # Ok(()) }
//! ```

mod assignment;
mod master;
mod names;
mod scope;
mod snapshot;
mod strategy;
mod worker;

pub use assignment::Assignment;
pub use master::{Master, MasterEvent};
pub use names::{MAX_METADATA, Metadata, metadata_of};
pub use scope::{NewTask, TaskScope};
pub use snapshot::Snapshot;
pub use strategy::{LeastLoaded, Random, RoundRobin, Strategy, WorkerInfo};
pub use worker::{Worker, WorkerBuilder};

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn handles_can_move_to_tasks() {
        send_sync::<TaskScope>();
        send_sync::<Master>();
        send_sync::<Assignment>();
    }
}
