//! [`Client`]: a cheap, cloneable handle; every operation is sent when called.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use proto::path::{self, PathError};
use proto::records::*;
use proto::session::{RequestId, SessionState, WatchKind};
use proto::{ErrorCode, OpCode};
use tokio::sync::{mpsc, oneshot, watch};

use crate::builder::ClientBuilder;
use crate::error::{Context, Error, Result};
use crate::task::{Channels, Command, RawReply, Shared, WatchSink};
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
    request_timeout: Option<Duration>,
    fail_fast: bool,
    max_queued: usize,
    max_frame_len: usize,
    outstanding: Arc<AtomicUsize>,
}

impl Inner {
    pub(crate) fn new(
        channels: Channels,
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
            request_timeout,
            fail_fast,
            max_queued,
            max_frame_len,
            outstanding: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// Counts a request as outstanding until its reply (or its future) is gone.
struct Outstanding(Arc<AtomicUsize>);

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request on its way: await it for the reply as the session gave it; only client
/// conditions (the deadline, a closed client) are errors.
pub(crate) struct Pending {
    rx: oneshot::Receiver<RawReply>,
    deadline: Option<tokio::time::Instant>,
    /// The deadline's timer, made when first needed.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    context: Context,
    _outstanding: Outstanding,
}

impl Pending {
    /// The reply, with server errors turned into [`Error`]s.
    pub(crate) async fn reply(self) -> Result<(Response, RequestId, Option<WatchKind>)> {
        let context = self.context.clone();
        let (result, id, watch) = self.await?;
        match result {
            Ok(response) => Ok((response, id, watch)),
            Err(code) => Err(Error::from_code(code, context)),
        }
    }

    pub(crate) fn context(&self) -> &Context {
        &self.context
    }
}

impl Future for Pending {
    type Output = Result<RawReply>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(raw) = Pin::new(&mut self.rx).poll(cx) {
            return Poll::Ready(raw.map_err(|_| Error::Closed(self.context.clone())));
        }
        if let Some(deadline) = self.deadline {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Error::Timeout(self.context.clone())));
            }
        }
        Poll::Pending
    }
}

/// The future of an operation: its [`Pending`] request (or the error that kept it from
/// being sent), and what turns the reply into the operation's result.
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Finish<F> {
    pending: std::result::Result<Pending, Option<Error>>,
    convert: Option<F>,
    span: tracing::Span,
}

impl<T, F> Future for Finish<F>
where
    F: FnOnce(Response, RequestId, &Context) -> Result<T> + Unpin,
{
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let pending = match &mut this.pending {
            Ok(pending) => pending,
            Err(error) => {
                return Poll::Ready(Err(error.take().unwrap_or_else(polled_again)));
            }
        };
        let (result, id, _) = match Pin::new(&mut *pending).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(raw) => raw?,
        };
        let context = pending.context();
        let Some(convert) = this.convert.take() else {
            return Poll::Ready(Err(polled_again()));
        };
        Poll::Ready(match result {
            Ok(response) => convert(response, id, context),
            Err(code) => Err(Error::from_code(code, context.clone())),
        })
    }
}

/// The error of a future polled after it completed.
fn polled_again() -> Error {
    Error::InvalidArgument(Context::new("poll", None), "polled after completion")
}

/// A span naming the operation and path of a request.
pub(crate) fn span_for(pending: &Result<Pending>) -> tracing::Span {
    match pending {
        Ok(p) => tracing::debug_span!(
            "zk",
            op = p.context().op,
            path = p.context().path.as_deref()
        ),
        Err(_) => tracing::Span::none(),
    }
}

pub(crate) fn unexpected(context: Context) -> Error {
    Error::from_code(ErrorCode::MarshallingError, context)
}

pub(crate) fn version_arg(version: Option<i32>) -> i32 {
    version.unwrap_or(-1)
}

pub(crate) fn validate(op: &'static str, path: &str) -> Result<()> {
    path::validate(path).map_err(|e| invalid_path(op, path, e))
}

