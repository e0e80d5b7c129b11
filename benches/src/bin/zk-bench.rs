//! `zk-bench`: end-to-end load against a real ZooKeeper server.
//!
//! ```text
//! zk-bench [HOST:PORT] [--watches N] [--low-water BYTES]
//! ```
//!
//! With no address it starts a standalone server through zk-testkit. It runs the workloads
//! of a cross-client benchmark harness, whose contract it follows (sizes from `PB_*`
//! variables, one `VERSION` and one `RESULT key=value ...` line; `PB_RT=current` selects
//! tokio's current-thread runtime; `benches/peerbench.sh` plugs it into that harness):
//!
//! - (a) `PB_LAT_N` sequential getData of a `PB_VALUE_SIZE`-byte node: mean, p50, p99;
//! - (b) `PB_READ_N` pipelined getData, `PB_WINDOW` outstanding: ops/s, and (e) the
//!   process's user+sys CPU per op;
//! - (c) `PB_WRITE_N` pipelined setData; (d) `PB_CD_N` creates then deletes;
//! - connect time (cold and warm), peak RSS (`VmHWM`).
//!
//! The pipelined workloads keep `PB_WINDOW` calls made and wait on the oldest, since a
//! session's replies come in the order of its requests.
//!
//! With `--watches N` (default 100,000 when no address is given) it also measures
//! (g) setting N data watches, then the time and bytes to re-register all of them after a
//! forced reconnect, and (h) the memory per idle watch.
//!
//! `--low-water BYTES` sets the clients' `ClientBuilder::max_receive_low_water` (0 turns
//! the receive low-water mark off), to measure that trade-off on a given machine.
//!
//! `zk-bench --tls` instead starts a server with a TLS port (zk-testkit's generated
//! certificates, mutual TLS) and measures the time to open a session over TLS and over
//! plain TCP: the median of `PB_RECONNECTS` (default 20) connects each.
//!
//! Starting a server and `--tls` need the default `server` feature (zk-testkit and
//! zk-client's `tls`); built without it, zk-bench is a plaintext client that needs
//! HOST:PORT.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::resource::{UsageWho, getrusage};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use zk_client::connector::{BoxConnection, ConnectFuture, Connector};
use zk_client::{Client, CreateOptions, Error, Host, SessionState};

const DATA: &str = "/peerbench/data";

fn env(key: &str, default: f64) -> f64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu_seconds() -> f64 {
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |r| {
        let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        tv(r.user_time()) + tv(r.system_time())
    })
}

/// Peak RSS of this program: `VmHWM` from /proc/self/status, else `ru_maxrss`.
///
/// `ru_maxrss` survives `execve`, so it also holds the peak of the shell that started the
/// program (peerbench's `bash -c` that sources its scripts: 2.7 to 3.1 MiB). `VmHWM`
/// belongs to the program's own address space only.
fn peak_rss_mb() -> f64 {
    let hwm_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        });
    hwm_kib.map_or_else(
        || getrusage(UsageWho::RUSAGE_SELF).map_or(-1.0, |r| r.max_rss() as f64 / 1024.0),
        |kib| kib / 1024.0,
    )
}

/// The current resident set, from /proc/self/statm.
fn rss_bytes() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<f64>().ok())
        })
        .map_or(-1.0, |pages| pages * 4096.0)
}

/// Milliseconds since PB_T0 (ns since the epoch, set by peerbench right before launch).
fn since_launch_ms() -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_nanos() as f64);
    std::env::var("PB_T0")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(-1.0, |t0| (now - t0) / 1e6)
}

/// Plain TCP that counts the bytes written and can cut the current connection.
#[derive(Clone, Debug, Default)]
struct Instrumented {
    written: Arc<AtomicU64>,
    current: Arc<Mutex<Option<std::net::TcpStream>>>,
}

