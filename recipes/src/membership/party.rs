//! kazoo's [`Party`] and [`ShallowParty`]: one ephemeral node per member, on kazoo's
//! layout, so a Python process with kazoo and a Rust one share a party.

use std::sync::{Arc, Mutex as StdMutex};

use bytes::Bytes;
use uuid::Uuid;
use zk_client::{Client, Error as ZkError};

use super::view::{Layout, MembershipWatch, PARTY, View, shallow_id};
use crate::error::{Error, Result, zk};
use crate::node::PersistentNode;
use crate::protected::join;

/// What both parties share: the member node, kept by a [`PersistentNode`].
#[derive(Debug)]
struct Core {
    client: Client,
    path: String,
    identifier: String,
    node: String,
    layout: Layout,
    joined: StdMutex<Option<Arc<PersistentNode>>>,
    /// Joins and leaves, one at a time.
    turn: tokio::sync::Mutex<()>,
}

impl Core {
    fn new(client: &Client, path: &str, identifier: String, layout: Layout) -> Self {
        let hex = Uuid::new_v4().simple().to_string();
        let node = match layout {
            Layout::Shallow => format!("{hex}-{identifier}"),
            _ => format!("{hex}{PARTY}"),
        };
        Self {
            client: client.clone(),
            path: path.to_owned(),
            identifier,
            node,
            layout,
            joined: StdMutex::new(None),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    async fn join(&self) -> Result<()> {
        let _turn = self.turn.lock().await;
        if lock(&self.joined)
            .as_ref()
            .is_some_and(|node| !node.state().is_final())
        {
            return Ok(());
        }
        if self.layout == Layout::Shallow && self.identifier.contains('/') {
            return Err(Error::InvalidArgument(format!(
                "{:?} cannot be in a node name",
                self.identifier
            )));
        }
        let node = PersistentNode::new(&self.client, &join(&self.path, &self.node))
            .data(Bytes::from(self.identifier.clone().into_bytes()))
            .persistent_parents();
        node.start()?;
        // Dropped here if cancelled: the node is then deleted in the background.
        node.created().await?;
        *lock(&self.joined) = Some(Arc::new(node));
        Ok(())
    }

    async fn leave(&self) -> Result<bool> {
        let _turn = self.turn.lock().await;
        let Some(node) = lock(&self.joined).take() else {
            return Ok(false);
        };
        let was = node.state().exists();
        node.close().await?;
        Ok(was)
    }

    fn is_participating(&self) -> bool {
        lock(&self.joined)
            .as_ref()
            .is_some_and(|node| node.state().exists())
    }

    async fn children(&self) -> Result<Vec<String>> {
        match self.client.get_children(&self.path).await {
            Ok((children, _)) => Ok(children
                .into_iter()
                .filter(|c| self.layout.accepts(c))
                .collect()),
            Err(ZkError::NoNode(_)) => Ok(Vec::new()),
            Err(e) => Err(zk(e)),
        }
    }

    fn watch(&self) -> MembershipWatch {
        View::watch(&self.client, &self.path, self.layout)
    }
}

/// kazoo's `Party`: each member is an ephemeral node `<path>/{hex}__party__` whose data
/// is its identifier; [`participants`](Self::participants) are the identifiers.
///
/// Unlike kazoo's, a joined party keeps its node: it is made again when deleted or found
/// missing after a reconnect (a [`PersistentNode`]). Like kazoo's, it lives on one
/// session: when the session ends, the member is out (use
/// [`GroupMember`](super::GroupMember) with a session factory to join again on a new
/// one). Missing parents are made persistent, as kazoo's `ensure_path` does, so a kazoo
/// member that made the path once never finds it gone.
///
/// ```no_run
/// use zk_recipes::membership::Party;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let party = Party::new(&client, "/parties/workers", "host-a");
/// party.join().await?;
/// println!("{:?} in a party of {}", party.participants().await?, party.len().await?);
/// party.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Party(Core);

impl Party {
    /// A party member at `path` with `identifier` as its data. Creates nothing until
    /// [`join`](Self::join).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let party = zk_recipes::membership::Party::new(&client, "/party", "host-a");
    /// # drop(party); }
    /// ```
    pub fn new(client: &Client, path: &str, identifier: impl Into<String>) -> Self {
        Self(Core::new(client, path, identifier.into(), Layout::Party))
    }

    /// The party's path.
    ///
    /// ```no_run
    /// # fn _example(party: zk_recipes::membership::Party) {
    /// println!("{}", party.path());
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// Our node's name, `{hex}__party__` (the same for every join of this value).
    ///
    /// ```no_run
    /// # fn _example(party: zk_recipes::membership::Party) {
    /// assert!(party.node_name().ends_with("__party__"));
    /// # }
    /// ```
    pub fn node_name(&self) -> &str {
        &self.0.node
    }

    /// Joins the party: resolves once our node exists. Joining a joined party does
    /// nothing. Cancel-safe: a join dropped before it resolved leaves no node.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`] when the session ends first; the ZooKeeper errors that
    /// retrying cannot fix (`NoAuth`, ...); [`Error::InvalidArgument`] outside a tokio
    /// runtime.
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::Party) -> zk_recipes::Result<()> {
    /// party.join().await?;
    /// # Ok(()) }
    /// ```
    pub async fn join(&self) -> Result<()> {
        self.0.join().await
    }

    /// Leaves the party: deletes our node. `true` when we were in it.
    ///
    /// # Errors
    ///
    /// As [`PersistentNode::close`].
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::Party) -> zk_recipes::Result<()> {
    /// party.leave().await?;
    /// # Ok(()) }
    /// ```
    pub async fn leave(&self) -> Result<bool> {
        self.0.leave().await
    }

    /// Whether our node exists now.
    ///
    /// ```no_run
    /// # fn _example(party: zk_recipes::membership::Party) {
    /// println!("{}", party.is_participating());
    /// # }
    /// ```
    pub fn is_participating(&self) -> bool {
        self.0.is_participating()
    }

    /// The identifiers of the members (kazoo's `iter(party)`), read now, in no particular
    /// order. A member that leaves during the read is left out.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the reads (a missing path is an empty party).
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::Party) -> zk_recipes::Result<()> {
    /// for id in party.participants().await? {
    ///     println!("{id}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn participants(&self) -> Result<Vec<String>> {
        let names = self.0.children().await?;
        let reads: Vec<_> = names
            .iter()
            .map(|name| self.0.client.get_data(&join(&self.0.path, name)))
            .collect();
        let mut ids = Vec::with_capacity(reads.len());
        for read in reads {
            match read.await {
                Ok((data, _)) => ids.push(String::from_utf8_lossy(&data).into_owned()),
                Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        Ok(ids)
    }

    /// The number of members (kazoo's `len(party)`).
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the read.
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::Party) -> zk_recipes::Result<()> {
    /// println!("{}", party.len().await?);
    /// # Ok(()) }
    /// ```
    pub async fn len(&self) -> Result<usize> {
        Ok(self.0.children().await?.len())
    }

    /// Whether the party has no members.
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::Party) -> zk_recipes::Result<()> {
    /// println!("{}", party.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// The party's changes as a stream ([`MembershipWatch`]); each [`Member`]'s `id` is
    /// its identifier. It ends with the session. Needs no join.
    ///
    /// [`Member`]: super::Member
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(party: zk_recipes::membership::Party) {
    /// let mut changes = party.watch();
    /// while let Some(change) = changes.next().await {
    ///     println!("{change:?}");
    /// }
    /// # }
    /// ```
    pub fn watch(&self) -> MembershipWatch {
        self.0.watch()
    }
}

/// kazoo's `ShallowParty`: each member is an ephemeral node `<path>/{hex}-<identifier>`
/// (its data is the identifier too), so the identifiers come from one read of the
/// children. The identifier must fit in a node name. Otherwise as [`Party`].
///
/// ```no_run
/// use zk_recipes::membership::ShallowParty;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let party = ShallowParty::new(&client, "/parties/shallow", "host-a");
/// party.join().await?;
/// println!("{:?}", party.participants().await?);
/// party.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ShallowParty(Core);

impl ShallowParty {
    /// A member of the shallow party at `path` named by `identifier`. Creates nothing
    /// until [`join`](Self::join).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let party = zk_recipes::membership::ShallowParty::new(&client, "/party", "host-a");
    /// # drop(party); }
    /// ```
    pub fn new(client: &Client, path: &str, identifier: impl Into<String>) -> Self {
        Self(Core::new(client, path, identifier.into(), Layout::Shallow))
    }

    /// The party's path.
    ///
    /// ```no_run
    /// # fn _example(party: zk_recipes::membership::ShallowParty) {
    /// println!("{}", party.path());
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// Our node's name, `{hex}-<identifier>`.
    ///
    /// ```no_run
    /// # fn _example(party: zk_recipes::membership::ShallowParty) {
    /// println!("{}", party.node_name());
    /// # }
    /// ```
    pub fn node_name(&self) -> &str {
        &self.0.node
    }

    /// Joins the party, as [`Party::join`].
    ///
    /// # Errors
    ///
    /// As [`Party::join`]; [`Error::InvalidArgument`] for an identifier with a `/`.
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::ShallowParty) -> zk_recipes::Result<()> {
    /// party.join().await?;
    /// # Ok(()) }
    /// ```
    pub async fn join(&self) -> Result<()> {
        self.0.join().await
    }

    /// Leaves the party, as [`Party::leave`].
    ///
    /// # Errors
    ///
    /// As [`Party::leave`].
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::ShallowParty) -> zk_recipes::Result<()> {
    /// party.leave().await?;
    /// # Ok(()) }
    /// ```
    pub async fn leave(&self) -> Result<bool> {
        self.0.leave().await
    }

    /// Whether our node exists now.
    ///
    /// ```no_run
    /// # fn _example(party: zk_recipes::membership::ShallowParty) {
    /// println!("{}", party.is_participating());
    /// # }
    /// ```
    pub fn is_participating(&self) -> bool {
        self.0.is_participating()
    }

    /// The members' identifiers, from the names of the children (kazoo's
    /// `iter(party)`): what follows the first `-`.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the read (a missing path is an empty party).
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::ShallowParty) -> zk_recipes::Result<()> {
    /// println!("{:?}", party.participants().await?);
    /// # Ok(()) }
    /// ```
    pub async fn participants(&self) -> Result<Vec<String>> {
        let names = self.0.children().await?;
        Ok(names.iter().map(|n| shallow_id(n).to_owned()).collect())
    }

    /// The number of members (every child of the path, as kazoo counts them).
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the read.
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::ShallowParty) -> zk_recipes::Result<()> {
    /// println!("{}", party.len().await?);
    /// # Ok(()) }
    /// ```
    pub async fn len(&self) -> Result<usize> {
        Ok(self.0.children().await?.len())
    }

    /// Whether the party has no members.
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    ///
    /// ```no_run
    /// # async fn _example(party: zk_recipes::membership::ShallowParty) -> zk_recipes::Result<()> {
    /// println!("{}", party.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// The party's changes as a stream ([`MembershipWatch`]), from the children's names
    /// alone (data is not read): each [`Member`]'s `id` is the identifier in its name. It
    /// ends with the session. Needs no join.
    ///
    /// [`Member`]: super::Member
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(party: zk_recipes::membership::ShallowParty) {
    /// let mut changes = party.watch();
    /// while let Some(change) = changes.next().await {
    ///     println!("{change:?}");
    /// }
    /// # }
    /// ```
    pub fn watch(&self) -> MembershipWatch {
        self.0.watch()
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
