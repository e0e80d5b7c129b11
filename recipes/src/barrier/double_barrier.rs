//! [`DoubleBarrier`]: Curator's `DistributedDoubleBarrier`, kazoo's `DoubleBarrier`.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use uuid::Uuid;
use zk_client::{Client, CreateOptions, Error as ZkError, EventType};

use super::by;
use crate::error::{Error, Result, zk};
use crate::protected::{join, make_parents, wait_connected};

/// The name of the node that says the members have all entered: `<path>/ready`.
///
/// ```
/// assert_eq!(zk_recipes::barrier::READY, "ready");
/// ```
pub const READY: &str = "ready";

/// A double barrier: [`enter`](Self::enter) blocks until `N` members have entered, and
/// [`leave`](Self::leave) blocks until every member has left, so that `N` processes start
/// and finish a computation together (the ZooKeeper recipe).
///
/// # Layout
///
/// Each member is an EPHEMERAL node `<path>/<name>`, the name a random UUID (lowercase,
/// with dashes, as Curator's) unless [`name`](Self::name) sets one; the node `<path>/ready`
/// (PERSISTENT) is created by the member that sees `N` members, and deleted by the first
/// member to finish [`leave`](Self::leave). Missing parents are made as containers, as
/// Curator does. A Curator `DistributedDoubleBarrier` and a kazoo `DoubleBarrier` with the
/// same `N` on the same path are members of the same barrier.
///
/// # Guarantees
///
/// - `enter` passes only after it has read `ready`, or seen `ready` created, or counted at
///   least `N` members (the children other than `ready`; more than `N` is fine): a
///   wake-up alone (a spurious one, a reconnect, a session event) never lets it pass
///   (Curator's GH-1290).
/// - Every wait ends at its deadline ([`enter_timeout`](Self::enter_timeout),
///   [`leave_timeout`](Self::leave_timeout)), also while disconnected (CURATOR-536).
/// - No member node is left behind when an `enter` or a `leave` fails, times out or is
///   dropped, or when the handle is dropped after `enter` without `leave` (CURATOR-80):
///   the node is deleted in the background, again after connection losses, until the
///   delete lands or the session ends. A member that has not entered is not counted.
///
/// `N` is a threshold, not a limit: more than `N` members may enter. A `ready` node left
/// behind on the path (by a member whose session ended during `leave`) lets the next
/// `enter` pass at once, as with Curator and kazoo; use a fresh path per round when that
/// matters.
///
/// ```no_run
/// use std::time::Duration;
/// use zk_recipes::barrier::DoubleBarrier;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let mut barrier = DoubleBarrier::new(&client, "/jobs/round-7", 3).data("worker-2");
/// if barrier.enter_timeout(Duration::from_secs(30)).await? {
///     // the computation, with the two others
///     barrier.leave().await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    members: usize,
    name: String,
    data: Bytes,
    /// Whether our member node may exist: entered and not yet left.
    joined: bool,
}

impl DoubleBarrier {
    /// A double barrier of `members` members on `path`, through `client`; creates
    /// nothing yet. Our member node will be `<path>/{uuid}`.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let barrier = zk_recipes::barrier::DoubleBarrier::new(&client, "/jobs/round-7", 3);
    /// # drop(barrier); }
    /// ```
    pub fn new(client: &Client, path: &str, members: usize) -> Self {
        Self {
            client: client.clone(),
            path: path.to_owned(),
            members,
            name: Uuid::new_v4().hyphenated().to_string(),
            data: Bytes::new(),
            joined: false,
        }
    }

    /// The name of our member node, instead of a random UUID. It must be unique among
    /// the members, must not contain `/`, and must not be `ready`.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::barrier::DoubleBarrier;
    /// let barrier = DoubleBarrier::new(&client, "/jobs/round-7", 3).name("worker-2");
    /// assert_eq!(barrier.node(), "/jobs/round-7/worker-2");
    /// # }
    /// ```
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The data of our member node. Default empty (Curator writes the local IP, kazoo
    /// `hostname-pid`).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::barrier::DoubleBarrier;
    /// let barrier = DoubleBarrier::new(&client, "/jobs/round-7", 3).data("worker-2");
    /// # drop(barrier); }
    /// ```
    #[must_use]
    pub fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.data = data.into();
        self
    }