impl Instrumented {
    /// Shuts the current connection down both ways, as a server restart would.
    fn cut(&self) {
        if let Some(s) = self.current.lock().ok().and_then(|mut c| c.take()) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Connector for Instrumented {
    fn connect(&self, host: &Host) -> ConnectFuture {
        let addr = (host.host.clone(), host.port);
        let this = self.clone();
        Box::pin(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let std = stream.into_std()?;
            if let Ok(mut current) = this.current.lock() {
                *current = Some(std.try_clone()?);
            }
            let stream = TcpStream::from_std(std)?;
            Ok(Box::new(Counting {
                inner: stream,
                written: Arc::clone(&this.written),
            }) as BoxConnection)
        })
    }
}

struct Counting {
    inner: TcpStream,
    written: Arc<AtomicU64>,
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            self.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        written
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `--low-water BYTES`, when given.
static LOW_WATER: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

async fn connect(hosts: &str, connector: Option<Instrumented>) -> (Client, f64) {
    let t0 = Instant::now();
    let mut builder = Client::builder().session_timeout(Duration::from_secs(30));
    if let Some(&bytes) = LOW_WATER.get() {
        builder = builder.max_receive_low_water(bytes);
    }
    if let Some(c) = connector {
        builder = builder.connector(Arc::new(c));
    }
    let client = builder.connect(hosts).await.expect("connect");
    (client, t0.elapsed().as_secs_f64() * 1e3)
}

/// Runs n requests made by `send(i)` with at most `w` outstanding; returns ops/s.
async fn pipeline<F, Fut, T>(n: usize, w: usize, send: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    pipeline_each(n, w, send, drop).await
}

/// [`pipeline`], handing each result, in request order, to `each`.
///
/// ZooKeeper answers a session's requests in the order sent, so the oldest request is the
/// only one worth waiting on: the others are already sent (a request goes out when its call
/// is made, not when its future is polled), and each is polled once it is the oldest.
async fn pipeline_each<F, Fut, T>(n: usize, w: usize, mut send: F, mut each: impl FnMut(T)) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let t0 = Instant::now();
    let mut inflight = VecDeque::with_capacity(w.min(n));
    let mut next = 0;
    while next < n || !inflight.is_empty() {
        while next < n && inflight.len() < w {
            inflight.push_back(Box::pin(send(next)));
            next += 1;
        }
        if let Some(mut oldest) = inflight.pop_front() {
            each(oldest.as_mut().await.expect("request failed"));
        }
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

async fn run_all(client: &Client, val: &[u8], scale: f64) -> Vec<(&'static str, f64)> {
    let n = |k, d| ((env(k, d) * scale) as usize).max(1);
    let (lat_n, read_n) = (n("PB_LAT_N", 5000.0), n("PB_READ_N", 1e5));
    let (write_n, cd_n) = (n("PB_WRITE_N", 2e4), n("PB_CD_N", 1e4));
    let w = env("PB_WINDOW", 256.0) as usize;
    let mut r = Vec::new();
    // a. sequential latency
    let mut lat = Vec::with_capacity(lat_n);
    for _ in 0..lat_n {
        let t0 = Instant::now();
        client.get_data(DATA).await.expect("get");
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(f64::total_cmp);
    r.push(("lat_mean_us", lat.iter().sum::<f64>() / lat_n as f64));
    r.push(("lat_p50_us", lat[lat_n / 2]));
    r.push((
        "lat_p99_us",
        lat[((lat_n as f64 * 0.99) as usize).min(lat_n - 1)],
    ));
    // b + e. pipelined reads and their CPU cost
    let c0 = cpu_seconds();
    r.push((
        "read_ops",
        pipeline(read_n, w, |_| client.get_data(DATA)).await,
    ));
    r.push(("read_cpu_us", (cpu_seconds() - c0) * 1e6 / read_n as f64));
    // c. pipelined writes
    r.push((
        "write_ops",
        pipeline(write_n, w, |_| client.set_data(DATA, val, None)).await,
    ));
    // d. create then delete
    // Paths are made when sent, not kept: a list of them would be most of the heap.
    let pid = std::process::id();
    let path = |i: usize| format!("/peerbench/zr{pid}-{i}");
    let opts = CreateOptions::persistent();
    let t0 = Instant::now();
    r.push((
        "create_ops",
        pipeline(cd_n, w, |i| client.create(&path(i), val, &opts)).await,
    ));
    r.push((
        "delete_ops",
        pipeline(cd_n, w, |i| client.delete(&path(i), None)).await,
    ));
    r.push(("cd_ops", 2.0 * cd_n as f64 / t0.elapsed().as_secs_f64()));
    r
}

/// (g) and (h): N data watches; re-registration after a forced reconnect; memory per watch.
async fn watch_workloads(hosts: &str, n: usize) -> Vec<(&'static str, f64)> {
    let connector = Instrumented::default();
    let (client, _) = connect(hosts, Some(connector.clone())).await;
    let root = format!("/peerbench/watches-{}", std::process::id());
    client
        .create(&root, b"", &CreateOptions::persistent())
        .await
        .expect("root");
    let w = 256;
    let paths: Vec<String> = (0..n).map(|i| format!("{root}/node-{i:07}")).collect();
    pipeline(n, w, |i| {
        client.create(&paths[i], b"", &CreateOptions::persistent())
    })
    .await;

    let rss0 = rss_bytes();
    let mut watchers = Vec::with_capacity(n);
    let set_per_s = pipeline_each(
        n,
        w,
        |i| client.exists_and_watch(&paths[i]),
        |(_, watcher)| watchers.push(watcher),
    )
    .await;
    let rss1 = rss_bytes();

    // Forced reconnect: everything is re-registered before the next request's reply.
    let bytes0 = connector.written.load(Ordering::Relaxed);
    let mut state = client.state_watcher();
    let t1 = Instant::now();
    connector.cut();
    state
        .wait_for(|s| s == SessionState::Disconnected)
        .await
        .expect("disconnected");
    client.exists("/").await.expect("after reconnect");
    let rearm_ms = t1.elapsed().as_secs_f64() * 1e3;
    let rearm_bytes = connector.written.load(Ordering::Relaxed) - bytes0;

    // The watches still fire.
    client
        .set_data(&paths[n / 2], b"x", None)
        .await
        .expect("set");
    let fired = tokio::time::timeout(Duration::from_secs(10), watchers.swap_remove(n / 2)).await;
    assert!(matches!(fired, Ok(Ok(_))), "a re-armed watch fired");

    drop(watchers);
    // Listing 100,000 children would exceed the 1 MiB frame limit: delete by name.
    pipeline(n, w, |i| client.delete(&paths[i], None)).await;
    client.delete(&root, None).await.expect("cleanup");
    client.close().await;
    vec![
        ("watch_set_ops", set_per_s),
        ("watch_rearm_ms", rearm_ms),
        ("watch_rearm_kib", rearm_bytes as f64 / 1024.0),
        ("watch_mem_bytes", (rss1 - rss0) / n as f64),
    ]
}

/// Session establishment over TLS (handshake included) and over plain TCP.
#[cfg(feature = "server")]
async fn tls_connect_times() {
    let dir = std::env::temp_dir().join(format!("zk-bench-tls-{}", std::process::id()));
    let setup = async {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let pki = zk_testkit::TlsMaterial::generate(&dir).map_err(|e| e.to_string())?;
        let tls = zk_testkit::TlsConfig::pem(&pki).client_auth("need");
        let server = zk_testkit::Server::start_with(zk_testkit::EnsembleConfig::new(1).tls(tls))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((pki, server))
    };
    let (pki, server) = match setup.await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("zk-bench: cannot start a TLS server: {e}");
            std::process::exit(1);
        }
    };
    let secure = format!(
        "localhost:{}",
        server.ensemble().secure_addr(1).map_or(0, |a| a.port())
    );
    let options = zk_client::TlsOptions::new()
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client_cert, &pki.client_key);
    let n = (env("PB_RECONNECTS", 20.0) as usize).max(1);
    let mut tls = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..=n {
        let t0 = Instant::now();
        let client = Client::builder()
            .tls(options.clone())
            .connect(&secure)
            .await
            .expect("tls connect");
        tls.push(t0.elapsed().as_secs_f64() * 1e3);
        client.close().await;
        let (client, ms) = connect(&server.connect_string(), None).await;
        plain.push(ms);
        client.close().await;
    }
    // The first of each warms the server (its TLS setup is lazy).
    tls.remove(0);
    plain.remove(0);
    tls.sort_by(f64::total_cmp);
    plain.sort_by(f64::total_cmp);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "VERSION zk-client {} (rustls, mutual TLS)",
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "RESULT tls_connect_ms={:.2} plain_connect_ms={:.2}",
        tls[tls.len() / 2],
        plain[plain.len() / 2]
    );
}

