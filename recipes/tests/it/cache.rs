//! TreeCache, ChildrenCache and NodeCache against a real server, including the cases of
//! a root deleted and made again and of changes made while the cache was disconnected.

use std::time::Duration;

use futures::StreamExt as _;
use zk_client::{Client, CreateOptions};
use zk_recipes::cache::{CacheEvent, ChildrenCache, NodeCache, TreeCache};
use zk_recipes::state::ConnectionState;

use crate::support::{client, within};

/// The next event that is not about the connection.
async fn next_change<S: futures::Stream<Item = CacheEvent> + Unpin>(events: &mut S) -> CacheEvent {
    within(async {
        loop {
            match events.next().await.expect("the cache lives") {
                CacheEvent::Connection(_) => {}
                event => return event,
            }
        }
    })
    .await
}

/// Reads the events of the first read, up to `Initialized`.
async fn past_initialized<S: futures::Stream<Item = CacheEvent> + Unpin>(events: &mut S) {
    while next_change(events).await != CacheEvent::Initialized {}
}

fn describe(event: &CacheEvent) -> String {
    match event {
        CacheEvent::Added(n) => format!("+{}", n.path),
        CacheEvent::Updated { new, .. } => format!("~{}", new.path),
        CacheEvent::Removed(n) => format!("-{}", n.path),
        other => format!("{other:?}"),
    }
}

