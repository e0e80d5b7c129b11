//! The queues against the real peers, run as separate processes (tests/interop/):
//! Curator 5.4's `DistributedQueue` (with and without lock safety) and
//! `SimpleDistributedQueue`, kazoo 2.11's `Queue` and `LockingQueue`, each way with ours.
//! Every item put on one side is taken on the other exactly once, in the order of its
//! single producer (kazoo's: lower priorities first); the queue ends empty, claims and
//! locks included. Two cases share one queue between consumers of both libraries: a
//! kazoo `LockingQueue` with ours, and a Curator lock-safety consumer with ours on the
//! same `lockPath`; no item is consumed twice. Two more, on a server that reaps containers
//! quickly, check that the paths ours makes outlive an empty queue under a kazoo or Curator
//! producer, which makes its paths once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zk_client::{Client, CreateOptions};
use zk_recipes::queue::{
    Claimed, DistributedQueue, KazooQueue, LockingQueue, SimpleDistributedQueue,
};

use crate::peers::{self, Finished, Program, Running, Spawn};
use crate::support::{children, connect, init_logging, until_empty, within};

/// Items per one-way case.
const N: usize = 10;
/// How long a peer may take to print what is expected.
const LINE: Duration = Duration::from_secs(60);

fn spawn(program: Program, id: &str, sessions: usize, extra: &[&str]) -> Spawn {
    Spawn {
        program,
        id: id.to_owned(),
        sessions,
        extra: extra.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// `item-0` .. `item-{n-1}`, as the peers put them.
fn items(n: usize) -> Vec<String> {
    (0..n).map(|k| format!("item-{k}")).collect()
}

/// Starts a peer on `path` (one round, `hold` per item) and waits for its sessions.
async fn start(zk: &zk_testkit::Shared, spawn: &Spawn, path: &str, hold: Duration) -> Running {
    let mut peer = peers::start(spawn, &zk.connect_string(), path, 1, hold, false).await;
    peer.ready(spawn.sessions).await;
    peer
}

/// Creates the gate `PATH-cs/name` the peers on `path` wait for (`go`) or look for (`stop`).
async fn gate(admin: &Client, path: &str, name: &str) {
    admin
        .create_all(
            &format!("{path}-cs/{name}"),
            b"",
            &CreateOptions::persistent(),
        )
        .await
        .expect("a gate");
}

/// The items of the `word` lines (`PUT id item`, `TAKEN id item us`) printed so far,
/// in the order printed; fails on an `ERROR` or `TIMEOUT`.
fn printed_items(peer: &mut Running, word: &str) -> Vec<String> {
    let lines = peer.printed();
    if let Some(bad) = lines
        .iter()
        .find(|l| l.starts_with("ERROR ") || l.starts_with("TIMEOUT "))
    {
        panic!("the peer failed ({bad}): {lines:#?}");
    }
    lines
        .iter()
        .filter(|l| l.split(' ').next() == Some(word))
        .map(|l| l.split(' ').nth(2).expect("an item").to_owned())
        .collect()
}

/// Waits until `peer` has printed `n` `word` lines, and returns their items.
async fn printed_n(peer: &mut Running, word: &str, n: usize) -> Vec<String> {
    let wait = async {
        loop {
            let found = printed_items(peer, word);
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    match tokio::time::timeout(LINE, wait).await {
        Ok(found) => found,
        Err(_) => panic!("no {n} {word} lines: {:#?}", peer.printed()),
    }
}

/// Waits for a peer to end, which must be clean, and shows its lines.
async fn finish(peer: Running, what: &str) -> Finished {
    let finished = peer.finish(LINE).await;
    finished.assert_clean();
    println!(
        "{what} ({}):",
        finished.version().unwrap_or("version unknown")
    );
    for line in &finished.lines {
        println!("  {line}");
    }
    finished
}

/// Every expected item exactly once among `taken`, which holds nothing else.
fn exactly_once(taken: &[String], expected: &[String]) {
    let mut counts: BTreeMap<&str, usize> = expected.iter().map(|i| (i.as_str(), 0)).collect();
    for item in taken {
        *counts
            .get_mut(item.as_str())
            .unwrap_or_else(|| panic!("{item} was never put: {taken:?}")) += 1;
    }
    let wrong: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(wrong.is_empty(), "items not taken exactly once: {wrong:?}");
}

/// Curator's `DistributedQueue` and ours, each way: Curator puts, ours takes; ours puts
/// (`put`, and `put_many` for the last two items), Curator consumes. With `lock`, both
/// consumers use lock safety on the queue's lock path.
async fn distributed_both_ways(lock: bool) {
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let client = connect(&zk).await;
    let (from, to) = ("/interop/dq-from-curator", "/interop/dq-to-curator");
    let locks = |path: &str| format!("{path}-locks");
    let options = |path: &str| -> Vec<String> {
        if lock {
            vec!["--lock-path".to_owned(), locks(path)]
        } else {
            Vec::new()
        }
    };
    let extra = |role: &str, path: &str| {
        let mut extra = vec![role.to_owned(), N.to_string()];
        extra.extend(options(path));
        extra
    };
    let ours = |path: &str| {
        let queue = DistributedQueue::new(&client, path);
        if lock {
            queue.lock_path(&locks(path))
        } else {
            queue
        }
    };
    let producer = Spawn {
        extra: extra("--put", from),
        ..spawn(Program::CuratorQueue, "curator-put", 1, &[])
    };
    let consumer = Spawn {
        extra: extra("--take", to),
        ..spawn(Program::CuratorQueue, "curator-take", 1, &[])
    };
    let (mut producer, mut consumer) = tokio::join!(
        start(&zk, &producer, from, Duration::ZERO),
        start(&zk, &consumer, to, Duration::ZERO)
    );

    // Ours puts before the Curator consumer starts: it finds them all.
    let queue = ours(to);
    let all = items(N);
    for item in &all[..N - 2] {
        queue.put(item.as_bytes()).await.unwrap();
    }
    queue.put_many(&all[N - 2..]).await.unwrap();
    gate(&admin, from, "go").await;
    gate(&admin, to, "go").await;

    // Curator -> ours.
    let put = printed_n(&mut producer, "PUT", N).await;
    assert_eq!(put, all, "Curator put in order");
    let names = children(&admin, from).await;
    assert_eq!(names.len(), N, "one node per put: {names:?}");
    assert!(names.iter().all(|n| n.starts_with("queue-")), "{names:?}");
    let (data, _) = admin
        .get_data(&format!("{from}/{}", names[0]))
        .await
        .unwrap();
    assert_eq!(
        &data[..],
        b"\x00\x01\x00\x01\x01\x00\x00\x00\x06item-0\x02",
        "Curator's framing of item-0"
    );
    let queue = ours(from);
    let mut taken = Vec::new();
    for _ in 0..N {
        let node = within(queue.take()).await.unwrap();
        assert_eq!(node.len(), 1, "one item a node: {node:?}");
        taken.push(String::from_utf8(node[0].to_vec()).unwrap());
    }
    assert_eq!(taken, all, "ours took Curator's items in order");
    assert_eq!(queue.len().await.unwrap(), 0);
    assert!(children(&admin, from).await.is_empty());
    if lock {
        until_empty(&admin, &locks(from)).await;
    }
    finish(producer, "Curator DistributedQueue producer").await;

    // Ours -> Curator.
    let taken = printed_n(&mut consumer, "TAKEN", N).await;
    assert_eq!(taken, all, "Curator consumed ours in order");
    let finished = finish(consumer, "Curator DistributedQueue consumer").await;
    assert_eq!(
        finished
            .lines
            .iter()
            .filter(|l| l.starts_with("TAKEN "))
            .count(),
        N,
        "nothing more"
    );
    assert!(children(&admin, to).await.is_empty());
    if lock {
        until_empty(&admin, &locks(to)).await;
    }
    client.close().await;
    admin.close().await;
}

#[tokio::test]
async fn interop_distributed_queue_with_curator() {
    distributed_both_ways(false).await;
}

#[tokio::test]
async fn interop_distributed_queue_with_curator_lock_path() {
    distributed_both_ways(true).await;
}

#[tokio::test]
async fn interop_simple_distributed_queue_with_curator() {
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let client = connect(&zk).await;
    let (from, to) = ("/interop/sdq-from-curator", "/interop/sdq-to-curator");
    let n = N.to_string();
    let producer = spawn(
        Program::CuratorQueue,
        "curator-put",
        1,
        &["--simple", "--put", &n],
    );
    let consumer = spawn(
        Program::CuratorQueue,
        "curator-take",
        1,
        &["--simple", "--take", &n],
    );
    let (mut producer, mut consumer) = tokio::join!(
        start(&zk, &producer, from, Duration::ZERO),
        start(&zk, &consumer, to, Duration::ZERO)
    );
    let all = items(N);
    let queue = SimpleDistributedQueue::new(&client, to);
    for item in &all {
        queue.offer(item.as_bytes()).await.unwrap();
    }
    gate(&admin, from, "go").await;
    gate(&admin, to, "go").await;

    // Curator -> ours: qn-{seq} nodes with the raw bytes.
    assert_eq!(printed_n(&mut producer, "PUT", N).await, all);
    let names = children(&admin, from).await;
    assert_eq!(names.len(), N, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("qn-")), "{names:?}");
    let (data, _) = admin
        .get_data(&format!("{from}/{}", names[0]))
        .await
        .unwrap();
    assert_eq!(&data[..], b"item-0");
    let queue = SimpleDistributedQueue::new(&client, from);
    let mut taken = Vec::new();
    for _ in 0..N {
        let item = queue.take_timeout(Duration::from_secs(30)).await.unwrap();
        taken.push(String::from_utf8(item.to_vec()).unwrap());
    }
    assert_eq!(taken, all, "ours took Curator's items in order");
    assert_eq!(queue.poll().await.unwrap(), None);
    assert!(children(&admin, from).await.is_empty());
    until_empty(&admin, &format!("{from}-claims")).await;
    finish(producer, "Curator SimpleDistributedQueue producer").await;

    // Ours -> Curator.
    assert_eq!(
        printed_n(&mut consumer, "TAKEN", N).await,
        all,
        "Curator took ours in order"
    );
    finish(consumer, "Curator SimpleDistributedQueue consumer").await;
    assert!(children(&admin, to).await.is_empty());
    client.close().await;
    admin.close().await;
}

/// kazoo's `Queue` or `LockingQueue` (`locking`) and ours, each way, with priorities:
/// kazoo puts five items at priority 200 and ours two at 7 after them, and ours takes
/// its two first; ours puts five at 300 and two `urgent-` ones at 2 after them, and
/// kazoo takes the urgent ones first.
async fn kazoo_both_ways(locking: bool) {
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let client = connect(&zk).await;
    let kind = if locking { "lq" } else { "kq" };
    let from = format!("/interop/{kind}-from-kazoo");
    let to = format!("/interop/{kind}-to-kazoo");
    let locking_flag: &[&str] = if locking { &["--locking"] } else { &[] };
    let mut put = vec!["--put", "5", "--priority", "200"];
    put.extend(locking_flag);
    let mut take = vec!["--take", "7"];
    take.extend(locking_flag);
    let producer = spawn(Program::KazooQueue, "kazoo-put", 1, &put);
    let consumer = spawn(Program::KazooQueue, "kazoo-take", 1, &take);
    let (mut producer, mut consumer) = tokio::join!(
        start(&zk, &producer, &from, Duration::ZERO),
        start(&zk, &consumer, &to, Duration::ZERO)
    );
    // kazoo's layout: items under <path>/entries for the LockingQueue.
    let entries = |path: &str| {
        if locking {
            format!("{path}/entries")
        } else {
            path.to_owned()
        }
    };

    // Ours puts for kazoo before it starts: five at 300, then two urgent ones.
    let ours_to = Ours::new(&client, &to, locking);
    for item in items(5) {
        ours_to.put(&item, 300).await;
    }
    for item in ["urgent-0", "urgent-1"] {
        ours_to.put(item, 2).await;
    }
    gate(&admin, &from, "go").await;
    gate(&admin, &to, "go").await;

    // kazoo -> ours.
    assert_eq!(printed_n(&mut producer, "PUT", 5).await, items(5));
    finish(producer, "kazoo producer").await;
    let names = children(&admin, &entries(&from)).await;
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(
        names.iter().all(|n| n.starts_with("entry-200-")),
        "{names:?}"
    );
    let ours_from = Ours::new(&client, &from, locking);
    ours_from.put("ours-0", 7).await;
    ours_from.put("ours-1", 7).await;
    let mut taken = Vec::new();
    while let Some(item) = ours_from.take().await {
        taken.push(item);
    }
    let mut expected = vec!["ours-0".to_owned(), "ours-1".to_owned()];
    expected.extend(items(5));
    assert_eq!(
        taken, expected,
        "priority 7 before kazoo's 200, each in order"
    );
    assert!(children(&admin, &entries(&from)).await.is_empty());
    if locking {
        until_empty(&admin, &format!("{from}/taken")).await;
    }

    // ours -> kazoo.
    let mut expected = vec!["urgent-0".to_owned(), "urgent-1".to_owned()];
    expected.extend(items(5));
    assert_eq!(
        printed_n(&mut consumer, "TAKEN", 7).await,
        expected,
        "kazoo took our priority 2 before our 300, each in order"
    );
    finish(consumer, "kazoo consumer").await;
    assert!(children(&admin, &entries(&to)).await.is_empty());
    if locking {
        assert!(children(&admin, &format!("{to}/taken")).await.is_empty());
    }
    client.close().await;
    admin.close().await;
}

/// Our `KazooQueue` or `LockingQueue`.
enum Ours {
    Queue(KazooQueue),
    Locking(LockingQueue),
}

impl Ours {
    fn new(client: &Client, path: &str, locking: bool) -> Self {
        if locking {
            Self::Locking(LockingQueue::new(client, path))
        } else {
            Self::Queue(KazooQueue::new(client, path))
        }
    }

    async fn put(&self, item: &str, priority: u16) {
        match self {
            Self::Queue(q) => q.put(item.as_bytes(), priority).await.unwrap(),
            Self::Locking(q) => q.put(item.as_bytes(), priority).await.unwrap(),
        }
    }

    /// The next item, or `None` when there is none (the locking queue: claimed, checked
    /// to be held, and acknowledged).
    async fn take(&self) -> Option<String> {
        let data = match self {
            Self::Queue(q) => q.get().await.unwrap()?,
            Self::Locking(q) => {
                let claimed = q.get(Duration::from_millis(200)).await.unwrap()?;
                assert!(claimed.holds().await.unwrap());
                let data = claimed.data().clone();
                claimed.ack().await.unwrap();
                data
            }
        };
        Some(String::from_utf8(data.to_vec()).unwrap())
    }
}

#[tokio::test]
async fn interop_kazoo_queue_with_kazoo() {
    kazoo_both_ways(false).await;
}

#[tokio::test]
async fn interop_locking_queue_with_kazoo() {
    kazoo_both_ways(true).await;
}

/// Items, consumers of ours and the hold of each item in the shared-queue cases.
const SHARED_ITEMS: usize = 30;
const OUR_CONSUMERS: usize = 2;
const HOLD: Duration = Duration::from_millis(10);

/// What our consumers of one queue took (once acknowledged), and when they stop.
#[derive(Clone, Default)]
struct Taken {
    items: Arc<std::sync::Mutex<Vec<String>>>,
    done: Arc<AtomicBool>,
}

impl Taken {
    fn items(&self) -> Vec<String> {
        self.items.lock().unwrap().clone()
    }

    fn push(&self, data: &[u8]) {
        let item = String::from_utf8(data.to_vec()).unwrap();
        self.items.lock().unwrap().push(item);
    }

    fn done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// Waits until ours and `peer`'s `TAKEN` lines account for every item, then stops
    /// ours and the peer (`PATH-cs/stop`) once `items` is empty.
    async fn until_all(&self, peer: &mut Running, admin: &Client, path: &str, items: &str) {
        within(async {
            while self.items().len() + printed_items(peer, "TAKEN").len() < SHARED_ITEMS {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        self.done.store(true, Ordering::SeqCst);
        until_empty(admin, items).await;
        gate(admin, path, "stop").await;
    }
}

/// One of ours on a kazoo `LockingQueue`: get, hold, ack.
async fn consume_locking(queue: LockingQueue, taken: Taken) {
    while !taken.done() {
        let Some(claimed) = queue.get(Duration::from_millis(100)).await.unwrap() else {
            continue;
        };
        assert!(claimed.holds().await.unwrap(), "{}", claimed.name());
        tokio::time::sleep(HOLD).await;
        let data = claimed.data().clone();
        claimed.ack().await.unwrap();
        taken.push(&data);
    }
}

/// One of ours on a Curator `DistributedQueue` with a lock path: claim, hold, ack.
async fn consume_distributed(queue: DistributedQueue, taken: Taken) {
    while !taken.done() {
        let claimed = match queue.claim_timeout(Some(Duration::from_millis(100))).await {
            Ok(claimed) => claimed,
            Err(zk_recipes::Error::Timeout(_)) => continue,
            Err(e) => panic!("our consumer: {e}"),
        };
        tokio::time::sleep(HOLD).await;
        let mut node = claimed.items().unwrap();
        assert_eq!(node.len(), 1, "one item a node: {node:?}");
        claimed.ack().await.unwrap();
        taken.push(&node.remove(0));
    }
}

/// Every item exactly once between ours and the peer's, each side some.
fn shared_exactly_once(ours: &[String], theirs: &[String]) {
    println!("ours took {}: {ours:?}", ours.len());
    println!("the peer took {}: {theirs:?}", theirs.len());
    let all: Vec<String> = ours.iter().chain(theirs).cloned().collect();
    exactly_once(&all, &items(SHARED_ITEMS));
    assert!(!ours.is_empty(), "ours took none");
    assert!(!theirs.is_empty(), "the peer took none");
}

#[tokio::test]
async fn interop_locking_queue_shared_with_kazoo_consumers() {
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/lq-shared";
    let producer = connect(&zk).await;
    let all = items(SHARED_ITEMS);
    // Two puts and the rest in one transaction (kazoo's put_all).
    let queue = LockingQueue::new(&producer, path);
    queue.put(all[0].as_bytes(), 100).await.unwrap();
    queue.put(all[1].as_bytes(), 100).await.unwrap();
    queue.put_all(&all[2..], 100).await.unwrap();
    let n = SHARED_ITEMS.to_string();
    let peer = spawn(
        Program::KazooQueue,
        "kazoo-take",
        2,
        &["--locking", "--take", &n],
    );
    let mut kazoo = start(&zk, &peer, path, HOLD).await;
    let taken = Taken::default();
    let mut clients = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..OUR_CONSUMERS {
        clients.push(connect(&zk).await);
    }
    // Ours start once the peer has consumed an item: both take some whatever the peer's
    // start-up time.
    gate(&admin, path, "go").await;
    printed_n(&mut kazoo, "TAKEN", 1).await;
    for client in &clients {
        let queue = LockingQueue::new(client, path);
        ours.push(tokio::spawn(consume_locking(queue, taken.clone())));
    }
    let entries = format!("{path}/entries");
    taken.until_all(&mut kazoo, &admin, path, &entries).await;
    for task in ours {
        within(task).await.expect("our consumer");
    }
    let theirs = printed_items(&mut kazoo, "TAKEN");
    finish(kazoo, "kazoo LockingQueue consumers").await;
    shared_exactly_once(&taken.items(), &theirs);
    assert!(children(&admin, &entries).await.is_empty());
    until_empty(&admin, &format!("{path}/taken")).await;
    for client in clients {
        client.close().await;
    }
    producer.close().await;
    admin.close().await;
}

#[tokio::test]
async fn interop_distributed_queue_lock_path_shared_with_curator_consumers() {
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/dq-shared";
    let locks = "/interop/dq-shared-locks";
    let producer = connect(&zk).await;
    let all = items(SHARED_ITEMS);
    let queue = DistributedQueue::new(&producer, path).lock_path(locks);
    for item in &all {
        queue.put(item.as_bytes()).await.unwrap();
    }
    let n = SHARED_ITEMS.to_string();
    let peer = spawn(
        Program::CuratorQueue,
        "curator-take",
        2,
        &["--take", &n, "--lock-path", locks],
    );
    let mut curator = start(&zk, &peer, path, HOLD).await;
    let taken = Taken::default();
    let mut clients = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..OUR_CONSUMERS {
        clients.push(connect(&zk).await);
    }
    // Ours start once the peer has consumed an item: both take some whatever the peer's
    // start-up time.
    gate(&admin, path, "go").await;
    printed_n(&mut curator, "TAKEN", 1).await;
    for client in &clients {
        let queue = DistributedQueue::new(client, path).lock_path(locks);
        ours.push(tokio::spawn(consume_distributed(queue, taken.clone())));
    }
    taken.until_all(&mut curator, &admin, path, path).await;
    for task in ours {
        within(task).await.expect("our consumer");
    }
    let theirs = printed_items(&mut curator, "TAKEN");
    finish(
        curator,
        "Curator DistributedQueue consumers with lock safety",
    )
    .await;
    shared_exactly_once(&taken.items(), &theirs);
    assert!(children(&admin, path).await.is_empty());
    until_empty(&admin, locks).await;
    for client in clients {
        client.close().await;
    }
    producer.close().await;
    admin.close().await;
}

/// How long a producer peer waits between its two puts in the reaping cases: well past
/// the container check interval (1 s) of the server with extended types.
const REAP_WAIT: Duration = Duration::from_millis(3000);

/// Our side of a reaping case.
enum Reaped {
    Locking(LockingQueue),
    Distributed(DistributedQueue),
}

impl Reaped {
    async fn put(&self, item: &[u8]) {
        match self {
            Self::Locking(q) => q.put(item, 100).await.unwrap(),
            Self::Distributed(q) => q.put(item).await.unwrap(),
        }
    }

    /// Claims the next item: its claim and its data.
    async fn claim(&self) -> (Claimed, String) {
        let wait = Duration::from_secs(10);
        let claimed = match self {
            Self::Locking(q) => q.get(wait).await.unwrap().expect("an item"),
            Self::Distributed(q) => q.claim_timeout(Some(wait)).await.unwrap(),
        };
        let data = match self {
            Self::Locking(_) => claimed.data().clone(),
            Self::Distributed(_) => claimed.items().unwrap().remove(0),
        };
        (claimed, String::from_utf8(data.to_vec()).unwrap())
    }

    /// Takes the next item (claim and ack).
    async fn take(&self) -> String {
        let (claimed, item) = self.claim().await;
        claimed.ack().await.unwrap();
        item
    }
}

/// Ours makes the queue's paths first (two puts, and a claim it holds), then a peer
/// producer puts twice with one queue object, `REAP_WAIT` apart; in between ours empties
/// the queue and its claims. The peer makes its paths once (kazoo's `ensure_path`,
/// Curator's `start()`), so ours must make them persistent, as the peers do: a container
/// would be reaped under the peer, whose next put would fail. `kept` are the paths that
/// must still exist.
async fn paths_outlive_an_empty_queue(
    name: &str,
    ours: impl FnOnce(&Client, &str) -> Reaped,
    peer: Spawn,
    kept: &[String],
) {
    let (client, connect_string) = crate::node::extended(name).await;
    let path = format!("/interop/{name}");
    let ours = ours(&client, &path);
    ours.put(b"seed-0").await;
    ours.put(b"seed-1").await;
    let (claimed, item) = ours.claim().await;
    assert_eq!(item, "seed-0");
    let mut producer = peers::start(&peer, &connect_string, &path, 1, REAP_WAIT, false).await;
    producer.ready(1).await;
    gate(&client, &path, "go").await;
    printed_n(&mut producer, "PUT", 1).await;
    claimed.ack().await.unwrap();
    assert_eq!(ours.take().await, "seed-1");
    assert_eq!(ours.take().await, "item-0");
    // The queue and the claims are empty until the peer's second put, well past the
    // reaper's interval.
    printed_n(&mut producer, "PUT", 2).await;
    finish(producer, &format!("{name} producer")).await;
    assert_eq!(ours.take().await, "item-1");
    for node in kept {
        assert!(
            client.exists(node).await.unwrap().is_some(),
            "{node} was reaped"
        );
    }
    client.close().await;
}

#[tokio::test]
async fn interop_locking_queue_paths_made_by_ours_outlive_an_empty_queue() {
    peers::kazoo().await;
    let path = "/interop/lq-reaped";
    paths_outlive_an_empty_queue(
        "lq-reaped",
        |client, path| Reaped::Locking(LockingQueue::new(client, path)),
        spawn(
            Program::KazooQueue,
            "kazoo-put",
            1,
            &["--locking", "--put", "2"],
        ),
        &[format!("{path}/entries"), format!("{path}/taken")],
    )
    .await;
}

#[tokio::test]
async fn interop_distributed_queue_paths_made_by_ours_outlive_an_empty_queue() {
    peers::curator().await;
    let (path, locks) = ("/interop/dq-reaped", "/interop/dq-reaped-locks");
    paths_outlive_an_empty_queue(
        "dq-reaped",
        |client, path| Reaped::Distributed(DistributedQueue::new(client, path).lock_path(locks)),
        spawn(
            Program::CuratorQueue,
            "curator-put",
            1,
            &["--put", "2", "--lock-path", locks],
        ),
        &[path.to_owned(), locks.to_owned()],
    )
    .await;
}
