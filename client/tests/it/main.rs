//! zk-client against real ZooKeeper 3.8 servers started by zk-testkit.
//!
//! Most tests share one standalone server per binary (`zk_testkit::shared()`), each in its
//! own chroot; the fault tests start their own servers or ensembles.

mod faults;
mod hostile;
mod misuse;
mod ops;
mod pipeline;
mod readme;
mod security;
mod support;
#[cfg(feature = "tls")]
mod tls;
mod watch_matrix;
mod watches;
