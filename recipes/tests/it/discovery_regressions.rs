//! Curator's discovery bugs (RECIPES.md §4.5): CURATOR-146/181 (a new session registers
//! the updated data), CURATOR-164 (unregister racing a reconnect, or a new session),
//! CURATOR-320 (a reconnect does not delete and re-create), CURATOR-94 (PERMANENT
//! instances outlive close) and CURATOR-574 (a node that is not an instance is skipped).

use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, CreateOptions};
use zk_recipes::discovery::{
    ServiceCache, ServiceCacheEvent, ServiceDiscovery, ServiceInstance, ServiceProvider,
    ServiceType,
};

use crate::node::{expire, sessions, through, until};
use crate::support::{children, client, connect, within};

/// The data and `ephemeralOwner` of `path`, if it exists.
async fn node(client: &Client, path: &str) -> Option<(Vec<u8>, i64, i64)> {
    match client.get_data(path).await {
        Ok((data, stat)) => Some((data.to_vec(), stat.ephemeral_owner, stat.czxid)),
        Err(zk_client::Error::NoNode(_)) => None,
        Err(e) => panic!("{path}: {e}"),
    }
}

#[tokio::test]
async fn curator_146_181_a_new_session_registers_the_updated_instance() {
    let (admin, zk) = client().await;
    let first = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&first, "/services").session_factory(sessions(&zk));
    let original = ServiceInstance::new("orders").id("a").port(1);
    let static_one = ServiceInstance::new("orders")
        .id("s")
        .service_type(ServiceType::Static);
    within(discovery.register(original.clone())).await.unwrap();
    within(discovery.register(static_one.clone()))
        .await
        .unwrap();
    let updated = original.clone().port(2).address("10.0.0.9");
    within(discovery.update(updated.clone())).await.unwrap();
    let (_, _, static_czxid) = node(&admin, "/services/orders/s").await.unwrap();

    for _ in 0..2 {
        let old = discovery.client();
        expire(&zk, &old).await;
        within(async {
            loop {
                let now = discovery.client().session_id();
                if now != old.session_id() {
                    if let Some((_, owner, _)) = node(&admin, "/services/orders/a").await {
                        if owner == now {
                            break;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let (data, _, _) = node(&admin, "/services/orders/a").await.unwrap();
        assert_eq!(ServiceInstance::from_json(&data).unwrap(), updated);
        assert_eq!(children(&admin, "/services/orders").await, ["a", "s"]);
    }
    // The static instance was left as it was; queries use the new session.
    let (_, _, czxid) = node(&admin, "/services/orders/s").await.unwrap();
    assert_eq!(czxid, static_czxid);
    let found = discovery.query_for_instances("orders").await.unwrap();
    assert_eq!(found, [updated, static_one]);
    discovery.close().await.unwrap();
    assert!(children(&admin, "/services/orders").await.is_empty());
}

#[tokio::test]
async fn curator_164_unregister_racing_a_reconnect_leaves_the_node_gone() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (client, endpoint) = through(&zk, "unregister", build).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    for (id, kind) in [("d", ServiceType::Dynamic), ("s", ServiceType::Static)] {
        let instance = ServiceInstance::new("orders").id(id).service_type(kind);
        within(discovery.register(instance)).await.unwrap();
    }
    // Cut off: the unregisters start while the connection is gone, and the reconnect
    // comes while they are under way.
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    let unregister = async {
        discovery.unregister("d").await.unwrap();
        discovery.unregister("s").await.unwrap();
    };
    let reconnect = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(cut);
    };
    within(futures::future::join(unregister, reconnect)).await;
    within(async {
        while !children(&admin, "/services/orders").await.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // More reconnects: nothing comes back.
    for _ in 0..3 {
        endpoint.reset_all();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until(|| client.state().is_connected()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(children(&admin, "/services/orders").await.is_empty());
    assert!(discovery.registered().await.is_empty());
    discovery.close().await.unwrap();
}

#[tokio::test]
async fn curator_164_unregister_racing_a_new_session_leaves_the_node_gone() {
    let (admin, zk) = client().await;
    for pause in [0u64, 5, 20, 50] {
        let first = connect(&zk).await;
        let discovery = ServiceDiscovery::new(&first, "/services").session_factory(sessions(&zk));
        let instance = ServiceInstance::new("orders").id("d");
        within(discovery.register(instance)).await.unwrap();
        // The session ends; the unregister comes while the instance is being registered
        // again on the next one.
        expire(&zk, &first).await;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        within(discovery.unregister("d")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            node(&admin, "/services/orders/d").await.is_none(),
            "registered again after unregister (pause {pause} ms)"
        );
        discovery.close().await.unwrap();
    }
}

#[tokio::test]
async fn curator_320_a_reconnect_on_the_same_session_does_not_delete_and_recreate() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (client, endpoint) = through(&zk, "reconnect", build).await;
    let discovery = ServiceDiscovery::new(&client, "/services").session_factory(sessions(&zk));
    let instance = ServiceInstance::new("orders").id("a");
    within(discovery.register(instance)).await.unwrap();
    let (_, owner, czxid) = node(&admin, "/services/orders/a").await.unwrap();
    let mut watcher = ServiceCache::start(&connect(&zk).await, "/services", "orders").unwrap();
    within(watcher.initialized()).await.unwrap();
    let session = client.session_id();
    for _ in 0..5 {
        endpoint.reset_all();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until(|| client.state().is_connected()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(client.session_id(), session, "the same session");
    assert_eq!(discovery.client().session_id(), session);
    let (_, owner_now, czxid_now) = node(&admin, "/services/orders/a").await.unwrap();
    assert_eq!(
        (owner_now, czxid_now),
        (owner, czxid),
        "never deleted and made again"
    );
    // Nor did a watcher see it go.
    let mut events = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(100), watcher.next()).await
    {
        events.push(event);
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ServiceCacheEvent::Removed(_))),
        "{events:?}"
    );
    discovery.close().await.unwrap();
}

#[tokio::test]
async fn curator_94_permanent_instances_outlive_close() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    for (id, kind) in [
        ("permanent", ServiceType::Permanent),
        ("static", ServiceType::Static),
        ("dynamic", ServiceType::Dynamic),
    ] {
        let instance = ServiceInstance::new("orders").id(id).service_type(kind);
        within(discovery.register(instance)).await.unwrap();
    }
    let (_, owner, czxid) = node(&admin, "/services/orders/permanent").await.unwrap();
    assert_eq!(owner, 0);
    within(discovery.close()).await.unwrap();
    assert_eq!(children(&admin, "/services/orders").await, ["permanent"]);
    // Nor does the end of the session touch it.
    client.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (data, _, czxid_now) = node(&admin, "/services/orders/permanent").await.unwrap();
    assert_eq!(czxid_now, czxid);
    let read = ServiceInstance::from_json(&data).unwrap();
    assert_eq!(read.service_type, ServiceType::Permanent);
    // A discovery that did not register it lists it.
    let other = ServiceDiscovery::new(&connect(&zk).await, "/services");
    assert_eq!(other.query_for_instances("orders").await.unwrap(), [read]);
}

#[tokio::test]
async fn curator_574_a_node_that_is_not_an_instance_is_skipped() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    let real = ServiceInstance::new("orders").id("real");
    within(discovery.register(real.clone())).await.unwrap();
    let mut cache = within(discovery.service_cache("orders")).await.unwrap();
    within(cache.initialized()).await.unwrap();
    for (name, data) in [("empty", &b""[..]), ("broken", b"{"), ("foreign", b"hello")] {
        admin
            .create(
                &format!("/services/orders/{name}"),
                data,
                &CreateOptions::persistent(),
            )
            .await
            .unwrap();
    }
    assert_eq!(children(&admin, "/services/orders").await.len(), 4);
    assert_eq!(
        discovery.query_for_instances("orders").await.unwrap(),
        std::slice::from_ref(&real)
    );
    assert_eq!(
        discovery
            .query_for_instance("orders", "empty")
            .await
            .unwrap(),
        None
    );
    // The cache: it read the foreign nodes, and reports only the instance.
    until(|| cache.instances() == [real.clone()]).await;
    let late = ServiceInstance::new("orders").id("late");
    discovery.register(late.clone()).await.unwrap();
    let mut added = Vec::new();
    while added.len() < 2 {
        match within(cache.next()).await.expect("an event") {
            ServiceCacheEvent::Added(i) => added.push(i.id),
            ServiceCacheEvent::Updated { .. } | ServiceCacheEvent::Removed(_) => {
                panic!("unexpected event")
            }
            _ => {}
        }
    }
    assert_eq!(added, ["real", "late"]);
    let provider = ServiceProvider::builder(&client, "/services", "orders")
        .start()
        .unwrap();
    within(provider.initialized()).await.unwrap();
    assert_eq!(provider.get_all_instances().len(), 2);
    // An empty node's data made an instance: now it is one.
    admin
        .set_data(
            "/services/orders/empty",
            &real.clone().id("empty").to_json(),
            None,
        )
        .await
        .unwrap();
    loop {
        if let ServiceCacheEvent::Added(i) = within(cache.next()).await.expect("an event") {
            assert_eq!(i.id, "empty");
            break;
        }
    }
    discovery.close().await.unwrap();
}
