//! zk-testkit's own tests, against real ZooKeeper servers started by the kit.
//!
//! Everything speaks raw frames through zk-proto; nothing here uses a ZooKeeper client
//! library. Tests that need network namespaces print `SKIPPED: <reason>` when they cannot
//! run (not root, or iproute2 missing).

mod common;
mod containers;
mod ensemble;
mod expire;
mod netns;
mod proxy;
mod standalone;
