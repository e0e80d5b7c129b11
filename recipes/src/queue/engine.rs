//! What every queue does on the server: puts, the claim of an item (an ephemeral node
//! named after it under the claims' path), and the wait for items.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use zk_client::{Client, CreateMode, CreateOptions, Error as ZkError};

use super::claimed::Claimed;
use super::layout::Layout;
use crate::error::{Error, Result, zk};
use crate::protected::{join, make_parents, wait_connected};

/// One queue's paths and layout, shared by its handles and claims.
#[derive(Clone, Debug)]
pub(crate) struct Engine {
    pub(crate) client: Client,
    /// The items' parent.
    pub(crate) items: Arc<str>,
    /// The claims' parent: a claim is `<claims>/<item name>`.
    pub(crate) claims: Arc<str>,
    pub(crate) layout: Layout,
    /// The data of our claims.
    pub(crate) id: Arc<str>,
    /// Whether the items' parent is made persistent (a container otherwise).
    pub(crate) keep_items: bool,
    /// Whether the claims' parent is made persistent (a container otherwise).
    pub(crate) keep_claims: bool,
}

impl Engine {
    pub(crate) fn new(
        client: &Client,
        items: &str,
        claims: &str,
        layout: Layout,
        id: String,
    ) -> Self {
        Self {
            client: client.clone(),
            items: items.into(),
            claims: claims.into(),
            layout,
            id: id.into(),
            // Curator's DistributedQueue makes its queue path and lockPath persistent once,
            // in start(); kazoo makes its queue paths once per object (ensure_path). A
            // container made by us would be reaped once the queue is empty, and their
            // next create fail with NoNode. Curator's SimpleDistributedQueue makes its
            // path a container itself, and re-creates it.
            keep_items: layout != Layout::Simple,
            keep_claims: layout == Layout::Curator,
        }
    }

    /// Makes the items' parent after a create under it failed with `NoNode`.
    pub(crate) async fn make_items_path(&self) -> Result<()> {
        make_path(&self.client, &self.items, self.keep_items).await
    }

