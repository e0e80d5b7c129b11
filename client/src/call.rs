//! [`Call`]: how every operation reaches the session. An operation describes its request
//! (opcode, body, the path to validate, where its watch's events go), and
//! [`Client::send`] checks it and queues it at once, returning the [`Pending`] reply;
//! [`Client::call`] also takes the typed record out of the reply.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use proto::path::{self, PathError};
use proto::records::{Request, Response};
use proto::session::{RequestId, WatchKind};
use proto::{ErrorCode, OpCode};
use tokio::sync::oneshot;

use crate::client::Client;
use crate::error::{Error, ErrorContext, Result};
use crate::task::{Command, RawReply, WatchSink};

/// How a call's path is checked before anything is sent.
#[derive(Clone, Copy, Debug)]
enum PathCheck {
    /// A node path.
    Node,
    /// A sequential node's prefix, or any prefix (`/queue/`).
    Prefix,
    /// Already checked, or not a client path.
    None,
}

/// One request and what sending it needs.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    op: &'static str,
    op_code: OpCode,
    request: Request,
    path: Option<&'a str>,
    check: PathCheck,
    watch: Option<WatchSink>,
    unrooted: bool,
}

impl<'a> Call<'a> {
    /// `request` sent as `op_code`, reported under ZooKeeper's name for the opcode.
    pub(crate) fn new(op_code: OpCode, request: Request) -> Self {
        Self {
            op: op_code.name(),
            op_code,
            request,
            path: None,
            check: PathCheck::None,
            watch: None,
            unrooted: false,
        }
    }

    /// The node the request acts on: validated, and named in errors.
    pub(crate) fn on(mut self, path: &'a str) -> Self {
        self.path = Some(path);
        self.check = PathCheck::Node;
        self
    }

    /// A path prefix (a sequential node's, or getEphemerals'): validated as one.
    pub(crate) fn on_prefix(mut self, path: &'a str) -> Self {
        self.path = Some(path);
        self.check = PathCheck::Prefix;
        self
    }

    /// A path named in errors, already validated or not a client path.
    pub(crate) fn naming(mut self, path: &'a str) -> Self {
        self.path = Some(path);
        self.check = PathCheck::None;
        self
    }

    /// Reports errors under `op` (the operation the user called, where its wire opcode
    /// has another name: getChildren sent as getChildren2, getConfig as getData).
    pub(crate) fn named(mut self, op: &'static str) -> Self {
        self.op = op;
        self
    }

    /// Where the events of the watch this request leaves go.
    pub(crate) fn watch(mut self, sink: WatchSink) -> Self {
        self.watch = Some(sink);
        self
    }

    /// The request's paths are server paths, used without the chroot.
    pub(crate) fn unrooted(mut self) -> Self {
        self.unrooted = true;
        self
    }

    fn context(&self) -> ErrorContext {
        ErrorContext::new(self.op, self.path.map(Arc::from))
    }
}

/// The error of a path that failed validation.
pub(crate) fn invalid_path(op: &'static str, path: &str, e: PathError) -> Error {
    Error::InvalidPath(ErrorContext::new(op, Some(Arc::from(path))), e)
}

/// Validates a node path for `op`.
pub(crate) fn validate(op: &'static str, path: &str) -> Result<()> {
    path::validate(path).map_err(|e| invalid_path(op, path, e))
}

impl Client {
    /// Checks `call` and queues its request now: the one way requests reach the session.
    pub(crate) fn send(&self, call: Call<'_>) -> Result<Pending> {
        let context = call.context();
        if let Some(path) = call.path {
            let checked = match call.check {
                PathCheck::Node => path::validate(path),
                PathCheck::Prefix => path::validate_sequential(path),
                PathCheck::None => Ok(()),
            };
            checked.map_err(|e| Error::InvalidPath(context.clone(), e))?;
        }
        let inner = self.inner();
        let state = self.state();
        if let Some(code) = state.terminal_error() {
            return Err(Error::from_code(code, context));
        }
        if inner.fail_fast && !state.is_connected() {
            return Err(Error::ConnectionLoss(context));
        }
        if call.request.body_len() + 8 > inner.max_frame_len {
            return Err(Error::TooLarge(context));
        }
        if inner.outstanding.fetch_add(1, Ordering::Relaxed) >= inner.max_queued {
            inner.outstanding.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::QueueFull(context));
        }
        let outstanding = Outstanding(inner.outstanding.clone());
        let (tx, rx) = oneshot::channel();
        let command = Command::Submit {
            op_code: call.op_code,
            request: call.request,
            unrooted: call.unrooted,
            reply: tx,
            watch: call.watch,
        };
        if !self.command(command) {
            return Err(Error::Closed(context));
        }
        let deadline = inner
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

