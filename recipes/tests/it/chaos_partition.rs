//! Chaos: 3 members share 12 items with the `Partitioner` (kazoo's `SetPartitioner`
//! layout), each on sessions the nemesis cuts, resets and expires, on a 3-server ensemble
//! whose leader it kills, pauses and partitions. While a member's state says it holds
//! items, it works on them: it writes each item's work node. The verdict comes from the
//! servers' transaction log (`zk_testkit::check::partition`): every work write was made by
//! the session holding that item's lock at that zxid, so no item was worked on by two live
//! members at once, and no lock node is left.
//!
//! The members run on one thread, as the default `#[tokio::test]` runtime does, so reading
//! the state and sending the writes happen with nothing in between.
//!
//! Bounded in the default run (`ZK_CHAOS_SECS`, default 12); `ZK_CHAOS_SEED` replays a
//! schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use zk_client::{Client, CreateOptions};
use zk_recipes::partition::{PartitionState, Partitioner};
use zk_testkit::{SessionRegistry, check};

use crate::chaos_kit::{ChaosRun, session_after_session};

/// What the `SKIPPED` line names.
const RUN: &str = "the partitioner chaos run";
const PARTITION: &str = "/chaos-part";
const LOCKS: &str = "/chaos-part/locks";
const WORK: &str = "/chaos-work";
const ITEMS: usize = 12;

fn items() -> Vec<String> {
    (0..ITEMS).map(|i| format!("item-{i:02}")).collect()
}

/// One member, on a new session whenever the last one ended, until `stop`.
async fn member(
    m: usize,
    hosts: String,
    sessions: SessionRegistry,
    stop: Arc<AtomicBool>,
    worked: Arc<AtomicUsize>,
) {
    let run = stop.clone();
    session_after_session(hosts, sessions, run, |client| {
        let (stop, worked) = (stop.clone(), worked.clone());
        async move {
            let id = format!("member-{m}-{:x}", client.session_id());
            let partitioner = Partitioner::new(&client, PARTITION, items()).identifier(id.clone());
            partitioner.start().unwrap();
            while !stop.load(Ordering::SeqCst) {
                match partitioner.state() {
                    PartitionState::Acquired(mine) => {
                        // Sent as the state is read; awaited together.
                        let writes: Vec<_> = mine
                            .iter()
                            .map(|item| {
                                client.set_data(&format!("{WORK}/{item}"), id.as_bytes(), None)
                            })
                            .collect();
                        let done = join_all(writes)
                            .await
                            .into_iter()
                            .filter(Result::is_ok)
                            .count();
                        worked.fetch_add(done, Ordering::Relaxed);
                    }
                    PartitionState::Failed(_) => break,
                    _ => {}
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), partitioner.close()).await;
        }
    })
    .await;
}

#[tokio::test]
async fn chaos_partitioner_never_lets_two_members_work_on_one_item() {
    let mut run = ChaosRun::start(RUN, 4).await;
    let setup = Client::connect(&run.ensemble.connect_string())
        .await
        .unwrap();
    for item in items() {
        setup
            .create_all(&format!("{WORK}/{item}"), b"", &CreateOptions::persistent())
            .await
            .unwrap();
    }
    let worked = Arc::new(AtomicUsize::new(0));
    let mut members = Vec::new();
    for m in 0..3 {
        let endpoint = run.endpoint(&format!("member-{m}")).await;
        members.push(tokio::spawn(member(
            m,
            endpoint.connect_string(),
            run.sessions.clone(),
            run.stop.clone(),
            worked.clone(),
        )));
    }
    let log = run.faults().await;
    let lock_paths: Vec<String> = items().iter().map(|i| format!("{LOCKS}/{i}")).collect();
    let mut drained: Vec<&str> = lock_paths.iter().map(String::as_str).collect();
    let party = format!("{PARTITION}/party");
    drained.push(&party);
    let txns = run.finish(members, &drained).await;
    setup.close().await;

    let report = check::partition(&txns, LOCKS, WORK);
    println!(
        "partitioner: {report}; {} writes acked; {}\n{log}",
        worked.load(Ordering::Relaxed),
        run.describe(&log)
    );
    assert_eq!(report.items, ITEMS, "{report}");
    assert!(report.writes > 0 && report.holds > ITEMS, "{report}");
    assert!(report.is_safe(), "{report}\n{log}");
}
