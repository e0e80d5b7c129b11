//! Service discovery on a real server: registration by type, updates, unregistration,
//! queries, the service cache's events, the provider's strategies, filters and
//! down-instance policy, and capabilities answered from a cache without the server.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use zk_client::{Client, CreateOptions};
use zk_recipes::discovery::{
    Capabilities, DownInstancePolicy, JsonFormat, RandomStrategy, ServiceCache, ServiceCacheEvent,
    ServiceDiscovery, ServiceInstance, ServiceProvider, ServiceType, StickyStrategy, UriSpec,
};

use crate::node::{extended, through, until};
use crate::support::{children, client, connect, within};

#[tokio::test]
async fn instances_are_registered_queried_updated_and_unregistered() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    let a = ServiceInstance::new("orders")
        .id("a")
        .address("10.0.0.5")
        .port(8080)
        .payload(json!({"zone": "east"}))
        .uri_spec(UriSpec::parse("{scheme}://{address}:{port}").unwrap());
    let b = ServiceInstance::new("orders")
        .id("b")
        .service_type(ServiceType::Static);
    within(discovery.register(a.clone())).await.unwrap();
    within(discovery.register(b.clone())).await.unwrap();

    // The nodes: what Curator writes, in the modes Curator uses.
    let (data, stat) = admin.get_data("/services/orders/a").await.unwrap();
    assert_eq!(&data[..], &a.to_json()[..]);
    assert_eq!(stat.ephemeral_owner, client.session_id());
    let (_, stat) = admin.get_data("/services/orders/b").await.unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "STATIC is persistent");
    // The parents (containers, which a Stat does not tell apart from persistent nodes).
    for parent in ["/services", "/services/orders"] {
        let stat = admin.exists(parent).await.unwrap().unwrap();
        assert_eq!(stat.ephemeral_owner, 0, "{parent}");
    }

    // Queries.
    assert_eq!(discovery.query_for_names().await.unwrap(), ["orders"]);
    let found = discovery.query_for_instances("orders").await.unwrap();
    assert_eq!(found, [a.clone(), b.clone()]);
    assert_eq!(
        discovery.query_for_instance("orders", "a").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        discovery.query_for_instance("orders", "zz").await.unwrap(),
        None
    );
    assert!(
        discovery
            .query_for_instances("none")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        found[0].build_uri_spec().as_deref(),
        Some("http://10.0.0.5:8080")
    );

    // Update: the node and our record.
    let a2 = a.clone().port(9090);
    within(discovery.update(a2.clone())).await.unwrap();
    let (data, _) = admin.get_data("/services/orders/a").await.unwrap();
    assert_eq!(ServiceInstance::from_json(&data).unwrap(), a2);
    let b2 = b.clone().port(1);
    within(discovery.update(b2.clone())).await.unwrap();
    let mut registered = discovery.registered().await;
    registered.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(registered, [a2.clone(), b2]);
    assert!(
        discovery
            .update(ServiceInstance::new("orders"))
            .await
            .is_err()
    );
    assert!(
        discovery
            .update(a2.clone().service_type(ServiceType::Static))
            .await
            .is_err()
    );

    // Unregister, then close.
    within(discovery.unregister("a")).await.unwrap();
    assert_eq!(children(&admin, "/services/orders").await, ["b"]);
    within(discovery.close()).await.unwrap();
    assert!(children(&admin, "/services/orders").await.is_empty());
    assert!(matches!(
        discovery.register(a).await,
        Err(zk_recipes::Error::Closed)
    ));
}

#[tokio::test]
async fn sequential_instances_and_bad_names() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    let seq = ServiceInstance::new("jobs")
        .id("worker-")
        .service_type(ServiceType::DynamicSequential);
    within(discovery.register(seq.clone())).await.unwrap();
    let path = discovery.instance_path("worker-").await.unwrap();
    let name = path.strip_prefix("/services/jobs/worker-").unwrap();
    assert_eq!(name.len(), 10, "a sequence suffix: {path}");
    let stat = admin.exists(&path).await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, client.session_id());
    assert_eq!(
        discovery.query_for_instances("jobs").await.unwrap(),
        std::slice::from_ref(&seq)
    );
    for bad in ["", "a/b", ".."] {
        assert!(matches!(
            discovery.register(ServiceInstance::new(bad)).await,
            Err(zk_recipes::Error::InvalidArgument(_))
        ));
        assert!(matches!(
            discovery.register(ServiceInstance::new("s").id(bad)).await,
            Err(zk_recipes::Error::InvalidArgument(_))
        ));
    }
    discovery.close().await.unwrap();
    assert!(children(&admin, "/services/jobs").await.is_empty());
}

