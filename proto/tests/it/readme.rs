//! The README's example is the crate documentation's first example, which runs as a doc
//! test: they must not drift apart.

const README: &str = include_str!("../../README.md");
const LIB: &str = include_str!("../../src/lib.rs");

#[test]
fn the_readme_example_is_the_crate_docs_quick_start() {
    let block: Vec<&str> = README
        .split("```rust")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let docs: Vec<&str> = LIB
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .collect();
    assert!(block.len() > 10);
    let start = docs
        .iter()
        .position(|l| *l == block[0])
        .expect("the README example in the crate docs");
    assert_eq!(&docs[start..start + block.len()], &block[..]);
}
