//! Path validation, sequence suffixes and chroot on arbitrary strings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::path::{self, Chroot};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (root, rest) = text.split_once('\u{0}').unwrap_or(("/", text));
    if path::validate(rest).is_ok() {
        assert!(rest.starts_with('/'));
        assert!(path::validate_sequential(rest).is_ok());
        if let Ok(chroot) = Chroot::new(root) {
            let server = chroot.prefix(rest);
            assert!(path::validate(&server).is_ok());
            assert_eq!(chroot.strip(&server), Some(rest));
        }
        if let Some(parent) = path::parent(rest) {
            assert!(path::validate(parent).is_ok());
            assert_eq!(path::join(parent, path::name(rest)), rest);
        }
    }
    if let Some((prefix, seq)) = path::parse_sequence(text) {
        assert!(text.starts_with(prefix));
        let suffix = &text[prefix.len()..];
        assert_eq!(path::sequence_after(text, prefix), Some(seq), "{suffix}");
    }
});