    /// The barrier's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::barrier::DoubleBarrier;
    /// assert_eq!(DoubleBarrier::new(&client, "/b", 2).path(), "/b");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of our member node, `<path>/<name>`.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::barrier::DoubleBarrier;
    /// let barrier = DoubleBarrier::new(&client, "/b", 2);
    /// assert!(barrier.node().starts_with("/b/"));
    /// # }
    /// ```
    pub fn node(&self) -> String {
        join(&self.path, &self.name)
    }

    /// Enters the barrier and waits until `N` members have entered.
    ///
    /// Cancel safety: dropped before it returns, it leaves no member node behind (deleted
    /// in the background), and we are not a member.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for `N` = 0 or an unusable [`name`](Self::name);
    /// [`Error::SessionEnded`] when the session ends while waiting; a ZooKeeper error
    /// that retrying cannot help ([`zk_client::Error::NoAuth`],
    /// [`zk_client::Error::InvalidPath`], [`zk_client::Error::NodeExists`] when another
    /// session's node has our name). Connection losses are waited out. After an error we
    /// are not a member: our node is deleted.
    ///
    /// ```no_run
    /// # async fn _example(mut barrier: zk_recipes::barrier::DoubleBarrier) -> zk_recipes::Result<()> {
    /// barrier.enter().await?;
    /// # Ok(()) }
    /// ```
    pub async fn enter(&mut self) -> Result<()> {
        self.enter_until(None).await.map(|_| ())
    }

    /// Enters the barrier and waits at most `timeout` until `N` members have entered:
    /// `Ok(true)` when they have, `Ok(false)` at the deadline, when our member node is
    /// deleted (in the background) so that nobody counts us any more.
    ///
    /// Curator's `enter(maxWait)` leaves its node behind on a timeout, and later members
    /// count it; this one does not.
    ///
    /// Cancel safety: as [`enter`](Self::enter).
    ///
    /// # Errors
    ///
    /// As [`enter`](Self::enter); the deadline is not an error.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn _example(mut barrier: zk_recipes::barrier::DoubleBarrier) -> zk_recipes::Result<()> {
    /// if !barrier.enter_timeout(Duration::from_secs(30)).await? {
    ///     println!("not enough members within 30 s");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn enter_timeout(&mut self, timeout: Duration) -> Result<bool> {
        self.enter_until(Some(Instant::now() + timeout)).await
    }

    /// Leaves the barrier and waits until every member has left, by the ZooKeeper recipe:
    /// the lowest member (by name) waits for the highest and leaves last; every other
    /// member deletes its node and waits for the lowest. The first to finish deletes
    /// `ready`. Called without a successful [`enter`](Self::enter), it only waits until
    /// the members have left.
    ///
    /// Cancel safety: dropped before it returns, it leaves no member node behind (deleted
    /// in the background).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an unusable [`name`](Self::name);
    /// [`Error::SessionEnded`] when the session ends while waiting; a ZooKeeper error
    /// that retrying cannot help ([`zk_client::Error::NoAuth`],
    /// [`zk_client::Error::InvalidPath`]). Connection losses are waited out. After an
    /// error our node is deleted.
    ///
    /// ```no_run
    /// # async fn _example(mut barrier: zk_recipes::barrier::DoubleBarrier) -> zk_recipes::Result<()> {
    /// barrier.enter().await?;
    /// // the computation
    /// barrier.leave().await?;
    /// # Ok(()) }
    /// ```
    pub async fn leave(&mut self) -> Result<()> {
        self.leave_until(None).await.map(|_| ())
    }

    /// Leaves the barrier and waits at most `timeout` until every member has left:
    /// `Ok(true)` when they have, `Ok(false)` at the deadline, even while disconnected
    /// (CURATOR-536). On a timeout our node is deleted, and `ready` too, as Curator does
    /// (so that the next use of the path does not find it and pass at once), both in the
    /// background.
    ///
    /// Cancel safety: as [`leave`](Self::leave).
    ///
    /// # Errors
    ///
    /// As [`leave`](Self::leave); the deadline is not an error.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn _example(mut barrier: zk_recipes::barrier::DoubleBarrier) -> zk_recipes::Result<()> {
    /// if !barrier.leave_timeout(Duration::from_secs(30)).await? {
    ///     println!("some members are still inside after 30 s");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn leave_timeout(&mut self, timeout: Duration) -> Result<bool> {
        self.leave_until(Some(Instant::now() + timeout)).await
    }

    /// Refuses a barrier that cannot work.
    fn check(&self) -> Result<()> {
        if self.members == 0 {
            return Err(Error::InvalidArgument(
                "a double barrier needs at least one member".into(),
            ));
        }
        if self.name.is_empty() || self.name.contains('/') || self.name == READY {
            return Err(Error::InvalidArgument(format!(
                "{:?} cannot name a member node of a double barrier",
                self.name
            )));
        }
        Ok(())
    }

    async fn enter_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        self.check()?;
        let member = Member {
            client: &self.client,
            path: &self.path,
            name: &self.name,
            data: &self.data,
        };
        let cleanup = Cleanup::new(&self.client, member.node(), &mut self.joined);
        let entered = by(deadline, member.enter(self.members)).await;
        if let Ok(true) = entered {
            cleanup.keep(true);
        }
        entered
    }

    async fn leave_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        self.check()?;
        let member = Member {
            client: &self.client,
            path: &self.path,
            name: &self.name,
            data: &self.data,
        };
        let cleanup = Cleanup::new(&self.client, member.node(), &mut self.joined);
        let left = by(deadline, member.leave()).await;
        match left {
            // Every member has left, we too.
            Ok(true) => cleanup.keep(false),
            Ok(false) => {
                // As Curator: a leave that gives up still takes `ready` away.
                let _ = self
                    .client
                    .delete_in_background(&join(&self.path, READY), None);
            }
            Err(_) => {}
        }
        left
    }
}

