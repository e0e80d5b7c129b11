//! [`Client`]: a cheap, cloneable handle; every operation is sent when called.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use bytes::Bytes;
use proto::session::{RequestId, SessionState};
use tokio::sync::{mpsc, watch};

use crate::task::{Channels, Command, Shared};
use crate::watcher::{Remover, StateStream, StateWatcher};

/// A ZooKeeper client: a cheap [`Clone`] handle to one session.
///
/// Every operation validates its arguments and queues its request when it is called, not
/// when its future is first polled, so the order of calls is the order ZooKeeper executes
/// them in. The returned futures are `Send + 'static`.
///
/// See the [crate documentation](crate) for the behaviour on disconnects, reconnects and
/// expiry.
#[derive(Clone, Debug)]
pub struct Client(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    commands: mpsc::UnboundedSender<Command>,
    removals: mpsc::UnboundedSender<RequestId>,
    state: watch::Receiver<SessionState>,
    shared: watch::Receiver<Shared>,
    /// The chroot of the connect string (`/` for none).
    chroot: String,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) fail_fast: bool,
    pub(crate) max_queued: usize,
    pub(crate) max_frame_len: usize,
    /// Requests sent and not yet answered (or given up), across handles.
    pub(crate) outstanding: Arc<AtomicUsize>,
}

impl Inner {
    pub(crate) fn new(
        channels: Channels,
        chroot: String,
        request_timeout: Option<Duration>,
        fail_fast: bool,
        max_queued: usize,
        max_frame_len: usize,
    ) -> Self {
        Self {
            commands: channels.commands,
            removals: channels.removals,
            state: channels.state,
            shared: channels.shared,
            chroot,
            request_timeout,
            fail_fast,
            max_queued,
            max_frame_len,
            outstanding: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Client {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    // ---- session ---------------------------------------------------------------------

    /// The current session state.
    pub fn state(&self) -> SessionState {
        *self.0.state.borrow()
    }

    /// A watcher of the latest session state.
    pub fn state_watcher(&self) -> StateWatcher {
        let mut rx = self.0.state.clone();
        // Changes from now on: the handle's own receiver has never marked a state seen.
        rx.mark_unchanged();
        StateWatcher::new(rx)
    }

    /// A stream of every state transition from now on, starting with the current state.
    pub fn state_stream(&self) -> StateStream {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.0.commands.send(Command::StateStream(tx));
        StateStream::new(rx)
    }

    /// The session id (0 before the first connection).
    pub fn session_id(&self) -> i64 {
        self.0.shared.borrow().session_id
    }

    /// The server the session is connected to (`host:port` as in the connect string), if
    /// connected.
    pub fn connected_server(&self) -> Option<String> {
        self.0.shared.borrow().server.clone()
    }

    /// Why the last connection attempt failed, or the last connection was dropped, if one
    /// was: a refused dial, a TLS handshake error (unknown CA, name mismatch, expired
    /// certificate, not a TLS port), or what the peer did wrong (a frame too large for a
    /// ZooKeeper port, an answer to the handshake that is not one, a reply that does not
    /// decode, no answer within the timeout).
    pub fn last_connect_error(&self) -> Option<crate::error::IoError> {
        self.0.shared.borrow().last_error.clone()
    }

    /// The chroot of the connect string (`/` when there is none): every path this client
    /// names is below it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> zk_client::Result<()> {
    /// let (client, _task) = zk_client::Client::builder().build("127.0.0.1:2181/myapp")?;
    /// assert_eq!(client.chroot(), "/myapp");
    /// # Ok(()) }
    /// ```
    pub fn chroot(&self) -> &str {
        &self.0.chroot
    }

    /// The session password, to resume the session from another client.
    pub fn session_password(&self) -> Bytes {
        self.0.shared.borrow().password.clone()
    }

    /// The negotiated session timeout.
    pub fn session_timeout(&self) -> Duration {
        self.0.shared.borrow().timeout
    }

    // ---- plumbing --------------------------------------------------------------------

    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }

    /// Sends a command to the session task; false when the task is gone.
    pub(crate) fn command(&self, command: Command) -> bool {
        self.0.commands.send(command).is_ok()
    }

    pub(crate) fn remover(&self, id: RequestId) -> Remover {
        Remover {
            id,
            tx: self.0.removals.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Client, CreateMode, CreateOptions};

    /// Pipelined callers keep hundreds of these at once: they must stay small.
    #[tokio::test]
    async fn operation_futures_are_small() {
        let (client, _task) = Client::builder().build("127.0.0.1:1").unwrap();
        let get = client.get_data("/a");
        let set = client.set_data("/a", b"x", None);
        let create = client.create("/a", b"x", &CreateOptions::new(CreateMode::Persistent));
        let delete = client.delete("/a", None);
        let sizes = [size_of_val(&get), size_of_val(&set), size_of_val(&delete)];
        for size in sizes {
            assert!(size <= 128, "{sizes:?}");
        }
        assert!(size_of_val(&create) <= 288, "{}", size_of_val(&create));
    }
}
