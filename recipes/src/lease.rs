//! Time-based leases with kazoo's `NonBlockingLease` and `MultiNonBlockingLease` layout:
//! `<path>/lease_holder`, a persistent node whose data is
//! `{"version": 1, "holder": "<id>", "end": "<UTC, %Y-%m-%dT%H:%M:%S>"}`, changed only
//! under a kazoo-layout lock at `<path>` (so kazoo processes and ours share leases).
//!
//! A lease is not a lock: it is held until its end time, by the clocks of the clients
//! that read it. **Clock skew between clients shortens or stretches a lease by the same
//! amount**, and a holder that is paused past its end can still act; use it where a rare
//! overlap is acceptable (the run-once-an-hour job kazoo's docs describe), and a
//! [`Mutex`] with fencing where it is not.
//!
//! ```no_run
//! use std::time::Duration;
//! use zk_recipes::lease::Lease;
//!
//! # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
//! let hourly = Lease::new(&client, "/leases/hourly-cleanup", Duration::from_secs(70 * 60))
//!     .holder("cleanup on host-a");
//! if let Some(held) = hourly.try_obtain().await? {
//!     println!("running the cleanup until {:?}", held.end);
//! }
//! # Ok(()) }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zk_client::{Client, CreateOptions, Error as ZkError};

use crate::error::{Error, Result, zk};
use crate::lock::{Compat, Mutex};

/// The node under a lease path that holds the lease.
const HOLDER: &str = "lease_holder";
/// kazoo's storage format version.
const VERSION: u64 = 1;

/// A lease obtained: who holds it and until when.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct Held {
    /// The holder's identity.
    pub holder: String,
    /// The end of the lease (whole seconds, UTC), by this client's clock.
    pub end: SystemTime,
}

/// A time-based lease at one path (kazoo's `NonBlockingLease`); see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Lease {
    client: Client,
    path: String,
    duration: Duration,
    holder: String,
}

impl Lease {
    /// A lease at `path`, taken for `duration` at a time. The holder defaults to the host
    /// name, as kazoo's does.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let lease = zk_recipes::lease::Lease::new(&client, "/leases/job", std::time::Duration::from_secs(60));
    /// # drop(lease); }
    /// ```
    pub fn new(client: &Client, path: &str, duration: Duration) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        Self {
            client: client.clone(),
            path: path.to_owned(),
            duration,
            holder: host,
        }
    }

    /// Who takes the lease: the same holder renews its own lease. Default: the host name.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let lease = zk_recipes::lease::Lease::new(&client, "/leases/job", std::time::Duration::from_secs(60))
    ///     .holder("worker-7");
    /// # drop(lease); }
    /// ```
    #[must_use]
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// Takes the lease if nobody else holds it (or renews ours), without waiting for it:
    /// `None` when another holder's lease has not ended, or when the node was written by a
    /// newer format. Waits only for the short lock under which the lease is written.
    ///
    /// # Errors
    ///
    /// The ZooKeeper errors of the reads and writes; [`Error::InvalidArgument`] when the
    /// node's data is not a lease.
    ///
    /// ```no_run
    /// # async fn _example(lease: zk_recipes::lease::Lease) -> zk_recipes::Result<()> {
    /// match lease.try_obtain().await? {
    ///     Some(held) => println!("ours until {:?}", held.end),
    ///     None => println!("someone else's"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn try_obtain(&self) -> Result<Option<Held>> {
        self.client
            .create_all(&self.path, b"", &CreateOptions::persistent())
            .await
            .map_err(zk)?;
        let lock = Mutex::new(&self.client, &self.path)
            .compat(Compat::Kazoo)
            .data(self.holder.clone());
        let guard = lock.acquire().await?;
        let obtained = self.under_lock().await;
        guard.release().await?;
        obtained
    }

    async fn under_lock(&self) -> Result<Option<Held>> {
        let node = format!("{}/{HOLDER}", self.path.trim_end_matches('/'));
        let now = SystemTime::now();
        let version = match self.client.get_data(&node).await {
            Ok((data, stat)) => {
                let current = decode(&data).ok_or_else(|| {
                    Error::InvalidArgument(format!("{node} does not hold a lease"))
                })?;
                if current.version != VERSION {
                    return Ok(None);
                }
                if current.holder != self.holder && now < current.end {
                    return Ok(None);
                }
                Some(stat.version)
            }
            Err(ZkError::NoNode(_)) => None,
            Err(e) => return Err(zk(e)),
        };
        let end = now + self.duration;
        let data = encode(&self.holder, end);
        let mut write = self.client.multi();
        if let Some(version) = version {
            write = write.delete(&node, Some(version));
        }
        write
            .create(&node, &data, &CreateOptions::persistent())
            .commit()
            .await
            .map_err(zk)?;
        Ok(Some(Held {
            holder: self.holder.clone(),
            end: to_seconds(end),
        }))
    }
}

