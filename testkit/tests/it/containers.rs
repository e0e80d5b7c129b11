//! The container backend's own behaviour: partitions as disconnections from the quorum
//! network, labels and clean-up. Each prints a SKIPPED line without Docker, and fails
//! instead when `ZK_TESTKIT_REQUIRE_DOCKER=1`.

use std::time::Duration;

use zk_proto::CreateMode;
use zk_testkit::{Backend, Ensemble, FaultKind, Mode, Nemesis};

use crate::common::{eventually, heavy, on, session_at, wait_exists};

const T: Duration = Duration::from_secs(60);

fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(out.status.success(), "docker {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The names of the kit's containers and networks of this test process.
fn ours(kind: &str) -> Vec<String> {
    let pid = format!("label=zk-testkit.pid={}", std::process::id());
    let listing = match kind {
        "container" => docker(&["ps", "-a", "--filter", &pid, "--format", "{{.Names}}"]),
        _ => docker(&["network", "ls", "--filter", &pid, "--format", "{{.Name}}"]),
    };
    listing.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_partitioned_container_loses_the_quorum_but_keeps_its_clients() {
    if zk_testkit::container::skip_unless_ready(
        "a_partitioned_container_loses_the_quorum_but_keeps_its_clients",
    ) {
        return;
    }
    let _one_at_a_time = heavy().await;
    let e = Ensemble::start_with(on(Backend::Container, 3))
        .await
        .expect("start");
    assert!(e.can_partition());
    let mut s = session_at(e.client_addr(1).expect("addr"), T).await;
    s.create("/before", b"", CreateMode::Persistent)
        .await
        .expect("create");
    s.disconnect();

    // Isolate the leader: the other two elect another and serve writes; the isolated
    // server still answers its clients, and says it is not serving.
    let old = e.leader().await.expect("leader");
    let cut = e.isolate(old).expect("isolate");
    let new = e.wait_new_leader(&[old], T).await.expect("new leader");
    assert_ne!(new, old);
    eventually("the isolated server to stop serving", T, || async {
        let srvr = e.four_letter_word(old, "srvr").await;
        matches!(&srvr, Ok(text) if text.contains("not currently serving"))
    })
    .await;
    let mut s = session_at(e.client_addr(new).expect("addr"), T).await;
    s.create("/during", b"", CreateMode::Persistent)
        .await
        .expect("the majority accepts writes");
    s.disconnect();

    // Heal: connected back at its address, it follows and catches up.
    let health = cut.heal(&e, T).await.expect("healthy after heal");
    assert!(health.is_healthy(), "{health}");
    assert_eq!(e.mode(old).await, Some(Mode::Follower));
    wait_exists(e.client_addr(old).expect("addr"), "/during", true, T).await;

    // Two sides: the smaller one is cut; the leader of the larger stays.
    let leader = e.leader().await.expect("leader");
    let follower = e
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("follower");
    let others: Vec<u8> = e.ids().into_iter().filter(|id| *id != follower).collect();
    let cut = e.partition(&[&[follower], &others]).expect("partition");
    assert!(
        cut.description().contains("disconnected"),
        "{}",
        cut.description()
    );
    eventually("the cut follower to stop serving", T, || async {
        e.mode(follower).await != Some(Mode::Follower)
    })
    .await;
    assert_eq!(e.wait_leader(T).await.expect("leader"), leader);
    drop(cut);
    e.heal(T).await.expect("healthy");

    // A nemesis with partitions runs on containers without namespaces.
    let log = Nemesis::new(5)
        .with(FaultKind::RandomHalves, 1)
        .with(FaultKind::PartitionLeader, 1)
        .hold(Duration::from_secs(1))
        .run(&e, Duration::from_millis(200), Duration::from_secs(6))
        .await;
    println!("{log}");
    assert!(log.faults >= 1, "{log}");
    assert!(!log.to_string().contains("SKIPPED"), "{log}");
    assert_eq!(log.slow_recoveries, 0, "{log}");
    e.wait_healthy(T).await.expect("healthy");
}

#[tokio::test]
async fn containers_and_networks_are_labelled_and_removed_on_drop() {
    if zk_testkit::container::skip_unless_ready(
        "containers_and_networks_are_labelled_and_removed_on_drop",
    ) {
        return;
    }
    let _one_at_a_time = heavy().await;
    let e = Ensemble::start_with(on(Backend::Container, 1))
        .await
        .expect("start");
    assert_eq!(e.backend(), Backend::Container);
    assert!(e.installation().is_none());
    let containers = ours("container");
    assert!(
        containers.iter().any(|c| c.ends_with("-s1")),
        "{containers:?}"
    );
    let networks = ours("network");
    assert!(
        networks.iter().any(|n| n.ends_with("-quorum"))
            && networks.iter().any(|n| n.ends_with("-clients")),
        "{networks:?}"
    );
    // The server's address is on loopback; its quorum subnet is the kit's own.
    assert!(e.client_addr(1).expect("addr").ip().is_loopback());
    let dir = e.data_dir(1).expect("data dir").to_path_buf();
    assert!(dir.join("myid").is_file());
    let log = e.log(1).expect("log");
    assert_eq!(
        log.matches("zk-testkit: starting server 1").count(),
        1,
        "{log}"
    );
    let name = containers
        .iter()
        .find(|c| c.ends_with("-s1"))
        .expect("container")
        .clone();
    drop(e);
    let left = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={name}"),
        "--format",
        "{{.Names}}",
    ]);
    assert!(left.is_empty(), "container {name} left behind");
    for n in networks {
        let left = docker(&[
            "network",
            "ls",
            "--filter",
            &format!("name={n}"),
            "--format",
            "{{.Name}}",
        ]);
        assert!(left.is_empty(), "network {n} left behind");
    }
    assert!(!dir.exists(), "the temporary folder is removed");
}

