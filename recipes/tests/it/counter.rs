//! The counters and shared values on a real server: what each call does (after Curator's
//! `TestSharedCount` and `TestDistributedAtomicLong`, and kazoo's counter tests), the
//! byte formats on the node, and several sessions contending for one counter with an
//! exact final count. The named regressions and the outage tests are in
//! `counter_regressions.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, CreateOptions};
use zk_recipes::Error;
use zk_recipes::counter::{
    AtomicInteger, AtomicLong, Counter, CounterFormat, RetryPolicy, SharedCount, SharedValue,
    Versioned,
};

use crate::support::{client, connect, within};

/// The raw data of `path`.
pub(crate) async fn raw(client: &Client, path: &str) -> Vec<u8> {
    client.get_data(path).await.expect("the node").0.to_vec()
}

/// Waits until the latest count of `count` is `value`.
pub(crate) async fn until_count(count: &SharedCount, value: i32) {
    within(async {
        while count.get() != value {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
}

/// One increment of a shared count by its compare-and-set loop: the count written, and
/// the lost races.
pub(crate) async fn cas_increment(count: &SharedCount) -> (i32, u32) {
    let mut lost = 0;
    loop {
        let seen = count.get_versioned();
        if count.try_set(seen.value + 1, seen.version).await.unwrap() {
            return (seen.value + 1, lost);
        }
        lost += 1;
    }
}

#[tokio::test]
async fn shared_count_start_makes_the_node_with_the_seed_and_reads_what_is_there() {
    let (zk, server) = client().await;
    let count = SharedCount::new(&zk, "/a/b/count", 10);
    assert_eq!(count.get_versioned().version, -1, "nothing read yet");
    assert_eq!(count.get(), 10, "the seed before the start");
    let started = count.start().await.unwrap();
    assert_eq!((started.value, started.version), (10, 0));
    assert_eq!(raw(&zk, "/a/b/count").await, [0, 0, 0, 10]);

    // Another client with another seed reads the count that is there (Curator's
    // testMultiClientDifferentSeed).
    let other = connect(&server).await;
    let second = SharedCount::new(&other, "/a/b/count", 20);
    assert_eq!(second.start().await.unwrap().value, 10);
    assert_eq!(second.get(), 10);
    // A second start only reads again.
    assert_eq!(second.start().await.unwrap().value, 10);
    count.close();
    second.close();
}

#[tokio::test]
async fn shared_count_try_set_writes_only_over_the_version_it_was_given() {
    let (zk, server) = client().await;
    let count = SharedCount::new(&zk, "/count", 0);
    count.start().await.unwrap();
    let mut current = count.get_versioned();
    assert_eq!(current.version, 0);
    for (value, version) in [(1, 1), (5, 2), (10, 3)] {
        assert!(count.try_set(value, current.version).await.unwrap());
        current = count.get_versioned();
        assert_eq!((current.value, current.version), (value, version));
    }
    // A stale version loses, and the loser has the fresh count right after.
    assert!(!count.try_set(7, 2).await.unwrap());
    assert_eq!(count.get(), 10);
    let other = connect(&server).await;
    other
        .set_data("/count", &88_i32.to_be_bytes(), None)
        .await
        .unwrap();
    assert!(!count.try_set(234, current.version).await.unwrap());
    let fresh = count.get_versioned();
    assert_eq!((fresh.value, fresh.version), (88, 4));
    assert!(fresh.mzxid > current.mzxid);
    // Version -1 would match anything: refused.
    let refused = count.try_set(1, -1).await;
    assert!(
        matches!(refused, Err(Error::InvalidArgument(_))),
        "{refused:?}"
    );
    assert_eq!(raw(&zk, "/count").await, 88_i32.to_be_bytes());

    // Two clients, each from what it last saw (testMultiClientVersioned).
    let count2 = SharedCount::new(&other, "/count", 0);
    count2.start().await.unwrap();
    let (seen1, seen2) = (count.get_versioned(), count2.get_versioned());
    assert!(count2.try_set(30, seen2.version).await.unwrap());
    assert!(!count.try_set(40, seen1.version).await.unwrap());
    assert!(
        count
            .try_set(40, count.get_versioned().version)
            .await
            .unwrap()
    );
    until_count(&count2, 40).await;
    count.close();
    count2.close();
}

#[tokio::test]
async fn shared_value_holds_raw_bytes_and_set_makes_a_missing_node() {
    let (zk, _server) = client().await;
    let value = SharedValue::new(&zk, "/x/config", &b"seed"[..]);
    // Writes work before a start; set makes the node (and its parents).
    let written = value.set(&b"v1"[..]).await.unwrap();
    assert_eq!((&written.value[..], written.version), (&b"v1"[..], 0));
    assert_eq!(value.get(), &b"v1"[..]);
    // The start does not overwrite it with the seed.
    assert_eq!(&value.start().await.unwrap().value[..], b"v1");
    let written = value.set(Vec::from(&b"v2"[..])).await.unwrap();
    assert_eq!(written.version, 1);
    assert!(value.try_set("v3", 1).await.unwrap());
    assert_eq!(raw(&zk, "/x/config").await, b"v3");
    assert_eq!(&value.read().await.unwrap().value[..], b"v3");
    // Closed: no more writes.
    value.close();
    assert!(matches!(value.set("v4").await, Err(Error::Closed)));
    // A missing node is an error for try_set and read, not a silent false.
    let gone = SharedValue::new(&zk, "/x/missing", "");
    assert!(matches!(
        gone.try_set("a", 0).await,
        Err(Error::Zk(zk_client::Error::NoNode(_)))
    ));
    assert!(matches!(
        gone.read().await,
        Err(Error::Zk(zk_client::Error::NoNode(_)))
    ));
}

#[tokio::test]
async fn shared_count_changes_come_in_order_each_once() {
    let (zk, server) = client().await;
    let count = SharedCount::new(&zk, "/count", 0);
    count.start().await.unwrap();
    let mut changes = count.changes();
    let first = within(changes.next()).await.unwrap();
    assert_eq!(
        first.value, 0,
        "the stream starts with the count of the moment"
    );
    let writer = connect(&server).await;
    // One at a time: each change is seen.
    for value in 1..=10_i32 {
        writer
            .set_data("/count", &value.to_be_bytes(), None)
            .await
            .unwrap();
        let seen = within(changes.next()).await.unwrap();
        assert_eq!((seen.value, seen.version), (value, value));
        assert_eq!(changes.latest().value, value);
    }
    // A burst: the changes may come together, but in order and ending with the last.
    let writes: Vec<_> = (11..=60_i32)
        .map(|v| writer.set_data("/count", &v.to_be_bytes(), None))
        .collect();
    for write in writes {
        write.await.unwrap();
    }
    let mut burst: Vec<Versioned<i32>> = Vec::new();
    while burst.last().is_none_or(|v| v.value != 60) {
        burst.push(within(changes.next()).await.unwrap());
    }
    assert!(
        burst
            .windows(2)
            .all(|w| w[0].mzxid < w[1].mzxid && w[0].value < w[1].value),
        "out of order: {burst:?}"
    );
    // Our own writes come through the stream once, not again when the watch fires.
    count.set(100).await.unwrap();
    assert_eq!(within(changes.next()).await.unwrap().value, 100);
    writer
        .set_data("/count", &101_i32.to_be_bytes(), None)
        .await
        .unwrap();
    assert_eq!(within(changes.next()).await.unwrap().value, 101);
    // Closing ends the stream.
    count.close();
    assert_eq!(within(changes.next()).await, None);
}

#[tokio::test]
async fn shared_count_ignores_data_of_another_format() {
    let (zk, _server) = client().await;
    let count = SharedCount::new(&zk, "/count", 3);
    count.start().await.unwrap();
    let mut changes = count.changes();
    assert_eq!(within(changes.next()).await.unwrap().value, 3);
    zk.set_data("/count", &5_i64.to_be_bytes(), None)
        .await
        .unwrap();
    let read = count.read().await;
    assert!(matches!(read, Err(Error::Corrupt { .. })), "{read:?}");
    assert_eq!(count.get(), 3, "an 8-byte value is not taken for a count");
    zk.set_data("/count", &6_i32.to_be_bytes(), None)
        .await
        .unwrap();
    assert_eq!(within(changes.next()).await.unwrap().value, 6);
    // kazoo's default ASCII: two digits are refused; four digits are four bytes, read in
    // Curator's format as Curator reads them (the module docs say not to mix formats).
    zk.set_data("/count", b"42", None).await.unwrap();
    assert!(matches!(count.read().await, Err(Error::Corrupt { .. })));
    zk.set_data("/count", b"1234", None).await.unwrap();
    assert_eq!(count.read().await.unwrap().value, 825_373_492);
    count.close();
}

#[tokio::test]
async fn atomic_long_updates_report_the_values_before_and_after() {
    let (zk, _server) = client().await;
    let counter = AtomicLong::new(&zk, "/p/q/counter");
    let got = counter.get().await.unwrap();
    assert!(
        got.succeeded && got.pre_value == 0 && got.post_value == 0,
        "{got:?}"
    );
    let first = counter.increment().await.unwrap();
    assert!(first.succeeded);
    assert_eq!((first.pre_value, first.post_value), (0, 1));
    assert_eq!(
        (first.stats.optimistic_tries, first.stats.promoted_tries),
        (1, 0)
    );
    assert_eq!(first.failed_tries(), 0);
    assert_eq!(raw(&zk, "/p/q/counter").await, 1_i64.to_be_bytes());
    for (outcome, pre, post) in [
        (counter.add(10).await.unwrap(), 1, 11),
        (counter.decrement().await.unwrap(), 11, 10),
        (counter.subtract(4).await.unwrap(), 10, 6),
        (counter.try_set(1 << 40).await.unwrap(), 6, 1 << 40),
    ] {
        assert!(outcome.succeeded);
        assert_eq!((outcome.pre_value, outcome.post_value), (pre, post));
    }
    assert_eq!(raw(&zk, "/p/q/counter").await, (1_i64 << 40).to_be_bytes());
    counter.force_set(i64::MAX).await.unwrap();
    let wrapped = counter.increment().await.unwrap();
    assert_eq!(
        (wrapped.pre_value, wrapped.post_value),
        (i64::MAX, i64::MIN)
    );
    assert_eq!(counter.get().await.unwrap().post_value, i64::MIN);
}

#[tokio::test]
async fn atomic_compare_and_set_needs_the_node_and_the_expected_value() {
    let (zk, _server) = client().await;
    let counter = AtomicLong::new(&zk, "/counter");
    // testCompareAndSetWithFreshInstance: nothing to compare with yet.
    let fresh = counter.compare_and_set(0, 1).await.unwrap();
    assert!(!fresh.succeeded);
    assert!(zk.exists("/counter").await.unwrap().is_none());
    let made = counter.try_initialize(0).await.unwrap();
    assert!(made.succeeded && made.post_value == 0);
    let swapped = counter.compare_and_set(0, 1).await.unwrap();
    assert!(swapped.succeeded && swapped.pre_value == 0 && swapped.post_value == 1);
    let again = counter.try_initialize(0).await.unwrap();
    assert!(
        !again.succeeded && again.pre_value == 1 && again.post_value == 1,
        "{again:?}"
    );
    let stale = counter.compare_and_set(0, 5).await.unwrap();
    assert!(!stale.succeeded && stale.pre_value == 1 && stale.post_value == 1);
    counter.force_set(1).await.unwrap();
    assert!(counter.compare_and_set(1, 5).await.unwrap().succeeded);
    assert!(!counter.compare_and_set(1, 5).await.unwrap().succeeded);
    // force_set makes a missing node.
    let other = AtomicLong::new(&zk, "/elsewhere/counter");
    other.force_set(-3).await.unwrap();
    assert_eq!(raw(&zk, "/elsewhere/counter").await, (-3_i64).to_be_bytes());
}

#[tokio::test]
async fn atomic_corrupt_data_is_an_error_and_empty_data_is_zero() {
    let (zk, _server) = client().await;
    // testCorruptedValue.
    zk.create("/counter", b"foo", &CreateOptions::persistent())
        .await
        .unwrap();
    let counter = AtomicLong::new(&zk, "/counter");
    let got = counter.get().await;
    assert!(
        matches!(&got, Err(Error::Corrupt { path, .. }) if path == "/counter"),
        "{got:?}"
    );
    assert!(!got.unwrap_err().is_retryable());
    assert!(matches!(
        counter.increment().await,
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(raw(&zk, "/counter").await, b"foo");
    // An integer of the other width is not read as one.
    let integer = AtomicInteger::new(&zk, "/long");
    AtomicLong::new(&zk, "/long").force_set(7).await.unwrap();
    assert!(matches!(integer.get().await, Err(Error::Corrupt { .. })));
    // A node made with no data (kazoo's ensure_path) counts from 0.
    zk.create("/empty", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let from_empty = AtomicInteger::new(&zk, "/empty").increment().await.unwrap();
    assert_eq!((from_empty.pre_value, from_empty.post_value), (0, 1));
}

#[tokio::test]
async fn atomic_integer_and_kazoo_counter_share_a_node_with_shared_count() {
    let (zk, server) = client().await;
    let count = SharedCount::new(&zk, "/visits", 0);
    count.start().await.unwrap();
    let other = connect(&server).await;
    let atomic = AtomicInteger::new(&other, "/visits");
    let kazoo = Counter::new(&other, "/visits").support_curator(true);
    assert_eq!(kazoo.format(), CounterFormat::Curator);
    assert_eq!(atomic.add(5).await.unwrap().post_value, 5);
    until_count(&count, 5).await;
    let change = kazoo.add(2).await.unwrap();
    assert_eq!(
        (change.pre_value, change.post_value, change.tries),
        (5, 7, 1)
    );
    until_count(&count, 7).await;
    count.set(41).await.unwrap();
    assert_eq!(kazoo.add(1).await.unwrap().post_value, 42);
    assert_eq!(raw(&zk, "/visits").await, [0, 0, 0, 0x2a]);
    assert_eq!(atomic.get().await.unwrap().post_value, 42);
    // The Curator format holds an i32: a sum past it is refused, and nothing is written.
    count.set(i32::MAX).await.unwrap();
    let over = kazoo.add(1).await;
    assert!(matches!(over, Err(Error::InvalidArgument(_))), "{over:?}");
    assert_eq!(kazoo.value().await.unwrap(), i64::from(i32::MAX));
    count.close();
}

#[tokio::test]
async fn kazoo_counter_writes_ascii_as_kazoo_does() {
    let (zk, _server) = client().await;
    let counter = Counter::new(&zk, "/k/int");
    assert_eq!(counter.value().await.unwrap(), 0);
    assert_eq!(
        raw(&zk, "/k/int").await,
        b"",
        "made empty, as ensure_path does"
    );
    let added = counter.add(2).await.unwrap();
    assert_eq!((added.pre_value, added.post_value), (0, 2));
    let subtracted = counter.sub(5).await.unwrap();
    assert_eq!((subtracted.pre_value, subtracted.post_value), (2, -3));
    assert_eq!(raw(&zk, "/k/int").await, b"-3");
    assert_eq!(counter.value().await.unwrap(), -3);
    // An empty node stands for the default.
    zk.create("/k/dflt", b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let with_default = Counter::new(&zk, "/k/dflt").default_value(100);
    assert_eq!(with_default.add(1).await.unwrap().post_value, 101);
    assert_eq!(raw(&zk, "/k/dflt").await, b"101");
    // A float counter's value is not an integer.
    zk.create("/k/float", b"1.5", &CreateOptions::persistent())
        .await
        .unwrap();
    let float = Counter::new(&zk, "/k/float").add(1).await;
    assert!(matches!(float, Err(Error::Corrupt { .. })), "{float:?}");
    let overflow = Counter::new(&zk, "/k/int").add(i64::MIN).await;
    assert!(
        matches!(overflow, Err(Error::InvalidArgument(_))),
        "{overflow:?}"
    );
}

/// Sessions contending on one counter.
const SESSIONS: usize = 4;
/// Increments per session.
const EACH: usize = 50;

/// A retry policy that does not give up under the contention of these tests.
fn patient() -> RetryPolicy {
    RetryPolicy::new(1000)
}

/// Every post value once, from 1 to the total: no increment was lost or counted twice.
fn assert_every_slot_once(posts: &[i64], total: usize) {
    let distinct: BTreeSet<i64> = posts.iter().copied().collect();
    assert_eq!(posts.len(), total, "one outcome per increment");
    assert_eq!(distinct.len(), total, "two increments wrote the same value");
    assert_eq!(distinct.first(), Some(&1));
    assert_eq!(distinct.last(), Some(&(total as i64)));
}

#[tokio::test]
async fn contention_shared_count_ends_exact() {
    let (zk, server) = client().await;
    let mut tasks = Vec::new();
    for _ in 0..SESSIONS {
        let session = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            let count = SharedCount::new(&session, "/count", 0);
            count.start().await.unwrap();
            let mut lost = 0;
            for _ in 0..EACH {
                lost += cas_increment(&count).await.1;
            }
            count.close();
            lost
        }));
    }
    let mut lost = 0;
    for task in tasks {
        lost += within(task).await.unwrap();
    }
    let total = SESSIONS * EACH;
    assert_eq!(raw(&zk, "/count").await, (total as i32).to_be_bytes());
    println!("shared count: {total} increments, {lost} lost races");
}

#[tokio::test]
async fn contention_atomic_long_ends_exact_with_every_value_once() {
    let (zk, server) = client().await;
    let mut tasks = Vec::new();
    for _ in 0..SESSIONS {
        let session = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            let counter = AtomicLong::new(&session, "/counter").retry_policy(patient());
            let mut posts = Vec::new();
            for _ in 0..EACH {
                let outcome = counter.increment().await.unwrap();
                assert!(outcome.succeeded, "{outcome:?}");
                assert_eq!(outcome.post_value, outcome.pre_value + 1);
                posts.push(outcome.post_value);
            }
            posts
        }));
    }
    let mut posts = Vec::new();
    for task in tasks {
        posts.extend(within(task).await.unwrap());
    }
    assert_every_slot_once(&posts, SESSIONS * EACH);
    let total = (SESSIONS * EACH) as i64;
    assert_eq!(raw(&zk, "/counter").await, total.to_be_bytes());
}

#[tokio::test]
async fn contention_kazoo_counter_ends_exact_with_every_value_once() {
    let (zk, server) = client().await;
    let mut tasks = Vec::new();
    for k in 0..SESSIONS {
        let session = connect(&server).await;
        // Half ASCII-format writers would corrupt the others: all share one format.
        let counter = Counter::new(&session, "/kazoo").retry_policy(patient());
        tasks.push(tokio::spawn(async move {
            let mut posts = Vec::new();
            for _ in 0..EACH {
                let change = if k % 2 == 0 {
                    counter.add(1).await.unwrap()
                } else {
                    counter.sub(-1).await.unwrap()
                };
                assert_eq!(change.post_value, change.pre_value + 1);
                posts.push(change.post_value);
            }
            posts
        }));
    }
    let mut posts = Vec::new();
    for task in tasks {
        posts.extend(within(task).await.unwrap());
    }
    assert_every_slot_once(&posts, SESSIONS * EACH);
    assert_eq!(
        raw(&zk, "/kazoo").await,
        (SESSIONS * EACH).to_string().as_bytes()
    );
}
