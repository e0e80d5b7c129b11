//! `zk chaos`: the CAS-register run of the plain client on each backend (0
//! linearizability violations), and the recipes' workloads on the process backend.
//!
//! Bounded for CI (`ZK_CHAOS_SECS`, default 10 s of faults per run; set it higher for the
//! long run, e.g. `ZK_CHAOS_SECS=600 cargo test -p zk-cli --test it chaos -- --nocapture`),
//! and `ZK_CHAOS_SEED` replays a schedule. The container runs print a SKIPPED line without
//! Docker, and fail instead under `ZK_TESTKIT_REQUIRE_DOCKER=1`.

use crate::support::{run_cmd, zk};

fn secs() -> String {
    std::env::var("ZK_CHAOS_SECS").unwrap_or_else(|_| "10".into())
}

fn seed(default: u64) -> String {
    std::env::var("ZK_CHAOS_SEED").unwrap_or_else(|_| default.to_string())
}

/// Runs `zk chaos <workload> --json ...` and returns its summary.
fn chaos(workload: &str, backend: &str, default_seed: u64) -> serde_json::Value {
    let mut cmd = zk();
    cmd.args(["chaos", workload, "--backend", backend, "--secs"])
        .arg(secs())
        .arg("--seed")
        .arg(seed(default_seed))
        .arg("--json");
    let run = run_cmd(cmd, None);
    let last = run.stdout.lines().last().unwrap_or_default();
    let summary: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("a JSON summary ({e}): {run:#?}"));
    // The figures go to the test log (shown with --nocapture, and on failure).
    println!("zk chaos {workload} on {backend}: {summary}");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(summary["ok"], true, "{summary}");
    summary
}

fn assert_linearizable(summary: &serde_json::Value) {
    let figures = &summary["figures"];
    assert_eq!(figures["linearizable"], true, "{summary}");
    assert!(figures["counterexample"].is_null(), "{summary}");
    let operations = figures["operations"].as_u64().unwrap_or(0);
    assert!(operations >= 300, "too few operations to tell: {summary}");
    for kind in ["reads", "writes", "cas"] {
        assert!(figures[kind].as_u64().unwrap_or(0) > 0, "{kind}: {summary}");
    }
}

#[test]
fn the_cas_register_run_on_processes_is_linearizable() {
    assert_linearizable(&chaos("register", "process", 7));
}

#[test]
fn the_cas_register_run_on_containers_is_linearizable() {
    if zk_testkit::container::skip_unless_ready(
        "the_cas_register_run_on_containers_is_linearizable",
    ) {
        return;
    }
    assert_linearizable(&chaos("register", "docker", 7));
}

#[test]
fn the_lock_election_and_queue_runs_pass_their_checkers() {
    let lock = chaos("lock", "process", 3);
    assert!(
        lock["figures"]["counted"].as_u64().unwrap_or(0) > 0,
        "{lock}"
    );
    let election = chaos("election", "process", 3);
    assert!(
        election["figures"]["counted"].as_u64().unwrap_or(0) > 0,
        "{election}"
    );
    let queue = chaos("queue", "process", 3);
    assert!(
        queue["figures"]["acks"].as_u64().unwrap_or(0) > 0,
        "{queue}"
    );
}

#[test]
fn an_unknown_workload_is_a_usage_error() {
    let mut cmd = zk();
    cmd.args(["chaos", "nope"]);
    let run = run_cmd(cmd, None);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("register"),
        "the workloads are listed: {run:#?}"
    );
}
