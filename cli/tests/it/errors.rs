//! Errors for people: one line on stderr, exit code 1 (2 for usage), never a backtrace.

use std::time::{Duration, Instant};

use crate::support::{Zk, run_cmd, zk};

#[tokio::test]
async fn an_unreachable_server_fails_fast_in_one_line() {
    let began = Instant::now();
    let mut cmd = zk();
    cmd.args(["--server", "127.0.0.1:1", "ls", "/"]);
    let line = run_cmd(cmd, None).error();
    assert_eq!(
        line,
        "error: cannot connect to ZooKeeper at 127.0.0.1:1: connection refused"
    );
    // Refused connections are noticed long before the 10 s session timeout.
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_port_that_does_not_speak_zookeeper_is_named_at_once() {
    // An HTTP server where ZooKeeper was expected.
    let server = zk_testkit::mock::MockServer::start(|mut conn| async move {
        conn.read_connect_request().await?;
        conn.send_raw(b"HTTP/1.1 400 Bad Request\r\n\r\n").await?;
        conn.hold().await
    })
    .await
    .unwrap();
    let hosts = server.connect_string();
    let began = Instant::now();
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = zk();
        cmd.args(["--server", &hosts, "ls", "/"]);
        run_cmd(cmd, None)
    })
    .await
    .unwrap();
    let line = run.error();
    assert_eq!(
        line,
        format!(
            "error: cannot connect to ZooKeeper at {}: the server sent a 1213486160-byte frame (the limit is 1048575); is this a ZooKeeper port?",
            server.connect_string()
        )
    );
    // Told after the first second, not at the end of the 10 s session timeout.
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn without_a_server_the_error_says_how_to_get_one() {
    // A state folder of its own: no local `zk server` to fall back on.
    let state = tempfile::tempdir().expect("temporary folder");
    let mut cmd = zk();
    cmd.env("XDG_RUNTIME_DIR", state.path());
    // Nothing listens on 2181 in the test environment unless a developer runs a server
    // there; then this test has nothing to check.
    cmd.args(["--timeout", "3s", "ls", "/"]);
    let run = run_cmd(cmd, None);
    if run.code == 0 {
        return;
    }
    let line = run.error();
    assert!(line.contains("127.0.0.1:2181"), "{line}");
    assert!(line.contains("zk server start"), "{line}");
}

/// Exit code 2 and the message as the first line, with clap's usage hint after it.
#[track_caller]
fn usage_error(cmd: std::process::Command, message: &str) {
    let run = run_cmd(cmd, None);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stderr.lines().next(), Some(message), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
}

#[test]
fn an_empty_server_is_a_usage_error_not_the_default() {
    for blank in ["", "   "] {
        let mut cmd = zk();
        cmd.args(["--server", blank, "ls", "/"]);
        usage_error(
            cmd,
            "error: --server is empty; give host:port[,host:port...][/chroot]",
        );
        // A flag given empty is refused even when ZK_SERVER names a server.
        let mut cmd = zk();
        cmd.env("ZK_SERVER", "127.0.0.1:1")
            .args(["--server", blank, "ls", "/"]);
        usage_error(
            cmd,
            "error: --server is empty; give host:port[,host:port...][/chroot]",
        );
        // clap hands an empty ZK_SERVER over as a value like any other.
        let mut cmd = zk();
        cmd.env("ZK_SERVER", blank).args(["ls", "/"]);
        usage_error(
            cmd,
            "error: ZK_SERVER is empty; set it to host:port[,host:port...][/chroot] or unset it",
        );
    }
}

