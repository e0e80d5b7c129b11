//! The SASL hook: a mechanism runs its token exchange (op 102, ordinary xids) on every
//! connection, after the handshake and before anything else is sent.
//!
//! The mechanisms themselves (DIGEST-MD5 needs MD5 and randomness) live in the client; the
//! session only carries their tokens.

use std::fmt;

/// A SASL mechanism: starts one exchange per connection.
pub trait SaslMechanism: fmt::Debug + Send + Sync {
    /// A new exchange, for a new connection.
    fn start(&self) -> Box<dyn SaslExchange>;
}

/// One SASL exchange.
///
/// ```
/// use zk_proto::session::{SaslError, SaslExchange};
///
/// /// Sends one token and accepts whatever the server answers.
/// #[derive(Debug)]
/// struct Plain(Vec<u8>);
///
/// impl SaslExchange for Plain {
///     fn initial(&mut self) -> Vec<u8> {
///         self.0.clone()
///     }
///     fn step(&mut self, _challenge: &[u8]) -> Result<Option<Vec<u8>>, SaslError> {
///         Ok(None)
///     }
/// }
/// let mut exchange = Plain(b"\0bob\0secret".to_vec());
/// assert_eq!(exchange.step(b""), Ok(None));
/// ```
pub trait SaslExchange: fmt::Debug + Send {
    /// The first token sent (empty for mechanisms without an initial response).
    fn initial(&mut self) -> Vec<u8>;

    /// The answer to the server's token, or `None` once the exchange is complete.
    ///
    /// # Errors
    ///
    /// [`SaslError`] when the server's token is malformed or fails verification; the
    /// session then ends with `AuthFailed`.
    fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, SaslError>;
}

/// Why a SASL exchange failed on the client side.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("sasl: {0}")]
pub struct SaslError(pub String);
