//! What every queue does on the server: puts, the claim of an item (an ephemeral node
//! named after it under the claims' path), and the wait for items.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use zk_client::{Client, CreateOptions, Error as ZkError, OneshotWatcher};

use super::claimed::Claimed;
use super::layout::Layout;
use super::put::PutBatch;
use super::receipts::Receipts;
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
    /// At most this many items: a put waits while the queue is full.
    pub(crate) max_items: Option<usize>,
    /// Whether the items' parent is made persistent (a container otherwise).
    pub(crate) keep_items: bool,
    /// Whether the claims' parent is made persistent (a container otherwise).
    pub(crate) keep_claims: bool,
    /// The puts' receipts (`<items>-puts` unless set).
    pub(crate) receipts: Arc<Receipts>,
    /// Puts waiting to go out together.
    pub(crate) puts: Arc<PutBatch>,
    /// The ACL items and receipts are made with (the server's open ACL: `None`).
    pub(crate) acl: Option<Vec<zk_client::Acl>>,
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
            max_items: None,
            // Curator's DistributedQueue makes its queue path and lockPath persistent once,
            // in start(); kazoo makes its queue paths once per object (ensure_path). A
            // container made by us would be reaped once the queue is empty, and their
            // next create fail with NoNode. Curator's SimpleDistributedQueue makes its
            // path a container itself, and re-creates it.
            keep_items: layout != Layout::Simple,
            keep_claims: matches!(layout, Layout::Curator(_)),
            receipts: Arc::new(Receipts::new(&format!(
                "{}-puts",
                items.trim_end_matches('/')
            ))),
            puts: Arc::default(),
            acl: None,
        }
    }

    /// An engine that only puts raw items under `items`, a persistent path (the task
    /// manager's submissions): it never claims.
    pub(crate) fn producer(client: &Client, items: &str) -> Self {
        let mut engine = Self::new(client, items, items, Layout::Simple, String::new());
        engine.keep_items = true;
        engine
    }

    /// Waits until the queue holds fewer than `max` items.
    pub(super) async fn wait_for_room(&self, max: usize, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut depths = std::pin::pin!(self.depths());
        loop {
            let next = depths.next();
            let depth = match deadline {
                Some(at) => tokio::time::timeout_at(at, next)
                    .await
                    .map_err(|_| Error::Timeout(timeout.unwrap_or_default()))?,
                None => next.await,
            };
            match depth {
                Some(Ok(depth)) if depth < max => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(Error::Closed),
            }
        }
    }

    /// The queue's depth now, then again after every change of its items, until the
    /// session ends (an error, then the end).
    pub(crate) fn depths(&self) -> impl Stream<Item = Result<usize>> + Send + 'static + use<> {
        let engine = self.clone();
        futures::stream::unfold(
            (engine, None::<OneshotWatcher>, false),
            |(engine, changed, over)| async move {
                if over {
                    return None;
                }
                if let Some(changed) = changed {
                    let _ = changed.await;
                }
                loop {
                    match engine.client.get_children_and_watch(&engine.items).await {
                        Ok((children, _, changed)) => {
                            let depth = engine.layout.order(children, u64::MAX).len();
                            return Some((Ok(depth), (engine, Some(changed), false)));
                        }
                        Err(ZkError::NoNode(_)) => {
                            match engine.client.exists_and_watch(&engine.items).await {
                                Ok((Some(_), _)) => {}
                                Ok((None, created)) => {
                                    return Some((Ok(0), (engine, Some(created), false)));
                                }
                                Err(e) if e.is_connection_loss() => {}
                                Err(e) => return Some((Err(zk(e)), (engine, None, true))),
                            }
                        }
                        Err(e) if e.is_connection_loss() => {
                            if let Err(e) = wait_connected(&engine.client).await {
                                return Some((Err(e), (engine, None, true)));
                            }
                        }
                        Err(e) => return Some((Err(zk(e)), (engine, None, true))),
                    }
                }
            },
        )
    }

    /// Makes the items' parent after a create under it failed with `NoNode`.
    pub(crate) async fn make_items_path(&self) -> Result<()> {
        make_path(&self.client, &self.items, self.keep_items).await
    }

    /// The items due now, first to take first (none when the path does not exist).
    pub(crate) async fn items(&self) -> Result<Vec<String>> {
        self.items_at(now_ms()).await
    }

    /// The items due at `now_ms`, first to take first.
    pub(crate) async fn items_at(&self, now_ms: u64) -> Result<Vec<String>> {
        loop {
            match self.client.get_children(&self.items).await {
                Ok((children, _)) => return Ok(self.layout.order(children, now_ms)),
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
        Ok(self.claim_some(names, 1).await?.pop())
    }

    /// Claims up to `max` items of `names` at once: the claims and reads of a batch go out
    /// together. Empty when every one of them is someone else's.
    pub(crate) async fn claim_some(&self, names: Vec<String>, max: usize) -> Result<Vec<Claimed>> {
        let max = max.max(1);
        let mut names = names.into_iter().peekable();
        while names.peek().is_some() {
            let batch: Vec<String> = names.by_ref().take(max).collect();
            let attempts = batch.iter().map(|name| self.claim(name));
            let mut claimed = Vec::new();
            for attempt in futures::future::join_all(attempts).await {
                // A failure gives back what this batch claimed (each claim on drop).
                if let Some(item) = attempt? {
                    claimed.push(item);
                }
            }
            if !claimed.is_empty() {
                return Ok(claimed);
            }
        }
        Ok(Vec::new())
    }

    /// Claims an item, waiting until there is one, at most `timeout` (forever: `None`).
    /// After a reconnect the items are read again (CURATOR-623).
    pub(crate) async fn claim_next(&self, timeout: Option<Duration>) -> Result<Claimed> {
        let mut batch = self.claim_batch(timeout, 1).await?;
        batch.pop().ok_or(Error::Empty)
    }

    /// Claims up to `max` items, waiting until there is at least one, at most `timeout`
    /// (forever: `None`). After a reconnect the items are read again (CURATOR-623).
    pub(crate) async fn claim_batch(
        &self,
        timeout: Option<Duration>,
        max: usize,
    ) -> Result<Vec<Claimed>> {
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
            let now = now_ms();
            let due = self.layout.next_due(&children, now);
            let names = self.layout.order(children, now);
            let claimed = self.claim_some(names.clone(), max).await?;
            if !claimed.is_empty() {
                return Ok(claimed);
            }
            // Items held by other consumers' claims come back when a claim is given back,
            // which changes the claims, not the items: watch the claims too (and read
            // again at once if one went between our attempt and the watch).
            let released = async {
                if names.is_empty() {
                    return std::future::pending().await;
                }
                match self.client.get_children_and_watch(&self.claims).await {
                    Ok((claims, _, changed)) => {
                        let claims: std::collections::HashSet<String> =
                            claims.into_iter().collect();
                        if names.iter().all(|n| claims.contains(n)) {
                            let _ = changed.await;
                        }
                    }
                    Err(_) => std::future::pending().await,
                }
            };
            // A delayed item that falls due wakes the wait as a change would.
            let falls_due = async {
                match due {
                    Some(at) => tokio::time::sleep(Duration::from_millis(at - now)).await,
                    None => std::future::pending().await,
                }
            };
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
                () = released => {}
                () = falls_due => {}
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
        // Whether an earlier create of this claim lost its reply: a claim of our session
        // found then is that create's.
        let mut lost = false;
        // The claim's creation zxid tells it apart from a later claim of the same name.
        let (read, czxid) = loop {
            let create =
                self.client
                    .create(&claim, self.id.as_bytes(), &CreateOptions::ephemeral());
            let read = self.client.get_data(&item);
            match create.await {
                Ok((_, stat)) => break (read, Some(stat.czxid)),
                Err(ZkError::NodeExists(_)) if !lost => return Ok(None),
                Err(ZkError::NoNode(_)) if !made_parents => {
                    make_path(&self.client, &self.claims, self.keep_claims).await?;
                    made_parents = true;
                }
                // After a lost reply, `NodeExists` may be our own claim.
                Err(e) if e.is_connection_loss() || matches!(e, ZkError::NodeExists(_)) => {
                    lost = true;
                    wait_connected(&self.client).await?;
                    // Whether the create was applied: the claim is ours if our session
                    // owns it. One that was not is made again, so that no item is
                    // skipped for a later one.
                    let sync = self.client.sync(&self.claims);
                    let exists = self.client.exists(&claim);
                    match sync.await.and(exists.await) {
                        Ok(Some(stat)) if stat.ephemeral_owner == session => {
                            break (self.client.get_data(&item), Some(stat.czxid));
                        }
                        Ok(Some(_)) => return Ok(None),
                        Ok(None) => {}
                        Err(e) if e.is_connection_loss() => {}
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
                czxid,
            ))
        };
        let give_back = || release_claim(&self.client, &claim, czxid);
        match read.await {
            Ok((data, stat)) => Ok(claimed(data, stat)),
            Err(ZkError::NoNode(_)) => {
                // Taken by a consumer that does not claim: give our claim back.
                give_back();
                Ok(None)
            }
            Err(e) if e.is_connection_loss() => {
                wait_connected(&self.client).await?;
                match self.client.get_data(&item).await {
                    Ok((data, stat)) => Ok(claimed(data, stat)),
                    Err(ZkError::NoNode(_)) => {
                        give_back();
                        Ok(None)
                    }
                    Err(e) => {
                        give_back();
                        Err(zk(e))
                    }
                }
            }
            Err(e) => {
                give_back();
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

    /// Removes every item whose name `keep` accepts (at most once each, as takes are);
    /// how many were removed.
    pub(crate) async fn remove_where(&self, keep: impl Fn(&str) -> bool) -> Result<usize> {
        let mut removed = 0;
        for name in self.items_at(u64::MAX).await? {
            if !keep(&name) {
                continue;
            }
            if let Some(claimed) = self.claim_first(vec![name]).await? {
                match claimed.remove().await {
                    Ok(_) => removed += 1,
                    Err(Error::Zk(ZkError::NoNode(_))) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
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

/// Gives a claim back in the background: deletes it only while it is still the one made
/// at `czxid` by this session. A blind delete sent again after a lost reply could delete a
/// later claim of the same item, whose holder would then take the loss of its claim for
/// an acknowledged item.
pub(crate) fn release_claim(client: &Client, path: &str, czxid: Option<i64>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Outside a runtime only the client's own background delete is left.
        let _ = client.delete_in_background(path, None);
        return;
    };
    let (client, path) = (client.clone(), path.to_owned());
    let session = client.session_id();
    runtime.spawn(async move {
        loop {
            match client.exists(&path).await {
                Ok(Some(stat))
                    if stat.ephemeral_owner == session && czxid.is_none_or(|c| c == stat.czxid) =>
                {
                    match client.delete(&path, Some(stat.version)).await {
                        Err(e) if e.is_connection_loss() => {}
                        _ => return,
                    }
                }
                Err(e) if e.is_connection_loss() => {}
                _ => return,
            }
            if wait_connected(&client).await.is_err() {
                return;
            }
        }
    });
}

/// Milliseconds since the Unix epoch, on this machine's clock (delay queues).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
