//! Every operation and its error cases, on the shared server.

use std::time::Duration;

use zk_client::proto::path::PathError;
use zk_client::{
    AddWatchMode, Client, CreateMode, CreateOptions, Error, OpResult, Perms, ReadResult,
    SessionState, WatcherType, acl,
};

use crate::support::client;

#[tokio::test]
async fn create_get_set_delete() {
    let (zk, _server) = client().await;
    let (path, stat) = zk
        .create("/a", b"one", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(path, "/a");
    assert_eq!(
        (stat.data_length, stat.version, stat.ephemeral_owner),
        (3, 0, 0)
    );
    let (data, stat) = zk.get_data("/a").await.unwrap();
    assert_eq!(&data[..], b"one");
    let stat = zk.set_data("/a", b"two", Some(stat.version)).await.unwrap();
    assert_eq!(stat.version, 1);
    assert!(matches!(
        zk.set_data("/a", b"x", Some(0)).await,
        Err(Error::BadVersion(_))
    ));
    assert!(matches!(
        zk.create("/a", b"", &CreateOptions::persistent()).await,
        Err(Error::NodeExists(_))
    ));
    assert!(matches!(
        zk.create("/none/a", b"", &CreateOptions::persistent())
            .await,
        Err(Error::NoNode(_))
    ));
    let (seq, _) = zk
        .create(
            "/a/s-",
            b"",
            &CreateOptions::new(CreateMode::EphemeralSequential),
        )
        .await
        .unwrap();
    assert_eq!(seq, "/a/s-0000000000");
    assert!(matches!(
        zk.delete("/a", None).await,
        Err(Error::NotEmpty(_))
    ));
    assert!(matches!(
        zk.delete(&seq, Some(5)).await,
        Err(Error::BadVersion(_))
    ));
    zk.delete(&seq, None).await.unwrap();
    zk.delete("/a", Some(1)).await.unwrap();
    assert_eq!(zk.exists("/a").await.unwrap(), None);
    let err = zk.get_data("/a").await.unwrap_err();
    assert_eq!(err.to_string(), "getData /a: no node");
    assert!(matches!(zk.delete("/a", None).await, Err(Error::NoNode(_))));
}

#[tokio::test]
async fn create_modes() {
    let (zk, _server) = client().await;
    let (_, stat) = zk
        .create("/e", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, zk.session_id());
    assert!(matches!(
        zk.create("/e/child", b"", &CreateOptions::persistent())
            .await,
        Err(Error::NoChildrenForEphemerals(_))
    ));
    let (p1, _) = zk
        .create(
            "/q-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    let (p2, _) = zk
        .create(
            "/q-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    assert!(p1 < p2 && p1.starts_with("/q-"));
    let (c, stat) = zk
        .create("/c", b"", &CreateOptions::container())
        .await
        .unwrap();
    assert_eq!((c.as_str(), stat.ephemeral_owner), ("/c", 0));
    // TTL nodes need extendedTypesEnabled, which the shared server does not set.
    let ttl = CreateOptions::new(CreateMode::PersistentWithTtl).ttl(Duration::from_secs(60));
    assert!(matches!(
        zk.create("/t", b"", &ttl).await,
        Err(Error::Unimplemented(_))
    ));
    assert!(matches!(
        zk.create(
            "/t",
            b"",
            &CreateOptions::new(CreateMode::PersistentWithTtl)
        )
        .await,
        Err(Error::InvalidArgument(..))
    ));
    assert!(matches!(
        zk.create(
            "/t",
            b"",
            &CreateOptions::persistent().ttl(Duration::from_secs(1))
        )
        .await,
        Err(Error::InvalidArgument(..))
    ));
}

#[tokio::test]
async fn ttl_nodes_on_a_server_with_extended_types() {
    let cfg = zk_testkit::EnsembleConfig::new(1).extended_types(true);
    let server = zk_testkit::Server::start_with(cfg).await.unwrap();
    let zk = Client::connect(&server.connect_string()).await.unwrap();
    let ttl =
        CreateOptions::new(CreateMode::PersistentSequentialWithTtl).ttl(Duration::from_secs(60));
    let (path, stat) = zk.create("/lease-", b"x", &ttl).await.unwrap();
    assert!(path.starts_with("/lease-"));
    assert_eq!(stat.ephemeral_owner, 0, "the server hides the TTL");
    let bad = CreateOptions::new(CreateMode::PersistentWithTtl).ttl(Duration::from_millis(1 << 41));
    assert!(matches!(
        zk.create("/big", b"", &bad).await,
        Err(Error::BadArguments(_))
    ));
}

#[tokio::test]
async fn invalid_arguments_fail_before_sending() {
    let (zk, _server) = client().await;
    assert!(matches!(
        zk.get_data("a").await,
        Err(Error::InvalidPath(_, PathError::NotAbsolute))
    ));
    assert!(matches!(
        zk.exists("/a/").await,
        Err(Error::InvalidPath(_, PathError::TrailingSlash))
    ));
    assert!(matches!(
        zk.delete("/a//b", None).await,
        Err(Error::InvalidPath(_, PathError::EmptyName(3)))
    ));
    let err = zk.set_data("/a/../b", b"", None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "setData /a/../b: invalid path: relative path segment at byte 4"
    );
    // Sequential creates may end with '/'.
    zk.create("/seq", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (p, _) = zk
        .create(
            "/seq/",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    assert_eq!(p, "/seq/0000000000");
    // Larger than jute.maxbuffer: refused locally, the connection stays up.
    let big = vec![0u8; 1 << 20];
    assert!(matches!(
        zk.create("/big", &big, &CreateOptions::persistent()).await,
        Err(Error::TooLarge(_))
    ));
    assert!(zk.exists("/").await.unwrap().is_some());
}

#[tokio::test]
async fn a_reply_above_the_frame_limit_fails_only_its_call_on_the_same_session() {
    let (zk, server) = client().await;
    // A second client of the same chroot with a small frame limit.
    let small = Client::builder()
        .max_frame_len(16 << 10)
        .connect(&format!("{}{}", server.addr(), server.chroot()))
        .await
        .unwrap();
    let big = vec![1u8; 40 << 10];
    zk.create("/big", &big, &CreateOptions::persistent())
        .await
        .unwrap();
    zk.create("/small", b"s", &CreateOptions::persistent())
        .await
        .unwrap();
    let session = small.session_id();
    let mut states = small.state_watcher();
    let (oversized, fine, batch) = tokio::join!(
        small.get_data("/big"),
        small.get_data("/small"),
        small
            .multi_read()
            .get_data("/small")
            .get_data("/big")
            .commit(),
    );
    assert!(
        matches!(oversized, Err(Error::TooLarge(_))),
        "{oversized:?}"
    );
    assert_eq!(fine.unwrap().0, &b"s"[..]);
    assert!(matches!(batch, Err(Error::TooLarge(_))), "{batch:?}");
    assert_eq!(
        oversized.unwrap_err().to_string(),
        "getData /big: request or reply exceeds the maximum frame size"
    );
    // The connection stayed up: same session, no reconnect, and it still answers.
    assert_eq!(small.session_id(), session);
    let change = tokio::time::timeout(Duration::from_millis(10), states.changed()).await;
    assert!(change.is_err(), "the state changed: {change:?}");
    assert_eq!(small.state(), SessionState::Connected);
    assert_eq!(small.get_data("/small").await.unwrap().0, &b"s"[..]);
    // The client with the default limit reads it.
    assert_eq!(zk.get_data("/big").await.unwrap().0.len(), big.len());
    small.close().await;
}

#[tokio::test]
async fn children_and_counts() {
    let (zk, _server) = client().await;
    zk.create_all("/p/x/y", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.create("/p/z", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (mut children, stat) = zk.get_children("/p").await.unwrap();
    children.sort();
    assert_eq!(children, ["x", "z"]);
    assert_eq!(stat.num_children, 2);
    assert_eq!(zk.get_all_children_number("/p").await.unwrap(), 3);
    assert!(matches!(
        zk.get_children("/missing").await,
        Err(Error::NoNode(_))
    ));
    let mut walked = zk.walk("/p").await.unwrap();
    walked.sort();
    assert_eq!(walked, ["/p/x", "/p/x/y", "/p/z"]);
    assert_eq!(zk.get_ephemerals("/").await.unwrap(), ["/p/z"]);
    assert_eq!(zk.get_ephemerals("/p/").await.unwrap(), ["/p/z"]);
    zk.delete_all("/p").await.unwrap();
    assert_eq!(zk.exists("/p").await.unwrap(), None);
    zk.delete_all("/p").await.unwrap();
}

#[tokio::test]
async fn acls_and_auth() {
    let (zk, server) = client().await;
    zk.add_auth("digest", b"alice:secret");
    zk.create(
        "/private",
        b"s",
        &CreateOptions::persistent().acl(acl::creator_all()),
    )
    .await
    .unwrap();
    let (acl, _) = zk.get_acl("/private").await.unwrap();
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].perms, Perms::ALL);
    assert_eq!(acl[0].id.scheme, "digest");
    assert!(acl[0].id.id.starts_with("alice:"));
    let who = zk.who_am_i().await.unwrap();
    assert!(
        who.iter()
            .any(|c| c.auth_scheme == "digest" && c.user == "alice"),
        "{who:?}"
    );

    // Another session without the identity is refused, then allowed after add_auth.
    let other = Client::connect(&format!("{}{}", server.addr(), server.chroot()))
        .await
        .unwrap();
    assert!(matches!(
        other.get_data("/private").await,
        Err(Error::NoAuth(_))
    ));
    other.add_auth("digest", b"alice:secret");
    assert_eq!(&other.get_data("/private").await.unwrap().0[..], b"s");

    let stat = zk
        .set_acl("/private", &acl::read_only(), None)
        .await
        .unwrap();
    assert_eq!(stat.aversion, 1);
    assert!(matches!(
        zk.set_data("/private", b"x", None).await,
        Err(Error::NoAuth(_))
    ));
    assert!(matches!(
        zk.set_acl("/private", &[], None).await,
        Err(Error::InvalidAcl(_))
    ));
}

#[tokio::test]
async fn multi_commits_atomically_and_reports_the_failing_op() {
    let (zk, _server) = client().await;
    zk.create("/m", b"0", &CreateOptions::persistent())
        .await
        .unwrap();
    let results = zk
        .multi()
        .check("/m", 0)
        .create("/m/a", b"", &CreateOptions::persistent())
        .set_data("/m", b"1", None)
        .delete("/m/a", None)
        .commit()
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0], OpResult::Check);
    // 3.8.0 demotes create2 inside multi to create: no Stat (ZOOKEEPER-4026).
    assert!(matches!(&results[1], OpResult::Create { path, .. } if path == "/m/a"));
    assert!(matches!(results[2], OpResult::SetData(stat) if stat.version == 1));
    assert_eq!(results[3], OpResult::Delete);

    let err = zk
        .multi()
        .create("/m/b", b"", &CreateOptions::persistent())
        .check("/m", 99)
        .create("/m/c", b"", &CreateOptions::persistent())
        .commit()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::BadVersion(c) if c.path.as_deref() == Some("/m")),
        "{err}"
    );
    assert_eq!(zk.exists("/m/b").await.unwrap(), None, "nothing applied");
    assert!(zk.multi().commit().await.unwrap().is_empty());
    let err = zk.multi().delete("bad", None).commit().await.unwrap_err();
    assert!(matches!(err, Error::InvalidPath(..)));
}

#[tokio::test]
async fn multi_read_answers_each_read() {
    let (zk, _server) = client().await;
    zk.create_all("/r/kid", b"k", &CreateOptions::persistent())
        .await
        .unwrap();
    let results = zk
        .multi_read()
        .get_data("/r/kid")
        .get_children("/r")
        .get_data("/none")
        .commit()
        .await
        .unwrap();
    assert!(matches!(&results[0], Ok(ReadResult::Data(d, _)) if &d[..] == b"k"));
    assert_eq!(results[1], Ok(ReadResult::Children(vec!["kid".into()])));
    assert!(matches!(&results[2], Err(Error::NoNode(c)) if c.path.as_deref() == Some("/none")));
}

#[tokio::test]
async fn sync_config_and_reconfig_on_a_standalone_server() {
    let (zk, _server) = client().await;
    zk.sync("/").await.unwrap();
    let (config, stat) = zk.get_config().await.unwrap();
    assert!(
        config.is_empty(),
        "standalone servers have no dynamic config"
    );
    assert_eq!(stat.version, 0);
    assert!(matches!(
        zk.reconfig(None, Some("2"), None, None).await,
        Err(Error::ReconfigDisabled(_))
    ));
}

#[tokio::test]
async fn explicit_watch_checks_and_removal() {
    let (zk, _server) = client().await;
    zk.create("/w", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    assert!(matches!(
        zk.check_watches("/w", WatcherType::Data).await,
        Err(Error::NoWatcher(_))
    ));
    let (_, _, watcher) = zk.get_data_and_watch("/w").await.unwrap();
    zk.check_watches("/w", WatcherType::Data).await.unwrap();
    zk.remove_watches("/w", WatcherType::Data).await.unwrap();
    let event = watcher.await.unwrap();
    assert_eq!(event.event_type, zk_client::EventType::DataWatchRemoved);
    assert!(matches!(
        zk.remove_watches("/w", WatcherType::Data).await,
        Err(Error::NoWatcher(_))
    ));
    // Persistent watch types by kind need 3.9: a 3.8 server cannot decode them.
    let _persistent = zk.watch("/w", AddWatchMode::Persistent).await.unwrap();
    assert!(matches!(
        zk.check_watches("/w", WatcherType::Persistent).await,
        Err(Error::MarshallingError(_))
    ));
}

#[tokio::test]
async fn pipelined_requests_keep_call_order() {
    let (zk, _server) = client().await;
    zk.create("/o", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    // Issued in order without awaiting; polled in reverse.
    let futures: Vec<_> = (0..200)
        .map(|i| zk.set_data("/o", format!("{i}").as_bytes(), Some(i)))
        .collect();
    for (i, f) in futures.into_iter().enumerate().rev() {
        assert_eq!(f.await.unwrap().version, i as i32 + 1);
    }
    let create = zk.create("/o/x", b"", &CreateOptions::persistent());
    let read = zk.get_data("/o/x");
    let delete = zk.delete("/o/x", None);
    let after = zk.exists("/o/x");
    let (after, delete, read, create) = tokio::join!(after, delete, read, create);
    assert!(create.is_ok() && read.is_ok() && delete.is_ok());
    assert_eq!(after.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_the_multi_thread_runtime() {
    let (zk, _server) = client().await;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let zk = zk.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    let path = format!("/mt-{t}-{i}");
                    zk.create(&path, b"x", &CreateOptions::persistent())
                        .await
                        .unwrap();
                    assert_eq!(&zk.get_data(&path).await.unwrap().0[..], b"x");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(zk.get_all_children_number("/").await.unwrap(), 400);
}

#[tokio::test]
async fn close_deletes_ephemerals_and_fails_later_calls() {
    let (zk, server) = client().await;
    zk.create("/gone", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let other = Client::connect(&format!("{}{}", server.addr(), server.chroot()))
        .await
        .unwrap();
    assert!(other.exists("/gone").await.unwrap().is_some());
    zk.close().await;
    assert_eq!(zk.state(), SessionState::Closed);
    assert!(matches!(zk.exists("/").await, Err(Error::Closed(_))));
    assert_eq!(other.exists("/gone").await.unwrap(), None);
}

/// A connector that counts its dials and otherwise connects over plain TCP.
#[derive(Debug, Default)]
struct Counting(std::sync::atomic::AtomicUsize);

impl zk_client::connector::Connector for Counting {
    fn connect(&self, host: &zk_client::Host) -> zk_client::connector::ConnectFuture {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        zk_client::connector::TcpConnector::default().connect(host)
    }
}

#[tokio::test]
async fn a_custom_connector_opens_the_connections() {
    let zk = zk_testkit::shared().await.unwrap();
    let connector = std::sync::Arc::new(Counting::default());
    let client = Client::builder()
        .connector(connector.clone())
        .connect(&format!("{}{}", zk.addr(), zk.chroot()))
        .await
        .unwrap();
    assert!(client.exists("/").await.unwrap().is_some());
    assert_eq!(connector.0.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connecting_with_a_missing_chroot_says_so() {
    let (zk, server) = client().await;
    let hosts = format!("{}/missing/app", server.connect_string());
    let error = Client::connect(&hosts).await.unwrap_err();
    assert!(matches!(error, Error::ChrootMissing(_)), "{error:?}");
    let chroot = format!("{}/missing/app", server.chroot());
    assert_eq!(
        error.to_string(),
        format!("connect {chroot}: chroot does not exist")
    );
    // Once it exists, the same connect string works.
    zk.create_all("/missing/app", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let app = Client::connect(&hosts).await.unwrap();
    assert_eq!(app.chroot(), chroot);
    app.close().await;
}
