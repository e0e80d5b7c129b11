//! Our `Partitioner` and kazoo's `SetPartitioner` share one set (tests/interop/README.md).

use std::collections::BTreeMap;
use std::time::Duration;

use zk_client::{Client, CreateOptions};
use zk_recipes::partition::{Partitioner, share};

use crate::peers::{self, Program, Running, Spawn};
use crate::support::{children, connect, init_logging, within};

const PATH: &str = "/interop/partition";

fn items() -> Vec<String> {
    (0..10).map(|i| format!("item-{i:02}")).collect()
}

/// Waits until `peer` has printed `line`; fails on an `ERROR`.
async fn printed(peer: &mut Running, line: &str) {
    within(async {
        loop {
            let lines = peer.printed();
            if lines.iter().any(|l| l == line) {
                return;
            }
            if lines.iter().any(|l| l.starts_with("ERROR ")) {
                panic!("the peer failed: {lines:#?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Waits until each of ours holds its share among `ids`.
async fn ours_settled(ours: &[&Partitioner], ids: &[&str]) {
    within(async {
        while !ours
            .iter()
            .all(|p| p.state().is_acquired() && p.state().items() == share(p.id(), ids, &items()))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Each item's lock has one node, kazoo's name, with the holder's data (kazoo's
/// `SetPartitioner` writes none).
async fn holders(admin: &Client) -> BTreeMap<String, Vec<u8>> {
    let mut holders = BTreeMap::new();
    for item in items() {
        let path = format!("{PATH}/locks/{item}");
        let nodes = children(admin, &path).await;
        assert_eq!(nodes.len(), 1, "{path}: {nodes:?}");
        assert!(nodes[0].contains("__lock__"), "{nodes:?}");
        let (data, _) = admin
            .get_data(&format!("{path}/{}", nodes[0]))
            .await
            .unwrap();
        holders.insert(item, data.to_vec());
    }
    holders
}

#[tokio::test]
async fn interop_partition_with_kazoo_set_partitioner() {
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    admin
        .create_all(&format!("{PATH}-cs"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (ca, cc) = (connect(&zk).await, connect(&zk).await);
    let a = Partitioner::new(&ca, PATH, items()).identifier("a");
    let c = Partitioner::new(&cc, PATH, items()).identifier("c");
    a.start().unwrap();
    c.start().unwrap();
    ours_settled(&[&a, &c], &["a", "c"]).await;

    // kazoo joins as "b": all three rebalance to kazoo's partition function.
    let spawn = Spawn {
        program: Program::KazooPartitioner,
        id: "b".to_owned(),
        sessions: 1,
        extra: vec!["--items".to_owned(), items().join(",")],
    };
    let connect_string = zk.connect_string();
    let mut kazoo = peers::start(&spawn, &connect_string, PATH, 1, Duration::ZERO, false).await;
    kazoo.ready(1).await;
    let b_share = share("b", &["a", "b", "c"], &items());
    printed(&mut kazoo, &format!("ACQUIRED b {}", b_share.join(" "))).await;
    ours_settled(&[&a, &c], &["a", "b", "c"]).await;
    let locks = holders(&admin).await;
    for (item, data) in &locks {
        let expected: &[u8] = if b_share.contains(item) {
            b""
        } else if a.state().items().contains(item) {
            b"a"
        } else {
            b"c"
        };
        assert_eq!(data, expected, "{item}");
    }
    let mut party = children(&admin, &format!("{PATH}/party")).await;
    party.iter_mut().for_each(|n| *n = n[33..].to_owned());
    party.sort();
    assert_eq!(party, ["a", "b", "c"]);

    // kazoo finishes: it released what it held, and ours take over.
    admin
        .create(
            &format!("{PATH}-cs/leave-b"),
            b"",
            &CreateOptions::persistent(),
        )
        .await
        .unwrap();
    ours_settled(&[&a, &c], &["a", "c"]).await;
    let finished = kazoo.finish(Duration::from_secs(30)).await;
    finished.assert_clean();
    assert!(
        finished.lines.iter().any(|l| l == "LEFT b"),
        "{:#?}",
        finished.lines
    );
    let locks = holders(&admin).await;
    assert!(locks.values().all(|d| d == b"a" || d == b"c"), "{locks:?}");

    // c closes: a takes every item.
    c.close().await.unwrap();
    ours_settled(&[&a], &["a"]).await;
    a.close().await.unwrap();
    for item in items() {
        assert!(
            children(&admin, &format!("{PATH}/locks/{item}"))
                .await
                .is_empty()
        );
    }
}
