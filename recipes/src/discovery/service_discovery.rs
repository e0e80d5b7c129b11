//! [`ServiceDiscovery`]: Curator's `ServiceDiscovery`, registering instances at
//! `<base>/<name>/<id>` and querying them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};

use futures::StreamExt as _;
use zk_client::{Client, CreateOptions, Error as ZkError};

use super::sessions::Sessions;
use super::{JsonFormat, ServiceCache, ServiceInstance, ServiceType, lock};
use crate::error::{Error, Result, zk};
use crate::node::{NodeState, PersistentNode};
use crate::protected::{join, make_parents, wait_connected};

/// How one of our instances is kept.
enum Kept {
    /// An ephemeral node, kept by a [`PersistentNode`] and made again on a new session.
    Dynamic(Box<PersistentNode>),
    /// A persistent node at `path`.
    Fixed { path: String },
}

/// One of our instances: the record we would register again, and its node.
struct Entry {
    instance: ServiceInstance,
    kept: Kept,
}

/// One id's entry, locked while it is registered, updated or unregistered.
type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// Curator's `ServiceDiscovery`: registers this process's service instances under
/// `<base>/<name>/<id>`, and answers queries about everyone's.
///
/// - **Nodes** by [`ServiceType`]: DYNAMIC an ephemeral node, DYNAMIC_SEQUENTIAL an
///   ephemeral sequential one (the id plus the server's sequence), STATIC and PERMANENT
///   persistent ones. Missing parents are made as containers, as Curator makes them. A
///   node found at the path when registering is deleted and made again (as Curator does,
///   so that watchers fire).
/// - **Data**: the instance's JSON in the [`JsonFormat`] given (Curator's default: no
///   `"enabled"`, no `"@class"`).
/// - **Sessions**: a dynamic instance stays registered across reconnects without being
///   touched (CURATOR-320); it is made again if someone deletes it, and, with a
///   [`session_factory`](Self::session_factory), on the new session after the old one
///   ended, with the latest data given to [`update`](Self::update) (CURATOR-146/181).
///   Static and permanent instances outlive sessions and are never made again.
/// - **Unregister** forgets the instance before deleting its node, and the delete goes on
///   through connection losses until it lands, so a re-registration cannot bring it back
///   (CURATOR-164).
/// - **Close** deletes every instance of ours except the PERMANENT ones (CURATOR-94).
///   Dropping the discovery does the same in the background.
/// - **Queries** skip nodes whose data is not an instance (empty, foreign: CURATOR-574).
///
/// ```no_run
/// use zk_recipes::discovery::{ServiceDiscovery, ServiceInstance};
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let discovery = ServiceDiscovery::new(&client, "/services");
/// let me = ServiceInstance::new("orders").address("10.0.0.5").port(8080);
/// discovery.register(me.clone()).await?;
/// for instance in discovery.query_for_instances("orders").await? {
///     println!("{} at {:?}:{:?}", instance.id, instance.address, instance.port);
/// }
/// discovery.update(me.port(8081)).await?;
/// discovery.close().await?;
/// # Ok(()) }
/// ```
pub struct ServiceDiscovery {
    base: String,
    format: JsonFormat,
    client: Client,
    factory: Option<super::sessions::Factory>,
    sessions: StdMutex<Option<Arc<Sessions>>>,
    services: StdMutex<HashMap<String, Slot>>,
    closed: StdMutex<bool>,
}

impl std::fmt::Debug for ServiceDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDiscovery")
            .field("base", &self.base)
            .field("format", &self.format)
            .field("registered", &lock(&self.services).len())
            .finish_non_exhaustive()
    }
}