/// Waits until the cache's snapshot equals a fresh walk of the server's tree.
async fn converges(cache: &TreeCache, client: &Client, root: &str) {
    within(async {
        loop {
            let mut server = Vec::new();
            let mut todo = vec![root.to_owned()];
            while let Some(path) = todo.pop() {
                let Ok((data, stat)) = client.get_data(&path).await else {
                    continue;
                };
                server.push((path.clone(), data, stat.mzxid));
                if let Ok((children, _)) = client.get_children(&path).await {
                    todo.extend(children.iter().map(|c| format!("{path}/{c}")));
                }
            }
            server.sort();
            let cached: Vec<_> = cache
                .snapshot()
                .iter()
                .map(|n| {
                    (
                        n.path.to_string(),
                        n.data.clone().unwrap_or_default(),
                        n.stat.mzxid,
                    )
                })
                .collect();
            if cached == server {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_tree_cache_reads_the_tree_then_follows_it() {
    let (zk, _server) = client().await;
    let persistent = CreateOptions::persistent();
    zk.create_all("/t/a/x", b"x", &persistent).await.unwrap();
    zk.create("/t/b", b"b", &persistent).await.unwrap();
    let mut cache = TreeCache::builder(&zk, "/t").start().unwrap();
    let mut first = Vec::new();
    loop {
        let event = next_change(&mut cache).await;
        if event == CacheEvent::Initialized {
            break;
        }
        first.push(describe(&event));
    }
    first.sort();
    assert_eq!(first, ["+/t", "+/t/a", "+/t/a/x", "+/t/b"]);
    cache.initialized().await.unwrap();
    assert_eq!(&cache.get("/t/a/x").unwrap().data.unwrap()[..], b"x");

    zk.set_data("/t/b", b"b2", None).await.unwrap();
    match next_change(&mut cache).await {
        CacheEvent::Updated { old, new } => {
            assert_eq!(&old.data.unwrap()[..], b"b");
            assert_eq!(&new.data.unwrap()[..], b"b2");
            assert_eq!(new.stat.version, 1);
        }
        other => panic!("{other:?}"),
    }
    zk.create("/t/a/y", b"", &persistent).await.unwrap();
    assert_eq!(describe(&next_change(&mut cache).await), "+/t/a/y");
    zk.delete("/t/a/y", None).await.unwrap();
    assert_eq!(describe(&next_change(&mut cache).await), "-/t/a/y");
    converges(&cache, &zk, "/t").await;
}

#[tokio::test]
async fn large_nodes_whose_batch_is_above_the_frame_limit_are_read_one_by_one() {
    let (zk, server) = client().await;
    // 12 KiB nodes; a client whose frames stop at 16 KiB reads them in batches of 64
    // nodes first, whose replies are too large, then one by one.
    let small_frames = Client::builder()
        .max_frame_len(16 << 10)
        .connect(&server.connect_string())
        .await
        .unwrap();
    zk.create("/t", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let big = vec![b'x'; 12 << 10];
    for i in 0..40 {
        zk.create(&format!("/t/n{i}"), &big, &CreateOptions::persistent())
            .await
            .unwrap();
        zk.create(
            &format!("/t/n{i}/small"),
            b"s",
            &CreateOptions::persistent(),
        )
        .await
        .unwrap();
    }
    let cache = TreeCache::builder(&small_frames, "/t").start().unwrap();
    within(cache.initialized()).await.unwrap();
    assert_eq!(cache.snapshot().len(), 81);
    converges(&cache, &zk, "/t").await;
    // Later changes too.
    zk.set_data("/t/n3", &vec![b'y'; 12 << 10], None)
        .await
        .unwrap();
    converges(&cache, &zk, "/t").await;
    small_frames.close().await;
}

#[tokio::test]
async fn depth_filter_and_stat_only() {
    let (zk, _server) = client().await;
    let persistent = CreateOptions::persistent();
    zk.create_all("/t/a/x/deep", b"", &persistent)
        .await
        .unwrap();
    zk.create("/t/skip.tmp", b"", &persistent).await.unwrap();
    let cache = TreeCache::builder(&zk, "/t")
        .max_depth(2)
        .stat_only()
        .filter(|p| !p.ends_with(".tmp"))
        .start()
        .unwrap();
    cache.ignore_events();
    within(cache.initialized()).await.unwrap();
    let snapshot = cache.snapshot();
    let paths: Vec<&str> = snapshot.iter().map(|n| &*n.path).collect();
    assert_eq!(paths, ["/t", "/t/a", "/t/a/x"]);
    assert!(snapshot.iter().all(|n| n.data.is_none()));
    let names: Vec<&str> = snapshot.children("/t").map(|n| &*n.path).collect();
    assert_eq!(names, ["/t/a"]);
}

#[tokio::test]
async fn a_root_deleted_and_made_again_ends_in_the_new_tree() {
    let (zk, _server) = client().await;
    let persistent = CreateOptions::persistent();
    zk.create_all("/t/a", b"old", &persistent).await.unwrap();
    let mut cache = TreeCache::builder(&zk, "/t").start().unwrap();
    within(cache.initialized()).await.unwrap();
    zk.delete_all("/t").await.unwrap();
    zk.create_all("/t/b", b"new", &persistent).await.unwrap();
    converges(&cache, &zk, "/t").await;
    assert!(cache.get("/t/a").is_none());
    assert_eq!(&cache.get("/t/b").unwrap().data.unwrap()[..], b"new");
    // The events say so, in order: the old tree goes before the new one comes.
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), cache.next()).await
    {
        seen.push(describe(&event));
    }
    let gone = seen
        .iter()
        .position(|e| e == "-/t")
        .expect("the root removed");
    let back = seen
        .iter()
        .position(|e| e == "+/t/b")
        .expect("the new child");
    assert!(gone < back, "{seen:?}");
}

#[tokio::test]
async fn changes_made_while_disconnected_are_found_after_the_reconnect() {
    let (zk, server) = client().await;
    let persistent = CreateOptions::persistent();
    zk.create_all("/t/keep", b"1", &persistent).await.unwrap();
    zk.create("/t/gone", b"", &persistent).await.unwrap();
    let endpoint = server.server().client_endpoint("cache").await.unwrap();
    let cut_off = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&format!("{}{}", endpoint.connect_string(), server.chroot()))
        .await
        .unwrap();
    let mut cache = TreeCache::builder(&cut_off, "/t").start().unwrap();
    past_initialized(&mut cache).await;
    let hole = endpoint.blackhole();
    endpoint.reset_all();
    zk.set_data("/t/keep", b"2", None).await.unwrap();
    zk.delete("/t/gone", None).await.unwrap();
    zk.create("/t/new", b"", &persistent).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(hole);
    converges(&cache, &zk, "/t").await;
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), cache.next()).await
    {
        seen.push(event);
    }
    assert!(seen.contains(&CacheEvent::Connection(ConnectionState::Suspended)));
    assert!(seen.contains(&CacheEvent::Connection(ConnectionState::Reconnected)));
    let mut changes: Vec<String> = seen
        .iter()
        .filter(|e| !matches!(e, CacheEvent::Connection(_) | CacheEvent::Initialized))
        .map(describe)
        .collect();
    changes.sort();
    assert_eq!(changes, ["+/t/new", "-/t/gone", "~/t/keep"]);
}

#[tokio::test]
async fn a_node_cache_and_a_children_cache() {
    let (zk, _server) = client().await;
    let persistent = CreateOptions::persistent();
    let mut node = NodeCache::start(&zk, "/n").unwrap();
    past_initialized(&mut node).await;
    assert!(node.current().is_none());
    zk.create("/n", b"1", &persistent).await.unwrap();
    assert_eq!(describe(&next_change(&mut node).await), "+/n");
    zk.create("/n/child", b"", &persistent).await.unwrap();
    zk.set_data("/n", b"2", None).await.unwrap();
    // A child is not the node's business: the next change is the data.
    assert_eq!(describe(&next_change(&mut node).await), "~/n");
    assert_eq!(&node.current().unwrap().data.unwrap()[..], b"2");

    let mut children = ChildrenCache::start(&zk, "/n").unwrap();
    assert_eq!(describe(&next_change(&mut children).await), "+/n/child");
    assert_eq!(next_change(&mut children).await, CacheEvent::Initialized);
    zk.set_data("/n", b"3", None).await.unwrap();
    zk.create("/n/other", b"", &persistent).await.unwrap();
    // The parent's own change is not reported.
    assert_eq!(describe(&next_change(&mut children).await), "+/n/other");
    let names: Vec<String> = children
        .children()
        .iter()
        .map(|c| c.path.to_string())
        .collect();
    assert_eq!(names, ["/n/child", "/n/other"]);
}

#[tokio::test]
async fn snapshots_are_shared_and_stay_as_they_were() {
    let (zk, _server) = client().await;
    let persistent = CreateOptions::persistent();
    zk.create("/t", b"", &persistent).await.unwrap();
    for i in 0..50 {
        zk.create(&format!("/t/n{i:02}"), b"", &persistent)
            .await
            .unwrap();
    }
    let cache = TreeCache::builder(&zk, "/t").start().unwrap();
    cache.ignore_events();
    within(cache.initialized()).await.unwrap();
    let before = cache.snapshot();
    zk.delete("/t/n00", None).await.unwrap();
    within(async {
        while cache.get("/t/n00").is_some() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(before.len(), 51, "an old snapshot does not change");
    assert_eq!(cache.snapshot().len(), 50);
}
