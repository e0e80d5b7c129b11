//! The operations of [`Client`]: every ZooKeeper RPC, each validated and queued when
//! called.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use proto::path;
use proto::records::*;
use proto::session::RequestId;
use proto::{AddWatchMode, ErrorCode, OpCode, WatcherType};
use tokio::sync::{mpsc, oneshot};

use crate::call::{Call, Finish, Pending, code_error, invalid_path, version_arg};
use crate::client::Client;
use crate::error::{Error, ErrorContext, Result};
use crate::multi::{MultiBuilder, MultiReadBuilder};
use crate::options::CreateOptions;
use crate::task::{Command, WatchSink};
use crate::watcher::{OneshotWatcher, PersistentWatcher};

impl Client {
    /// Creates a node and returns its path (with the sequence suffix for sequential modes)
    /// and its Stat.
    ///
    /// Sequential nodes are validated as `path + "1"`, so `/queue/` is a valid prefix.
    /// On servers before 3.5 (no create2) the Stat is read with a follow-up exists.
    ///
    /// # Errors
    ///
    /// [`Error::NodeExists`], [`Error::NoNode`] (no parent), [`Error::NoChildrenForEphemerals`],
    /// [`Error::InvalidAcl`], [`Error::NoAuth`], [`Error::BadArguments`] (bad TTL),
    /// [`Error::Unimplemented`] (TTL nodes disabled on the server), [`Error::InvalidPath`],
    /// [`Error::InvalidArgument`] (a TTL mode without a TTL, or a TTL without a TTL mode),
    /// and the connection errors.
    ///
    /// ```no_run
    /// use zk_client::{CreateMode, CreateOptions};
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (path, stat) = client.create("/jobs/job-", b"payload", &CreateOptions::new(CreateMode::PersistentSequential)).await?;
    /// assert!(path.starts_with("/jobs/job-"));
    /// # let _ = stat; Ok(()) }
    /// ```
    pub fn create(
        &self,
        path: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> impl Future<Output = Result<(String, Stat)>> + Send + 'static + use<> {
        let created = match self.create_request(path, data, options) {
            Ok(request) => {
                let call = Call::new(options.mode.op_code(true), request).named("create");
                self.call(call.naming(path), Created::keep)
            }
            Err(error) => Finish::failed(error),
        };
        let client = self.clone();
        async move {
            match created.await? {
                Created {
                    path,
                    stat: Some(stat),
                } => Ok((path, stat)),
                Created { path, stat: None } => {
                    // A server before 3.5: read the Stat (boxed, as this is rare).
                    let stat = Box::pin(client.exists(&path)).await?.unwrap_or_default();
                    Ok((path, stat))
                }
            }
        }
    }

    pub(crate) fn create_request(
        &self,
        path: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> Result<Request> {
        let mode = options.mode;
        let check = if mode.is_sequential() {
            path::validate_sequential(path)
        } else {
            path::validate(path)
        };
        check.map_err(|e| invalid_path("create", path, e))?;
        let context = || ErrorContext::new("create", Some(Arc::from(path)));
        let data = Bytes::copy_from_slice(data);
        match (mode.is_ttl(), options.ttl) {
            (true, Some(ttl)) => {
                let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
                Ok(Request::CreateTtl(CreateTtlRequest {
                    path: path.to_owned(),
                    data,
                    acl: options.acl.clone(),
                    flags: mode,
                    ttl,
                }))
            }
            (true, None) => Err(Error::InvalidArgument(context(), "a TTL mode needs a TTL")),
            (false, Some(_)) => Err(Error::InvalidArgument(context(), "a TTL needs a TTL mode")),
            (false, None) => Ok(Request::Create(CreateRequest {
                path: path.to_owned(),
                data,
                acl: options.acl.clone(),
                flags: mode,
            })),
        }
    }

    /// Deletes a node, if its version is `version` (`None`: any version).
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`], [`Error::BadVersion`], [`Error::NotEmpty`], [`Error::NoAuth`],
    /// [`Error::BadArguments`] (`/` or `/zookeeper`), [`Error::InvalidPath`], and the
    /// connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.delete("/jobs/job-0000000001", None).await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(
        &self,
        path: &str,
        version: Option<i32>,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let request = Request::Delete(DeleteRequest {
            path: path.to_owned(),
            version: version_arg(version),
        });
        self.call(Call::new(OpCode::Delete, request).on(path), |(), _| ())
    }

    /// Deletes a node in the background, as Curator's guaranteed delete does: the delete is
    /// sent again after every connection loss until the node is gone (deleted, or already
    /// absent) or the session ends. Returns at once; the delete runs in the client's own
    /// task, so it is safe to call from `Drop` and needs no runtime. Recipes use it to
    /// remove their ephemeral nodes when a wait is cancelled or a guard dropped.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`], or [`Error::Closed`] when the client's task has ended.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.delete_in_background("/locks/orders/_c_00000000-0000-0000-0000-000000000000-lock-0000000007", None)?;
    /// # Ok(()) }
    /// ```
    pub fn delete_in_background(&self, path: &str, version: Option<i32>) -> Result<()> {
        crate::call::validate("delete", path)?;
        let command = Command::DeleteInBackground {
            path: path.to_owned(),
            version: version_arg(version),
        };
        if self.command(command) {
            Ok(())
        } else {
            Err(Error::Closed(ErrorContext::new(
                "delete",
                Some(Arc::from(path)),
            )))
        }
    }

