//! The `lock` and `election` workloads: zk-recipes' `Mutex` and `LeaderLatch`, each holder
//! fencing its writes to a resource node, checked on the servers' transaction log
//! (`zk_testkit::check::mutex` and `check::election`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use zk_client::{Client, CreateOptions, Error};
use zk_recipes::election::LeaderLatch;
use zk_recipes::lock::Mutex;

/// The lock's parent node.
pub(crate) const LOCK: &str = "/zk-chaos-lock";
/// The election's parent node.
pub(crate) const ELECTION: &str = "/zk-chaos-election";
/// The node holders write to, fenced.
pub(crate) const RESOURCE: &str = "/zk-chaos-resource";

/// Creates the resource.
pub(crate) async fn setup(client: &Client) -> Result<(), Error> {
    match client
        .create(RESOURCE, b"", &CreateOptions::persistent())
        .await
    {
        Ok(_) | Err(Error::NodeExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes the lock, writes the holder's node to the resource (fenced), holds 5 ms, writes
/// again and lets go; until `stop` or the session's end. Counts the grants.
pub(crate) async fn lock(client: Client, stop: Arc<AtomicBool>, grants: Arc<AtomicUsize>) {
    let lock = Mutex::new(&client, LOCK);
    while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
        let guard = match lock.acquire_timeout(Duration::from_secs(3)).await {
            Ok(guard) => guard,
            Err(zk_recipes::Error::SessionEnded(_)) => return,
            Err(_) => continue,
        };
        let node = guard.node().as_bytes().to_vec();
        if guard
            .fenced()
            .set_data(RESOURCE, &node, None)
            .commit()
            .await
            .is_ok()
        {
            grants.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
            let _ = guard.fenced().set_data(RESOURCE, b"-", None).commit().await;
        }
        let _ = guard.release().await;
    }
}

/// While it leads, writes its fencing token to the resource (fenced) every 10 ms; until
/// `stop` or the session's end. Counts the terms.
pub(crate) async fn lead(
    name: String,
    client: Client,
    stop: Arc<AtomicBool>,
    terms: Arc<AtomicUsize>,
) {
    let latch = LeaderLatch::new(&client, ELECTION).data(name.clone());
    if latch.start().is_err() {
        return;
    }
    while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
        let term = tokio::select! {
            term = latch.await_leadership() => term,
            () = tokio::time::sleep(Duration::from_millis(200)) => continue,
        };
        let Ok(term) = term else { break };
        terms.fetch_add(1, Ordering::Relaxed);
        let token = format!("{name} {}", term.fencing_token());
        while term.is_current() && !stop.load(Ordering::SeqCst) {
            let write = term.fenced().set_data(RESOURCE, token.as_bytes(), None);
            tokio::select! {
                _ = write.commit() => {}
                _ = term.lost() => break,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let _ = latch.close().await;
}
