//! The receive low-water mark (`SO_RCVLOWAT`) of a plain TCP connection.
//!
//! While many replies are due, waking the session task for every segment the server sends
//! costs a wake-up, a read and a write per two or three replies. Every reply frame is at
//! least [`MIN_REPLY_FRAME`] bytes, so with `n` requests in flight at least
//! `MIN_REPLY_FRAME * (n - 1)` more bytes are certain to come (one reply may already be
//! partly read). The task asks the kernel to wake it only once that much has arrived,
//! rounded down to a power of two and at most a cap ([`MAX_MARK`] unless
//! [`ClientBuilder::max_receive_low_water`](crate::ClientBuilder::max_receive_low_water)
//! says otherwise), so each wake-up delivers several replies and the requests they lead to
//! go out in one write. Below [`MIN_MARK`] bytes the mark stays at the kernel's default of
//! one byte, so one-at-a-time traffic sees no added latency.
//!
//! The cap trades client CPU against the server's pace, and where the balance lies depends
//! on how busy the server is; the measurements are in `max_receive_low_water`'s docs. A
//! 2 KiB cap read about a sixth fewer replies per second than no mark at all, and 1 KiB
//! fell behind 768 bytes in peerbench runs, which is why the default is 768 bytes.
//!
//! A server that stops answering part-way must not leave replies unread in the kernel: when
//! nothing has been read for [`LINGER`] while the mark is raised, the mark drops back to one
//! byte, and Linux signals readability at once if data is waiting. It is raised again only
//! after that data is read: epoll checks readiness when it reports an event, so raising the
//! mark first would swallow the signal.

use std::pin::Pin;
use std::task::Context;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::connector::Connection;

/// The smallest reply frame: a 4-byte length and a 16-byte reply header.
pub(crate) const MIN_REPLY_FRAME: usize = 20;
/// Marks below this are not worth a system call.
pub(crate) const MIN_MARK: usize = 512;
/// The default highest mark: about four getData replies of a 100-byte node.
pub(crate) const MAX_MARK: usize = 768;
/// How long a raised mark may go without a read before it drops back.
pub(crate) const LINGER: Duration = Duration::from_millis(2);

/// The socket under `conn` when it is a plain [`TcpStream`].
pub(crate) fn plain_tcp(conn: &dyn Connection) -> Option<&TcpStream> {
    conn.as_any().downcast_ref()
}

/// Reads in a row without a watchdog drop after which the cap doubles again.
const CALM_READS: u32 = 64;

/// The mark for `in_flight` requests awaiting replies: the bytes certain to come, rounded
/// down to a power of two (so it changes rarely) and at most `cap`, or 1 when that or
/// `cap` is below [`MIN_MARK`].
pub(crate) fn mark_for(in_flight: usize, cap: usize) -> usize {
    let certain = MIN_REPLY_FRAME * in_flight.saturating_sub(1);
    if certain < MIN_MARK || cap < MIN_MARK {
        return 1;
    }
    let floor = 1usize << (usize::BITS - 1 - certain.leading_zeros());
    floor.min(cap)
}

/// The mark of the current connection and the timer that lowers it.
pub(crate) struct LowWater {
    /// The mark set on the socket (1 is the kernel's default).
    current: usize,
    /// The highest mark for now: halved when the watchdog has to drop the mark (the
    /// server sends less at a time than the mark asks for, say while its congestion
    /// window is small), doubled back after [`CALM_READS`] reads without a drop.
    cap: usize,
    calm_reads: u32,
    /// The highest cap, from [`ClientBuilder::max_receive_low_water`](crate::ClientBuilder::max_receive_low_water).
    max: usize,
    /// False once setting it failed; the connection keeps the default then.
    enabled: bool,
    last_read: Instant,
    /// Set when the watchdog dropped the mark, until the next read: raising it again
    /// before then would hide the readiness that dropping it signalled.
    dropped: bool,
    watchdog: Pin<Box<Sleep>>,
    armed: bool,
}