impl ServiceDiscovery {
    /// A discovery on `base` (Curator's `basePath`). Creates nothing until an instance is
    /// registered.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let discovery = zk_recipes::discovery::ServiceDiscovery::new(&client, "/services");
    /// # drop(discovery); }
    /// ```
    pub fn new(client: &Client, base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            format: JsonFormat::default(),
            client: client.clone(),
            factory: None,
            sessions: StdMutex::new(None),
            services: StdMutex::new(HashMap::new()),
            closed: StdMutex::new(false),
        }
    }

    /// How instances are written. Default [`JsonFormat::default`], Curator's default.
    ///
    /// ```no_run
    /// use zk_recipes::discovery::{JsonFormat, ServiceDiscovery};
    /// # fn _example(client: zk_client::Client) {
    /// let discovery = ServiceDiscovery::new(&client, "/services")
    ///     .format(JsonFormat::default().with_enabled());
    /// # drop(discovery); }
    /// ```
    #[must_use]
    pub fn format(mut self, format: JsonFormat) -> Self {
        self.format = format;
        self
    }

    /// How to get a new session once the current one has ended: the dynamic instances
    /// are then registered again on it, with their latest data, and queries use it. One
    /// new session serves every instance. Without one, the end of the session ends the
    /// dynamic registrations. A factory that fails is called again, after a pause that
    /// grows to 5 s.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let discovery = zk_recipes::discovery::ServiceDiscovery::new(&client, "/services")
    ///     .session_factory(|| zk_client::Client::connect("127.0.0.1:2181"));
    /// # drop(discovery); }
    /// ```
    #[must_use]
    pub fn session_factory<F, Fut>(mut self, factory: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = zk_client::Result<Client>> + Send + 'static,
    {
        self.factory = Some(Arc::new(move || Box::pin(factory())));
        self
    }

    /// The base path.
    ///
    /// ```no_run
    /// # fn _example(d: zk_recipes::discovery::ServiceDiscovery) {
    /// assert_eq!(d.base_path(), "/services");
    /// # }
    /// ```
    pub fn base_path(&self) -> &str {
        &self.base
    }

    /// The session shared by the discovery's registrations and queries.
    fn sessions(&self) -> Arc<Sessions> {
        lock(&self.sessions)
            .get_or_insert_with(|| Sessions::new(self.client.clone(), self.factory.clone()))
            .clone()
    }

    /// The client of the session the discovery works on now: the one it was made with,
    /// or the last one its [`session_factory`](Self::session_factory) gave.
    ///
    /// ```no_run
    /// # fn _example(d: zk_recipes::discovery::ServiceDiscovery) {
    /// println!("session {:#x}", d.client().session_id());
    /// # }
    /// ```
    pub fn client(&self) -> Client {
        self.sessions().current()
    }

    /// `<base>/<name>`.
    fn service_path(&self, name: &str) -> String {
        join(
            if self.base.is_empty() {
                "/"
            } else {
                &self.base
            },
            name,
        )
    }

    /// Registers `instance` (Curator's `registerService`) and waits until its node
    /// exists. Registering an id again replaces its instance, as
    /// [`update`](Self::update) does. Dropping the future leaves the instance registered
    /// (its node is made in the background); [`unregister`](Self::unregister) and
    /// [`close`](Self::close) remove it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty name or id, or one with a `/`;
    /// [`Error::Closed`] after [`close`](Self::close); [`Error::SessionEnded`] when the
    /// session ended (and no factory gave a new one); what the server refused
    /// ([`Error::Zk`] with `NoAuth`, ...).
    ///
    /// ```no_run
    /// use zk_recipes::discovery::{ServiceInstance, ServiceType};
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) -> zk_recipes::Result<()> {
    /// d.register(ServiceInstance::new("orders").service_type(ServiceType::Static)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn register(&self, instance: ServiceInstance) -> Result<()> {
        check_name("service name", &instance.name)?;
        check_name("instance id", &instance.id)?;
        let slot = {
            // Held while the entry goes in, so that a close either sees it or comes first.
            let closed = lock(&self.closed);
            if *closed {
                return Err(Error::Closed);
            }
            let mut services = lock(&self.services);
            services.entry(instance.id.clone()).or_default().clone()
        };
        let guard = slot.lock().await;
        if let Some(entry) = guard.as_ref() {
            if entry.instance.name == instance.name
                && entry.instance.service_type == instance.service_type
            {
                drop(guard);
                return self.update(instance).await;
            }
        }
        let id = instance.id.clone();
        let made = self.register_in(guard, instance).await;
        if let Err(e) = made {
            // Nothing half-made stays: the entry and its node go.
            if !matches!(e, Error::Closed) {
                self.forget(&id, &slot).await;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Registers `instance` in its slot (held by `guard`).
    async fn register_in(
        &self,
        mut guard: tokio::sync::MutexGuard<'_, Option<Entry>>,
        instance: ServiceInstance,
    ) -> Result<()> {
        // Another instance under this id: unregister it first.
        if let Some(old) = guard.take() {
            self.remove(old, true).await?;
        }
        let path = join(&self.service_path(&instance.name), &instance.id);
        let bytes = self.format.write(&instance);
        let sessions = self.sessions();
        let client = sessions.live().await?;
        if !instance.service_type.is_dynamic() {
            create_fixed(&client, &path, &bytes, instance.service_type).await?;
            *guard = Some(Entry {
                instance,
                kept: Kept::Fixed { path },
            });
            return Ok(());
        }
        let node = PersistentNode::new(&client, &path)
            .mode(instance.service_type.create_mode())
            .data(bytes);
        let node = sessions.factory_for(node);
        node.start()?;
        let mut states = node.states();
        *guard = Some(Entry {
            instance,
            kept: Kept::Dynamic(Box::new(node)),
        });
        drop(guard);
        while let Some(state) = states.next().await {
            match state {
                NodeState::Created { .. } => return Ok(()),
                NodeState::Blocked { path, .. } => {
                    // Curator deletes what is in the way, so that watchers fire.
                    tracing::info!(%path, "deleting the node in the way of our instance");
                    match client.delete(&path, None).await {
                        Ok(()) | Err(ZkError::NoNode(_)) => {}
                        Err(e) if e.is_connection_loss() => {}
                        Err(e) => return Err(zk(e)),
                    }
                }
                NodeState::Failed(e) => return Err(e),
                NodeState::Closed => return Err(Error::Closed),
                _ => {}
            }
        }
        Err(Error::Closed)
    }

    /// Drops the entry of `id` if it is still `slot`, and deletes what it made.
    async fn forget(&self, id: &str, slot: &Slot) {
        {
            let mut services = lock(&self.services);
            if services.get(id).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                services.remove(id);
            }
        }
        let entry = slot.lock().await.take();
        if let Some(entry) = entry {
            let _ = self.remove(entry, true).await;
        }
    }

    /// Changes a registered instance (Curator's `updateService`): our record first, so a
    /// later re-registration writes the new data (CURATOR-146/181), then the node's data.
    /// The name and type must stay as registered.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an instance that is not registered here, or a
    /// changed name or type; [`Error::Closed`] after close; the error of the setData.
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery, me: zk_recipes::discovery::ServiceInstance) -> zk_recipes::Result<()> {
    /// d.update(me.enabled(false)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, instance: ServiceInstance) -> Result<()> {
        let not_registered =
            || Error::InvalidArgument(format!("instance {} is not registered", instance.id));
        let slot = lock(&self.services).get(&instance.id).cloned();
        let slot = slot.ok_or_else(not_registered)?;
        let mut slot = slot.lock().await;
        let entry = slot.as_mut().ok_or_else(not_registered)?;
        if entry.instance.name != instance.name
            || entry.instance.service_type != instance.service_type
        {
            return Err(Error::InvalidArgument(format!(
                "instance {}: the name and type cannot change",
                instance.id
            )));
        }
        let bytes = self.format.write(&instance);
        entry.instance = instance;
        match &entry.kept {
            Kept::Dynamic(node) => node.set_data(bytes).await,
            Kept::Fixed { path } => {
                let client = self.sessions().live().await?;
                loop {
                    match client.set_data(path, &bytes, None).await {
                        Ok(_) => return Ok(()),
                        Err(e) if e.is_connection_loss() => wait_connected(&client).await?,
                        Err(e) => return Err(zk(e)),
                    }
                }
            }
        }
    }

    /// Unregisters the instance with this id (Curator's `unregisterService`): it is
    /// forgotten first, then its node deleted, the delete going on through connection
    /// losses until it lands (CURATOR-164). Unregistering an unknown id does nothing.
    /// PERMANENT instances are deleted too.
    ///
    /// # Errors
    ///
    /// The delete's error when it cannot be retried (`NoAuth`).
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) -> zk_recipes::Result<()> {
    /// d.unregister("orders-1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn unregister(&self, id: &str) -> Result<()> {
        let slot = lock(&self.services).remove(id);
        let Some(slot) = slot else { return Ok(()) };
        let entry = slot.lock().await.take();
        match entry {
            Some(entry) => self.remove(entry, true).await,
            None => Ok(()),
        }
    }

    /// Deletes an entry's node (a PERMANENT one only when `permanent_too`).
    async fn remove(&self, entry: Entry, permanent_too: bool) -> Result<()> {
        match entry.kept {
            Kept::Dynamic(node) => node.close().await,
            Kept::Fixed { path } => {
                if entry.instance.service_type == ServiceType::Permanent && !permanent_too {
                    return Ok(());
                }
                let client = self.sessions().live().await?;
                crate::lock::guard::delete_node(&client, &path).await
            }
        }
    }

    /// The instances registered here, as last given (to [`register`](Self::register) or
    /// [`update`](Self::update)).
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) {
    /// for i in d.registered().await {
    ///     println!("{} {}", i.name, i.id);
    /// }
    /// # }
    /// ```
    pub async fn registered(&self) -> Vec<ServiceInstance> {
        let slots: Vec<_> = lock(&self.services).values().cloned().collect();
        let mut out = Vec::new();
        for slot in slots {
            if let Some(entry) = slot.lock().await.as_ref() {
                out.push(entry.instance.clone());
            }
        }
        out
    }

    /// The path of a registered instance's node (for DYNAMIC_SEQUENTIAL, with its
    /// sequence), once it exists.
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) {
    /// println!("{:?}", d.instance_path("orders-1").await);
    /// # }
    /// ```
    pub async fn instance_path(&self, id: &str) -> Option<String> {
        let slot = lock(&self.services).get(id).cloned()?;
        let slot = slot.lock().await;
        match &slot.as_ref()?.kept {
            Kept::Dynamic(node) => node.actual_path(),
            Kept::Fixed { path } => Some(path.clone()),
        }
    }

    /// The names of the services (Curator's `queryForNames`), sorted; none when the base
    /// does not exist.
    ///
    /// # Errors
    ///
    /// The error of the getChildren ([`Error::Zk`], [`Error::SessionEnded`]).
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) -> zk_recipes::Result<()> {
    /// println!("{:?}", d.query_for_names().await?);
    /// # Ok(()) }
    /// ```
    pub async fn query_for_names(&self) -> Result<Vec<String>> {
        let client = self.sessions().live().await?;
        let base = if self.base.is_empty() {
            "/"
        } else {
            &self.base
        };
        children(&client, base).await
    }

    /// The instances of service `name` (Curator's `queryForInstances`), by node name;
    /// nodes whose data is not an instance are skipped (CURATOR-574).
    ///
    /// # Errors
    ///
    /// The error of a read ([`Error::Zk`], [`Error::SessionEnded`]).
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) -> zk_recipes::Result<()> {
    /// let instances = d.query_for_instances("orders").await?;
    /// # let _ = instances; Ok(()) }
    /// ```
    pub async fn query_for_instances(&self, name: &str) -> Result<Vec<ServiceInstance>> {
        let client = self.sessions().live().await?;
        query_instances(&client, &self.service_path(name)).await
    }

    /// The instance `id` of service `name` (Curator's `queryForInstance`): `None` when
    /// there is no such node, or its data is not an instance.
    ///
    /// # Errors
    ///
    /// The error of the getData ([`Error::Zk`], [`Error::SessionEnded`]).
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) -> zk_recipes::Result<()> {
    /// if let Some(i) = d.query_for_instance("orders", "orders-1").await? {
    ///     println!("{:?}", i.build_uri_spec());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query_for_instance(
        &self,
        name: &str,
        id: &str,
    ) -> Result<Option<ServiceInstance>> {
        let client = self.sessions().live().await?;
        let path = join(&self.service_path(name), id);
        match client.get_data(&path).await {
            Ok((data, _)) => Ok(parse(&path, &data)),
            Err(ZkError::NoNode(_)) => Ok(None),
            Err(e) => Err(zk(e)),
        }
    }

    /// A [`ServiceCache`] of service `name` on the discovery's session (which ends with
    /// the discovery's [`close`](Self::close) when its factory made it).
    ///
    /// # Errors
    ///
    /// As [`ServiceCache::start`].
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) -> zk_recipes::Result<()> {
    /// let cache = d.service_cache("orders").await?;
    /// cache.initialized().await?;
    /// # Ok(()) }
    /// ```
    pub async fn service_cache(&self, name: &str) -> Result<ServiceCache> {
        let client = self.sessions().live().await?;
        ServiceCache::start(&client, &self.base, name)
    }

    /// Closes the discovery: unregisters every instance except the PERMANENT ones, which
    /// stay (CURATOR-94), and closes a session its factory made. Idempotent.
    ///
    /// # Errors
    ///
    /// The first delete that failed and cannot be retried (`NoAuth`); the others are
    /// still done.
    ///
    /// ```no_run
    /// # async fn _example(d: zk_recipes::discovery::ServiceDiscovery) -> zk_recipes::Result<()> {
    /// d.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        let slots: Vec<_> = {
            let mut closed = lock(&self.closed);
            *closed = true;
            let mut services = lock(&self.services);
            services.drain().map(|(_, s)| s).collect()
        };
        let mut first = Ok(());
        for slot in slots {
            let entry = slot.lock().await.take();
            if let Some(entry) = entry {
                if let Err(e) = self.remove(entry, false).await {
                    if first.is_ok() {
                        first = Err(e);
                    }
                }
            }
        }
        let sessions = lock(&self.sessions).clone();
        if let Some(sessions) = sessions {
            sessions.close().await;
        }
        first
    }
}

