//! The README's examples are the code that runs: the "test your app" test below is the
//! README's, word for word, and the quick start of the README and of the crate docs is
//! `examples/quickstart.rs` (which scripts/test.sh runs against a real server).

use zk_client::{Client, CreateOptions};
use zk_testkit::Server;

#[tokio::test]
async fn my_app_stores_its_config() {
    // A standalone server on a free loopback port, stopped when dropped.
    let server = Server::start().await.expect("a ZooKeeper server");
    let client = Client::connect(&server.connect_string()).await.unwrap();
    client
        .create("/config", b"v1", &CreateOptions::persistent())
        .await
        .unwrap();
    let (data, _) = client.get_data("/config").await.unwrap();
    assert_eq!(&data[..], b"v1");
    client.close().await;
}

const README: &str = include_str!("../../README.md");
const WORKSPACE_README: &str = include_str!("../../../README.md");
const LIB: &str = include_str!("../../src/lib.rs");
const QUICKSTART: &str = include_str!("../../examples/quickstart.rs");
const THIS_FILE: &str = include_str!("readme.rs");

/// The code lines of the `n`th ```rust block of a markdown text.
fn rust_block(markdown: &str, n: usize) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim()) {
            (None, "```rust" | "```no_run" | "```") if line.trim() != "```" => {
                current = Some(Vec::new());
            }
            (Some(_), "```") => blocks.push(current.take().unwrap_or_default()),
            (Some(lines), code) => lines.push(code.to_owned()),
            (None, _) => {}
        }
    }
    blocks.into_iter().nth(n).unwrap_or_default()
}

/// What must match, whatever the line breaks (rustfmt wraps long lines in source files,
/// not in markdown): the trimmed lines joined, without blank lines, `use` lines, hidden
/// doc-test lines, and where the server address comes from.
fn significant(lines: impl IntoIterator<Item = String>) -> String {
    lines
        .into_iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("use ")
                && !l.starts_with("# ")
                && *l != "#"
                && !l.starts_with("let server")
        })
        .collect()
}

/// The body of the example's `main`, without its last `Ok(())`.
fn quickstart_body() -> String {
    let body = QUICKSTART
        .split_once("async fn main() -> zk_client::Result<()> {")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let body = body
        .rsplit_once("Ok(())")
        .map(|(b, _)| b)
        .unwrap_or_default();
    significant(body.lines().map(str::to_owned))
}

#[test]
fn the_readme_quick_start_is_the_example_that_runs() {
    let readme = significant(rust_block(README, 0));
    assert!(!readme.is_empty());
    assert_eq!(readme, quickstart_body());
}

#[test]
fn the_workspace_readme_quick_start_is_the_example_that_runs() {
    assert_eq!(
        significant(rust_block(WORKSPACE_README, 0)),
        quickstart_body()
    );
}

#[test]
fn the_crate_docs_quick_start_is_the_example_that_runs() {
    let docs: String = LIB
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let quick_start = docs
        .split_once("# Quick start")
        .map(|(_, q)| q)
        .unwrap_or_default();
    assert_eq!(significant(rust_block(quick_start, 0)), quickstart_body());
}

#[test]
fn the_readme_test_is_this_files_test() {
    let readme = significant(rust_block(README, 1));
    let start = THIS_FILE.find("#[tokio::test]").unwrap_or_default();
    let end = THIS_FILE.find("const README").unwrap_or_default();
    let here = significant(THIS_FILE[start..end].lines().map(str::to_owned));
    assert_eq!(readme, here);
}
