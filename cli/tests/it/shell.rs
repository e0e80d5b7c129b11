//! The shell, driven through its stdin.

use crate::support::Zk;

#[tokio::test]
async fn the_shell_runs_one_command_per_line() {
    let zk = Zk::new().await;
    let script = "\
# a comment, then a blank line

create /s one
create -e /s/mine
ls /s
get /s
getEphemerals /s
set /s 'two words'
get /s
quit
create /never
";
    let run = zk.run_with_stdin(&[], script.as_bytes());
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, "/s\n/s/mine\nmine\none\n/s/mine\ntwo words\n");
    // `quit` ended the session: its ephemeral node went with it, and nothing after ran.
    assert_eq!(zk.run(&["exists", "/s/mine"]).code, 1);
    assert_eq!(zk.run(&["exists", "/never"]).code, 1);
}

#[tokio::test]
async fn shell_errors_are_reported_and_counted() {
    let zk = Zk::new().await;
    let run = zk.run_with_stdin(&[], b"get /missing\nbogus\nls /\nget 'unbalanced\n");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("error: /missing: no such node\n"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("unrecognized subcommand 'bogus'"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("error: unbalanced quotes\n"),
        "{run:#?}"
    );
    assert_eq!(run.stdout, "", "ls / of an empty chroot prints nothing");
}

#[tokio::test]
async fn shell_watches_print_when_they_fire() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/w", "1"]);
    let run = zk.run_with_stdin(&["--json"], b"get -w /w\nset /w 2\nsync /\n");
    assert_eq!(run.code, 0, "{run:#?}");
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines[0]["data"], "1");
    assert!(
        lines
            .iter()
            .any(|l| l["watch"]["type"] == "NodeDataChanged" && l["watch"]["path"] == "/w"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn help_lists_the_commands() {
    let zk = Zk::new().await;
    let run = zk.run_with_stdin(&[], b"help\n");
    assert_eq!(run.code, 0, "{run:#?}");
    for command in ["ls", "tree", "getAcl", "watch", "dump", "quit"] {
        assert!(run.stdout.contains(command), "{command}: {run:#?}");
    }
}

#[tokio::test]
async fn close_and_connect_switch_the_session() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/other"]);
    let other = format!("{}/other", zk.server);
    let script = format!(
        "create -e /mine\n\
         close\n\
         ls /\n\
         connect {other}\n\
         create /here\n\
         connect\n\
         ls /\n\
         connect {}\n\
         ls /\n\
         connect 127.0.0.1:1\n\
         ls /other\n",
        zk.server
    );
    let run = zk.run_with_stdin(&[], script.as_bytes());
    assert_eq!(run.code, 1, "{run:#?}");
    // The ephemeral node went with the closed session; `connect` with a chroot lands in
    // it; a failed connect keeps the session there was.
    assert_eq!(run.stdout, "/mine\n/here\nhere\nother\nhere\n");
    assert!(
        run.stderr.contains(
            "error: not connected: the session was closed (connect [host:port[/chroot]] opens a new one)\n"
        ),
        "{run:#?}"
    );
    assert_eq!(
        run.stderr.matches("connected to 127.0.0.1:").count(),
        3,
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("error: cannot connect to ZooKeeper at 127.0.0.1:1"),
        "{run:#?}"
    );
}

#[tokio::test]
async fn history_redo_printwatches_version_and_json_per_command() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/w", "1"]);
    let script = "\
get /w
printwatches
printwatches off
get -w /w
set /w 2
sync /
printwatches on
get -w /w
set /w 3
sync /
redo 0
history
version
stat --json /w
redo 99
";
    let run = zk.run_with_stdin(&[], script.as_bytes());
    assert_eq!(run.code, 1, "redo 99 fails: {run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1], "printwatches is on");
    // Only the watch left with printing on is printed.
    assert_eq!(
        run.stdout.matches("watch: NodeDataChanged /w").count(),
        1,
        "{run:#?}"
    );
    assert!(lines.contains(&"3"), "redo 0 ran get /w again: {run:#?}");
    // The last ten lines and `history` itself, as zkCli shows them.
    let history_at = lines
        .iter()
        .position(|l| l.starts_with("1 - "))
        .expect("the history");
    assert_eq!(
        lines[history_at..history_at + 11].to_vec(),
        [
            "1 - printwatches",
            "2 - printwatches off",
            "3 - get -w /w",
            "4 - set /w 2",
            "5 - sync /",
            "6 - printwatches on",
            "7 - get -w /w",
            "8 - set /w 3",
            "9 - sync /",
            "10 - get /w",
            "11 - history",
        ],
        "{run:#?}"
    );
    assert_eq!(
        lines[history_at + 11],
        format!("zk {}", env!("CARGO_PKG_VERSION"))
    );
    let stat: serde_json::Value = serde_json::from_str(lines[history_at + 12]).expect("JSON");
    assert_eq!(
        (stat["path"].as_str(), stat["dataVersion"].as_i64()),
        (Some("/w"), Some(2))
    );
    assert!(
        run.stderr
            .contains("error: redo 99: no such command (see history)"),
        "{run:#?}"
    );
}

#[tokio::test]
async fn removewatches_and_addwatch_in_the_shell() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/r", "1"]);
    let script = "\
get -w /r
ls -w /r
removewatches /r -d
set /r 2
create /r/child
sync /
removewatches /r
addWatch -m persistentRecursive /r
create /r/child/deep
sync /
--json removewatches /r -l
sync /
";
    let run = zk.run_with_stdin(&[], script.as_bytes());
    assert_eq!(
        run.code, 1,
        "removewatches with nothing left fails: {run:#?}"
    );
    // Events print from the background: compare without their order.
    let mut lines: Vec<&str> = run.stdout.lines().collect();
    lines.sort_unstable();
    let mut expected = [
        "1",
        "watch: DataWatchRemoved /r",
        // The data watch is gone: `set` fires nothing; the child watch fires.
        "watch: NodeChildrenChanged /r",
        "/r/child",
        "watch: NodeCreated /r/child/deep",
        "/r/child/deep",
        r#"{"path":"/r","watcherType":"Any","local":false,"removedLocally":0}"#,
        "watch: PersistentWatchRemoved /r",
    ];
    expected.sort_unstable();
    assert_eq!(lines, expected, "{run:#?}");
    // The second removewatches found nothing: the child watch had fired.
    assert_eq!(
        run.stderr, "error: /r: no such watch in this session\n",
        "{run:#?}"
    );

    // A one-off command's session has no watches to remove.
    let one_off = zk.run(&["removewatches", "/r"]).error();
    assert!(
        one_off.contains("a one-off command's session holds none"),
        "{one_off}"
    );
}
