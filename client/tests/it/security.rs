//! SASL DIGEST-MD5, digest auth, ACLs and superDigest against secured ZooKeeper 3.8
//! servers (TLS is in `tls.rs`).

use std::time::Duration;

use zk_client::{Client, CreateOptions, Error, Perms, SessionState, acl};
use zk_testkit::{EnsembleConfig, SUPER_DIGEST_SUPERPW, SaslConfig, Server};

use crate::support::{init_logging, within};

pub(crate) fn builder() -> zk_client::ClientBuilder {
    init_logging();
    Client::builder().session_timeout(Duration::from_secs(6))
}

#[tokio::test]
async fn sasl_digest_md5_success_failure_and_requirement() {
    let sasl = SaslConfig::digest_users([("bob", "bobsecret")]).require(true);
    let server = Server::start_with(EnsembleConfig::new(1).sasl(sasl))
        .await
        .unwrap();
    let hosts = server.connect_string();

    let bob = builder()
        .sasl_digest("bob", "bobsecret")
        .connect(&hosts)
        .await
        .unwrap();
    let ids = bob.who_am_i().await.unwrap();
    assert!(
        ids.iter()
            .any(|i| i.auth_scheme == "sasl" && i.user == "bob"),
        "{ids:?}"
    );
    bob.create(
        "/bob",
        b"",
        &CreateOptions::persistent().acl(vec![acl::sasl("bob", Perms::ALL)]),
    )
    .await
    .unwrap();

    let wrong = builder()
        .sasl_digest("bob", "nope")
        .connect(&hosts)
        .await
        .unwrap_err();
    assert!(matches!(wrong, Error::AuthFailed(_)), "{wrong}");

    // Without SASL the server refuses the first request and the session is over.
    let anonymous = builder().connect(&hosts).await.unwrap();
    let refused = anonymous.exists("/").await.unwrap_err();
    assert!(matches!(refused, Error::SaslRequired(_)), "{refused}");
    within(
        anonymous
            .state_watcher()
            .wait_for(|s| s == SessionState::AuthFailed),
    )
    .await
    .unwrap();
    assert!(matches!(
        anonymous.exists("/").await,
        Err(Error::AuthFailed(_))
    ));
}

#[tokio::test]
async fn digest_acls_auth_replay_and_super_digest() {
    let server = Server::start_with(EnsembleConfig::new(1).super_digest(SUPER_DIGEST_SUPERPW))
        .await
        .unwrap();
    let endpoint = server.client_endpoint("auth").await.unwrap();
    let alice = builder()
        .auth("digest", b"alice:secret")
        .connect(&endpoint.connect_string())
        .await
        .unwrap();
    let only_alice = vec![acl::digest("alice", "secret", Perms::ALL)];
    alice
        .create("/alice", b"a", &CreateOptions::persistent().acl(only_alice))
        .await
        .unwrap();
    let (stored, _) = alice.get_acl("/alice").await.unwrap();
    assert_eq!(stored[0].id, acl::digest_id("alice", "secret"));

    let other = builder().connect(&server.connect_string()).await.unwrap();
    assert!(matches!(
        other.get_data("/alice").await,
        Err(Error::NoAuth(_))
    ));
    other.add_auth("digest", b"alice:wrong");
    assert!(
        matches!(other.get_data("/alice").await, Err(Error::NoAuth(_))),
        "a wrong password is another identity"
    );
    other.add_auth("digest", b"alice:secret");
    assert_eq!(&other.get_data("/alice").await.unwrap().0[..], b"a");

    // Auth is replayed on reconnect: the same session still reads its node.
    let session = alice.session_id();
    endpoint.reset_all();
    within(
        alice
            .state_watcher()
            .wait_for(|s| s == SessionState::Disconnected),
    )
    .await
    .ok();
    within(
        alice
            .state_watcher()
            .wait_for(|s| s == SessionState::Connected),
    )
    .await
    .unwrap();
    assert_eq!(alice.session_id(), session);
    assert_eq!(&alice.get_data("/alice").await.unwrap().0[..], b"a");

    let admin = builder()
        .auth("digest", b"super:superpw")
        .connect(&server.connect_string())
        .await
        .unwrap();
    assert_eq!(
        &admin.get_data("/alice").await.unwrap().0[..],
        b"a",
        "super reads through any ACL"
    );
    admin.delete("/alice", None).await.unwrap();
}
