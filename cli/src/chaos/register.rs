//! The `register` workload: a compare-and-set register on one znode, through the plain
//! client, checked for linearizability (`zk_testkit::check::register`).
//!
//! Every value written is new (one counter for the run), so a read names the write it saw.
//!
//! - **write**: `setData` without a version.
//! - **cas e→n**: `getData`; when the value is `e`, `setData` at the version read (a
//!   `BadVersion` there means a later write replaced `e` for good: the CAS failed); when it
//!   is not, a `check` of the version read, through the leader, confirms the value was
//!   still not `e` (a plain read may come from a follower that lags).
//! - **read**: `getData`, then the same `check`: a read is only recorded once the leader
//!   confirmed its version, since ZooKeeper's plain reads are not linearizable.
//!
//! A call whose reply is lost is recorded as unknown: it may or may not have happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use zk_client::{Client, CreateOptions, Error};
use zk_testkit::{History, Op, SplitMix64};

/// The register's node.
pub(crate) const PATH: &str = "/zk-chaos-register";

/// Creates the register with the value 0.
pub(crate) async fn setup(client: &Client) -> Result<(), Error> {
    match client
        .create(PATH, b"0", &CreateOptions::persistent())
        .await
    {
        Ok(_) => Ok(()),
        Err(Error::NodeExists(_)) => client.set_data(PATH, b"0", None).await.map(|_| ()),
        Err(e) => Err(e),
    }
}

/// One client's operations until `stop` or the end of its session.
pub(crate) async fn work(
    name: String,
    client: Client,
    stop: Arc<AtomicBool>,
    history: History,
    values: Arc<AtomicI64>,
    seed: u64,
) {
    let mut rng = SplitMix64::new(seed);
    let mut last_seen = 0i64;
    while !stop.load(Ordering::SeqCst) && !client.state().is_terminal() {
        let session = client.session_id();
        match rng.next_u64() % 10 {
            0..=3 => {
                let id = history.invoke(&name, session, Op::new("read", PATH));
                match confirmed_read(&client).await {
                    Ok(Some(v)) => {
                        last_seen = v;
                        history.ok(id, Some(v.to_string()));
                    }
                    Ok(None) => history.fail(id, "changed before the leader confirmed it"),
                    Err(e) => history.indeterminate(id, e.to_string()),
                }
            }
            4..=6 => {
                let v = values.fetch_add(1, Ordering::SeqCst);
                let id =
                    history.invoke(&name, session, Op::new("write", PATH).value(v.to_string()));
                match client.set_data(PATH, v.to_string().as_bytes(), None).await {
                    Ok(_) => {
                        last_seen = v;
                        history.ok(id, None);
                    }
                    Err(e) if definite(&e) => history.fail(id, e.to_string()),
                    Err(e) => history.indeterminate(id, e.to_string()),
                }
            }
            _ => {
                let new = values.fetch_add(1, Ordering::SeqCst);
                let op = Op::new("cas", PATH).value(format!("{last_seen} {new}"));
                let id = history.invoke(&name, session, op);
                match cas(&client, last_seen, new).await {
                    Ok(Some(true)) => {
                        last_seen = new;
                        history.ok(id, None);
                    }
                    Ok(Some(false)) => history.fail(id, "another value"),
                    // Nothing was written: an unknown outcome is the honest record.
                    Ok(None) => history.indeterminate(id, "gave up after 5 tries"),
                    Err(e) => history.indeterminate(id, e.to_string()),
                }
            }
        }
    }
}

/// Whether an error says for certain that a write was not applied.
fn definite(e: &Error) -> bool {
    !e.is_connection_loss() && !e.is_terminal()
}

fn parse(data: &[u8]) -> i64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(i64::MIN)
}

/// `getData`, confirmed by a `check` of its version through the leader; `None` when the
/// value changed in between.
async fn confirmed_read(client: &Client) -> Result<Option<i64>, Error> {
    let (data, stat) = client.get_data(PATH).await?;
    match client.multi().check(PATH, stat.version).commit().await {
        Ok(_) => Ok(Some(parse(&data))),
        Err(Error::BadVersion(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets `new` if the value is `expected`: `Some(true)` set, `Some(false)` the value was
/// another, `None` when five tries each saw the value change under them.
async fn cas(client: &Client, expected: i64, new: i64) -> Result<Option<bool>, Error> {
    for _ in 0..5 {
        let (data, stat) = client.get_data(PATH).await?;
        if parse(&data) == expected {
            return match client
                .set_data(PATH, new.to_string().as_bytes(), Some(stat.version))
                .await
            {
                Ok(_) => Ok(Some(true)),
                // Values are never written twice: a newer version holds another value.
                Err(Error::BadVersion(_)) => Ok(Some(false)),
                Err(e) => Err(e),
            };
        }
        match client.multi().check(PATH, stat.version).commit().await {
            Ok(_) => return Ok(Some(false)),
            Err(Error::BadVersion(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