impl std::fmt::Debug for LowWater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LowWater")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl LowWater {
    /// A mark of at most `max` bytes; below [`MIN_MARK`] the mark is never raised.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            current: 1,
            cap: max,
            calm_reads: 0,
            max,
            enabled: true,
            last_read: Instant::now(),
            dropped: false,
            watchdog: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            armed: false,
        }
    }

    /// A new connection starts with the kernel's default.
    pub(crate) fn reset(&mut self) {
        self.current = 1;
        self.cap = self.max;
        self.calm_reads = 0;
        self.enabled = true;
        self.dropped = false;
        self.armed = false;
    }

    /// Notes that bytes were read.
    pub(crate) fn on_read(&mut self, now: Instant) {
        self.last_read = now;
        self.dropped = false;
        self.calm_reads += 1;
        if self.calm_reads >= CALM_READS && self.cap < self.max {
            self.cap = self.cap.saturating_mul(2).min(self.max);
            self.calm_reads = 0;
        }
    }

    /// Sets the mark for `in_flight` requests once the socket has been read dry.
    pub(crate) fn on_drained(
        &mut self,
        socket: Option<&TcpStream>,
        in_flight: usize,
        now: Instant,
    ) {
        let Some(socket) = socket else {
            return;
        };
        let want = mark_for(in_flight, self.cap);
        if want == self.current || !self.enabled || (self.dropped && want > 1) {
            return;
        }
        self.set(socket, want);
        if self.current > 1 && !self.armed {
            self.armed = true;
            let at = self.last_read.max(now) + LINGER;
            self.watchdog
                .as_mut()
                .reset(tokio::time::Instant::from_std(at));
        }
    }

    /// Drops a mark that has gone [`LINGER`] without a read; true when it did.
    pub(crate) fn poll_watchdog(
        &mut self,
        cx: &mut Context<'_>,
        socket: Option<&TcpStream>,
    ) -> bool {
        if !self.armed || self.watchdog.as_mut().poll(cx).is_pending() {
            return false;
        }
        let now = Instant::now();
        let Some(socket) = socket.filter(|_| self.current > 1) else {
            self.armed = false;
            return false;
        };
        if now.duration_since(self.last_read) < LINGER {
            // Reads came since it was armed: look again a linger after the last one.
            let at = self.last_read + LINGER;
            self.watchdog
                .as_mut()
                .reset(tokio::time::Instant::from_std(at));
            let _ = self.watchdog.as_mut().poll(cx);
            return false;
        }
        self.armed = false;
        self.dropped = true;
        self.cap = (self.cap / 2).max(MIN_MARK);
        self.calm_reads = 0;
        self.set(socket, 1);
        true
    }

    fn set(&mut self, socket: &TcpStream, mark: usize) {
        match set_rcvlowat(socket, mark) {
            Ok(()) => self.current = mark,
            Err(error) => {
                tracing::debug!(%error, "cannot set SO_RCVLOWAT; reading with the default");
                self.enabled = false;
            }
        }
    }

    /// The mark set on the socket.
    #[cfg(test)]
    pub(crate) fn current(&self) -> usize {
        self.current
    }
}

#[cfg(target_os = "linux")]
mod sockopt {
    // nix names no SO_RCVLOWAT option; its `sockopt_impl!` macro defines one, and the
    // setsockopt call it makes is nix's.
    use nix::{getsockopt_impl, libc, setsockopt_impl, sockopt_impl};

    sockopt_impl!(
        /// `SO_RCVLOWAT`: the fewest bytes that make the socket readable.
        RcvLowat,
        Both,
        libc::SOL_SOCKET,
        libc::SO_RCVLOWAT,
        usize
    );
}

