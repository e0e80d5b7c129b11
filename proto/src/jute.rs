//! The jute binary encoding: the [`Record`] trait, its primitive types and [`DecodeError`].
//!
//! Jute is ZooKeeper's serialization format. Every integer is big-endian; records are their
//! fields concatenated in declaration order, with no tags, padding or record length:
//!
//! | jute type | Rust type | encoding |
//! |---|---|---|
//! | `int` | `i32` | 4 bytes |
//! | `long` | `i64` | 8 bytes |
//! | `boolean` | `bool` | 1 byte; any non-zero byte decodes as `true` |
//! | `ustring` | `String` | `int` length, then UTF-8 bytes |
//! | `buffer` | [`Bytes`] | `int` length, then the bytes |
//! | `vector<T>` | `Vec<T>` | `int` count, then the elements |
//! | nullable `ustring`, `buffer`, `vector` | `Option<_>` | `None` is the length `-1` |
//!
//! A non-nullable field that receives the length `-1` decodes as empty, as the Java client
//! does for the fields it never sends as null.
//!
//! Decoding never trusts a length read from the wire: it is checked against the bytes that
//! remain (and against [`MAX_LEN`]) before anything is allocated, so a hostile peer cannot
//! make the decoder allocate more than a small multiple of the input it actually sent.
//!
//! ```
//! use zk_proto::{Record, decode_exact};
//! use zk_proto::records::GetDataRequest;
//!
//! let req = GetDataRequest { path: "/app/config".into(), watch: true };
//! let bytes = req.to_bytes();
//! assert_eq!(bytes.len(), req.encoded_len());
//! assert_eq!(decode_exact::<GetDataRequest>(&bytes)?, req);
//! # Ok::<(), zk_proto::DecodeError>(())
//! ```

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest length any single field may claim, whatever the input holds.
///
/// Every length is first checked against the bytes that remain, which bounds allocation by
/// the frame size; this limit is a second guard for callers that decode from very large
/// buffers. It is 256 MiB, far above the server's default `jute.maxbuffer` of 1 MiB.
pub const MAX_LEN: usize = 256 * 1024 * 1024;

/// A value with a jute encoding.
///
/// Implemented by the primitives (`i32`, `i64`, `bool`, `String`, [`Bytes`], `Vec<T>`, their
/// nullable `Option` forms), by every record in [`records`](crate::records), and by pairs
/// `(A, B)`, which encode as `A` followed by `B` (a header and its body).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use zk_proto::Record;
/// use zk_proto::records::{ReplyHeader, Stat};
///
/// let mut buf = BytesMut::new();
/// 7i32.encode(&mut buf);
/// assert_eq!(&buf[..], &[0, 0, 0, 7]);
/// assert_eq!(Stat::default().encoded_len(), 68);
/// assert_eq!(ReplyHeader::MIN_LEN, 16);
/// ```
pub trait Record: Sized {
    /// The fewest bytes any value of this type encodes to.
    ///
    /// Used to bound vector counts by the input that remains.
    const MIN_LEN: usize;

    /// Appends the encoding of `self` to `buf`.
    fn encode<B: BufMut>(&self, buf: &mut B);

    /// Reads one value from the front of `buf`.
    ///
    /// # Errors
    ///
    /// Returns a [`DecodeError`] naming the field when `buf` ends too early, a length is
    /// negative or larger than what remains, a string is not UTF-8, or an enumerated value
    /// is not one this crate knows.
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError>;

    /// The exact number of bytes [`encode`](Self::encode) writes.
    fn encoded_len(&self) -> usize;

    /// Encodes `self` into a new buffer of exactly [`encoded_len`](Self::encoded_len) bytes.
    ///
    /// ```
    /// use zk_proto::Record;
    /// assert_eq!(&true.to_bytes()[..], &[1]);
    /// ```
    fn to_bytes(&self) -> BytesMut {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf
    }
}

/// Decodes exactly one `R` from `bytes`, rejecting trailing bytes.
///
/// # Errors
///
/// Any error of [`Record::decode`], or [`DecodeErrorKind::TrailingBytes`] when bytes are
/// left over.
///
/// # Examples
///
/// ```
/// use zk_proto::{decode_exact, DecodeErrorKind};
/// assert_eq!(decode_exact::<i32>(&[0, 0, 1, 0])?, 256);
/// let err = decode_exact::<i32>(&[0, 0, 1, 0, 9]).unwrap_err();
/// assert_eq!(err.kind(), &DecodeErrorKind::TrailingBytes(1));
/// # Ok::<(), zk_proto::DecodeError>(())
/// ```
pub fn decode_exact<R: Record>(mut bytes: &[u8]) -> Result<R, DecodeError> {
    let value = R::decode(&mut bytes)?;
    if bytes.is_empty() {
        Ok(value)
    } else {
        Err(DecodeError::new(DecodeErrorKind::TrailingBytes(
            bytes.len(),
        )))
    }
}