#[tokio::test]
async fn options_the_container_backend_cannot_take_are_refused() {
    for cfg in [
        on(Backend::Container, 3).reconfig(true),
        on(Backend::Container, 1).net(zk_testkit::NetMode::Netns),
        on(Backend::Container, 1).option("weird", "two words"),
    ] {
        let err = Ensemble::start_with(cfg.clone())
            .await
            .expect_err("refused");
        if matches!(err, zk_testkit::Error::DockerUnavailable(_)) {
            // Checked before the options that need the daemon: only ZOO_CFG_EXTRA here.
            continue;
        }
        assert!(
            matches!(err, zk_testkit::Error::InvalidConfig(_)),
            "{cfg:?}: {err}"
        );
    }
}

#[tokio::test]
async fn the_sweep_removes_what_a_gone_process_of_this_host_left_and_nothing_else() {
    if zk_testkit::container::skip_unless_ready(
        "the_sweep_removes_what_a_gone_process_of_this_host_left_and_nothing_else",
    ) {
        return;
    }
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    let image = zk_testkit::EnsembleConfig::new(1).image_name();
    let tag = format!("{}-sweep", std::process::id());
    let labels = |run: &str, pid: &str, host: &str| {
        [
            format!("zk-testkit.run={run}"),
            format!("zk-testkit.pid={pid}"),
            format!("zk-testkit.boot={}", boot.trim()),
            format!("zk-testkit.host={}", host.trim()),
        ]
        .into_iter()
        .flat_map(|l| ["--label".to_owned(), l])
        .collect::<Vec<_>>()
    };
    let create = |name: &str, labels: Vec<String>, network: bool| {
        let mut args: Vec<String> = if network {
            vec!["network".into(), "create".into()]
        } else {
            vec!["create".into(), "--name".into(), name.into()]
        };
        args.extend(labels);
        if network {
            args.push(name.into());
        } else {
            args.push(image.clone());
        }
        docker(&args.iter().map(String::as_str).collect::<Vec<_>>());
    };
    // A process that is gone (pid 0 never names a test process), on this host.
    let stale = format!("zkt-{tag}-stale");
    let stale_net = format!("zkt-{tag}-stale-net");
    create(&stale, labels("stale", "0", &host), false);
    create(&stale_net, labels("stale", "0", &host), true);
    // Another host's run, and a live process of this host: both stay.
    let foreign = format!("zkt-{tag}-foreign");
    let live = format!("zkt-{tag}-live");
    create(&foreign, labels("foreign", "0", "another-host"), false);
    create(
        &live,
        labels("live", &std::process::id().to_string(), &host),
        false,
    );

    let removed = zk_testkit::container::sweep_stale();
    let names = docker(&["ps", "-a", "--format", "{{.Names}}"]);
    let networks = docker(&["network", "ls", "--format", "{{.Name}}"]);
    docker(&["rm", "-f", &foreign, &live]);
    assert!(removed >= 2, "removed {removed}");
    assert!(!names.lines().any(|n| n == stale), "{names}");
    assert!(!networks.lines().any(|n| n == stale_net), "{networks}");
    assert!(
        names.lines().any(|n| n == foreign),
        "another host's container stays: {names}"
    );
    assert!(
        names.lines().any(|n| n == live),
        "a live process's container stays: {names}"
    );
}
