//! `cache_build`: zk-recipes' [`TreeCache`].

use std::time::{Duration, Instant};

use zk_client::{Client, CreateOptions};
use zk_recipes::cache::{CacheEvent, TreeCache};

use crate::{Outcome, Report, Setup, close, connect, env, suffix};

/// This process's resident memory now (`VmRSS`), in MiB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(-1.0, |kib| kib / 1024.0)
}

/// The harness's 100-byte values: `prefix`, then `x`s.
pub(crate) fn value(prefix: &str) -> Vec<u8> {
    let mut v = prefix.as_bytes().to_vec();
    v.resize(100, b'x');
    v
}

/// A request in flight, with its outcome as text.
type Call = futures::future::BoxFuture<'static, Result<(), String>>;

/// Runs `calls`, at most `window` in flight; the first failure ends it.
async fn windowed(calls: impl Iterator<Item = Call>, window: usize) -> Outcome<()> {
    use futures::StreamExt as _;
    let mut inflight = futures::stream::FuturesUnordered::new();
    for call in calls {
        if inflight.len() >= window.max(1) {
            if let Some(done) = inflight.next().await {
                done?;
            }
        }
        inflight.push(call);
    }
    while let Some(done) = inflight.next().await {
        done?;
    }
    Ok(())
}

/// Creates (with `data`) or deletes (NoNode ignored) `paths`, `window` requests in flight.
async fn pipelined(
    client: &Client,
    paths: &[String],
    data: Option<&[u8]>,
    window: usize,
) -> Outcome<()> {
    let persistent = CreateOptions::persistent();
    let calls = paths.iter().map(|p| -> Call {
        match data {
            Some(d) => {
                let f = client.create(p, d, &persistent);
                Box::pin(async move { f.await.map(|_| ()).map_err(|e| format!("create: {e}")) })
            }
            None => {
                let f = client.delete(p, None);
                Box::pin(async move {
                    match f.await {
                        Ok(()) | Err(zk_client::Error::NoNode(_)) => Ok(()),
                        Err(e) => Err(format!("delete: {e}")),
                    }
                })
            }
        }
    });
    windowed(calls, window).await
}

/// A tree of `RB_CACHE_PARENTS` × `RB_CACHE_CHILDREN` nodes: build a [`TreeCache`] of it,
/// then see `RB_CACHE_UPDATES` changes.
pub(crate) async fn cache_build(setup: &Setup, scale: f64, report: bool) -> Outcome<Report> {
    use futures::StreamExt as _;
    let full = if report { 1.0 } else { scale };
    let parents = ((env("RB_CACHE_PARENTS", 100.0) * full) as usize).max(1);
    let children = env("RB_CACHE_CHILDREN", 200.0) as usize;
    let updates = ((env("RB_CACHE_UPDATES", 1000.0) * scale) as usize)
        .max(1)
        .min(parents * children);
    let window = (env("RB_WINDOW", 256.0) as usize).max(1);
    let tree = format!("{}/tree{}", setup.root, suffix(report));
    let admin = connect(setup).await?;
    let parent_paths: Vec<String> = (0..parents).map(|p| format!("{tree}/p{p:03}")).collect();
    let leaves: Vec<String> = parent_paths
        .iter()
        .flat_map(|p| (0..children).map(move |k| format!("{p}/c{k:03}")))
        .collect();
    let init = value("init");
    pipelined(&admin, std::slice::from_ref(&tree), Some(&init), 1).await?;
    pipelined(&admin, &parent_paths, Some(&init), window).await?;
    pipelined(&admin, &leaves, Some(&init), window).await?;

    let session = connect(setup).await?;
    let rss0 = rss_mb();
    let t0 = Instant::now();
    let mut cache = TreeCache::builder(&session, &tree)
        .start()
        .map_err(|e| format!("start the cache: {e}"))?;
    let initialized = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(event) = cache.next().await {
            if event == CacheEvent::Initialized {
                return true;
            }
        }
        false
    })
    .await;
    if initialized != Ok(true) {
        return Err("the cache did not initialize in 120 s".to_owned());
    }
    let build_ms = t0.elapsed().as_secs_f64() * 1e3;
    let rss1 = rss_mb();
    let size = cache.snapshot().len();

    let targets: Vec<String> = (0..updates)
        .map(|i| format!("{tree}/p{:03}/c{:03}", i % parents, i / parents))
        .collect();
    let new_value = value("upd-");
    let t1 = Instant::now();
    let writer = {
        let (admin, new_value) = (admin.clone(), new_value.clone());
        tokio::spawn(async move {
            let calls = targets.into_iter().map(|p| -> Call {
                let f = admin.set_data(&p, &new_value, None);
                Box::pin(async move { f.await.map(|_| ()).map_err(|e| format!("setData: {e}")) })
            });
            windowed(calls, window).await?;
            Ok::<f64, String>(t1.elapsed().as_secs_f64() * 1e3)
        })
    };
    let mut seen = std::collections::HashSet::new();
    let all_seen = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(event) = cache.next().await {
            if let CacheEvent::Updated { new, .. } = event {
                if new.data.as_deref().is_some_and(|d| d.starts_with(b"upd-")) {
                    seen.insert(new.path.clone());
                    if seen.len() == updates {
                        return true;
                    }
                }
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let update_ms = t1.elapsed().as_secs_f64() * 1e3;
    let writes_ms = writer.await.map_err(|e| format!("the writer: {e}"))??;
    drop(cache);
    close(&session).await;
    pipelined(&admin, &leaves, None, window).await?;
    pipelined(&admin, &parent_paths, None, window).await?;
    pipelined(&admin, std::slice::from_ref(&tree), None, 1).await?;
    close(&admin).await;
    Ok(vec![
        ("cache_build_ms", build_ms),
        ("cache_rss_mb", rss1 - rss0),
        ("cache_nodes", size as f64),
        ("cache_update_ms", if all_seen { update_ms } else { -1.0 }),
        ("cache_writes_ms", writes_ms),
        ("cache_missed", (updates - seen.len()) as f64),
    ])
}
