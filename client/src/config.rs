//! The ensemble's dynamic configuration: getConfig and reconfig.

use std::future::Future;

use bytes::Bytes;
use proto::OpCode;
use proto::records::*;
use tokio::sync::oneshot;

use crate::call::Call;
use crate::client::Client;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::task::WatchSink;
use crate::watcher::OneshotWatcher;

impl Client {
    /// The ensemble configuration (`/zookeeper/config`, whatever the chroot) and its Stat.
    /// Empty on a standalone server.
    ///
    /// # Errors
    ///
    /// The connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (config, _) = client.get_config().await?;
    /// println!("{}", String::from_utf8_lossy(&config));
    /// # Ok(()) }
    /// ```
    pub fn get_config(
        &self,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static + use<> {
        self.call(Self::config_call(false), |r: GetDataResponse, _| {
            (r.data.unwrap_or_default(), r.stat)
        })
    }

    /// As [`get_config`](Self::get_config), and leaves a one-shot watch that fires when the
    /// configuration changes (a reconfig).
    ///
    /// # Errors
    ///
    /// The connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// let (_, stat, changed) = client.get_config_and_watch().await?;
    /// println!("config version {}", stat.version);
    /// let event = changed.await?;
    /// println!("{:?}", event.event_type);
    /// # Ok(()) }
    /// ```
    pub fn get_config_and_watch(
        &self,
    ) -> impl Future<Output = Result<(Bytes, Stat, OneshotWatcher)>> + Send + 'static + use<> {
        let (tx, rx) = oneshot::channel();
        let call = Self::config_call(true).watch(WatchSink::Oneshot(tx));
        let client = self.clone();
        self.call(call, move |r: GetDataResponse, id| {
            let watcher = OneshotWatcher::new(rx, client.remover(id));
            (r.data.unwrap_or_default(), r.stat, watcher)
        })
    }

    /// getData of `/zookeeper/config` whatever the chroot, reported as getConfig.
    fn config_call(watch: bool) -> Call<'static> {
        const CONFIG: &str = "/zookeeper/config";
        let request = Request::GetData(GetDataRequest {
            path: CONFIG.into(),
            watch,
        });
        Call::new(OpCode::GetData, request)
            .named("getConfig")
            .naming(CONFIG)
            .unrooted()
    }

    /// Changes the ensemble membership and returns the new configuration and its Stat.
    /// Incremental: `joining` (`server.N=host:quorum:election;client` entries,
    /// comma-separated) and `leaving` (server ids); or a whole new membership. `from_config`
    /// is the config version the change applies to (`None`: any). Needs super-user rights
    /// and `reconfigEnabled` on the servers.
    ///
    /// # Errors
    ///
    /// [`Error::ReconfigDisabled`], [`Error::NoAuth`], [`Error::BadVersion`] (stale
    /// `from_config`), [`Error::NewConfigNoQuorum`], [`Error::ReconfigInProgress`], and
    /// the connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.reconfig(None, Some("3"), None, None).await?;
    /// # Ok(()) }
    /// ```
    pub fn reconfig(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: Option<i64>,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static + use<> {
        let request = Request::Reconfig(ReconfigRequest {
            joining_servers: joining.map(str::to_owned),
            leaving_servers: leaving.map(str::to_owned),
            new_members: new_members.map(str::to_owned),
            cur_config_id: from_config.unwrap_or(-1),
        });
        self.call(
            Call::new(OpCode::Reconfig, request),
            |r: GetDataResponse, _| (r.data.unwrap_or_default(), r.stat),
        )
    }
}
