//! Measures the kit's figures on this machine: standalone start time, 3- and 5-server
//! quorum formation, re-election after SIGKILL of the leader, and resident memory per
//! server.
//!
//! ```text
//! cargo run -p zk-testkit --example measure            # 3 rounds
//! cargo run -p zk-testkit --example measure -- 5       # 5 rounds
//! ZK_TESTKIT_BACKEND=docker cargo run -p zk-testkit --example measure   # containers
//! ```

use std::time::{Duration, Instant};

use zk_testkit::{Ensemble, Server};

const DEADLINE: Duration = Duration::from_secs(60);

fn summary(name: &str, values: &[Duration]) {
    let mut v: Vec<f64> = values.iter().map(Duration::as_secs_f64).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        println!("{name:<40} (no data)");
        return;
    }
    let median = v[v.len() / 2];
    let all: Vec<String> = values
        .iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect();
    println!(
        "{name:<40} min {:.2} s  median {median:.2} s  max {:.2} s   [{}]",
        v[0],
        v[v.len() - 1],
        all.join(", ")
    );
}

fn mib(bytes: &[u64]) -> String {
    if bytes.is_empty() {
        return "(no data)".into();
    }
    let min = bytes.iter().min().copied().unwrap_or(0) >> 20;
    let max = bytes.iter().max().copied().unwrap_or(0) >> 20;
    let avg = (bytes.iter().sum::<u64>() / bytes.len() as u64) >> 20;
    format!(
        "min {min} MiB  avg {avg} MiB  max {max} MiB  ({} samples)",
        bytes.len()
    )
}

async fn ensemble_round(
    size: usize,
    kills: usize,
    formation: &mut Vec<Duration>,
    reelection: &mut Vec<Duration>,
    rss: &mut Vec<u64>,
) -> zk_testkit::Result<()> {
    let e = Ensemble::start(size).await?;
    formation.push(e.started_in());
    for id in e.ids() {
        rss.extend(e.rss_bytes(id));
    }
    for _ in 0..kills {
        let old = e.leader().await?;
        let t0 = Instant::now();
        e.kill(old)?;
        e.wait_new_leader(&[old], DEADLINE).await?;
        reelection.push(t0.elapsed());
        e.restart(old).await?;
        e.wait_healthy(DEADLINE).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> zk_testkit::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let backend = zk_testkit::Backend::from_env();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    if backend == zk_testkit::Backend::Process {
        let install = zk_testkit::Installation::discover()?;
        println!(
            "process backend: ZooKeeper {} ({}), java {}, {cpus} CPUs, {rounds} rounds",
            install.version().unwrap_or("?"),
            install.source(),
            install.java().display(),
        );
    } else {
        println!(
            "container backend: image {}, {cpus} CPUs, {rounds} rounds",
            zk_testkit::EnsembleConfig::new(1).image_name()
        );
    }

    let mut standalone = Vec::new();
    let mut standalone_rss = Vec::new();
    for _ in 0..rounds {
        let s = Server::start().await?;
        standalone.push(s.started_in());
        // Memory after one session did some work.
        let mut session = zk_testkit::RawSession::connect(s.addr(), Duration::from_secs(4)).await?;
        for i in 0..100 {
            session
                .create(&format!("/n{i}"), b"x", zk_proto::CreateMode::Persistent)
                .await?;
        }
        standalone_rss.extend(s.rss_bytes());
    }

    let (mut f3, mut r3, mut rss3) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        ensemble_round(3, 2, &mut f3, &mut r3, &mut rss3).await?;
    }
    let (mut f5, mut r5, mut rss5) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        ensemble_round(5, 2, &mut f5, &mut r5, &mut rss5).await?;
    }

    let (mut iso, mut heal) = (Vec::new(), Vec::new());
    // Partitions: in namespaces on the process backend, by disconnection on containers.
    let netns = match backend {
        zk_testkit::Backend::Process => zk_testkit::netns_available(),
        _ => Ok(()),
    };
    if netns.is_ok() {
        let cfg = match backend {
            zk_testkit::Backend::Process => {
                zk_testkit::EnsembleConfig::new(3).net(zk_testkit::NetMode::Netns)
            }
            _ => zk_testkit::EnsembleConfig::new(3),
        };
        let e = Ensemble::start_with(cfg).await?;
        for _ in 0..rounds {
            let old = e.leader().await?;
            let t0 = Instant::now();
            let cut = e.isolate(old)?;
            e.wait_new_leader(&[old], DEADLINE).await?;
            iso.push(t0.elapsed());
            let t1 = Instant::now();
            cut.heal(&e, DEADLINE).await?;
            heal.push(t1.elapsed());
        }
    }

    println!();
    summary("standalone start (launch to serving)", &standalone);
    summary("3-server quorum formation", &f3);
    summary("5-server quorum formation", &f5);
    summary("3 servers: new leader after kill -9", &r3);
    summary("5 servers: new leader after kill -9", &r5);
    match netns {
        Ok(()) => {
            summary("3 servers: new leader, leader isolated", &iso);
            summary("3 servers: healthy after heal", &heal);
        }
        Err(reason) => println!("SKIPPED: partition figures: {reason}"),
    }
    println!(
        "{:<40} {}",
        "RSS standalone (after 100 creates)",
        mib(&standalone_rss)
    );
    println!("{:<40} {}", "RSS per server, 3-server ensemble", mib(&rss3));
    println!("{:<40} {}", "RSS per server, 5-server ensemble", mib(&rss5));
    Ok(())
}
