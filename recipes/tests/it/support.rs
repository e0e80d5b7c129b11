//! Helpers shared by the tests.

use std::time::Duration;

use zk_client::Client;

/// Logs to the test output when `RUST_LOG` is set.
pub(crate) fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A client of the shared server, chrooted to a fresh path for this test, and the chroot.
pub(crate) async fn client() -> (Client, zk_testkit::Shared) {
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let client = connect(&zk).await;
    (client, zk)
}

/// Another session on the same chroot.
pub(crate) async fn connect(zk: &zk_testkit::Shared) -> Client {
    Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&zk.connect_string())
        .await
        .expect("connect")
}

/// Awaits `future`, failing the test after 30 s.
pub(crate) async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("timed out")
}

/// The children of `path`, sorted (empty when it does not exist).
pub(crate) async fn children(client: &Client, path: &str) -> Vec<String> {
    match client.get_children(path).await {
        Ok((mut children, _)) => {
            children.sort();
            children
        }
        Err(zk_client::Error::NoNode(_)) => Vec::new(),
        Err(e) => panic!("children of {path}: {e}"),
    }
}

/// Waits (at most 30 s) until the number of children of `path` satisfies `ok`.
pub(crate) async fn until_children(client: &Client, path: &str, ok: impl Fn(usize) -> bool) {
    within(async {
        while !ok(children(client, path).await.len()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Waits until `path` has no children left (background deletes land).
pub(crate) async fn until_empty(client: &Client, path: &str) {
    until_children(client, path, |n| n == 0).await;
}

/// `name` from the environment, parsed, or `default`.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The ensemble of a chaos run: 3 servers, in network namespaces when they are available
/// (so the nemesis can partition them), else on loopback with a visible `SKIPPED` line for
/// the partition faults. The flag says whether partitions are possible.
pub(crate) fn chaos_ensemble(run: &str) -> (zk_testkit::EnsembleConfig, bool) {
    match zk_testkit::netns_available() {
        Ok(()) => (
            zk_testkit::EnsembleConfig::new(3).net(zk_testkit::NetMode::Netns),
            true,
        ),
        Err(reason) => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: the partition faults of {run}: {reason}"
            );
            (zk_testkit::EnsembleConfig::new(3), false)
        }
    }
}

/// The seeded nemesis every chaos run uses: leader kills and pauses, client blackholes
/// and resets, session expiry, and partitions when `partitions`; each fault held 1.5 s.
pub(crate) fn chaos_nemesis(
    seed: u64,
    partitions: bool,
    sessions: &zk_testkit::SessionRegistry,
) -> zk_testkit::Nemesis {
    use zk_testkit::FaultKind;
    let mut nemesis = zk_testkit::Nemesis::new(seed)
        .with(FaultKind::KillLeader, 2)
        .with(FaultKind::PauseLeader, 1)
        .with(FaultKind::ClientBlackhole, 2)
        .with(FaultKind::ClientReset, 2)
        .with(FaultKind::ExpireSession, 2);
    if partitions {
        nemesis = nemesis
            .with(FaultKind::PartitionLeader, 2)
            .with(FaultKind::RandomHalves, 1);
    }
    nemesis
        .hold(Duration::from_millis(1500))
        .sessions(sessions.clone())
}

/// Ends a chaos run: stops the workers (`stop`, then each task within 60 s), waits for a
/// healthy ensemble, waits (30 s at most) until every node under `drained` is gone with
/// its session, and reads the servers' transaction log.
pub(crate) async fn finish_chaos(
    ensemble: &zk_testkit::Ensemble,
    stop: &std::sync::atomic::AtomicBool,
    workers: Vec<tokio::task::JoinHandle<()>>,
    drained: &[&str],
) -> zk_testkit::TxnLog {
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(60), worker)
            .await
            .expect("the workers stop")
            .expect("a worker panicked");
    }
    ensemble
        .wait_healthy(Duration::from_secs(60))
        .await
        .expect("healthy after the run");
    // Sessions abandoned by the nemesis expire on the servers' clock.
    let checker = Client::connect(&ensemble.connect_string()).await.unwrap();
    for path in drained {
        tokio::time::timeout(Duration::from_secs(30), async {
            while !children(&checker, path).await.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await
        .expect("every node goes once its session does");
    }
    checker.close().await;
    zk_testkit::TxnLog::read(ensemble).expect("the transaction log")
}