#[tokio::test]
async fn a_node_in_the_way_is_deleted_and_made_again() {
    let (admin, zk) = client().await;
    let other = connect(&zk).await;
    admin
        .create_all("/services/s", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    admin
        .create("/services/s/p", b"old", &CreateOptions::persistent())
        .await
        .unwrap();
    other
        .create("/services/s/e", b"old", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let client = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    let p = ServiceInstance::new("s")
        .id("p")
        .service_type(ServiceType::Static);
    let e = ServiceInstance::new("s").id("e");
    within(discovery.register(p.clone())).await.unwrap();
    within(discovery.register(e.clone())).await.unwrap();
    for (path, instance, owner) in [
        ("/services/s/p", &p, 0),
        ("/services/s/e", &e, client.session_id()),
    ] {
        let (data, stat) = admin.get_data(path).await.unwrap();
        assert_eq!(&data[..], &instance.to_json()[..], "{path}");
        assert_eq!(stat.ephemeral_owner, owner, "{path}");
    }
    discovery.close().await.unwrap();
}

/// The next event that is about an instance.
async fn next_change(cache: &mut ServiceCache) -> ServiceCacheEvent {
    loop {
        let event = within(cache.next()).await.expect("an event");
        if matches!(
            event,
            ServiceCacheEvent::Added(_)
                | ServiceCacheEvent::Updated { .. }
                | ServiceCacheEvent::Removed(_)
        ) {
            return event;
        }
    }
}

#[tokio::test]
async fn the_service_cache_says_which_instance_came_changed_and_went() {
    let (_admin, zk) = client().await;
    let client = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    let early = ServiceInstance::new("api").id("early");
    discovery.register(early.clone()).await.unwrap();
    let mut cache = within(discovery.service_cache("api")).await.unwrap();
    within(cache.initialized()).await.unwrap();
    assert_eq!(cache.name(), "api");
    assert_eq!(cache.instances(), std::slice::from_ref(&early));
    assert_eq!(
        next_change(&mut cache).await,
        ServiceCacheEvent::Added(early.clone())
    );

    let late = ServiceInstance::new("api").id("late").port(1);
    discovery.register(late.clone()).await.unwrap();
    assert_eq!(
        next_change(&mut cache).await,
        ServiceCacheEvent::Added(late.clone())
    );
    let changed = late.clone().port(2);
    discovery.update(changed.clone()).await.unwrap();
    assert_eq!(
        next_change(&mut cache).await,
        ServiceCacheEvent::Updated {
            old: late,
            new: changed.clone()
        }
    );
    discovery.unregister("early").await.unwrap();
    assert_eq!(
        next_change(&mut cache).await,
        ServiceCacheEvent::Removed(early)
    );
    assert_eq!(cache.instances(), [changed]);
    discovery.close().await.unwrap();
}

#[tokio::test]
async fn the_provider_picks_by_strategy_and_leaves_out_disabled_filtered_and_down_instances() {
    let (_admin, zk) = client().await;
    let client = connect(&zk).await;
    let discovery =
        ServiceDiscovery::new(&client, "/services").format(JsonFormat::default().with_enabled());
    for (id, enabled, zone) in [
        ("a", true, "x"),
        ("b", true, "x"),
        ("c", false, "x"),
        ("d", true, "y"),
    ] {
        let instance = ServiceInstance::new("svc")
            .id(id)
            .enabled(enabled)
            .payload(json!({ "zone": zone }));
        discovery.register(instance).await.unwrap();
    }
    let provider = ServiceProvider::builder(&client, "/services", "svc")
        .filter(|i| i.payload.as_ref().is_some_and(|p| p["zone"] == "x"))
        .down_instance_policy(DownInstancePolicy::new(Duration::from_millis(500), 2))
        .start()
        .unwrap();
    within(provider.initialized()).await.unwrap();
    let ids = |all: Vec<ServiceInstance>| all.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(provider.get_all_instances()), ["a", "b"]);
    // Round-robin by default.
    let picks: Vec<_> = (0..4)
        .map(|_| provider.get_instance().unwrap().id)
        .collect();
    assert_eq!(picks, ["a", "b", "a", "b"]);
    // Two errors: down until the policy's timeout.
    let a = provider.get_all_instances().remove(0);
    provider.note_error(&a);
    assert_eq!(ids(provider.get_all_instances()), ["a", "b"]);
    provider.note_error(&a);
    assert_eq!(ids(provider.get_all_instances()), ["b"]);
    assert!((0..5).all(|_| provider.get_instance().unwrap().id == "b"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(ids(provider.get_all_instances()), ["a", "b"]);

    // Sticky: the same instance while it is there.
    let sticky = ServiceProvider::builder(&client, "/services", "svc")
        .strategy(StickyStrategy::new(RandomStrategy))
        .start()
        .unwrap();
    within(sticky.initialized()).await.unwrap();
    let first = sticky.get_instance().unwrap();
    assert!((0..10).all(|_| sticky.get_instance().unwrap().id == first.id));
    discovery.unregister(&first.id).await.unwrap();
    until(|| sticky.get_instance().is_some_and(|i| i.id != first.id)).await;
    discovery.close().await.unwrap();
    until(|| provider.get_instance().is_none()).await;
}

#[tokio::test]
async fn capabilities_are_answered_from_the_cache_until_a_provider_comes_or_goes() {
    let (_admin, zk) = client().await;
    let providers = Capabilities::new(&connect(&zk).await, "/capabilities");
    let first = within(providers.register("transcode", json!({"pid": 1})))
        .await
        .unwrap();
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (reader, endpoint) = through(&zk, "capabilities", build).await;
    let asker = Capabilities::new(&reader, "/capabilities");
    let found = within(asker.get_capable("transcode")).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, first);
    assert_eq!(found[0].payload, Some(json!({"pid": 1})));
    assert!(within(asker.get_capable("none")).await.unwrap().is_empty());

    // Asked again and again: nothing goes to the server (a ping at most).
    let before = endpoint.stats().bytes_up;
    for _ in 0..100 {
        assert_eq!(asker.get_capable("transcode").await.unwrap(), found);
        assert!(asker.get_capable("none").await.unwrap().is_empty());
    }
    let sent = endpoint.stats().bytes_up - before;
    assert!(sent < 40, "{sent} bytes sent for cached answers");
    // Even with the server out of reach.
    {
        let _cut = endpoint.blackhole();
        let answer =
            tokio::time::timeout(Duration::from_millis(200), asker.get_capable("transcode"))
                .await
                .expect("answered from the cache");
        assert_eq!(answer.unwrap(), found);
    }

    // A provider comes: the watch fires and the next query reads again.
    let second = providers
        .register("transcode", json!({"pid": 2}))
        .await
        .unwrap();
    within(async {
        while asker.get_capable("transcode").await.unwrap().len() != 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // A service's first provider comes.
    providers.register("none", json!(null)).await.unwrap();
    within(async {
        while asker.get_capable("none").await.unwrap().len() != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // A provider goes.
    providers.unregister(&first).await.unwrap();
    within(async {
        loop {
            let now = asker.get_capable("transcode").await.unwrap();
            if now.len() == 1 {
                assert_eq!(now[0].id, second);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    providers.close().await.unwrap();
    asker.close().await.unwrap();
}

#[tokio::test]
async fn parents_are_containers_reaped_when_empty_and_made_again() {
    let (client, _) = extended("discovery").await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    let mut cache = ServiceCache::start(&client, "/services", "orders").unwrap();
    for kind in [ServiceType::Static, ServiceType::Dynamic] {
        let instance = ServiceInstance::new("orders").id("a").service_type(kind);
        within(discovery.register(instance.clone())).await.unwrap();
        assert_eq!(
            next_change(&mut cache).await,
            ServiceCacheEvent::Added(instance)
        );
        discovery.unregister("a").await.unwrap();
        assert!(matches!(
            next_change(&mut cache).await,
            ServiceCacheEvent::Removed(_)
        ));
        // The server reaps the empty containers (its check runs every second here).
        within(async {
            while client.exists("/services").await.unwrap().is_some() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
    }
    discovery.close().await.unwrap();
}

#[tokio::test]
async fn a_failed_registration_leaves_nothing_registered() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let discovery = ServiceDiscovery::new(&client, "/services");
    let kept = ServiceInstance::new("orders").id("kept");
    discovery.register(kept.clone()).await.unwrap();
    // Registering the same id again updates it.
    discovery.register(kept.clone().port(7)).await.unwrap();
    let (data, _) = admin.get_data("/services/orders/kept").await.unwrap();
    assert_eq!(ServiceInstance::from_json(&data).unwrap().port, Some(7));
    client.close().await;
    for kind in [ServiceType::Dynamic, ServiceType::Static] {
        let instance = ServiceInstance::new("orders").id("late").service_type(kind);
        assert!(matches!(
            discovery.register(instance).await,
            Err(zk_recipes::Error::SessionEnded(_))
        ));
    }
    let registered = discovery.registered().await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].id, "kept");
    assert!(discovery.instance_path("late").await.is_none());
    assert!(children(&admin, "/services/orders").await.is_empty());
}
