//! What every story of the demo uses: its deadlines, its step results, connecting, and
//! checked claims.

use std::time::Duration;

use zk_client::Client;

use super::timeline::Timeline;

/// The session timeout unless `--timeout` says otherwise: short, so a failover is quick.
pub(super) const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// The longest wait for a watch event.
pub(super) const EVENT_WAIT: Duration = Duration::from_secs(10);
/// The deadline of every request (requests wait through a failover).
pub(super) const REQUEST_DEADLINE: Duration = Duration::from_secs(20);

/// A failed step: what went wrong.
pub(super) type Step<T = ()> = Result<T, String>;

/// A session on `hosts` with the demo's request deadline.
pub(super) async fn connect(hosts: &str, session_timeout: Duration) -> Step<Client> {
    let client = Client::builder()
        .session_timeout(session_timeout)
        .request_timeout(REQUEST_DEADLINE)
        .connect(hosts)
        .await
        .map_err(|e| format!("connecting to {hosts}: {}", crate::error::describe(&e)))?;
    Ok(client)
}

/// Turns a client error into a step failure.
pub(super) fn zk(e: zk_client::Error) -> String {
    crate::error::describe(&e)
}

/// Prints a check, or fails the step.
pub(super) fn expect(ok: bool, claim: String, tl: &Timeline) -> Step {
    if ok {
        tl.check(claim);
        Ok(())
    } else {
        Err(format!("not so: {claim}"))
    }
}
