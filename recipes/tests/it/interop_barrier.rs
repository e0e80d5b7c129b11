//! The DoubleBarrier against the real peers on one path: a Curator 5.4
//! `DistributedDoubleBarrier` member and a kazoo 2.11 `DoubleBarrier` member, run as
//! separate processes (tests/interop/), and one of ours, with N = 3.
//!
//! The peers print `ENTERING`, `ENTERED`, `LEAVING` and `LEFT` with the microseconds since
//! the epoch (all members read the same clock). The two peers join first and must not
//! enter until ours, the third, arrives; then every member enters, and every member's
//! leave ends only after the last member has started to leave. The path is left with no
//! member node and no `ready`.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zk_client::CreateOptions;
use zk_recipes::barrier::{DoubleBarrier, READY};

use crate::barrier::{members, until_members};
use crate::peers::{self, Program, Spawn};
use crate::support::{children, connect, init_logging};

/// Members of the barrier.
const MEMBERS: usize = 3;
/// How long the peers stay inside before they leave.
const HOLD: Duration = Duration::from_millis(1000);
/// The most any enter or leave may take.
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn interop_double_barrier_with_curator_and_kazoo() {
    // Built before any session of ours waits.
    peers::curator().await;
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/double-barrier";
    let markers = format!("{path}-cs");
    // A persistent barrier path: kazoo never re-creates a parent it made once, and a
    // container (as Curator and ours make it) may be reaped while the peers start.
    for node in [path, markers.as_str()] {
        admin
            .create_all(node, b"", &CreateOptions::persistent())
            .await
            .expect("the case's nodes");
    }
    let spawn = |program, id: &str| Spawn {
        program,
        id: id.to_owned(),
        sessions: 1,
        extra: vec!["--members".to_owned(), MEMBERS.to_string()],
    };
    let connect_string = zk.connect_string();
    let curator_spawn = spawn(Program::CuratorDoubleBarrier, "curator-db");
    let kazoo_spawn = spawn(Program::KazooDoubleBarrier, "kazoo-db");
    let mut curator = peers::start(&curator_spawn, &connect_string, path, 1, HOLD, false).await;
    let mut kazoo = peers::start(&kazoo_spawn, &connect_string, path, 1, HOLD, false).await;
    let ours_client = connect(&zk).await;
    curator.ready(1).await;
    kazoo.ready(1).await;
    admin
        .create(&format!("{markers}/go"), b"", &CreateOptions::persistent())
        .await
        .expect("go");

    // The two peers join, with their libraries' names and data, and wait for a third.
    until_members(&admin, path, 2).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for peer in [&mut curator, &mut kazoo] {
        let early: Vec<&String> = peer
            .printed()
            .iter()
            .filter(|l| l.starts_with("ENTERED ") || l.starts_with("ERROR "))
            .collect();
        assert!(early.is_empty(), "a peer passed with 2 of 3: {early:?}");
    }
    let ready = format!("{path}/{READY}");
    assert!(admin.exists(&ready).await.unwrap().is_none());
    let mut layout = BTreeSet::new();
    for name in members(&admin, path).await {
        let (data, stat) = admin.get_data(&format!("{path}/{name}")).await.unwrap();
        assert_ne!(stat.ephemeral_owner, 0, "{name} is ephemeral");
        let library =
            if uuid::Uuid::try_parse(&name).is_ok_and(|u| u.hyphenated().to_string() == name) {
                "curator"
            } else if name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                "kazoo"
            } else {
                panic!("a member node of neither library: {name}")
            };
        layout.insert((library, String::from_utf8_lossy(&data).into_owned()));
    }
    let expected = BTreeSet::from([
        ("curator", "curator-db".to_owned()),
        ("kazoo", "kazoo-db".to_owned()),
    ]);
    assert_eq!(layout, expected);

    // Ours, the third: everyone enters, none before ours started to.
    let mut ours = DoubleBarrier::new(&ours_client, path, MEMBERS).data("rust-db");
    let entering = now_micros();
    assert!(
        ours.enter_timeout(WAIT).await.unwrap(),
        "ours did not enter"
    );
    let entered = now_micros();
    for peer in [&mut curator, &mut kazoo] {
        let line = peer.line("ENTERED ", WAIT).await;
        let line = line.unwrap_or_else(|| panic!("a peer did not enter: {:?}", peer.printed()));
        assert!(micros(&line) >= entering, "{line} before {entering}");
    }

    // Everyone leaves: ours at once, the peers after their hold.
    let leaving = now_micros();
    assert!(
        ours.leave_timeout(WAIT).await.unwrap(),
        "ours did not leave"
    );
    let left = now_micros();
    let mut lines = Vec::new();
    for peer in [curator, kazoo] {
        let finished = peer.finish(Duration::from_secs(60)).await;
        finished.assert_clean();
        lines.extend(finished.lines);
    }
    let of = |what: &str| -> Vec<u64> {
        lines
            .iter()
            .filter(|l| l.starts_with(what))
            .map(|l| micros(l))
            .collect()
    };
    let (peers_leaving, peers_left) = (of("LEAVING "), of("LEFT "));
    assert_eq!(
        (peers_leaving.len(), peers_left.len()),
        (2, 2),
        "{lines:#?}"
    );
    let last_leaving = peers_leaving.iter().copied().fold(leaving, u64::max);
    assert!(left >= last_leaving, "ours left before a peer started to");
    assert!(
        peers_left.iter().all(|&at| at >= last_leaving),
        "a peer left before the last member started to: {lines:#?}"
    );
    println!(
        "double barrier with curator and kazoo: ours entered {} us after it started to, \
         left {} us after it started to",
        entered.saturating_sub(entering),
        left.saturating_sub(leaving)
    );
    for line in lines.iter().filter(|l| !l.starts_with("VERSION ")) {
        println!("  {line}");
    }
    assert!(
        children(&admin, path).await.is_empty(),
        "member nodes or ready left: {:?}",
        children(&admin, path).await
    );
    admin.close().await;
}

/// The microseconds at the end of a peer's `WHAT id round micros` line.
pub(crate) fn micros(line: &str) -> u64 {
    line.rsplit(' ')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no time in {line:?}"))
}

/// Microseconds since the epoch (the clock the peers read).
pub(crate) fn now_micros() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock");
    u64::try_from(since.as_micros()).expect("microseconds fit")
}
