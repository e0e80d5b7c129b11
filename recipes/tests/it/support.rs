//! Helpers shared by the tests.

use std::time::Duration;

use zk_client::Client;

/// Logs to the test output when `RUST_LOG` is set.
pub(crate) fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A client of the shared server, chrooted to a fresh path for this test, and the chroot.
pub(crate) async fn client() -> (Client, zk_testkit::Shared) {
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let client = connect(&zk).await;
    (client, zk)
}

/// Another session on the same chroot.
pub(crate) async fn connect(zk: &zk_testkit::Shared) -> Client {
    Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&zk.connect_string())
        .await
        .expect("connect")
}

/// Awaits `future`, failing the test after 30 s.
pub(crate) async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("timed out")
}

/// The children of `path`, sorted (empty when it does not exist).
pub(crate) async fn children(client: &Client, path: &str) -> Vec<String> {
    match client.get_children(path).await {
        Ok((mut children, _)) => {
            children.sort();
            children
        }
        Err(zk_client::Error::NoNode(_)) => Vec::new(),
        Err(e) => panic!("children of {path}: {e}"),
    }
}

/// Waits (at most 30 s) until the number of children of `path` satisfies `ok`.
pub(crate) async fn until_children(client: &Client, path: &str, ok: impl Fn(usize) -> bool) {
    within(async {
        while !ok(children(client, path).await.len()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Waits until `path` has no children left (background deletes land).
pub(crate) async fn until_empty(client: &Client, path: &str) {
    until_children(client, path, |n| n == 0).await;
}

/// `name` from the environment, parsed, or `default`.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
