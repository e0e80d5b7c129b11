//! An async ZooKeeper client for tokio.
//!
//! zk-client is a thin driver around [`zk_proto`](proto)'s sans-IO session: one spawned
//! [`SessionTask`] owns the socket and does I/O, timers and channel plumbing; every
//! protocol decision (handshake, pings, reconnect, watch re-registration, expiry) is made
//! by `proto::Session`, which is tested on a virtual clock. It does not retry operations
//! for you, and it contains no recipes (locks, elections, caches live in zk-recipes).
//!
//! # Quick start
//!
//! ```no_run
//! use zk_client::{Client, CreateMode, CreateOptions};
//!
//! # async fn _example() -> zk_client::Result<()> {
//! let server = "127.0.0.1:2181";
//!
//! // A chroot must exist before a client can use it: make it once, without one.
//! let root = Client::connect(server).await?;
//! root.create_all("/myapp/workers", b"", &CreateOptions::persistent()).await?;
//! root.close().await;
//!
//! // Every path of this client is below /myapp.
//! let client = Client::connect(&format!("{server}/myapp")).await?;
//! client.create_all("/config", b"v1", &CreateOptions::persistent()).await?;
//! let (data, stat, changed) = client.get_data_and_watch("/config").await?;
//! println!("config {data:?} at version {}", stat.version);
//!
//! let worker = CreateOptions::new(CreateMode::EphemeralSequential);
//! let (me, _) = client.create("/workers/w-", b"", &worker).await?;
//! println!("registered as {me}");
//!
//! client.set_data("/config", b"v2", None).await?;
//! let event = changed.await?; // fires once, even across reconnects
//! println!("{:?} on {}", event.event_type, event.path);
//! client.close().await;
//! # Ok(()) }
//! ```
//!
//! This is `examples/quickstart.rs`, which the test suite runs against a real server
//! (`cargo run -p zk-client --example quickstart -- 127.0.0.1:2181`). The connect string
//! is `host:port[,host:port...][/chroot]`, with `tls://` or `tcp://` per host if wanted;
//! see [`ClientBuilder::connect`]. The chroot must exist: connecting fails with
//! [`Error::ChrootMissing`] until it does.
//!
//! # Ordering
//!
//! Every operation validates its arguments and queues its request when it is called, not
//! when the returned future is first polled. So
//!
//! ```no_run
//! # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
//! let created = client.create("/a", b"1", &Default::default());
//! let updated = client.set_data("/a", b"2", None);
//! let (a, b) = tokio::join!(updated, created); // polled in any order
//! # let _ = (a, b); Ok(()) }
//! ```
//!
//! executes the create before the setData, as ZooKeeper executes one session's requests in
//! order. Replies and watch events arrive in that order too: a watch event for a change is
//! delivered before the reply to any later request that sees the change.
//!
//! Pipelining is the fast way to use a session: start many operations, then await them.
//! Their futures are small (about 120 bytes for a getData), requests go out many to a
//! write, and replies come in batches (see [`ClientBuilder`'s throughput
//! notes](ClientBuilder#throughput)).
//!
//! ## Behavior
//!
//! - A request in flight when the connection drops fails with [`Error::ConnectionLoss`]:
//!   it may or may not have been applied. The client never retries it by itself
//!   (a sequential create is not idempotent).
//! - While disconnected, new requests wait in a queue (at most
//!   [`max_queued`](ClientBuilder::max_queued), else [`Error::QueueFull`]) until the
//!   session is re-established, their deadline passes ([`Error::Timeout`]; an unsent
//!   request is then never sent), or the session expires. With
//!   [`fail_fast`](ClientBuilder::fail_fast) they fail at once.
//! - Reconnect: the next host of a shuffled list, exponential backoff with jitter
//!   ([`ReconnectPolicy`]), the same session id, password and last zxid seen; then the
//!   authentication identities are replayed in the order added, then every watch is
//!   re-armed (SetWatches2, or SetWatches on servers without persistent watches, in
//!   batches of at most 128 KiB), then the queued requests are sent.
//! - Every kind of watch survives reconnects. A change made while disconnected fires a
//!   one-shot watch on reconnect. Persistent watchers receive `Disconnected` and then
//!   `SyncConnected` session events, since changes in between are not replayed.
//! - Expiry is terminal: every later call fails with [`Error::SessionExpired`] and
//!   watchers end. The session expires when a server says so, or after 4/3 of the
//!   negotiated timeout without reaching any server (the Java client's behaviour since
//!   3.9.3; see [`local_expiry_percent`](ClientBuilder::local_expiry_percent)).
//! - Authentication failure is terminal too ([`Error::AuthFailed`]). Closing
//!   ([`Client::close`], or dropping every handle) deletes the session's ephemeral nodes.
//! - Every request gets exactly one outcome, whatever the network does: its reply, or an
//!   error (a reply that does not decode fails it with [`Error::ConnectionLoss`], like the
//!   others in flight on that connection).
//! - Nothing received from the network can make the client panic or allocate without
//!   bound. A reply above [`max_frame_len`](ClientBuilder::max_frame_len) (a large node, a
//!   long child list, a big `multi_read`) is discarded as it arrives and fails only its
//!   call with [`Error::TooLarge`]; the connection stays. Any other frame above the limit,
//!   and malformed replies, drop the connection, which is then re-established.
//!   [`Client::last_connect_error`] says what the last failed attempt met ("the server
//!   sent a 2147483647-byte frame (the limit is 1048575); is this a ZooKeeper port?", "no
//!   complete answer to the handshake within 10000 ms"), and [`ClientBuilder::connect`]
//!   returns it when no server gave a session.
//! - Backoff starts again only once a connection has proven to work (the server
//!   answered after the handshake), so a server that breaks every connection right after
//!   the handshake is dialled at most about twice a second.
//! - [`Client::close`] is idempotent and returns at once once the session has ended
//!   (closed, expired, authentication failed), from any handle.
//! - On ZooKeeper 3.8, a server keeps one watch mode per path and session in each of its
//!   two watch tables (ZOOKEEPER-4466), so a persistent watch and a one-shot watch on the
//!   same path disturb each other; the client re-arms what the server dropped, so each
//!   fires as it should. (A persistent and a persistent recursive watch on the very same
//!   path cannot both be kept whole on 3.8: the recursive one is kept, and the
//!   persistent one may miss child events.)
//!
//! # Watchers
//!
//! Watchers are owned values. One-shot watches
//! ([`get_data_and_watch`](Client::get_data_and_watch),
//! [`exists_and_watch`](Client::exists_and_watch),
//! [`get_children_and_watch`](Client::get_children_and_watch)) are futures
//! ([`OneshotWatcher`]); persistent and persistent recursive watches ([`Client::watch`])
//! are streams ([`PersistentWatcher`]); the session state is a latest-value
//! [`StateWatcher`] and a lossless [`StateStream`]. Dropping a watcher removes it.
//!
//! # Features of the servers
//!
//! | feature | server |
//! |---|---|
//! | create returning a Stat, containers, checkWatches/removeWatches, reconfig | 3.5 |
//! | TTL nodes | 3.5.3, with `extendedTypesEnabled=true` |
//! | persistent watches, multiRead, getEphemerals, getAllChildrenNumber | 3.6 |
//! | whoAmI | 3.7 |
//!
//! Servers before 3.5 work for everything else: `create` falls back to the old opcode.
//!
//! # Security
//!
//! - TLS ([`TlsOptions`], rustls): a CA from a PEM file or bytes, an optional client
//!   certificate for mutual TLS (the session then has the `x509` identity of its subject),
//!   hostname verification on unless
//!   [`danger_disable_hostname_verification`](TlsOptions::danger_disable_hostname_verification),
//!   files re-read on every reconnect. [`ClientBuilder::tls`] makes TLS the default for
//!   every host; `tls://host:port` and `tcp://host:port` in the connect string choose per
//!   host. ZooKeeper 3.8 negotiates TLS 1.2 unless its `ssl.enabledProtocols` and
//!   `ssl.ciphersuites` allow TLS 1.3.
//!
//!   TLS is the crate's `tls` feature, on by default. A plaintext-only application can
//!   leave it out (`default-features = false`): rustls and its crypto are then neither
//!   built nor linked (a C compiler is no longer needed for them, and the binary is about
//!   800 kB smaller), and a `tls://` host is refused with [`Error::InvalidArgument`].
//! - SASL DIGEST-MD5 ([`ClientBuilder::sasl_digest`]), run before anything else on every
//!   connection; a wrong password ends the session with [`Error::AuthFailed`]. GSSAPI
//!   (Kerberos) is not supported yet.
//! - Digest authentication ([`Client::add_auth`], [`ClientBuilder::auth`]), replayed after
//!   every reconnect in the order added, and ACL helpers in [`acl`] (digest ids, `world`,
//!   `auth`, `ip`, `x509`).
//!
//! ```no_run
//! use zk_client::{acl, Client, CreateOptions, Perms, TlsOptions};
//!
//! # async fn _example() -> zk_client::Result<()> {
//! let client = Client::builder()
//!     .tls(TlsOptions::new().ca_file("ca.pem").client_cert_files("client.pem", "client.key"))
//!     .sasl_digest("bob", "bobsecret")
//!     .auth("digest", b"alice:secret")
//!     .connect("zk1:2281,zk2:2281/app")
//!     .await?;
//! let only_alice = vec![acl::digest("alice", "secret", Perms::ALL)];
//! client.create("/private", b"s", &CreateOptions::persistent().acl(only_alice)).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]
#![doc(test(attr(deny(warnings))))]

mod builder;
mod call;
mod client;
mod config;
pub mod connector;
mod error;
mod helpers;
mod in_flight;
mod low_water;
mod multi;
mod ops;
mod options;
mod sasl;
mod task;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod watcher;
mod write_hold;

pub use builder::ClientBuilder;
pub use client::Client;
pub use error::{Error, ErrorContext, IoError, Result};
pub use multi::{MultiBuilder, MultiReadBuilder, OpResult, ReadResult};
pub use options::{CreateOptions, acl};
pub use proto::hosts::Host;
pub use proto::records::{Acl, ClientInfo, Id, Stat};
pub use proto::session::{ReconnectPolicy, SessionState};
pub use proto::{AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType};
pub use task::SessionTask;
#[cfg(feature = "tls")]
pub use tls::TlsOptions;
pub use watcher::{OneshotWatcher, PersistentWatcher, StateStream, StateWatcher, WatchedEvent};

/// The wire protocol crate this client drives.
pub use proto;
