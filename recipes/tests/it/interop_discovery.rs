//! Service discovery against Curator 5.4's `curator-x-discovery`, run as a separate
//! process (tests/interop/): a Curator `ServiceDiscovery` and ours register under one
//! base; each lists the other's instances (ours written with and without `"enabled"`)
//! with their ports, payloads and URIs; Curator's `ServiceProvider` offers ours, and
//! leaves one out once it is disabled; our cache sees Curator's instance come and go.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use zk_client::CreateOptions;
use zk_recipes::discovery::{
    JsonFormat, ServiceCache, ServiceCacheEvent, ServiceDiscovery, ServiceInstance, ServiceType,
    UriSpec,
};

use crate::peers::{self, Program, Running, Spawn};
use crate::support::{children, connect, init_logging, within};

/// How long the peer may take to print an expected line.
const LINE: Duration = Duration::from_secs(60);

/// Waits until `peer` has printed exactly `line`.
async fn printed(peer: &mut Running, line: &str) {
    printed_times(peer, line, 1).await;
}

/// Waits until `peer` has printed exactly `line` `times` times.
async fn printed_times(peer: &mut Running, line: &str, times: usize) {
    let wait = async {
        loop {
            let lines = peer.printed();
            if lines.iter().filter(|l| *l == line).count() >= times {
                return;
            }
            if lines.iter().any(|l| l.starts_with("ERROR ")) {
                panic!("the peer failed: {lines:#?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(LINE, wait).await.is_err() {
        panic!("no {line:?} from the peer: {:#?}", peer.printed());
    }
}

/// The next event of `cache` about an instance.
async fn next_change(cache: &mut ServiceCache) -> ServiceCacheEvent {
    within(async {
        loop {
            if let e @ (ServiceCacheEvent::Added(_)
            | ServiceCacheEvent::Updated { .. }
            | ServiceCacheEvent::Removed(_)) = cache.next().await.expect("the cache ended")
            {
                return e;
            }
        }
    })
    .await
}

#[tokio::test]
async fn interop_service_discovery_with_curator() {
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let base = "/interop/discovery";
    admin
        .create_all(&format!("{base}-cs"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let client = connect(&zk).await;
    let mut cache = ServiceCache::start(&client, base, "svc").unwrap();
    within(cache.initialized()).await.unwrap();

    let spawn = Spawn {
        program: Program::CuratorDiscovery,
        id: "curator-d".to_owned(),
        sessions: 1,
        extra: Vec::new(),
    };
    let mut curator =
        peers::start(&spawn, &zk.connect_string(), base, 1, Duration::ZERO, false).await;
    curator.ready(1).await;
    printed(&mut curator, "REGISTERED curator-d").await;
    printed(&mut curator, "PROVIDER curator-d").await;

    // Curator's instance, read by us.
    let ServiceCacheEvent::Added(theirs) = next_change(&mut cache).await else {
        panic!("expected Curator's instance");
    };
    assert_eq!(theirs.id, "curator-d");
    assert_eq!(theirs.name, "svc");
    assert_eq!(theirs.address.as_deref(), Some("10.0.0.1"));
    assert_eq!(theirs.port, Some(8080));
    assert_eq!(theirs.service_type, ServiceType::Dynamic);
    assert_eq!(theirs.payload, Some(json!({"from": "curator"})));
    assert!(theirs.enabled);
    assert_eq!(
        theirs.build_uri_spec().as_deref(),
        Some("http://10.0.0.1:8080")
    );

    // Ours, read by Curator: by query, and offered by its provider.
    let discovery =
        ServiceDiscovery::new(&client, base).format(JsonFormat::default().with_enabled());
    let ours = ServiceInstance::new("svc")
        .id("ours")
        .address("10.0.0.2")
        .port(9090)
        .ssl_port(9443)
        .payload(json!({"from": "ours"}))
        .uri_spec(UriSpec::parse("{scheme}://{address}:{ssl-port}").unwrap());
    within(discovery.register(ours.clone())).await.unwrap();
    // And one in Curator's default form: no "enabled".
    let plain_discovery = ServiceDiscovery::new(&client, base);
    let plain = ServiceInstance::new("svc")
        .id("plain")
        .address("10.0.0.3")
        .port(7070)
        .uri_spec(UriSpec::parse("{address}:{port}").unwrap());
    within(plain_discovery.register(plain.clone()))
        .await
        .unwrap();
    printed(
        &mut curator,
        "INSTANCES curator-d:8080:http://10.0.0.1:8080 ours:9090:https://10.0.0.2:9443 plain:7070:10.0.0.3:7070",
    )
    .await;
    printed(&mut curator, "PROVIDER curator-d ours plain").await;
    let mut found = discovery.query_for_instances("svc").await.unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, [theirs, ours.clone(), plain]);
    assert_eq!(
        children(&admin, &format!("{base}/svc")).await,
        ["curator-d", "ours", "plain"]
    );

    // Disabled: Curator's provider leaves it out.
    within(discovery.update(ours.clone().enabled(false)))
        .await
        .unwrap();
    printed(&mut curator, "PROVIDER curator-d plain").await;
    plain_discovery.close().await.unwrap();
    // The second time: the first was before ours came.
    printed_times(&mut curator, "PROVIDER curator-d", 2).await;

    // Curator leaves: our cache sees it go.
    admin
        .create(
            &format!("{base}-cs/leave-curator-d"),
            b"",
            &CreateOptions::persistent(),
        )
        .await
        .unwrap();
    printed(&mut curator, "LEFT curator-d").await;
    let finished = curator.finish(LINE).await;
    assert!(finished.status.success(), "{finished:#?}");
    assert_eq!(
        next_change(&mut cache).await,
        ServiceCacheEvent::Added(ours.clone())
    );
    let mut removed = Vec::new();
    while removed.len() < 2 {
        if let ServiceCacheEvent::Removed(gone) = next_change(&mut cache).await {
            removed.push(gone.id);
        }
    }
    assert_eq!(removed, ["plain", "curator-d"]);
    discovery.close().await.unwrap();
    assert!(children(&admin, &format!("{base}/svc")).await.is_empty());
}
