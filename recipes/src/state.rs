//! Curator's connection states (CONNECTED, SUSPENDED, RECONNECTED, LOST, READ_ONLY), derived
//! from zk-client's lossless state stream, and the policies that say when a holder (of a
//! lock, a lease, leadership) must consider what it holds lost.
//!
//! | zk-client session state | connection state |
//! |---|---|
//! | the first `Connected` | [`ConnectionState::Connected`] |
//! | `Disconnected` | [`ConnectionState::Suspended`] |
//! | `Connected` again | [`ConnectionState::Reconnected`] |
//! | `ConnectedReadOnly` | [`ConnectionState::ReadOnly`] |
//! | `Expired`, `Closed`, `AuthFailed` | [`ConnectionState::Lost`] |
//!
//! zk-client declares the session expired itself after 4/3 of the negotiated timeout
//! without a server, so `Lost` comes even when no server can say so.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use zk_client::{Client, SessionState, StateStream};

/// A connection state, as Curator names them.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The first connection of the client.
    Connected,
    /// The connection was lost; the session may still be alive. What is held may be lost.
    Suspended,
    /// Connected again after `Suspended` or `ReadOnly`, on the same session.
    Reconnected,
    /// The session ended (expired, closed, authentication failed): every ephemeral node of
    /// it is gone or going.
    Lost,
    /// Connected to a read-only server.
    ReadOnly,
}

impl ConnectionState {
    /// Whether requests can be served now.
    ///
    /// ```
    /// use zk_recipes::state::ConnectionState;
    /// assert!(ConnectionState::Reconnected.is_connected());
    /// assert!(!ConnectionState::Suspended.is_connected());
    /// ```
    pub const fn is_connected(self) -> bool {
        matches!(self, Self::Connected | Self::Reconnected | Self::ReadOnly)
    }
}

/// When a holder must consider what it holds lost.
///
/// - [`standard`](Self::standard) (the default, Curator's
///   `StandardConnectionStateErrorPolicy`): `Suspended` counts as lost, because while
///   disconnected the session may expire on the server and another client take over
///   without this one knowing.
/// - [`session`](Self::session) (`SessionConnectionStateErrorPolicy`): only `Lost`. The
///   holder keeps going through a disconnect, and can overlap with a new holder if the
///   server expired the session meanwhile (CURATOR-460): fence your writes.
///
/// A grace period makes the standard policy wait that long for the connection to come back
/// before it reports the loss. It is capped at the negotiated session timeout minus the
/// read timeout's share, so that it always ends before the server can expire the session:
/// at most a third of the session timeout.
///
/// ```
/// use std::time::Duration;
/// use zk_recipes::state::{ConnectionState, LossPolicy};
/// let policy = LossPolicy::standard().grace(Duration::from_millis(500));
/// assert!(policy.counts_as_lost(ConnectionState::Suspended));
/// assert!(!LossPolicy::session().counts_as_lost(ConnectionState::Suspended));
/// assert!(LossPolicy::session().counts_as_lost(ConnectionState::Lost));
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct LossPolicy {
    suspended_is_lost: bool,
    grace: Duration,
}

impl Default for LossPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

impl LossPolicy {
    /// `Suspended` counts as lost (the default).
    ///
    /// ```
    /// assert_eq!(zk_recipes::state::LossPolicy::standard(), Default::default());
    /// ```
    pub const fn standard() -> Self {
        Self {
            suspended_is_lost: true,
            grace: Duration::ZERO,
        }
    }

    /// Only `Lost` counts.
    ///
    /// ```
    /// let policy = zk_recipes::state::LossPolicy::session();
    /// # let _ = policy;
    /// ```
    pub const fn session() -> Self {
        Self {
            suspended_is_lost: false,
            grace: Duration::ZERO,
        }
    }

