//! TLS and mutual TLS with `--tls-ca`, `--tls-cert` and `--tls-key`; SASL with `--sasl`.

use std::time::{Duration, Instant};

use zk_testkit::{EnsembleConfig, SaslConfig, Server, TlsConfig, TlsMaterial};

use crate::support::{run_cmd, zk};

#[tokio::test]
async fn tls_and_mutual_tls() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let pki = TlsMaterial::generate(dir.path()).expect("certificates");
    let tls = TlsConfig::pem_files(&pki.server, &pki.ca).client_auth("want");
    let server = Server::start_with(EnsembleConfig::new(1).tls(tls))
        .await
        .expect("a TLS server");
    let port = server.ensemble().secure_addr(1).expect("TLS port").port();
    let hosts = format!("localhost:{port}");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let (ca, cert, key, other_ca) = (
        path(&pki.ca),
        path(&pki.client_cert),
        path(&pki.client_key),
        path(&pki.other_ca),
    );

    let mut ls = zk();
    ls.args(["--server", &hosts, "--tls-ca", &ca, "ls", "/"]);
    assert_eq!(run_cmd(ls, None).ok(), "zookeeper\n");

    // A client certificate gives the session an x509 identity.
    let mut whoami = zk();
    whoami.args([
        "--server",
        &hosts,
        "--tls-ca",
        &ca,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "whoami",
    ]);
    let me = run_cmd(whoami, None).ok();
    assert!(me.contains("x509: ") && me.contains("CN=zkclient"), "{me}");

    // tls:// hosts choose TLS per host, and need the CA.
    let mut per_host = zk();
    per_host.args(["--server", &format!("tls://{hosts}"), "ls", "/"]);
    let line = run_cmd(per_host, None).error();
    assert!(line.contains("tls:// hosts need --tls-ca"), "{line}");

    // An untrusted server certificate is reported at once, with the reason.
    let began = Instant::now();
    let mut untrusted = zk();
    untrusted.args(["--server", &hosts, "--tls-ca", &other_ca, "ls", "/"]);
    let line = run_cmd(untrusted, None).error();
    assert!(line.contains("unknown CA"), "{line}");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn sasl_digest() {
    let sasl = SaslConfig::digest_users([("bob", "bobsecret")]);
    let server = Server::start_with(EnsembleConfig::new(1).sasl(sasl))
        .await
        .expect("a SASL server");
    let hosts = server.connect_string();

    let mut whoami = zk();
    whoami.args(["--server", &hosts, "--sasl", "bob:bobsecret", "whoami"]);
    let me = run_cmd(whoami, None).ok();
    assert!(me.contains("sasl: bob\n"), "{me}");

    let mut wrong = zk();
    wrong.args(["--server", &hosts, "--sasl", "bob:nope", "ls", "/"]);
    let line = run_cmd(wrong, None).error();
    assert!(line.contains("authentication failed"), "{line}");
}
