//! [`Transport`]: one connection's socket and its read and write buffers, polled the way
//! tokio-util's `FramedRead` / `FramedWrite` poll theirs: read into a buffer the session
//! consumes, write out a buffer the session fills, flush.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;

use tokio::net::TcpStream;

use crate::connector::BoxConnection;

/// How much is read at a time.
pub(crate) const READ_CHUNK: usize = 16 * 1024;
/// The most buffer an idle connection keeps: a buffer grown for a large request or reply is
/// given back once it is empty, so one 1 MB frame does not pin 1 MB for the connection's life.
const RETAINED_BUFFER: usize = 64 * 1024;
const WRITE_BUFFER: usize = 4096;

/// A connection and its buffers; dropped with the connection.
pub(crate) struct Transport {
    conn: BoxConnection,
    /// Bytes received and not yet consumed by the session.
    read: BytesMut,
    /// Bytes the session framed, written from `written` on.
    write: BytesMut,
    written: usize,
    needs_flush: bool,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("read", &self.read.len())
            .field("write", &(self.write.len() - self.written))
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(conn: BoxConnection) -> Self {
        Self {
            conn,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::with_capacity(WRITE_BUFFER),
            written: 0,
            needs_flush: false,
        }
    }

    /// The socket, when the connection is plain TCP (for the receive low-water mark).
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        crate::low_water::plain_tcp(&*self.conn)
    }

    /// Reads once into the read buffer: the number of bytes read (0 at EOF), and whether
    /// the read filled the room it had (more may be waiting).
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(usize, bool)>> {
        make_read_room(&mut self.read);
        let room = self.read.capacity() - self.read.len();
        tokio_util::io::poll_read_buf(Pin::new(&mut *self.conn), cx, &mut self.read)
            .map_ok(|n| (n, n >= room))
    }

    /// The bytes received and not yet consumed.
    pub(crate) fn read_buffer(&mut self) -> &mut BytesMut {
        &mut self.read
    }

    /// The buffer the session frames requests into.
    pub(crate) fn write_buffer(&mut self) -> &mut BytesMut {
        &mut self.write
    }

    /// Whether framed bytes are still waiting to be written.
    pub(crate) fn has_unwritten(&self) -> bool {
        !self.write.is_empty()
    }

    /// Writes the write buffer out: `Ready(Ok(true))` once it is all written (and the
    /// buffer is empty again), `Ready(Ok(false))` when nothing was waiting.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.write.is_empty() {
            return Poll::Ready(Ok(false));
        }
        while self.written < self.write.len() {
            let n = match Pin::new(&mut *self.conn).poll_write(cx, &self.write[self.written..]) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => result?,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
            self.needs_flush = true;
        }
        shrink_written(&mut self.write);
        self.written = 0;
        Poll::Ready(Ok(true))
    }

    /// Flushes what was written.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.needs_flush {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut *self.conn).poll_flush(cx).map_ok(|()| {
            self.needs_flush = false;
        })
    }
}

/// Makes room for the next read. An empty buffer that has grown past [`RETAINED_BUFFER`],
/// or is short of room, gets a new allocation: reserving would reclaim the old one, which
/// may have grown for a large reply.
fn make_read_room(read: &mut BytesMut) {
    let short = read.capacity() - read.len() < READ_CHUNK / 4;
    if read.is_empty() && (short || read.capacity() > RETAINED_BUFFER) {
        *read = BytesMut::with_capacity(READ_CHUNK);
    } else if short {
        read.reserve(READ_CHUNK);
    }
}

/// Gives back a written-out buffer that grew past [`RETAINED_BUFFER`].
fn shrink_written(write: &mut BytesMut) {
    write.clear();
    if write.capacity() > RETAINED_BUFFER {
        *write = BytesMut::with_capacity(WRITE_BUFFER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_read_buffer_does_not_reclaim_a_large_allocation() {
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        // A 1 MiB reply arrives; the buffer grows for it and the reply is split off.
        rbuf.resize(1 << 20, 7);
        let reply = rbuf.split().freeze();
        drop(reply);
        make_read_room(&mut rbuf);
        assert!(rbuf.capacity() >= READ_CHUNK / 4);
        assert!(rbuf.capacity() <= RETAINED_BUFFER, "{}", rbuf.capacity());
        // An empty buffer with much room left from a large reply is given back too.
        let mut grown = BytesMut::with_capacity(1 << 20);
        make_read_room(&mut grown);
        assert_eq!(grown.capacity(), READ_CHUNK);
        // A partial frame that fills the buffer keeps its bytes and gets room after them.
        rbuf.clear();
        let partial: Vec<u8> = (0..rbuf.capacity() - 10).map(|i| i as u8).collect();
        rbuf.extend_from_slice(&partial);
        make_read_room(&mut rbuf);
        assert_eq!(&rbuf[..], &partial[..]);
        assert!(rbuf.capacity() - rbuf.len() >= READ_CHUNK);
    }

    #[test]
    fn a_written_buffer_gives_back_what_a_large_request_grew() {
        let mut wbuf = BytesMut::with_capacity(WRITE_BUFFER);
        wbuf.resize(1 << 20, 7);
        shrink_written(&mut wbuf);
        assert!(wbuf.is_empty());
        assert_eq!(wbuf.capacity(), WRITE_BUFFER);
        // Within the limit it is kept, allocation and all.
        wbuf.resize(RETAINED_BUFFER, 7);
        let capacity = wbuf.capacity();
        shrink_written(&mut wbuf);
        assert_eq!(wbuf.capacity(), capacity);
    }
}
