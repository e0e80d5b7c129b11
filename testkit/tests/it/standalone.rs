//! A single server: discovery, the raw handshake, process faults, options, drop.

use std::time::Duration;

use zk_proto::records::{Acl, CreateTtlRequest, RequestHeader};
use zk_proto::{CreateMode, ErrorCode, OpCode, Record};
use zk_testkit::{Backend, Installation, Mode, RawSession, SaslConfig, Server};

use crate::common::{Wire, exists_frame, on, on_both_backends};

#[tokio::test]
async fn discovery_finds_zookeeper_and_the_server_reports_its_version() {
    let install = Installation::discover().expect("ZooKeeper and Java are installed");
    assert!(install.java().is_file(), "{:?}", install.java());
    let version = install
        .version()
        .expect("version from the jar name")
        .to_owned();
    assert!(version.starts_with("3."), "{version}");
    let zk = zk_testkit::shared().await.expect("shared server");
    let reported = zk
        .server()
        .server_version()
        .expect("srvr reports a version");
    assert!(reported.starts_with(&version), "{reported} vs {version}");
}

#[tokio::test]
async fn a_server_answers_a_raw_handshake_and_a_request() {
    let zk = zk_testkit::shared().await.expect("shared server");
    let mut wire = Wire::connect(zk.addr()).await;
    let rsp = wire.handshake(4000).await;
    assert_eq!(rsp.time_out, 4000);
    assert_ne!(rsp.session_id, 0);
    assert_eq!(rsp.passwd.len(), 16);
    assert_eq!(rsp.read_only, Some(false));

    wire.send(&exists_frame(1, "/zookeeper")).await;
    let (header, body) = wire.reply().await;
    assert_eq!((header.xid, header.err), (1, ErrorCode::Ok));
    assert!(header.zxid >= 0);
    assert_eq!(body.len(), 68, "an ExistsResponse is one Stat");

    wire.send(&exists_frame(2, &zk.path("/missing"))).await;
    let (header, _) = wire.reply().await;
    assert_eq!((header.xid, header.err), (2, ErrorCode::NoNode));

    let server = zk.server();
    assert_eq!(server.mode().await, Some(Mode::Standalone));
    let mntr = server.ensemble().mntr(1).await.expect("mntr");
    assert!(
        mntr.iter()
            .any(|(k, v)| k == "zk_server_state" && v == "standalone"),
        "{mntr:?}"
    );
}

#[tokio::test]
async fn shared_gives_each_test_its_own_chroot() {
    let a = zk_testkit::shared().await.expect("shared");
    let b = zk_testkit::shared().await.expect("shared");
    assert_ne!(a.chroot(), b.chroot());
    assert_eq!(a.addr(), b.addr(), "one server per test binary");
    assert!(a.connect_string().ends_with(a.chroot()));
    let mut s = RawSession::connect(a.addr(), Duration::from_secs(4))
        .await
        .expect("session");
    assert!(s.exists(a.chroot()).await.expect("exists"));
    assert!(s.exists(b.chroot()).await.expect("exists"));
    s.create(&a.path("/only-in-a"), b"", CreateMode::Persistent)
        .await
        .expect("create");
    assert!(!s.exists(&b.path("/only-in-a")).await.expect("exists"));
}

#[test]
fn a_server_is_killed_when_its_test_panics() {
    killed_when_its_test_panics(Backend::Process);
}

#[test]
fn a_container_is_removed_when_its_test_panics() {
    if zk_testkit::container::skip_unless_ready("a_container_is_removed_when_its_test_panics") {
        return;
    }
    killed_when_its_test_panics(Backend::Container);
}

fn killed_when_its_test_panics(backend: Backend) {
    let (tx, rx) = std::sync::mpsc::channel();
    let joined = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let server = Server::start_with(on(backend, 1)).await.expect("start");
            tx.send(server.pid().expect("pid")).expect("send");
            panic!("a failing test holding a server (expected by this test)");
        });
    })
    .join();
    assert!(joined.is_err(), "the thread panicked");
    let pid = rx.recv().expect("pid");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "JVM {pid} still exists after the panic"
    );
}

on_both_backends!(standalone_process_faults_keep_or_lose_data_as_named);