    /// How long a suspension may last before it counts as lost (standard policy only).
    /// Default 0. Capped, when used, at a third of the negotiated session timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = zk_recipes::state::LossPolicy::standard().grace(Duration::from_secs(1));
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub const fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Whether `state` counts as lost, before any grace period.
    ///
    /// ```
    /// use zk_recipes::state::{ConnectionState, LossPolicy};
    /// assert!(!LossPolicy::standard().counts_as_lost(ConnectionState::Reconnected));
    /// ```
    pub const fn counts_as_lost(&self, state: ConnectionState) -> bool {
        match state {
            ConnectionState::Lost => true,
            ConnectionState::Suspended => self.suspended_is_lost,
            _ => false,
        }
    }

    /// The grace period for a session of `session_timeout`.
    pub(crate) fn grace_for(&self, session_timeout: Duration) -> Duration {
        self.grace.min(session_timeout / 3)
    }

    /// Resolves when the session of `client` is lost under this policy.
    pub(crate) async fn lost(&self, client: &Client) -> ConnectionState {
        let mut states = client.state_watcher();
        loop {
            let state = states.current();
            if state.is_terminal() {
                return ConnectionState::Lost;
            }
            if state == SessionState::Disconnected && self.suspended_is_lost {
                let grace = self.grace_for(client.session_timeout());
                let back = states.wait_for(|s| s.is_connected() || s.is_terminal());
                match tokio::time::timeout(grace, back).await {
                    Ok(Ok(s)) if s.is_connected() => continue,
                    Ok(Ok(_)) => return ConnectionState::Lost,
                    Ok(Err(_)) => return ConnectionState::Lost,
                    Err(_) => return ConnectionState::Suspended,
                }
            }
            if states.changed().await.is_err() {
                return ConnectionState::Lost;
            }
        }
    }
}

/// The connection states of a client, as a stream; see the [module docs](self).
///
/// It starts with the state of the moment (nothing before the first connection) and never
/// skips a transition. It ends when the client's task ends.
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(client: zk_client::Client) {
/// let mut states = zk_recipes::state::ConnectionStates::new(&client);
/// while let Some(state) = states.next().await {
///     println!("{state:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct ConnectionStates {
    inner: StateStream,
    connected_before: bool,
    last: Option<ConnectionState>,
}

impl ConnectionStates {
    /// The states of `client` from now on.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let states = zk_recipes::state::ConnectionStates::new(&client);
    /// # drop(states); }
    /// ```
    pub fn new(client: &Client) -> Self {
        Self {
            inner: client.state_stream(),
            connected_before: false,
            last: None,
        }
    }

    /// The connection state for a session state, or `None` when it adds nothing.
    fn map(&mut self, state: SessionState) -> Option<ConnectionState> {
        let mapped = match state {
            SessionState::Connected if self.connected_before => ConnectionState::Reconnected,
            SessionState::Connected => ConnectionState::Connected,
            SessionState::ConnectedReadOnly => ConnectionState::ReadOnly,
            SessionState::Disconnected => ConnectionState::Suspended,
            s if s.is_terminal() => ConnectionState::Lost,
            _ => return None,
        };
        if state.is_connected() {
            self.connected_before = true;
        }
        (self.last != Some(mapped)).then(|| {
            self.last = Some(mapped);
            mapped
        })
    }
}

impl Stream for ConnectionStates {
    type Item = ConnectionState;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(state)) => {
                    if let Some(mapped) = self.map(state) {
                        return Poll::Ready(Some(mapped));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_period_ends_before_the_server_can_expire_the_session() {
        let policy = LossPolicy::standard().grace(Duration::from_secs(60));
        assert_eq!(
            policy.grace_for(Duration::from_secs(9)),
            Duration::from_secs(3)
        );
        let short = LossPolicy::standard().grace(Duration::from_millis(100));
        assert_eq!(
            short.grace_for(Duration::from_secs(9)),
            Duration::from_millis(100)
        );
    }
}
