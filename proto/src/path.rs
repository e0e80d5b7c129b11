//! znode paths: validation by ZooKeeper's `PathUtils` rules, sequence suffixes, and chroot.
//!
//! ```
//! use zk_proto::path::{self, Chroot, PathError};
//!
//! path::validate("/app/config")?;
//! assert_eq!(path::validate("/app/"), Err(PathError::TrailingSlash));
//!
//! let chroot = Chroot::new("/tenant")?;
//! assert_eq!(chroot.prefix("/locks"), "/tenant/locks");
//! assert_eq!(chroot.strip("/tenant/locks"), Some("/locks"));
//!
//! assert_eq!(path::parse_sequence("lock-0000000042"), Some(("lock-", 42)));
//! # Ok::<(), PathError>(())
//! ```

use std::borrow::Cow;

/// The rule a path breaks, as checked by [`validate`].
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty.
    #[error("path must not be empty")]
    Empty,
    /// The path does not start with `/`.
    #[error("path must start with '/'")]
    NotAbsolute,
    /// The path ends with `/` and is not the root.
    #[error("path must not end with '/'")]
    TrailingSlash,
    /// The path contains `//`.
    #[error("empty node name at byte {0}")]
    EmptyName(usize),
    /// The path contains a `.` or `..` segment.
    #[error("relative path segment at byte {0}")]
    RelativeSegment(usize),
    /// The path contains NUL.
    #[error("null character at byte {0}")]
    NullCharacter(usize),
    /// The path contains a control character, a character outside the Basic Multilingual
    /// Plane, a private-use character or one of U+FFF0–U+FFFF.
    #[error("invalid character {ch:?} at byte {index}")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
}

/// Checks `path` against ZooKeeper's rules (`PathUtils.validatePath`).
///
/// A path starts with `/`, does not end with `/` (the root excepted), has no empty, `.` or
/// `..` segments, and contains no NUL, no U+0001–U+001F, U+007F–U+009F, no character the
/// Java client would encode as a surrogate pair (outside the BMP), no U+E000–U+F8FF and no
/// U+FFF0–U+FFFF.
///
/// # Errors
///
/// The [`PathError`] naming the first rule broken.
///
/// ```
/// use zk_proto::path::{validate, PathError};
/// assert!(validate("/").is_ok());
/// assert_eq!(validate("a/b"), Err(PathError::NotAbsolute));
/// assert_eq!(validate("/a//b"), Err(PathError::EmptyName(3)));
/// assert_eq!(validate("/a/../b"), Err(PathError::RelativeSegment(4)));
/// assert!(matches!(validate("/a\u{1}"), Err(PathError::InvalidCharacter { index: 2, .. })));
/// ```
pub fn validate(path: &str) -> Result<(), PathError> {
    let bytes = path.as_bytes();
    match bytes {
        [] => return Err(PathError::Empty),
        [b'/'] => return Ok(()),
        [first, ..] if *first != b'/' => return Err(PathError::NotAbsolute),
        [.., b'/'] => return Err(PathError::TrailingSlash),
        _ => {}
    }
    validate_chars(path)
}

/// Checks the path given to a sequential create: the server appends the suffix, so the
/// check runs on `path + "1"` and a trailing `/` is allowed.
///
/// # Errors
///
/// The [`PathError`] naming the first rule broken.
///
/// ```
/// use zk_proto::path::validate_sequential;
/// assert!(validate_sequential("/queue/").is_ok());
/// assert!(validate_sequential("/queue/item-").is_ok());
/// assert!(validate_sequential("queue").is_err());
/// ```
pub fn validate_sequential(path: &str) -> Result<(), PathError> {
    match path.as_bytes() {
        [] => Err(PathError::Empty),
        [first, ..] if *first != b'/' => Err(PathError::NotAbsolute),
        _ => validate_chars(&format!("{path}1")),
    }
}

