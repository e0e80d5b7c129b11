//! `queue`: zk-recipes' [`DistributedQueue`] (Curator's layout), consumed at least once.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use zk_recipes::Error;
use zk_recipes::queue::DistributedQueue;

use crate::cache::value;
use crate::{Outcome, Report, Setup, close, connect, env, suffix};

/// How long the consumer waits for an item before it gives up on the rest.
const IDLE: Duration = Duration::from_secs(10);

/// The index a value starts with (8 digits).
fn index(item: &[u8]) -> Option<usize> {
    std::str::from_utf8(item.get(..8)?).ok()?.parse().ok()
}

/// One producer session puts `RB_QUEUE_N` items, pipelined; then one consumer session
/// claims them `RB_QUEUE_BATCH` at a time and acknowledges each (at least once).
pub(crate) async fn queue(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
    let n = ((env("RB_QUEUE_N", 5000.0) * scale) as usize).max(1);
    let window = (env("RB_WINDOW", 256.0) as usize).max(1);
    let batch = (env("RB_QUEUE_BATCH", 64.0) as usize).max(1);
    let path = format!("{}/queue{}", setup.root, suffix(report));
    let (producer, consumer) = (connect(setup).await?, connect(setup).await?);

    let put_queue = DistributedQueue::new(&producer, &path);
    let t0 = Instant::now();
    let mut puts = futures::stream::iter(0..n)
        .map(|i| {
            let queue = put_queue.clone();
            async move { queue.put(&value(&format!("{i:08}"))).await }
        })
        .buffer_unordered(window);
    while let Some(put) = puts.next().await {
        put.map_err(|e| format!("put: {e}"))?;
    }
    let put_secs = t0.elapsed().as_secs_f64();

    let take_queue = DistributedQueue::new(&consumer, &path);
    let mut counts = vec![0_u32; n];
    let (mut received, mut distinct) = (0_usize, 0_usize);
    let t1 = Instant::now();
    let mut last = t1;
    while distinct < n {
        let claimed = match take_queue.claim_batch(batch, Some(IDLE)).await {
            Ok(claimed) => claimed,
            Err(Error::Timeout(_)) => break,
            Err(e) => return Err(format!("claim: {e}")),
        };
        for item in &claimed {
            let items = item.items().map_err(|e| format!("an item: {e}"))?;
            for one in items {
                let i = index(&one)
                    .filter(|i| *i < n)
                    .ok_or("an item without its index")?;
                received += 1;
                if counts[i] == 0 {
                    distinct += 1;
                }
                counts[i] += 1;
            }
        }
        let acks = futures::future::join_all(claimed.into_iter().map(|item| item.ack())).await;
        for ack in acks {
            ack.map_err(|e| format!("ack: {e}"))?;
        }
        last = Instant::now();
    }
    let take_secs = (last - t1).as_secs_f64();
    let left = producer
        .get_children(&path)
        .await
        .map_or(0, |(children, _)| children.len());
    close(&consumer).await;
    close(&producer).await;
    Ok(vec![
        ("queue_put_ops", n as f64 / put_secs),
        ("queue_take_ops", distinct as f64 / take_secs),
        ("queue_lost", (n - distinct) as f64),
        ("queue_dup", (received - distinct) as f64),
        ("queue_left", left as f64),
    ])
}