#[cfg(target_os = "linux")]
fn set_rcvlowat(socket: &TcpStream, mark: usize) -> std::io::Result<()> {
    nix::sys::socket::setsockopt(socket, sockopt::RcvLowat, &mark).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn set_rcvlowat(_socket: &TcpStream, _mark: usize) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// The mark on a socket, for tests.
#[cfg(all(test, target_os = "linux"))]
fn get_rcvlowat(socket: &TcpStream) -> usize {
    nix::sys::socket::getsockopt(socket, sockopt::RcvLowat).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_the_certain_bytes_rounded_down_to_a_power_of_two() {
        assert_eq!(mark_for(0, MAX_MARK), 1);
        assert_eq!(mark_for(1, MAX_MARK), 1);
        assert_eq!(
            mark_for(26, MAX_MARK),
            1,
            "500 certain bytes is below the minimum"
        );
        assert_eq!(mark_for(27, MAX_MARK), 512);
        assert_eq!(mark_for(52, 8192), 512);
        assert_eq!(mark_for(53, 8192), 1024);
        assert_eq!(mark_for(256, 8192), 4096);
        assert_eq!(mark_for(256, 512), 512);
        assert_eq!(mark_for(100_000, MAX_MARK), MAX_MARK);
        for n in 0..2_000 {
            let mark = mark_for(n, MAX_MARK);
            assert!(
                mark == 1 || mark.is_power_of_two() || mark == MAX_MARK,
                "a power of two unless capped"
            );
            assert!(
                mark <= MIN_REPLY_FRAME * n.saturating_sub(1).max(1),
                "n = {n}"
            );
        }
    }

    #[test]
    fn a_cap_below_the_minimum_turns_the_mark_off_and_any_other_cap_bounds_it() {
        for n in [0, 1, 27, 256, 100_000] {
            assert_eq!(mark_for(n, 0), 1, "n = {n}");
            assert_eq!(mark_for(n, MIN_MARK - 1), 1, "n = {n}");
        }
        assert_eq!(mark_for(256, 768), 768);
        assert_eq!(mark_for(27, 768), 512, "the certain bytes still bound it");
        assert_eq!(mark_for(100_000, 1 << 20), 1 << 20);
    }

    #[tokio::test]
    async fn calm_reads_double_the_cap_back_to_the_configured_maximum_and_no_further() {
        let mut mark = LowWater::new(3000);
        assert_eq!(mark.cap, 3000);
        mark.cap = 750;
        let mut caps = Vec::new();
        for _ in 0..3 {
            for _ in 0..CALM_READS {
                mark.on_read(Instant::now());
            }
            caps.push(mark.cap);
        }
        assert_eq!(caps, [1500, 3000, 3000]);
        mark.reset();
        assert_eq!(mark.cap, 3000);
    }

    /// A connected client socket and the server's end of it.
    #[cfg(target_os = "linux")]
    async fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (client.unwrap(), server.unwrap().0)
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_cap_below_the_minimum_leaves_the_socket_at_the_default() {
        let (client, _server) = socket_pair().await;
        let mut mark = LowWater::new(0);
        mark.on_drained(Some(&client), 10_000, Instant::now());
        assert_eq!(mark.current(), 1);
        assert_eq!(get_rcvlowat(&client), 1);
        let mut capped = LowWater::new(768);
        capped.on_drained(Some(&client), 10_000, Instant::now());
        assert_eq!(get_rcvlowat(&client), 768);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn raised_then_dropped_by_the_watchdog() {
        let (client, mut server) = socket_pair().await;
        let client: crate::connector::BoxConnection = Box::new(client);
        let client = plain_tcp(&*client).expect("a boxed TcpStream is plain TCP");
        let mut mark = LowWater::new(MAX_MARK);
        mark.on_drained(Some(client), 256, Instant::now());
        assert_eq!(mark.current(), MAX_MARK);
        assert_eq!(get_rcvlowat(client), MAX_MARK);
        // Fewer bytes than the mark arrive: the socket does not become readable...
        tokio::io::AsyncWriteExt::write_all(&mut server, &[7; 100])
            .await
            .unwrap();
        let early = tokio::time::timeout(Duration::from_millis(50), client.readable()).await;
        assert!(early.is_err(), "readable below the mark");
        // ... until, with nothing read, the watchdog puts the default back after LINGER.
        let dropped = std::future::poll_fn(|cx| {
            if mark.poll_watchdog(cx, Some(client)) {
                std::task::Poll::Ready(true)
            } else {
                std::task::Poll::Pending
            }
        });
        assert!(
            tokio::time::timeout(Duration::from_secs(5), dropped)
                .await
                .unwrap()
        );
        assert_eq!(get_rcvlowat(client), 1);
        assert_eq!(
            mark.cap,
            (MAX_MARK / 2).max(MIN_MARK),
            "a drop halves the cap, down to the minimum"
        );
        // Not raised again before a read, which would hide the readiness just signalled.
        mark.on_drained(Some(client), 256, Instant::now());
        assert_eq!(get_rcvlowat(client), 1);
        tokio::time::timeout(Duration::from_secs(5), client.readable())
            .await
            .expect("readable once the mark is back to one byte")
            .unwrap();
        mark.on_read(Instant::now());
        mark.on_drained(Some(client), 256, Instant::now());
        assert_eq!(
            get_rcvlowat(client),
            (MAX_MARK / 2).max(MIN_MARK),
            "raised again, to the halved cap"
        );
        mark.on_drained(Some(client), 10, Instant::now());
        assert_eq!(mark.current(), 1);
        assert_eq!(get_rcvlowat(client), 1);
        // Calm reads double the cap back.
        for _ in 0..CALM_READS {
            mark.on_read(Instant::now());
        }
        assert_eq!(mark.cap, MAX_MARK);
    }
}
