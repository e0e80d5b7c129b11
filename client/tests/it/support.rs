//! Helpers shared by the tests.

use std::time::Duration;

use zk_client::Client;

/// Logs to the test output when `RUST_LOG` is set (`RUST_LOG=zk_proto=debug`).
pub(crate) fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A client of the shared server, chrooted to a fresh path for this test.
pub(crate) async fn client() -> (Client, zk_testkit::Shared) {
    init_logging();
    let zk = zk_testkit::shared().await.expect("shared server");
    let hosts = format!("{}{}", zk.addr(), zk.chroot());
    let client = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&hosts)
        .await
        .expect("connect");
    (client, zk)
}

/// Awaits `future`, failing the test after 30 s.
pub(crate) async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("timed out")
}
