//! TLS (zk-client's `tls` feature) against ZooKeeper 3.8 servers with a TLS port.

use std::time::Duration;

use zk_client::{
    AddWatchMode, CreateOptions, Error, EventType, Perms, SessionState, TlsOptions, acl,
};
use zk_testkit::{EnsembleConfig, Server, TlsConfig, TlsMaterial};

use crate::security::builder;
use crate::support::within;

/// A standalone server with a TLS port using `keystore` (key + certificate PEM).
async fn tls_server(
    pki: &TlsMaterial,
    keystore: &std::path::Path,
    client_auth: &str,
) -> (Server, String) {
    let tls = TlsConfig::pem_files(keystore, &pki.ca).client_auth(client_auth);
    let server = Server::start_with(EnsembleConfig::new(1).tls(tls))
        .await
        .unwrap();
    let port = server
        .ensemble()
        .secure_addr(1)
        .expect("secure port")
        .port();
    (server, format!("localhost:{port}"))
}

fn trusting(pki: &TlsMaterial) -> TlsOptions {
    TlsOptions::new().ca_file(&pki.ca)
}

/// The error of a connection that cannot be established, as text.
async fn refused(builder: zk_client::ClientBuilder, hosts: &str) -> String {
    let err = builder
        .session_timeout(Duration::from_secs(2))
        .connect(hosts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io(..)), "{err:?}");
    err.to_string()
}

#[tokio::test]
async fn tls_connects_and_serves_every_basic_operation() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TlsMaterial::generate(dir.path()).unwrap();
    let (_server, hosts) = tls_server(&pki, &pki.server, "want").await;
    let zk = builder().tls(trusting(&pki)).connect(&hosts).await.unwrap();
    zk.create("/t", b"1", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.set_data("/t", b"2", None).await.unwrap();
    assert_eq!(&zk.get_data("/t").await.unwrap().0[..], b"2");
    zk.create("/t/k", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(zk.get_children("/t").await.unwrap().0, ["k"]);
    zk.multi()
        .delete("/t/k", None)
        .set_data("/t", b"3", None)
        .commit()
        .await
        .unwrap();
    zk.delete("/t", None).await.unwrap();
    // No client certificate, clientAuth=want: no x509 identity.
    assert!(
        zk.who_am_i()
            .await
            .unwrap()
            .iter()
            .all(|i| i.auth_scheme != "x509")
    );
}

#[tokio::test]
async fn mutual_tls_needs_the_right_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TlsMaterial::generate(dir.path()).unwrap();
    let (_server, hosts) = tls_server(&pki, &pki.server, "need").await;
    let with_cert = trusting(&pki).client_cert_files(&pki.client_cert, &pki.client_key);
    let zk = builder().tls(with_cert).connect(&hosts).await.unwrap();
    let ids = zk.who_am_i().await.unwrap();
    let x509 = ids
        .iter()
        .find(|i| i.auth_scheme == "x509")
        .expect("an x509 identity");
    assert!(
        x509.user.contains("CN=zkclient") && x509.user.contains("O=test"),
        "{ids:?}"
    );
    // The x509 identity works in ACLs.
    let mine = vec![acl::x509(&x509.user, Perms::ALL)];
    zk.create("/x509", b"", &CreateOptions::persistent().acl(mine))
        .await
        .unwrap();
    assert_eq!(zk.get_data("/x509").await.unwrap().0.len(), 0);

    let without = refused(builder().tls(trusting(&pki)), &hosts).await;
    assert!(without.contains("TLS handshake"), "{without}");
    let foreign = trusting(&pki).client_cert_files(&pki.other_client_cert, &pki.other_client_key);
    let foreign = refused(builder().tls(foreign), &hosts).await;
    assert!(foreign.contains("TLS handshake"), "{foreign}");
}

#[tokio::test]
async fn wrong_ca_wrong_name_expired_and_plaintext_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TlsMaterial::generate(dir.path()).unwrap();
    let (server, hosts) = tls_server(&pki, &pki.server, "none").await;
    let unknown_ca = refused(
        builder().tls(TlsOptions::new().ca_file(&pki.other_ca)),
        &hosts,
    )
    .await;
    assert!(unknown_ca.contains("unknown CA"), "{unknown_ca}");
    // TLS to the plaintext port.
    let plain = server.connect_string();
    let not_tls = refused(builder().tls(trusting(&pki)), &plain).await;
    assert!(not_tls.contains("TLS"), "{not_tls}");
    // Plaintext client on a TLS port: the server closes, the client says so.
    let plain_client = builder()
        .session_timeout(Duration::from_secs(2))
        .connect(&hosts)
        .await
        .unwrap_err();
    assert!(
        matches!(plain_client, Error::Io(..) | Error::Timeout(_)),
        "{plain_client}"
    );

    let (_wrong, wrong_hosts) = tls_server(&pki, &pki.wrong_name_server, "none").await;
    let mismatch = refused(builder().tls(trusting(&pki)), &wrong_hosts).await;
    assert!(mismatch.contains("not valid for localhost"), "{mismatch}");
    // Explicitly turned off for a test setup, the same server is accepted.
    let lax = builder()
        .tls(trusting(&pki).danger_disable_hostname_verification())
        .connect(&wrong_hosts)
        .await;
    assert!(lax.is_ok());

    let (_expired, expired_hosts) = tls_server(&pki, &pki.expired_server, "none").await;
    let expired = refused(builder().tls(trusting(&pki)), &expired_hosts).await;
    assert!(expired.contains("expired"), "{expired}");
}

#[tokio::test]
async fn tls_reconnect_after_a_server_restart_keeps_session_and_watches() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TlsMaterial::generate(dir.path()).unwrap();
    let (server, hosts) = tls_server(&pki, &pki.server, "want").await;
    let zk = builder()
        .session_timeout(Duration::from_secs(20))
        .tls(trusting(&pki))
        .connect(&hosts)
        .await
        .unwrap();
    zk.create("/w", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.create("/eph", b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, _, watcher) = zk.get_data_and_watch("/w").await.unwrap();
    let mut persistent = zk.watch("/w", AddWatchMode::Persistent).await.unwrap();
    let session = zk.session_id();
    server.restart().await.unwrap();
    let mut state = zk.state_watcher();
    within(state.wait_for(|s| s == SessionState::Disconnected))
        .await
        .unwrap();
    within(state.wait_for(|s| s == SessionState::Connected))
        .await
        .unwrap();
    assert_eq!(zk.session_id(), session);
    assert!(zk.exists("/eph").await.unwrap().is_some());
    zk.set_data("/w", b"x", None).await.unwrap();
    assert_eq!(
        within(watcher).await.unwrap().event_type,
        EventType::NodeDataChanged
    );
    let changed = within(async {
        loop {
            let e = persistent.next_event().await.expect("open");
            if e.event_type != EventType::None {
                return e;
            }
        }
    })
    .await;
    assert_eq!(changed.event_type, EventType::NodeDataChanged);
}
