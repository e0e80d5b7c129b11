//! Task names: `task-{metadata}-{seq}`, the metadata readable from a listing without a
//! read, as ZooChestrator keeps it.
//!
//! Metadata is a list of `key=value` pairs joined by `&`; each key and value is
//! percent-encoded (every byte but ASCII letters, digits, `.`, `_` and `~`), so any text is
//! a valid znode name and the separators stay unambiguous.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// The prefix of every task name.
pub(crate) const TASK: &str = "task-";

/// The most bytes of encoded metadata in a name (ZooKeeper's names have no limit of their
/// own; this keeps listings small).
pub const MAX_METADATA: usize = 512;

/// A task's metadata: ordered `key=value` pairs, carried in its name.
pub type Metadata = Vec<(String, String)>;

/// Percent-encodes `text`.
fn encode(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// Decodes percent-encoded `text`; `None` when it is malformed.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The name prefix a new task is created with: `task-` and the encoded metadata followed
/// by `-` when there is any (the server appends the sequence).
///
/// # Errors
///
/// [`Error::InvalidArgument`] when the encoded metadata is longer than [`MAX_METADATA`].
pub(crate) fn prefix(metadata: &[(String, String)]) -> Result<String> {
    let mut name = String::from(TASK);
    for (i, (key, value)) in metadata.iter().enumerate() {
        if i > 0 {
            name.push('&');
        }
        encode(key, &mut name);
        name.push('=');
        encode(value, &mut name);
    }
    if name.len() - TASK.len() > MAX_METADATA {
        return Err(Error::InvalidArgument(format!(
            "task metadata of {} encoded bytes (at most {MAX_METADATA})",
            name.len() - TASK.len()
        )));
    }
    if !metadata.is_empty() {
        name.push('-');
    }
    Ok(name)
}

/// The metadata in a task name (`task-{metadata}-{seq}`, `task-{seq}`, or either behind a
/// protected `_c_{uuid}-` prefix); empty when there is none or it does not parse.
///
/// ```
/// use zk_recipes::tasks::metadata_of;
/// let meta = metadata_of("task-color=red&name=Tom%20Cat-0000000007");
/// assert_eq!(meta, [("color".into(), "red".into()), ("name".into(), "Tom Cat".into())]);
/// assert!(metadata_of("task-0000000007").is_empty());
/// ```
pub fn metadata_of(name: &str) -> Metadata {
    let name = crate::protected::prefix_of(name).map_or(name, |p| &name[p.len()..]);
    let Some(rest) = name.strip_prefix(TASK) else {
        return Vec::new();
    };
    // The sequence: the last ten characters, after a `-` when metadata precedes it.
    let Some(body) = rest
        .get(..rest.len().saturating_sub(10))
        .and_then(|b| b.strip_suffix('-'))
    else {
        return Vec::new();
    };
    body.split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((decode(key)?, decode(value)?))
        })
        .collect()
}

/// The sequence of a task name, for ordering (names without one sort last).
pub(crate) fn sequence(name: &str) -> i64 {
    name.get(name.len().saturating_sub(10)..)
        .and_then(|tail| tail.parse().ok())
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_carry_escaped_metadata() {
        let meta = vec![("a b".to_owned(), "x/y=z&w-1".to_owned())];
        let name = prefix(&meta).unwrap();
        assert_eq!(name, "task-a%20b=x%2Fy%3Dz%26w%2D1-");
        assert_eq!(metadata_of(&format!("{name}0000000042")), meta);
        assert_eq!(prefix(&[]).unwrap(), "task-");
        assert_eq!(sequence("task-0000000042"), 42);
        let long = vec![("k".to_owned(), "v".repeat(MAX_METADATA))];
        assert!(matches!(prefix(&long), Err(Error::InvalidArgument(_))));
    }

    proptest! {
        #[test]
        fn metadata_round_trips(meta in proptest::collection::vec(("\\PC{0,6}", "\\PC{0,6}"), 0..3)) {
            let name = prefix(&meta).unwrap();
            prop_assert!(!name.contains('/'));
            prop_assert_eq!(metadata_of(&format!("{name}0000000001")), meta);
        }
    }
}
