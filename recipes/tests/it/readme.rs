//! The README's example is code that runs: this test's body is the README's block, word
//! for word, run against the shared server.

use zk_client::CreateOptions;
use zk_recipes::lock::Mutex;

use crate::support::client;

#[tokio::test]
async fn the_readme_example_runs() -> zk_recipes::Result<()> {
    let (client, _server) = client().await;
    client
        .create("/orders", b"", &CreateOptions::persistent())
        .await?;
    client
        .create("/orders/next", b"", &CreateOptions::persistent())
        .await?;
    // README
    let lock = Mutex::new(&client, "/locks/orders").data("worker-7");
    let guard = lock.acquire().await?;
    guard
        .fenced()
        .set_data("/orders/next", b"42", None)
        .commit()
        .await?;
    guard.release().await?;
    // README end
    assert_eq!(&client.get_data("/orders/next").await?.0[..], b"42");
    Ok(())
}

#[test]
fn the_readme_block_is_this_tests_body() {
    let readme = include_str!("../../README.md");
    // Joined lines: rustfmt wraps long lines in source files, not in markdown.
    let block: String = readme
        .split("```rust")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("use "))
        .collect();
    let this = include_str!("readme.rs");
    let body: String = this
        .split("// README\n")
        .nth(1)
        .and_then(|rest| rest.split("// README end").next())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(!block.is_empty());
    assert_eq!(block, body);
}
