//! The byte formats of the counters, as Curator and kazoo write them: big-endian two's
//! complement integers of exactly 4 or 8 bytes (`SharedCount`, `DistributedAtomicInteger`,
//! kazoo's `support_curator`; `DistributedAtomicLong`) and ASCII decimal (kazoo's default
//! `Counter`).

use bytes::Bytes;

use crate::error::Error;

/// The format of a 4-byte value, for errors.
pub(crate) const I32_BE: &str = "a 4-byte big-endian integer";
/// The format of an 8-byte value, for errors.
pub(crate) const I64_BE: &str = "an 8-byte big-endian integer";
/// The format of kazoo's default counter, for errors.
pub(crate) const ASCII: &str = "an ASCII decimal integer";

/// `value` as 4 bytes, big-endian.
pub(crate) fn i32_to_bytes(value: i32) -> Bytes {
    Bytes::copy_from_slice(&value.to_be_bytes())
}

/// `value` as 8 bytes, big-endian.
pub(crate) fn i64_to_bytes(value: i64) -> Bytes {
    Bytes::copy_from_slice(&value.to_be_bytes())
}

/// Exactly 4 bytes, big-endian. Curator's `ByteBuffer.getInt` would also take the first 4
/// of a longer value (an 8-byte long's high half); that is refused here.
pub(crate) fn i32_from_bytes(data: &[u8]) -> Option<i32> {
    data.try_into().ok().map(i32::from_be_bytes)
}

/// Exactly 8 bytes, big-endian.
pub(crate) fn i64_from_bytes(data: &[u8]) -> Option<i64> {
    data.try_into().ok().map(i64::from_be_bytes)
}

/// `value` as kazoo's `repr(int)`: ASCII decimal, `-` for negatives.
pub(crate) fn ascii_to_bytes(value: i64) -> Bytes {
    Bytes::from(value.to_string())
}

/// ASCII decimal as Python's `int()` reads it from kazoo's counter: surrounding
/// whitespace and a sign allowed, digit separators (`1_000`) too.
pub(crate) fn ascii_from_bytes(data: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(data).ok()?.trim();
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// The error for `data` at `path` that is not `expected`.
pub(crate) fn corrupt(path: &str, expected: &'static str, data: &Bytes) -> Error {
    Error::Corrupt {
        path: path.to_owned(),
        expected,
        data: data.clone(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_formats_curator_writes() {
        // SharedCount 42, DistributedAtomicLong 9 (RECIPES.md §2.9, verified dumps).
        assert_eq!(&i32_to_bytes(42)[..], [0, 0, 0, 0x2a]);
        assert_eq!(&i64_to_bytes(9)[..], [0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(&i32_to_bytes(-1)[..], [0xff; 4]);
        assert_eq!(i32_from_bytes(&[0xff, 0xff, 0xff, 0xfe]), Some(-2));
    }

    #[test]
    fn a_value_of_another_width_is_refused() {
        assert_eq!(i32_from_bytes(&i64_to_bytes(1)), None);
        assert_eq!(i64_from_bytes(&i32_to_bytes(1)), None);
        assert_eq!(i32_from_bytes(b""), None);
    }

    #[test]
    fn a_corrupt_value_is_shown_in_hex() {
        let e = corrupt("/c", I32_BE, &Bytes::from_static(b"foo"));
        assert_eq!(
            e.to_string(),
            "the data of /c is not a 4-byte big-endian integer: 3 bytes, hex 666f6f"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn ascii_as_python_reads_it() {
        assert_eq!(ascii_from_bytes(b"42"), Some(42));
        assert_eq!(ascii_from_bytes(b" -7\n"), Some(-7));
        assert_eq!(ascii_from_bytes(b"+3"), Some(3));
        assert_eq!(ascii_from_bytes(b"1_000"), Some(1000));
        assert_eq!(ascii_from_bytes(b"1.5"), None);
        assert_eq!(ascii_from_bytes(b"_1"), None);
        assert_eq!(ascii_from_bytes(b"1__0"), None);
        assert_eq!(ascii_from_bytes(b"-"), None);
        assert_eq!(ascii_from_bytes(&[0, 0, 0, 1]), None);
        assert_eq!(&ascii_to_bytes(-12)[..], b"-12");
    }

    proptest! {
        #[test]
        fn every_value_round_trips(a in any::<i32>(), b in any::<i64>()) {
            prop_assert_eq!(i32_from_bytes(&i32_to_bytes(a)), Some(a));
            prop_assert_eq!(i64_from_bytes(&i64_to_bytes(b)), Some(b));
            prop_assert_eq!(ascii_from_bytes(&ascii_to_bytes(b)), Some(b));
        }
    }
}
