//! The per-client fault proxy: an in-process tokio TCP proxy in front of each server.
//!
//! A [`ClientEndpoint`] owns one proxy per server, listening on `127.0.0.1`. The client
//! under test connects to [`ClientEndpoint::connect_string`]; the proxies forward to the
//! servers (from inside the endpoint's own network namespace in [`NetMode::Netns`]).
//!
//! Faults are RAII guards: the fault holds while the [`FaultGuard`] lives and heals when it
//! is dropped.
//!
//! | fault | what happens on the wire |
//! |---|---|
//! | [`latency`](ClientEndpoint::latency) | every chunk is delivered `up`/`down` later (pipelined) |
//! | [`blackhole`](ClientEndpoint::blackhole) | bytes are held, nothing is delivered, no FIN and no RST; delivered after the heal |
//! | [`reset_all`](ClientEndpoint::reset_all) | every open connection gets an RST (SO_LINGER 0) on both sides |
//! | [`refuse_new`](ClientEndpoint::refuse_new) | new connections are accepted and reset at once |
//! | [`slice`](ClientEndpoint::slice) | bytes are written in chunks of at most `max_chunk`, with a pause between chunks |
//! | [`cut_after`](ClientEndpoint::cut_after) | a connection is closed (FIN) after it delivered `n` bytes to the client |
//! | [`drop_reply`](ClientEndpoint::drop_reply) | the reply to the n-th request is swallowed and the connection closed: the server applied the request, the client never hears |
//!
//! [`NetMode::Netns`]: crate::NetMode::Netns

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::ServerId;
use crate::error::{Error, Result};
use crate::net::{Dialer, NetnsConnector};

mod conn;

use conn::accept_loop;

static TOKENS: AtomicU64 = AtomicU64::new(1);

fn token() -> u64 {
    TOKENS.fetch_add(1, Ordering::Relaxed)
}

#[derive(Clone, Debug, Default)]
struct Faults {
    latency: Option<(u64, Duration, Duration)>,
    blackhole: u32,
    refuse: u32,
    slice: Option<(u64, usize, Duration)>,
    cut_after: Option<(u64, u64)>,
    reset_epoch: u64,
}

#[derive(Debug)]
struct DropReply {
    token: u64,
    nth: u64,
    seen: AtomicU64,
}

/// Byte and connection counters of an endpoint's proxies.
///
/// # Examples
///
/// ```no_run
/// # fn _demo(ep: &zk_testkit::ClientEndpoint) {
/// let stats = ep.stats();
/// println!("{} bytes to the client in {} writes", stats.bytes_down, stats.writes_down);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStats {
    /// Connections accepted from the client.
    pub accepted: u64,
    /// Connections reset at once by [`ClientEndpoint::refuse_new`].
    pub refused: u64,
    /// Bytes delivered to the servers.
    pub bytes_up: u64,
    /// Bytes delivered to the client.
    pub bytes_down: u64,
    /// `write` calls towards the client.
    pub writes_down: u64,
    /// The largest single write towards the client.
    pub max_write_down: u64,
    /// Replies swallowed by [`ClientEndpoint::drop_reply`].
    pub dropped_replies: u64,
}

#[derive(Debug, Default)]
struct Stats {
    accepted: AtomicU64,
    refused: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    writes_down: AtomicU64,
    max_write_down: AtomicU64,
    dropped_replies: AtomicU64,
}

#[derive(Debug)]
struct Ctl {
    faults: watch::Sender<Faults>,
    stats: Stats,
}

/// State shared by all proxies of one endpoint.
#[derive(Debug, Default)]
struct Shared {
    drop_reply: Mutex<Option<Arc<DropReply>>>,
}

#[derive(Debug)]
struct Proxy {
    server: ServerId,
    listen: SocketAddr,
    ctl: Arc<Ctl>,
    task: tokio::task::AbortHandle,
}

#[derive(Debug)]
struct Inner {
    name: String,
    proxies: Vec<Proxy>,
    shared: Arc<Shared>,
    connector: Option<NetnsConnector>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for p in &self.proxies {
            p.task.abort();
        }
    }
}

