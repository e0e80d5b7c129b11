//! Our elections against Curator 5.4's on one path, the peers run as separate processes
//! (tests/interop/): `LeaderLatch` with Curator's `LeaderLatch`, and `LeaderSelector`
//! with Curator's `LeaderSelector`.
//!
//! - Latch: two Curator participants and two of ours join in turn, each once the node of
//!   the one before exists, so the join order is the sequence order. Then the leaders
//!   leave one by one. At each step exactly one participant leads (ours by
//!   `has_leadership()`, Curator's by its `LEADER` and `NOTLEADER` lines), the one that
//!   joined next; our `participants()` and Curator's `getParticipants()` list the same ids
//!   in the same order, and our `observe()` reports each leader, Curator's included.
//! - Selector: two Curator sessions and two of ours; ours leads first and holds until the
//!   other three have joined, then every participant leads once, in the order of the
//!   nodes, and no two terms overlap (all processes read the same clock).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use tokio::sync::watch;
use zk_client::{Client, CreateOptions};
use zk_recipes::election::{
    Leader, LeaderLatch, LeaderObserver, LeaderSelector, Leadership, observe,
};
use zk_recipes::lock::{LostReason, Participant, sequence_of};

use crate::interop_barrier::{micros, now_micros};
use crate::peers::{self, Program, Running, Spawn};
use crate::support::{connect, init_logging, until_empty, within};

/// The most a peer may take to start, join or leave.
const WAIT: Duration = Duration::from_secs(60);
/// Long enough for a second leader, if there were one, to show itself.
const SETTLE: Duration = Duration::from_millis(300);
/// How long each selector term lasts.
const SELECTOR_HOLD: Duration = Duration::from_millis(200);

/// A latch participant: a Curator process or one of ours.
struct Member {
    id: &'static str,
    /// Its latch node (a client path).
    node: String,
    side: Side,
}

enum Side {
    /// `None` once the process has ended.
    Curator(Option<Running>),
    Ours(Client, LeaderLatch),
}

impl Member {
    /// Whether it leads now: ours by its latch, Curator's by its last `LEADER` or
    /// `NOTLEADER` line.
    fn leads(&mut self) -> bool {
        match &mut self.side {
            Side::Curator(Some(run)) => run
                .printed()
                .iter()
                .rev()
                .find(|l| l.starts_with("LEADER ") || l.starts_with("NOTLEADER "))
                .is_some_and(|l| l.starts_with("LEADER ")),
            Side::Curator(None) => false,
            Side::Ours(_, latch) => latch.has_leadership(),
        }
    }
}

