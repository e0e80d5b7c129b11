//! The `zk` binary against real ZooKeeper 3.8 servers started by zk-testkit.
//!
//! Most tests share one standalone server per binary (`zk_testkit::shared()`), each in its
//! own chroot, passed as `--server <addr>/<chroot>`; the demo and reconfig tests start
//! 3-server ensembles, the quota enforcement test a server with enforceQuota, the
//! `zk server` test its own local server.

mod chaos;
mod commands;
mod demo;
mod dump;
mod errors;
mod quota;
mod reconfig;
mod security;
mod server;
mod shell;
mod support;
mod traps;
mod watch;
