//! A named test for each shared value bug of Curator's history that applies to the
//! counters (RECIPES.md §4.6: CURATOR-311, CURATOR-329, CURATOR-688, the version ABA of
//! commit 127efd5e, the reaped container parent), written so it fails on the buggy
//! behaviour; and the counters under faults: a lost write reply, an outage that ends the
//! session, a closed client, retries used up, the promoted lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use zk_client::{Client, CreateOptions, SessionState};
use zk_recipes::Error;
use zk_recipes::counter::{
    AtomicLong, Counter, PromotedToLock, RetryPolicy, SharedCount, SharedValue,
};
use zk_recipes::lock::Mutex;

use crate::counter::{raw, until_count};
use crate::node::through;
use crate::support::{children, client, connect, until_children, within};

/// Waits until the session state of `client` satisfies `ok`.
async fn until_state(client: &Client, ok: impl Fn(SessionState) -> bool) {
    within(client.state_watcher().wait_for(ok)).await.unwrap();
}

/// CURATOR-329: a node that exists at version 0 when the count starts is read, not taken
/// for the seed (the seed once sat at version 0, so the read of version 0 was ignored).
#[tokio::test]
async fn curator_329_a_node_at_version_0_is_read_not_taken_for_the_seed() {
    let (zk, _server) = client().await;
    zk.create(
        "/count",
        &42_i32.to_be_bytes(),
        &CreateOptions::persistent(),
    )
    .await
    .unwrap();
    let count = SharedCount::new(&zk, "/count", 7);
    let started = count.start().await.unwrap();
    assert_eq!((started.value, started.version), (42, 0));
    assert_eq!(count.get(), 42);
    let mut changes = count.changes();
    assert_eq!(within(changes.next()).await.unwrap().value, 42);
    count.close();
}

/// CURATOR-688: values are ordered by mzxid, not version. A node deleted and made again
/// restarts at version 0 (as a version past 2^31 wraps negative); the value it holds is
/// the newer one and must be taken.
#[tokio::test]
async fn curator_688_a_node_made_again_at_a_lower_version_is_seen() {
    let (zk, server) = client().await;
    let count = SharedCount::new(&zk, "/count", 0);
    count.start().await.unwrap();
    for value in 1..=3 {
        count.set(value).await.unwrap();
    }
    assert_eq!(count.get_versioned().version, 3);
    let mut changes = count.changes();
    assert_eq!(within(changes.next()).await.unwrap().value, 3);
    let other = connect(&server).await;
    other.delete("/count", None).await.unwrap();
    other
        .create(
            "/count",
            &99_i32.to_be_bytes(),
            &CreateOptions::persistent(),
        )
        .await
        .unwrap();
    let seen = within(changes.next()).await.unwrap();
    assert_eq!((seen.value, seen.version), (99, 0));
    assert_eq!(count.get(), 99);
    // And from there, the version-checked write works on the new node.
    assert!(count.try_set(100, 0).await.unwrap());
    count.close();
}

/// CURATOR-311: a change made while the connection was down is read after the reconnect,
/// and shows in the stream; a reconnect with no change shows nothing.
#[tokio::test]
async fn curator_311_a_change_made_while_disconnected_is_read_after_the_reconnect() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (c, endpoint) = through(&zk, "c", build).await;
    let count = SharedCount::new(&c, "/count", 1);
    count.start().await.unwrap();
    let mut changes = count.changes();
    assert_eq!(within(changes.next()).await.unwrap().value, 1);

    for value in [5_i32, 6] {
        let session = c.session_id();
        let cut = endpoint.blackhole();
        endpoint.reset_all();
        until_state(&c, |s| s == SessionState::Disconnected).await;
        admin
            .set_data("/count", &value.to_be_bytes(), None)
            .await
            .unwrap();
        drop(cut);
        until_state(&c, SessionState::is_connected).await;
        assert_eq!(c.session_id(), session, "the same session");
        let seen = within(changes.next()).await.unwrap();
        assert_eq!(seen.value, value);
        assert_eq!(count.get(), value);
    }

    // No change while away: nothing new.
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    until_state(&c, |s| s == SessionState::Disconnected).await;
    drop(cut);
    until_state(&c, SessionState::is_connected).await;
    let quiet = tokio::time::timeout(Duration::from_millis(300), changes.next()).await;
    assert!(
        quiet.is_err(),
        "a reconnect alone is not a change: {quiet:?}"
    );
    // The watch still works.
    admin
        .set_data("/count", &7_i32.to_be_bytes(), None)
        .await
        .unwrap();
    assert_eq!(within(changes.next()).await.unwrap().value, 7);
    count.close();
}

