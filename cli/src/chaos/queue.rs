//! The `queue` workload: zk-recipes' `SimpleDistributedQueue` (Curator's layout), with
//! producers putting `<producer>/<index>` and consumers that commit their effect in the
//! transaction that removes the item; checked on the servers' transaction log
//! (`zk_testkit::check::queue`: nothing lost, nothing done twice, FIFO per producer).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use zk_client::{Client, CreateOptions, Error};
use zk_recipes::queue::SimpleDistributedQueue;

/// The queue's items.
pub(crate) const ITEMS: &str = "/zk-chaos-queue";
/// The consumers' claims.
pub(crate) const CLAIMS: &str = "/zk-chaos-queue-claims";
/// The consumers' effects.
pub(crate) const DONE: &str = "/zk-chaos-done";

/// What the clients were told.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Puts acknowledged.
    pub(crate) puts: AtomicUsize,
    /// Puts whose outcome is unknown.
    pub(crate) puts_unknown: AtomicUsize,
    /// Items acknowledged by consumers.
    pub(crate) acks: AtomicUsize,
}

/// Creates the effects' parent.
pub(crate) async fn setup(client: &Client) -> Result<(), Error> {
    match client.create(DONE, b"", &CreateOptions::persistent()).await {
        Ok(_) | Err(Error::NodeExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Producer `p`: puts its next item every 10 ms until `stop` or the session's end.
pub(crate) async fn produce(
    p: usize,
    client: Client,
    stop: Arc<AtomicBool>,
    next: Arc<AtomicUsize>,
    tally: Arc<Tally>,
) {
    let queue = SimpleDistributedQueue::new(&client, ITEMS);
    while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
        let id = format!("p{p}/{}", next.fetch_add(1, Ordering::SeqCst));
        match queue.offer(id.as_bytes()).await {
            Ok(()) => tally.puts.fetch_add(1, Ordering::Relaxed),
            Err(_) => tally.puts_unknown.fetch_add(1, Ordering::Relaxed),
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A consumer: claims up to 8 items at once and acknowledges each together with its
/// effect, until `stop` or the session's end.
pub(crate) async fn consume(client: Client, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let queue = SimpleDistributedQueue::new(&client, ITEMS).claims_path(CLAIMS);
    while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
        let Ok(batch) = queue.claim_batch(8, Some(Duration::from_millis(200))).await else {
            continue;
        };
        for item in batch {
            let id = String::from_utf8_lossy(item.data()).replace('/', "-");
            let effect = format!("{DONE}/{id}");
            let acked = item
                .ack_with(|ops| ops.create(&effect, b"", &CreateOptions::persistent()))
                .await;
            if acked.is_ok() {
                tally.acks.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
