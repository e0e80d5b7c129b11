//! Transactions: [`MultiBuilder`] (atomic writes) and [`MultiReadBuilder`] (batched reads).

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use proto::records::*;
use proto::{ErrorCode, OpCode, path};

use crate::call::Call;
use crate::client::Client;
use crate::error::{Error, ErrorContext, Result};
use crate::options::CreateOptions;

/// The result of one op of a successful [`MultiBuilder::commit`].
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum OpResult {
    /// A node was created at `path`; `stat` is `None` on servers that do not return it
    /// inside a multi (3.8.0 and 3.8.1 demote create2 to create, ZOOKEEPER-4026).
    Create {
        /// The created path.
        path: String,
        /// Its Stat, when the server sent it.
        stat: Option<Stat>,
    },
    /// Data was set; the node's new Stat.
    SetData(Stat),
    /// A node was deleted.
    Delete,
    /// A version check passed.
    Check,
}

/// The ops of a multi or multiRead being built, and the first invalid one.
#[derive(Debug)]
struct Batch {
    client: Client,
    op: &'static str,
    ops: Vec<MultiOp>,
    /// The client path of each op, for errors.
    paths: Vec<Arc<str>>,
    error: Option<Error>,
}

/// A multi or multiRead response with the client paths of its ops.
struct Answered {
    response: MultiResponse,
    paths: Vec<Arc<str>>,
    context: ErrorContext,
}

impl Batch {
    fn new(client: Client, op: &'static str) -> Self {
        Self {
            client,
            op,
            ops: Vec::new(),
            paths: Vec::new(),
            error: None,
        }
    }

    fn push(&mut self, path: &str, op: Result<MultiOp>) {
        match op {
            Ok(op) => {
                self.ops.push(op);
                self.paths.push(Arc::from(path));
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    fn validated(&self, path: &str) -> Result<()> {
        path::validate(path)
            .map_err(|e| Error::InvalidPath(ErrorContext::new(self.op, Some(Arc::from(path))), e))
    }

    /// Sends the ops now (nothing at all when there are none) and awaits the response.
    fn send(
        self,
        op_code: OpCode,
    ) -> impl Future<Output = Result<Option<Answered>>> + Send + 'static + use<> {
        let Self {
            client,
            op,
            ops,
            paths,
            error,
        } = self;
        let pending = match error {
            Some(e) => Err(e),
            None if ops.is_empty() => Ok(None),
            None => {
                let call = Call::new(op_code, Request::Multi(MultiRequest { ops })).named(op);
                client.send(call).map(Some)
            }
        };
        async move {
            let Some(pending) = pending? else {
                return Ok(None);
            };
            let context = pending.context().clone();
            let (response, _, _) = pending.reply().await?;
            let response = MultiResponse::try_from(response)
                .map_err(|_| Error::UnexpectedReply(context.clone()))?;
            Ok(Some(Answered {
                response,
                paths,
                context,
            }))
        }
    }
}

/// Builds an atomic transaction: every op is applied, or none.
///
/// Created by [`Client::multi`]. Ops are validated as they are added; the first invalid
/// one is reported by [`commit`](Self::commit), which sends the transaction when called.
///
/// ```no_run
/// use zk_client::{CreateOptions, OpResult};
/// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
/// let results = client
///     .multi()
///     .check("/tasks", 7)
///     .create("/tasks/t-", b"job", &CreateOptions::new(zk_client::CreateMode::PersistentSequential))
///     .delete("/queue/t-0000000001", None)
///     .commit()
///     .await?;
/// assert!(matches!(results[1], OpResult::Create { .. }));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a transaction does nothing until committed"]
pub struct MultiBuilder(Batch);

impl MultiBuilder {
    pub(crate) fn new(client: Client) -> Self {
        Self(Batch::new(client, "multi"))
    }

    /// Adds a create (any mode, TTL included).
    pub fn create(mut self, path: &str, data: &[u8], options: &CreateOptions) -> Self {
        let op =
            self.0
                .client
                .create_request(path, data, options)
                .and_then(|request| match request {
                    Request::CreateTtl(r) => Ok(MultiOp::CreateTtl(r)),
                    Request::Create(r) if options.mode.is_container() => {
                        Ok(MultiOp::CreateContainer(r))
                    }
                    Request::Create(r) => Ok(MultiOp::Create2(r)),
                    _ => Err(Error::InvalidArgument(
                        ErrorContext::new("multi", Some(Arc::from(path))),
                        "not a create",
                    )),
                });
        self.0.push(path, op);
        self
    }

    /// Adds a setData, if the node's version is `version` (`None`: any).
    pub fn set_data(mut self, path: &str, data: &[u8], version: Option<i32>) -> Self {
        let op = self.0.validated(path).map(|()| {
            MultiOp::SetData(SetDataRequest {
                path: path.to_owned(),
                data: Bytes::copy_from_slice(data),
                version: version.unwrap_or(-1),
            })
        });
        self.0.push(path, op);
        self
    }

    /// Adds a delete, if the node's version is `version` (`None`: any).
    pub fn delete(mut self, path: &str, version: Option<i32>) -> Self {
        let op = self.0.validated(path).map(|()| {
            MultiOp::Delete(DeleteRequest {
                path: path.to_owned(),
                version: version.unwrap_or(-1),
            })
        });
        self.0.push(path, op);
        self
    }

    /// Adds a check that the node's version is `version`.
    pub fn check(mut self, path: &str, version: i32) -> Self {
        let op = self.0.validated(path).map(|()| {
            MultiOp::Check(CheckVersionRequest {
                path: path.to_owned(),
                version,
            })
        });
        self.0.push(path, op);
        self
    }

    /// Sends the transaction (now, in call order) and returns one result per op.
    ///
    /// # Errors
    ///
    /// The error of the first op that failed, with that op's path ([`Error::BadVersion`],
    /// [`Error::NoNode`], [`Error::NodeExists`], ...): nothing was applied. An invalid op
    /// added earlier ([`Error::InvalidPath`]). The connection errors: after
    /// [`Error::ConnectionLoss`] the transaction was applied entirely or not at all.
    pub fn commit(self) -> impl Future<Output = Result<Vec<OpResult>>> + Send + 'static + use<> {
        let answer = self.0.send(OpCode::Multi);
        async move {
            let Some(Answered {
                response,
                paths,
                context,
            }) = answer.await?
            else {
                return Ok(Vec::new());
            };
            if let Some((index, code)) = response.first_error() {
                return Err(Error::from_code(
                    code,
                    ErrorContext::new("multi", paths.get(index).cloned()),
                ));
            }
            response
                .results
                .into_iter()
                .map(|result| match result {
                    MultiResult::Create(r) => Ok(OpResult::Create {
                        path: r.path,
                        stat: None,
                    }),
                    MultiResult::Create2(r) => Ok(OpResult::Create {
                        path: r.path,
                        stat: Some(r.stat),
                    }),
                    MultiResult::SetData(r) => Ok(OpResult::SetData(r.stat)),
                    MultiResult::Delete => Ok(OpResult::Delete),
                    MultiResult::Check | MultiResult::Error(ErrorCode::Ok) => Ok(OpResult::Check),
                    _ => Err(Error::from_code(
                        ErrorCode::MarshallingError,
                        context.clone(),
                    )),
                })
                .collect()
        }
    }
}

/// The result of one read of a [`MultiReadBuilder::commit`].
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ReadResult {
    /// A node's data and Stat.
    Data(Bytes, Stat),
    /// A node's children.
    Children(Vec<String>),
}

/// Builds a batch of reads answered together, each succeeding or failing on its own
/// (3.6+ servers).
///
/// ```no_run
/// use zk_client::ReadResult;
/// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
/// let results = client.multi_read().get_data("/a").get_children("/b").commit().await?;
/// if let Ok(ReadResult::Data(data, _)) = &results[0] {
///     println!("{data:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a batch does nothing until committed"]
pub struct MultiReadBuilder(Batch);

impl MultiReadBuilder {
    pub(crate) fn new(client: Client) -> Self {
        Self(Batch::new(client, "multiRead"))
    }

