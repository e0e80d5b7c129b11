//! Length-prefixed framing: every message is a 4-byte big-endian length and that many bytes.
//!
//! [`FrameDecoder`] follows the `tokio_util::codec::Decoder` contract (`Ok(None)` means
//! "need more bytes") without depending on tokio; [`encode_frame`] appends frames to one
//! buffer so many requests go out in a single write.
//!
//! ```
//! use bytes::BytesMut;
//! use zk_proto::frame::{encode_frame, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
//! use zk_proto::{OpCode, records::RequestHeader};
//!
//! let mut out = BytesMut::new();
//! for xid in 1..=3 {
//!     encode_frame(&mut out, &RequestHeader { xid, op_code: OpCode::Ping }, DEFAULT_MAX_FRAME_LEN)?;
//! }
//! assert_eq!(out.len(), 3 * 12);
//!
//! let mut decoder = FrameDecoder::default();
//! let mut frames = 0;
//! while let Some(frame) = decoder.decode(&mut out)? {
//!     assert_eq!(frame.len(), 8);
//!     frames += 1;
//! }
//! assert_eq!(frames, 3);
//! # Ok::<(), zk_proto::frame::FrameError>(())
//! ```

use bytes::{Buf, BufMut, BytesMut};

use crate::Record;

/// The Java client's and the server's default `jute.maxbuffer`: 1,048,575 bytes.
pub const DEFAULT_MAX_FRAME_LEN: usize = 0xfffff;

/// The length prefix size.
pub const HEADER_LEN: usize = 4;

/// A frame that cannot be read or written.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is longer than the configured maximum.
    #[error("frame length {len} exceeds max {max}")]
    TooLong {
        /// The frame's length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The length prefix is negative.
    #[error("negative frame length {0}")]
    NegativeLength(i32),
}

#[derive(Clone, Copy, Debug)]
enum State {
    Head,
    Body(usize),
    /// An oversized frame of this length whose first bytes are awaited.
    OversizedHead(usize),
    /// Bytes of an oversized frame left to discard.
    Skip(usize),
}

/// What [`FrameDecoder::decode_or_skip`] took off the stream.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Decoded {
    /// A whole frame, without its length prefix.
    Frame(BytesMut),
    /// A frame longer than the maximum: only its first bytes are kept and the rest is
    /// discarded as it arrives, so the stream stays in step and no memory is reserved.
    Oversized {
        /// The frame's first bytes (as many as
        /// [`keep_oversized_head`](FrameDecoder::keep_oversized_head) asked for).
        head: BytesMut,
        /// The frame's whole length.
        len: usize,
    },
}

/// Splits a byte stream into frames, checking each length before reserving memory.
///
/// ```
/// use bytes::BytesMut;
/// use zk_proto::frame::{FrameDecoder, FrameError};
///
/// let mut decoder = FrameDecoder::new(16);
/// let mut input = BytesMut::from(&[0, 0, 0, 2, b'h'][..]);
/// assert_eq!(decoder.decode(&mut input)?, None); // need one more byte
/// input.extend_from_slice(b"i");
/// assert_eq!(decoder.decode(&mut input)?.as_deref(), Some(&b"hi"[..]));
///
/// let mut oversized = BytesMut::from(&[0, 0, 1, 0][..]);
/// assert_eq!(decoder.decode(&mut oversized), Err(FrameError::TooLong { len: 256, max: 16 }));
/// # Ok::<(), FrameError>(())
/// ```
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    state: State,
    max_len: usize,
    oversized_head: Option<usize>,
}

impl FrameDecoder {
    /// A decoder accepting frames of up to `max_len` bytes (not counting the prefix).
    pub const fn new(max_len: usize) -> Self {
        Self {
            state: State::Head,
            max_len,
            oversized_head: None,
        }
    }

    /// Makes [`decode_or_skip`](Self::decode_or_skip) survive frames longer than the
    /// maximum: it hands back their first `head_len` bytes and discards the rest, instead
    /// of failing. A reply too large to accept then fails only its own request, since the
    /// reply header names the request.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use zk_proto::frame::{Decoded, FrameDecoder};
    ///
    /// let mut decoder = FrameDecoder::new(4).keep_oversized_head(2);
    /// let mut input = BytesMut::from(&[0, 0, 0, 6, b'h', b'e', b'a', b'd', b'e', b'r'][..]);
    /// input.extend_from_slice(&[0, 0, 0, 2, b'o', b'k']);
    /// assert_eq!(
    ///     decoder.decode_or_skip(&mut input)?,
    ///     Some(Decoded::Oversized { head: BytesMut::from(&b"he"[..]), len: 6 })
    /// );
    /// assert_eq!(
    ///     decoder.decode_or_skip(&mut input)?,
    ///     Some(Decoded::Frame(BytesMut::from(&b"ok"[..])))
    /// );
    /// # Ok::<(), zk_proto::frame::FrameError>(())
    /// ```
    #[must_use]
    pub const fn keep_oversized_head(mut self, head_len: usize) -> Self {
        self.oversized_head = Some(head_len);
        self
    }

