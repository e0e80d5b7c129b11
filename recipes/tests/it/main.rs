//! zk-recipes against real ZooKeeper 3.8 servers started by zk-testkit: one shared
//! standalone server per binary, a chroot per test; fault tests start their own.

mod chaos;
mod multi_lock;
mod mutex;
mod readme;
mod regressions;
mod rwlock;
mod semaphore;
mod state;
mod support;