#[tokio::test]
async fn invalid_path_missing_node_bad_version() {
    let zk = Zk::new().await;
    assert_eq!(
        zk.run(&["get", "nope"]).error(),
        "error: invalid path \"nope\": path must start with '/'"
    );
    assert_eq!(
        zk.run(&["ls", "/a//b"]).error(),
        "error: invalid path \"/a//b\": empty node name at byte 3"
    );
    assert_eq!(
        zk.run(&["get", "/missing"]).error(),
        "error: /missing: no such node"
    );
    assert_eq!(
        zk.run(&["stat", "/missing"]).error(),
        "error: /missing: no such node"
    );
    assert_eq!(
        zk.run(&["create", "/missing/child"]).error(),
        "error: /missing/child: the parent node does not exist"
    );
    let missing_chroot = format!("{}/nowhere", zk.server);
    let mut cmd = crate::support::zk();
    cmd.args(["--server", &missing_chroot, "ls", "/"]);
    let line = run_cmd(cmd, None).error();
    assert!(line.contains("the chroot "), "{line}");
    assert!(line.contains("/nowhere does not exist"), "{line}");
    zk.ok(&["create", "/v", "1"]);
    zk.ok(&["set", "/v", "2"]);
    assert_eq!(
        zk.run(&["set", "-v", "7", "/v", "2"]).error(),
        "error: /v: version mismatch: the node is at version 1, not 7"
    );
    assert_eq!(
        zk.run(&["delete", "-v", "0", "/v"]).error(),
        "error: /v: version mismatch: the node is at version 1, not 0"
    );
    assert_eq!(
        zk.run(&["setAcl", "-v", "3", "/v", "world:anyone:cdrwa"])
            .error(),
        "error: /v: version mismatch: the node is at ACL version 0, not 3"
    );
    assert_eq!(
        zk.run(&["create", "/v"]).error(),
        "error: /v: node already exists"
    );
}

#[tokio::test]
async fn json_errors_are_one_object_on_stderr_with_the_same_exit_codes() {
    let zk = Zk::new().await;
    let parse = |run: &crate::support::Run| -> serde_json::Value {
        assert!(run.stdout.is_empty(), "{run:#?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{run:#?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
    };
    let missing = zk.run(&["--json", "get", "/missing"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        parse(&missing),
        serde_json::json!({
            "error": "/missing: no such node",
            "code": "NoNode",
            "path": "/missing",
            "exitCode": 1
        })
    );
    zk.ok(&["create", "/j", "x"]);
    let mismatch = zk.run(&["set", "--json", "-v", "4", "/j", "y"]);
    let error = parse(&mismatch);
    assert_eq!(error["code"], "BadVersion");
    assert_eq!(
        error["error"],
        "/j: version mismatch: the node is at version 0, not 4"
    );
    let usage = zk.run(&["--json", "get"]);
    assert_eq!(usage.code, 2);
    let error = parse(&usage);
    assert_eq!(
        (error["code"].as_str(), error["exitCode"].as_i64()),
        (Some("Usage"), Some(2))
    );
    let unreachable = run_cmd(
        {
            let mut cmd = crate::support::zk();
            cmd.args(["--json", "--server", "127.0.0.1:1", "ls", "/"]);
            cmd
        },
        None,
    );
    assert_eq!(unreachable.code, 1);
    assert!(
        parse(&unreachable)["error"]
            .as_str()
            .is_some_and(|e| e.contains("connection refused"))
    );
    // `exists` on a missing node prints its result and no error.
    let absent = zk.run(&["--json", "exists", "/nope"]);
    assert_eq!((absent.code, absent.stderr.as_str()), (1, ""));
    // The version flag and help still print as usual.
    assert_eq!(zk.run(&["--json", "--version"]).code, 0);
}

#[tokio::test]
async fn bad_arguments() {
    let zk = Zk::new().await;
    // Usage errors come from clap, with exit code 2.
    let usage = zk.run(&["frobnicate"]);
    assert_eq!(usage.code, 2, "{usage:#?}");
    assert!(
        usage.stderr.contains("unrecognized subcommand"),
        "{usage:#?}"
    );
    assert_eq!(zk.run(&["get"]).code, 2);
    assert_eq!(zk.run(&["--timeout", "soon", "ls", "/"]).code, 2);

    let mut cmd = crate::support::zk();
    cmd.args(["--server", "127.0.0.1:notaport", "ls", "/"]);
    let line = run_cmd(cmd, None).error();
    assert!(line.starts_with("error: invalid server list"), "{line}");

    let tls = zk
        .run(&["--tls-ca", "/nonexistent/ca.pem", "ls", "/"])
        .error();
    assert!(
        tls.starts_with("error: --tls-ca /nonexistent/ca.pem: "),
        "{tls}"
    );
    assert_eq!(zk.run(&["--tls-cert", "c.pem", "ls", "/"]).code, 2);
    let auth = zk.run(&["--auth", "digest", "ls", "/"]).error();
    assert!(auth.contains("expected scheme:credentials"), "{auth}");
    let acl = zk.run(&["create", "/x", "", "world"]).error();
    assert!(acl.contains("invalid ACL entry"), "{acl}");
    let load = zk.run(&["load", "/x", "/nonexistent/dump.json"]).error();
    assert!(load.contains("/nonexistent/dump.json"), "{load}");
}
