//! [`Counter`]: kazoo's `Counter`, in its ASCII format or, with `support_curator`, in
//! Curator's `SharedCount` format.

use zk_client::{Client, CreateOptions, Error as ZkError};

use super::RetryPolicy;
use super::format::{
    ASCII, I32_BE, ascii_from_bytes, ascii_to_bytes, corrupt, i32_from_bytes, i32_to_bytes,
};
use crate::error::{Error, Result, zk};
use crate::protected::wait_connected;

/// How a [`Counter`] stores its value.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum CounterFormat {
    /// ASCII decimal, as kazoo's default `Counter` writes it (`repr(value)`): `42`, `-3`.
    /// Not readable by Curator.
    #[default]
    Ascii,
    /// 4 bytes big-endian, as kazoo's `Counter(support_curator=True)` writes it: Curator's
    /// `SharedCount` (and `DistributedAtomicInteger`) format, so the node can be shared
    /// with them. Values must fit an `i32`.
    Curator,
}

/// What [`Counter::add`] or [`Counter::sub`] did: the value before and after (kazoo's
/// `pre_value` and `post_value`), and the tries it took.
///
/// ```no_run
/// # async fn _example(counter: zk_recipes::counter::Counter) -> zk_recipes::Result<()> {
/// let change = counter.add(2).await?;
/// assert_eq!(change.post_value, change.pre_value + 2);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct CounterChange {
    /// The value the change was made from.
    pub pre_value: i64,
    /// The value written.
    pub post_value: i64,
    /// The tries: 1 when no other writer came between the read and the write.
    pub tries: u32,
}

/// A counter shared with kazoo's `Counter` recipe: read the value and its version, write
/// the sum over that version, try again (under a [`RetryPolicy`]) when another writer came
/// first.
///
/// The node is made, with empty data and persistent parents (kazoo's `ensure_path`), when
/// a call finds it missing; empty data reads as the [`default_value`](Self::default_value)
/// (0). The default [`CounterFormat::Ascii`] is kazoo's default; with
/// [`support_curator`](Self::support_curator) the value is 4 bytes big-endian and the node
/// can be shared with Curator's `SharedCount` and kazoo's
/// `Counter(support_curator=True)`. Only integers are supported (kazoo's counter also takes
/// floats).
///
/// ```no_run
/// use zk_recipes::counter::Counter;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let counter = Counter::new(&client, "/app/hits");
/// counter.add(2).await?;
/// let change = counter.sub(1).await?;
/// println!("{} -> {}", change.pre_value, change.post_value);
/// println!("now {}", counter.value().await?);
///
/// let shared_with_curator = Counter::new(&client, "/app/visits").support_curator(true);
/// shared_with_curator.add(1).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Counter {
    client: Client,
    path: String,
    format: CounterFormat,
    default: i64,
    retry: RetryPolicy,
}

impl Counter {
    /// A counter at `path`, ASCII, default 0; creates nothing yet.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let counter = zk_recipes::counter::Counter::new(&client, "/app/hits");
    /// # drop(counter); }
    /// ```
    pub fn new(client: &Client, path: &str) -> Self {
        Self {
            client: client.clone(),
            path: path.to_owned(),
            format: CounterFormat::Ascii,
            default: 0,
            retry: RetryPolicy::default(),
        }
    }

    /// kazoo's `support_curator`: `true` stores the value as 4 bytes big-endian
    /// ([`CounterFormat::Curator`]), `false` as ASCII (the default).
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::counter::{Counter, CounterFormat};
    /// let counter = Counter::new(&client, "/app/visits").support_curator(true);
    /// assert_eq!(counter.format(), CounterFormat::Curator);
    /// # }
    /// ```
    #[must_use]
    pub fn support_curator(mut self, support: bool) -> Self {
        self.format = if support {
            CounterFormat::Curator
        } else {
            CounterFormat::Ascii
        };
        self
    }

    /// The value empty data stands for (kazoo's `default`). Default 0.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let counter = zk_recipes::counter::Counter::new(&client, "/c").default_value(100);
    /// # drop(counter); }
    /// ```
    #[must_use]
    pub fn default_value(mut self, value: i64) -> Self {
        self.default = value;
        self
    }

    /// How many tries a change makes when other writers come first, and how far apart.
    /// Default [`RetryPolicy::default`].
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::counter::{Counter, RetryPolicy};
    /// let counter = Counter::new(&client, "/c").retry_policy(RetryPolicy::new(100));
    /// # drop(counter); }
    /// ```
    #[must_use]
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The format values are stored in.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// use zk_recipes::counter::{Counter, CounterFormat};
    /// assert_eq!(Counter::new(&client, "/c").format(), CounterFormat::Ascii);
    /// # }
    /// ```
    pub fn format(&self) -> CounterFormat {
        self.format
    }

