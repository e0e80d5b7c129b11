//! Partitioner: fair and disjoint shares, handover only after the old owner released,
//! rebalancing on joins, and loss reported before anyone else takes a cut-off member's
//! items. The runtime is current-thread, so reading every member's state without an await
//! between is one instant: the invariant "no item acquired by two members" is checked on
//! such snapshots, many times a second, while the members change.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use zk_client::Client;
use zk_recipes::partition::{Assignments, PartitionState, Partitioner, share};
use zk_testkit::ClientEndpoint;

use crate::support::{children, client, connect, within};

const PATH: &str = "/p";

fn items() -> Vec<String> {
    (0..10).map(|i| format!("item-{i:02}")).collect()
}

fn member(client: &Client, id: &str) -> Arc<Partitioner> {
    let p = Partitioner::new(client, PATH, items()).identifier(id);
    p.start().expect("start");
    Arc::new(p)
}

/// Waits until every member in `members` holds exactly the share kazoo's function gives
/// it among them; returns the shares by identifier.
async fn settled(members: &[&Arc<Partitioner>]) -> BTreeMap<String, Vec<String>> {
    let ids: Vec<String> = members.iter().map(|p| p.id().to_owned()).collect();
    within(async {
        loop {
            let shares: BTreeMap<String, Vec<String>> = members
                .iter()
                .map(|p| (p.id().to_owned(), p.state().items().to_vec()))
                .collect();
            let done = members.iter().all(|p| {
                p.state().is_acquired() && p.state().items() == share(p.id(), &ids, &items())
            });
            if done {
                return shares;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// Checks, until stopped, that no item is in two members' `Acquired` states at once.
struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
}

impl Sampler {
    fn start(members: Vec<Arc<Partitioner>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(AtomicUsize::new(0));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            while !flag.load(Ordering::SeqCst) {
                // No await between the reads: one instant on this runtime.
                let mut owner: BTreeMap<String, String> = BTreeMap::new();
                for p in &members {
                    for item in p.state().items() {
                        if let Some(other) = owner.insert(item.clone(), p.id().to_owned()) {
                            panic!("{item} acquired by {other} and {} at once", p.id());
                        }
                    }
                }
                samples.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            samples.load(Ordering::SeqCst)
        });
        Self { stop, task }
    }

    async fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let samples = self.task.await.expect("no item held twice");
        assert!(samples > 0, "no sample taken");
    }
}

/// Every item's lock has one node, held by the member whose share has the item.
async fn locks_match(admin: &Client, shares: &BTreeMap<String, Vec<String>>) {
    for (id, mine) in shares {
        for item in mine {
            let path = format!("{PATH}/locks/{item}");
            let nodes = children(admin, &path).await;
            assert_eq!(nodes.len(), 1, "{path}: {nodes:?}");
            assert!(nodes[0].contains("__lock__"), "{nodes:?}");
            let (data, _) = admin
                .get_data(&format!("{path}/{}", nodes[0]))
                .await
                .unwrap();
            assert_eq!(&data[..], id.as_bytes(), "{path}");
        }
    }
}

/// The next state of `states` that `pred` accepts; the ones before it are returned too.
async fn until(
    states: &mut Assignments,
    pred: impl Fn(&PartitionState) -> bool,
) -> Vec<PartitionState> {
    within(async {
        let mut seen = Vec::new();
        while let Some(state) = states.next().await {
            let done = pred(&state);
            seen.push(state);
            if done {
                return seen;
            }
        }
        panic!("the stream ended: {seen:?}");
    })
    .await
}

#[tokio::test]
async fn partition_three_members_split_ten_items_fairly_and_disjointly() {
    let (admin, zk) = client().await;
    let (ca, cb, cc) = (connect(&zk).await, connect(&zk).await, connect(&zk).await);
    let (a, b, c) = (member(&ca, "a"), member(&cb, "b"), member(&cc, "c"));
    let shares = settled(&[&a, &b, &c]).await;
    assert_eq!(shares["a"], ["item-00", "item-03", "item-06", "item-09"]);
    assert_eq!(shares["b"], ["item-01", "item-04", "item-07"]);
    assert_eq!(shares["c"], ["item-02", "item-05", "item-08"]);
    locks_match(&admin, &shares).await;
    let mut party = children(&admin, &format!("{PATH}/party")).await;
    party.iter_mut().for_each(|n| *n = n[33..].to_owned());
    party.sort();
    assert_eq!(party, ["a", "b", "c"]);

    for p in [&a, &b, &c] {
        p.close().await.unwrap();
        assert!(matches!(
            p.state(),
            PartitionState::Failed(zk_recipes::Error::Closed)
        ));
    }
    for item in items() {
        assert!(
            children(&admin, &format!("{PATH}/locks/{item}"))
                .await
                .is_empty()
        );
    }
    assert!(children(&admin, &format!("{PATH}/party")).await.is_empty());
}

#[tokio::test]
async fn partition_a_leaving_member_hands_its_items_over_after_releasing_them() {
    let (admin, zk) = client().await;
    let (ca, cb, cc) = (connect(&zk).await, connect(&zk).await, connect(&zk).await);
    let (a, b, c) = (member(&ca, "a"), member(&cb, "b"), member(&cc, "c"));
    settled(&[&a, &b, &c]).await;
    let sampler = Sampler::start(vec![a.clone(), b.clone(), c.clone()]);
    let mut c_states = c.assignments();

    c.close().await.unwrap();
    // c said to stop before it let its items go, and then ended.
    let seen = until(&mut c_states, PartitionState::is_final).await;
    assert!(
        matches!(seen[seen.len() - 2], PartitionState::Release(ref i) if i.len() == 3),
        "{seen:?}"
    );
    let shares = settled(&[&a, &b]).await;
    assert_eq!(shares["a"].len(), 5);
    assert_eq!(shares["b"].len(), 5);
    locks_match(&admin, &shares).await;
    sampler.finish().await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn partition_a_joining_member_triggers_a_rebalance() {
    let (admin, zk) = client().await;
    let (ca, cb, cc) = (connect(&zk).await, connect(&zk).await, connect(&zk).await);
    let (a, b) = (member(&ca, "a"), member(&cb, "b"));
    let before = settled(&[&a, &b]).await;
    assert_eq!(before["a"].len(), 5);
    let sampler = Sampler::start(vec![a.clone(), b.clone()]);
    let mut a_states = a.assignments();

    let c = member(&cc, "c");
    let shares = settled(&[&a, &b, &c]).await;
    assert_eq!(shares["a"].len(), 4);
    assert_eq!(shares["c"], ["item-02", "item-05", "item-08"]);
    locks_match(&admin, &shares).await;
    // a released its old share before it acquired its new one.
    let seen = until(&mut a_states, |s| s.items().len() == 4).await;
    let release = seen
        .iter()
        .position(|s| matches!(s, PartitionState::Release(i) if i.len() == 5))
        .expect("a Release");
    assert!(
        seen[release..]
            .iter()
            .any(|s| matches!(s, PartitionState::Allocating))
    );
    sampler.finish().await;
    for p in [&a, &b, &c] {
        p.close().await.unwrap();
    }
}

/// A client through a fault proxy, with a 6 s session.
async fn through(zk: &zk_testkit::Shared, name: &str) -> (Client, ClientEndpoint) {
    let build = Client::builder().session_timeout(Duration::from_secs(6));
    crate::node::through(zk, name, build).await
}

#[tokio::test]
async fn partition_a_short_cut_loses_the_share_then_takes_it_again_on_the_same_session() {
    let (admin, zk) = client().await;
    let (ca, endpoint) = through(&zk, "partition-short").await;
    let cb = connect(&zk).await;
    let (a, b) = (member(&ca, "a"), member(&cb, "b"));
    let before = settled(&[&a, &b]).await;
    let sampler = Sampler::start(vec![a.clone(), b.clone()]);
    let mut a_states = a.assignments();
    let session = ca.session_id();

    let cut = endpoint.blackhole();
    endpoint.reset_all();
    until(&mut a_states, |s| matches!(s, PartitionState::Lost { .. })).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(cut);
    // Back within the session timeout: the same share again, on the same session.
    let after = settled(&[&a, &b]).await;
    assert_eq!(after, before);
    assert_eq!(ca.session_id(), session);
    locks_match(&admin, &after).await;
    sampler.finish().await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn partition_a_cut_off_member_reports_loss_before_others_take_its_items() {
    let (admin, zk) = client().await;
    let (ca, endpoint) = through(&zk, "partition-a").await;
    let (cb, cc) = (connect(&zk).await, connect(&zk).await);
    let (a, b, c) = (member(&ca, "a"), member(&cb, "b"), member(&cc, "c"));
    let before = settled(&[&a, &b, &c]).await;
    let sampler = Sampler::start(vec![a.clone(), b.clone(), c.clone()]);
    let mut a_states = a.assignments();

    let cut = endpoint.blackhole();
    endpoint.reset_all();
    let seen = until(&mut a_states, |s| matches!(s, PartitionState::Lost { .. })).await;
    let Some(PartitionState::Lost { items, .. }) = seen.last() else {
        unreachable!()
    };
    assert_eq!(items, &before["a"]);
    // Nobody has a's items yet: the server still holds its session.
    for p in [&b, &c] {
        assert!(p.state().items().iter().all(|i| !items.contains(i)));
    }
    assert!(!a.state().is_acquired());

    // The session expires on the server: b and c share everything.
    let shares = settled(&[&b, &c]).await;
    assert_eq!(shares["b"].len() + shares["c"].len(), 10);
    assert!(!a.state().is_acquired());
    locks_match(&admin, &shares).await;
    sampler.finish().await;

    // Healed, a finds its session gone: it is over and holds nothing.
    drop(cut);
    let seen = until(&mut a_states, PartitionState::is_final).await;
    assert!(
        matches!(seen.last(), Some(PartitionState::Failed(e)) if !e.is_retryable()),
        "{seen:?}"
    );
    b.close().await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn partition_no_item_is_held_twice_while_members_come_and_go() {
    let (admin, zk) = client().await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(connect(&zk).await);
    }
    let a = member(&clients[0], "a");
    let b = member(&clients[1], "b");
    settled(&[&a, &b]).await;
    // Fresh members after each step: the sampler follows all of them.
    let c = member(&clients[2], "c");
    let d = member(&clients[3], "d");
    let sampler = Sampler::start(vec![a.clone(), b.clone(), c.clone(), d.clone()]);
    let shares = settled(&[&a, &b, &c, &d]).await;
    locks_match(&admin, &shares).await;
    b.close().await.unwrap();
    let shares = settled(&[&a, &c, &d]).await;
    locks_match(&admin, &shares).await;
    a.set_items(items().into_iter().take(7)).unwrap();
    for p in [&c, &d] {
        p.set_items(items().into_iter().take(7)).unwrap();
    }
    within(async {
        loop {
            let total: usize = [&a, &c, &d].iter().map(|p| p.state().items().len()).sum();
            if total == 7 && [&a, &c, &d].iter().all(|p| p.state().is_acquired()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    d.close().await.unwrap();
    c.close().await.unwrap();
    within(async {
        while a.state().items().len() != 7 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    sampler.finish().await;
    a.close().await.unwrap();
}

#[tokio::test]
async fn partition_time_boundary_waits_for_a_stable_membership() {
    let (_admin, zk) = client().await;
    let (ca, cb) = (connect(&zk).await, connect(&zk).await);
    let boundary = Duration::from_millis(600);
    let start = |client: &Client, id: &str| {
        let p = Partitioner::new(client, PATH, items())
            .identifier(id)
            .time_boundary(boundary);
        p.start().unwrap();
        Arc::new(p)
    };
    let started = tokio::time::Instant::now();
    let a = start(&ca, "a");
    let mine = within(a.wait_for_acquire()).await.unwrap();
    assert_eq!(mine.len(), 10);
    assert!(started.elapsed() >= boundary, "{:?}", started.elapsed());

    let mut a_states = a.assignments();
    let joined = tokio::time::Instant::now();
    let b = start(&cb, "b");
    settled(&[&a, &b]).await;
    assert!(joined.elapsed() >= boundary, "{:?}", joined.elapsed());
    let seen = until(&mut a_states, |s| s.items().len() == 5).await;
    assert!(
        seen.iter()
            .any(|s| matches!(s, PartitionState::Release(i) if i.len() == 10)),
        "{seen:?}"
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn partition_refuses_names_that_cannot_be_nodes() {
    let (client, _zk) = client().await;
    let bad_item = Partitioner::new(&client, PATH, ["ok", "a/b"]).identifier("a");
    assert!(matches!(
        bad_item.start(),
        Err(zk_recipes::Error::InvalidArgument(_))
    ));
    let bad_id = Partitioner::new(&client, PATH, ["ok"]).identifier("x/y");
    assert!(matches!(
        bad_id.start(),
        Err(zk_recipes::Error::InvalidArgument(_))
    ));
    let p = Partitioner::new(&client, PATH, ["ok"]).identifier("a");
    assert!(p.set_items([".."]).is_err());
    assert_eq!(p.items(), ["ok"]);
    p.start().unwrap();
    assert!(p.start().is_err(), "started twice");
    assert_eq!(within(p.wait_for_acquire()).await.unwrap(), ["ok"]);
    p.close().await.unwrap();
    assert!(within(p.wait_for_acquire()).await.is_err());
}

/// kazoo #41 (`7fb411b`): the party changes while a member is still taking its locks. It
/// must give up the locks taken so far and allocate again for the new party, not finish
/// the old share.
#[tokio::test]
async fn partition_kazoo_41_a_party_change_during_allocation_restarts_it() {
    let (admin, zk) = client().await;
    let (ca, cb) = (connect(&zk).await, connect(&zk).await);
    // An outside holder keeps item-09, the last of a's first share.
    let blocker = zk_recipes::lock::Mutex::new(&admin, &format!("{PATH}/locks/item-09"))
        .compat(zk_recipes::lock::Compat::Kazoo);
    let held = blocker.acquire().await.unwrap();
    let a = member(&ca, "a");
    let mut a_states = a.assignments();
    // a has taken item-00..item-08 and waits for item-09.
    within(async {
        while children(&admin, &format!("{PATH}/locks/item-08"))
            .await
            .len()
            != 1
            || children(&admin, &format!("{PATH}/locks/item-09"))
                .await
                .len()
                != 2
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(matches!(a.state(), PartitionState::Allocating));

    let b = member(&cb, "b");
    let sampler = Sampler::start(vec![a.clone(), b.clone()]);
    // a gives up what it took and gets its new share, item-09 still held outside.
    within(async {
        while a.state().items() != share("a", &["a", "b"], &items()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(!b.state().is_acquired(), "b cannot have item-09 yet");
    held.release().await.unwrap();
    let shares = settled(&[&a, &b]).await;
    assert_eq!(shares["b"], share("b", &["a", "b"], &items()));
    locks_match(&admin, &shares).await;
    let seen = until(&mut a_states, PartitionState::is_acquired).await;
    assert_eq!(seen.last().unwrap().items().len(), 5, "{seen:?}");
    sampler.finish().await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}
