//! Real ZooKeeper servers and ensembles as child processes or containers, plus fault
//! injection and checkers, for tests of ZooKeeper clients and recipes.
//!
//! What this crate does *not* do: it has no ZooKeeper client (it depends on zk-proto and
//! tokio, never on zk-client, so a bug in the client cannot hide a fault the kit injects),
//! and it mocks nothing: every server is a real ZooKeeper, by default a `java` process
//! from Debian's `zookeeper` package, a release folder or an explicit classpath, or on the
//! [`container`] backend a Docker container of a ZooKeeper image. The one exception is
//! [`mock`], a scripted server for the protocol corners a real server will not produce
//! (garbage, replies cut short, silence).
//!
//! | module | what |
//! |---|---|
//! | [`discovery`] | find ZooKeeper (`ZOOKEEPER_CLASSPATH`, `ZOOKEEPER_HOME`, `/usr/share/java`) and Java |
//! | [`Server`], [`Ensemble`] | 1, 3 or 5 servers on free loopback ports (or in network namespaces), readiness by `srvr`, roles, logs |
//! | [`container`] | the container backend ([`Backend::Container`], `ZK_TESTKIT_BACKEND=docker`): the same API over `docker`, the official image's interface |
//! | process faults | [`Ensemble::kill`], [`stop`](Ensemble::stop), [`restart`](Ensemble::restart), [`pause`](Ensemble::pause), [`wipe_and_restart`](Ensemble::wipe_and_restart) |
//! | [`proxy`] | per-client fault proxy: latency, blackhole, reset, refuse, slice, cut, lost reply |
//! | [`net`] | partitions between servers in network namespaces (root), a `setns` connector |
//! | [`expire_session`] | server-side session expiry through a second connection |
//! | [`Nemesis`], [`History`], [`TxnLog`] | seeded chaos, operation histories, the server's own record |
//! | [`check`] | checkers on the servers' record and on histories: mutual exclusion and fencing in zxid space for locks, elections and items shared under per-item locks; duplicated nodes; queue accounting; counter bounds; cache convergence; linearizability of a compare-and-set register |
//! | [`shared()`] | one server per test binary, one chroot per test |
//! | [`RawSession`] | a minimal raw-frame session to check server state independently |
//! | [`mock`] | a scripted server for hostile-peer tests: garbage, bad lengths, short replies, silence |
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use zk_proto::CreateMode;
//! use zk_testkit::{Ensemble, RawSession};
//!
//! # async fn _demo() -> zk_testkit::Result<()> {
//! // Three servers on free loopback ports, ready when one leads and two follow.
//! let ensemble = Ensemble::start(3).await?;
//! println!("hosts: {}", ensemble.connect_string());
//!
//! // An ephemeral node, then the server expires its session.
//! let addr = ensemble.client_addr(1).expect("server 1");
//! let mut s = RawSession::connect(addr, Duration::from_secs(10)).await?;
//! s.create("/e", b"", CreateMode::Ephemeral).await?;
//! ensemble.expire_session(s.session_id(), s.password()).await?;
//!
//! // Kill the leader and wait for another.
//! let old = ensemble.leader().await?;
//! ensemble.kill(old)?;
//! let new = ensemble.wait_new_leader(&[old], Duration::from_secs(30)).await?;
//! assert_ne!(old, new);
//! # Ok(()) }
//! ```
//!
//! # Environment
//!
//! | variable | effect |
//! |---|---|
//! | `ZOOKEEPER_CLASSPATH` / `ZK_CLASSPATH` | explicit classpath (first choice) |
//! | `ZOOKEEPER_HOME` | a release folder (`lib/*.jar`) |
//! | `JAVA_HOME` | the Java runtime (else `java` on `PATH`) |
//! | `ZK_TESTKIT_PRINT_LOGS=1` | print server logs on every drop, not only on panic |
//! | `ZK_TESTKIT_LOG_LINES=N` | how many log lines to print (default 80) |
//! | `ZK_TESTKIT_KEEP=1` | keep the temporary folders |
//! | `ZK_TESTKIT_BACKEND=docker` | run ensembles as containers ([`Backend::from_env`]) |
//! | `ZK_TESTKIT_IMAGE=name:tag` | the container image (default [`container::DEFAULT_IMAGE`]) |
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod check;
pub mod config;
pub mod container;
pub mod discovery;
pub mod ensemble;
pub mod expire;
pub mod fourlw;
pub mod history;
pub mod mock;
pub mod nemesis;
pub mod net;
pub mod oracle;
pub mod ports;
pub mod proxy;
pub mod raw;
pub mod server;
pub mod shared;
pub mod tls;

mod error;
mod node;
mod process;

pub use config::{
    DEFAULT_JVM_OPTS, EnsembleConfig, NetMode, SUPER_DIGEST_SUPERPW, SaslConfig, ServerId,
    TlsConfig,
};
pub use container::{Backend, docker_available};
pub use discovery::{InstallSource, Installation};
pub use ensemble::{Ensemble, Health, NodeStatus, PauseGuard};
pub use error::{Error, Result};
pub use expire::expire_session;
pub use fourlw::{Mode, ServerStats};
pub use history::{Event, EventKind, History, Op, OpId, Operation, Outcome};
pub use nemesis::{FaultKind, Nemesis, NemesisEntry, NemesisLog, SessionRegistry};
pub use net::{NetnsConnector, Partition, netns_available};
pub use node::ProcessState;
pub use oracle::{NodeKind, NodeLifetime, TxnEvent, TxnLog, TxnOp};
pub use proxy::{ClientEndpoint, FaultGuard, ProxyStats};
pub use raw::RawSession;
pub use server::Server;
pub use shared::{Shared, shared};
pub use tls::TlsMaterial;

/// The generator behind [`Nemesis`] schedules and port choices, zk-proto's SplitMix64:
/// one implementation with one pinned sequence, so a printed seed replays the same
/// schedule.
///
/// ```
/// let mut a = zk_testkit::SplitMix64::new(42);
/// let mut b = zk_proto::rng::SplitMix64::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
pub use zk_proto::rng::SplitMix64;

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}

    #[test]
    fn handles_are_send_and_sync() {
        send_sync::<Ensemble>();
        send_sync::<Server>();
        send_sync::<ClientEndpoint>();
        send_sync::<FaultGuard>();
        send_sync::<PauseGuard>();
        send_sync::<Partition>();
        send_sync::<History>();
        send_sync::<Nemesis>();
        send_sync::<TxnLog>();
        send_sync::<Error>();
    }

    /// The futures can be spawned on a multi-threaded runtime.
    #[allow(dead_code, reason = "only compiled, never run")]
    fn futures_are_send(e: &'static Ensemble, ep: &'static ClientEndpoint) {
        send(&e.restart(1));
        send(&e.stop(1));
        send(&e.wait_healthy(std::time::Duration::ZERO));
        send(&e.wait_new_leader(&[], std::time::Duration::ZERO));
        send(&e.client_endpoint("x"));
        send(&e.expire_session(0, &[]));
        send(&e.heal(std::time::Duration::ZERO));
        send(&ep.expire_by_blackhole(std::time::Duration::ZERO));
        send(&Nemesis::new(0).run(e, std::time::Duration::ZERO, std::time::Duration::ZERO));
        send(&shared());
        send(&Ensemble::start(1));
    }
}
