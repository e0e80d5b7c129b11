//! The README's example is code that runs: this test's body is the README's block, word
//! for word, run against the shared server.

use zk_client::CreateOptions;
use zk_recipes::election::LeaderLatch;
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

#[tokio::test]
async fn the_readme_election_example_runs() -> zk_recipes::Result<()> {
    let (client, _server) = client().await;
    client
        .create_all("/services/billing/owner", b"", &CreateOptions::persistent())
        .await?;
    // README election
    let latch = LeaderLatch::new(&client, "/services/billing/leader").data("host-a:8080");
    latch.start()?;
    let term = latch.await_leadership().await?;
    term.fenced()
        .set_data("/services/billing/owner", b"host-a", None)
        .commit()
        .await?;
    // README election end
    assert_eq!(
        &client.get_data("/services/billing/owner").await?.0[..],
        b"host-a"
    );
    latch.close().await
}

/// The `n`th rust block of the README, lines joined (rustfmt wraps long lines in source
/// files, not in markdown).
fn readme_block(n: usize) -> String {
    include_str!("../../README.md")
        .split("```rust")
        .nth(n)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("use "))
        .collect()
}

/// This file's lines between `// {marker}` and `// {marker} end`, joined.
fn this_body(marker: &str) -> String {
    include_str!("readme.rs")
        .split(&format!("// {marker}\n"))
        .nth(1)
        .and_then(|rest| rest.split(&format!("// {marker} end")).next())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_readme_blocks_are_these_tests_bodies() {
    for (n, marker) in [(1, "README"), (2, "README election")] {
        let block = readme_block(n);
        assert!(!block.is_empty(), "block {n}");
        assert_eq!(block, this_body(marker), "block {n}");
    }
}
