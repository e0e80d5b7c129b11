//! PersistentNode and PersistentTtlNode on a real server: made, kept, made again after a
//! delete, a reconnect, a lost create reply and a session's end, never twice; TTL nodes
//! refused with a clear error, and kept alive and then expired on a server that has them.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::OnceCell;
use zk_client::{Client, CreateMode, CreateOptions};
use zk_recipes::Error;
use zk_recipes::node::{NodeState, PersistentNode, PersistentTtlNode, create_ttl};
use zk_testkit::{ClientEndpoint, EnsembleConfig, Server};

use crate::support::{children, client, connect, init_logging, until_children, within};

const WAIT: Duration = Duration::from_secs(30);

/// A client of the shared server through a fault proxy, in this test's chroot.
pub(crate) async fn through(
    zk: &zk_testkit::Shared,
    name: &str,
    build: zk_client::ClientBuilder,
) -> (Client, ClientEndpoint) {
    let endpoint = zk.server().client_endpoint(name).await.unwrap();
    let client = build
        .connect(&format!("{}{}", endpoint.connect_string(), zk.chroot()))
        .await
        .unwrap();
    (client, endpoint)
}

/// A factory of new sessions on the shared server, in this test's chroot.
pub(crate) fn sessions(
    zk: &zk_testkit::Shared,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = zk_client::Result<Client>> + Send>>
+ Send
+ Sync
+ 'static {
    let connect_string = zk.connect_string();
    move || {
        let connect_string = connect_string.clone();
        Box::pin(async move {
            Client::builder()
                .session_timeout(Duration::from_secs(10))
                .connect(&connect_string)
                .await
        })
    }
}