    /// Sends `call` and turns its reply, a record of type `R`, into the result with
    /// `finish` (which also gets the request id: it names the watch the request left).
    pub(crate) fn call<R, T, F>(&self, call: Call<'_>, finish: F) -> Finish<R, F>
    where
        R: TryFrom<Response>,
        F: FnOnce(R, RequestId) -> T + Unpin,
    {
        let pending = self.send(call);
        let span = match &pending {
            Ok(p) => {
                tracing::debug_span!("zk", op = p.context.op, path = p.context.path.as_deref())
            }
            Err(_) => tracing::Span::none(),
        };
        Finish {
            pending: pending.map_err(Some),
            finish: Some(finish),
            span,
            _reply: std::marker::PhantomData,
        }
    }
}

/// Counts a request as outstanding until its reply (or its future) is gone.
#[derive(Debug)]
struct Outstanding(Arc<AtomicUsize>);

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request on its way: await it for the reply as the session gave it; only client
/// conditions (the deadline, a closed client) are errors.
#[derive(Debug)]
pub(crate) struct Pending {
    rx: oneshot::Receiver<RawReply>,
    deadline: Option<tokio::time::Instant>,
    /// The deadline's timer, made when first needed.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    context: ErrorContext,
    _outstanding: Outstanding,
}

impl Pending {
    /// The reply, with server errors turned into [`Error`]s.
    pub(crate) async fn reply(self) -> Result<(Response, RequestId, Option<WatchKind>)> {
        let context = self.context.clone();
        let reply = self.await?;
        match reply.result {
            Ok(response) => Ok((response, reply.id, reply.watch)),
            Err(code) => Err(Error::from_code(code, context)),
        }
    }

    /// The operation and path, for errors.
    pub(crate) fn context(&self) -> &ErrorContext {
        &self.context
    }
}

impl Future for Pending {
    type Output = Result<RawReply>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
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
/// being sent), and what turns the reply's record into the operation's result.
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Finish<R, F> {
    pending: std::result::Result<Pending, Option<Error>>,
    finish: Option<F>,
    span: tracing::Span,
    _reply: std::marker::PhantomData<fn() -> R>,
}

impl<R, F> Finish<R, F> {
    /// The future of an operation that failed before anything was sent.
    pub(crate) fn failed(error: Error) -> Self {
        Self {
            pending: Err(Some(error)),
            finish: None,
            span: tracing::Span::none(),
            _reply: std::marker::PhantomData,
        }
    }
}

impl<R, T, F> Future for Finish<R, F>
where
    R: TryFrom<Response>,
    F: FnOnce(R, RequestId) -> T + Unpin,
{
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let pending = match &mut this.pending {
            Ok(pending) => pending,
            Err(error) => {
                return Poll::Ready(Err(error.take().unwrap_or_else(polled_again)));
            }
        };
        let reply = match Pin::new(&mut *pending).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(reply) => reply?,
        };
        let Some(finish) = this.finish.take() else {
            return Poll::Ready(Err(polled_again()));
        };
        let context = &pending.context;
        Poll::Ready(match reply.result {
            Ok(response) => match R::try_from(response) {
                Ok(record) => Ok(finish(record, reply.id)),
                Err(_) => Err(Error::UnexpectedReply(context.clone())),
            },
            Err(code) => Err(Error::from_code(code, context.clone())),
        })
    }
}

/// The error of a future polled after it completed.
fn polled_again() -> Error {
    Error::InvalidArgument(ErrorContext::new("poll", None), "polled after completion")
}

/// The version argument of setData, delete, setACL and check: `None` is any version.
pub(crate) fn version_arg(version: Option<i32>) -> i32 {
    version.unwrap_or(-1)
}

/// The error code a reply carries, as an error of `context`.
pub(crate) fn code_error(code: ErrorCode, context: &ErrorContext) -> Error {
    Error::from_code(code, context.clone())
}
