//! [`Capabilities`]: a process advertises the services it provides, and asks who
//! provides one, from a cache that only a watch makes stale.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use serde_json::Value;
use zk_client::{Client, Error as ZkError};

use super::service_discovery::read_instances;
use super::{ServiceDiscovery, ServiceInstance, lock};
use crate::error::{Result, zk};
use crate::protected::join;

/// What is known of one service: its providers, until a watch says they changed.
struct Known {
    providers: Vec<ServiceInstance>,
    stale: Arc<AtomicBool>,
    /// The task that waits for the watch.
    watch: tokio::task::AbortHandle,
}

impl Drop for Known {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

/// Who can do what, as `distributed-process-zookeeper` offers it to Cloud Haskell: a
/// process [`register`](Self::register)s under a service name (a DYNAMIC
/// [`ServiceInstance`] whose payload is its data), and
/// [`get_capable`](Self::get_capable) lists a service's providers.
///
/// The answer comes from a local cache: the first query of a service reads it and
/// leaves a watch on the service's children; later queries are answered without asking
/// the server until that watch fires, that is until a provider comes or goes (a
/// provider changing its data does not make the cache stale), or the session ends.
///
/// ```no_run
/// use serde_json::json;
/// use zk_recipes::discovery::Capabilities;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let capabilities = Capabilities::new(&client, "/capabilities");
/// capabilities.register("transcode", json!({"pid": "node-7"})).await?;
/// for provider in capabilities.get_capable("transcode").await? {
///     println!("{} offers {:?}", provider.id, provider.payload);
/// }
/// # Ok(()) }
/// ```
pub struct Capabilities {
    discovery: ServiceDiscovery,
    known: StdMutex<HashMap<String, Known>>,
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities")
            .field("discovery", &self.discovery)
            .field("cached", &lock(&self.known).len())
            .finish()
    }
}

impl Capabilities {
    /// Capabilities under `base`. Creates nothing until a service is registered.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let capabilities = zk_recipes::discovery::Capabilities::new(&client, "/capabilities");
    /// # drop(capabilities); }
    /// ```
    pub fn new(client: &Client, base: &str) -> Self {
        Self::with_discovery(ServiceDiscovery::new(client, base))
    }

    /// Capabilities on a discovery set up by the caller (with a session factory, say).
    ///
    /// ```no_run
    /// use zk_recipes::discovery::{Capabilities, ServiceDiscovery};
    /// # fn _example(client: zk_client::Client) {
    /// let discovery = ServiceDiscovery::new(&client, "/capabilities")
    ///     .session_factory(|| zk_client::Client::connect("127.0.0.1:2181"));
    /// let capabilities = Capabilities::with_discovery(discovery);
    /// # drop(capabilities); }
    /// ```
    pub fn with_discovery(discovery: ServiceDiscovery) -> Self {
        Self {
            discovery,
            known: StdMutex::new(HashMap::new()),
        }
    }

    /// The discovery the capabilities are registered with.
    ///
    /// ```no_run
    /// # fn _example(c: zk_recipes::discovery::Capabilities) {
    /// println!("{}", c.discovery().base_path());
    /// # }
    /// ```
    pub fn discovery(&self) -> &ServiceDiscovery {
        &self.discovery
    }

    /// Advertises this process as a provider of `service`, with `data` as the payload;
    /// returns the id of its registration.
    ///
    /// # Errors
    ///
    /// As [`ServiceDiscovery::register`].
    ///
    /// ```no_run
    /// # async fn _example(c: zk_recipes::discovery::Capabilities) -> zk_recipes::Result<()> {
    /// let id = c.register("resize", serde_json::json!({"max": 4096})).await?;
    /// # let _ = id; Ok(()) }
    /// ```
    pub async fn register(&self, service: &str, data: Value) -> Result<String> {
        let instance = ServiceInstance::new(service).payload(data);
        let id = instance.id.clone();
        self.discovery.register(instance).await?;
        Ok(id)
    }

    /// Stops advertising the registration `id`.
    ///
    /// # Errors
    ///
    /// As [`ServiceDiscovery::unregister`].
    ///
    /// ```no_run
    /// # async fn _example(c: zk_recipes::discovery::Capabilities, id: String) -> zk_recipes::Result<()> {
    /// c.unregister(&id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn unregister(&self, id: &str) -> Result<()> {
        self.discovery.unregister(id).await
    }

    /// The providers of `service` (ours included): from the cache while its watch has
    /// not fired, else read from the server (and watched again).
    ///
    /// # Errors
    ///
    /// The error of a read, when the cache is stale ([`Error::Zk`](crate::Error::Zk),
    /// [`Error::SessionEnded`](crate::Error::SessionEnded)).
    ///
    /// ```no_run
    /// # async fn _example(c: zk_recipes::discovery::Capabilities) -> zk_recipes::Result<()> {
    /// let providers = c.get_capable("resize").await?;
    /// # let _ = providers; Ok(()) }
    /// ```
    pub async fn get_capable(&self, service: &str) -> Result<Vec<ServiceInstance>> {
        if let Some(known) = lock(&self.known).get(service) {
            if !known.stale.load(Ordering::Acquire) {
                return Ok(known.providers.clone());
            }
        }
        let client = self.discovery.client();
        let base = self.discovery.base_path();
        let path = join(if base.is_empty() { "/" } else { base }, service);
        let (names, watcher) = loop {
            match client.get_children_and_watch(&path).await {
                Ok((names, _, watcher)) => break (names, watcher),
                Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(zk(e)),
            }
            // No provider yet: watch for the service's node to be made.
            match client.exists_and_watch(&path).await {
                Ok((None, watcher)) => break (Vec::new(), watcher),
                Ok((Some(_), _)) => {}
                Err(e) => return Err(zk(e)),
            }
        };
        let providers = read_instances(&client, &path, &names).await?;
        // Without a tokio runtime to wait for the watch in, nothing is cached.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Ok(providers);
        };
        let stale = Arc::new(AtomicBool::new(false));
        let flag = stale.clone();
        let watch = runtime
            .spawn(async move {
                // Fired, or the session ended: either way, read again next time.
                let _ = watcher.await;
                flag.store(true, Ordering::Release);
            })
            .abort_handle();
        lock(&self.known).insert(
            service.to_owned(),
            Known {
                providers: providers.clone(),
                stale,
                watch,
            },
        );
        Ok(providers)
    }

    /// Unregisters this process's services (as [`ServiceDiscovery::close`]).
    ///
    /// # Errors
    ///
    /// As [`ServiceDiscovery::close`].
    ///
    /// ```no_run
    /// # async fn _example(c: zk_recipes::discovery::Capabilities) -> zk_recipes::Result<()> {
    /// c.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<()> {
        lock(&self.known).clear();
        self.discovery.close().await
    }
}
