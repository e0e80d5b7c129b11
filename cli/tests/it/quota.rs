//! `setquota`, `listquota`, `delquota` on ZooKeeper 3.8.0, in the format its server reads.

use zk_testkit::{EnsembleConfig, Server};

use crate::support::Zk;

#[tokio::test]
async fn quotas_are_written_where_and_how_the_server_reads_them() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/app", "12345"]);
    zk.ok(&["create", "/app/a", "xy"]);
    assert_eq!(zk.ok(&["setquota", "-N", "2", "/app"]), "");
    // Under the chroot's server path, with every field as zkCli writes them.
    let limits = format!("/zookeeper/quota{}/app/zookeeper_limits", zk.chroot);
    assert_eq!(
        Zk::run_at(&zk.root, &["get", &limits]).ok(),
        "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2\n"
    );
    // The server counted the subtree when the quota appeared.
    let stats = format!("/zookeeper/quota{}/app/zookeeper_stats", zk.chroot);
    assert_eq!(
        Zk::run_at(&zk.root, &["get", &stats]).ok(),
        "count=2,bytes=7\n"
    );
    assert_eq!(
        zk.ok(&["listquota", "/app"]),
        "/app\n  limits: countHardLimit=2\n  used:   count=2 bytes=7\n"
    );

    // More limits on the same quota merge; one over the usage is warned about.
    let run = zk.run(&["setquota", "-n", "1", "-b", "100", "/app"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stderr,
        "warning: /app already has 2 nodes, more than its count of 1\n"
    );
    let listed = zk.json(&["listquota", "/app"]);
    assert_eq!(
        listed,
        serde_json::json!({
            "path": "/app",
            "limits": {"count": 1, "bytes": 100, "countHardLimit": 2, "byteHardLimit": null},
            "usage": {"count": 2, "bytes": 7}
        })
    );
    // Every quota below the chroot.
    zk.ok(&["create", "/other"]);
    zk.ok(&["setquota", "-B", "10", "/other"]);
    let all = zk.ok(&["listquota"]);
    assert!(
        all.starts_with("/app\n") && all.contains("\n/other\n  limits: byteHardLimit=10\n"),
        "{all}"
    );

    // Quotas cannot nest, as in zkCli.
    let nested = zk.run(&["setquota", "-n", "5", "/app/a"]).error();
    assert_eq!(
        nested,
        "error: /app/a: /app above it has a quota (delquota it first)"
    );
    zk.ok(&["create", "/other/deep"]);
    zk.ok(&["delquota", "/other"]);
    zk.ok(&["setquota", "-n", "5", "/other/deep"]);
    let parent = zk.run(&["setquota", "-n", "5", "/other"]).error();
    assert_eq!(
        parent,
        "error: /other: /other/deep below it has a quota (delquota it first)"
    );
    let missing = zk.run(&["setquota", "-n", "5", "/nope"]).error();
    assert_eq!(missing, "error: /nope: no such node");

    // delquota -n removes one limit; without a flag, the whole quota and its folders.
    zk.ok(&["delquota", "-n", "/app"]);
    assert_eq!(
        Zk::run_at(&zk.root, &["get", &limits]).ok(),
        "count=-1,bytes=100=;byteHardLimit=-1;countHardLimit=2\n"
    );
    zk.ok(&["delquota", "/app"]);
    assert_eq!(
        zk.run(&["listquota", "/app"]).error(),
        "error: /app: no quota (setquota sets one)"
    );
    let app_dir = format!("/zookeeper/quota{}/app", zk.chroot);
    assert_eq!(Zk::run_at(&zk.root, &["exists", &app_dir]).code, 1);
    assert_eq!(
        zk.run(&["delquota", "/app"]).error(),
        "error: /app: no quota (setquota sets one)"
    );
}

#[tokio::test]
async fn a_hard_quota_refuses_writes_when_the_server_enforces_quotas() {
    // ZooKeeper 3.8 enforces hard quotas only with this flag.
    let config = EnsembleConfig::new(1).jvm_opt("-Dzookeeper.enforceQuota=true");
    let server = Server::start_with(config).await.expect("a server");
    let hosts = server.connect_string();
    let zk = |args: &[&str]| Zk::run_at(&hosts, args);
    zk(&["create", "/q", "1"]).ok();
    zk(&["setquota", "-N", "2", "-B", "4", "/q"]).ok();
    zk(&["create", "/q/a", "22"]).ok();
    assert_eq!(
        zk(&["create", "/q/b"]).error(),
        "error: /q/b: quota exceeded (a hard quota above it is full; see listquota)"
    );
    let json = zk(&["--json", "set", "/q/a", "toolong"]);
    assert_eq!(json.code, 1, "{json:#?}");
    let error: serde_json::Value = serde_json::from_str(json.stderr.trim()).expect("JSON");
    assert_eq!(error["code"], "QuotaExceeded");
    // Without the hard count limit, a soft one only warns (in the server's log).
    zk(&["delquota", "-N", "/q"]).ok();
    zk(&["setquota", "-n", "2", "/q"]).ok();
    zk(&["create", "/q/b"]).ok();
    assert_eq!(
        zk(&["listquota", "/q"]).ok(),
        "/q\n  limits: count=2 byteHardLimit=4\n  used:   count=3 bytes=3\n"
    );
}
