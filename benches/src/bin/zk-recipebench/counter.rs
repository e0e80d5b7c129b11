//! `counter`: zk-recipes' [`SharedCount`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zk_recipes::counter::SharedCount;

use std::time::Instant;

use crate::{CONTENDERS_TIMEOUT, Outcome, Report, Setup, close, connect, env, suffix};

/// Lost races after which one increment of `counter` counts as failed.
const COUNTER_MAX_LOST: u64 = 100_000;

/// What the tasks of `counter` count.
#[derive(Debug, Default)]
struct Tally {
    lost: AtomicU64,
    failed: AtomicU64,
}

/// `n` increments of `count` by the compare-and-set loop, once `go` opens.
async fn incrementer(
    count: SharedCount,
    n: usize,
    mut go: tokio::sync::watch::Receiver<bool>,
    tally: Arc<Tally>,
) {
    if go.wait_for(|open| *open).await.is_err() {
        return;
    }
    for _ in 0..n {
        let mut lost = 0;
        loop {
            let seen = count.get_versioned();
            match count
                .try_set(seen.value.wrapping_add(1), seen.version)
                .await
            {
                Ok(true) => break,
                Ok(false) if lost < COUNTER_MAX_LOST => lost += 1,
                Ok(false) => {
                    eprintln!("zk-recipebench: an increment lost {lost} races in a row");
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    eprintln!("zk-recipebench: increment: {e}");
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
        tally.lost.fetch_add(lost, Ordering::Relaxed);
    }
}

/// `RB_COUNTER_SESSIONS` sessions, `RB_COUNTER_N` CAS increments each, all at once.
pub(crate) async fn counter(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
    let sessions = (env("RB_COUNTER_SESSIONS", 4.0) as usize).max(1);
    let n = ((env("RB_COUNTER_N", 500.0) * scale) as usize).max(1);
    let path = format!("{}/counter{}", setup.root, suffix(report));
    let mut clients = Vec::with_capacity(sessions);
    let mut counts = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let client = connect(setup).await?;
        let count = SharedCount::new(&client, &path, 0);
        count
            .start()
            .await
            .map_err(|e| format!("start a shared count: {e}"))?;
        counts.push(count);
        clients.push(client);
    }
    let tally = Arc::new(Tally::default());
    let (go, open) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = counts
        .iter()
        .map(|count| {
            let task = incrementer(count.clone(), n, open.clone(), Arc::clone(&tally));
            tokio::spawn(task)
        })
        .collect();
    let t0 = Instant::now();
    go.send_replace(true);
    for task in tasks {
        match tokio::time::timeout_at((t0 + CONTENDERS_TIMEOUT).into(), task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("incrementer failed: {e}")),
            Err(_) => return Err("incrementer stuck".to_owned()),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let (data, _) = clients[0]
        .get_data(&path)
        .await
        .map_err(|e| format!("read the count: {e}"))?;
    let last = <[u8; 4]>::try_from(&data[..])
        .map(i32::from_be_bytes)
        .map_err(|_| format!("the count is not 4 bytes: {data:?}"))?;
    for (count, client) in counts.iter().zip(&clients) {
        count.close();
        close(client).await;
    }
    let expected = (sessions * n) as i64;
    let failed = tally.failed.load(Ordering::SeqCst);
    Ok(vec![
        ("counter_ops", expected as f64 / secs),
        (
            "counter_err",
            (i64::from(last) - expected).unsigned_abs() as f64 + failed as f64,
        ),
        ("counter_retries", tally.lost.load(Ordering::SeqCst) as f64),
    ])
}