/// A client's own proxies, one in front of each server, with fault injection.
///
/// Cloning is cheap and shares the proxies; they stop when the last clone is dropped. The
/// proxies run on the tokio runtime that created the endpoint.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// # async fn _demo() -> zk_testkit::Result<()> {
/// let ensemble = zk_testkit::Ensemble::start(3).await?;
/// let ep = ensemble.client_endpoint("c1").await?;
/// let hosts = ep.connect_string(); // give this to the client under test
/// {
///     let _slow = ep.latency(Duration::from_millis(100), Duration::from_millis(100));
///     // ... every request now takes at least 200 ms ...
/// } // healed here
/// let hole = ep.blackhole();
/// // ... the client hears nothing and its session times out ...
/// drop(hole);
/// # let _ = hosts; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientEndpoint {
    inner: Arc<Inner>,
}

impl fmt::Debug for ClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientEndpoint")
            .field("name", &self.inner.name)
            .field("connect_string", &self.connect_string())
            .finish()
    }
}

impl ClientEndpoint {
    /// Starts one proxy per `(server, address)` on the current tokio runtime.
    pub(crate) async fn start(
        name: &str,
        servers: &[(ServerId, SocketAddr)],
        dialer: Dialer,
    ) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let connector = match &dialer {
            Dialer::Netns(c) => Some(c.clone()),
            Dialer::Direct => None,
        };
        let mut proxies = Vec::with_capacity(servers.len());
        for &(server, upstream) in servers {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .map_err(|e| Error::io("binding a proxy listener", e))?;
            let listen = listener
                .local_addr()
                .map_err(|e| Error::io("reading a proxy address", e))?;
            let (faults, _) = watch::channel(Faults::default());
            let ctl = Arc::new(Ctl {
                faults,
                stats: Stats::default(),
            });
            let task = tokio::spawn(accept_loop(
                listener,
                upstream,
                dialer.clone(),
                Arc::clone(&ctl),
                Arc::clone(&shared),
            ))
            .abort_handle();
            proxies.push(Proxy {
                server,
                listen,
                ctl,
                task,
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                proxies,
                shared,
                connector,
            }),
        })
    }

    /// The endpoint's name.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { assert!(!ep.name().is_empty()); }
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// `127.0.0.1:<port>,...` with one proxy per server, in server order.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { assert!(ep.connect_string().starts_with("127.0.0.1:")); }
    /// ```
    pub fn connect_string(&self) -> String {
        self.inner
            .proxies
            .iter()
            .map(|p| p.listen.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The proxy address in front of `server`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { let _ = ep.addr(1); }
    /// ```
    pub fn addr(&self, server: ServerId) -> Option<SocketAddr> {
        self.proxy(server).map(|p| p.listen)
    }

    /// The proxy addresses, in server order.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { assert!(!ep.addrs().is_empty()); }
    /// ```
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.inner.proxies.iter().map(|p| p.listen).collect()
    }

    /// The connector of the endpoint's network namespace ([`NetMode::Netns`] only), for a
    /// client that should connect to the servers directly from inside it.
    ///
    /// [`NetMode::Netns`]: crate::NetMode::Netns
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { let _ = ep.connector(); }
    /// ```
    pub fn connector(&self) -> Option<NetnsConnector> {
        self.inner.connector.clone()
    }

    /// Counters summed over the endpoint's proxies.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { let _ = ep.stats().bytes_up; }
    /// ```
    pub fn stats(&self) -> ProxyStats {
        let mut out = ProxyStats::default();
        for p in &self.inner.proxies {
            let s = &p.ctl.stats;
            out.accepted += s.accepted.load(Ordering::Relaxed);
            out.refused += s.refused.load(Ordering::Relaxed);
            out.bytes_up += s.bytes_up.load(Ordering::Relaxed);
            out.bytes_down += s.bytes_down.load(Ordering::Relaxed);
            out.writes_down += s.writes_down.load(Ordering::Relaxed);
            out.max_write_down = out
                .max_write_down
                .max(s.max_write_down.load(Ordering::Relaxed));
            out.dropped_replies += s.dropped_replies.load(Ordering::Relaxed);
        }
        out
    }

    fn proxy(&self, server: ServerId) -> Option<&Proxy> {
        self.inner.proxies.iter().find(|p| p.server == server)
    }

    fn all(&self) -> Vec<Arc<Ctl>> {
        self.inner
            .proxies
            .iter()
            .map(|p| Arc::clone(&p.ctl))
            .collect()
    }

    fn one(&self, server: ServerId) -> Result<Vec<Arc<Ctl>>> {
        self.proxy(server)
            .map(|p| vec![Arc::clone(&p.ctl)])
            .ok_or(Error::UnknownServer(server))
    }

    /// Delays every chunk by `up` towards the servers and by `down` towards the client.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) {
    /// let _slow = ep.latency(std::time::Duration::from_millis(50), std::time::Duration::from_millis(50));
    /// # }
    /// ```
    pub fn latency(&self, up: Duration, down: Duration) -> FaultGuard {
        let t = token();
        slot_guard(
            "latency",
            self.all(),
            move |f| f.latency = Some((t, up, down)),
            move |f| {
                if f.latency.is_some_and(|l| l.0 == t) {
                    f.latency = None;
                }
            },
        )
    }

    /// Holds every byte in both directions on all proxies: no delivery, no FIN, no RST.
    /// Connections stay open; held bytes are delivered after the heal. Models a partition
    /// of this client, or a long pause.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) {
    /// let hole = ep.blackhole();
    /// drop(hole); // healed
    /// # }
    /// ```
    pub fn blackhole(&self) -> FaultGuard {
        blackhole_guard(self.all())
    }

    /// Like [`blackhole`](Self::blackhole), for the proxy in front of one server only.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] when `server` is not in the ensemble.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) -> zk_testkit::Result<()> {
    /// let _hole = ep.blackhole_server(2)?;
    /// # Ok(()) }
    /// ```
    pub fn blackhole_server(&self, server: ServerId) -> Result<FaultGuard> {
        Ok(blackhole_guard(self.one(server)?))
    }

    /// Resets (RST, SO_LINGER 0) every open connection through this endpoint, on both the
    /// client side and the server side. New connections work as before.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { ep.reset_all(); }
    /// ```
    pub fn reset_all(&self) {
        for ctl in self.all() {
            ctl.faults.send_modify(|f| f.reset_epoch += 1);
        }
    }

    /// Resets every open connection to one server.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownServer`] when `server` is not in the ensemble.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) -> zk_testkit::Result<()> { ep.reset_server(1) }
    /// ```
    pub fn reset_server(&self, server: ServerId) -> Result<()> {
        for ctl in self.one(server)? {
            ctl.faults.send_modify(|f| f.reset_epoch += 1);
        }
        Ok(())
    }

    /// Accepts new connections and resets them at once. Open connections are unaffected.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { let _no = ep.refuse_new(); }
    /// ```
    pub fn refuse_new(&self) -> FaultGuard {
        counter_guard(
            "refuse_new",
            self.all(),
            |f| f.refuse += 1,
            |f| f.refuse = f.refuse.saturating_sub(1),
        )
    }

    /// Writes in chunks of at most `max_chunk` bytes (at least 1), sleeping `pause` between
    /// chunks, in both directions. Exercises a decoder's handling of partial frames.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) {
    /// let _sliced = ep.slice(3, std::time::Duration::from_millis(1));
    /// # }
    /// ```
    pub fn slice(&self, max_chunk: usize, pause: Duration) -> FaultGuard {
        let t = token();
        let max_chunk = max_chunk.max(1);
        slot_guard(
            "slice",
            self.all(),
            move |f| f.slice = Some((t, max_chunk, pause)),
            move |f| {
                if f.slice.is_some_and(|s| s.0 == t) {
                    f.slice = None;
                }
            },
        )
    }

    /// Closes (FIN) every connection after it has delivered `bytes` bytes to the client,
    /// counted from the connection's start, mid-frame if that is where the count ends.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { let _cut = ep.cut_after(20); }
    /// ```
    pub fn cut_after(&self, bytes: u64) -> FaultGuard {
        let t = token();
        slot_guard(
            "cut_after",
            self.all(),
            move |f| f.cut_after = Some((t, bytes)),
            move |f| {
                if f.cut_after.is_some_and(|c| c.0 == t) {
                    f.cut_after = None;
                }
            },
        )
    }

    /// Loses the response to the `nth` request (1-based, counted across this endpoint's
    /// connections from now on; the handshake, pings, auth and set-watches frames do not
    /// count). The request reaches the server and is applied; the proxy swallows the reply
    /// and closes the connection at the reply's first byte, so the client sees a connection
    /// loss and never the result. Fires once per guard.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) {
    /// let _lost = ep.drop_reply(1); // the next create "fails" although it happened
    /// # }
    /// ```
    pub fn drop_reply(&self, nth: u64) -> FaultGuard {
        let t = token();
        let arm = Arc::new(DropReply {
            token: t,
            nth: nth.max(1),
            seen: AtomicU64::new(0),
        });
        if let Ok(mut slot) = self.inner.shared.drop_reply.lock() {
            *slot = Some(arm);
        }
        let shared = Arc::clone(&self.inner.shared);
        FaultGuard::new("drop_reply", move || {
            if let Ok(mut slot) = shared.drop_reply.lock() {
                if slot.as_ref().is_some_and(|a| a.token == t) {
                    *slot = None;
                }
            }
        })
    }

    /// Forces a session expiry the way a network partition does: blackholes the client for
    /// 1.5 × `session_timeout`, then heals.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(ep: &zk_testkit::ClientEndpoint) {
    /// ep.expire_by_blackhole(std::time::Duration::from_secs(2)).await;
    /// # }
    /// ```
    pub async fn expire_by_blackhole(&self, session_timeout: Duration) {
        let hole = self.blackhole();
        tokio::time::sleep(session_timeout.mul_f64(1.5)).await;
        drop(hole);
    }
}

