//! [`GroupMember`]: Curator's `GroupMember`, one member node kept by a
//! [`PersistentNode`] and a live view of the group.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use bytes::Bytes;
use zk_client::Client;

use super::view::{Layout, MembershipWatch, View};
use crate::error::{Error, Result};
use crate::node::{NodeState, PersistentNode};
use crate::protected::join;

/// A member of a group with Curator's `GroupMember` layout: an ephemeral node
/// `<path>/<id>` whose data is the member's payload, kept by a [`PersistentNode`] (made
/// again when deleted, found missing after a reconnect, or, with a
/// [`session_factory`](Self::session_factory), on a new session), and a view of the whole
/// group kept current by a watch ([`members`](Self::members), [`watch`](Self::watch)).
///
/// Ids must be unique in the group: a second member with an id in use (on another session)
/// waits until the first one leaves, rather than taking its node over.
///
/// ```no_run
/// use futures::StreamExt;
/// use zk_recipes::membership::GroupMember;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let me = GroupMember::new(&client, "/groups/workers", "worker-7").payload("10.0.0.7:8080");
/// me.start()?;
/// for (id, payload) in me.members() {
///     println!("{id}: {payload:?}");
/// }
/// let mut changes = me.watch()?;
/// if let Some(change) = changes.next().await {
///     println!("{change:?}");
/// }
/// me.set_payload("10.0.0.7:8081").await?;
/// me.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GroupMember {
    path: String,
    id: String,
    node: PersistentNode,
    view: StdMutex<Option<View>>,
}

