//! `zk demo` on its own ensemble, and `zk demo session --server` against a 3-server one.

use zk_testkit::Ensemble;

use crate::support::{run_cmd, zk};

/// The default story, on the local ensemble the demo starts itself.
#[test]
fn the_boss_and_workers_demo_checks_every_claim() {
    let mut demo = zk();
    demo.arg("demo");
    let run = run_cmd(demo, None);
    assert_eq!(run.code, 0, "{run:#?}");
    for line in [
        "ensemble up in",
        "✓ the boss leads (fencing token 0x",
        "✓ three workers registered: w1, w2, w3",
        "✓ the deputy took over in ",
        "of the dead w2 back to the pool, in one fenced transaction",
        ", told it is attempt 2",
        "killing server ",
        "✓ the deputy's and the live workers' sessions went on through the failover, unchanged",
        "✓ all 16 jobs are done, each exactly once (one result node per job)",
        "✓ nothing is left waiting or assigned",
        "✓ 17 runs for 16 jobs: only job ",
        "stopped the local ensemble",
        "demo complete: every step was checked",
    ] {
        assert!(run.stdout.contains(line), "{line:?} missing: {run:#?}");
    }
    assert!(!run.stdout.contains('✗'), "{run:#?}");
}

#[tokio::test]
async fn the_demos_complete_against_an_ensemble_and_clean_up() {
    let ensemble = Ensemble::start(3).await.expect("ensemble");
    let hosts = ensemble.connect_string();

    // The boss story: no server of an existing ensemble is killed.
    let mut demo = zk();
    demo.args(["demo", "--server", &hosts]);
    let run = run_cmd(demo, None);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("its servers are not the demo's to kill"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("demo complete: every step was checked"),
        "{run:#?}"
    );

    let mut demo = zk();
    demo.args(["demo", "session", "--server", &hosts]);
    let run = run_cmd(demo, None);
    assert_eq!(run.code, 0, "{run:#?}");
    for line in [
        "✓ its owner is session 0x",
        "✓ one-shot watch fired: NodeDataChanged /zk-demo-",
        "✓ persistent watch fired: NodeCreated /zk-demo-",
        "✓ it is another server",
        "✓ it is the same session, 0x",
        "✓ the persistent watch was told: Disconnected, then SyncConnected",
        "✓ one-shot watch fired after the failover: NodeDataChanged",
        "✓ persistent watch fired after the failover: NodeCreated",
        "✓ the observer saw the ephemeral node vanish: NodeDeleted",
        "demo complete: every step was checked",
    ] {
        assert!(run.stdout.contains(line), "{line:?} missing: {run:#?}");
    }
    assert!(!run.stdout.contains('✗'), "{run:#?}");

    // The timeline as JSON lines, on the same ensemble.
    let mut demo = zk();
    demo.args(["--json", "demo", "session", "--server", &hosts]);
    let run = run_cmd(demo, None);
    assert_eq!(run.code, 0, "{run:#?}");
    let entries: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(
        entries
            .iter()
            .all(|e| e["t"].is_f64() && e["text"].is_string())
    );
    assert!(entries.iter().filter(|e| e["kind"] == "check").count() >= 10);

    // Nothing is left behind.
    let mut ls = zk();
    ls.args(["--server", &hosts, "ls", "/"]);
    assert_eq!(run_cmd(ls, None).ok(), "zookeeper\n");
}