    /// Sets, or with `None` clears, [`keep_oversized_head`](Self::keep_oversized_head)
    /// between frames, for a caller that tolerates an oversized frame only at times.
    pub fn set_oversized_head(&mut self, head_len: Option<usize>) {
        self.oversized_head = head_len;
    }

    /// The largest frame accepted.
    pub const fn max_len(&self) -> usize {
        self.max_len
    }

    /// Takes the next complete frame off the front of `src`.
    ///
    /// Returns `Ok(None)` when `src` does not yet hold a whole frame; after it has read a
    /// length prefix it reserves room for the rest of that frame in `src`.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLong`] or [`FrameError::NegativeLength`] for a bad length prefix,
    /// before anything is reserved. The stream cannot be resynchronized after an error;
    /// close the connection.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        match self.decode_or_skip(src)? {
            None => Ok(None),
            Some(Decoded::Frame(frame)) => Ok(Some(frame)),
            Some(Decoded::Oversized { len, .. }) => Err(FrameError::TooLong {
                len,
                max: self.max_len,
            }),
        }
    }

    /// Takes the next frame off the front of `src`, or the head of an oversized one when
    /// the decoder [keeps oversized heads](Self::keep_oversized_head).
    ///
    /// Returns `Ok(None)` when `src` does not yet hold what is needed; the rest of an
    /// oversized frame is discarded as it arrives, across calls.
    ///
    /// # Errors
    ///
    /// [`FrameError::NegativeLength`] for a negative length prefix, and
    /// [`FrameError::TooLong`] for a frame above the maximum when oversized heads are not
    /// kept. The stream cannot be resynchronized after an error; close the connection.
    pub fn decode_or_skip(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, FrameError> {
        loop {
            match self.state {
                State::Head => {
                    if src.len() < HEADER_LEN {
                        return Ok(None);
                    }
                    let raw = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
                    let len = usize::try_from(raw).map_err(|_| FrameError::NegativeLength(raw))?;
                    if len > self.max_len {
                        if self.oversized_head.is_none() {
                            return Err(FrameError::TooLong {
                                len,
                                max: self.max_len,
                            });
                        }
                        src.advance(HEADER_LEN);
                        self.state = State::OversizedHead(len);
                    } else {
                        src.advance(HEADER_LEN);
                        src.reserve(len.saturating_sub(src.len()));
                        self.state = State::Body(len);
                    }
                }
                State::Body(len) => {
                    if src.len() < len {
                        return Ok(None);
                    }
                    self.state = State::Head;
                    return Ok(Some(Decoded::Frame(src.split_to(len))));
                }
                State::OversizedHead(len) => {
                    let keep = self.oversized_head.unwrap_or(0).min(len);
                    if src.len() < keep {
                        return Ok(None);
                    }
                    self.state = State::Skip(len - keep);
                    return Ok(Some(Decoded::Oversized {
                        head: src.split_to(keep),
                        len,
                    }));
                }
                State::Skip(left) => {
                    let n = left.min(src.len());
                    src.advance(n);
                    if n < left {
                        self.state = State::Skip(left - n);
                        return Ok(None);
                    }
                    self.state = State::Head;
                }
            }
        }
    }
}

impl Default for FrameDecoder {
    /// A decoder with [`DEFAULT_MAX_FRAME_LEN`].
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LEN)
    }
}

