//! zk-recipes against real ZooKeeper 3.8 servers started by zk-testkit: one shared
//! standalone server per binary, a chroot per test; fault tests start their own. The
//! interop tests also run Curator and kazoo contenders (tests/interop/README.md).

mod barrier;
mod cache;
mod cache_regressions;
mod chaos;
mod chaos_barrier;
mod chaos_cache;
mod chaos_counter;
mod chaos_election;
mod chaos_kit;
mod chaos_node;
mod chaos_partition;
mod chaos_queue;
mod chaos_tasks;
mod counter;
mod counter_regressions;
mod discovery;
mod discovery_regressions;
mod election;
mod election_regressions;
mod interop;
mod interop_barrier;
mod interop_counter;
mod interop_discovery;
mod interop_election;
mod interop_membership;
mod interop_partition;
mod interop_queue;
mod interop_shared;
mod lease;
mod membership;
mod multi_lock;
mod mutex;
mod node;
mod node_regressions;
mod partition;
mod peers;
mod queue;
mod readme;
mod regressions;
mod rwlock;
mod semaphore;
mod state;
mod support;
mod tasks;
