//! Puts: each creates its items together with a receipt (see `receipts`), and the puts a
//! producer makes while its last transaction is on the way go out together in the next
//! one, with one receipt between them (a group commit). A lone put goes out at once; a
//! producer with many puts in flight pays one transaction per batch instead of one per
//! item. The items of one put stay in one transaction, in order.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use zk_client::{CreateMode, CreateOptions, Error as ZkError};

use super::engine::Engine;
use crate::error::{Error, Result, zk};
use crate::protected::{join, make_parents};

/// The most items in one transaction.
const MAX_ITEMS: usize = 128;

/// The most bytes of item data in one transaction, well under the server's 1 MiB limit
/// on a request.
const MAX_BYTES: usize = 256 * 1024;

/// The puts waiting for the transaction on its way, shared by a queue's handles.
#[derive(Debug, Default)]
pub(crate) struct PutBatch {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    waiting: VecDeque<Waiting>,
    /// Whether a task is sending batches.
    sending: bool,
}

/// One put: its items (path prefix and data), and where its outcome goes.
#[derive(Debug)]
struct Waiting {
    items: Vec<(String, Vec<u8>)>,
    done: oneshot::Sender<Result<()>>,
}

impl Waiting {
    fn bytes(&self) -> usize {
        self.items.iter().map(|(_, data)| data.len()).sum()
    }
}

impl Engine {
    /// Creates an item once the queue has room, waiting at most `timeout` for it (forever:
    /// `None`). A put whose reply is lost is found again by its receipt: it is made once.
    pub(crate) async fn put_within(
        &self,
        data: &[u8],
        name: &str,
        timeout: Option<Duration>,
    ) -> Result<()> {
        if let Some(max) = self.max_items {
            self.wait_for_room(max, timeout).await?;
        }
        self.put_all(&[data], name).await
    }

    /// Creates one item of each of `data` named `name` and the sequence, in one
    /// transaction with a receipt, together with the puts made meanwhile. After a lost
    /// reply the receipt says whether it was applied; it is sent again only if not, so no
    /// item is made twice. Dropping the future does not withdraw the put.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the transaction; when the session ends before the outcome
    /// of a lost reply is known, [`Error::Zk`] with `SessionExpired` (the items may have
    /// been added).
    pub(crate) async fn put_all<D: AsRef<[u8]>>(&self, data: &[D], name: &str) -> Result<()> {
        let path = join(&self.items, name);
        let items: Vec<(String, Vec<u8>)> = data
            .iter()
            .map(|d| (path.clone(), d.as_ref().to_vec()))
            .collect();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.commit_puts(&items).await;
        };
        let (done, outcome) = oneshot::channel();
        let start = {
            let mut state = self
                .puts
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting.push_back(Waiting { items, done });
            !std::mem::replace(&mut state.sending, true)
        };
        if start {
            runtime.spawn(self.clone().send_puts());
        }
        outcome.await.unwrap_or(Err(Error::Closed))
    }

    /// Sends the waiting puts, a batch at a time, until none is left.
    async fn send_puts(self) {
        loop {
            let mut batch = {
                let mut state = self
                    .puts
                    .state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let (mut items, mut bytes, mut batch) = (0, 0, Vec::new());
                while let Some(next) = state.waiting.front() {
                    let fits =
                        items + next.items.len() <= MAX_ITEMS && bytes + next.bytes() <= MAX_BYTES;
                    if !batch.is_empty() && !fits {
                        break;
                    }
                    items += next.items.len();
                    bytes += next.bytes();
                    batch.extend(state.waiting.pop_front());
                }
                if batch.is_empty() {
                    state.sending = false;
                    return;
                }
                batch
            };
            let items: Vec<(String, Vec<u8>)> = batch
                .iter_mut()
                .flat_map(|put| std::mem::take(&mut put.items))
                .collect();
            let outcome = self.commit_puts(&items).await;
            for put in batch {
                let _ = put.done.send(outcome.clone());
            }
        }
    }

    /// Creates `items` (path prefix, data), each persistent-sequential, in one
    /// transaction with a receipt; resolves a lost reply by the receipt.
    async fn commit_puts(&self, items: &[(String, Vec<u8>)]) -> Result<()> {
        let with_acl = |options: CreateOptions| match &self.acl {
            Some(acl) => options.acl(acl.clone()),
            None => options,
        };
        let options = with_acl(CreateOptions::new(CreateMode::PersistentSequential));
        let receipt_options = with_acl(CreateOptions::persistent());
        let mut receipt = self.receipts.issue(&self.client);
        let mut parents_made = 0;
        loop {
            let multi = items
                .iter()
                .fold(self.client.multi(), |m, (path, data)| {
                    m.create(path, data, &options)
                })
                .create(receipt.path(), b"", &receipt_options);
            match multi.commit().await {
                Ok(_) => return Ok(()),
                // The items' parent, or the receipts' (reaped once empty): make it, twice
                // at most (the other may be missing too).
                Err(ZkError::NoNode(e)) if parents_made < 2 => {
                    parents_made += 1;
                    if e.path.as_deref() == Some(receipt.path()) {
                        make_parents(&self.client, &self.receipts.path).await?;
                    } else {
                        self.make_items_path().await?;
                    }
                }
                Err(e) if e.is_connection_loss() => {
                    if receipt.applied().await? {
                        return Ok(());
                    }
                }
                // Sent again after a lost reply, and the first copy was applied meanwhile:
                // the receipt is ours (a fresh uuid).
                Err(ZkError::NodeExists(e)) if e.path.as_deref() == Some(receipt.path()) => {
                    return Ok(());
                }
                Err(e) => {
                    receipt.unused();
                    return Err(zk(e));
                }
            }
        }
    }
}
