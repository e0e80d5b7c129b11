//! Queues against a real server: order, waits, the three delivery modes, claims that
//! come back when their session ends, a lost reply to the removing transaction, a
//! connection cut while a consumer waits (CURATOR-623), kazoo's priorities and
//! LockingQueue (kazoo #366, #501), requeued items (CURATOR-56/224) and puts whose reply is
//! lost.

use std::time::Duration;

use bytes::Bytes;
use zk_client::{Client, CreateOptions};
use zk_recipes::Error;
use zk_recipes::queue::{DistributedQueue, KazooQueue, LockingQueue, SimpleDistributedQueue};

use crate::node::through;
use crate::support::{children, client, connect, until_empty, within};

fn ten_seconds() -> zk_client::ClientBuilder {
    Client::builder().session_timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn a_simple_queue_gives_items_in_order_and_peek_takes_nothing() {
    let (zk, _server) = client().await;
    let queue = SimpleDistributedQueue::new(&zk, "/q");
    assert_eq!(queue.poll().await.unwrap(), None);
    assert!(matches!(queue.element().await, Err(Error::Empty)));
    for item in [&b"one"[..], b"two", b"three"] {
        queue.offer(item).await.unwrap();
    }
    // Curator's layout: qn-{seq}, raw bytes.
    let names = children(&zk, "/q").await;
    assert_eq!(names.len(), 3);
    assert!(names.iter().all(|n| n.starts_with("qn-")), "{names:?}");
    assert_eq!(queue.peek().await.unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(&queue.element().await.unwrap()[..], b"one");
    assert_eq!(queue.len().await.unwrap(), 3);
    let mut taken = Vec::new();
    while let Some(item) = queue.poll().await.unwrap() {
        taken.push(item);
    }
    assert_eq!(taken, [&b"one"[..], b"two", b"three"]);
    assert!(queue.is_empty().await.unwrap());
    assert!(children(&zk, "/q-claims").await.is_empty());
}

#[tokio::test]
async fn a_take_waits_for_an_item_put_later_and_a_timeout_says_so() {
    let (zk, server) = client().await;
    let consumer = connect(&server).await;
    let queue = SimpleDistributedQueue::new(&consumer, "/later");
    let waiting = tokio::spawn({
        let queue = queue.clone();
        async move { queue.take().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    SimpleDistributedQueue::new(&zk, "/later")
        .offer(b"late")
        .await
        .unwrap();
    assert_eq!(&within(waiting).await.unwrap().unwrap()[..], b"late");
    let none = queue.take_timeout(Duration::from_millis(200)).await;
    assert!(matches!(none, Err(Error::Timeout(_))), "{none:?}");
}

#[tokio::test]
async fn curator_framing_one_node_per_put_and_several_items_per_put_many() {
    let (zk, _server) = client().await;
    let queue = DistributedQueue::new(&zk, "/orders");
    queue.put(b"hello").await.unwrap();
    queue.put_many(&[&b"a"[..], b"b"]).await.unwrap();
    let names = children(&zk, "/orders").await;
    assert!(names.iter().all(|n| n.starts_with("queue-")), "{names:?}");
    let (data, _) = zk.get_data(&format!("/orders/{}", names[0])).await.unwrap();
    assert_eq!(&data[..], b"\x00\x01\x00\x01\x01\x00\x00\x00\x05hello\x02");
    assert_eq!(queue.take().await.unwrap(), [Bytes::from_static(b"hello")]);
    let item = queue.claim().await.unwrap();
    assert_eq!(item.items().unwrap(), [&b"a"[..], b"b"]);
    item.ack().await.unwrap();
    assert_eq!(queue.len().await.unwrap(), 0);
    // A node not in the framing is taken and reported.
    zk.create(
        "/orders/queue-",
        b"raw",
        &CreateOptions::new(zk_client::CreateMode::PersistentSequential),
    )
    .await
    .unwrap();
    assert!(matches!(queue.take().await, Err(Error::Corrupt { .. })));
    assert_eq!(queue.len().await.unwrap(), 0);
}

#[tokio::test]
async fn a_claimed_item_is_nobody_elses_and_comes_back_when_its_session_ends() {
    let (zk, server) = client().await;
    let (a, b) = (connect(&server).await, connect(&server).await);
    SimpleDistributedQueue::new(&zk, "/work")
        .offer(b"job")
        .await
        .unwrap();
    let held = SimpleDistributedQueue::new(&a, "/work")
        .claim()
        .await
        .unwrap();
    assert_eq!(&held.data()[..], b"job");
    assert!(held.holds().await.unwrap());
    let other = SimpleDistributedQueue::new(&b, "/work");
    assert_eq!(other.poll().await.unwrap(), None, "claimed by a");
    // a dies before acknowledging: the item is claimable again, and b processes it.
    std::mem::forget(held);
    a.close().await;
    let again = within(other.claim()).await.unwrap();
    assert_eq!(&again.data()[..], b"job");
    again.ack().await.unwrap();
    assert!(children(&zk, "/work").await.is_empty());
    assert!(children(&zk, "/work-claims").await.is_empty());
}

#[tokio::test]
async fn a_released_or_dropped_claim_gives_the_item_back() {
    let (zk, _server) = client().await;
    let queue = SimpleDistributedQueue::new(&zk, "/back");
    queue.offer(b"x").await.unwrap();
    queue.claim().await.unwrap().release().await.unwrap();
    drop(within(queue.claim()).await.unwrap());
    // The claim is deleted in the background.
    within(async {
        while !children(&zk, "/back-claims").await.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(queue.poll().await.unwrap().as_deref(), Some(&b"x"[..]));
}

#[tokio::test]
async fn ack_with_commits_the_consumers_write_with_the_removal_or_neither() {
    let (zk, _server) = client().await;
    zk.create("/total", b"0", &CreateOptions::persistent())
        .await
        .unwrap();
    let queue = SimpleDistributedQueue::new(&zk, "/sum");
    queue.offer(b"5").await.unwrap();
    queue.offer(b"7").await.unwrap();
    let item = queue.claim().await.unwrap();
    item.ack_with(|ops| ops.set_data("/total", b"5", Some(0)))
        .await
        .unwrap();
    assert_eq!(&zk.get_data("/total").await.unwrap().0[..], b"5");
    // A write that fails (a stale version) removes nothing.
    let item = queue.claim().await.unwrap();
    let failed = item
        .ack_with(|ops| ops.set_data("/total", b"12", Some(0)))
        .await;
    assert!(
        matches!(failed, Err(Error::Zk(zk_client::Error::BadVersion(_)))),
        "{failed:?}"
    );
    assert_eq!(queue.len().await.unwrap(), 1);
    assert_eq!(&zk.get_data("/total").await.unwrap().0[..], b"5");
    let item = within(queue.claim()).await.unwrap();
    item.ack_with(|ops| ops.set_data("/total", b"12", Some(1)))
        .await
        .unwrap();
    assert!(queue.is_empty().await.unwrap());
}

/// RECIPES.md's item loss: the delete is applied, its reply lost. Curator's
/// SimpleDistributedQueue and kazoo's Queue then take the item for someone else's and
/// drop it. Here the claim tells: gone with the transaction, so the take succeeded.
#[tokio::test]
async fn a_lost_reply_to_the_removal_neither_loses_nor_repeats_the_item() {
    let (zk, server) = client().await;
    let (consumer, endpoint) = through(&server, "lost-take", ten_seconds()).await;
    let queue = SimpleDistributedQueue::new(&consumer, "/lossy");
    let producer = SimpleDistributedQueue::new(&zk, "/lossy");
    producer.offer(b"only once").await.unwrap();
    producer.offer(b"second").await.unwrap();
    let item = queue.claim().await.unwrap();
    let lost = endpoint.drop_reply(1);
    within(item.ack()).await.unwrap();
    drop(lost);
    assert_eq!(endpoint.stats().dropped_replies, 1, "the reply was lost");
    // Taken exactly once: the next item is the second one, and nothing is left claimed.
    assert_eq!(&within(queue.take()).await.unwrap()[..], b"second");
    assert!(children(&zk, "/lossy").await.is_empty());
    assert!(children(&zk, "/lossy-claims").await.is_empty());

    // At most once, through `take` (claim, then the removal whose reply is lost).
    producer.offer(b"third").await.unwrap();
    // The take's reads and claim are requests 1 to 3; its removal is the 4th.
    let lost = endpoint.drop_reply(4);
    assert_eq!(&within(queue.take()).await.unwrap()[..], b"third");
    drop(lost);
    assert_eq!(endpoint.stats().dropped_replies, 2);
    assert!(children(&zk, "/lossy").await.is_empty());
}

/// RECIPES.md's duplicated put: the create is applied and its reply lost; a producer that
/// retries blindly adds the item twice. Here the receipt made in the same transaction
/// tells: the put succeeds once. A put sent while the connection hangs is resolved the
/// same way after the reconnect. The receipts are deleted afterwards.
#[tokio::test]
async fn a_put_whose_reply_is_lost_is_added_once_and_its_receipt_deleted() {
    let (zk, server) = client().await;
    let session = Client::builder().session_timeout(Duration::from_secs(4));
    let (producer, endpoint) = through(&server, "lost-put", session).await;
    let queue = DistributedQueue::new(&producer, "/lost-put");
    queue.put(b"first").await.unwrap();

    let lost = endpoint.drop_reply(1);
    within(queue.put(b"once")).await.unwrap();
    drop(lost);
    assert_eq!(endpoint.stats().dropped_replies, 1, "the reply was lost");

    let mut states = producer.state_watcher();
    let hole = endpoint.blackhole();
    let hanging = tokio::spawn({
        let queue = queue.clone();
        async move { queue.put(b"through the hole").await }
    });
    within(states.wait_for(|s| !s.is_connected()))
        .await
        .unwrap();
    drop(hole);
    within(hanging).await.unwrap().unwrap();

    let consumer = DistributedQueue::new(&zk, "/lost-put");
    let mut taken = Vec::new();
    while let Ok(item) = consumer
        .claim_timeout(Some(Duration::from_millis(300)))
        .await
    {
        taken.extend(item.items().unwrap());
        item.ack().await.unwrap();
    }
    let expected: [&[u8]; 3] = [b"first", b"once", b"through the hole"];
    assert_eq!(taken, expected, "each put added its item once, in order");
    until_empty(&zk, "/lost-put-puts").await;

    // kazoo's put_all: several items and one receipt in one transaction.
    let kazoo = LockingQueue::new(&producer, "/lost-put-all");
    let lost = endpoint.drop_reply(1);
    within(kazoo.put_all(&[b"a", b"b"], 100)).await.unwrap();
    drop(lost);
    assert_eq!(endpoint.stats().dropped_replies, 2);
    assert_eq!(children(&zk, "/lost-put-all/entries").await.len(), 2);
    until_empty(&zk, "/lost-put-all/entries-puts").await;
}

/// CURATOR-623: a consumer waiting through a long cut must still see items put meanwhile.
#[tokio::test]
async fn curator_623_a_waiting_consumer_takes_what_was_put_while_it_was_cut_off() {
    let (zk, server) = client().await;
    let (consumer, endpoint) = through(&server, "cut-consumer", ten_seconds()).await;
    let queue = SimpleDistributedQueue::new(&consumer, "/cut");
    let waiting = tokio::spawn({
        let queue = queue.clone();
        async move { queue.take().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    SimpleDistributedQueue::new(&zk, "/cut")
        .offer(b"while cut")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(cut);
    assert_eq!(&within(waiting).await.unwrap().unwrap()[..], b"while cut");
}

#[tokio::test]
async fn kazoo_queue_priorities_come_first() {
    let (zk, _server) = client().await;
    let queue = KazooQueue::new(&zk, "/tasks");
    queue.put(b"low", 200).await.unwrap();
    queue.put(b"high", 1).await.unwrap();
    queue.put(b"normal", 100).await.unwrap();
    queue.put(b"normal 2", 100).await.unwrap();
    let names = children(&zk, "/tasks").await;
    assert!(
        names.iter().any(|n| n.starts_with("entry-001-")),
        "{names:?}"
    );
    let mut got = Vec::new();
    while let Some(item) = queue.get().await.unwrap() {
        got.push(item);
    }
    assert_eq!(got, [&b"high"[..], b"normal", b"normal 2", b"low"]);
    assert!(matches!(
        queue.put(b"x", 1000).await,
        Err(Error::InvalidArgument(_))
    ));
}

/// kazoo #366: two consumers race for one entry; `taken` ends empty.
#[tokio::test]
async fn locking_queue_consume_release_and_a_race_that_leaves_no_taken_node() {
    let (zk, server) = client().await;
    let queue = LockingQueue::new(&zk, "/lq");
    queue.put_all(&[&b"a"[..], b"b"], 100).await.unwrap();
    assert_eq!(children(&zk, "/lq/entries").await.len(), 2);
    let first = queue.get(Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(&first.data()[..], b"a");
    assert!(first.holds().await.unwrap());
    let taken = children(&zk, "/lq/taken").await;
    assert_eq!(taken, [first.name()]);
    first.release().await.unwrap();
    let again = queue.get(Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(&again.data()[..], b"a");
    again.ack().await.unwrap();

    let (c1, c2) = (connect(&server).await, connect(&server).await);
    let (q1, q2) = (LockingQueue::new(&c1, "/lq"), LockingQueue::new(&c2, "/lq"));
    let wait = Duration::from_millis(300);
    let (r1, r2) = tokio::join!(q1.get(wait), q2.get(wait));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert!(r1.is_some() != r2.is_some(), "exactly one gets the entry");
    for claimed in [r1, r2].into_iter().flatten() {
        assert_eq!(&claimed.data()[..], b"b");
        claimed.ack().await.unwrap();
    }
    assert!(children(&zk, "/lq/entries").await.is_empty());
    assert!(children(&zk, "/lq/taken").await.is_empty());
    assert_eq!(queue.len().await.unwrap(), 0);
}

#[tokio::test]
async fn a_batch_claims_the_first_items_at_once_and_each_is_settled_on_its_own() {
    let (zk, server) = client().await;
    let queue = DistributedQueue::new(&zk, "/batch");
    for i in 0..5 {
        queue.put(format!("item {i}").as_bytes()).await.unwrap();
    }
    let batch = queue.claim_batch(3, None).await.unwrap();
    let got: Vec<Vec<Bytes>> = batch.iter().map(|c| c.items().unwrap()).collect();
    assert_eq!(got, [[&b"item 0"[..]], [b"item 1"], [b"item 2"]]);
    // Another consumer's batch gets the rest, not ours.
    let other = DistributedQueue::new(&connect(&server).await, "/batch");
    let rest = other.claim_batch(10, None).await.unwrap();
    let rest: Vec<Vec<Bytes>> = rest.iter().map(|c| c.items().unwrap()).collect();
    assert_eq!(rest, [[&b"item 3"[..]], [b"item 4"]]);
    let mut batch = batch.into_iter();
    batch.next().unwrap().ack().await.unwrap();
    batch.next().unwrap().release().await.unwrap();
    drop(batch);
    assert_eq!(queue.len().await.unwrap(), 4);
    // The released and the dropped item are claimable again (the drop's delete goes out
    // on this session before the new claims).
    let again = queue.claim_batch(10, None).await.unwrap();
    let again: Vec<Vec<Bytes>> = again.iter().map(|c| c.items().unwrap()).collect();
    assert_eq!(again, [[&b"item 1"[..]], [b"item 2"]]);
    let timed_out = other.claim_batch(1, Some(Duration::from_millis(100))).await;
    assert!(matches!(timed_out, Err(Error::Timeout(_))), "{timed_out:?}");
}

/// Reads `depths` until it says `depth`.
async fn until_depth<S>(depths: &mut S, depth: usize)
where
    S: futures::Stream<Item = zk_recipes::Result<usize>> + Unpin,
{
    use futures::StreamExt as _;
    within(async { while depths.next().await.expect("depths go on").unwrap() != depth {} }).await;
}

#[tokio::test]
async fn a_bounded_queue_waits_for_room_and_its_depth_is_followed() {
    let (zk, _server) = client().await;
    let queue = SimpleDistributedQueue::new(&zk, "/bounded").max_items(2);
    let mut depths = Box::pin(queue.depths());
    until_depth(&mut depths, 0).await;
    queue.offer(b"1").await.unwrap();
    queue.offer(b"2").await.unwrap();
    until_depth(&mut depths, 2).await;
    let full = queue.offer_timeout(b"3", Duration::from_millis(200)).await;
    assert!(matches!(full, Err(Error::Timeout(_))), "{full:?}");
    let waiting = tokio::spawn({
        let queue = queue.clone();
        async move { queue.offer(b"3").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "a full queue makes the put wait");
    assert_eq!(queue.poll().await.unwrap().as_deref(), Some(&b"1"[..]));
    within(waiting).await.unwrap().unwrap();
    until_depth(&mut depths, 2).await;
    assert_eq!(queue.len().await.unwrap(), 2);
    assert_eq!(queue.peek().await.unwrap().as_deref(), Some(&b"2"[..]));
}

#[tokio::test]
async fn curator_priority_delay_and_id_queues() {
    use std::time::{Instant, SystemTime};
    use zk_recipes::queue::{DistributedDelayQueue, DistributedIdQueue, DistributedPriorityQueue};

    let (zk, _server) = client().await;
    let priorities = DistributedPriorityQueue::new(&zk, "/prio");
    for (item, priority) in [
        (&b"ten"[..], 10),
        (b"minus one", -1),
        (b"zero", 0),
        (b"ten again", 10),
    ] {
        priorities.put(item, priority).await.unwrap();
    }
    let names = children(&zk, "/prio").await;
    assert!(
        names.iter().any(|n| n.starts_with("queue-0FFFFFFFF")),
        "{names:?}"
    );
    let mut order = Vec::new();
    for _ in 0..4 {
        order.extend(priorities.take().await.unwrap());
    }
    assert_eq!(order, [&b"minus one"[..], b"zero", b"ten", b"ten again"]);

    let delays = DistributedDelayQueue::new(&zk, "/delay");
    let start = Instant::now();
    delays
        .put(b"later", SystemTime::now() + Duration::from_millis(800))
        .await
        .unwrap();
    delays.put(b"now", SystemTime::now()).await.unwrap();
    assert_eq!(delays.len().await.unwrap(), 1, "only one is due");
    assert_eq!(delays.take().await.unwrap(), [&b"now"[..]]);
    assert_eq!(within(delays.take()).await.unwrap(), [&b"later"[..]]);
    assert!(
        start.elapsed() >= Duration::from_millis(700),
        "{:?}",
        start.elapsed()
    );

    let ids = DistributedIdQueue::new(&zk, "/ids");
    ids.put(b"a1", "a").await.unwrap();
    ids.put(b"b1", "b/x").await.unwrap();
    ids.put(b"a2", "a").await.unwrap();
    let names = children(&zk, "/ids").await;
    assert!(
        names.iter().any(|n| n.starts_with("queue-|b_x|")),
        "{names:?}"
    );
    assert_eq!(ids.remove("a").await.unwrap(), 2);
    assert_eq!(ids.take().await.unwrap(), [&b"b1"[..]]);
    assert!(matches!(
        ids.put(b"x", "").await,
        Err(Error::InvalidArgument(_))
    ));
}

/// A consumer cut off for longer than its session timeout comes back on a new session and
/// delivers an item put after the heal within 10 s (RECIPES.md's CURATOR-623 scenario
/// with the session lost, not only the connection).
#[tokio::test]
async fn after_a_partition_longer_than_the_session_an_item_is_delivered_within_10_s() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    let (zk, server) = client().await;
    let endpoint = server.server().client_endpoint("long-cut").await.unwrap();
    let hosts = format!("{}{}", endpoint.connect_string(), server.chroot());
    let (tx, mut delivered) = tokio::sync::mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let sessions = zk_testkit::SessionRegistry::default();
    let used = Arc::new(std::sync::Mutex::new(Vec::new()));
    let consumer = tokio::spawn(crate::chaos_kit::session_after_session(
        hosts,
        sessions,
        stop.clone(),
        {
            let used = used.clone();
            move |client| {
                let tx = tx.clone();
                used.lock().unwrap().push(client.session_id());
                async move {
                    let queue = SimpleDistributedQueue::new(&client, "/long");
                    while let Ok(item) = queue.take().await {
                        let _ = tx.send(item);
                    }
                }
            }
        },
    ));
    let producer = SimpleDistributedQueue::new(&zk, "/long");
    producer.offer(b"before").await.unwrap();
    assert_eq!(&within(delivered.recv()).await.unwrap()[..], b"before");
    // Cut for one and a half session timeouts: the server expires the session.
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    tokio::time::sleep(crate::chaos_kit::SESSION * 3 / 2).await;
    drop(cut);
    let healed = std::time::Instant::now();
    producer.offer(b"after").await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(10), delivered.recv())
        .await
        .expect("delivered within 10 s of the heal")
        .unwrap();
    assert_eq!(&item[..], b"after");
    println!(
        "delivered {} ms after the heal",
        healed.elapsed().as_millis()
    );
    assert_eq!(
        used.lock().unwrap().len(),
        2,
        "the first session ended with the cut"
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    consumer.abort();
}

/// CURATOR-56 / CURATOR-224: Curator's requeue after a failed consumer re-created the item
/// under the wrong name, losing its id or priority. Here a consumer that fails gives the
/// claim back and the item never moves: it comes back under its own name, with its
/// priority and id, ahead of later items.
#[tokio::test]
async fn curator_56_224_an_item_given_back_keeps_its_priority_and_id() {
    use zk_recipes::queue::{DistributedIdQueue, DistributedPriorityQueue};

    let (zk, _server) = client().await;
    let priorities = DistributedPriorityQueue::new(&zk, "/requeue-prio");
    priorities.put(b"urgent", -5).await.unwrap();
    priorities.put(b"routine", 7).await.unwrap();
    let failed = priorities.claim().await.unwrap();
    let name = failed.name().to_owned();
    assert_eq!(failed.items().unwrap(), [&b"urgent"[..]]);
    failed.release().await.unwrap();
    let again = within(priorities.claim()).await.unwrap();
    assert_eq!(again.name(), name, "the same node, so the same priority");
    assert_eq!(again.items().unwrap(), [&b"urgent"[..]]);
    again.ack().await.unwrap();
    assert_eq!(priorities.take().await.unwrap(), [&b"routine"[..]]);

    let ids = DistributedIdQueue::new(&zk, "/requeue-ids");
    ids.put(b"job", "order-17").await.unwrap();
    let failed = ids.claim().await.unwrap();
    drop(failed);
    let again = within(ids.claim()).await.unwrap();
    assert!(again.name().contains("|order-17|"), "{}", again.name());
    again.release().await.unwrap();
    assert_eq!(
        ids.remove("order-17").await.unwrap(),
        1,
        "still removable by id"
    );
    assert!(children(&zk, "/requeue-ids").await.is_empty());
}

/// kazoo #501 / #523: several LockingQueue readers on many items; a stale snapshot leaked
/// taken nodes and left readers blocked while items waited. Every item is consumed once,
/// and `taken` ends empty.
#[tokio::test]
async fn kazoo_501_523_several_locking_queue_readers_consume_everything() {
    let (zk, server) = client().await;
    let items: Vec<String> = (0..200).map(|i| format!("item {i}")).collect();
    LockingQueue::new(&zk, "/lq-many")
        .put_all(&items, 100)
        .await
        .unwrap();
    let mut readers = Vec::new();
    for _ in 0..4 {
        let client = connect(&server).await;
        readers.push(tokio::spawn(async move {
            let queue = LockingQueue::new(&client, "/lq-many");
            let mut got = Vec::new();
            while let Some(item) = queue.get(Duration::from_millis(500)).await.unwrap() {
                got.push(String::from_utf8(item.data().to_vec()).unwrap());
                item.ack().await.unwrap();
            }
            client.close().await;
            got
        }));
    }
    let mut got = Vec::new();
    for reader in readers {
        got.extend(within(reader).await.unwrap());
    }
    got.sort();
    let mut expected = items;
    expected.sort();
    assert_eq!(got, expected, "each item consumed exactly once");
    assert!(children(&zk, "/lq-many/entries").await.is_empty());
    assert!(children(&zk, "/lq-many/taken").await.is_empty());
}

/// Puts made while one transaction is on its way go out together: 300 concurrent puts
/// from one producer take far fewer transactions, and each item is added once.
#[tokio::test]
async fn concurrent_puts_go_out_together_and_each_is_added_once() {
    let (zk, _server) = client().await;
    let queue = SimpleDistributedQueue::new(&zk, "/together");
    let puts = (0..300).map(|i| {
        let queue = queue.clone();
        async move { queue.offer(format!("{i:03}").as_bytes()).await }
    });
    for put in futures::future::join_all(puts).await {
        put.unwrap();
    }
    let names = children(&zk, "/together").await;
    let reads = names.iter().fold(zk.multi_read(), |m, name| {
        m.get_data(&format!("/together/{name}"))
    });
    let mut data = Vec::new();
    let mut transactions = std::collections::HashSet::new();
    for read in reads.commit().await.unwrap() {
        let zk_client::ReadResult::Data(bytes, stat) = read.unwrap() else {
            panic!("a getData answered with children");
        };
        data.push(String::from_utf8(bytes.to_vec()).unwrap());
        transactions.insert(stat.czxid);
    }
    data.sort();
    let expected: Vec<String> = (0..300).map(|i| format!("{i:03}")).collect();
    assert_eq!(data, expected);
    assert!(
        transactions.len() < 100,
        "{} transactions for 300 puts",
        transactions.len()
    );
    until_empty(&zk, "/together-puts").await;
}

/// A consumer waiting while every item is claimed takes the one another consumer gives
/// back: the give-back changes the claims, not the items, and the wait watches both.
#[tokio::test]
async fn a_waiting_consumer_takes_an_item_given_back_by_another() {
    let (zk, server) = client().await;
    let first = SimpleDistributedQueue::new(&zk, "/given-back");
    first.offer(b"only").await.unwrap();
    let held = first.claim().await.unwrap();
    let other = connect(&server).await;
    let waiting = tokio::spawn(async move {
        let queue = SimpleDistributedQueue::new(&other, "/given-back");
        let item = queue.claim().await.unwrap();
        (item.data().clone(), other)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the item is held");
    held.release().await.unwrap();
    let (data, _other) = within(waiting).await.unwrap();
    assert_eq!(&data[..], b"only");
}
