//! The CLI's traps, closed: digest ACLs in plain text, dumps with unreadable nodes,
//! ephemeral nodes of one-off commands, binary data, `stat --json`, and the options of
//! `zk server`.

use crate::support::{Zk, run_cmd, zk};

#[tokio::test]
async fn a_plain_text_digest_is_warned_about_and_digest_plain_hashes_it() {
    let zk = Zk::new().await;
    // The trap: the password stored as the hash. The node is created, with a warning.
    let trap = zk.run(&["create", "/locked", "x", "digest:alice:secret:cdrwa"]);
    assert_eq!(trap.code, 0, "{trap:#?}");
    assert!(
        trap.stderr
            .starts_with("warning: digest:alice:secret:cdrwa: ")
            && trap.stderr.contains("digest-plain:alice:<password>:cdrwa")
            && trap.stderr.lines().count() == 1,
        "{trap:#?}"
    );
    let refused = zk
        .run(&["--auth", "digest:alice:secret", "get", "/locked"])
        .error();
    assert!(refused.contains("not authorized"), "{refused}");

    // The plain-text form: zk hashes the password, and alice can read.
    let made = zk.run(&["create", "/mine", "x", "digest-plain:alice:secret:cdrwa"]);
    assert_eq!((made.code, made.stderr.as_str()), (0, ""), "{made:#?}");
    assert_eq!(
        zk.ok(&["--auth", "digest:alice:secret", "get", "/mine"]),
        "x\n"
    );
    let acl = zk.ok(&["--auth", "digest:alice:secret", "getAcl", "/mine"]);
    assert!(acl.starts_with("digest:alice:") && acl.len() == "digest:alice::cdrwa\n".len() + 28);
    // setAcl takes it too.
    zk.ok(&["create", "/later"]);
    let set = zk.run(&["setAcl", "/later", "digest-plain:bob:pw:r,world:anyone:a"]);
    assert_eq!((set.code, set.stderr.as_str()), (0, ""), "{set:#?}");
    assert_eq!(zk.ok(&["--auth", "digest:bob:pw", "get", "/later"]), "\n");
}

#[tokio::test]
async fn a_dump_leaves_out_what_it_cannot_read_and_says_so() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/d", "top"]);
    zk.ok(&["create", "/d/open", "o"]);
    zk.ok(&["create", "/d/secret", "s", "digest-plain:alice:pw:cdrwa"]);
    zk.ok(&[
        "--auth",
        "digest:alice:pw",
        "create",
        "/d/secret/below",
        "b",
    ]);
    zk.ok(&["create", "/d/zz", "last"]);

    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("d.json");
    let file = file.to_str().expect("utf-8 path");
    let run = zk.run(&["dump", "/d", "-o", file]);
    assert_eq!(run.code, 1, "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "skipped /d/secret: not authorized to read it (left out with everything below it)",
            "error: dump /d: 1 node could not be read and is left out (listed above; --skip-unreadable accepts that)"
        ],
        "{run:#?}"
    );
    let dumped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("the dump")).expect("JSON");
    let children: Vec<&String> = dumped["node"]["children"]
        .as_object()
        .expect("children")
        .keys()
        .collect();
    assert_eq!(children, ["open", "zz"]);

    let accepted = zk.run(&["dump", "--skip-unreadable", "/d"]);
    assert_eq!(accepted.code, 0, "{accepted:#?}");
    assert!(
        accepted.stderr.starts_with("skipped /d/secret: "),
        "{accepted:#?}"
    );
    let dumped: serde_json::Value = serde_json::from_str(&accepted.stdout).expect("JSON");
    assert_eq!(dumped["node"]["children"]["zz"]["data"], "last");
    // With the credentials nothing is skipped.
    let all = zk.run(&["--auth", "digest:alice:pw", "dump", "/d"]);
    assert_eq!((all.code, all.stderr.as_str()), (0, ""), "{all:#?}");
    // An unreadable root is an error, not an empty dump.
    let root = zk.run(&["dump", "/d/secret"]).error();
    assert!(root.contains("not authorized"), "{root}");
}

#[tokio::test]
async fn one_off_ephemeral_nodes_come_with_a_note() {
    let zk = Zk::new().await;
    let run = zk.run(&["create", "-e", "/e"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "/e\n"), "{run:#?}");
    assert!(
        run.stderr.starts_with("note: the node is ephemeral") && run.stderr.lines().count() == 1,
        "{run:#?}"
    );
    let run = zk.run(&["getEphemerals"]);
    assert!(
        run.stderr
            .starts_with("note: this command has a session of its own")
            && run.stderr.lines().count() == 1,
        "{run:#?}"
    );
    // The shell's session lives on: no note there.
    let run = zk.run_with_stdin(&[], b"create -e /e\ngetEphemerals\n");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, "/e\n/e\n");
    assert!(!run.stderr.contains("note:"), "{run:#?}");
    // A persistent node gets no note.
    assert_eq!(zk.run(&["create", "/p"]).stderr, "");
}

#[tokio::test]
async fn get_raw_writes_the_bytes_exactly_and_stat_json_names_the_path() {
    let zk = Zk::new().await;
    let bytes = [0x00, 0xff, b'\n', 0x7f];
    zk.run_with_stdin(&["create", "/bin", "-"], &bytes).ok();
    let mut cmd = zk.cmd(&["get", "--raw", "/bin"]);
    cmd.stdout(std::process::Stdio::piped());
    let out = cmd.output().expect("zk runs");
    assert!(out.status.success());
    assert_eq!(out.stdout, bytes);
    let mut cmd = zk.cmd(&["--json", "get", "-r", "/bin"]);
    cmd.stdout(std::process::Stdio::piped());
    assert_eq!(cmd.output().expect("zk runs").stdout, bytes);
    assert_eq!(zk.run(&["get", "-r", "-s", "/bin"]).code, 2);

    let stat = zk.json(&["stat", "/bin"]);
    assert_eq!(stat["path"], "/bin");
    assert_eq!(stat["dataLength"], 4);
}

#[tokio::test]
async fn deleteall_in_batches() {
    let zk = Zk::new().await;
    let mut script = String::from("create /t\n");
    for i in 0..5 {
        script.push_str(&format!("create /t/{i}\ncreate /t/{i}/x\n"));
    }
    zk.run_with_stdin(&[], script.as_bytes()).ok();
    assert_eq!(zk.ok(&["getAllChildrenNumber", "/t"]), "10\n");
    assert_eq!(zk.ok(&["deleteall", "-b", "3", "/t"]), "");
    assert_eq!(zk.run(&["exists", "/t"]).code, 1);
    assert_eq!(zk.run(&["deleteall", "-b", "0", "/t"]).code, 2);
    assert_eq!(
        zk.run(&["deleteall", "-b", "2", "/t"]).error(),
        "error: /t: no such node"
    );
}

#[test]
fn server_actions_list_only_their_own_options() {
    let mut cmd = zk();
    cmd.args(["server", "start", "--help"]);
    let help = run_cmd(cmd, None).ok();
    assert!(help.contains("--nodes"), "{help}");
    for client_option in ["--server", "--timeout", "--auth", "--tls-ca", "--sasl"] {
        assert!(!help.contains(client_option), "{client_option}: {help}");
    }
    let mut cmd = zk();
    cmd.args(["version"]);
    let version = run_cmd(cmd, None).ok();
    assert_eq!(version, format!("zk {}\n", env!("CARGO_PKG_VERSION")));
    let mut cmd = zk();
    cmd.args(["--version"]);
    assert_eq!(run_cmd(cmd, None).ok(), version);
}
