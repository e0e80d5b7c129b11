//! `zk server start|status|stop`: a local ZooKeeper in the background.

use crate::support::{Run, run_cmd, zk};

fn server(args: &[&str]) -> Run {
    let mut cmd = zk();
    cmd.arg("server").args(args);
    run_cmd(cmd, None)
}

/// Stops the local server even when an assertion fails.
struct StopOnDrop;

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = server(&["stop"]);
    }
}

#[test]
fn start_status_use_and_stop() {
    let _stop = StopOnDrop;
    let not_running = server(&["status"]);
    assert_eq!(not_running.code, 1, "{not_running:#?}");
    assert!(not_running.stdout.contains("no local ZooKeeper is running"));

    let started = server(&["start"]);
    assert_eq!(started.code, 0, "{started:#?}");
    let hosts = started.stdout.trim().to_owned();
    assert!(hosts.starts_with("127.0.0.1:"), "{started:#?}");
    assert!(
        started.stderr.contains("started a local ZooKeeper"),
        "{started:#?}"
    );

    let status = server(&["status"]).ok();
    assert!(
        status.starts_with(&format!("running: {hosts} (pid ")),
        "{status}"
    );
    assert!(status.contains("standalone"), "{status}");

    // Without --server or ZK_SERVER, commands use the local server.
    let mut ls = zk();
    ls.args(["ls", "/"]);
    assert_eq!(run_cmd(ls, None).ok(), "zookeeper\n");
    // TTL nodes work on it (extendedTypesEnabled).
    let mut ttl = zk();
    ttl.args(["create", "-t", "1m", "/ttl"]);
    assert_eq!(run_cmd(ttl, None).ok(), "/ttl\n");

    let again = server(&["--json", "start"]).ok();
    let again: serde_json::Value = serde_json::from_str(&again).expect("JSON");
    assert_eq!(again["alreadyRunning"], true);
    assert_eq!(again["connectString"], hosts.as_str());

    let stopped = server(&["stop"]).ok();
    assert!(
        stopped.starts_with("stopped the local ZooKeeper (pid "),
        "{stopped}"
    );
    assert_eq!(server(&["status"]).code, 1);
    assert_eq!(server(&["stop"]).ok(), "no local ZooKeeper is running\n");
}