    /// The Stat of a node, or `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] and the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// if let Some(stat) = client.exists("/config").await? {
    ///     println!("version {}", stat.version);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn exists(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<Stat>>> + Send + 'static + use<> {
        let pending = self.exists_request(path, None);
        async move { Ok(exists_reply(pending?).await?.0) }
    }

    /// Whether the chroot node exists, read without the chroot.
    pub(crate) fn chroot_exists(
        &self,
    ) -> impl Future<Output = Result<Option<Stat>>> + Send + 'static + use<> {
        let chroot = self.chroot();
        let request = Request::Exists(ExistsRequest {
            path: chroot.to_owned(),
            watch: false,
        });
        let call = Call::new(OpCode::Exists, request).naming(chroot).unrooted();
        let pending = self.send(call);
        async move { Ok(exists_reply(pending?).await?.0) }
    }

    fn exists_request(&self, path: &str, sink: Option<WatchSink>) -> Result<Pending> {
        let request = Request::Exists(ExistsRequest {
            path: path.to_owned(),
            watch: sink.is_some(),
        });
        let call = Call::new(OpCode::Exists, request).on(path);
        self.send(match sink {
            Some(sink) => call.watch(sink),
            None => call,
        })
    }

    /// Like [`exists`](Self::exists), and leaves a watch that fires when the node is
    /// created (if missing), changed or deleted.
    ///
    /// # Errors
    ///
    /// As [`exists`](Self::exists).
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (stat, watcher) = client.exists_and_watch("/leader").await?;
    /// if stat.is_none() {
    ///     watcher.await?; // created
    /// }
    /// # Ok(()) }
    /// ```
    pub fn exists_and_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Option<Stat>, OneshotWatcher)>> + Send + 'static + use<> {
        let (tx, rx) = oneshot::channel();
        let pending = self.exists_request(path, Some(WatchSink::Oneshot(tx)));
        let client = self.clone();
        async move {
            let (stat, id) = exists_reply(pending?).await?;
            Ok((stat, OneshotWatcher::new(rx, client.remover(id))))
        }
    }

    /// The data and Stat of a node.
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`], [`Error::NoAuth`], [`Error::InvalidPath`], and the connection
    /// errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (data, stat) = client.get_data("/config").await?;
    /// println!("{} bytes, version {}", data.len(), stat.version);
    /// # Ok(()) }
    /// ```
    pub fn get_data(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static + use<> {
        let request = Request::GetData(GetDataRequest {
            path: path.to_owned(),
            watch: false,
        });
        self.call(
            Call::new(OpCode::GetData, request).on(path),
            |r: GetDataResponse, _| (r.data.unwrap_or_default(), r.stat),
        )
    }

    /// Like [`get_data`](Self::get_data), and leaves a watch that fires when the data
    /// changes or the node is deleted.
    ///
    /// # Errors
    ///
    /// As [`get_data`](Self::get_data); on [`Error::NoNode`] no watch is left (use
    /// [`exists_and_watch`](Self::exists_and_watch) to wait for a creation).
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (data, stat, changed) = client.get_data_and_watch("/config").await?;
    /// changed.await?;
    /// # let _ = (data, stat); Ok(()) }
    /// ```
    pub fn get_data_and_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Bytes, Stat, OneshotWatcher)>> + Send + 'static + use<> {
        let (tx, rx) = oneshot::channel();
        let request = Request::GetData(GetDataRequest {
            path: path.to_owned(),
            watch: true,
        });
        let call = Call::new(OpCode::GetData, request).on(path);
        let client = self.clone();
        self.call(
            call.watch(WatchSink::Oneshot(tx)),
            move |r: GetDataResponse, id| {
                let watcher = OneshotWatcher::new(rx, client.remover(id));
                (r.data.unwrap_or_default(), r.stat, watcher)
            },
        )
    }

    /// Sets the data of a node, if its version is `version` (`None`: any version), and
    /// returns its new Stat.
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`], [`Error::BadVersion`], [`Error::NoAuth`], [`Error::TooLarge`],
    /// [`Error::InvalidPath`], and the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (_, stat) = client.get_data("/counter").await?;
    /// client.set_data("/counter", b"2", Some(stat.version)).await?;
    /// # Ok(()) }
    /// ```
    pub fn set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> impl Future<Output = Result<Stat>> + Send + 'static + use<> {
        let request = Request::SetData(SetDataRequest {
            path: path.to_owned(),
            data: Bytes::copy_from_slice(data),
            version: version_arg(version),
        });
        self.call(
            Call::new(OpCode::SetData, request).on(path),
            |r: SetDataResponse, _| r.stat,
        )
    }

    /// The children of a node (names, in no particular order) and its Stat.
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`], [`Error::NoAuth`], [`Error::InvalidPath`], and the connection
    /// errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (children, stat) = client.get_children("/workers").await?;
    /// assert_eq!(children.len() as i32, stat.num_children);
    /// # Ok(()) }
    /// ```
    pub fn get_children(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<String>, Stat)>> + Send + 'static + use<> {
        self.call(
            Self::get_children_call(path, false),
            |r: GetChildren2Response, _| (r.children, r.stat),
        )
    }

    /// getChildren2 (the children and the parent's Stat), reported as getChildren.
    fn get_children_call(path: &str, watch: bool) -> Call<'_> {
        let request = Request::GetChildren2(GetChildren2Request {
            path: path.to_owned(),
            watch,
        });
        Call::new(OpCode::GetChildren2, request)
            .named("getChildren")
            .on(path)
    }

    /// Like [`get_children`](Self::get_children), and leaves a watch that fires when a
    /// child is added or removed or the node is deleted.
    ///
    /// # Errors
    ///
    /// As [`get_children`](Self::get_children); on [`Error::NoNode`] no watch is left.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (children, _, changed) = client.get_children_and_watch("/workers").await?;
    /// changed.await?;
    /// # let _ = children; Ok(()) }
    /// ```
    pub fn get_children_and_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<String>, Stat, OneshotWatcher)>> + Send + 'static + use<>
    {
        let (tx, rx) = oneshot::channel();
        let call = Self::get_children_call(path, true).watch(WatchSink::Oneshot(tx));
        let client = self.clone();
        self.call(call, move |r: GetChildren2Response, id| {
            let watcher = OneshotWatcher::new(rx, client.remover(id));
            (r.children, r.stat, watcher)
        })
    }

    /// The number of all descendants of a node (3.6+ servers).
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`], [`Error::NoAuth`], [`Error::Unimplemented`], [`Error::InvalidPath`],
    /// and the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let n = client.get_all_children_number("/").await?;
    /// # let _ = n; Ok(()) }
    /// ```
    pub fn get_all_children_number(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<i32>> + Send + 'static + use<> {
        let request = Request::GetAllChildrenNumber(GetAllChildrenNumberRequest {
            path: path.to_owned(),
        });
        self.call(
            Call::new(OpCode::GetAllChildrenNumber, request).on(path),
            |r: GetAllChildrenNumberResponse, _| r.total_number,
        )
    }

    /// The paths of this session's ephemeral nodes under `prefix`, a path prefix matched
    /// as a string (`/app/wor` matches `/app/workers/w1`) within the chroot (3.6+ servers).
    ///
    /// # Errors
    ///
    /// [`Error::Unimplemented`], [`Error::InvalidPath`], and the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let mine = client.get_ephemerals("/").await?;
    /// # let _ = mine; Ok(()) }
    /// ```
    pub fn get_ephemerals(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static + use<> {
        let request = Request::GetEphemerals(GetEphemeralsRequest {
            prefix_path: prefix.to_owned(),
        });
        self.call(
            Call::new(OpCode::GetEphemerals, request).on_prefix(prefix),
            |r: GetEphemeralsResponse, _| r.ephemerals,
        )
    }

    /// The ACL and Stat of a node.
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`], [`Error::InvalidPath`], and the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (acl, _) = client.get_acl("/secure").await?;
    /// # let _ = acl; Ok(()) }
    /// ```
    pub fn get_acl(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<Acl>, Stat)>> + Send + 'static + use<> {
        let request = Request::GetAcl(GetAclRequest {
            path: path.to_owned(),
        });
        self.call(
            Call::new(OpCode::GetAcl, request).on(path),
            |r: GetAclResponse, _| (r.acl, r.stat),
        )
    }

    /// Sets the ACL of a node, if its ACL version is `version` (`None`: any), and returns
    /// its new Stat.
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`], [`Error::BadVersion`], [`Error::InvalidAcl`], [`Error::NoAuth`],
    /// [`Error::InvalidPath`], and the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.set_acl("/public", &zk_client::acl::read_only(), None).await?;
    /// # Ok(()) }
    /// ```
    pub fn set_acl(
        &self,
        path: &str,
        acl: &[Acl],
        version: Option<i32>,
    ) -> impl Future<Output = Result<Stat>> + Send + 'static + use<> {
        let request = Request::SetAcl(SetAclRequest {
            path: path.to_owned(),
            acl: acl.to_vec(),
            version: version_arg(version),
        });
        self.call(
            Call::new(OpCode::SetAcl, request).on(path),
            |r: SetAclResponse, _| r.stat,
        )
    }

    /// Makes the connected server catch up with the leader, so later reads see every write
    /// committed before this call.
    ///
    /// # Errors
    ///
    /// [`Error::NotReadOnly`] on a read-only server, [`Error::InvalidPath`], and the
    /// connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.sync("/").await?;
    /// # Ok(()) }
    /// ```
    pub fn sync(&self, path: &str) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let request = Request::Sync(SyncRequest {
            path: path.to_owned(),
        });
        self.call(
            Call::new(OpCode::Sync, request).on(path),
            |_: SyncResponse, _| (),
        )
    }

    /// Starts an atomic transaction of writes; see [`MultiBuilder`].
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let results = client.multi().check("/lock", 3).set_data("/config", b"v2", None).commit().await?;
    /// # let _ = results; Ok(()) }
    /// ```
    pub fn multi(&self) -> MultiBuilder {
        MultiBuilder::new(self.clone())
    }

    /// Starts a batch of reads answered together; see [`MultiReadBuilder`] (3.6+ servers).
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let results = client.multi_read().get_data("/a").get_children("/b").commit().await?;
    /// # let _ = results; Ok(()) }
    /// ```
    pub fn multi_read(&self) -> MultiReadBuilder {
        MultiReadBuilder::new(self.clone())
    }

    /// Adds a persistent (or persistent recursive) watch on a node, which need not exist,
    /// and returns its stream of events (3.6+ servers).
    ///
    /// Persistent watches fire for the node's creation, data changes, deletion and
    /// children; recursive ones for the node and every descendant, except children
    /// changes. Both stay until the watcher is dropped, and survive reconnects.
    ///
    /// Do not also leave one-shot watches on the same path: a 3.8 server downgrades the
    /// persistent watch to a one-shot one (ZOOKEEPER-4466, fixed in 3.9.0).
    ///
    /// # Errors
    ///
    /// [`Error::Unimplemented`], [`Error::InvalidPath`], and the connection errors.
    ///
    /// ```no_run
    /// use zk_client::AddWatchMode;
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let mut watcher = client.watch("/config", AddWatchMode::Persistent).await?;
    /// while let Some(event) = watcher.next_event().await {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch(
        &self,
        path: &str,
        mode: AddWatchMode,
    ) -> impl Future<Output = Result<PersistentWatcher>> + Send + 'static + use<> {
        let (tx, rx) = mpsc::unbounded_channel();
        let request = Request::AddWatch(AddWatchRequest {
            path: path.to_owned(),
            mode,
        });
        let call = Call::new(OpCode::AddWatch, request).on(path);
        let client = self.clone();
        self.call(
            call.watch(WatchSink::Persistent(tx)),
            move |_: ErrorResponse, id| PersistentWatcher::new(rx, client.remover(id)),
        )
    }

    /// Removes this session's watches of `watcher_type` on a node, on the server and in
    /// this client: their watchers end with a `*WatchRemoved` event.
    ///
    /// # Errors
    ///
    /// [`Error::NoWatcher`] when none matched, [`Error::MarshallingError`] for the
    /// persistent types on a 3.8 server, [`Error::InvalidPath`], and the connection errors.
    ///
    /// ```no_run
    /// use zk_client::WatcherType;
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.remove_watches("/config", WatcherType::Any).await?;
    /// # Ok(()) }
    /// ```
    pub fn remove_watches(
        &self,
        path: &str,
        watcher_type: WatcherType,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let request = Request::RemoveWatches(RemoveWatchesRequest {
            path: path.to_owned(),
            watcher_type,
        });
        self.call(
            Call::new(OpCode::RemoveWatches, request).on(path),
            |(), _| (),
        )
    }

    /// Checks that the server holds a watch of `watcher_type` for this session on a node.
    ///
    /// # Errors
    ///
    /// [`Error::NoWatcher`] when it holds none, [`Error::InvalidPath`], and the connection
    /// errors.
    ///
    /// ```no_run
    /// use zk_client::WatcherType;
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.check_watches("/config", WatcherType::Data).await?;
    /// # Ok(()) }
    /// ```
    pub fn check_watches(
        &self,
        path: &str,
        watcher_type: WatcherType,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let request = Request::CheckWatches(CheckWatchesRequest {
            path: path.to_owned(),
            watcher_type,
        });
        self.call(
            Call::new(OpCode::CheckWatches, request).on(path),
            |(), _| (),
        )
    }

    /// The identities of this session (`ip`, `digest`, `sasl`, `x509`; 3.7+ servers).
    ///
    /// # Errors
    ///
    /// [`Error::Unimplemented`] and the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// for id in client.who_am_i().await? {
    ///     println!("{}: {}", id.auth_scheme, id.user);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn who_am_i(
        &self,
    ) -> impl Future<Output = Result<Vec<ClientInfo>>> + Send + 'static + use<> {
        self.call(
            Call::new(OpCode::WhoAmI, Request::Empty(())),
            |r: WhoAmIResponse, _| r.client_info,
        )
    }

    /// Adds an authentication identity to the session (`digest` with `user:password`). It
    /// is sent in order with the requests around it and replayed after every reconnect.
    /// Digest authentication always succeeds: a wrong password is simply another identity,
    /// and requests then fail with [`Error::NoAuth`]. An unknown scheme makes the server
    /// fail the session: every later call fails with [`Error::AuthFailed`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// client.add_auth("digest", b"alice:secret");
    /// # }
    /// ```
    pub fn add_auth(&self, scheme: &str, auth: &[u8]) {
        let _ = self.command(Command::AddAuth(AuthPacket::new(
            scheme,
            Bytes::copy_from_slice(auth),
        )));
    }

    /// Closes the session: requests already made finish first, then ephemeral nodes are
    /// deleted by the server and every later call fails with [`Error::Closed`].
    ///
    /// Closing is idempotent and safe from any handle, any number of times: once the
    /// session has ended (closed, expired, authentication failed) it returns at once.
    /// Without a connection it closes at once (the server expires the session later); with
    /// one that stops answering, it returns after the read timeout (two thirds of the
    /// session timeout) at the latest.
    ///
    /// Dropping every handle also closes the session, without waiting.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) {
    /// client.close().await;
    /// # }
    /// ```
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let (tx, rx) = oneshot::channel();
        let sent = self.command(Command::Close(tx));
        async move {
            if sent {
                let _ = rx.await;
            }
        }
    }
}