    /// Creates an item; its name. A put whose reply is lost is an error
    /// ([`Error::Zk`] with `ConnectionLoss`): it may have been made, and is not made twice.
    pub(crate) async fn put(&self, data: &[u8], priority: u16) -> Result<String> {
        let path = join(&self.items, &self.layout.put_name(priority));
        let options = CreateOptions::new(CreateMode::PersistentSequential);
        let mut made_parents = false;
        loop {
            match self.client.create(&path, data, &options).await {
                Ok((created, _)) => return Ok(name_of(&created).to_owned()),
                Err(ZkError::NoNode(_)) if !made_parents => {
                    self.make_items_path().await?;
                    made_parents = true;
                }
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// The items now, first to take first (none when the path does not exist).
    pub(crate) async fn items(&self) -> Result<Vec<String>> {
        loop {
            match self.client.get_children(&self.items).await {
                Ok((children, _)) => return Ok(self.layout.order(children)),
                Err(ZkError::NoNode(_)) => return Ok(Vec::new()),
                Err(e) if e.is_connection_loss() => wait_connected(&self.client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// The data of the first item that still exists, without taking it.
    pub(crate) async fn peek(&self) -> Result<Option<Bytes>> {
        for name in self.items().await? {
            match self.client.get_data(&join(&self.items, &name)).await {
                Ok((data, _)) => return Ok(Some(data)),
                Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        Ok(None)
    }

    /// Claims the first item of `names` that nobody else has.
    pub(crate) async fn claim_first(&self, names: Vec<String>) -> Result<Option<Claimed>> {
        for name in names {
            if let Some(claimed) = self.claim(&name).await? {
                return Ok(Some(claimed));
            }
        }
        Ok(None)
    }

    /// Claims an item, waiting until there is one, at most `timeout` (forever: `None`).
    /// After a reconnect the items are read again (CURATOR-623).
    pub(crate) async fn claim_next(&self, timeout: Option<Duration>) -> Result<Claimed> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            // Taken before the read, so that no reconnect after it is missed.
            let mut states = self.client.state_watcher();
            let (children, changed) = match self.client.get_children_and_watch(&self.items).await {
                Ok((children, _, changed)) => (children, Some(changed)),
                // No item was ever put: wait for the path.
                Err(ZkError::NoNode(_)) => match self.client.exists_and_watch(&self.items).await {
                    Ok((Some(_), _)) => continue,
                    Ok((None, created)) => (Vec::new(), Some(created)),
                    Err(e) if e.is_connection_loss() => (Vec::new(), None),
                    Err(e) => return Err(zk(e)),
                },
                Err(e) if e.is_connection_loss() => (Vec::new(), None),
                Err(e) => return Err(zk(e)),
            };
            if let Some(claimed) = self.claim_first(self.layout.order(children)).await? {
                return Ok(claimed);
            }
            let changed = async {
                match changed {
                    Some(changed) => {
                        let _ = changed.await;
                    }
                    None => {
                        let _ = wait_connected(&self.client).await;
                    }
                }
            };
            let reconnected = async {
                // A disconnection ends the wait; the loop reads again once connected.
                let _ = states.wait_for(|s| !s.is_connected()).await;
                let _ = wait_connected(&self.client).await;
            };
            let expired = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = changed => {}
                () = reconnected => {}
                () = expired => {
                    return Err(Error::Timeout(timeout.unwrap_or_default()));
                }
            }
            if self.client.state().is_terminal() {
                return Err(zk(ZkError::SessionExpired(zk_client::ErrorContext::new(
                    "queue",
                    Some(self.items.clone()),
                ))));
            }
        }
    }

    /// Tries to claim one item: the claim and the read of the item go out together.
    /// `None` when someone else has it, or took it.
    async fn claim(&self, name: &str) -> Result<Option<Claimed>> {
        let claim = join(&self.claims, name);
        let item = join(&self.items, name);
        let mut made_parents = false;
        let session = self.client.session_id();
        let read = loop {
            let create =
                self.client
                    .create(&claim, self.id.as_bytes(), &CreateOptions::ephemeral());
            let read = self.client.get_data(&item);
            match create.await {
                Ok(_) => break read,
                Err(ZkError::NodeExists(_)) => return Ok(None),
                Err(ZkError::NoNode(_)) if !made_parents => {
                    make_path(&self.client, &self.claims, self.keep_claims).await?;
                    made_parents = true;
                }
                Err(e) if e.is_connection_loss() => {
                    wait_connected(&self.client).await?;
                    // Whether the create was applied: the claim is ours if our session
                    // owns it.
                    match self.client.exists(&claim).await {
                        Ok(Some(stat)) if stat.ephemeral_owner == session => {
                            break self.client.get_data(&item);
                        }
                        Ok(_) => return Ok(None),
                        Err(e) => return Err(zk(e)),
                    }
                }
                Err(e) => return Err(zk(e)),
            }
        };
        let claimed = |data, stat| {
            Some(Claimed::new(
                self.clone(),
                name.to_owned(),
                data,
                stat,
                session,
            ))
        };
        match read.await {
            Ok((data, stat)) => Ok(claimed(data, stat)),
            Err(ZkError::NoNode(_)) => {
                // Taken by a consumer that does not claim: give our claim back.
                let _ = self.client.delete_in_background(&claim, None);
                Ok(None)
            }
            Err(e) if e.is_connection_loss() => {
                wait_connected(&self.client).await?;
                match self.client.get_data(&item).await {
                    Ok((data, stat)) => Ok(claimed(data, stat)),
                    Err(ZkError::NoNode(_)) => {
                        let _ = self.client.delete_in_background(&claim, None);
                        Ok(None)
                    }
                    Err(e) => {
                        let _ = self.client.delete_in_background(&claim, None);
                        Err(zk(e))
                    }
                }
            }
            Err(e) => {
                let _ = self.client.delete_in_background(&claim, None);
                Err(zk(e))
            }
        }
    }

    /// Takes an item (at most once): claims it and removes it with its claim before the
    /// data is handed over. `None` when `names` has none left.
    pub(crate) async fn take_first(&self, mut names: Vec<String>) -> Result<Option<Bytes>> {
        while !names.is_empty() {
            let Some(claimed) = self.claim_first(std::mem::take(&mut names)).await? else {
                return Ok(None);
            };
            match claimed.remove().await {
                Ok(data) => return Ok(Some(data)),
                Err(Error::Zk(ZkError::NoNode(_))) => names = self.items().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Takes an item (at most once), waiting at most `timeout` (forever: `None`).
    pub(crate) async fn take_next(&self, timeout: Option<Duration>) -> Result<Bytes> {
        loop {
            let claimed = self.claim_next(timeout).await?;
            match claimed.remove().await {
                Ok(data) => return Ok(data),
                // Taken meanwhile by a consumer that does not claim.
                Err(Error::Zk(ZkError::NoNode(_))) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Makes `path` and its missing parents: the parents as containers, and `path` itself
/// persistent when `keep` (else a container too).
async fn make_path(client: &Client, path: &str, keep: bool) -> Result<()> {
    if !keep {
        return make_parents(client, path).await;
    }
    if let Some(parent) = zk_client::proto::path::parent(path).filter(|p| *p != "/") {
        make_parents(client, parent).await?;
    }
    match client.create(path, b"", &CreateOptions::persistent()).await {
        Ok(_) | Err(ZkError::NodeExists(_)) => Ok(()),
        Err(e) => Err(zk(e)),
    }
}

/// The last segment of a path.
pub(crate) fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