async fn standalone_process_faults_keep_or_lose_data_as_named(backend: Backend) {
    let server = Server::start_with(on(backend, 1)).await.expect("start");
    if backend == Backend::Process {
        let cfg = std::fs::read_to_string(server.ensemble().dir().join("s1/conf/zoo.cfg"))
            .expect("zoo.cfg");
        for line in [
            "maxClientCnxns=0",
            "forceSync=no",
            "admin.enableServer=false",
            "4lw.commands.whitelist=*",
            "tickTime=200",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} missing:\n{cfg}");
        }
    }
    // What the server itself says it runs with, on either backend.
    let conf = server
        .ensemble()
        .four_letter_word(1, "conf")
        .await
        .expect("conf");
    for line in [
        "tickTime=200",
        "maxClientCnxns=0",
        "maxSessionTimeout=60000",
    ] {
        assert!(conf.lines().any(|l| l == line), "{line} missing:\n{conf}");
    }

    let mut s = RawSession::connect(server.addr(), Duration::from_secs(4))
        .await
        .expect("session");
    s.create("/keep", b"v1", CreateMode::Persistent)
        .await
        .expect("create");
    s.disconnect();

    // kill -9, then restart on the same data.
    let first_pid = server.pid().expect("pid");
    server.kill().expect("kill");
    assert_eq!(server.mode().await, None);
    server.restart().await.expect("restart");
    assert_ne!(server.pid(), Some(first_pid));
    let mut s = RawSession::connect(server.addr(), Duration::from_secs(4))
        .await
        .expect("session");
    assert_eq!(&s.get_data("/keep").await.expect("data")[..], b"v1");
    s.disconnect();

    // SIGSTOP: the server answers nothing; SIGCONT: it answers again.
    let paused = server.pause().expect("pause");
    assert!(
        server.ensemble().four_letter_word(1, "srvr").await.is_err(),
        "a paused server must not answer"
    );
    drop(paused);
    assert_eq!(server.mode().await, Some(Mode::Standalone));

    // SIGTERM and a restart also keep the data.
    server.stop().await.expect("stop");
    server.restart().await.expect("restart");
    let mut s = RawSession::connect(server.addr(), Duration::from_secs(4))
        .await
        .expect("session");
    assert!(s.exists("/keep").await.expect("exists"));
    s.disconnect();

    // A lost disk: the data is gone.
    server.wipe_and_restart().await.expect("wipe");
    let mut s = RawSession::connect(server.addr(), Duration::from_secs(4))
        .await
        .expect("session");
    assert!(!s.exists("/keep").await.expect("exists"));
    let log = server.ensemble().log(1).expect("log");
    assert_eq!(
        log.matches("zk-testkit: starting server 1").count(),
        4,
        "one start marker per start"
    );
}

on_both_backends!(the_extended_types_option_enables_ttl_nodes);

async fn the_extended_types_option_enables_ttl_nodes(backend: Backend) {
    // SASL is for the process backend only (the container backend refuses it).
    let sasl = backend == Backend::Process;
    let mut cfg = on(backend, 1).extended_types(true);
    if sasl {
        cfg = cfg.sasl(SaslConfig::digest_users([("bob", "bobsecret")]));
    }
    let server = Server::start_with(cfg).await.expect("start");
    let mut wire = Wire::connect(server.addr()).await;
    wire.handshake(4000).await;
    let header = RequestHeader {
        xid: 1,
        op_code: OpCode::CreateTtl,
    };
    let body = CreateTtlRequest {
        path: "/ttl".into(),
        data: bytes::Bytes::new(),
        acl: vec![Acl::open_unsafe()],
        flags: CreateMode::PersistentWithTtl,
        ttl: 60_000,
    };
    let mut out = bytes::BytesMut::new();
    header.encode(&mut out);
    body.encode(&mut out);
    let mut frame = bytes::BytesMut::new();
    frame.extend_from_slice(&i32::try_from(out.len()).expect("len").to_be_bytes());
    frame.extend_from_slice(&out);
    wire.send(&frame).await;
    let (reply, _) = wire.reply().await;
    assert_eq!(
        reply.err,
        ErrorCode::Ok,
        "TTL nodes need extendedTypesEnabled"
    );
    if sasl {
        let jaas = std::fs::read_to_string(server.ensemble().dir().join("s1/conf/jaas.conf"))
            .expect("generated jaas.conf");
        assert!(jaas.contains("user_bob=\"bobsecret\""), "{jaas}");
    }
}
