//! zk-client's quick start (the first example of its README and crate docs): make the
//! application's nodes, read and watch its configuration, register a worker.
//!
//! ```sh
//! cargo run -p zk-client --example quickstart -- 127.0.0.1:2181
//! ```

use zk_client::{Client, CreateMode, CreateOptions};

#[tokio::main]
async fn main() -> zk_client::Result<()> {
    let server = std::env::args().nth(1);
    let server = server.as_deref().unwrap_or("127.0.0.1:2181");

    // A chroot must exist before a client can use it: make it once, without one.
    let root = Client::connect(server).await?;
    root.create_all("/myapp/workers", b"", &CreateOptions::persistent())
        .await?;
    root.close().await;

    // Every path of this client is below /myapp.
    let client = Client::connect(&format!("{server}/myapp")).await?;
    client
        .create_all("/config", b"v1", &CreateOptions::persistent())
        .await?;
    let (data, stat, changed) = client.get_data_and_watch("/config").await?;
    println!("config {data:?} at version {}", stat.version);

    let worker = CreateOptions::new(CreateMode::EphemeralSequential);
    let (me, _) = client.create("/workers/w-", b"", &worker).await?;
    println!("registered as {me}");

    client.set_data("/config", b"v2", None).await?;
    let event = changed.await?; // fires once, even across reconnects
    println!("{:?} on {}", event.event_type, event.path);
    client.close().await;
    Ok(())
}
