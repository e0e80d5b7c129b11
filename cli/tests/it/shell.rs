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