/// Appends `record` to `dst` as one frame: its length, then its encoding.
///
/// Nothing is copied through an intermediate buffer, so many frames can be written into
/// one buffer and sent with one write. Pairs encode as one frame:
/// `encode_frame(dst, &(header, body), max)`.
///
/// # Errors
///
/// [`FrameError::TooLong`] when the encoding is longer than `max_len`; `dst` is left
/// unchanged. The server closes the connection on frames above its `jute.maxbuffer`.
///
/// ```
/// use bytes::BytesMut;
/// use zk_proto::frame::encode_frame;
/// use zk_proto::{OpCode, records::{GetDataRequest, RequestHeader}};
///
/// let mut dst = BytesMut::new();
/// let header = RequestHeader { xid: 1, op_code: OpCode::GetData };
/// let body = GetDataRequest { path: "/a".into(), watch: false };
/// encode_frame(&mut dst, &(header, body), 1024)?;
/// assert_eq!(&dst[..4], &[0, 0, 0, 15]);
/// assert!(encode_frame(&mut dst, &vec![0i64; 200], 1024).is_err());
/// assert_eq!(dst.len(), 19);
/// # Ok::<(), zk_proto::frame::FrameError>(())
/// ```
pub fn encode_frame<R: Record>(
    dst: &mut BytesMut,
    record: &R,
    max_len: usize,
) -> Result<(), FrameError> {
    let len = record.encoded_len();
    let prefix = i32::try_from(len)
        .ok()
        .filter(|_| len <= max_len)
        .ok_or(FrameError::TooLong { len, max: max_len })?;
    dst.reserve(HEADER_LEN + len);
    dst.put_i32(prefix);
    record.encode(dst);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_length_is_an_error() {
        let mut d = FrameDecoder::default();
        let mut src = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(d.decode(&mut src), Err(FrameError::NegativeLength(-1)));
    }

    #[test]
    fn oversize_is_rejected_before_reserving() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
        let mut src = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff, 0][..]);
        let before = src.capacity();
        assert_eq!(
            d.decode(&mut src),
            Err(FrameError::TooLong {
                len: 0x7fff_ffff,
                max: DEFAULT_MAX_FRAME_LEN
            })
        );
        assert_eq!(src.capacity(), before);
        // The server's limit itself is accepted.
        let mut d = FrameDecoder::default();
        let mut src = BytesMut::from(&0x000f_ffffi32.to_be_bytes()[..]);
        assert_eq!(d.decode(&mut src), Ok(None));
        assert!(src.capacity() >= DEFAULT_MAX_FRAME_LEN);
    }

    #[test]
    fn byte_by_byte() {
        let mut framed = BytesMut::new();
        encode_frame(&mut framed, &String::from("abc"), 64).unwrap();
        encode_frame(&mut framed, &(), 64).unwrap();
        let mut d = FrameDecoder::new(64);
        let mut src = BytesMut::new();
        let mut frames = Vec::new();
        for b in framed {
            src.put_u8(b);
            while let Some(f) = d.decode(&mut src).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames, [&b"\0\0\0\x03abc"[..], &b""[..]]);
    }

    #[test]
    fn oversized_frames_are_skipped_byte_by_byte_and_the_stream_stays_in_step() {
        let mut framed = BytesMut::new();
        encode_frame(&mut framed, &String::from("small"), 1024).unwrap();
        encode_frame(&mut framed, &"x".repeat(100), 1024).unwrap();
        encode_frame(&mut framed, &String::new(), 1024).unwrap();
        encode_frame(&mut framed, &"y".repeat(40), 1024).unwrap();
        encode_frame(&mut framed, &String::from("last"), 1024).unwrap();
        let mut d = FrameDecoder::new(16).keep_oversized_head(6);
        let mut src = BytesMut::new();
        let mut out = Vec::new();
        let mut most_buffered = 0;
        for b in framed {
            src.put_u8(b);
            while let Some(f) = d.decode_or_skip(&mut src).unwrap() {
                out.push(f);
            }
            most_buffered = most_buffered.max(src.len());
        }
        let frame = |b: &[u8]| Decoded::Frame(BytesMut::from(b));
        let oversized = |b: &[u8], len| Decoded::Oversized {
            head: BytesMut::from(b),
            len,
        };
        assert_eq!(
            out,
            [
                frame(b"\0\0\0\x05small"),
                oversized(b"\0\0\0\x64xx", 104),
                frame(b"\0\0\0\0"),
                oversized(b"\0\0\0\x28yy", 44),
                frame(b"\0\0\0\x04last"),
            ]
        );
        // The oversized bodies were discarded as they came, never buffered.
        assert!(most_buffered <= 16, "{most_buffered}");
    }

    #[test]
    fn an_oversized_frame_shorter_than_the_head_is_kept_whole() {
        let mut d = FrameDecoder::new(2).keep_oversized_head(16);
        let mut src = BytesMut::from(&[0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 1, 9][..]);
        assert_eq!(
            d.decode_or_skip(&mut src),
            Ok(Some(Decoded::Oversized {
                head: BytesMut::from(&[1, 2, 3][..]),
                len: 3
            }))
        );
        assert_eq!(
            d.decode_or_skip(&mut src),
            Ok(Some(Decoded::Frame(BytesMut::from(&[9][..]))))
        );
        assert_eq!(d.decode_or_skip(&mut src), Ok(None));
    }

    #[test]
    fn without_kept_heads_an_oversized_frame_is_still_an_error() {
        let mut d = FrameDecoder::new(2);
        let mut src = BytesMut::from(&[0, 0, 0, 3, 1, 2, 3][..]);
        assert_eq!(
            d.decode_or_skip(&mut src),
            Err(FrameError::TooLong { len: 3, max: 2 })
        );
        let mut d = FrameDecoder::new(2).keep_oversized_head(1);
        let mut src = BytesMut::from(&[0xff, 0, 0, 0][..]);
        assert!(matches!(
            d.decode_or_skip(&mut src),
            Err(FrameError::NegativeLength(_))
        ));
    }

    #[test]
    fn encode_rejects_oversize_and_leaves_dst() {
        let mut dst = BytesMut::from(&b"keep"[..]);
        assert_eq!(
            encode_frame(&mut dst, &String::from("12345"), 8),
            Err(FrameError::TooLong { len: 9, max: 8 })
        );
        assert_eq!(&dst[..], b"keep");
    }
}