/// A created node's path, and its Stat: create2 answers with it; a server before 3.5 got
/// create, which does not.
struct Created {
    path: String,
    stat: Option<Stat>,
}

impl Created {
    fn keep(self, _: RequestId) -> Self {
        self
    }
}

impl TryFrom<Response> for Created {
    type Error = Response;

    fn try_from(response: Response) -> std::result::Result<Self, Response> {
        match response {
            Response::Create2(r) => Ok(Self {
                path: r.path,
                stat: Some(r.stat),
            }),
            Response::Create(r) => Ok(Self {
                path: r.path,
                stat: None,
            }),
            other => Err(other),
        }
    }
}

/// The reply to exists: the Stat, or `None` for a missing node (the server answers NONODE
/// and still sets a watch); and the request id, which names that watch.
async fn exists_reply(pending: Pending) -> Result<(Option<Stat>, RequestId)> {
    let context = pending.context().clone();
    let reply = pending.await?;
    let stat = match reply.result {
        Ok(response) => ExistsResponse::try_from(response)
            .map(|r| Some(r.stat))
            .map_err(|_| Error::UnexpectedReply(context))?,
        Err(ErrorCode::NoNode) => None,
        Err(code) => return Err(code_error(code, &context)),
    };
    Ok((stat, reply.id))
}
