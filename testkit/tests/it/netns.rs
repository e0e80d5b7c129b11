//! Partitions between servers in network namespaces (root only; otherwise a visible
//! SKIPPED line).

use std::time::Duration;

use zk_proto::CreateMode;
use zk_testkit::{Ensemble, EnsembleConfig, FaultKind, Mode, Nemesis, NetMode, RawSession};

use crate::common::{Wire, eventually, heavy, session_at, skip_without_netns, wait_exists};

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_partition_isolates_a_server_and_heal_restores_it() {
    if skip_without_netns("a_partition_isolates_a_server_and_heal_restores_it") {
        return;
    }
    let _one_at_a_time = heavy().await;
    let e = Ensemble::start_with(EnsembleConfig::new(3).net(NetMode::Netns))
        .await
        .expect("start in namespaces");

    // The connector opens sockets inside the kit's client namespace.
    let connector = e.connector().expect("netns connector");
    let stream = connector
        .connect(e.server_addr(1).expect("server 1"))
        .await
        .expect("connect from the namespace");
    let local = stream.local_addr().expect("local address");
    assert_eq!(local.ip(), std::net::IpAddr::V4(connector.ip()));
    assert_eq!(connector.ip().octets()[..3], [10, 99, 0]);
    let mut wire = Wire::over(stream);
    assert_ne!(wire.handshake(4000).await.session_id, 0);

    // The default connect string reaches the namespaces from the test process.
    let mut s = RawSession::connect(e.client_addr(1).expect("addr"), Duration::from_secs(10))
        .await
        .expect("session through the default endpoint");
    s.create("/before", b"", CreateMode::Persistent)
        .await
        .expect("create");
    s.disconnect();

    // Isolate the leader: the other two elect a new one and keep serving.
    let old = e.leader().await.expect("leader");
    let cut = e.isolate(old).expect("isolate");
    let new = e.wait_new_leader(&[old], T).await.expect("new leader");
    assert_ne!(new, old);
    assert!(
        connector
            .connect_timeout(
                e.server_addr(old).expect("addr"),
                Duration::from_millis(500)
            )
            .await
            .is_err(),
        "the isolated server cannot be reached"
    );
    let mut s = session_at(e.client_addr(new).expect("addr"), T).await;
    s.create("/during", b"", CreateMode::Persistent)
        .await
        .expect("the majority accepts writes");
    s.disconnect();

    // Heal: rules gone, stale quorum sockets killed, everyone serving again.
    let health = cut.heal(&e, T).await.expect("healthy after heal");
    assert!(health.is_healthy(), "{health}");
    assert_eq!(e.mode(old).await, Some(Mode::Follower));
    wait_exists(e.client_addr(old).expect("addr"), "/during", true, T).await;

    // A two-sided partition healed through the ensemble, then random halves by a nemesis.
    let follower = e.ids().into_iter().find(|id| *id != new).expect("follower");
    let others: Vec<u8> = e.ids().into_iter().filter(|id| *id != follower).collect();
    let cut = e.partition(&[&[follower], &others]).expect("partition");
    assert_eq!(e.wait_leader(T).await.expect("leader"), new);
    eventually("the cut follower to stop serving", T, || async {
        e.mode(follower).await != Some(Mode::Follower)
    })
    .await;
    drop(cut);
    e.heal(T).await.expect("healthy");
    let log = Nemesis::new(5)
        .with(FaultKind::RandomHalves, 1)
        .with(FaultKind::PartitionLeader, 1)
        .hold(Duration::from_secs(1))
        .run(&e, Duration::from_millis(200), Duration::from_secs(6))
        .await;
    println!("{log}");
    assert!(log.faults >= 1, "{log}");
    assert_eq!(log.slow_recoveries, 0, "{log}");
    e.wait_healthy(T).await.expect("healthy");
}
