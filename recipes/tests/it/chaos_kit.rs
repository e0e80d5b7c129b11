//! What every chaos run shares: a 3-server ensemble under a seeded nemesis, the clients'
//! endpoints it cuts and resets, workers that take one session after another, and the
//! end of the run (workers stopped, ensemble healthy, nodes drained, transaction log read).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zk_client::Client;
use zk_testkit::{
    ClientEndpoint, Ensemble, FaultKind, Nemesis, NemesisLog, SessionRegistry, TxnLog,
};

use crate::support::{children, env_or, init_logging};

/// The session timeout of the clients under test.
pub(crate) const SESSION: Duration = Duration::from_secs(4);

/// One chaos run: `ZK_CHAOS_SECS` (default 12) of faults from a nemesis seeded with
/// `ZK_CHAOS_SEED` (or the test's default), on a 3-server ensemble in network namespaces
/// when they are available (so the nemesis can partition it), else on loopback with a
/// visible `SKIPPED` line for the partition faults.
pub(crate) struct ChaosRun {
    pub(crate) secs: u64,
    pub(crate) seed: u64,
    pub(crate) ensemble: Ensemble,
    /// The sessions the nemesis may expire.
    pub(crate) sessions: SessionRegistry,
    /// Set when the workers must stop.
    pub(crate) stop: Arc<AtomicBool>,
    nemesis: Option<Nemesis>,
    /// The clients' endpoints, whose proxies live as long as the run.
    endpoints: Vec<ClientEndpoint>,
}

impl ChaosRun {
    /// Starts the ensemble of the run named `run` (in the `SKIPPED` line).
    pub(crate) async fn start(run: &str, default_seed: u64) -> Self {
        init_logging();
        let secs = env_or("ZK_CHAOS_SECS", 12);
        let seed = env_or("ZK_CHAOS_SEED", default_seed);
        let (config, partitions) = match zk_testkit::netns_available() {
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
        };
        let ensemble = Ensemble::start_with(config).await.expect("an ensemble");
        let sessions = SessionRegistry::default();
        let nemesis = nemesis(seed, partitions, &sessions);
        Self {
            secs,
            seed,
            ensemble,
            sessions,
            stop: Arc::default(),
            nemesis: Some(nemesis),
            endpoints: Vec::new(),
        }
    }

    /// A new client endpoint, whose traffic the nemesis cuts and resets.
    pub(crate) async fn endpoint(&mut self, name: &str) -> ClientEndpoint {
        let endpoint = self
            .ensemble
            .client_endpoint(name)
            .await
            .expect("an endpoint");
        self.nemesis = self.nemesis.take().map(|n| n.endpoint(endpoint.clone()));
        self.endpoints.push(endpoint.clone());
        endpoint
    }

    /// Runs the nemesis for the run's time (a fault about every 0.7 s, each held 1.5 s);
    /// at least one fault must have been applied.
    pub(crate) async fn faults(&mut self) -> NemesisLog {
        let nemesis = self.nemesis.take().expect("the nemesis runs once");
        let log = nemesis
            .run(
                &self.ensemble,
                Duration::from_millis(700),
                Duration::from_secs(self.secs),
            )
            .await;
        assert!(log.faults >= 1, "{log}");
        log
    }

    /// The run in a few words, for the figures: seed, time and faults.
    pub(crate) fn describe(&self, log: &NemesisLog) -> String {
        format!("seed {}, {} s, {} faults", self.seed, self.secs, log.faults)
    }

    /// Ends the run: stops the workers (each within 60 s), waits for a healthy ensemble,
    /// waits (30 s at most) until every node under `drained` is gone with its session,
    /// and reads the servers' transaction log.
    pub(crate) async fn finish(
        &self,
        workers: Vec<tokio::task::JoinHandle<()>>,
        drained: &[&str],
    ) -> TxnLog {
        self.stop.store(true, Ordering::SeqCst);
        for worker in workers {
            tokio::time::timeout(Duration::from_secs(60), worker)
                .await
                .expect("the workers stop")
                .expect("a worker panicked");
        }
        self.ensemble
            .wait_healthy(Duration::from_secs(60))
            .await
            .expect("healthy after the run");
        // Sessions abandoned by the nemesis expire on the servers' clock.
        let checker = Client::connect(&self.ensemble.connect_string())
            .await
            .unwrap();
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
        TxnLog::read(&self.ensemble).expect("the transaction log")
    }
}

/// The seeded nemesis every chaos run uses: leader kills and pauses, client blackholes
/// and resets, session expiry, and partitions when `partitions`; each fault held 1.5 s.
fn nemesis(seed: u64, partitions: bool, sessions: &SessionRegistry) -> Nemesis {
    let mut nemesis = Nemesis::new(seed)
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

/// A worker's life: one session after another through `hosts` (each with the
/// [`SESSION`] timeout, open to the nemesis's expiry while `work` runs on it, closed
/// after), until `stop`.
pub(crate) async fn session_after_session<F, Fut>(
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    mut work: F,
) where
    F: FnMut(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    while !stop.load(Ordering::SeqCst) {
        let Ok(client) = Client::builder()
            .session_timeout(SESSION)
            .connect(&hosts)
            .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        sessions.add(client.session_id(), &client.session_password());
        work(client.clone()).await;
        sessions.remove(client.session_id());
        client.close().await;
    }
}
