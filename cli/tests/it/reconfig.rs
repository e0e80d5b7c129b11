//! `config` and `reconfig` on a 3-server ensemble with dynamic reconfiguration.

use std::time::Duration;

use zk_testkit::{Ensemble, EnsembleConfig, SUPER_DIGEST_SUPERPW};

use crate::support::{Run, run_cmd, zk};

#[tokio::test]
async fn reconfig_removes_and_adds_servers() {
    let config = EnsembleConfig::new(3)
        .reconfig(true)
        .super_digest(SUPER_DIGEST_SUPERPW);
    let ensemble = Ensemble::start_with(config).await.expect("an ensemble");
    // A follower goes and comes back (removing the leader makes every server drop its
    // clients for an election); the session uses the other two.
    let leader = ensemble
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let victim = ensemble
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let hosts: Vec<String> = ensemble
        .ids()
        .into_iter()
        .filter(|id| *id != victim)
        .map(|id| ensemble.client_addr(id).expect("an address").to_string())
        .collect();
    let hosts = hosts.join(",");
    let victim_line = format!("server.{victim}=");
    let victim_id = victim.to_string();
    let run = |args: &[&str]| -> Run {
        let mut cmd = zk();
        cmd.args(["--server", &hosts, "--timeout", "10s"])
            .args(args);
        run_cmd(cmd, None)
    };
    let superuser = |args: &[&str]| -> Run {
        let mut all = vec!["--auth", "digest:super:superpw"];
        all.extend_from_slice(args);
        run(&all)
    };

    let before = run(&["config"]).ok();
    let victim_server = before
        .lines()
        .find(|l| l.starts_with(&victim_line))
        .expect("the follower in the config")
        .to_owned();
    let version = |config: &str| {
        config
            .lines()
            .find_map(|l| l.strip_prefix("version="))
            .expect("a version")
            .to_owned()
    };
    let first = version(&before);
    let client = run(&["config", "-c"]).ok();
    assert!(client.starts_with(&format!("{first} ")), "{client}");
    assert_eq!(client.trim_end().split(',').count(), 3, "{client}");
    assert!(run(&["config", "-s"]).ok().contains("\ndataVersion = "));

    // Only the super user may reconfigure.
    let denied = run(&["reconfig", "--remove", &victim_id]).error();
    assert!(
        denied.starts_with("error: reconfig: not authorized"),
        "{denied}"
    );

    // A config watch (`config -w`), armed once it has printed the configuration.
    let mut watcher = zk();
    watcher
        .args(["--server", &hosts, "config", "-w"])
        .stdout(std::process::Stdio::piped());
    let mut watcher = watcher.spawn().expect("zk config -w starts");
    let mut lines = std::io::BufReader::new(watcher.stdout.take().expect("stdout"));
    let mut printed = String::new();
    while !printed.contains("version=") {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut lines, &mut line).expect("a line") > 0,
            "{printed}"
        );
        printed.push_str(&line);
    }

    let removed = superuser(&["reconfig", "-remove", &victim_id]).ok();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut lines, &mut rest).expect("the watch line");
    assert_eq!(rest, "watch: NodeDataChanged /zookeeper/config\n");
    assert!(watcher.wait().expect("zk config -w ends").success());
    assert!(!removed.contains(&victim_line), "{removed}");
    for id in ensemble.ids().into_iter().filter(|id| *id != victim) {
        assert!(removed.contains(&format!("server.{id}=")), "{removed}");
    }
    assert_ne!(version(&removed), first);

    // A stale -v is refused, naming the version.
    let stale = superuser(&["reconfig", "-v", &first, "-add", &victim_server]).error();
    assert!(
        stale.contains(&format!("no longer at version {first}")),
        "{stale}"
    );

    // Back with the whole membership from a file (non-incremental), as JSON.
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("zoo.cfg.dynamic");
    let members: String = removed
        .lines()
        .filter(|l| l.starts_with("server."))
        .chain([victim_server.as_str()])
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&file, &members).expect("written");
    let file = file.to_str().expect("utf-8");
    let added = superuser(&["--json", "reconfig", "-file", file, "-s"]).ok();
    let added: serde_json::Value = serde_json::from_str(&added).expect("JSON");
    assert!(
        added["config"]
            .as_str()
            .is_some_and(|c| c.contains(&victim_server)),
        "{added}"
    );
    assert!(added["stat"]["dataVersion"].is_i64(), "{added}");

    // Mixing the incremental and whole forms is a usage error, as in zkCli.
    assert_eq!(
        run(&["reconfig", "-add", &victim_server, "-members", &members]).code,
        2
    );
}
