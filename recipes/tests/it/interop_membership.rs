//! Group membership against the real peers, run as separate processes
//! (tests/interop/): a Curator 5.4 `GroupMember` and our `GroupMember` in one group, and
//! kazoo 2.11 `Party` and `ShallowParty` members with ours. Each side must see the other's
//! ids and payloads (or identifiers), changes of them, and leaves; the path ends empty.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use zk_client::{Client, CreateOptions};
use zk_recipes::membership::{GroupMember, MembershipEvent, MembershipWatch, Party, ShallowParty};

use crate::node::until;
use crate::peers::{self, Program, Running, Spawn};
use crate::support::{children, connect, init_logging, within};

/// How long a peer may take to print an expected line.
const LINE: Duration = Duration::from_secs(60);

fn spawn(program: Program, id: &str, extra: &[&str]) -> Spawn {
    Spawn {
        program,
        id: id.to_owned(),
        sessions: 1,
        extra: extra.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Waits until `peer` has printed exactly `line`, and returns all its lines so far.
async fn printed(peer: &mut Running, line: &str) -> Vec<String> {
    printed_times(peer, line, 1).await
}

/// Waits until `peer` has printed exactly `line` `times` times, and returns all its lines
/// so far.
async fn printed_times(peer: &mut Running, line: &str, times: usize) -> Vec<String> {
    let wait = async {
        loop {
            let lines = peer.printed();
            if lines.iter().filter(|l| *l == line).count() >= times {
                return lines.to_vec();
            }
            if lines.iter().any(|l| l.starts_with("ERROR ")) {
                panic!("the peer failed: {lines:#?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    match tokio::time::timeout(LINE, wait).await {
        Ok(lines) => lines,
        Err(_) => panic!("no {line:?} from the peer: {:#?}", peer.printed()),
    }
}

/// The next event of `watch` that `pick` wants, skipping others.
async fn next_event(
    watch: &mut MembershipWatch,
    mut pick: impl FnMut(&MembershipEvent) -> bool,
) -> MembershipEvent {
    within(async {
        loop {
            let event = watch.next().await.expect("the watch ended");
            if pick(&event) {
                return event;
            }
        }
    })
    .await
}

/// A path for a case, with its marker folder `PATH-cs` made (persistent).
async fn case(admin: &Client, path: &str) -> String {
    let markers = format!("{path}-cs");
    admin
        .create_all(&markers, b"", &CreateOptions::persistent())
        .await
        .expect("the markers' folder");
    markers
}

#[tokio::test]
async fn interop_group_member_with_curator() {
    peers::curator().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let path = "/interop/group";
    let markers = case(&admin, path).await;
    let peer = spawn(
        Program::CuratorGroupMember,
        "curator-gm",
        &["--payload", "from-curator"],
    );
    let connect_string = zk.connect_string();
    let mut curator = peers::start(&peer, &connect_string, path, 1, Duration::ZERO, false).await;
    curator.ready(1).await;
    printed(&mut curator, "MEMBERS curator-gm curator-gm=from-curator").await;

    let client = connect(&zk).await;
    let ours = GroupMember::new(&client, path, "ours").payload("from-ours");
    ours.start().unwrap();
    let mut changes = ours.watch().unwrap();
    let both: BTreeMap<String, Bytes> = [("curator-gm", "from-curator"), ("ours", "from-ours")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Bytes::from(v)))
        .collect();
    until(|| ours.members() == both).await;
    printed(
        &mut curator,
        "MEMBERS curator-gm curator-gm=from-curator ours=from-ours",
    )
    .await;
    // One layout: <path>/<id>, ephemeral, the payload as data.
    assert_eq!(children(&admin, path).await, ["curator-gm", "ours"]);
    let (data, stat) = admin.get_data(&format!("{path}/curator-gm")).await.unwrap();
    assert_eq!(&data[..], b"from-curator");
    assert_ne!(stat.ephemeral_owner, 0);
    let (data, stat) = admin.get_data(&format!("{path}/ours")).await.unwrap();
    assert_eq!(&data[..], b"from-ours");
    assert_eq!(stat.ephemeral_owner, client.session_id());

    // Our payload changes: Curator sees it.
    ours.set_payload("ours-2").await.unwrap();
    printed(
        &mut curator,
        "MEMBERS curator-gm curator-gm=from-curator ours=ours-2",
    )
    .await;
    // Curator's changes: we see an update.
    admin
        .create(
            &format!("{markers}/update-curator-gm"),
            b"curator-2",
            &CreateOptions::persistent(),
        )
        .await
        .unwrap();
    printed(&mut curator, "UPDATED curator-gm curator-2").await;
    let updated = next_event(
        &mut changes,
        |e| matches!(e, MembershipEvent::Updated { member, .. } if member.id == "curator-gm"),
    )
    .await;
    assert_eq!(&updated.member().data[..], b"curator-2");
    printed(
        &mut curator,
        "MEMBERS curator-gm curator-gm=curator-2 ours=ours-2",
    )
    .await;

    // Curator leaves: we see it go.
    admin
        .create(
            &format!("{markers}/leave-curator-gm"),
            b"",
            &CreateOptions::persistent(),
        )
        .await
        .unwrap();
    let left = next_event(&mut changes, |e| matches!(e, MembershipEvent::Left(_))).await;
    assert_eq!(left.member().id, "curator-gm");
    let finished = curator.finish(Duration::from_secs(60)).await;
    finished.assert_clean();
    println!(
        "group member with {}:",
        finished.version().unwrap_or("curator ?")
    );
    for line in &finished.lines {
        println!("  {line}");
    }
    until(|| ours.members().len() == 1).await;
    ours.close().await.unwrap();
    assert!(children(&admin, path).await.is_empty());
    client.close().await;
    admin.close().await;
}

/// Our member of a kazoo party of either kind.
enum Ours {
    Party(Party),
    Shallow(ShallowParty),
}

impl Ours {
    async fn join(&self) {
        match self {
            Self::Party(p) => p.join().await.unwrap(),
            Self::Shallow(p) => p.join().await.unwrap(),
        }
    }

    async fn leave(&self) {
        let was = match self {
            Self::Party(p) => p.leave().await.unwrap(),
            Self::Shallow(p) => p.leave().await.unwrap(),
        };
        assert!(was, "we were in the party");
    }

    async fn participants(&self) -> Vec<String> {
        let mut ids = match self {
            Self::Party(p) => p.participants().await.unwrap(),
            Self::Shallow(p) => p.participants().await.unwrap(),
        };
        ids.sort();
        ids
    }

    async fn len(&self) -> usize {
        match self {
            Self::Party(p) => p.len().await.unwrap(),
            Self::Shallow(p) => p.len().await.unwrap(),
        }
    }

    fn watch(&self) -> MembershipWatch {
        match self {
            Self::Party(p) => p.watch(),
            Self::Shallow(p) => p.watch(),
        }
    }
}

#[tokio::test]
async fn interop_party_and_shallow_party_with_kazoo() {
    peers::kazoo().await;
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let admin = connect(&zk).await;
    let client = connect(&zk).await;
    for shallow in [false, true] {
        let path = if shallow {
            "/interop/shallow-party"
        } else {
            "/interop/party"
        };
        let markers = case(&admin, path).await;
        let extra: &[&str] = if shallow { &["--shallow"] } else { &[] };
        let peer = spawn(Program::KazooParty, "kazoo-1", extra);
        let connect_string = zk.connect_string();
        let mut kazoo = peers::start(&peer, &connect_string, path, 1, Duration::ZERO, false).await;
        kazoo.ready(1).await;
        let lines = printed(&mut kazoo, "PARTICIPANTS kazoo-1 kazoo-1").await;
        let node = lines
            .iter()
            .find_map(|l| l.strip_prefix("JOINED kazoo-1 "))
            .expect("kazoo's node")
            .to_owned();

        let ours = if shallow {
            Ours::Shallow(ShallowParty::new(&client, path, "ours"))
        } else {
            Ours::Party(Party::new(&client, path, "ours"))
        };
        let mut changes = ours.watch();
        ours.join().await;
        printed(&mut kazoo, "PARTICIPANTS kazoo-1 kazoo-1 ours").await;
        within(async {
            while ours.participants().await != ["kazoo-1", "ours"] {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert_eq!(ours.len().await, 2);
        let mut joined = Vec::new();
        while joined.len() < 2 {
            if let MembershipEvent::Joined(m) = next_event(&mut changes, |_| true).await {
                joined.push(m.id);
            }
        }
        joined.sort();
        assert_eq!(joined, ["kazoo-1", "ours"]);
        // One layout: kazoo's node is what we would make, and holds its identifier.
        if shallow {
            assert_eq!(node.split_once('-').map(|(h, _)| h.len()), Some(32));
            assert!(node.ends_with("-kazoo-1"), "{node}");
        } else {
            assert_eq!(node.len(), 32 + "__party__".len());
            assert!(node.ends_with("__party__"), "{node}");
        }
        let (data, stat) = admin.get_data(&format!("{path}/{node}")).await.unwrap();
        assert_eq!(&data[..], b"kazoo-1");
        assert_ne!(stat.ephemeral_owner, 0);

        // We leave: kazoo sees us go.
        ours.leave().await;
        let left = next_event(&mut changes, |_| true).await;
        assert!(
            matches!(&left, MembershipEvent::Left(m) if m.id == "ours"),
            "{left:?}"
        );
        let lines = printed_times(&mut kazoo, "PARTICIPANTS kazoo-1 kazoo-1", 2).await;
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("PARTICIPANTS "))
                .count(),
            3,
            "kazoo saw itself, both, itself: {lines:#?}"
        );
        // kazoo leaves: we see it go.
        admin
            .create(
                &format!("{markers}/leave-kazoo-1"),
                b"",
                &CreateOptions::persistent(),
            )
            .await
            .unwrap();
        let left = next_event(&mut changes, |_| true).await;
        assert!(
            matches!(&left, MembershipEvent::Left(m) if m.id == "kazoo-1"),
            "{left:?}"
        );
        let finished = kazoo.finish(Duration::from_secs(60)).await;
        finished.assert_clean();
        println!(
            "{} with {}:",
            if shallow { "shallow party" } else { "party" },
            finished.version().unwrap_or("kazoo ?")
        );
        for line in &finished.lines {
            println!("  {line}");
        }
        assert!(ours.participants().await.is_empty());
        assert!(children(&admin, path).await.is_empty());
    }
    client.close().await;
    admin.close().await;
}
