//! The session a discovery works on, and the one that follows when it ends: one new
//! session shared by every registration, however many ask for it.

use std::sync::{Arc, Mutex as StdMutex};

use futures::future::BoxFuture;
use zk_client::Client;

use super::lock;
use crate::error::{Error, Result, zk};
use crate::node::PersistentNode;

/// Makes a new session once the current one has ended.
pub(crate) type Factory =
    Arc<dyn Fn() -> BoxFuture<'static, zk_client::Result<Client>> + Send + Sync>;

/// The current session and the factory of the next.
pub(crate) struct Sessions {
    current: StdMutex<Client>,
    /// Whether `current` was made by the factory (and so is ours to close).
    made: StdMutex<bool>,
    factory: Option<Factory>,
    /// Held while the factory runs, so that it runs once per ended session.
    making: tokio::sync::Mutex<()>,
}

impl Sessions {
    pub(crate) fn new(client: Client, factory: Option<Factory>) -> Arc<Self> {
        Arc::new(Self {
            current: StdMutex::new(client),
            made: StdMutex::new(false),
            factory,
            making: tokio::sync::Mutex::new(()),
        })
    }

    /// The session now, ended or not.
    pub(crate) fn current(&self) -> Client {
        lock(&self.current).clone()
    }

    /// A live session: the current one, or a new one from the factory once it has ended.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`] when the session has ended and there is no factory, or the
    /// factory's error.
    pub(crate) async fn live(&self) -> Result<Client> {
        let current = self.current();
        if !current.state().is_terminal() {
            return Ok(current);
        }
        let Some(factory) = self.factory.clone() else {
            let context = zk_client::ErrorContext::new("discovery", None);
            return Err(Error::SessionEnded(zk_client::Error::SessionExpired(
                context,
            )));
        };
        let _making = self.making.lock().await;
        let current = self.current();
        if !current.state().is_terminal() {
            return Ok(current);
        }
        let client = factory().await.map_err(zk)?;
        *lock(&self.current) = client.clone();
        *lock(&self.made) = true;
        Ok(client)
    }

    /// Gives `node` the shared factory: its new session is the one every other
    /// registration gets.
    pub(crate) fn factory_for(self: &Arc<Self>, node: PersistentNode) -> PersistentNode {
        if self.factory.is_none() {
            return node;
        }
        let sessions = Arc::downgrade(self);
        node.session_factory(move || {
            let sessions = sessions.clone();
            async move {
                match sessions.upgrade() {
                    Some(sessions) => sessions.live().await.map_err(|e| match e {
                        Error::Zk(e) | Error::SessionEnded(e) => e,
                        _ => closed(),
                    }),
                    None => Err(closed()),
                }
            }
        })
    }

    /// Closes the session if the factory made it.
    pub(crate) async fn close(&self) {
        let made = std::mem::take(&mut *lock(&self.made));
        if made {
            self.current().close().await;
        }
    }
}

/// The discovery is gone.
fn closed() -> zk_client::Error {
    zk_client::Error::Closed(zk_client::ErrorContext::new("discovery", None))
}