impl Drop for ServiceDiscovery {
    /// Deletes the STATIC instances in the background (the dynamic ones go with their
    /// nodes' drop; PERMANENT ones stay).
    fn drop(&mut self) {
        let Some(sessions) = lock(&self.sessions).clone() else {
            return;
        };
        let client = sessions.current();
        for slot in lock(&self.services).values() {
            if let Ok(slot) = slot.try_lock() {
                if let Some(Entry {
                    instance,
                    kept: Kept::Fixed { path },
                }) = slot.as_ref()
                {
                    if instance.service_type == ServiceType::Static {
                        let _ = client.delete_in_background(path, None);
                    }
                }
            }
        }
    }
}

/// Refuses a name or id that is not one path segment.
fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Error::InvalidArgument(format!(
            "{what} {name:?}: not a node name"
        )));
    }
    Ok(())
}

/// Creates a persistent instance node: parents as containers, a node in the way deleted
/// and made again (as Curator does, so that watchers fire).
async fn create_fixed(client: &Client, path: &str, data: &[u8], kind: ServiceType) -> Result<()> {
    let options = CreateOptions::new(kind.create_mode());
    let parent = zk_client::proto::path::parent(path).unwrap_or("/");
    let mut in_the_way = 0;
    loop {
        match client.create(path, data, &options).await {
            Ok(_) => return Ok(()),
            Err(ZkError::NoNode(_)) => make_parents(client, parent).await?,
            Err(ZkError::NodeExists(_)) if in_the_way < 3 => {
                in_the_way += 1;
                match client.delete(path, None).await {
                    Ok(()) | Err(ZkError::NoNode(_)) => {}
                    Err(e) if e.is_connection_loss() => wait_connected(client).await?,
                    Err(e) => return Err(zk(e)),
                }
            }
            Err(e) if e.is_connection_loss() => wait_connected(client).await?,
            Err(e) => return Err(zk(e)),
        }
    }
}