#[tokio::test]
async fn interop_latch_with_curator_one_leader_in_sequence_order() {
    // Built before any session of ours waits.
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/latch";
    let markers = format!("{path}-cs");
    // A persistent election path: a container (as Curator and ours make it) may be reaped
    // between two steps.
    for node in [path, markers.as_str()] {
        admin
            .create_all(node, b"", &CreateOptions::persistent())
            .await
            .expect("the case's nodes");
    }
    let mut leaders = observe(&admin, path);
    assert_eq!(next_leader(&mut leaders).await, None, "an empty election");

    // Join in turn, alternating libraries, each once the one before has its node.
    let mut members = Vec::new();
    for id in ["curator-a", "rust-a", "curator-b", "rust-b"] {
        let member = if id.starts_with("curator") {
            let spawn = Spawn {
                program: Program::CuratorLeaderLatch,
                id: id.to_owned(),
                sessions: 1,
                extra: Vec::new(),
            };
            let mut run =
                peers::start(&spawn, &zk.connect_string(), path, 1, Duration::ZERO, false).await;
            let joined = run.line("JOINED ", WAIT).await;
            let joined = joined.unwrap_or_else(|| panic!("{id} did not join: {:?}", run.printed()));
            Member {
                id,
                node: format!("{path}/{}", field(&joined, 2)),
                side: Side::Curator(Some(run)),
            }
        } else {
            let client = connect(&zk).await;
            let latch = LeaderLatch::new(&client, path).data(id);
            latch.start().expect("start");
            let node = within(async {
                loop {
                    if let Some(node) = latch.node() {
                        return node;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await;
            Member {
                id,
                node,
                side: Side::Ours(client, latch),
            }
        };
        members.push(member);
    }
    // One layout for both libraries, and the join order is the sequence order.
    let seqs: Vec<i32> = members
        .iter()
        .map(|m| {
            let name = last_segment(&m.node);
            assert!(curator_layout(name, "latch-"), "{} has {name}", m.id);
            sequence_of(name, &["latch-"]).expect("a sequence")
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // The leaders leave one by one; the next in join order leads, and only it.
    let mut left_at = 0;
    for step in 0..members.len() {
        let (id, node) = (members[step].id, members[step].node.clone());
        match &mut members[step].side {
            Side::Curator(Some(run)) => {
                let line = run.line("LEADER ", WAIT).await;
                let line = line.unwrap_or_else(|| panic!("{id} did not lead: {:?}", run.printed()));
                assert_eq!(field(&line, 2), last_segment(&node), "{line}");
                assert!(
                    micros(&line) >= left_at,
                    "{id} led before its predecessor left"
                );
            }
            Side::Curator(None) => unreachable!("a peer ends only after it left"),
            Side::Ours(_, latch) => {
                let term = within(latch.await_leadership()).await.expect("our term");
                assert_eq!(term.node(), node);
            }
        }
        tokio::time::sleep(SETTLE).await;
        let leading: Vec<&str> = members
            .iter_mut()
            .filter_map(|m| m.leads().then_some(m.id))
            .collect();
        assert_eq!(
            leading,
            [id],
            "step {step}: exactly one leader, the next in line"
        );

        // Our observer reports this leader, Curator's with the id it set.
        let seen = next_leader(&mut leaders).await.expect("a leader");
        let (_, stat) = admin.get_data(&node).await.expect("the leader's node");
        assert_eq!(
            (&seen.data[..], seen.node.as_str(), seen.fencing_token),
            (id.as_bytes(), node.as_str(), stat.czxid),
            "step {step}"
        );

        // Our participants(): every remaining one, in join order, with its id as data.
        let expected: Vec<(&str, String, bool)> = members[step..]
            .iter()
            .enumerate()
            .map(|(k, m)| (m.id, m.node.clone(), k == 0))
            .collect();
        let ours = LeaderLatch::new(&admin, path).participants().await;
        assert_eq!(
            listed(&ours.expect("participants")),
            expected,
            "step {step}"
        );

        left_at = now_micros();
        match &mut members[step].side {
            Side::Curator(run) => {
                admin
                    .create(
                        &format!("{markers}/leave-{id}"),
                        b"",
                        &CreateOptions::persistent(),
                    )
                    .await
                    .expect("leave");
                let finished = run.take().expect("running").finish(WAIT).await;
                finished.assert_clean();
                let lines = &finished.lines;
                let of = |what: &str| lines.iter().filter(|l| l.starts_with(what)).count();
                assert_eq!(
                    (of("LEADER "), of("NOTLEADER "), of("LEFT "), of("TIMEOUT ")),
                    (1, 1, 1, 0),
                    "{lines:#?}"
                );
                let at = |what: &str| lines.iter().position(|l| l.starts_with(what));
                assert!(at("NOTLEADER ") < at("LEFT "), "{lines:#?}");
                println!("step {step}, {id}:");
                for line in lines.iter().filter(|l| !l.starts_with("VERSION ")) {
                    println!("  {line}");
                }
                // Curator's getParticipants() just before it left: the same as ours.
                let curator = lines
                    .iter()
                    .find_map(|l| l.strip_prefix(&format!("PARTICIPANTS {id} ")))
                    .unwrap_or_else(|| panic!("no participants from {id}: {lines:#?}"));
                let expected: Vec<String> = expected
                    .iter()
                    .map(|(id, _, leads)| format!("{id}{}", if *leads { "*" } else { "" }))
                    .collect();
                assert_eq!(
                    curator.split(' ').collect::<Vec<_>>(),
                    expected,
                    "{id}'s view"
                );
            }
            Side::Ours(client, latch) => {
                let term = latch.leadership().expect("still leading");
                println!(
                    "step {step}, {id}: led on {node}, token {}",
                    term.fencing_token()
                );
                latch.close().await.expect("close");
                assert_eq!(within(term.lost()).await, LostReason::Closed);
                assert!(!latch.has_leadership());
                client.close().await;
            }
        }
    }
    assert_eq!(next_leader(&mut leaders).await, None, "everyone left");
    until_empty(&admin, path).await;
    admin.close().await;
}

#[tokio::test]
async fn interop_selector_with_curator() {
    // Built before any session of ours waits.
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/selector";
    let markers = format!("{path}-cs");
    for node in [path, markers.as_str()] {
        admin
            .create_all(node, b"", &CreateOptions::persistent())
            .await
            .expect("the case's nodes");
    }
    let spawn = Spawn {
        program: Program::CuratorLeaderSelector,
        id: "curator-sel".to_owned(),
        sessions: 2,
        extra: Vec::new(),
    };
    let mut curator =
        peers::start(&spawn, &zk.connect_string(), path, 1, SELECTOR_HOLD, false).await;
    let (first_client, second_client) = (connect(&zk).await, connect(&zk).await);
    let first = LeaderSelector::new(&first_client, path).data("rust-sel-0");
    let second = LeaderSelector::new(&second_client, path).data("rust-sel-1");
    let mut leaders = second.observe();
    assert_eq!(next_leader(&mut leaders).await, None, "an empty election");
    curator.ready(spawn.sessions).await;

    // Ours leads first, and holds until everyone has joined.
    let lines = Arc::new(StdMutex::new(Vec::new()));
    let (all_in, gate) = watch::channel(false);
    first
        .start(work("rust-sel-0", lines.clone(), Some(gate)))
        .expect("start");
    within(async {
        while !first.has_leadership() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    admin
        .create(&format!("{markers}/go"), b"", &CreateOptions::persistent())
        .await
        .expect("go");
    second
        .start(work("rust-sel-1", lines.clone(), None))
        .expect("start");
    let joined = within(async {
        loop {
            let participants = first.participants().await.expect("participants");
            if participants.len() == 4 {
                return participants;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let order: Vec<(&str, String, bool)> = listed(&joined);
    let ids: Vec<&str> = order.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids[0], "rust-sel-0", "{order:?}");
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["curator-sel-0", "curator-sel-1", "rust-sel-0", "rust-sel-1"],
        "our participants(): Curator's ids as data"
    );
    assert!(
        order
            .iter()
            .all(|(id, node, leads)| *leads == (*id == "rust-sel-0")
                && curator_layout(last_segment(node), "lock-")),
        "{order:?}"
    );
    all_in.send_replace(true);

    // Everyone leads once; the Curator sessions end after their term.
    let finished = curator.finish(WAIT).await;
    finished.assert_clean();
    within(async {
        while lines.lock().expect("lines").len() < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut all = lines.lock().expect("lines").clone();
    all.extend(finished.lines.iter().cloned());
    let failures: Vec<&String> = all
        .iter()
        .filter(|l| {
            ["VIOLATION ", "ERROR ", "TIMEOUT "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert!(failures.is_empty(), "{all:#?}");
    let mut terms: BTreeMap<&str, Term> = BTreeMap::new();
    for line in &all {
        let id = field(line, 1);
        if line.starts_with("LEADER ") {
            let term = Term {
                node: field(line, 2).to_owned(),
                from_us: micros(line),
                to_us: None,
            };
            assert!(terms.insert(id, term).is_none(), "{id} led twice: {all:#?}");
        } else if line.starts_with("RESIGN ") {
            let term = terms
                .get_mut(id)
                .unwrap_or_else(|| panic!("{line} before LEADER"));
            assert!(
                term.to_us.replace(micros(line)).is_none(),
                "{id} resigned twice"
            );
        }
    }
    assert_eq!(terms.len(), 4, "every participant leads once: {all:#?}");
    let mut by_start: Vec<(&str, &Term)> = terms.iter().map(|(id, t)| (*id, t)).collect();
    by_start.sort_by_key(|(_, t)| t.from_us);
    for pair in by_start.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let end =
            a.1.to_us
                .unwrap_or_else(|| panic!("{} never resigned", a.0));
        assert!(
            end <= b.1.from_us,
            "{} and {} led at once: {all:#?}",
            a.0,
            b.0
        );
    }
    // In the order of the nodes, each on the node our participants() listed for it.
    let led: Vec<(&str, String, bool)> = by_start
        .iter()
        .map(|(id, t)| (*id, format!("{path}/{}", t.node), false))
        .collect();
    let unheld = |v: &[(&str, String, bool)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(id, node, _)| ((*id).to_owned(), node.clone()))
            .collect()
    };
    assert_eq!(unheld(&led), unheld(&order), "leaders in node order");
    let seqs: Vec<i32> = by_start
        .iter()
        .map(|(_, t)| sequence_of(&t.node, &["lock-"]).expect("a sequence"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // Each Curator leader's getParticipants(): itself first, as leader, then those after
    // it, as ours listed them.
    for (k, id) in ids
        .iter()
        .enumerate()
        .filter(|(_, id)| id.starts_with("curator"))
    {
        let view = finished
            .lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("PARTICIPANTS {id} ")))
            .unwrap_or_else(|| panic!("no participants from {id}"));
        let expected: Vec<String> = ids[k..]
            .iter()
            .enumerate()
            .map(|(j, id)| format!("{id}{}", if j == 0 { "*" } else { "" }))
            .collect();
        assert_eq!(view.split(' ').collect::<Vec<_>>(), expected, "{id}'s view");
    }
    // Our observer saw every leader, Curator's with the id it set, then nobody.
    let mut observed = Vec::new();
    for _ in 0..4 {
        let leader = next_leader(&mut leaders).await.expect("a leader");
        observed.push(String::from_utf8_lossy(&leader.data).into_owned());
    }
    assert_eq!(observed, ids, "observed leaders");
    assert_eq!(next_leader(&mut leaders).await, None, "everyone left");
    for selector in [&first, &second] {
        assert!(!selector.has_leadership());
        assert_eq!(selector.terms(), 1);
        selector.close().await;
    }
    until_empty(&admin, path).await;
    println!("selector with curator, in turn:");
    for (id, t) in &by_start {
        println!(
            "  {id} {} {} us",
            t.node,
            t.to_us.unwrap_or_default().saturating_sub(t.from_us)
        );
    }
    admin.close().await;
}

/// One selector term as its participant reported it.
#[derive(Debug)]
struct Term {
    node: String,
    from_us: u64,
    to_us: Option<u64>,
}

/// The work of our selector `id`: reports the term as the Curator program does (`LEADER
/// id node us` when it starts, `RESIGN id us` when it ends), holding for
/// [`SELECTOR_HOLD`] after `gate`, when given, opens.
fn work(
    id: &'static str,
    lines: Arc<StdMutex<Vec<String>>>,
    gate: Option<watch::Receiver<bool>>,
) -> impl FnMut(Leadership) -> BoxFuture<'static, ()> + Send + 'static {
    move |term| {
        let (lines, gate) = (lines.clone(), gate.clone());
        Box::pin(async move {
            let node = last_segment(term.node()).to_owned();
            let from = now_micros();
            lines
                .lock()
                .expect("lines")
                .push(format!("LEADER {id} {node} {from}"));
            if let Some(mut gate) = gate {
                let _ = gate.wait_for(|open| *open).await;
            }
            tokio::time::sleep(SELECTOR_HOLD).await;
            let to = now_micros();
            lines
                .lock()
                .expect("lines")
                .push(format!("RESIGN {id} {to}"));
        })
    }
}

/// The next leader an observer reports.
async fn next_leader(leaders: &mut LeaderObserver) -> Option<Leader> {
    within(leaders.next()).await.expect("the observer lives")
}

/// Participants as `(id, node, leads)`.
fn listed(participants: &[Participant]) -> Vec<(&str, String, bool)> {
    participants
        .iter()
        .map(|p| {
            let id = std::str::from_utf8(&p.data).expect("a UTF-8 id");
            (id, p.node.clone(), p.holds)
        })
        .collect()
}

/// Whether `name` is `_c_{uuid}-{lock_name}{seq}`: Curator's protected layout.
fn curator_layout(name: &str, lock_name: &str) -> bool {
    let Some(rest) = name.strip_prefix("_c_") else {
        return false;
    };
    let (uuid, tail) = rest.split_at(rest.len().min(36));
    let seq = tail
        .strip_prefix('-')
        .and_then(|t| t.strip_prefix(lock_name));
    uuid::Uuid::try_parse(uuid).is_ok_and(|u| u.hyphenated().to_string() == uuid)
        && seq.is_some_and(|s| s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()))
}

/// The `n`th space-separated field of a line.
fn field(line: &str, n: usize) -> &str {
    line.split(' ')
        .nth(n)
        .unwrap_or_else(|| panic!("no field {n} in {line:?}"))
}

fn last_segment(node: &str) -> &str {
    node.rsplit('/').next().unwrap_or(node)
}
