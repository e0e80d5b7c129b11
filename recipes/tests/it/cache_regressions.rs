//! The caches' regressions that need a server: a node deleted and made again while the
//! cache was cut off (the same version, another node), and the end of the session.

use std::time::Duration;

use futures::StreamExt as _;
use zk_client::{Client, CreateOptions};
use zk_recipes::cache::{CacheEvent, NodeCache, TreeCache};
use zk_recipes::state::ConnectionState;

use crate::node::{expire, through};
use crate::support::{client, within};

fn ten_seconds() -> zk_client::ClientBuilder {
    Client::builder().session_timeout(Duration::from_secs(10))
}

/// The events until `until` matches one (included), skipping connection events.
async fn changes_until<S>(events: &mut S, until: impl Fn(&CacheEvent) -> bool) -> Vec<CacheEvent>
where
    S: futures::Stream<Item = CacheEvent> + Unpin,
{
    within(async {
        let mut seen = Vec::new();
        loop {
            let event = events.next().await.expect("the cache lives");
            if matches!(event, CacheEvent::Connection(_)) {
                continue;
            }
            let last = until(&event);
            seen.push(event);
            if last {
                return seen;
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_node_deleted_and_made_again_while_cut_off_is_one_update_to_the_new_node() {
    let (zk, server) = client().await;
    let persistent = CreateOptions::persistent();
    zk.create_all("/t/a", b"same", &persistent).await.unwrap();
    let (cut_off, endpoint) = through(&server, "caches", ten_seconds()).await;
    let mut node = NodeCache::start(&cut_off, "/t/a").unwrap();
    let mut tree = TreeCache::builder(&cut_off, "/t").start().unwrap();
    changes_until(&mut node, |e| *e == CacheEvent::Initialized).await;
    changes_until(&mut tree, |e| *e == CacheEvent::Initialized).await;
    let before = node.current().expect("the node").stat;

    let hole = endpoint.blackhole();
    endpoint.reset_all();
    zk.delete("/t/a", None).await.unwrap();
    zk.create("/t/a", b"same", &persistent).await.unwrap();
    let (_, after) = zk.get_data("/t/a").await.unwrap();
    assert_eq!((after.version, before.version), (0, 0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(hole);

    // Same path, version and data: the creation zxid tells the new node apart.
    for events in [
        changes_until(&mut node, |e| matches!(e, CacheEvent::Updated { .. })).await,
        changes_until(&mut tree, |e| matches!(e, CacheEvent::Updated { .. })).await,
    ] {
        match &events[..] {
            [CacheEvent::Updated { old, new }] => {
                assert_eq!(&*new.path, "/t/a");
                assert_eq!(old.stat.czxid, before.czxid);
                assert_eq!(new.stat.czxid, after.czxid);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(node.current().unwrap().stat, after);
    assert_eq!(tree.get("/t/a").unwrap().stat, after);
}

#[tokio::test]
async fn a_cache_whose_session_expires_says_it_is_lost_and_ends() {
    let (zk, server) = client().await;
    zk.create("/t", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let doomed = crate::support::connect(&server).await;
    let mut cache = TreeCache::builder(&doomed, "/t").start().unwrap();
    within(cache.initialized()).await.unwrap();
    expire(&server, &doomed).await;
    let rest: Vec<CacheEvent> = within(cache.by_ref().collect()).await;
    assert_eq!(
        rest.iter()
            .filter(|e| **e == CacheEvent::Connection(ConnectionState::Lost))
            .count(),
        1,
        "{rest:?}"
    );
    assert_eq!(
        rest.last(),
        Some(&CacheEvent::Connection(ConnectionState::Lost))
    );
    // The last snapshot stays readable.
    assert_eq!(cache.snapshot().len(), 1);
}

#[tokio::test]
async fn curator_690_a_children_cache_of_more_than_65536_children() {
    const CHILDREN: usize = 66_000;
    let (zk, _server) = client().await;
    let persistent = CreateOptions::persistent();
    zk.create("/big", b"", &persistent).await.unwrap();
    let names: Vec<String> = (0..CHILDREN).map(|i| format!("c{i:05}")).collect();
    // Made 1,000 to a multi, 8 multis in flight.
    let batches: Vec<_> = names
        .chunks(1000)
        .map(|chunk| {
            chunk
                .iter()
                .fold(zk.multi(), |multi, name| {
                    multi.create(&format!("/big/{name}"), b"", &persistent)
                })
                .commit()
        })
        .collect();
    futures::stream::iter(batches)
        .buffer_unordered(8)
        .for_each(|made| async move {
            made.unwrap();
        })
        .await;
    let cache = zk_recipes::cache::ChildrenCache::start(&zk, "/big").unwrap();
    cache.ignore_events();
    within(cache.initialized()).await.unwrap();
    assert_eq!(cache.children().len(), CHILDREN);
    zk.create("/big/last", b"", &persistent).await.unwrap();
    within(async {
        while cache.children().len() == CHILDREN {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(cache.children().iter().any(|c| &*c.path == "/big/last"));
}