/// A fault in force; the fault heals when the guard is dropped.
///
/// # Examples
///
/// ```no_run
/// # fn _demo(ep: &zk_testkit::ClientEndpoint) {
/// let guard = ep.refuse_new();
/// assert_eq!(guard.kind(), "refuse_new");
/// guard.heal();
/// # }
/// ```
#[must_use = "the fault heals as soon as the guard is dropped"]
pub struct FaultGuard {
    kind: &'static str,
    undo: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl fmt::Debug for FaultGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultGuard")
            .field("kind", &self.kind)
            .finish()
    }
}

impl FaultGuard {
    fn new(kind: &'static str, undo: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self {
            kind,
            undo: Some(Box::new(undo)),
        }
    }

    /// Which fault this guard holds (`"latency"`, `"blackhole"`, ...).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { assert_eq!(ep.blackhole().kind(), "blackhole"); }
    /// ```
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Heals the fault now (same as dropping the guard).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: &zk_testkit::ClientEndpoint) { ep.blackhole().heal(); }
    /// ```
    pub fn heal(self) {}
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        if let Some(undo) = self.undo.take() {
            undo();
        }
    }
}

fn slot_guard(
    kind: &'static str,
    ctls: Vec<Arc<Ctl>>,
    set: impl Fn(&mut Faults),
    clear: impl Fn(&mut Faults) + Send + Sync + 'static,
) -> FaultGuard {
    for c in &ctls {
        c.faults.send_modify(&set);
    }
    FaultGuard::new(kind, move || {
        for c in &ctls {
            c.faults.send_modify(&clear);
        }
    })
}

fn counter_guard(
    kind: &'static str,
    ctls: Vec<Arc<Ctl>>,
    inc: impl Fn(&mut Faults),
    dec: impl Fn(&mut Faults) + Send + Sync + 'static,
) -> FaultGuard {
    slot_guard(kind, ctls, inc, dec)
}

fn blackhole_guard(ctls: Vec<Arc<Ctl>>) -> FaultGuard {
    counter_guard(
        "blackhole",
        ctls,
        |f| f.blackhole += 1,
        |f| f.blackhole = f.blackhole.saturating_sub(1),
    )
}