    /// Adds a getData.
    pub fn get_data(mut self, path: &str) -> Self {
        let op = self.0.validated(path).map(|()| {
            MultiOp::GetData(GetDataRequest {
                path: path.to_owned(),
                watch: false,
            })
        });
        self.0.push(path, op);
        self
    }

    /// Adds a getChildren.
    pub fn get_children(mut self, path: &str) -> Self {
        let op = self.0.validated(path).map(|()| {
            MultiOp::GetChildren(GetChildrenRequest {
                path: path.to_owned(),
                watch: false,
            })
        });
        self.0.push(path, op);
        self
    }

    /// Sends the batch (now, in call order) and returns one result per read.
    ///
    /// # Errors
    ///
    /// Per read: [`Error::NoNode`], [`Error::NoAuth`]. For the whole batch: an invalid
    /// path, [`Error::Unimplemented`] before 3.6, and the connection errors.
    pub fn commit(
        self,
    ) -> impl Future<Output = Result<Vec<Result<ReadResult>>>> + Send + 'static + use<> {
        let answer = self.0.send(OpCode::MultiRead);
        async move {
            let Some(Answered {
                response, paths, ..
            }) = answer.await?
            else {
                return Ok(Vec::new());
            };
            Ok(response
                .results
                .into_iter()
                .zip(paths)
                .map(|(result, path)| {
                    let context = || ErrorContext::new("multiRead", Some(Arc::clone(&path)));
                    match result {
                        MultiResult::GetData(r) => {
                            Ok(ReadResult::Data(r.data.unwrap_or_default(), r.stat))
                        }
                        MultiResult::GetChildren(r) => Ok(ReadResult::Children(r.children)),
                        MultiResult::Error(code) => Err(Error::from_code(code, context())),
                        _ => Err(Error::from_code(ErrorCode::MarshallingError, context())),
                    }
                })
                .collect())
        }
    }
}