pub(crate) fn invalid_path(op: &'static str, path: &str, e: PathError) -> Error {
    Error::InvalidPath(Context::new(op, Some(Arc::from(path))), e)
}

impl Client {
    /// A builder with the defaults.
    ///
    /// ```
    /// let builder = zk_client::Client::builder();
    /// # let _ = builder;
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Connects with the defaults; see [`ClientBuilder::connect`].
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::connect`].
    ///
    /// ```no_run
    /// # async fn _example() -> zk_client::Result<()> {
    /// let client = zk_client::Client::connect("127.0.0.1:2181").await?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub async fn connect(hosts: &str) -> Result<Self> {
        Self::builder().connect(hosts).await
    }

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
        StateWatcher::new(self.0.state.clone())
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

    /// Why the last connection attempt failed, if one did (TLS handshake errors say what
    /// failed: unknown CA, name mismatch, expired certificate, not a TLS port).
    pub fn last_connect_error(&self) -> Option<crate::error::IoError> {
        self.0.shared.borrow().last_error.clone()
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

    pub(crate) fn submit(
        &self,
        op: &'static str,
        path: Option<&str>,
        op_code: OpCode,
        request: Request,
        watch: Option<WatchSink>,
    ) -> Result<Pending> {
        self.submit_with(op, path, op_code, request, watch, false)
    }

    pub(crate) fn submit_with(
        &self,
        op: &'static str,
        path: Option<&str>,
        op_code: OpCode,
        request: Request,
        watch: Option<WatchSink>,
        unrooted: bool,
    ) -> Result<Pending> {
        let context = Context::new(op, path.map(Arc::from));
        let state = self.state();
        if let Some(code) = state.terminal_error() {
            return Err(Error::from_code(code, context));
        }
        if self.0.fail_fast && !state.is_connected() {
            return Err(Error::ConnectionLoss(context));
        }
        if request.body_len() + 8 > self.0.max_frame_len {
            return Err(Error::TooLarge(context));
        }
        if self.0.outstanding.fetch_add(1, Ordering::Relaxed) >= self.0.max_queued {
            self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::QueueFull(context));
        }
        let outstanding = Outstanding(self.0.outstanding.clone());
        let (tx, rx) = oneshot::channel();
        let command = Command::Submit {
            op_code,
            request,
            unrooted,
            reply: tx,
            watch,
        };
        if self.0.commands.send(command).is_err() {
            return Err(Error::Closed(context));
        }
        let deadline = self
            .0
            .request_timeout
            .map(|d| tokio::time::Instant::now() + d);
        Ok(Pending {
            rx,
            deadline,
            sleep: None,
            context,
            _outstanding: outstanding,
        })
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

    /// Runs `convert` on the reply of `pending`, inside a span naming the operation.
    pub(crate) fn finish<T, F>(&self, pending: Result<Pending>, convert: F) -> Finish<F>
    where
        F: FnOnce(Response, RequestId, &Context) -> Result<T> + Send + Unpin + 'static,
    {
        let span = span_for(&pending);
        Finish {
            pending: pending.map_err(Some),
            convert: Some(convert),
            span,
        }
    }

    /// Validates `path`, then sends `request` (whose path it is).
    pub(crate) fn submit_path(
        &self,
        op: &'static str,
        path: &str,
        op_code: OpCode,
        request: Request,
        watch: Option<WatchSink>,
    ) -> Result<Pending> {
        validate(op, path)?;
        self.submit(op, Some(path), op_code, request, watch)
    }

    /// Validates `path`, sends `request`, and takes the result out of the reply with
    /// `extract` (`None` for a reply of another type, which the session never delivers).
    pub(crate) fn path_op<T, F>(
        &self,
        op: &'static str,
        path: &str,
        op_code: OpCode,
        request: Request,
        extract: F,
    ) -> impl Future<Output = Result<T>> + Send + 'static + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(Response) -> Option<T> + Send + Unpin + 'static,
    {
        let pending = self.submit_path(op, path, op_code, request, None);
        self.finish(pending, move |response, _, context| {
            extract(response).ok_or_else(|| unexpected(context.clone()))
        })
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
