//! One proxied connection: four pumps (read and write, each direction) in one task, the
//! fault checks on every chunk, and the frame scanner behind lost replies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Ctl, Faults, Shared};
use crate::net::Dialer;

/// Frames longer than this are not ZooKeeper frames (a four-letter word, for instance);
/// the proxy then stops looking for frame boundaries on that connection.
const MAX_FRAME: i32 = 64 * 1024 * 1024;
const NO_XID: i64 = i64::MIN;

fn set_zero_linger(stream: &TcpStream) {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = nix::sys::socket::setsockopt(stream, nix::sys::socket::sockopt::Linger, &linger);
}

pub(super) async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    dialer: Dialer,
    ctl: Arc<Ctl>,
    shared: Arc<Shared>,
) {
    let mut conns = JoinSet::new();
    loop {
        let accepted = listener.accept().await;
        while conns.try_join_next().is_some() {}
        let Ok((client, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        ctl.stats.accepted.fetch_add(1, Ordering::Relaxed);
        if ctl.faults.borrow().refuse > 0 {
            ctl.stats.refused.fetch_add(1, Ordering::Relaxed);
            set_zero_linger(&client);
            drop(client);
            continue;
        }
        conns.spawn(serve(
            client,
            upstream,
            dialer.clone(),
            Arc::clone(&ctl),
            Arc::clone(&shared),
        ));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

#[derive(Debug)]
enum Msg {
    Data(Instant, Bytes),
    Eof,
    Cut,
}

#[derive(Debug)]
enum End {
    Cut,
    Io,
}

#[derive(Debug)]
struct Conn {
    target_xid: AtomicI64,
    fired: AtomicBool,
}

async fn serve(
    client: TcpStream,
    upstream_addr: SocketAddr,
    dialer: Dialer,
    ctl: Arc<Ctl>,
    shared: Arc<Shared>,
) {
    let upstream = match dialer.connect(upstream_addr, Duration::from_secs(10)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("proxy cannot reach {upstream_addr}: {e}");
            set_zero_linger(&client);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let mut client = client;
    let mut upstream = upstream;
    let rx = ctl.faults.subscribe();
    let epoch = rx.borrow().reset_epoch;
    let conn = Conn {
        target_xid: AtomicI64::new(NO_XID),
        fired: AtomicBool::new(false),
    };
    let reset = {
        let (cr, cw) = client.split();
        let (ur, uw) = upstream.split();
        let (up_tx, up_rx) = mpsc::unbounded_channel();
        let (down_tx, down_rx) = mpsc::unbounded_channel();
        let pipes = async {
            tokio::try_join!(
                read_side(cr, up_tx, Dir::Up, rx.clone(), &conn, &ctl, &shared),
                write_side(uw, up_rx, Dir::Up, rx.clone(), &ctl),
                read_side(ur, down_tx, Dir::Down, rx.clone(), &conn, &ctl, &shared),
                write_side(cw, down_rx, Dir::Down, rx.clone(), &ctl),
            )
        };
        let mut reset_rx = rx.clone();
        tokio::select! {
            r = pipes => {
                if let Err(e) = r {
                    tracing::debug!("proxy connection ended: {e:?}");
                }
                false
            }
            changed = reset_rx.wait_for(|f| f.reset_epoch != epoch) => changed.is_ok(),
        }
    };
    if reset {
        set_zero_linger(&client);
        set_zero_linger(&upstream);
    } else {
        let _ = client.shutdown().await;
        let _ = upstream.shutdown().await;
    }
}

async fn read_side<R: AsyncRead + Unpin>(
    mut src: R,
    tx: mpsc::UnboundedSender<Msg>,
    dir: Dir,
    mut rx: watch::Receiver<Faults>,
    conn: &Conn,
    ctl: &Ctl,
    shared: &Shared,
) -> Result<(), End> {
    let mut scanner = FrameScanner::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if rx.wait_for(|f| f.blackhole == 0).await.is_err() {
            return Err(End::Io);
        }
        let n = src.read(&mut buf).await.map_err(|_| End::Io)?;
        if n == 0 {
            let _ = tx.send(Msg::Eof);
            return Ok(());
        }
        let (up, down) = rx
            .borrow()
            .latency
            .map_or((Duration::ZERO, Duration::ZERO), |l| (l.1, l.2));
        let delay = if dir == Dir::Up { up } else { down };
        let deadline = Instant::now() + delay;
        let (out, cut) = match dir {
            Dir::Up => scanner.feed(&buf[..n], |index, xid| {
                arm_target(index, xid, conn, shared);
                false
            }),
            Dir::Down => scanner.feed(&buf[..n], |index, xid| {
                let target = conn.target_xid.load(Ordering::SeqCst);
                let hit = index > 0
                    && target != NO_XID
                    && xid.map(i64::from) == Some(target)
                    && !conn.fired.swap(true, Ordering::SeqCst);
                if hit {
                    ctl.stats.dropped_replies.fetch_add(1, Ordering::Relaxed);
                }
                hit
            }),
        };
        if !out.is_empty() && tx.send(Msg::Data(deadline, out)).is_err() {
            return Err(End::Io);
        }
        if cut {
            let _ = tx.send(Msg::Cut);
            return Ok(());
        }
    }
}

/// Counts a request and, when it is the armed n-th one, remembers its xid.
fn arm_target(index: u64, xid: Option<i32>, conn: &Conn, shared: &Shared) {
    let Some(xid) = xid else { return };
    // Frame 0 is the ConnectRequest; negative xids are pings, auth and set-watches.
    if index == 0 || xid <= 0 {
        return;
    }
    let arm = shared.drop_reply.lock().ok().and_then(|s| s.clone());
    let Some(arm) = arm else { return };
    let n = arm.seen.fetch_add(1, Ordering::SeqCst) + 1;
    if n == arm.nth {
        conn.target_xid.store(i64::from(xid), Ordering::SeqCst);
    }
}

async fn write_side<W: AsyncWrite + Unpin>(
    mut dst: W,
    mut queue: mpsc::UnboundedReceiver<Msg>,
    dir: Dir,
    mut rx: watch::Receiver<Faults>,
    ctl: &Ctl,
) -> Result<(), End> {
    let mut written: u64 = 0;
    while let Some(msg) = queue.recv().await {
        match msg {
            Msg::Data(deadline, bytes) => {
                tokio::time::sleep_until(deadline).await;
                if rx.wait_for(|f| f.blackhole == 0).await.is_err() {
                    return Err(End::Io);
                }
                let faults = rx.borrow().clone();
                let mut data = bytes;
                let mut cut = false;
                if dir == Dir::Down {
                    if let Some((_, limit)) = faults.cut_after {
                        let left = limit.saturating_sub(written);
                        if data.len() as u64 >= left {
                            data.truncate(usize::try_from(left).unwrap_or(usize::MAX));
                            cut = true;
                        }
                    }
                }
                match faults.slice {
                    Some((_, max_chunk, pause)) => {
                        while data.has_remaining() {
                            let piece = data.split_to(max_chunk.min(data.len()));
                            write_counted(&mut dst, &piece, dir, ctl).await?;
                            written += piece.len() as u64;
                            if data.has_remaining() {
                                tokio::time::sleep(pause).await;
                            }
                        }
                    }
                    None => {
                        write_counted(&mut dst, &data, dir, ctl).await?;
                        written += data.len() as u64;
                    }
                }
                if cut {
                    return Err(End::Cut);
                }
            }
            Msg::Eof => {
                let _ = dst.shutdown().await;
                return Ok(());
            }
            Msg::Cut => return Err(End::Cut),
        }
    }
    Ok(())
}

async fn write_counted<W: AsyncWrite + Unpin>(
    dst: &mut W,
    data: &[u8],
    dir: Dir,
    ctl: &Ctl,
) -> Result<(), End> {
    if data.is_empty() {
        return Ok(());
    }
    dst.write_all(data).await.map_err(|_| End::Io)?;
    dst.flush().await.map_err(|_| End::Io)?;
    let n = data.len() as u64;
    match dir {
        Dir::Up => {
            ctl.stats.bytes_up.fetch_add(n, Ordering::Relaxed);
        }
        Dir::Down => {
            ctl.stats.bytes_down.fetch_add(n, Ordering::Relaxed);
            ctl.stats.writes_down.fetch_add(1, Ordering::Relaxed);
            ctl.stats.max_write_down.fetch_max(n, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Follows ZooKeeper's 4-byte length framing on a byte stream without changing it, so the
/// proxy knows where each frame starts and which xid it carries. Incomplete frame headers
/// (fewer than 8 bytes) are held back until the rest arrives, so a frame can be cut before
/// its first byte. Anything that does not look like framing (a four-letter word) turns the
/// scanner off for the connection.
#[derive(Debug, Default)]
struct FrameScanner {
    held: BytesMut,
    remaining: usize,
    index: u64,
    off: bool,
}

impl FrameScanner {
    /// Feeds a chunk; `on_header(index, xid)` returns true to cut the stream right before
    /// that frame. Returns the bytes to forward and whether to cut after them.
    fn feed(
        &mut self,
        chunk: &[u8],
        mut on_header: impl FnMut(u64, Option<i32>) -> bool,
    ) -> (Bytes, bool) {
        self.held.extend_from_slice(chunk);
        let mut out = BytesMut::with_capacity(self.held.len());
        loop {
            if self.off {
                out.extend_from_slice(&self.held.split());
                return (out.freeze(), false);
            }
            if self.remaining > 0 {
                let take = self.remaining.min(self.held.len());
                out.extend_from_slice(&self.held.split_to(take));
                self.remaining -= take;
                if self.held.is_empty() {
                    return (out.freeze(), false);
                }
                continue;
            }
            if self.held.len() < 4 {
                return (out.freeze(), false);
            }
            let len = i32::from_be_bytes([self.held[0], self.held[1], self.held[2], self.held[3]]);
            if !(0..=MAX_FRAME).contains(&len) {
                self.off = true;
                continue;
            }
            let len = usize::try_from(len).unwrap_or(0);
            let header = 4 + len.min(4);
            if self.held.len() < header {
                return (out.freeze(), false);
            }
            let xid = (len >= 4).then(|| {
                i32::from_be_bytes([self.held[4], self.held[5], self.held[6], self.held[7]])
            });
            let index = self.index;
            self.index += 1;
            if on_header(index, xid) {
                self.held.clear();
                return (out.freeze(), true);
            }
            out.extend_from_slice(&self.held.split_to(header));
            self.remaining = 4 + len - header;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(xid: i32, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let len = i32::try_from(4 + body.len()).expect("len");
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&xid.to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn scanner_passes_bytes_through_and_sees_every_header() {
        let mut stream = frame(0, &[9; 30]);
        stream.extend(frame(1, &[1, 2, 3]));
        stream.extend(frame(2, &[]));
        let mut seen = Vec::new();
        let mut s = FrameScanner::default();
        let mut out = Vec::new();
        for piece in stream.chunks(3) {
            let (fwd, cut) = s.feed(piece, |i, x| {
                seen.push((i, x));
                false
            });
            assert!(!cut);
            out.extend_from_slice(&fwd);
        }
        assert_eq!(out, stream);
        assert_eq!(seen, vec![(0, Some(0)), (1, Some(1)), (2, Some(2))]);
    }

    #[test]
    fn scanner_cuts_before_the_target_frame() {
        let mut stream = frame(0, &[9; 10]);
        let first = stream.len();
        stream.extend(frame(7, &[1, 2, 3]));
        let mut s = FrameScanner::default();
        let mut out = Vec::new();
        let mut cut = false;
        for piece in stream.chunks(5) {
            let (fwd, c) = s.feed(piece, |_, x| x == Some(7));
            out.extend_from_slice(&fwd);
            if c {
                cut = true;
                break;
            }
        }
        assert!(cut);
        assert_eq!(out.len(), first);
    }

    #[test]
    fn scanner_turns_off_for_four_letter_words() {
        let mut s = FrameScanner::default();
        let (fwd, cut) = s.feed(b"srvr", |_, _| true);
        assert!(!cut);
        assert_eq!(&fwd[..], b"srvr");
    }
}
