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
    assert_eq!(
        zk.run(&["set", "-v", "7", "/v", "2"]).error(),
        "error: /v: version mismatch (the node is not at the version given)"
    );
    assert_eq!(
        zk.run(&["delete", "-v", "7", "/v"]).error(),
        "error: /v: version mismatch (the node is not at the version given)"
    );
    assert_eq!(
        zk.run(&["create", "/v"]).error(),
        "error: /v: node already exists"
    );
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