/// Commit 127efd5e (split brain / ABA): a node deleted and made again while we were away,
/// and written until it is back at the version we had, is still a change.
#[tokio::test]
async fn split_brain_127efd5e_a_node_made_again_at_the_same_version_is_seen() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (c, endpoint) = through(&zk, "c", build).await;
    let value = SharedValue::new(&c, "/v", "a0");
    value.start().await.unwrap();
    value.set("a1").await.unwrap();
    let before = value.get_versioned();
    assert_eq!(before.version, 1);

    let cut = endpoint.blackhole();
    endpoint.reset_all();
    until_state(&c, |s| s == SessionState::Disconnected).await;
    admin.delete("/v", None).await.unwrap();
    admin
        .create("/v", b"b0", &CreateOptions::persistent())
        .await
        .unwrap();
    admin.set_data("/v", b"b1", None).await.unwrap();
    drop(cut);

    within(async {
        while value.get() != b"b1"[..] {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    let after = value.get_versioned();
    assert_eq!(after.version, before.version, "the same version");
    assert!(after.mzxid > before.mzxid);
    value.close();
}

/// RECIPES.md §4.6 #42: a container parent reaped once the counter node is gone (here
/// deleted with it). Every counter makes the whole path again on its next write; kazoo's
/// `Counter` caches `_ensured_path` and fails with NoNode instead.
#[tokio::test]
async fn container_parent_reaped_the_counters_make_the_path_again() {
    let (zk, _server) = client().await;
    let atomic = AtomicLong::new(&zk, "/c/atomic/n");
    let kazoo = Counter::new(&zk, "/c/kazoo/n");
    let value = SharedValue::new(&zk, "/c/value/n", "");
    for _ in 0..2 {
        assert_eq!(atomic.increment().await.unwrap().post_value, 1);
        assert_eq!(kazoo.add(1).await.unwrap().post_value, 1);
        value.set("x").await.unwrap();
        zk.delete_all("/c").await.unwrap();
        assert!(zk.exists("/c").await.unwrap().is_none());
    }
}

/// The reply to a counter's write is lost (the connection dropped while it was on its
/// way): the write was applied, and must not be made again. The call says the outcome is
/// unknown (a connection loss), and the count goes up once.
#[tokio::test]
async fn a_write_whose_reply_is_lost_is_not_counted_twice() {
    let (admin, zk) = client().await;
    let build = Client::builder().session_timeout(Duration::from_secs(10));
    let (c, endpoint) = through(&zk, "c", build).await;
    let atomic = AtomicLong::new(&c, "/atomic");
    let kazoo = Counter::new(&c, "/kazoo");
    atomic.force_set(0).await.unwrap();
    kazoo.value().await.unwrap();

    let slow = endpoint.latency(Duration::ZERO, Duration::from_millis(700));
    let increment = tokio::spawn(async move { atomic.increment().await });
    within(async {
        while raw(&admin, "/atomic").await != 1_i64.to_be_bytes() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    endpoint.reset_all();
    let lost = within(increment).await.unwrap();
    assert!(
        matches!(&lost, Err(Error::Zk(e)) if e.is_connection_loss()),
        "{lost:?}"
    );

    let add = tokio::spawn(async move { kazoo.add(1).await });
    within(async {
        while raw(&admin, "/kazoo").await != b"1" {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    endpoint.reset_all();
    let lost = within(add).await.unwrap();
    assert!(
        matches!(&lost, Err(Error::Zk(e)) if e.is_connection_loss()),
        "{lost:?}"
    );
    drop(slow);
    until_state(&c, SessionState::is_connected).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(raw(&admin, "/atomic").await, 1_i64.to_be_bytes());
    assert_eq!(raw(&admin, "/kazoo").await, b"1");
}

/// An outage that outlasts the session: every call ends with the session, none hangs, and
/// the stream of a shared count ends.
#[tokio::test]
async fn an_outage_that_ends_the_session_ends_every_call() {
    let (_admin, zk) = client().await;
    let build = Client::builder()
        .session_timeout(Duration::from_secs(8))
        .local_expiry_percent(25);
    let (c, endpoint) = through(&zk, "c", build).await;
    let count = SharedCount::new(&c, "/count", 0);
    count.start().await.unwrap();
    let mut changes = count.changes();
    assert_eq!(within(changes.next()).await.unwrap().value, 0);
    let atomic = AtomicLong::new(&c, "/atomic");
    let kazoo = Counter::new(&c, "/kazoo");

    let _cut = endpoint.blackhole();
    endpoint.reset_all();
    let started = Instant::now();
    let (a, k, r) =
        within(async { tokio::join!(atomic.increment(), kazoo.add(1), count.read()) }).await;
    assert!(matches!(a, Err(Error::SessionEnded(_))), "{a:?}");
    assert!(matches!(k, Err(Error::SessionEnded(_))), "{k:?}");
    assert!(matches!(r, Err(Error::SessionEnded(_))), "{r:?}");
    assert_eq!(within(changes.next()).await, None, "the stream ends");
    println!("calls ended {:?} into the outage", started.elapsed());
    let after = count.try_set(1, 0).await;
    assert!(matches!(after, Err(Error::SessionEnded(_))), "{after:?}");
}

#[tokio::test]
async fn every_call_on_a_closed_client_ends_at_once() {
    let (_zk, server) = client().await;
    let c = connect(&server).await;
    let count = SharedCount::new(&c, "/count", 0);
    count.start().await.unwrap();
    c.close().await;
    let fresh = SharedCount::new(&c, "/other", 0);
    let atomic = AtomicLong::new(&c, "/atomic");
    let kazoo = Counter::new(&c, "/kazoo");
    within(async {
        assert!(matches!(fresh.start().await, Err(Error::SessionEnded(_))));
        assert!(matches!(count.set(1).await, Err(Error::SessionEnded(_))));
        assert!(matches!(atomic.get().await, Err(Error::SessionEnded(_))));
        assert!(matches!(
            atomic.force_set(1).await,
            Err(Error::SessionEnded(_))
        ));
        assert!(matches!(kazoo.add(1).await, Err(Error::SessionEnded(_))));
    })
    .await;
    assert_eq!(
        within(count.changes().next()).await.map(|v| v.value),
        Some(0)
    );
}

/// Writes `path` blindly from `sessions` sessions, many writes in flight, until `stop`:
/// every read-then-write of someone else loses its race.
fn hammer(
    sessions: Vec<Client>,
    path: &'static str,
    data: &'static [u8],
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    sessions
        .into_iter()
        .map(|session| {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let writes: Vec<_> = (0..32)
                        .map(|_| session.set_data(path, data, None))
                        .collect();
                    for write in writes {
                        let _ = write.await;
                    }
                }
            })
        })
        .collect()
}

/// Retries used up: an unsucceeded outcome (or, for kazoo's counter, a retryable error)
/// that says how many tries were made, soon, never a hang.
#[tokio::test]
async fn retries_used_up_are_a_clear_result_not_a_hang() {
    let (zk, server) = client().await;
    let atomic = AtomicLong::new(&zk, "/atomic").retry_policy(RetryPolicy::new(2));
    let kazoo = Counter::new(&zk, "/kazoo").retry_policy(RetryPolicy::new(2));
    atomic.force_set(0).await.unwrap();
    kazoo.value().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut adversaries = Vec::new();
    for (path, data) in [("/atomic", &[0_u8; 8][..]), ("/kazoo", &b"0"[..])] {
        let sessions = vec![connect(&server).await, connect(&server).await];
        adversaries.extend(hammer(sessions, path, data, Arc::clone(&stop)));
    }

    let (mut exhausted, mut errors) = (None, None);
    let started = Instant::now();
    for _ in 0..200 {
        if exhausted.is_none() {
            let outcome = within(atomic.increment()).await.unwrap();
            if !outcome.succeeded {
                exhausted = Some(outcome);
            }
        }
        if errors.is_none() {
            match within(kazoo.add(1)).await {
                Ok(_) => {}
                Err(e) => errors = Some(e),
            }
        }
        if exhausted.is_some() && errors.is_some() {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    for adversary in adversaries {
        adversary.await.unwrap();
    }
    let outcome = exhausted.expect("an increment that lost every race");
    assert_eq!(outcome.stats.optimistic_tries, 2);
    assert_eq!(outcome.stats.promoted_tries, 0);
    assert_eq!(outcome.failed_tries(), 2);
    assert_eq!(outcome.post_value, outcome.pre_value, "nothing written");
    let error = errors.expect("a change that lost every race");
    assert!(matches!(error, Error::RetriesExhausted(2)), "{error:?}");
    assert!(error.is_retryable());
    println!("both gave up within {:?}", started.elapsed());
}

/// Curator's `PromotedToLock`: when the optimistic tries are used up, the update waits
/// for the mutex at the lock path (Curator's layout, so Curator's promoted writers take
/// turns with ours), tries again while holding it, and lets it go. A lock not had within
/// the timeout is an unsucceeded outcome.
#[tokio::test]
async fn promoted_to_lock_tries_again_under_the_mutex() {
    let (zk, server) = client().await;
    let holder = connect(&server).await;
    let held = Mutex::new(&holder, "/lock").acquire().await.unwrap();
    AtomicLong::new(&zk, "/n").force_set(0).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sessions = vec![connect(&server).await, connect(&server).await];
    let adversaries = hammer(sessions, "/n", &[0_u8; 8], Arc::clone(&stop));
    let promoted = PromotedToLock::new("/lock").retry_policy(RetryPolicy::new(20));
    let counter = AtomicLong::new(&zk, "/n").retry_policy(RetryPolicy::once());

    // The lock is held: the promotion times out.
    let timed = counter
        .clone()
        .promoted_to_lock(promoted.clone().timeout(Duration::from_millis(300)));
    let outcome = loop {
        let outcome = within(timed.increment()).await.unwrap();
        if outcome.stats.optimistic_tries == 1 && !outcome.succeeded {
            break outcome;
        }
    };
    assert_eq!(outcome.stats.promoted_tries, 0, "no try without the lock");
    assert!(outcome.stats.promoted_time >= Duration::from_millis(300));
    until_children(&zk, "/lock", |n| n == 1).await;

    // No timeout: it waits for the lock, then tries under it.
    let waiting = counter.promoted_to_lock(promoted);
    let task = loop {
        let waiting = waiting.clone();
        let task = tokio::spawn(async move { waiting.increment().await });
        let queued = within(async {
            loop {
                if children(&zk, "/lock").await.len() == 2 {
                    return true;
                }
                if task.is_finished() {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
        if queued {
            break task;
        }
    };
    let ours = children(&zk, "/lock").await;
    assert!(
        ours.iter()
            .all(|n| n.starts_with("_c_") && n.contains("-lock-")),
        "{ours:?}"
    );
    stop.store(true, Ordering::SeqCst);
    for adversary in adversaries {
        adversary.await.unwrap();
    }
    held.release().await.unwrap();
    let outcome = within(task).await.unwrap().unwrap();
    assert!(outcome.succeeded, "{outcome:?}");
    assert_eq!(outcome.stats.optimistic_tries, 1);
    assert!(outcome.stats.promoted_tries >= 1);
    assert_eq!(outcome.post_value, outcome.pre_value + 1);
    until_children(&zk, "/lock", |n| n == 0).await;
}

/// A shared count whose node is deleted keeps its last count, and takes the node's value
/// when it is made again.
#[tokio::test]
async fn a_deleted_node_keeps_the_last_count_until_it_is_made_again() {
    let (zk, server) = client().await;
    let count = SharedCount::new(&zk, "/count", 5);
    count.start().await.unwrap();
    let other = connect(&server).await;
    other.delete("/count", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count.get(), 5);
    let gone = count.try_set(6, 0).await;
    assert!(
        matches!(gone, Err(Error::Zk(zk_client::Error::NoNode(_)))),
        "{gone:?}"
    );
    SharedCount::new(&other, "/count", 9).start().await.unwrap();
    until_count(&count, 9).await;
    count.close();
}
