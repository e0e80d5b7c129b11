//! `zk demo --server` against a 3-server ensemble.

use zk_testkit::Ensemble;

use crate::support::{run_cmd, zk};

#[tokio::test]
async fn the_demo_completes_against_an_ensemble_and_cleans_up() {
    let ensemble = Ensemble::start(3).await.expect("ensemble");
    let hosts = ensemble.connect_string();

    let mut demo = zk();
    demo.args(["demo", "--server", &hosts]);
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
    demo.args(["--json", "demo", "--server", &hosts]);
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