/// Waits (at most 30 s) until `ok` holds.
pub(crate) async fn until(mut ok: impl FnMut() -> bool) {
    within(async {
        while !ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Waits until the node exists, and returns its path.
async fn created(node: &PersistentNode) -> String {
    until(|| node.state().exists()).await;
    node.actual_path().expect("a path")
}

/// Expires the session of `client` on the server.
pub(crate) async fn expire(zk: &zk_testkit::Shared, client: &Client) {
    zk_testkit::expire_session(zk.addr(), client.session_id(), &client.session_password())
        .await
        .unwrap();
}

/// The dedicated server with TTL and container nodes on (`extendedTypesEnabled`, and
/// expired nodes reaped within about a second), shared by the tests of the binary; and a
/// client of it in a fresh chroot named `name`.
pub(crate) async fn extended(name: &str) -> (Client, String) {
    static SERVER: OnceCell<Server> = OnceCell::const_new();
    init_logging();
    let server = SERVER
        .get_or_init(|| async {
            Server::start_with(EnsembleConfig::new(1).extended_types(true))
                .await
                .expect("a server with extended types")
        })
        .await;
    let root = Client::connect(&server.connect_string()).await.unwrap();
    let chroot = format!("/{name}-{}", uuid_hex());
    root.create(&chroot, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    root.close().await;
    let connect_string = format!("{}{chroot}", server.connect_string());
    (
        Client::connect(&connect_string).await.unwrap(),
        connect_string,
    )
}

fn uuid_hex() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}")
}

#[tokio::test]
async fn a_persistent_node_is_made_kept_updated_and_deleted_on_close() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let node = PersistentNode::new(&client, "/services/api/a").data("v1");
    assert_eq!(node.state(), NodeState::Latent);
    assert!(matches!(
        node.wait_for_initial_create(WAIT).await,
        Err(Error::InvalidArgument(_))
    ));
    node.start().unwrap();
    assert!(matches!(node.start(), Err(Error::InvalidArgument(_))));
    assert!(node.wait_for_initial_create(WAIT).await.unwrap());
    assert_eq!(node.actual_path().as_deref(), Some("/services/api/a"));
    let (data, stat) = admin.get_data("/services/api/a").await.unwrap();
    assert_eq!(&data[..], b"v1");
    assert_eq!(stat.ephemeral_owner, client.session_id());

    node.set_data("v2").await.unwrap();
    assert_eq!(&node.get_data()[..], b"v2");
    let (data, _) = admin.get_data("/services/api/a").await.unwrap();
    assert_eq!(&data[..], b"v2");

    let mut states = node.states();
    assert!(within(states.next()).await.unwrap().exists());
    node.close().await.unwrap();
    node.close().await.unwrap();
    assert_eq!(within(states.next()).await, Some(NodeState::Closed));
    assert_eq!(within(states.next()).await, None);
    assert!(admin.exists("/services/api/a").await.unwrap().is_none());
    assert_eq!(node.actual_path(), None);
    assert!(matches!(node.set_data("v3").await, Err(Error::Closed)));
    assert!(matches!(node.start(), Err(Error::Closed)));
}

#[tokio::test]
async fn a_deleted_node_is_made_again_with_its_latest_data_and_never_twice() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let node = PersistentNode::new(&client, "/n/a").data("v1");
    node.start().unwrap();
    created(&node).await;
    node.set_data("v2").await.unwrap();
    let mut states = node.states();
    assert!(within(states.next()).await.unwrap().exists());
    for _ in 0..3 {
        admin.delete("/n/a", None).await.unwrap();
        assert_eq!(within(states.next()).await, Some(NodeState::Creating));
        let again = within(states.next()).await.unwrap();
        assert_eq!(
            again,
            NodeState::Created {
                path: "/n/a".into()
            }
        );
        let (data, stat) = admin.get_data("/n/a").await.unwrap();
        assert_eq!(&data[..], b"v2", "the latest data");
        assert_eq!(stat.ephemeral_owner, client.session_id());
        assert_eq!(children(&admin, "/n").await, ["a"]);
    }
    // Its data changed by someone else: it stays (and is watched again).
    admin.set_data("/n/a", b"theirs", None).await.unwrap();
    admin.delete("/n/a", None).await.unwrap();
    within(async {
        loop {
            if let Ok((data, _)) = admin.get_data("/n/a").await {
                assert_eq!(&data[..], b"v2");
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    drop(node);
    until_children(&admin, "/n", |n| n == 0).await;
}

#[tokio::test]
async fn a_sequential_protected_node_keeps_its_prefix_and_changes_its_sequence() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    let node = PersistentNode::new(&client, "/q/worker-")
        .mode(CreateMode::EphemeralSequential)
        .protected(true)
        .data("w");
    node.start().unwrap();
    let first = created(&node).await;
    let name = first.rsplit('/').next().unwrap().to_owned();
    let prefix = zk_recipes::protected::prefix_of(&name)
        .expect("a protected name")
        .to_owned();
    assert!(name[prefix.len()..].starts_with("worker-"));
    admin.delete(&first, None).await.unwrap();
    until(|| node.actual_path().is_some_and(|p| p != first) && node.state().exists()).await;
    let second = node.actual_path().unwrap();
    assert!(second.rsplit('/').next().unwrap().starts_with(&prefix));
    assert_ne!(first, second, "a new sequence number");
    assert_eq!(children(&admin, "/q").await.len(), 1);
    node.close().await.unwrap();
    assert!(children(&admin, "/q").await.is_empty());
}

#[tokio::test]
async fn a_reconnect_finds_the_node_or_makes_it_again_never_twice() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (client, endpoint) = through(&zk, "a", build).await;
    let fixed = PersistentNode::new(&client, "/r/fixed").data("f");
    let sequential = PersistentNode::new(&client, "/r/seq-")
        .mode(CreateMode::EphemeralSequential)
        .protected(true)
        .data("s");
    fixed.start().unwrap();
    sequential.start().unwrap();
    created(&fixed).await;
    let seq_path = created(&sequential).await;
    // Resets in quick succession: the nodes stay as they are.
    for _ in 0..3 {
        endpoint.reset_all();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    until(|| fixed.state().exists() && sequential.state().exists()).await;
    assert_eq!(children(&admin, "/r").await.len(), 2);
    assert_eq!(sequential.actual_path().unwrap(), seq_path);
    // Deleted while we are cut off: made again once we are back.
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    admin.delete("/r/fixed", None).await.unwrap();
    admin.delete(&seq_path, None).await.unwrap();
    drop(cut);
    until_children(&admin, "/r", |n| n == 2).await;
    until(|| fixed.state().exists() && sequential.state().exists()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(children(&admin, "/r").await.len(), 2, "never twice");
    for path in ["/r/fixed".to_owned(), sequential.actual_path().unwrap()] {
        let stat = admin.exists(&path).await.unwrap().expect("the node");
        assert_eq!(stat.ephemeral_owner, client.session_id());
    }
    fixed.close().await.unwrap();
    sequential.close().await.unwrap();
    assert!(children(&admin, "/r").await.is_empty());
}

#[tokio::test]
async fn a_lost_create_reply_is_adopted_with_its_data() {
    for protected in [false, true] {
        let (admin, zk) = client().await;
        let build = Client::builder().session_timeout(Duration::from_secs(10));
        let (client, endpoint) = through(&zk, &format!("lost-{protected}"), build).await;
        admin
            .create("/l", b"", &CreateOptions::persistent())
            .await
            .unwrap();
        let node = PersistentNode::new(&client, "/l/member")
            .mode(if protected {
                CreateMode::EphemeralSequential
            } else {
                CreateMode::Ephemeral
            })
            .protected(protected)
            .data("mine");
        // The parent exists: the create is the node's first request.
        let lost = endpoint.drop_reply(1);
        node.start().unwrap();
        let path = created(&node).await;
        drop(lost);
        assert_eq!(endpoint.stats().dropped_replies, 1, "the reply was lost");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(children(&admin, "/l").await.len(), 1, "one node, adopted");
        let (data, stat) = admin.get_data(&path).await.unwrap();
        assert_eq!(&data[..], b"mine");
        assert_eq!(stat.ephemeral_owner, client.session_id());
        node.close().await.unwrap();
        assert!(children(&admin, "/l").await.is_empty());
    }
}

#[tokio::test]
async fn a_node_of_another_session_is_waited_out_not_adopted() {
    let (admin, zk) = client().await;
    let other = connect(&zk).await;
    other
        .create_all("/b/member", b"theirs", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let client = connect(&zk).await;
    let node = PersistentNode::new(&client, "/b/member").data("mine");
    node.start().unwrap();
    until(|| matches!(node.state(), NodeState::Blocked { .. })).await;
    assert_eq!(
        node.state(),
        NodeState::Blocked {
            path: "/b/member".into(),
            owner: other.session_id()
        }
    );
    assert!(
        !node
            .wait_for_initial_create(Duration::from_millis(300))
            .await
            .unwrap()
    );
    let (data, _) = admin.get_data("/b/member").await.unwrap();
    assert_eq!(&data[..], b"theirs", "not taken over");
    other.close().await;
    assert!(node.wait_for_initial_create(WAIT).await.unwrap());
    let (data, stat) = admin.get_data("/b/member").await.unwrap();
    assert_eq!(&data[..], b"mine");
    assert_eq!(stat.ephemeral_owner, client.session_id());
    node.close().await.unwrap();
}

#[tokio::test]
async fn a_persistent_node_adopts_an_existing_persistent_node_and_sets_its_data() {
    let (admin, zk) = client().await;
    admin
        .create_all("/p/config", b"old", &CreateOptions::persistent())
        .await
        .unwrap();
    let client = connect(&zk).await;
    let node = PersistentNode::new(&client, "/p/config")
        .mode(CreateMode::Persistent)
        .data("new");
    node.start().unwrap();
    assert!(node.wait_for_initial_create(WAIT).await.unwrap());
    until(|| node.state().exists()).await;
    let (data, stat) = admin.get_data("/p/config").await.unwrap();
    assert_eq!(&data[..], b"new");
    assert_eq!(stat.ephemeral_owner, 0);
    // Closing deletes it, as Curator's does.
    node.close().await.unwrap();
    assert!(admin.exists("/p/config").await.unwrap().is_none());
}

#[tokio::test]
async fn the_end_of_the_session_fails_the_node_unless_a_factory_gives_a_new_one() {
    let (admin, zk) = client().await;
    // Without a factory: failed, and said so.
    let lone = connect(&zk).await;
    let node = PersistentNode::new(&lone, "/s/lone");
    node.start().unwrap();
    created(&node).await;
    let mut states = node.states();
    expire(&zk, &lone).await;
    let mut last = None;
    while let Some(state) = within(states.next()).await {
        last = Some(state);
    }
    assert!(
        matches!(last, Some(NodeState::Failed(Error::SessionEnded(_)))),
        "{last:?}"
    );
    assert!(matches!(
        node.set_data("x").await,
        Err(Error::SessionEnded(_))
    ));

    // With one: made again on the new session, once.
    let first = connect(&zk).await;
    let node = PersistentNode::new(&first, "/s/kept")
        .data("k")
        .session_factory(sessions(&zk));
    node.start().unwrap();
    created(&node).await;
    let mut owners = vec![first.session_id()];
    for _ in 0..2 {
        let current = node.client();
        expire(&zk, &current).await;
        until(|| node.client().session_id() != current.session_id() && node.state().exists()).await;
        let stat = admin.exists("/s/kept").await.unwrap().expect("the node");
        assert_eq!(stat.ephemeral_owner, node.client().session_id());
        assert!(!owners.contains(&stat.ephemeral_owner));
        owners.push(stat.ephemeral_owner);
        assert_eq!(children(&admin, "/s").await, ["kept"]);
    }
    node.close().await.unwrap();
    assert!(admin.exists("/s/kept").await.unwrap().is_none());
}

#[tokio::test]
async fn a_dropped_node_is_deleted_in_the_background() {
    let (admin, zk) = client().await;
    let client = connect(&zk).await;
    for mode in [CreateMode::Ephemeral, CreateMode::Persistent] {
        let node = PersistentNode::new(&client, "/d/node").mode(mode);
        node.start().unwrap();
        created(&node).await;
        drop(node);
        until_children(&admin, "/d", |n| n == 0).await;
    }
}

#[tokio::test]
async fn bad_arguments_are_refused_at_start() {
    let (client, _zk) = client().await;
    let bad = [
        PersistentNode::new(&client, "no-slash"),
        PersistentNode::new(&client, "/"),
        PersistentNode::new(&client, "/a").ttl(Duration::from_secs(1)),
        PersistentNode::new(&client, "/a").mode(CreateMode::PersistentWithTtl),
        PersistentNode::new(&client, "/a").mode(CreateMode::Container),
    ];
    for node in bad {
        assert!(
            matches!(node.start(), Err(Error::InvalidArgument(_))),
            "{node:?}"
        );
    }
}

#[tokio::test]
async fn ttl_nodes_on_a_server_without_them_fail_with_the_setting_to_turn_on() {
    let (client, _zk) = client().await;
    let check = |e: &Error| {
        let text = e.to_string();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert!(text.contains("extendedTypesEnabled=true"), "{text}");
        assert!(text.contains("TTL nodes"), "{text}");
        assert!(!e.is_retryable());
    };
    let node = PersistentTtlNode::new(&client, "/ttl/a", Duration::from_secs(5));
    node.start().unwrap();
    check(&node.wait_for_initial_create(WAIT).await.unwrap_err());
    assert!(matches!(node.state(), NodeState::Failed(_)));
    let plain = PersistentNode::new(&client, "/ttl/b")
        .mode(CreateMode::PersistentWithTtl)
        .ttl(Duration::from_secs(5));
    plain.start().unwrap();
    check(&plain.wait_for_initial_create(WAIT).await.unwrap_err());
    check(
        &create_ttl(&client, "/ttl/c", b"", Duration::from_secs(5), false)
            .await
            .unwrap_err(),
    );
    node.close().await.unwrap();
}

#[tokio::test]
async fn a_ttl_node_lives_while_touched_and_expires_after_close() {
    let (client, _) = extended("ttl").await;
    let ttl = Duration::from_millis(1000);
    let node = PersistentTtlNode::new(&client, "/leases/a", ttl).data("holder");
    node.start().unwrap();
    assert!(node.wait_for_initial_create(WAIT).await.unwrap());
    // Several TTLs and reaper runs later, it is still there, with its touched child.
    tokio::time::sleep(ttl * 4).await;
    let (data, stat) = client.get_data("/leases/a").await.unwrap();
    assert_eq!(&data[..], b"holder");
    assert_eq!(stat.ephemeral_owner, 0);
    assert!(client.exists("/leases/a/touch").await.unwrap().is_some());
    node.close().await.unwrap();
    // Left to the server: the child expires, then the node.
    assert!(client.exists("/leases/a").await.unwrap().is_some());
    within(async {
        while client.exists("/leases/a").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;

    // A one-off TTL node goes on its own.
    let (path, _) = create_ttl(&client, "/once/x", b"", ttl, true)
        .await
        .unwrap();
    assert!(path.starts_with("/once/x"));
    within(async {
        while client.exists(&path).await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    client.close().await;
}
