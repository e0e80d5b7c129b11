//! [`Claimed`]: an item this session holds until it acknowledges or releases it.

use bytes::Bytes;
use zk_client::{Error as ZkError, ErrorContext, MultiBuilder, Stat};

use super::engine::{Engine, release_claim};
use super::framing;
use crate::error::{Error, Result, zk};
use crate::protected::{join, wait_connected};

/// An item claimed by this session: no consumer that claims takes it until it is
/// acknowledged ([`ack`](Self::ack)), given back ([`release`](Self::release), or drop), or
/// our session ends, when it is claimable again: at-least-once delivery. Its claim is an
/// ephemeral node named after the item under the queue's claims path (Curator's
/// `lockPath/<item>`, kazoo's `taken/<entry>`).
///
/// ```no_run
/// # async fn _example(queue: zk_recipes::queue::SimpleDistributedQueue) -> zk_recipes::Result<()> {
/// let item = queue.claim().await?;
/// println!("working on {:?}", item.data());
/// item.ack().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a claim is given back when dropped"]
pub struct Claimed {
    engine: Engine,
    name: String,
    data: Bytes,
    stat: Stat,
    session: i64,
    /// Our claim's creation zxid (unknown from servers without create2).
    claim_czxid: Option<i64>,
    settled: bool,
}

impl Claimed {
    pub(crate) fn new(
        engine: Engine,
        name: String,
        data: Bytes,
        stat: Stat,
        session: i64,
        claim_czxid: Option<i64>,
    ) -> Self {
        Self {
            engine,
            name,
            data,
            stat,
            session,
            claim_czxid,
            settled: false,
        }
    }