/// Why a jute value could not be decoded, and in which field.
///
/// The field is the innermost record field that failed, as `Record.field`
/// (for example `Stat.mzxid` inside a `GetDataResponse`).
///
/// ```
/// use zk_proto::decode_exact;
/// use zk_proto::records::Stat;
///
/// let err = decode_exact::<Stat>(&[0; 10]).unwrap_err();
/// assert_eq!(err.field(), Some("Stat.mzxid"));
/// assert_eq!(err.to_string(), "Stat.mzxid: missing data: need 8 bytes, 2 remain");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    field: Option<&'static str>,
    kind: DecodeErrorKind,
}

impl DecodeError {
    /// An error of `kind` not yet attributed to a field.
    pub fn new(kind: DecodeErrorKind) -> Self {
        Self { field: None, kind }
    }

    /// Attributes the error to `field` unless an inner field already claimed it.
    #[must_use]
    pub fn in_field(mut self, field: &'static str) -> Self {
        self.field.get_or_insert(field);
        self
    }

    /// The field that failed, as `Record.field`, when known.
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{field}: {}", self.kind),
            None => self.kind.fmt(f),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The kinds of [`DecodeError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a fixed-size value.
    #[error("missing data: need {needed} bytes, {remaining} remain")]
    MissingData {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count below `-1`.
    #[error("negative length {0}")]
    NegativeLength(i32),
    /// A length or count that the remaining input cannot hold.
    #[error("length {len} exceeds the {remaining} bytes that remain")]
    LengthExceedsInput {
        /// The length claimed, in bytes (for vectors: count × smallest element).
        len: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length above [`MAX_LEN`].
    #[error("length {len} exceeds the limit of {limit} bytes")]
    LengthExceedsLimit {
        /// The length claimed.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A `ustring` that is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// An enumerated field holding a value this crate does not know.
    #[error("unknown {what} value {value}")]
    UnknownValue {
        /// The enumeration, for example `OpCode`.
        what: &'static str,
        /// The value received.
        value: i64,
    },
    /// A value that breaks a structural rule of its record.
    #[error("{0}")]
    Invalid(&'static str),
    /// Bytes left over after a complete value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
}

fn need(buf: &impl Buf, needed: usize) -> Result<(), DecodeError> {
    let remaining = buf.remaining();
    if remaining < needed {
        Err(DecodeError::new(DecodeErrorKind::MissingData {
            needed,
            remaining,
        }))
    } else {
        Ok(())
    }
}

/// Reads a length prefix: `None` for `-1`, otherwise a length of `len * unit` bytes checked
/// against the input that remains and [`MAX_LEN`].
fn read_len<B: Buf>(buf: &mut B, unit: usize) -> Result<Option<usize>, DecodeError> {
    let raw = i32::decode(buf)?;
    if raw == -1 {
        return Ok(None);
    }
    let len =
        usize::try_from(raw).map_err(|_| DecodeError::new(DecodeErrorKind::NegativeLength(raw)))?;
    let bytes = len.saturating_mul(unit);
    if bytes > MAX_LEN {
        return Err(DecodeError::new(DecodeErrorKind::LengthExceedsLimit {
            len: bytes,
            limit: MAX_LEN,
        }));
    }
    let remaining = buf.remaining();
    if bytes > remaining {
        return Err(DecodeError::new(DecodeErrorKind::LengthExceedsInput {
            len: bytes,
            remaining,
        }));
    }
    Ok(Some(len))
}

fn len_prefix(len: usize) -> i32 {
    // Lengths above i32::MAX cannot be represented by jute; frames are limited far below
    // that, and `frame::encode_frame` rejects anything above the configured maximum first.
    i32::try_from(len).unwrap_or(i32::MAX)
}

impl Record for i32 {
    const MIN_LEN: usize = 4;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_i32(*self);
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        need(buf, 4)?;
        Ok(buf.get_i32())
    }
    fn encoded_len(&self) -> usize {
        4
    }
}

impl Record for i64 {
    const MIN_LEN: usize = 8;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_i64(*self);
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        need(buf, 8)?;
        Ok(buf.get_i64())
    }
    fn encoded_len(&self) -> usize {
        8
    }
}

impl Record for bool {
    const MIN_LEN: usize = 1;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_u8(u8::from(*self));
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        need(buf, 1)?;
        Ok(buf.get_u8() != 0)
    }
    fn encoded_len(&self) -> usize {
        1
    }
}

fn decode_string<B: Buf>(buf: &mut B, len: usize) -> Result<String, DecodeError> {
    let mut bytes = vec![0; len];
    buf.copy_to_slice(&mut bytes);
    String::from_utf8(bytes).map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8))
}

impl Record for String {
    const MIN_LEN: usize = 4;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_i32(len_prefix(self.len()));
        buf.put_slice(self.as_bytes());
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        match read_len(buf, 1)? {
            Some(len) => decode_string(buf, len),
            None => Ok(Self::new()),
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
}

impl Record for Option<String> {
    const MIN_LEN: usize = 4;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        match self {
            Some(s) => s.encode(buf),
            None => buf.put_i32(-1),
        }
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        read_len(buf, 1)?
            .map(|len| decode_string(buf, len))
            .transpose()
    }
    fn encoded_len(&self) -> usize {
        self.as_ref().map_or(4, String::encoded_len)
    }
}

impl Record for Bytes {
    const MIN_LEN: usize = 4;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_i32(len_prefix(self.len()));
        buf.put_slice(self);
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        // `copy_to_bytes` is zero-copy when decoding from `Bytes`.
        Ok(read_len(buf, 1)?.map_or_else(Self::new, |len| buf.copy_to_bytes(len)))
    }
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
}

impl Record for Option<Bytes> {
    const MIN_LEN: usize = 4;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        match self {
            Some(b) => b.encode(buf),
            None => buf.put_i32(-1),
        }
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        Ok(read_len(buf, 1)?.map(|len| buf.copy_to_bytes(len)))
    }
    fn encoded_len(&self) -> usize {
        self.as_ref().map_or(4, Bytes::encoded_len)
    }
}

fn decode_elements<T: Record, B: Buf>(buf: &mut B, count: usize) -> Result<Vec<T>, DecodeError> {
    // `read_len` proved that `count * T::MIN_LEN` bytes remain, so the capacity is bounded
    // by the input.
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        items.push(T::decode(buf)?);
    }
    Ok(items)
}

impl<T: Record> Record for Vec<T> {
    const MIN_LEN: usize = 4;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_i32(len_prefix(self.len()));
        for item in self {
            item.encode(buf);
        }
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        match read_len(buf, T::MIN_LEN.max(1))? {
            Some(count) => decode_elements(buf, count),
            None => Ok(Self::new()),
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.iter().map(Record::encoded_len).sum::<usize>()
    }
}

impl<T: Record> Record for Option<Vec<T>> {
    const MIN_LEN: usize = 4;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        match self {
            Some(items) => items.encode(buf),
            None => buf.put_i32(-1),
        }
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        read_len(buf, T::MIN_LEN.max(1))?
            .map(|count| decode_elements(buf, count))
            .transpose()
    }
    fn encoded_len(&self) -> usize {
        self.as_ref().map_or(4, Vec::encoded_len)
    }
}

impl<A: Record, C: Record> Record for (A, C) {
    const MIN_LEN: usize = A::MIN_LEN + C::MIN_LEN;
    fn encode<B: BufMut>(&self, buf: &mut B) {
        self.0.encode(buf);
        self.1.encode(buf);
    }
    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        Ok((A::decode(buf)?, C::decode(buf)?))
    }
    fn encoded_len(&self) -> usize {
        self.0.encoded_len() + self.1.encoded_len()
    }
}

/// The empty record: requests and responses without a body (ping, closeSession, delete's
/// response, whoAmI's request).
impl Record for () {
    const MIN_LEN: usize = 0;
    fn encode<B: BufMut>(&self, _buf: &mut B) {}
    fn decode<B: Buf>(_buf: &mut B) -> Result<Self, DecodeError> {
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        0
    }
}

/// Defines a jute record: a struct with public fields and its [`Record`] impl, which
/// encodes the fields in declaration order and names `Record.field` in decode errors.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::jute::Record for $name {
            const MIN_LEN: usize = 0 $(+ <$ty as $crate::jute::Record>::MIN_LEN)*;

            fn encode<B: ::bytes::BufMut>(&self, buf: &mut B) {
                $( $crate::jute::Record::encode(&self.$field, buf); )*
                let _ = buf;
            }

            fn decode<B: ::bytes::Buf>(buf: &mut B) -> Result<Self, $crate::jute::DecodeError> {
                let _ = &buf;
                Ok(Self {
                    $( $field: <$ty as $crate::jute::Record>::decode(buf)
                        .map_err(|e| e.in_field(concat!(stringify!($name), ".", stringify!($field))))?, )*
                })
            }

            fn encoded_len(&self) -> usize {
                0 $(+ $crate::jute::Record::encoded_len(&self.$field))*
            }
        }

        #[cfg(test)]
        impl $crate::testing::Gen for $name {
            fn strategy() -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::Strategy as _;
                $crate::testing::fields!($name { $($field: $ty),* })
            }
        }
    };
}
pub(crate) use record;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_encode_big_endian() {
        assert_eq!(&0x0102_0304i32.to_bytes()[..], &[1, 2, 3, 4]);
        assert_eq!(
            &(-2i64).to_bytes()[..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]
        );
        assert_eq!(&false.to_bytes()[..], &[0]);
        assert_eq!(
            &String::from("ab").to_bytes()[..],
            &[0, 0, 0, 2, b'a', b'b']
        );
        assert_eq!(
            &Bytes::from_static(b"x").to_bytes()[..],
            &[0, 0, 0, 1, b'x']
        );
        assert_eq!(&vec![1i32].to_bytes()[..], &[0, 0, 0, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn nulls_are_minus_one() {
        let minus_one = [0xff; 4];
        assert_eq!(&None::<Bytes>.to_bytes()[..], &minus_one);
        assert_eq!(&None::<String>.to_bytes()[..], &minus_one);
        assert_eq!(&None::<Vec<i32>>.to_bytes()[..], &minus_one);
        assert_eq!(decode_exact::<Option<Bytes>>(&minus_one), Ok(None));
        assert_eq!(decode_exact::<Option<Vec<String>>>(&minus_one), Ok(None));
        assert_eq!(decode_exact::<Bytes>(&minus_one), Ok(Bytes::new()));
        assert_eq!(decode_exact::<String>(&minus_one), Ok(String::new()));
        assert_eq!(decode_exact::<Vec<i64>>(&minus_one), Ok(vec![]));
        assert_eq!(
            decode_exact::<Option<Bytes>>(&[0, 0, 0, 0]),
            Ok(Some(Bytes::new()))
        );
    }

    #[test]
    fn any_nonzero_byte_is_true() {
        assert_eq!(decode_exact::<bool>(&[7]), Ok(true));
    }

    #[test]
    fn lengths_are_checked_before_allocation() {
        let huge = decode_exact::<Bytes>(&[0x7f, 0xff, 0xff, 0xff, 1]).unwrap_err();
        assert_eq!(
            huge.kind(),
            &DecodeErrorKind::LengthExceedsLimit {
                len: 0x7fff_ffff,
                limit: MAX_LEN
            }
        );
        let short = decode_exact::<String>(&[0, 0, 0, 5, b'a']).unwrap_err();
        assert_eq!(
            short.kind(),
            &DecodeErrorKind::LengthExceedsInput {
                len: 5,
                remaining: 1
            }
        );
        let negative = decode_exact::<Vec<i32>>(&[0xff, 0xff, 0xff, 0xfe]).unwrap_err();
        assert_eq!(negative.kind(), &DecodeErrorKind::NegativeLength(-2));
        // 3 elements of at least 8 bytes cannot fit in 16 bytes.
        let mut input = vec![0, 0, 0, 3];
        input.extend([0; 16]);
        let count = decode_exact::<Vec<i64>>(&input).unwrap_err();
        assert_eq!(
            count.kind(),
            &DecodeErrorKind::LengthExceedsInput {
                len: 24,
                remaining: 16
            }
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let err = decode_exact::<String>(&[0, 0, 0, 1, 0xff]).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::InvalidUtf8);
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let err = decode_exact::<bool>(&[1, 2]).unwrap_err();
        assert_eq!(err.to_string(), "1 trailing bytes after the value");
    }

    #[test]
    fn inner_field_name_wins() {
        let err = DecodeError::new(DecodeErrorKind::InvalidUtf8)
            .in_field("Id.scheme")
            .in_field("ACL.id");
        assert_eq!(err.field(), Some("Id.scheme"));
    }
}
