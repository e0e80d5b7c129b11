//! Expiring a session on the server, independently of any client library.
//!
//! A second connection resumes the victim session with its id and password, then closes it
//! (closeSession, opcode −11). The server deletes the session's ephemeral nodes at once and
//! the victim learns the session expired when it next talks to a server (measured:
//! ephemeral gone within milliseconds, `Expired` seen 0.11–0.12 s later). This is
//! Curator's `KillServerSession` and ZooKeeper's FAQ method, written on zk-proto's records
//! so that a bug in the client's own resume code cannot mask a test.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::net::Dialer;
use crate::raw::{RawSession, resume_request};

/// Expires session `session_id` through the server at `addr`.
///
/// # Errors
///
/// [`Error::SessionRefused`] when the session is already gone or the password is wrong;
/// [`Error::Io`], [`Error::Timeout`] or [`Error::Protocol`] otherwise.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use zk_testkit::{expire_session, RawSession};
///
/// # async fn _demo(addr: std::net::SocketAddr) -> zk_testkit::Result<()> {
/// let victim = RawSession::connect(addr, Duration::from_secs(10)).await?;
/// expire_session(addr, victim.session_id(), victim.password()).await?;
/// # Ok(()) }
/// ```
pub async fn expire_session(addr: SocketAddr, session_id: i64, password: &[u8]) -> Result<()> {
    expire_session_via(
        &Dialer::Direct,
        addr,
        session_id,
        password,
        Duration::from_secs(10),
    )
    .await
}

pub(crate) async fn expire_session_via(
    dialer: &Dialer,
    addr: SocketAddr,
    session_id: i64,
    password: &[u8],
    timeout: Duration,
) -> Result<()> {
    // The victim's client may resume its session in the instant between our resume and our
    // closeSession; the server then drops our connection before the close is read, and we
    // try again. Once the session is gone, a resume is refused: our close went through.
    const ATTEMPTS: u32 = 5;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let stream = dialer
            .connect(addr, timeout)
            .await
            .map_err(|e| Error::io(format!("connecting to {addr} to expire a session"), e))?;
        let _ = stream.set_nodelay(true);
        // The requested timeout only matters for the instant the hijacking connection lives.
        let request = resume_request(session_id, password, Duration::from_secs(4));
        let session = match RawSession::handshake(stream, request).await {
            Ok(session) => session,
            Err(Error::SessionRefused(_)) if attempt > 1 => return Ok(()),
            Err(e) => return Err(e),
        };
        if session.session_id() != session_id {
            return Err(Error::SessionRefused(session_id));
        }
        match session.close().await {
            Ok(()) => {
                tracing::info!(session = format!("0x{session_id:x}"), %addr, "session expired");
                return Ok(());
            }
            Err(e @ Error::Io { .. }) if attempt < ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "closing the resumed session failed; again");
            }
            Err(e) => return Err(e),
        }
    }
}
