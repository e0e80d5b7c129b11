//! Chaos: a mutex on a 3-server ensemble under a seeded nemesis (leader kills and pauses,
//! client blackholes and resets, session expiry), 3 clients × 4 contenders, every holder
//! fencing its writes to a resource. The verdict comes from the servers' transaction log
//! (`zk_testkit::check::mutex`): no overlapping grants, no write without the lock node, no
//! stale fenced write, no lock node left.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use zk_client::{Client, CreateOptions};
use zk_recipes::Error;
use zk_recipes::lock::Mutex;
use zk_testkit::{Ensemble, FaultKind, Nemesis, SessionRegistry, TxnLog, check};

use crate::support::init_logging;

const LOCK: &str = "/chaos-lock";
const RESOURCE: &str = "/chaos-resource";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One client's contenders, until `stop`; a new session whenever the last one ended.
async fn contend(
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    grants: Arc<AtomicUsize>,
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(client) = Client::builder()
            .session_timeout(Duration::from_secs(4))
            .connect(&hosts)
            .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        sessions.add(client.session_id(), &client.session_password());
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (client, stop, grants) = (client.clone(), stop.clone(), grants.clone());
            tasks.push(tokio::spawn(async move {
                let lock = Mutex::new(&client, LOCK);
                while !stop.load(Ordering::SeqCst) {
                    let guard = match lock.acquire_timeout(Duration::from_secs(3)).await {
                        Ok(guard) => guard,
                        Err(Error::SessionEnded(_)) => return,
                        Err(_) => continue,
                    };
                    let node = guard.node().as_bytes().to_vec();
                    let granted = guard
                        .fenced()
                        .set_data(RESOURCE, &node, None)
                        .commit()
                        .await;
                    if granted.is_ok() {
                        grants.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        let _ = guard.fenced().set_data(RESOURCE, b"-", None).commit().await;
                    }
                    let _ = guard.release().await;
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
        sessions.remove(client.session_id());
        client.close().await;
    }
}

#[tokio::test]
async fn chaos_mutex_holds_under_a_nemesis() {
    init_logging();
    let secs: u64 = env_or("ZK_CHAOS_SECS", 12);
    let seed: u64 = env_or("ZK_CHAOS_SEED", 20_261_207);
    let ensemble = Ensemble::start(3).await.expect("an ensemble");
    let setup = Client::connect(&ensemble.connect_string()).await.unwrap();
    setup
        .create(RESOURCE, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let sessions = SessionRegistry::default();
    let stop = Arc::new(AtomicBool::new(false));
    let grants = Arc::new(AtomicUsize::new(0));
    let mut nemesis = Nemesis::new(seed)
        .with(FaultKind::KillLeader, 2)
        .with(FaultKind::PauseLeader, 1)
        .with(FaultKind::ClientBlackhole, 2)
        .with(FaultKind::ClientReset, 2)
        .with(FaultKind::ExpireSession, 2)
        .hold(Duration::from_millis(1500))
        .sessions(sessions.clone());
    let mut clients = Vec::new();
    for c in 0..3 {
        let endpoint = ensemble
            .client_endpoint(&format!("client-{c}"))
            .await
            .expect("an endpoint");
        nemesis = nemesis.endpoint(endpoint.clone());
        clients.push(tokio::spawn(contend(
            endpoint.connect_string(),
            sessions.clone(),
            stop.clone(),
            grants.clone(),
        )));
    }
    let log = nemesis
        .run(
            &ensemble,
            Duration::from_millis(700),
            Duration::from_secs(secs),
        )
        .await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        tokio::time::timeout(Duration::from_secs(60), client)
            .await
            .expect("the contenders stop")
            .unwrap();
    }
    ensemble
        .wait_healthy(Duration::from_secs(60))
        .await
        .expect("healthy after the run");
    // Sessions abandoned by the nemesis expire on the servers' clock.
    let checker = Client::connect(&ensemble.connect_string()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match checker.get_children(LOCK).await {
                Ok((children, _)) if !children.is_empty() => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => return,
            }
        }
    })
    .await
    .expect("every lock node goes once its session does");
    checker.close().await;
    setup.close().await;
    let txns = TxnLog::read(&ensemble).expect("the transaction log");
    let report = check::mutex(&txns, LOCK, RESOURCE);
    println!("seed {seed}, {} s, {} faults: {report}", secs, log.faults);
    println!("{log}");
    assert!(log.faults >= 1, "{log}");
    assert!(
        report.grants > 0 && grants.load(Ordering::Relaxed) > 0,
        "{report}"
    );
    assert!(report.is_safe(), "{report}\n{log}");
}