/// The sorted children of `path`; none when it does not exist.
async fn children(client: &Client, path: &str) -> Result<Vec<String>> {
    match client.get_children(path).await {
        Ok((mut names, _)) => {
            names.sort();
            Ok(names)
        }
        Err(ZkError::NoNode(_)) => Ok(Vec::new()),
        Err(e) => Err(zk(e)),
    }
}

/// Reads every instance under a service's node, skipping what is not one.
pub(crate) async fn query_instances(
    client: &Client,
    service: &str,
) -> Result<Vec<ServiceInstance>> {
    let names = children(client, service).await?;
    read_instances(client, service, &names).await
}

/// Reads the instances `names` under a service's node, skipping what is gone or not one.
pub(crate) async fn read_instances(
    client: &Client,
    service: &str,
    names: &[String],
) -> Result<Vec<ServiceInstance>> {
    // Every read is sent before the first is awaited.
    let reads: Vec<_> = names
        .iter()
        .map(|name| {
            let path = join(service, name);
            let read = client.get_data(&path);
            async move { (path, read.await) }
        })
        .collect();
    let mut out = Vec::new();
    for (path, read) in futures::future::join_all(reads).await {
        match read {
            Ok((data, _)) => out.extend(parse(&path, &data)),
            Err(ZkError::NoNode(_)) => {}
            Err(e) => return Err(zk(e)),
        }
    }
    Ok(out)
}

/// The instance in a node's data, or `None` (logged) when it is not one.
pub(crate) fn parse(path: &str, data: &[u8]) -> Option<ServiceInstance> {
    match ServiceInstance::from_json(data) {
        Ok(instance) => Some(instance),
        Err(_) => {
            tracing::warn!(%path, len = data.len(), "skipping a node that is not a service instance");
            None
        }
    }
}