fn validate_chars(path: &str) -> Result<(), PathError> {
    let bytes = path.as_bytes();
    for (index, ch) in path.char_indices() {
        let prev = index.checked_sub(1).map(|i| bytes[i]);
        let next = bytes.get(index + ch.len_utf8()).copied();
        let segment_ends = matches!(next, None | Some(b'/'));
        match ch {
            '\0' => return Err(PathError::NullCharacter(index)),
            '/' if prev == Some(b'/') => return Err(PathError::EmptyName(index)),
            '.' if segment_ends && prev == Some(b'/') => {
                return Err(PathError::RelativeSegment(index));
            }
            '.' if segment_ends && prev == Some(b'.') && index >= 2 && bytes[index - 2] == b'/' => {
                return Err(PathError::RelativeSegment(index));
            }
            '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'.. => {
                return Err(PathError::InvalidCharacter { ch, index });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The parent of a valid path; `None` for the root.
///
/// ```
/// use zk_proto::path::parent;
/// assert_eq!(parent("/a/b"), Some("/a"));
/// assert_eq!(parent("/a"), Some("/"));
/// assert_eq!(parent("/"), None);
/// ```
pub fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        _ if path == "/" => None,
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// The last segment of a path (`""` for the root).
///
/// ```
/// assert_eq!(zk_proto::path::name("/a/lock-0000000001"), "lock-0000000001");
/// ```
pub fn name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// Joins a parent path and a child name.
///
/// ```
/// use zk_proto::path::join;
/// assert_eq!(join("/", "a"), "/a");
/// assert_eq!(join("/a", "b"), "/a/b");
/// ```
pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The length of the sequence suffix ZooKeeper appends (`%010d`).
pub const SEQUENCE_LEN: usize = 10;

/// Formats a sequence number the way the server does (`%010d`): ten digits, and after the
/// counter overflows, a minus sign and nine digits (or ten, 11 characters in all).
///
/// ```
/// use zk_proto::path::format_sequence;
/// assert_eq!(format_sequence(42), "0000000042");
/// assert_eq!(format_sequence(-5), "-000000005");
/// assert_eq!(format_sequence(i32::MIN), "-2147483648");
/// ```
pub fn format_sequence(seq: i32) -> String {
    format!("{seq:010}")
}

/// Parses the sequence suffix of a node name, given the prefix it was created with.
///
/// This is exact: the rest of the name must be what [`format_sequence`] produces.
///
/// ```
/// use zk_proto::path::sequence_after;
/// assert_eq!(sequence_after("lock-0000000007", "lock-"), Some(7));
/// assert_eq!(sequence_after("lock--2147483648", "lock-"), Some(i32::MIN));
/// assert_eq!(sequence_after("lock-7", "lock-"), None);
/// ```
pub fn sequence_after(name: &str, prefix: &str) -> Option<i32> {
    let suffix = name.strip_prefix(prefix)?;
    let seq: i32 = suffix.parse().ok()?;
    (format_sequence(seq) == suffix).then_some(seq)
}

/// Splits a node name into its prefix and sequence number, without knowing the prefix.
///
/// Recognizes the ten-digit suffix and the negative forms the server writes after the
/// counter passes 2^31. A name like `x-1500000000` could be either `x-` with +1500000000 or
/// `x` with −1500000000; the positive reading is chosen. Use [`sequence_after`] when the
/// prefix is known.
///
/// ```
/// use zk_proto::path::parse_sequence;
/// assert_eq!(parse_sequence("qn-0000000003"), Some(("qn-", 3)));
/// assert_eq!(parse_sequence("qn-00000003"), None);
/// assert_eq!(parse_sequence("qn-000000003"), Some(("qn", -3)));
/// assert_eq!(parse_sequence("qn--000000003"), Some(("qn-", -3)));
/// assert_eq!(parse_sequence("qn-2147483648"), Some(("qn", i32::MIN)));
/// assert_eq!(parse_sequence("qn--000000000"), None);
/// ```
pub fn parse_sequence(name: &str) -> Option<(&str, i32)> {
    let split = name.len().checked_sub(SEQUENCE_LEN)?;
    let (prefix, suffix) = (name.get(..split)?, name.get(split..)?);
    if let Some(magnitude) = suffix.strip_prefix('-') {
        // "-" and nine digits; the server never writes -0.
        if !magnitude.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: i32 = magnitude.parse().ok()?;
        return (value != 0).then_some((prefix, -value));
    }
    if !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match suffix.parse::<i32>() {
        Ok(value) => Some((prefix, value)),
        // Ten digits above i32::MAX: "-" and ten digits, 11 characters.
        Err(_) => {
            let prefix = prefix.strip_suffix('-')?;
            let value: i64 = suffix.parse().ok()?;
            i32::try_from(-value).ok().map(|seq| (prefix, seq))
        }
    }
}

/// The order of a sequence number across the overflow: the server counts
/// 2147483647, −2147483648, −2147483647, … so comparing as `u32` keeps creation order
/// (until 2^32 creates under one parent).
///
/// ```
/// use zk_proto::path::sequence_ordinal;
/// assert!(sequence_ordinal(i32::MAX) < sequence_ordinal(i32::MIN));
/// assert!(sequence_ordinal(1) < sequence_ordinal(2));
/// ```
pub fn sequence_ordinal(seq: i32) -> u32 {
    seq as u32
}

/// A chroot: a path prefix applied to every path a client sends and stripped from every
/// path it receives.
///
/// ```
/// use zk_proto::path::Chroot;
/// let root = Chroot::new("/")?;
/// assert!(root.is_root());
/// assert_eq!(root.prefix("/a"), "/a");
///
/// let app = Chroot::new("/app")?;
/// assert_eq!(app.prefix("/"), "/app");
/// assert_eq!(app.strip("/app"), Some("/"));
/// assert_eq!(app.strip("/apple"), None);
/// assert_eq!(app.strip_or_keep("/zookeeper/config"), "/zookeeper/config");
/// # Ok::<(), zk_proto::path::PathError>(())
/// ```
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Chroot {
    /// Empty for the root, else a valid path without a trailing slash.
    root: String,
}

impl Chroot {
    /// A chroot at `root`; `/` means none.
    ///
    /// # Errors
    ///
    /// The [`PathError`] of an invalid `root`.
    pub fn new(root: &str) -> Result<Self, PathError> {
        validate(root)?;
        Ok(Self {
            root: if root == "/" {
                String::new()
            } else {
                root.to_owned()
            },
        })
    }

    /// Whether this is the root, i.e. no chroot.
    pub fn is_root(&self) -> bool {
        self.root.is_empty()
    }

    /// The chroot path (`/` for none).
    pub fn as_str(&self) -> &str {
        if self.root.is_empty() {
            "/"
        } else {
            &self.root
        }
    }

    /// The server path of a client path.
    pub fn prefix<'a>(&self, path: &'a str) -> Cow<'a, str> {
        match (self.root.is_empty(), path) {
            (true, _) => Cow::Borrowed(path),
            (false, "/") => Cow::Owned(self.root.clone()),
            (false, _) => Cow::Owned(format!("{}{path}", self.root)),
        }
    }

    /// The client path of a server path, or `None` when it lies outside the chroot.
    pub fn strip<'a>(&self, server_path: &'a str) -> Option<&'a str> {
        if self.root.is_empty() {
            return Some(server_path);
        }
        match server_path.strip_prefix(self.root.as_str())? {
            "" => Some("/"),
            rest if rest.starts_with('/') => Some(rest),
            _ => None,
        }
    }

    /// The client path of a server path, or the server path unchanged when it lies outside
    /// the chroot (notifications for `/zookeeper/config`, for example).
    pub fn strip_or_keep<'a>(&self, server_path: &'a str) -> &'a str {
        self.strip(server_path).unwrap_or(server_path)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn java_rules() {
        let ok = [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/.a",
            "/a..",
            "/...",
            "/a/.b/c",
            "/zookeeper",
            "/\u{e9}t\u{e9}",
        ];
        for p in ok {
            assert_eq!(validate(p), Ok(()), "{p}");
        }
        let bad = [
            ("", PathError::Empty),
            ("a", PathError::NotAbsolute),
            ("/a/", PathError::TrailingSlash),
            ("//", PathError::TrailingSlash),
            ("//a", PathError::EmptyName(1)),
            ("/.", PathError::RelativeSegment(1)),
            ("/..", PathError::RelativeSegment(2)),
            ("/a/./b", PathError::RelativeSegment(3)),
            ("/a/..", PathError::RelativeSegment(4)),
            ("/a\0b", PathError::NullCharacter(2)),
            (
                "/\u{7f}",
                PathError::InvalidCharacter {
                    ch: '\u{7f}',
                    index: 1,
                },
            ),
            (
                "/\u{9f}",
                PathError::InvalidCharacter {
                    ch: '\u{9f}',
                    index: 1,
                },
            ),
            (
                "/\u{e000}",
                PathError::InvalidCharacter {
                    ch: '\u{e000}',
                    index: 1,
                },
            ),
            (
                "/\u{fff0}",
                PathError::InvalidCharacter {
                    ch: '\u{fff0}',
                    index: 1,
                },
            ),
            (
                "/x\u{1f600}",
                PathError::InvalidCharacter {
                    ch: '\u{1f600}',
                    index: 2,
                },
            ),
        ];
        for (p, e) in bad {
            assert_eq!(validate(p), Err(e), "{p:?}");
        }
    }

    #[test]
    fn error_messages_name_the_rule() {
        assert_eq!(
            validate("/a//b").unwrap_err().to_string(),
            "empty node name at byte 3"
        );
        assert_eq!(
            validate("x").unwrap_err().to_string(),
            "path must start with '/'"
        );
    }

    #[test]
    fn sequential_allows_trailing_slash_only() {
        assert_eq!(validate_sequential("/a/"), Ok(()));
        assert_eq!(validate_sequential("/a//"), Err(PathError::EmptyName(3)));
        assert_eq!(validate_sequential("/"), Ok(()));
        assert_eq!(validate_sequential(""), Err(PathError::Empty));
    }

    #[test]
    fn chroot_rejects_invalid_root() {
        assert_eq!(Chroot::new("/app/"), Err(PathError::TrailingSlash));
        assert_eq!(Chroot::new("/app").unwrap().as_str(), "/app");
    }

    proptest! {
        #[test]
        fn sequence_roundtrip(seq in any::<i32>(), prefix in "[a-z_]{0,8}-?") {
            let name = format!("{prefix}{}", format_sequence(seq));
            prop_assert_eq!(sequence_after(&name, &prefix), Some(seq));
            let (parsed_prefix, parsed) = parse_sequence(&name).unwrap();
            // The positive reading is preferred where both readings exist.
            if parsed != seq {
                prop_assert!(seq <= -1_000_000_000 && parsed == -seq);
            } else {
                prop_assert_eq!(parsed_prefix, prefix.as_str());
            }
        }

        #[test]
        fn chroot_prefix_then_strip(root in "(/[a-z]{1,5}){0,3}", path in "(/[a-z0-9]{1,5}){0,3}") {
            let root = if root.is_empty() { "/".to_owned() } else { root };
            let path = if path.is_empty() { "/".to_owned() } else { path };
            let chroot = Chroot::new(&root).unwrap();
            let server = chroot.prefix(&path);
            prop_assert!(validate(&server).is_ok());
            prop_assert_eq!(chroot.strip(&server), Some(path.as_str()));
        }

        #[test]
        fn arbitrary_strings_never_panic(path in any::<String>()) {
            if validate(&path).is_ok() {
                prop_assert!(path.starts_with('/'));
                prop_assert!(validate_sequential(&path).is_ok());
            }
            if let Some((prefix, _)) = parse_sequence(&path) {
                prop_assert!(path.starts_with(prefix));
            }
        }
    }
}
