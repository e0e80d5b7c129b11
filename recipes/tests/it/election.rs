//! LeaderLatch, LeaderSelector, observe, proclaim, fencing and global names against a real
//! server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use zk_client::Client;
use zk_recipes::Error;
use zk_recipes::election::{Leader, LeaderLatch, LeaderSelector, NameRegistry, observe};
use zk_recipes::lock::LostReason;

use crate::support::{children, client, connect, until_empty, within};

/// A started latch with `id` as its data.
fn latch(client: &Client, path: &str, id: &str) -> LeaderLatch {
    let latch = LeaderLatch::new(client, path).data(id.to_owned());
    latch.start().expect("start");
    latch
}

/// Waits until `latch` has its node, so a latch started after it sorts after it.
async fn joined(latch: &LeaderLatch) {
    within(async {
        while latch.node().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// The next leader an observer reports, skipping repeats of the same node.
async fn next_leader(leaders: &mut zk_recipes::election::LeaderObserver) -> Option<Leader> {
    within(leaders.next()).await.expect("the observer lives")
}

#[tokio::test]
async fn latches_lead_one_at_a_time_in_sequence_order() {
    let (zk, server) = client().await;
    let mut latches = Vec::new();
    for id in ["a", "b", "c"] {
        let c = connect(&server).await;
        let l = latch(&c, "/e", id);
        // Joined in this order: wait for each node before the next joins.
        joined(&l).await;
        latches.push((c, l));
    }
    for turn in 0..3 {
        let term = within(latches[turn].1.await_leadership()).await.unwrap();
        let leaders: Vec<bool> = latches.iter().map(|(_, l)| l.has_leadership()).collect();
        assert_eq!(leaders.iter().filter(|x| **x).count(), 1, "{leaders:?}");
        let leader = latches[turn].1.leader().await.unwrap().unwrap();
        assert_eq!(&leader.data[..], ["a", "b", "c"][turn].as_bytes());
        assert_eq!(leader.node, term.node());
        latches[turn].1.close().await.unwrap();
        assert_eq!(within(term.lost()).await, LostReason::Closed);
        assert!(!latches[turn].1.has_leadership());
    }
    until_empty(&zk, "/e").await;
}

#[tokio::test]
async fn a_latch_must_be_started_and_cannot_restart_after_close() {
    let (zk, _server) = client().await;
    let l = LeaderLatch::new(&zk, "/e");
    assert!(matches!(
        l.await_leadership().await,
        Err(Error::InvalidArgument(_))
    ));
    l.start().unwrap();
    assert!(matches!(l.start(), Err(Error::InvalidArgument(_))));
    within(l.await_leadership()).await.unwrap();
    l.close().await.unwrap();
    l.close().await.unwrap();
    assert!(matches!(l.start(), Err(Error::Closed)));
    assert!(matches!(l.await_leadership().await, Err(Error::Closed)));
    assert!(children(&zk, "/e").await.is_empty());
}

#[tokio::test]
async fn a_dropped_latch_leaves_the_election_in_the_background() {
    let (zk, server) = client().await;
    let other = connect(&server).await;
    let first = latch(&zk, "/e", "first");
    within(first.await_leadership()).await.unwrap();
    let second = latch(&other, "/e", "second");
    drop(first);
    within(second.await_leadership()).await.unwrap();
    assert_eq!(children(&zk, "/e").await.len(), 1);
    second.close().await.unwrap();
}

#[tokio::test]
async fn terms_have_increasing_tokens_and_a_deposed_leaders_fenced_write_fails() {
    let (zk, server) = client().await;
    zk.create("/owner", b"", &zk_client::CreateOptions::persistent())
        .await
        .unwrap();
    let other = connect(&server).await;
    let a = latch(&zk, "/e", "a");
    let first = within(a.await_leadership()).await.unwrap();
    assert_eq!(a.fencing_token(), Some(first.fencing_token()));
    first
        .fenced()
        .set_data("/owner", b"a", None)
        .commit()
        .await
        .unwrap();
    let b = latch(&other, "/e", "b");
    // An administrator deletes the leader's node: a's term ends, b leads.
    other.delete(first.node(), None).await.unwrap();
    assert_eq!(within(first.lost()).await, LostReason::NodeDeleted);
    let second = within(b.await_leadership()).await.unwrap();
    assert!(second.fencing_token() > first.fencing_token());
    // a's stale term cannot write any more.
    let stale = first
        .fenced()
        .set_data("/owner", b"stale", None)
        .commit()
        .await;
    assert!(stale.is_err(), "{stale:?}");
    assert_eq!(&other.get_data("/owner").await.unwrap().0[..], b"a");
    // a is back in the election, behind b.
    joined(&a).await;
    assert!(!a.has_leadership());
    assert!(matches!(a.fenced(), Err(Error::NotLeader)));
    assert!(matches!(a.proclaim("x").await, Err(Error::NotLeader)));
    b.close().await.unwrap();
    let third = within(a.await_leadership()).await.unwrap();
    assert!(third.fencing_token() > second.fencing_token());
    a.close().await.unwrap();
}

#[tokio::test]
async fn observe_reports_every_leader_in_order_and_proclaimed_data() {
    let (zk, server) = client().await;
    let onlooker = connect(&server).await;
    let mut leaders = observe(&onlooker, "/e");
    assert_eq!(next_leader(&mut leaders).await, None);
    let mut latches = Vec::new();
    for id in ["a", "b", "c"] {
        let c = connect(&server).await;
        latches.push((latch(&c, "/e", id), c));
        // Each joins before the next, so the order of leaders is a, b, c.
        let expected = latches.len();
        within(async {
            while children(&zk, "/e").await.len() < expected {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }
    let a = next_leader(&mut leaders).await.unwrap();
    assert_eq!(&a.data[..], b"a");
    let term = within(latches[0].0.await_leadership()).await.unwrap();
    assert_eq!(a.fencing_token, term.fencing_token());
    latches[0].0.proclaim("a, draining").await.unwrap();
    let proclaimed = next_leader(&mut leaders).await.unwrap();
    assert_eq!(&proclaimed.data[..], b"a, draining");
    assert_eq!(proclaimed.fencing_token, a.fencing_token);
    assert_eq!(leaders.latest(), Some(Some(proclaimed.clone())));
    // Close all three at once: the observer still reports b and c, in order.
    for (l, _) in &latches {
        l.close().await.unwrap();
    }
    let b = next_leader(&mut leaders).await.unwrap();
    let c = next_leader(&mut leaders).await.unwrap();
    assert_eq!((&b.data[..], &c.data[..]), (&b"b"[..], &b"c"[..]));
    assert!(b.fencing_token > a.fencing_token && c.fencing_token > b.fencing_token);
    assert_eq!(next_leader(&mut leaders).await, None);
}

#[tokio::test]
async fn observe_reads_again_after_a_reconnect() {
    let (zk, server) = client().await;
    let endpoint = server.server().client_endpoint("onlooker").await.unwrap();
    let onlooker = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&format!("{}{}", endpoint.connect_string(), server.chroot()))
        .await
        .unwrap();
    let mut leaders = observe(&onlooker, "/e");
    assert_eq!(next_leader(&mut leaders).await, None);
    let other = connect(&server).await;
    let a = latch(&zk, "/e", "a");
    joined(&a).await;
    let b = latch(&other, "/e", "b");
    assert_eq!(&next_leader(&mut leaders).await.unwrap().data[..], b"a");
    // While the onlooker is cut off, a leaves and b leads: no event reaches it.
    let cut = endpoint.blackhole();
    endpoint.reset_all();
    a.close().await.unwrap();
    within(b.await_leadership()).await.unwrap();
    drop(cut);
    let seen = next_leader(&mut leaders).await.unwrap();
    assert_eq!(&seen.data[..], b"b", "read again after the reconnect");
    b.close().await.unwrap();
    assert_eq!(next_leader(&mut leaders).await, None);
}

#[tokio::test]
async fn several_latches_share_one_session() {
    let (zk, _server) = client().await;
    let latches: Vec<LeaderLatch> = (0..3).map(|i| latch(&zk, "/e", &format!("{i}"))).collect();
    for turn in 0..3 {
        within(latches[turn].await_leadership()).await.unwrap();
        let leading = latches.iter().filter(|l| l.has_leadership()).count();
        assert_eq!(leading, 1);
        latches[turn].close().await.unwrap();
    }
    // And two independent elections on one client.
    let x = latch(&zk, "/x", "x");
    let y = latch(&zk, "/y", "y");
    within(x.await_leadership()).await.unwrap();
    within(y.await_leadership()).await.unwrap();
    x.close().await.unwrap();
    y.close().await.unwrap();
}

#[tokio::test]
async fn a_selector_runs_the_work_while_leading_and_requeues() {
    let (zk, server) = client().await;
    let running = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicUsize::new(0));
    let mut selectors = Vec::new();
    for id in 0..3 {
        let c = connect(&server).await;
        let s = LeaderSelector::new(&c, "/s")
            .data(format!("{id}"))
            .auto_requeue(true);
        let (running, overlaps, runs) = (running.clone(), overlaps.clone(), runs.clone());
        s.start(move |term| {
            let (running, overlaps, runs) = (running.clone(), overlaps.clone(), runs.clone());
            async move {
                assert!(term.is_current());
                if running.fetch_add(1, Ordering::SeqCst) != 0 {
                    overlaps.store(true, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                runs.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
        selectors.push((s, c));
    }
    within(async {
        while runs.load(Ordering::SeqCst) < 12 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(!overlaps.load(Ordering::SeqCst), "two leaders ran at once");
    // Every selector led: requeued after each term.
    for (s, _) in &selectors {
        assert!(s.terms() >= 1, "a selector never led");
    }
    for (s, _) in &selectors {
        s.close().await;
    }
    until_empty(&zk, "/s").await;
}

#[tokio::test]
async fn a_selector_without_requeue_leads_once() {
    let (zk, _server) = client().await;
    let s = LeaderSelector::new(&zk, "/s");
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    s.start(move |_term| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    within(async {
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    until_empty(&zk, "/s").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(s.terms(), 1);
    s.close().await;
}

/// CURATOR-518 / CURATOR-671 / CURATOR-337: interrupting the leader again and again, with
/// auto-requeue on, keeps the selector in the election and never leaves it two nodes.
#[tokio::test]
async fn curator_518_interrupts_with_requeue_keep_participating_with_one_node() {
    let (zk, _server) = client().await;
    let s = LeaderSelector::new(&zk, "/s").auto_requeue(true);
    let cancelled = Arc::new(AtomicUsize::new(0));
    let counted = cancelled.clone();
    s.start(move |_term| {
        let counted = counted.clone();
        async move {
            // Counts a cancellation when the future is dropped mid-work.
            struct OnDrop(Arc<AtomicUsize>);
            impl Drop for OnDrop {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _guard = OnDrop(counted);
            std::future::pending::<()>().await;
        }
    })
    .unwrap();
    for round in 1..=5 {
        within(async {
            while s.terms() < round {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(children(&zk, "/s").await.len() <= 1);
        s.interrupt_leadership();
    }
    within(async {
        while s.terms() < 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(
        cancelled.load(Ordering::SeqCst),
        5,
        "each interrupt cancelled the work"
    );
    assert_eq!(children(&zk, "/s").await.len(), 1);
    s.close().await;
    until_empty(&zk, "/s").await;
}

#[tokio::test]
async fn a_global_name_has_one_runner_at_a_time_and_passes_in_order() {
    let (zk, server) = client().await;
    let running = Arc::new(AtomicUsize::new(0));
    let mut candidates = Vec::new();
    for id in ["a", "b", "c"] {
        let c = connect(&server).await;
        let names = NameRegistry::new(&c, "/names");
        let running = running.clone();
        let candidate = names
            .register_candidate("billing", id, move |_term| {
                let running = running.clone();
                async move {
                    assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "two runners");
                    struct Out(Arc<AtomicUsize>);
                    impl Drop for Out {
                        fn drop(&mut self) {
                            self.0.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                    let _out = Out(running);
                    std::future::pending::<()>().await;
                }
            })
            .unwrap();
        joined(candidate.latch()).await;
        candidates.push((candidate, names, c));
    }
    let names = NameRegistry::new(&zk, "/names");
    for id in ["a", "b", "c"] {
        let holder = within(async {
            loop {
                if let Some(data) = names.whereis("billing").await.unwrap() {
                    if &data[..] == id.as_bytes() {
                        return data;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert_eq!(&holder[..], id.as_bytes());
        let (candidate, _, _) = candidates.remove(0);
        within(async {
            while !candidate.is_holder() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        candidate.close().await.unwrap();
    }
    assert!(
        within(async {
            loop {
                match names.whereis("billing").await.unwrap() {
                    None => return true,
                    Some(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        })
        .await
    );
    assert!(matches!(
        names.whereis("a/b").await,
        Err(Error::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn whereis_answers_from_its_cache_without_the_server() {
    let (_zk, server) = client().await;
    let holder = connect(&server).await;
    let registry = NameRegistry::new(&holder, "/names");
    let candidate = registry
        .register_candidate("cache", "here", |_| std::future::pending::<()>())
        .unwrap();
    let endpoint = server.server().client_endpoint("asker").await.unwrap();
    let asker = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&format!("{}{}", endpoint.connect_string(), server.chroot()))
        .await
        .unwrap();
    let names = NameRegistry::new(&asker, "/names");
    within(async {
        while names.whereis("cache").await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // With the asker cut off from the server, repeated lookups still answer at once.
    let cut = endpoint.blackhole();
    for _ in 0..100 {
        let found = tokio::time::timeout(Duration::from_millis(100), names.whereis("cache"))
            .await
            .expect("answered from the cache")
            .unwrap();
        assert_eq!(found.as_deref(), Some(&b"here"[..]));
    }
    drop(cut);
    // A takeover reaches the cache: the holder leaves, nobody holds it.
    candidate.close().await.unwrap();
    within(async {
        while names.whereis("cache").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_candidate_whose_work_returns_hands_the_name_on() {
    let (_zk, server) = client().await;
    let c1 = connect(&server).await;
    let c2 = connect(&server).await;
    // The first holds the name until its work returns, which waits for the second to
    // be in line.
    let go = Arc::new(tokio::sync::Notify::new());
    let started = go.clone();
    let first = NameRegistry::new(&c1, "/names")
        .register_candidate("job", "one", move |_| {
            let started = started.clone();
            async move { started.notified().await }
        })
        .unwrap();
    joined(first.latch()).await;
    let second_ran = Arc::new(AtomicBool::new(false));
    let flag = second_ran.clone();
    let second = NameRegistry::new(&c2, "/names")
        .register_candidate("job", "two", move |_| {
            let flag = flag.clone();
            async move {
                flag.store(true, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
        })
        .unwrap();
    joined(second.latch()).await;
    assert!(
        !second_ran.load(Ordering::SeqCst),
        "the second waits in line"
    );
    go.notify_one();
    within(async {
        while !second_ran.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    within(async {
        while !first.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    second.close().await.unwrap();
}