impl Drop for DoubleBarrier {
    /// Entered and not left: our member node is deleted in the background.
    fn drop(&mut self) {
        if self.joined {
            let _ = self.client.delete_in_background(&self.node(), None);
        }
    }
}

/// Our member node while an `enter` or a `leave` runs: deleted in the background unless
/// kept, whichever way the call ends (an error, the deadline, the future dropped).
struct Cleanup<'a> {
    client: &'a Client,
    node: String,
    /// The handle's `joined`: true while the call runs (the node may exist).
    joined: &'a mut bool,
    done: bool,
}

impl<'a> Cleanup<'a> {
    fn new(client: &'a Client, node: String, joined: &'a mut bool) -> Self {
        *joined = true;
        Self {
            client,
            node,
            joined,
            done: false,
        }
    }

    /// The call succeeded: our node stays (`joined`) or is known to be gone.
    fn keep(mut self, joined: bool) {
        *self.joined = joined;
        self.done = true;
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Queued after every request the call sent, so it lands after our create.
            let _ = self.client.delete_in_background(&self.node, None);
            *self.joined = false;
        }
    }
}

/// One member's view of the barrier.
struct Member<'a> {
    client: &'a Client,
    path: &'a str,
    name: &'a str,
    data: &'a Bytes,
}

impl Member<'_> {
    fn node(&self) -> String {
        join(self.path, self.name)
    }

    /// Creates our node (and the missing parents, as containers), adopting a node of our
    /// name that our session made (a create whose reply was lost).
    async fn join(&self) -> Result<()> {
        let node = self.node();
        let options = CreateOptions::ephemeral();
        loop {
            match self.client.create(&node, self.data, &options).await {
                Ok(_) => return Ok(()),
                Err(ZkError::NoNode(_)) => make_parents(self.client, self.path).await?,
                Err(ZkError::NodeExists(context)) => match self.client.exists(&node).await {
                    Ok(Some(stat)) if stat.ephemeral_owner == self.client.session_id() => {
                        return Ok(());
                    }
                    Ok(Some(_)) => return Err(Error::Zk(ZkError::NodeExists(context))),
                    // Gone meanwhile: create it again.
                    Ok(None) => {}
                    Err(e) if e.is_connection_loss() => wait_connected(self.client).await?,
                    Err(e) => return Err(zk(e)),
                },
                Err(e) if e.is_connection_loss() => wait_connected(self.client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Joins, then waits until `ready` exists or `members` members are there.
    async fn enter(&self, members: usize) -> Result<bool> {
        let client = self.client;
        let ready = join(self.path, READY);
        self.join().await?;
        loop {
            // Taken before the reads, so that no change of state after them is missed.
            let mut states = client.state_watcher();
            // Both reads go out together; each leaves a watch.
            let ready_read = client.exists_and_watch(&ready);
            let children_read = client.get_children_and_watch(self.path);
            let (ready_stat, created) = match ready_read.await {
                Ok(read) => read,
                Err(e) if e.is_connection_loss() => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(zk(e)),
            };
            if ready_stat.is_some() {
                return Ok(true);
            }
            let (children, _, changed) = match children_read.await {
                Ok(read) => read,
                Err(e) if e.is_connection_loss() => {
                    wait_connected(client).await?;
                    continue;
                }
                // The path went (and our node with it): join again.
                Err(ZkError::NoNode(_)) => {
                    self.join().await?;
                    continue;
                }
                Err(e) => return Err(zk(e)),
            };
            if !children.iter().any(|c| c == self.name) {
                // Our node was deleted under us: we are not counted until it is back.
                self.join().await?;
                continue;
            }
            // `ready` may be among them (created since its read); it is no member. More
            // than `members` is fine: a threshold, not a limit.
            let count = children.iter().filter(|c| *c != READY).count();
            if count >= members {
                match client
                    .create(&ready, b"", &CreateOptions::persistent())
                    .await
                {
                    Ok(_) | Err(ZkError::NodeExists(_)) => return Ok(true),
                    Err(e) if e.is_connection_loss() => wait_connected(client).await?,
                    // The path went under us: look again.
                    Err(ZkError::NoNode(_)) => {}
                    Err(e) => return Err(zk(e)),
                }
                continue;
            }
            tracing::trace!(path = %self.path, count, members, "waiting to enter");
            tokio::select! {
                event = created => {
                    // Seeing `ready` created is as good as reading it: it may already be
                    // gone again (kazoo deletes it as soon as it leaves).
                    if event.is_ok_and(|e| e.event_type == EventType::NodeCreated) {
                        return Ok(true);
                    }
                }
                // A member came or went, or the session's state changed: look again.
                _ = changed => {}
                _ = states.changed() => {}
            }
        }
    }

    /// The ZooKeeper recipe's leave; deletes `ready` when every member has left.
    async fn leave(&self) -> Result<bool> {
        let client = self.client;
        loop {
            let mut states = client.state_watcher();
            let children = match client.get_children(self.path).await {
                Ok((children, _)) => children,
                Err(ZkError::NoNode(_)) => Vec::new(),
                Err(e) if e.is_connection_loss() => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(zk(e)),
            };
            let mut members: Vec<&str> = children
                .iter()
                .map(String::as_str)
                .filter(|c| *c != READY)
                .collect();
            members.sort_unstable();
            let (Some(&lowest), Some(&highest)) = (members.first(), members.last()) else {
                break;
            };
            let ours = members.iter().position(|m| *m == self.name);
            let target = match ours {
                // Only we remain: we are the last to leave.
                Some(_) if members.len() == 1 => {
                    if self.delete_ours().await? {
                        break;
                    }
                    continue;
                }
                // The lowest leaves last: wait for the highest.
                Some(0) => highest,
                // Everyone else leaves now and waits for the lowest.
                Some(_) => {
                    if !self.delete_ours().await? {
                        continue;
                    }
                    lowest
                }
                // Not (or no longer) a member: wait for the lowest.
                None => lowest,
            };
            tracing::trace!(path = %self.path, target, "waiting to leave");
            // getData, not exists: a node gone already leaves no watch behind.
            match client.get_data_and_watch(&join(self.path, target)).await {
                Ok((_, _, changed)) => {
                    tokio::select! {
                        _ = changed => {}
                        _ = states.changed() => {}
                    }
                }
                Err(ZkError::NoNode(_)) => {}
                Err(e) if e.is_connection_loss() => wait_connected(client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
        let ready = join(self.path, READY);
        loop {
            match client.delete(&ready, None).await {
                Ok(()) | Err(ZkError::NoNode(_)) => return Ok(true),
                Err(e) if e.is_connection_loss() => wait_connected(client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Deletes our node: `false` when a connection loss leaves that unknown (look again).
    async fn delete_ours(&self) -> Result<bool> {
        match self.client.delete(&self.node(), None).await {
            Ok(()) | Err(ZkError::NoNode(_)) => Ok(true),
            Err(e) if e.is_connection_loss() => {
                wait_connected(self.client).await?;
                Ok(false)
            }
            Err(e) => Err(zk(e)),
        }
    }
}