async fn bench(hosts: String, watches: usize) {
    let val = vec![b'x'; env("PB_VALUE_SIZE", 100.0) as usize];
    let (client, cold_ms) = connect(&hosts, None).await;
    let launch_ms = since_launch_ms();
    for p in ["/peerbench", DATA] {
        match client.create(p, &val, &CreateOptions::persistent()).await {
            Ok(_) | Err(Error::NodeExists(_)) => {}
            Err(e) => panic!("setup: {e}"),
        }
    }
    client.set_data(DATA, &val, None).await.expect("setup");

    run_all(&client, &val, env("PB_WARMUP", 1.0)).await; // warm-up, discarded
    let mut r = run_all(&client, &val, 1.0).await;
    client.close().await;

    let mut warm = Vec::new();
    for _ in 0..(env("PB_RECONNECTS", 5.0) as usize).max(1) {
        let (client, ms) = connect(&hosts, None).await;
        warm.push(ms);
        client.close().await;
    }
    warm.sort_by(f64::total_cmp);
    r.push(("connect_cold_ms", cold_ms));
    r.push(("connect_warm_ms", warm[warm.len() / 2]));
    r.push(("launch_ms", launch_ms));
    r.push(("rss_mb", peak_rss_mb()));
    if watches > 0 {
        r.extend(watch_workloads(&hosts, watches).await);
    }
    let rt = std::env::var("PB_RT").unwrap_or_else(|_| "multi".into());
    println!(
        "VERSION zk-client {} (Rust, tokio {rt}-thread runtime)",
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "RESULT {}",
        r.iter()
            .map(|(k, v)| format!("{k}={v:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut hosts = None;
    let mut watches = None;
    let mut tls = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--watches" => watches = args.next().and_then(|n| n.parse().ok()),
            "--tls" => tls = true,
            "--low-water" => match args.next().and_then(|n| n.parse().ok()) {
                Some(bytes) => {
                    let _ = LOW_WATER.set(bytes);
                }
                None => {
                    eprintln!("zk-bench: --low-water needs a byte count");
                    std::process::exit(2);
                }
            },
            "-h" | "--help" => {
                println!(
                    "usage: zk-bench [HOST:PORT] [--watches N] [--low-water BYTES] | zk-bench --tls"
                );
                return;
            }
            other => hosts = Some(other.to_owned()),
        }
    }
    let mut builder = match std::env::var("PB_RT").as_deref() {
        Ok("current") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zk-bench: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    // The workload runs in a spawned task, as in a tokio service: on the multi-thread
    // runtime it then shares worker threads with the session task instead of waking the
    // main thread for every reply.
    let work = runtime.spawn(async move {
        match (tls, hosts) {
            #[cfg(feature = "server")]
            (true, _) => tls_connect_times().await,
            #[cfg(feature = "server")]
            (false, None) => {
                let server = match zk_testkit::Server::start().await {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("zk-bench: cannot start a ZooKeeper server: {e}");
                        std::process::exit(1);
                    }
                };
                bench(server.connect_string(), watches.unwrap_or(100_000)).await;
            }
            #[cfg(not(feature = "server"))]
            (true, _) | (false, None) => {
                eprintln!(
                    "zk-bench: built without the `server` feature, it needs HOST:PORT and has no --tls"
                );
                std::process::exit(2);
            }
            (false, Some(hosts)) => bench(hosts, watches.unwrap_or(0)).await,
        }
    });
    if let Err(e) = runtime.block_on(work) {
        eprintln!("zk-bench: {e}");
        std::process::exit(1);
    }
}