/// One of `count` leases under a path (kazoo's `MultiNonBlockingLease`): the leases
/// `<path>/0` … `<path>/{count-1}`, tried in order.
///
/// ```no_run
/// use std::time::Duration;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let two_hosts = zk_recipes::lease::MultiLease::new(&client, "/leases/report", 2, Duration::from_secs(600))
///     .holder("host-a");
/// if let Some((slot, held)) = two_hosts.try_obtain().await? {
///     println!("slot {slot} until {:?}", held.end);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MultiLease {
    path: String,
    count: usize,
    lease: Lease,
}

impl MultiLease {
    /// `count` leases under `path`.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let l = zk_recipes::lease::MultiLease::new(&client, "/leases/r", 2, std::time::Duration::from_secs(60));
    /// # drop(l); }
    /// ```
    pub fn new(client: &Client, path: &str, count: usize, duration: Duration) -> Self {
        Self {
            path: path.trim_end_matches('/').to_owned(),
            count,
            lease: Lease::new(client, path, duration),
        }
    }

    /// Who takes a lease. Default: the host name.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let l = zk_recipes::lease::MultiLease::new(&client, "/leases/r", 2, std::time::Duration::from_secs(60))
    ///     .holder("host-a");
    /// # drop(l); }
    /// ```
    #[must_use]
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.lease = self.lease.holder(holder);
        self
    }

    /// Takes the first lease that is free (or ours): its slot and end, or `None` when all
    /// are held by others.
    ///
    /// # Errors
    ///
    /// As [`Lease::try_obtain`].
    ///
    /// ```no_run
    /// # async fn _example(l: zk_recipes::lease::MultiLease) -> zk_recipes::Result<()> {
    /// println!("{:?}", l.try_obtain().await?);
    /// # Ok(()) }
    /// ```
    pub async fn try_obtain(&self) -> Result<Option<(usize, Held)>> {
        for slot in 0..self.count {
            let lease = Lease {
                path: format!("{}/{slot}", self.path),
                ..self.lease.clone()
            };
            if let Some(held) = lease.try_obtain().await? {
                return Ok(Some((slot, held)));
            }
        }
        Ok(None)
    }
}

/// A lease node's contents.
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    version: u64,
    holder: String,
    end: SystemTime,
}

/// kazoo's bytes: `json.dumps` of the three fields, in its order and spacing.
fn encode(holder: &str, end: SystemTime) -> Vec<u8> {
    let holder = serde_json::to_string(holder).unwrap_or_else(|_| "\"\"".to_owned());
    format!(
        "{{\"version\": {VERSION}, \"holder\": {holder}, \"end\": \"{}\"}}",
        format_utc(end)
    )
    .into_bytes()
}

fn decode(data: &[u8]) -> Option<Stored> {
    let value: serde_json::Value = serde_json::from_slice(data).ok()?;
    Some(Stored {
        version: value.get("version")?.as_u64()?,
        holder: value.get("holder")?.as_str()?.to_owned(),
        end: parse_utc(value.get("end")?.as_str()?)?,
    })
}

fn to_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `%Y-%m-%dT%H:%M:%S` in UTC (days to a civil date: Howard Hinnant's algorithm).
fn format_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The inverse of [`format_utc`].
fn parse_utc(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.splitn(3, ':').map(str::parse::<u64>);
    let (h, m, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(days * 86_400 + h * 3600 + m * 60 + s))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn kazoos_bytes_and_dates() {
        let end = UNIX_EPOCH + Duration::from_secs(1_796_601_600 + 3723);
        assert_eq!(format_utc(end), "2026-12-07T01:02:03");
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01T00:00:00");
        assert_eq!(
            format_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00"
        );
        let bytes = encode("host \"a\"", end);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"version": 1, "holder": "host \"a\"", "end": "2026-12-07T01:02:03"}"#
        );
        let stored = decode(&bytes).unwrap();
        assert_eq!(
            (stored.version, stored.holder.as_str(), stored.end),
            (1, "host \"a\"", end)
        );
        assert!(decode(b"not json").is_none());
        assert!(parse_utc("2026-13-01T00:00:00").is_none());
    }

    proptest! {
        #[test]
        fn dates_round_trip(secs in 0u64..253_402_300_799) {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            prop_assert_eq!(parse_utc(&format_utc(t)), Some(t));
        }
    }
}