    /// The item's node name (`qn-0000000007`, `queue-0000000007`, `entry-001-0000000007`).
    ///
    /// ```no_run
    /// # fn _example(item: zk_recipes::queue::Claimed) {
    /// println!("{}", item.name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The item's data as stored.
    ///
    /// ```no_run
    /// # fn _example(item: zk_recipes::queue::Claimed) {
    /// println!("{} bytes", item.data().len());
    /// # }
    /// ```
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The items of a Curator `DistributedQueue` node (one from `put`, several from
    /// `put_many`).
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] when the data is not in Curator's framing.
    ///
    /// ```no_run
    /// # fn _example(item: zk_recipes::queue::Claimed) -> zk_recipes::Result<()> {
    /// for part in item.items()? {
    ///     println!("{part:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn items(&self) -> Result<Vec<Bytes>> {
        framing::decode(&self.data).ok_or_else(|| Error::Corrupt {
            path: join(&self.engine.items, &self.name),
            expected: "Curator's queue item framing",
            data: self.data.clone(),
        })
    }

    /// The item node's Stat when it was read.
    ///
    /// ```no_run
    /// # fn _example(item: zk_recipes::queue::Claimed) {
    /// println!("made at zxid {}", item.stat().czxid);
    /// # }
    /// ```
    pub fn stat(&self) -> &Stat {
        &self.stat
    }

    /// Whether our claim still holds: its node exists, belongs to our session and carries
    /// our id (kazoo's `holds_lock`).
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the read.
    ///
    /// ```no_run
    /// # async fn _example(item: zk_recipes::queue::Claimed) -> zk_recipes::Result<()> {
    /// assert!(item.holds().await?);
    /// # Ok(()) }
    /// ```
    pub async fn holds(&self) -> Result<bool> {
        match self.engine.client.get_data(&self.claim_path()).await {
            Ok((data, stat)) => {
                Ok(stat.ephemeral_owner == self.session && data == self.engine.id.as_bytes())
            }
            Err(ZkError::NoNode(_)) => Ok(false),
            Err(e) => Err(zk(e)),
        }
    }

    /// Acknowledges the item: deletes it and our claim in one transaction.
    ///
    /// # Errors
    ///
    /// As [`ack_with`](Self::ack_with).
    ///
    /// ```no_run
    /// # async fn _example(item: zk_recipes::queue::Claimed) -> zk_recipes::Result<()> {
    /// item.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ack(self) -> Result<()> {
        self.ack_with(|ops| ops).await
    }

    /// Acknowledges the item together with writes of our own, in one transaction: the
    /// writes commit exactly when the item leaves the queue, so a consumer whose effect is
    /// a ZooKeeper write processes each item exactly once. `ops` adds them to the
    /// transaction that deletes the item and our claim; it may be called again when the
    /// connection dropped before the answer and the transaction was not applied.
    ///
    /// A lost answer is resolved, not guessed: after the reconnect our claim still exists
    /// exactly when the transaction was not applied, and it is then sent again.
    ///
    /// # Errors
    ///
    /// [`Error::Zk`] with `NoNode` when the item or our claim is gone (taken by a consumer
    /// that does not claim, or deleted by hand), or with the error of one of `ops`
    /// (nothing was applied, and the claim is given back when this is dropped);
    /// [`Error::SessionEnded`] when the session ended (the item is claimable again).
    ///
    /// ```no_run
    /// # async fn _example(item: zk_recipes::queue::Claimed) -> zk_recipes::Result<()> {
    /// let total = 42_i64.to_be_bytes();
    /// item.ack_with(|ops| ops.set_data("/totals/orders", &total, None)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ack_with(mut self, ops: impl Fn(MultiBuilder) -> MultiBuilder) -> Result<()> {
        let client = self.engine.client.clone();
        let (item, claim) = (self.item_path(), self.claim_path());
        loop {
            let multi = ops(client.multi().delete(&item, None).delete(&claim, None));
            match multi.commit().await {
                Ok(_) => {
                    self.settled = true;
                    return Ok(());
                }
                Err(e) if e.is_connection_loss() => {
                    if let Err(e) = wait_connected(&client).await {
                        // Our claim went with the session.
                        self.settled = true;
                        return Err(e);
                    }
                    match client.exists(&claim).await {
                        // Our claim is still there: not applied; send it again.
                        Ok(Some(stat))
                            if stat.ephemeral_owner == self.session
                                && self.claim_czxid.is_none_or(|c| c == stat.czxid) => {}
                        Ok(_) => {
                            self.settled = true;
                            return match client.exists(&item).await {
                                Ok(None) => Ok(()),
                                // Our claim was deleted, not by us: not acknowledged.
                                Ok(Some(_)) => Err(Error::Zk(ZkError::NoNode(ErrorContext::new(
                                    "ack",
                                    Some(claim.into()),
                                )))),
                                Err(e) => Err(zk(e)),
                            };
                        }
                        Err(e) => return Err(zk(e)),
                    }
                }
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Gives the item back: deletes our claim, so another consumer can take it.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the delete; on a connection loss it goes on in the
    /// background.
    ///
    /// ```no_run
    /// # async fn _example(item: zk_recipes::queue::Claimed) -> zk_recipes::Result<()> {
    /// item.release().await?;
    /// # Ok(()) }
    /// ```
    pub async fn release(mut self) -> Result<()> {
        self.settled = true;
        let claim = self.claim_path();
        match self.engine.client.delete(&claim, None).await {
            Ok(()) | Err(ZkError::NoNode(_)) => Ok(()),
            Err(e) if e.is_connection_loss() => {
                release_claim(&self.engine.client, &claim, self.claim_czxid);
                Ok(())
            }
            Err(e) => Err(zk(e)),
        }
    }

    /// Acknowledges the item and hands its data over (at-most-once takes).
    pub(crate) async fn remove(self) -> Result<Bytes> {
        let data = self.data.clone();
        self.ack().await?;
        Ok(data)
    }

    fn item_path(&self) -> String {
        join(&self.engine.items, &self.name)
    }

    fn claim_path(&self) -> String {
        join(&self.engine.claims, &self.name)
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        if !self.settled {
            release_claim(&self.engine.client, &self.claim_path(), self.claim_czxid);
        }
    }
}
