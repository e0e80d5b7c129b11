//! Every node command: text output, exit codes, and `--json` parsed back.

use crate::support::Zk;

#[tokio::test]
async fn create_get_set_stat_delete() {
    let zk = Zk::new().await;
    assert_eq!(zk.ok(&["create", "/a", "hello"]), "/a\n");
    assert_eq!(zk.ok(&["get", "/a"]), "hello\n");
    assert_eq!(zk.ok(&["set", "-v", "0", "/a", "bye"]), "");
    let got = zk.ok(&["get", "-s", "/a"]);
    assert!(got.starts_with("bye\ncZxid = 0x"), "{got}");
    assert!(got.contains("\ndataVersion = 1\n"), "{got}");
    assert!(got.contains("\ndataLength = 3\n"), "{got}");
    let stat = zk.ok(&["stat", "/a"]);
    let keys: Vec<&str> = stat
        .lines()
        .map(|l| l.split(" = ").next().unwrap_or(""))
        .collect();
    assert_eq!(
        keys,
        [
            "cZxid",
            "ctime",
            "mZxid",
            "mtime",
            "pZxid",
            "cversion",
            "dataVersion",
            "aclVersion",
            "ephemeralOwner",
            "dataLength",
            "numChildren"
        ]
    );
    let set = zk.ok(&["set", "-s", "/a", "again"]);
    assert!(set.contains("dataVersion = 2"), "{set}");
    assert_eq!(zk.ok(&["exists", "/a"]), "true\n");
    assert_eq!(zk.ok(&["delete", "-v", "2", "/a"]), "");
    let missing = zk.run(&["exists", "/a"]);
    assert_eq!((missing.code, missing.stdout.as_str()), (1, "false\n"));
    assert_eq!(missing.stderr, "");
}

#[tokio::test]
async fn create_modes() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/q"]);
    assert_eq!(
        zk.ok(&["create", "-s", "/q/job-", "x"]),
        "/q/job-0000000000\n"
    );
    assert_eq!(zk.ok(&["create", "-s", "/q/job-"]), "/q/job-0000000001\n");
    // An ephemeral node ends with the command's session.
    assert_eq!(zk.ok(&["create", "-e", "/q/e"]), "/q/e\n");
    assert_eq!(zk.run(&["exists", "/q/e"]).code, 1);
    let eph_seq = zk.ok(&["create", "-e", "-s", "/q/es-"]);
    assert!(eph_seq.starts_with("/q/es-00000000"), "{eph_seq}");
    assert_eq!(zk.ok(&["create", "-c", "/q/box"]), "/q/box\n");
    // The shared server runs without extendedTypesEnabled.
    let ttl = zk.run(&["create", "-t", "10s", "/q/ttl"]).error();
    assert!(ttl.contains("extendedTypesEnabled"), "{ttl}");
    // Flags that cannot go together are usage errors.
    assert_eq!(zk.run(&["create", "-c", "-e", "/q/x"]).code, 2);
    assert_eq!(zk.run(&["create", "-e", "-t", "1s", "/q/x"]).code, 2);
    // Data from stdin.
    assert_eq!(
        zk.run_with_stdin(&["create", "/q/in", "-"], b"from stdin")
            .ok(),
        "/q/in\n"
    );
    assert_eq!(zk.ok(&["get", "/q/in"]), "from stdin\n");
    zk.run_with_stdin(&["set", "/q/in", "-"], b"line 1\nline 2")
        .ok();
    assert_eq!(zk.ok(&["get", "/q/in"]), "line 1\nline 2\n");
}

#[tokio::test]
async fn ls_and_tree() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/app", "12345"]);
    zk.ok(&["create", "/app/jobs"]);
    zk.ok(&["create", "/app/config", "x=1"]);
    zk.ok(&["create", "/app/jobs/j1", "abc"]);
    assert_eq!(zk.ok(&["ls", "/app"]), "config\njobs\n");
    assert_eq!(zk.ok(&["ls", "/"]), "app\n");
    assert_eq!(
        zk.ok(&["ls", "-R", "/app"]),
        "/app\n/app/config\n/app/jobs\n/app/jobs/j1\n"
    );
    let with_stat = zk.ok(&["ls", "-s", "/app"]);
    assert!(
        with_stat.starts_with("config\njobs\ncZxid = "),
        "{with_stat}"
    );
    assert!(with_stat.contains("numChildren = 2\n"), "{with_stat}");
    assert_eq!(
        zk.ok(&["tree", "/app"]),
        "/app (5 B)\n\
         ├── config (3 B)\n\
         └── jobs (0 B)\n\
         \x20   └── j1 (3 B)\n\
         \n\
         4 nodes, 11 B of data\n"
    );
    assert_eq!(
        zk.ok(&["tree", "-L", "1", "/app"]),
        "/app (5 B)\n├── config (3 B)\n└── jobs (0 B)\n\n3 nodes, 8 B of data\n"
    );
    assert_eq!(zk.ok(&["getAllChildrenNumber", "/app"]), "3\n");
}

