//! Service discovery, wire-compatible with Curator's `curator-x-discovery`: processes
//! register [`ServiceInstance`]s with a [`ServiceDiscovery`], and clients find them by
//! query, through a [`ServiceCache`] that follows one service, or through a
//! [`ServiceProvider`] that picks one instance by a [`ProviderStrategy`].
//! [`Capabilities`] is a lighter shape of the same: a process advertises what it can do,
//! and asks who can, from a cache that goes to the server only when a provider comes or
//! goes.
//!
//! | recipe | nodes | data |
//! |---|---|---|
//! | [`ServiceDiscovery`] | `<base>/<name>/<id>`: E (DYNAMIC), ES (DYNAMIC_SEQUENTIAL), P (STATIC, PERMANENT); parents C | the instance's JSON, as Curator writes it |
//! | [`ServiceCache`], [`ServiceProvider`] | reads `<base>/<name>/*` | |
//! | [`Capabilities`] | `<base>/<service>/<id>` (E), a DYNAMIC instance | the JSON, the data as payload |
//!
//! The JSON (Curator's `JsonInstanceSerializer`):
//!
//! ```text
//! {"name":"my-service","id":"instance-1","address":"10.0.0.5","port":8080,"sslPort":8443,
//!  "payload":{"@class":"java.util.Collections$SingletonMap","k":"v"},
//!  "registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC",
//!  "uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},...]}}
//! ```
//!
//! It is written without `"enabled"` and without `"@class"` unless a [`JsonFormat`] asks
//! for them, and read tolerantly: unknown keys are ignored, a missing `enabled` is
//! `true`, a payload's `"@class"` is dropped, and a node whose data is not an instance
//! is skipped, never an error of the query or the cache (CURATOR-574).
//!
//! ```no_run
//! use zk_recipes::discovery::{ServiceDiscovery, ServiceInstance, ServiceProvider, UriSpec};
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let discovery = ServiceDiscovery::new(&client, "/services");
//! let me = ServiceInstance::new("orders")
//!     .address("10.0.0.5")
//!     .port(8080)
//!     .uri_spec(UriSpec::parse("{scheme}://{address}:{port}")?);
//! discovery.register(me).await?;
//!
//! let provider = ServiceProvider::builder(&client, "/services", "orders").start()?;
//! provider.initialized().await?;
//! if let Some(instance) = provider.get_instance() {
//!     println!("calling {:?}", instance.build_uri_spec());
//! }
//! # Ok(()) }
//! ```

use std::sync::Mutex as StdMutex;

mod capabilities;
mod instance;
mod provider;
mod service_cache;
mod service_discovery;
mod sessions;
mod strategy;
mod uri_spec;

pub use capabilities::Capabilities;
pub use instance::{JsonFormat, ServiceInstance, ServiceType};
pub use provider::{DownInstancePolicy, ServiceProvider, ServiceProviderBuilder};
pub use service_cache::{ServiceCache, ServiceCacheEvent};
pub use service_discovery::ServiceDiscovery;
pub use strategy::{ProviderStrategy, RandomStrategy, RoundRobinStrategy, StickyStrategy};
pub use uri_spec::{UriSpec, UriSpecPart};

/// The std mutex's value, whatever a panicking holder left.
fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn the_recipes_can_be_shared_across_tasks() {
        send_sync::<ServiceDiscovery>();
        send_sync::<ServiceCache>();
        send_sync::<ServiceProvider>();
        send_sync::<Capabilities>();
        send_sync::<ServiceInstance>();
    }
}