    /// The node's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// assert_eq!(zk_recipes::counter::Counter::new(&client, "/c").path(), "/c");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The current value (kazoo's `value`), making the node if it is missing.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] when the node holds something else than the format's integer;
    /// [`Error::SessionEnded`]; the ZooKeeper errors retrying cannot help. Connection
    /// losses are waited out.
    ///
    /// ```no_run
    /// # async fn _example(counter: zk_recipes::counter::Counter) -> zk_recipes::Result<()> {
    /// println!("{}", counter.value().await?);
    /// # Ok(()) }
    /// ```
    pub async fn value(&self) -> Result<i64> {
        Ok(self.read().await?.0)
    }

    /// Adds `delta` (kazoo's `counter += delta`).
    ///
    /// # Errors
    ///
    /// [`Error::RetriesExhausted`] when other writers came first at every try;
    /// [`Error::InvalidArgument`] when the sum overflows (an `i64`, or an `i32` in the
    /// Curator format); [`Error::Zk`] with `ConnectionLoss` when the connection dropped
    /// before the write's reply (the change may or may not have been applied, so it is not
    /// tried again); otherwise as [`value`](Self::value).
    ///
    /// ```no_run
    /// # async fn _example(counter: zk_recipes::counter::Counter) -> zk_recipes::Result<()> {
    /// let change = counter.add(5).await?;
    /// println!("{} -> {}", change.pre_value, change.post_value);
    /// # Ok(()) }
    /// ```
    pub async fn add(&self, delta: i64) -> Result<CounterChange> {
        let max_tries = self.retry.max_tries();
        for tried in 1..=max_tries {
            let (pre, version) = self.read().await?;
            let post = pre.checked_add(delta).ok_or_else(|| overflow(pre, delta))?;
            let data = self.encode(post)?;
            match self.client.set_data(&self.path, &data, Some(version)).await {
                Ok(_) => {
                    return Ok(CounterChange {
                        pre_value: pre,
                        post_value: post,
                        tries: tried,
                    });
                }
                Err(ZkError::BadVersion(_) | ZkError::NoNode(_)) if tried < max_tries => {
                    tokio::time::sleep(self.retry.delay(tried)).await;
                }
                Err(ZkError::BadVersion(_) | ZkError::NoNode(_)) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        Err(Error::RetriesExhausted(max_tries))
    }

    /// Subtracts `delta` (kazoo's `counter -= delta`).
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    ///
    /// ```no_run
    /// # async fn _example(counter: zk_recipes::counter::Counter) -> zk_recipes::Result<()> {
    /// counter.sub(1).await?;
    /// # Ok(()) }
    /// ```
    pub async fn sub(&self, delta: i64) -> Result<CounterChange> {
        let negated = delta
            .checked_neg()
            .ok_or_else(|| Error::InvalidArgument(format!("cannot subtract {delta}")))?;
        self.add(negated).await
    }

    /// The value and the node's version, making the node when it is missing.
    async fn read(&self) -> Result<(i64, i32)> {
        loop {
            match self.client.get_data(&self.path).await {
                Ok((data, stat)) => {
                    let value = if data.is_empty() {
                        self.default
                    } else {
                        match self.format {
                            CounterFormat::Ascii => ascii_from_bytes(&data),
                            CounterFormat::Curator => i32_from_bytes(&data).map(i64::from),
                        }
                        .ok_or_else(|| corrupt(&self.path, self.expected(), &data))?
                    };
                    return Ok((value, stat.version));
                }
                Err(ZkError::NoNode(_)) => {
                    let made = self
                        .client
                        .create_all(&self.path, b"", &CreateOptions::persistent())
                        .await;
                    match made {
                        Ok(_) => {}
                        Err(e) if e.is_connection_loss() => wait_connected(&self.client).await?,
                        Err(e) => return Err(zk(e)),
                    }
                }
                Err(e) if e.is_connection_loss() => wait_connected(&self.client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    fn expected(&self) -> &'static str {
        match self.format {
            CounterFormat::Ascii => ASCII,
            CounterFormat::Curator => I32_BE,
        }
    }

    fn encode(&self, value: i64) -> Result<bytes::Bytes> {
        match self.format {
            CounterFormat::Ascii => Ok(ascii_to_bytes(value)),
            CounterFormat::Curator => i32::try_from(value).map(i32_to_bytes).map_err(|_| {
                Error::InvalidArgument(format!(
                    "{value} does not fit the 4 bytes of the Curator format"
                ))
            }),
        }
    }
}

fn overflow(value: i64, delta: i64) -> Error {
    Error::InvalidArgument(format!("{value} + {delta} overflows"))
}
