//! How a cache's reads go to the server: one by one, or, when data is wanted, many at
//! once in a `multi_read`, which the server answers in one reply.
//!
//! A batch whose reply is above the client's frame limit (many large nodes) fails alone;
//! its reads are then sent one by one and later batches are smaller. A server without
//! `multi_read` (before 3.6) gets single reads from then on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt as _;
use futures::future::{BoxFuture, join_all};
use zk_client::{Client, Error as ZkError, ReadResult};

use super::state::{Read, Reply};

/// The most reads in one batch.
pub(super) const MAX_BATCH: usize = 64;

/// Reads sent together; the future resolves with each read's reply, in order.
pub(super) type Sent = BoxFuture<'static, Vec<(Read, zk_client::Result<Reply>)>>;

/// Sends reads for one cache.
#[derive(Clone, Debug)]
pub(super) struct Reader {
    client: Client,
    with_data: bool,
    /// The current batch size: [`MAX_BATCH`], halved after a reply too large, 1 when the
    /// server has no `multi_read`.
    batch: Arc<AtomicUsize>,
}

impl Reader {
    pub(super) fn new(client: Client, with_data: bool) -> Self {
        let batch = if with_data { MAX_BATCH } else { 1 };
        Self {
            client,
            with_data,
            batch: Arc::new(AtomicUsize::new(batch)),
        }
    }

    /// How many reads the next batch may hold.
    pub(super) fn batch_size(&self) -> usize {
        self.batch.load(Ordering::Relaxed)
    }

    /// Sends `reads` now (one batch when there are several).
    pub(super) fn send(&self, mut reads: Vec<Read>) -> Sent {
        if reads.len() == 1 {
            if let Some(read) = reads.pop() {
                let one = self.send_one(read);
                return async move { vec![one.await] }.boxed();
            }
        }
        let mut batch = self.client.multi_read();
        for read in &reads {
            batch = match read {
                Read::Node { path, .. } => batch.get_data(path),
                Read::Children { path } => batch.get_children(path),
            };
        }
        let answer = batch.commit();
        let this = self.clone();
        async move {
            match answer.await {
                Ok(results) if results.len() == reads.len() => reads
                    .into_iter()
                    .zip(results)
                    .map(|(read, result)| {
                        let reply = batched_reply(&read, result);
                        (read, reply)
                    })
                    .collect(),
                Ok(_) | Err(ZkError::TooLarge(_) | ZkError::Unimplemented(_)) => {
                    this.shrink(reads.len());
                    join_all(reads.into_iter().map(|read| this.send_one(read))).await
                }
                Err(e) => reads
                    .into_iter()
                    .map(|read| (read, Err(e.clone())))
                    .collect(),
            }
        }
        .boxed()
    }

    /// After a batch of `len` failed as a whole: smaller batches from now on.
    fn shrink(&self, len: usize) {
        let smaller = (len / 2).max(1);
        self.batch.fetch_min(smaller, Ordering::Relaxed);
    }

    fn send_one(&self, read: Read) -> BoxFuture<'static, (Read, zk_client::Result<Reply>)> {
        match &read {
            Read::Node { path, .. } if self.with_data => {
                let call = self.client.get_data(path);
                async move {
                    let reply = match call.await {
                        Ok((data, stat)) => Ok(Reply::Node(Some((Some(data), stat)))),
                        Err(ZkError::NoNode(_)) => Ok(Reply::Node(None)),
                        Err(e) => Err(e),
                    };
                    (read, reply)
                }
                .boxed()
            }
            Read::Node { path, .. } => {
                let call = self.client.exists(path);
                async move {
                    let reply = call.await.map(|stat| Reply::Node(stat.map(|s| (None, s))));
                    (read, reply)
                }
                .boxed()
            }
            Read::Children { path } => {
                let call = self.client.get_children(path);
                async move {
                    let reply = match call.await {
                        Ok((children, _)) => Ok(Reply::Children(Some(children))),
                        Err(ZkError::NoNode(_)) => Ok(Reply::Children(None)),
                        Err(e) => Err(e),
                    };
                    (read, reply)
                }
                .boxed()
            }
        }
    }
}

/// One read's answer within a batch.
fn batched_reply(read: &Read, result: zk_client::Result<ReadResult>) -> zk_client::Result<Reply> {
    match (read, result) {
        (Read::Node { .. }, Ok(ReadResult::Data(data, stat))) => {
            Ok(Reply::Node(Some((Some(data), stat))))
        }
        (Read::Children { .. }, Ok(ReadResult::Children(children))) => {
            Ok(Reply::Children(Some(children)))
        }
        (Read::Node { .. }, Err(ZkError::NoNode(_))) => Ok(Reply::Node(None)),
        (Read::Children { .. }, Err(ZkError::NoNode(_))) => Ok(Reply::Children(None)),
        (_, Err(e)) => Err(e),
        (Read::Node { path, .. } | Read::Children { path }, Ok(_)) => {
            Err(ZkError::UnexpectedReply(zk_client::ErrorContext::new(
                "multiRead",
                Some(Arc::clone(path)),
            )))
        }
    }
}