#[tokio::test]
async fn json_output_parses_back() {
    let zk = Zk::new().await;
    let created = zk.json(&["create", "/j", "text"]);
    assert_eq!(created["path"], "/j");
    assert_eq!(created["stat"]["dataLength"], 4);
    zk.run_with_stdin(&["create", "/j/bin", "-"], &[0xff, 0x00, 0x01])
        .ok();

    let got = zk.json(&["get", "-s", "/j"]);
    assert_eq!(got["data"], "text");
    assert_eq!(got["stat"]["dataVersion"], 0);
    let binary = zk.json(&["get", "/j/bin"]);
    assert_eq!(binary["dataBase64"], "/wAB");
    assert!(binary.get("data").is_none());

    let stat = zk.json(&["stat", "/j"]);
    assert_eq!(stat["numChildren"], 1);
    assert!(
        stat["ctime"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000_000)
    );

    let ls = zk.json(&["ls", "/j"]);
    assert_eq!(ls["children"], serde_json::json!(["bin"]));
    let all = zk.json(&["ls", "-R", "/j"]);
    assert_eq!(all["nodes"], serde_json::json!(["/j", "/j/bin"]));

    let set = zk.json(&["set", "/j", "more"]);
    assert_eq!(set["stat"]["dataVersion"], 1);
    let exists = zk.json(&["exists", "/j"]);
    assert_eq!(exists["exists"], true);
    let acl = zk.json(&["getAcl", "/j"]);
    assert_eq!(
        acl["acl"],
        serde_json::json!([{"scheme": "world", "id": "anyone", "perms": "cdrwa"}])
    );
    let me = zk.json(&["whoami"]);
    assert_eq!(me["identities"][0]["scheme"], "ip");
    assert_eq!(zk.json(&["getAllChildrenNumber", "/j"])["count"], 1);
    let tree = zk.json(&["tree", "/j"]);
    assert_eq!(tree["size"], 4);
    assert_eq!(tree["children"][0]["name"], "bin");
    assert_eq!(tree["children"][0]["size"], 3);
    assert_eq!(zk.json(&["sync", "/j"])["synced"], true);
    assert_eq!(zk.json(&["delete", "/j/bin"])["deleted"], true);
    assert_eq!(zk.json(&["getEphemerals"])["paths"], serde_json::json!([]));
    assert!(zk.json(&["config"])["config"].is_string());
}

#[tokio::test]
async fn acl_and_auth() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/open", "x"]);
    assert_eq!(zk.ok(&["getAcl", "/open"]), "world:anyone:cdrwa\n");
    assert_eq!(zk.ok(&["setAcl", "/open", "world:anyone:r"]), "");
    assert_eq!(zk.ok(&["getAcl", "/open"]), "world:anyone:r\n");
    let denied = zk.run(&["set", "/open", "y"]).error();
    assert_eq!(
        denied,
        "error: /open: not authorized (see getAcl; authenticate with --auth)"
    );

    // auth::cdrwa grants the creating identity; others are refused.
    let alice = ["--auth", "digest:alice:secret"];
    let mut args = alice.to_vec();
    args.extend(["create", "/private", "secret data", "auth::cdrwa"]);
    zk.ok(&args);
    // Reading an ACL needs READ or ADMIN (since ZooKeeper 3.5).
    let mut args = alice.to_vec();
    args.extend(["getAcl", "/private"]);
    let acl = zk.ok(&args);
    assert!(
        acl.starts_with("digest:alice:") && acl.ends_with(":cdrwa\n"),
        "{acl}"
    );
    let refused = zk.run(&["get", "/private"]).error();
    assert!(refused.contains("not authorized"), "{refused}");
    let mut args = alice.to_vec();
    args.extend(["get", "/private"]);
    assert_eq!(zk.ok(&args), "secret data\n");
    let mut args = alice.to_vec();
    args.push("whoami");
    let me = zk.ok(&args);
    assert!(
        me.contains("digest: alice\n") && me.contains("ip: 127.0.0.1\n"),
        "{me}"
    );
    assert_eq!(zk.ok(&["addauth", "digest", "bob:pw"]), "");

    // setAcl -R sets a whole subtree.
    zk.ok(&["create", "/tree"]);
    zk.ok(&["create", "/tree/a"]);
    assert_eq!(
        zk.json(&["setAcl", "-R", "/tree", "world:anyone:cdr"])["nodes"],
        2
    );
    assert_eq!(zk.ok(&["getAcl", "/tree/a"]), "world:anyone:cdr\n");
    let bad = zk.run(&["setAcl", "/tree", "world:anyone:xyz"]).error();
    assert!(bad.contains("unknown permission"), "{bad}");
}

#[tokio::test]
async fn deleteall_sync_and_session_commands() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/d"]);
    zk.ok(&["create", "/d/a"]);
    zk.ok(&["create", "/d/a/b"]);
    let not_empty = zk.run(&["delete", "/d"]).error();
    assert_eq!(not_empty, "error: /d: node has children (use deleteall)");
    assert_eq!(zk.ok(&["deleteall", "/d"]), "");
    assert_eq!(zk.run(&["exists", "/d"]).code, 1);
    assert_eq!(
        zk.run(&["deleteall", "/d"]).error(),
        "error: /d: no such node"
    );
    assert!(zk.run(&["deleteall", "/"]).error().contains("root"));
    assert_eq!(zk.ok(&["sync", "/"]), "");
    assert_eq!(zk.ok(&["getEphemerals"]), "");
    zk.ok(&["config"]);
}

#[tokio::test]
async fn the_server_can_come_from_zk_server() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/from-env"]);
    let mut cmd = crate::support::zk();
    cmd.env("ZK_SERVER", &zk.server).args(["ls", "/"]);
    assert_eq!(crate::support::run_cmd(cmd, None).ok(), "from-env\n");
    // --server wins over ZK_SERVER.
    let mut cmd = crate::support::zk();
    cmd.env("ZK_SERVER", "127.0.0.1:1")
        .args(["--server", &zk.server, "ls", "/"]);
    assert_eq!(crate::support::run_cmd(cmd, None).ok(), "from-env\n");
}
