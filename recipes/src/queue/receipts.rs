//! Put receipts: how a put whose reply is lost is found again instead of made twice.
//!
//! A put creates its items and a receipt, `<receipts>/<token>` (a fresh uuid), in one
//! transaction. After a lost reply the receipt exists exactly when the items were added:
//! the put then reports success, and otherwise sends its transaction again. The receipts
//! live beside the queue, so Curator's and kazoo's consumers never see them.
//!
//! A settled receipt is deleted in the background, with the others settled meanwhile, up
//! to 64 in one transaction: a producer adds about one write per 64 puts. The receipt of
//! a put that lost a reply is kept a session timeout longer: the copy of its transaction
//! sent on the broken connection may still be on its way through the server, and finds
//! the receipt there, so it fails instead of adding the items again. Receipts left by a
//! producer that died between its put and the delete are swept by the next producer once
//! they are an hour old, long after any put waiting on them has ended with its session.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use uuid::Uuid;
use zk_client::{Client, ReadResult};

use crate::error::Result;
use crate::protected::{join, present, wait_connected};

/// Receipts deleted in one transaction.
const BATCH: usize = 64;

/// How long settled receipts gather before they are deleted together.
const GATHER: Duration = Duration::from_millis(20);

/// How old a receipt is before it counts as left behind.
const LEFT_BEHIND_MS: i64 = 60 * 60 * 1000;

/// One queue's receipts: their path and the ones settled but not yet deleted.
#[derive(Debug)]
pub(crate) struct Receipts {
    /// The receipts' parent (a container).
    pub(crate) path: Arc<str>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Receipts whose put has settled, to delete.
    settled: Vec<String>,
    /// Whether a task deleting them runs.
    deleting: bool,
    /// Whether old receipts were swept already.
    swept: bool,
}

impl Receipts {
    /// Receipts under `path`.
    pub(crate) fn new(path: &str) -> Self {
        Self {
            path: path.into(),
            state: Mutex::new(State::default()),
        }
    }

    /// A new receipt's path.
    pub(crate) fn issue(self: &Arc<Self>, client: &Client) -> Receipt {
        Receipt {
            path: Some(join(&self.path, &Uuid::new_v4().simple().to_string())),
            receipts: Arc::clone(self),
            client: client.clone(),
            lost: false,
        }
    }

    /// Deletes `receipt` soon, with the others settled meanwhile.
    fn settle(self: &Arc<Self>, client: &Client, receipt: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let _ = client.delete_in_background(&receipt, None);
            return;
        };
        let (start, sweep) = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.settled.push(receipt);
            let start = !std::mem::replace(&mut state.deleting, true);
            let sweep = !std::mem::replace(&mut state.swept, true);
            (start, sweep)
        };
        if sweep {
            runtime.spawn(sweep_left_behind(client.clone(), Arc::clone(&self.path)));
        }
        if start {
            runtime.spawn(Arc::clone(self).delete_settled(client.clone()));
        }
    }

    /// Deletes settled receipts in batches until none is left.
    async fn delete_settled(self: Arc<Self>, client: Client) {
        loop {
            tokio::time::sleep(GATHER).await;
            let batch: Vec<String> = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                if state.settled.is_empty() || client.state().is_terminal() {
                    state.settled.clear();
                    state.deleting = false;
                    return;
                }
                let n = state.settled.len().min(BATCH);
                state.settled.drain(..n).collect()
            };
            delete_all(&client, &batch).await;
        }
    }
}

/// Deletes `paths`: in one transaction, or one by one when one of them is gone already.
async fn delete_all(client: &Client, paths: &[String]) {
    let multi = paths.iter().fold(client.multi(), |m, p| m.delete(p, None));
    match multi.commit().await {
        Ok(_) => return,
        Err(e) if e.is_connection_loss() => {
            if wait_connected(client).await.is_err() {
                return;
            }
        }
        Err(_) => {}
    }
    for path in paths {
        loop {
            match client.delete(path, None).await {
                Err(e) if e.is_connection_loss() => {
                    if wait_connected(client).await.is_err() {
                        return;
                    }
                }
                _ => break,
            }
        }
    }
}

/// Deletes the receipts under `path` that are an hour old or more.
async fn sweep_left_behind(client: Client, path: Arc<str>) {
    let Ok((names, _)) = client.get_children(&path).await else {
        return;
    };
    let now_ms = i64::try_from(super::engine::now_ms()).unwrap_or(i64::MAX);
    for chunk in names.chunks(BATCH) {
        let reads = chunk.iter().fold(client.multi_read(), |m, name| {
            m.get_data(&join(&path, name))
        });
        let Ok(results) = reads.commit().await else {
            return;
        };
        let old: Vec<String> = chunk
            .iter()
            .zip(results)
            .filter_map(|(name, read)| match read {
                Ok(ReadResult::Data(_, stat)) if now_ms - stat.ctime >= LEFT_BEHIND_MS => {
                    Some(join(&path, name))
                }
                _ => None,
            })
            .collect();
        if !old.is_empty() {
            delete_all(&client, &old).await;
        }
    }
}

/// The receipt of one put: settled (deleted soon) when dropped, unless the put is known
/// not to have been applied ([`Receipt::unused`]).
#[derive(Debug)]
pub(crate) struct Receipt {
    path: Option<String>,
    receipts: Arc<Receipts>,
    client: Client,
    /// Whether a reply was lost: a copy of the transaction sent on the old connection
    /// could still be on its way through the server, so the receipt stays a session
    /// timeout longer to stop it.
    lost: bool,
}

impl Receipt {
    /// Its path.
    pub(crate) fn path(&self) -> &str {
        self.path.as_deref().unwrap_or_default()
    }

    /// The put was not applied: there is nothing to delete.
    pub(crate) fn unused(mut self) {
        self.path = None;
    }

    /// After a lost reply, on the next connection: whether the put was applied. The sync
    /// first makes the server we read from catch up with every transaction the old
    /// connection's server could still have had applied.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors; a session that ended leaves the outcome unknown.
    pub(crate) async fn applied(&mut self) -> Result<bool> {
        self.lost = true;
        Ok(present(&self.client, &[self.path()]).await? == [true])
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        let Some(path) = self.path.take() else {
            return;
        };
        let runtime = tokio::runtime::Handle::try_current();
        match runtime {
            Ok(runtime) if self.lost => {
                let (receipts, client) = (Arc::clone(&self.receipts), self.client.clone());
                runtime.spawn(async move {
                    tokio::time::sleep(client.session_timeout()).await;
                    receipts.settle(&client, path);
                });
            }
            _ => self.receipts.settle(&self.client, path),
        }
    }
}
