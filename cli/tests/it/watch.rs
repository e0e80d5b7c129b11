//! `watch` streams events; `-w` prints the one-shot event.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use crate::support::{Zk, wait};

/// Starts `args` and returns once it printed its first stderr line (the watch is set).
fn start_watching(zk: &Zk, args: &[&str]) -> std::process::Child {
    let mut child = zk
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zk starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut line = String::new();
    BufReader::new(stderr)
        .read_line(&mut line)
        .expect("a line on stderr");
    assert!(line.starts_with("watching "), "{line}");
    child
}

#[tokio::test]
async fn watch_prints_events_until_the_count() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/w"]);
    let child = start_watching(&zk, &["watch", "/w", "--recursive", "--count", "3"]);
    zk.ok(&["create", "/w/a", "1"]);
    zk.ok(&["set", "/w/a", "2"]);
    zk.ok(&["delete", "/w/a"]);
    let run = wait(child);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        "NodeCreated /w/a\nNodeDataChanged /w/a\nNodeDeleted /w/a\n"
    );
}

#[tokio::test]
async fn watch_json_lines_parse() {
    let zk = Zk::new().await;
    let child = start_watching(&zk, &["--json", "watch", "/later", "-n", "1"]);
    zk.ok(&["create", "/later", "x"]);
    let run = wait(child);
    let event: serde_json::Value = serde_json::from_str(&run.ok()).expect("JSON");
    assert_eq!(event["type"], "NodeCreated");
    assert_eq!(event["path"], "/later");
    assert_eq!(event["state"], "SyncConnected");
}

#[tokio::test]
async fn get_w_prints_the_change() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/g", "before"]);
    let mut child = zk
        .cmd(&["get", "-w", "/g"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zk starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("the data");
    assert_eq!(line, "before\n");
    zk.ok(&["set", "/g", "after"]);
    line.clear();
    reader.read_line(&mut line).expect("the event");
    assert_eq!(line, "watch: NodeDataChanged /g\n");
    let run = wait(child);
    assert_eq!(run.code, 0, "{run:#?}");

    // exists -w waits for a creation.
    let mut child = zk
        .cmd(&["exists", "-w", "/soon"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zk starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout);
    line.clear();
    reader.read_line(&mut line).expect("the answer");
    // The answer is printed after the server set the watch, so creating now fires it.
    assert_eq!(line, "false\n");
    zk.ok(&["create", "/soon"]);
    line.clear();
    reader.read_line(&mut line).expect("the event");
    assert_eq!(line, "watch: NodeCreated /soon\n");
    assert_eq!(wait(child).code, 1, "the node did not exist when checked");
}