impl GroupMember {
    /// Member `id` of the group at `path`, with an empty payload. Creates nothing until
    /// [`start`](Self::start). (Curator's default payload is the local IP address.)
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let me = zk_recipes::membership::GroupMember::new(&client, "/groups/workers", "worker-7");
    /// # drop(me); }
    /// ```
    pub fn new(client: &Client, path: &str, id: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            node: PersistentNode::new(client, &join(path, &id)),
            path: path.to_owned(),
            id,
            view: StdMutex::new(None),
        }
    }

    /// The member's payload: its node's data. Default empty.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let me = zk_recipes::membership::GroupMember::new(&client, "/g", "a").payload("host-a");
    /// # drop(me); }
    /// ```
    #[must_use]
    pub fn payload(mut self, payload: impl Into<Bytes>) -> Self {
        self.node = self.node.data(payload);
        self
    }

    /// How to get a new session when the current one ends: the member joins again on it
    /// and the view goes on ([`PersistentNode::session_factory`]).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let me = zk_recipes::membership::GroupMember::new(&client, "/g", "a")
    ///     .session_factory(|| zk_client::Client::connect("127.0.0.1:2181"));
    /// # drop(me); }
    /// ```
    #[must_use]
    pub fn session_factory<F, Fut>(mut self, factory: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = zk_client::Result<Client>> + Send + 'static,
    {
        self.node = self.node.session_factory(factory);
        self
    }

    /// The group's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::membership::GroupMember::new(&client, "/g", "a").path(), "/g");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// This member's id.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::membership::GroupMember::new(&client, "/g", "a").id(), "a");
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Joins the group: starts the member node's task and the view's.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an id that is not a node name (empty, with a `/`),
    /// a second start, or no tokio runtime; [`Error::Closed`] after
    /// [`close`](Self::close).
    ///
    /// ```no_run
    /// # fn _example(me: zk_recipes::membership::GroupMember) -> zk_recipes::Result<()> {
    /// me.start()?;
    /// # Ok(()) }
    /// ```
    pub fn start(&self) -> Result<()> {
        if self.id.is_empty() || self.id.contains('/') || self.id == "." || self.id == ".." {
            return Err(Error::InvalidArgument(format!(
                "{:?} is not a member id: it must be a node name",
                self.id
            )));
        }
        self.node.start()?;
        let view = View::spawn(self.node.sessions(), &self.path, Layout::Curator, true);
        *lock(&self.view) = Some(view);
        Ok(())
    }

    /// Waits until this member's node has been made once: `true` once it has, `false` if
    /// not within `timeout`. Cancel-safe.
    ///
    /// # Errors
    ///
    /// As [`PersistentNode::wait_for_initial_create`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn _example(me: zk_recipes::membership::GroupMember) -> zk_recipes::Result<()> {
    /// me.wait_joined(Duration::from_secs(10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_joined(&self, timeout: Duration) -> Result<bool> {
        self.node.wait_for_initial_create(timeout).await
    }

    /// The members as the view sees them now, id → payload, always with this member
    /// (Curator's `getCurrentMembers`): before the first read, only this member.
    ///
    /// ```no_run
    /// # fn _example(me: zk_recipes::membership::GroupMember) {
    /// for (id, payload) in me.members() {
    ///     println!("{id}: {payload:?}");
    /// }
    /// # }
    /// ```
    pub fn members(&self) -> BTreeMap<String, Bytes> {
        let seen = lock(&self.view).as_ref().and_then(View::members);
        let mut members: BTreeMap<String, Bytes> = seen
            .unwrap_or_default()
            .into_values()
            .map(|m| (m.id, m.data))
            .collect();
        members
            .entry(self.id.clone())
            .or_insert_with(|| self.node.get_data());
        members
    }

    /// The group's changes as a stream ([`MembershipWatch`]): a `Joined` for each member
    /// known now, then every join, leave and payload change. It ends when this member is
    /// closed or dropped, or its session ends for good.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] before [`start`](Self::start).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(me: zk_recipes::membership::GroupMember) -> zk_recipes::Result<()> {
    /// let mut changes = me.watch()?;
    /// while let Some(change) = changes.next().await {
    ///     println!("{change:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch(&self) -> Result<MembershipWatch> {
        lock(&self.view)
            .as_ref()
            .map(View::subscribe)
            .ok_or_else(|| Error::InvalidArgument("start the member before watching".into()))
    }

    /// This member's payload, as last given.
    ///
    /// ```no_run
    /// # fn _example(me: zk_recipes::membership::GroupMember) {
    /// println!("{:?}", me.get_payload());
    /// # }
    /// ```
    pub fn get_payload(&self) -> Bytes {
        self.node.get_data()
    }

    /// Changes this member's payload (Curator's `setThisData`); resolves once the server
    /// has it ([`PersistentNode::set_data`]).
    ///
    /// # Errors
    ///
    /// As [`PersistentNode::set_data`].
    ///
    /// ```no_run
    /// # async fn _example(me: zk_recipes::membership::GroupMember) -> zk_recipes::Result<()> {
    /// me.set_payload("draining").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_payload(&self, payload: impl Into<Bytes>) -> Result<()> {
        self.node.set_data(payload).await
    }

    /// The state of this member's node.
    ///
    /// ```no_run
    /// # fn _example(me: zk_recipes::membership::GroupMember) {
    /// println!("in the group: {}", me.state().exists());
    /// # }
    /// ```
    pub fn state(&self) -> NodeState {
        self.node.state()
    }

    /// The [`PersistentNode`] that keeps this member's node.
    ///
    /// ```no_run
    /// # fn _example(me: zk_recipes::membership::GroupMember) {
    /// println!("{:?}", me.node().actual_path());
    /// # }
    /// ```
    pub fn node(&self) -> &PersistentNode {
        &self.node
    }

    /// Leaves the group: deletes this member's node and stops the view (its watches end).
    /// Idempotent; dropping the member does the same in the background.
    ///
    /// # Errors
    ///
    /// As [`PersistentNode::close`].
    ///
    /// ```no_run
    /// # async fn _example(me: zk_recipes::membership::GroupMember) -> zk_recipes::Result<()> {
    /// me.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        drop(lock(&self.view).take());
        self.node.close().await
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
