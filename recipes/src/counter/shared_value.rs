//! [`SharedValue`]: Curator's `SharedValue`, a value every client of a path sees, kept
//! current by a watch; and the machinery [`SharedCount`](super::SharedCount) shares with
//! it ([`Versioned`], [`ValueChanges`]).

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::sync::{mpsc, watch};
use tracing::Instrument as _;
use zk_client::{Client, CreateOptions, Error as ZkError, Stat};

use super::format::corrupt;
use crate::error::{Error, Result, zk};
use crate::protected::{make_parents, wait_connected};

/// A value with the version of the node it was read from (or written to) and the zxid of
/// that change.
///
/// `version` is what [`try_set`](SharedValue::try_set) checks; `mzxid` orders values: it
/// only grows, while `version` goes back to 0 when the node is deleted and made again,
/// and wraps negative after 2³¹ writes (CURATOR-688). Before the first read the value is
/// the seed, with version and mzxid -1.
///
/// ```
/// # fn _example(value: zk_recipes::counter::Versioned<i32>) {
/// println!("{} at version {} (zxid {:#x})", value.value, value.version, value.mzxid);
/// # }
/// ```
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// The node's data version when the value was read or written.
    pub version: i32,
    /// The zxid of the node's last data change (its `mzxid`).
    pub mzxid: i64,
}

impl<T> Versioned<T> {
    /// A value not read from the server: version and mzxid -1.
    fn unread(value: T) -> Self {
        Self {
            value,
            version: -1,
            mzxid: -1,
        }
    }

    fn at(value: T, stat: &Stat) -> Self {
        Self {
            value,
            version: stat.version,
            mzxid: stat.mzxid,
        }
    }

    /// Whether this value is newer than `latest`: by mzxid, which only grows, never by
    /// version, which restarts and wraps (CURATOR-688).
    fn newer_than(&self, latest: &Self) -> bool {
        self.mzxid > latest.mzxid
    }
}

/// The new values of a shared value, as a [`Stream`], in the order the server made them
/// (by mzxid), each once, with the latest one at hand ([`latest`](Self::latest)).
///
/// It starts with the value of the moment when the shared value has been read; then it
/// yields every newer value its watch, a re-read after a reconnect, or a write of this
/// handle brings. Changes in quick succession can come as one (a watch reports that the
/// node changed, and the read that follows gets the latest data), but never out of order
/// and never an older value after a newer one. It ends when the shared value is closed or
/// the session ends; dropping it costs nothing.
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn _example(count: zk_recipes::counter::SharedCount) {
/// let mut changes = count.changes();
/// while let Some(v) = changes.next().await {
///     println!("now {} (version {})", v.value, v.version);
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct ValueChanges<T> {
    rx: mpsc::UnboundedReceiver<Versioned<T>>,
    latest: watch::Receiver<Versioned<T>>,
    _alive: watch::Receiver<()>,
}

impl<T: Clone> ValueChanges<T> {
    /// The latest value known (the seed, at version -1, before the first read), whether or
    /// not the stream has yielded it yet.
    ///
    /// ```no_run
    /// # fn _example(count: zk_recipes::counter::SharedCount) {
    /// let changes = count.changes();
    /// println!("{}", changes.latest().value);
    /// # }
    /// ```
    pub fn latest(&self) -> Versioned<T> {
        self.latest.borrow().clone()
    }
}

impl<T> Stream for ValueChanges<T> {
    type Item = Versioned<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// How a shared value's bytes map to its values.
pub(crate) trait Codec: Send + Sync + 'static {
    type Value: Clone + fmt::Debug + PartialEq + Send + Sync + 'static;
    /// The format, for errors.
    const EXPECTED: &'static str;
    fn encode(value: &Self::Value) -> Bytes;
    fn decode(data: &Bytes) -> Option<Self::Value>;
}

/// Bytes as they are.
#[derive(Debug)]
pub(crate) struct Raw;

impl Codec for Raw {
    type Value = Bytes;
    const EXPECTED: &'static str = "bytes";

    fn encode(value: &Bytes) -> Bytes {
        value.clone()
    }

    fn decode(data: &Bytes) -> Option<Bytes> {
        Some(data.clone())
    }
}

/// The shared machinery of [`SharedValue`] and [`SharedCount`](super::SharedCount): a
/// cheap handle; the watching task runs while a handle or a stream of it is alive.
pub(crate) struct Shared<C: Codec> {
    inner: Arc<Inner<C>>,
    alive: watch::Receiver<()>,
}

/// The senders of the streams of a value.
type Subscribers<T> = Vec<mpsc::UnboundedSender<Versioned<T>>>;

struct Inner<C: Codec> {
    client: Client,
    path: String,
    seed: C::Value,
    /// The latest value: only ever replaced by one of a higher mzxid.
    latest: watch::Sender<Versioned<C::Value>>,
    /// The streams; `None` once the watching has ended for good.
    subscribers: Mutex<Option<Subscribers<C::Value>>>,
    /// Closed when every handle and stream is gone.
    alive: watch::Sender<()>,
    started: AtomicBool,
    closed: watch::Sender<bool>,
}

impl<C: Codec> Clone for Shared<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            alive: self.alive.clone(),
        }
    }
}

impl<C: Codec> fmt::Debug for Shared<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("path", &self.inner.path)
            .field("latest", &*self.inner.latest.borrow())
            .finish_non_exhaustive()
    }
}

impl<C: Codec> Shared<C> {
    pub(crate) fn new(client: &Client, path: &str, seed: C::Value) -> Self {
        let (alive, alive_rx) = watch::channel(());
        let inner = Inner {
            client: client.clone(),
            path: path.to_owned(),
            latest: watch::channel(Versioned::unread(seed.clone())).0,
            seed,
            subscribers: Mutex::new(Some(Vec::new())),
            alive,
            started: AtomicBool::new(false),
            closed: watch::channel(false).0,
        };
        Self {
            inner: Arc::new(inner),
            alive: alive_rx,
        }
    }

    pub(crate) fn path(&self) -> &str {
        &self.inner.path
    }

    pub(crate) fn latest(&self) -> Versioned<C::Value> {
        self.inner.latest.borrow().clone()
    }

    fn check_open(&self) -> Result<()> {
        if *self.inner.closed.borrow() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Creates the node with the seed when it is missing, reads it, and starts watching.
    pub(crate) async fn start(&self) -> Result<Versioned<C::Value>> {
        self.check_open()?;
        self.create(&C::encode(&self.inner.seed)).await?;
        let value = self.read().await?;
        if !self.inner.started.swap(true, Ordering::SeqCst) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let span = tracing::debug_span!("shared_value", path = %self.inner.path);
                    runtime.spawn(Arc::clone(&self.inner).follow().instrument(span));
                }
                Err(_) => return Err(Error::InvalidArgument("no tokio runtime".to_owned())),
            }
        }
        Ok(value)
    }

    /// Creates the node with `data` (and its missing parents, as containers) unless it
    /// exists: `true` when this call made it.
    async fn create(&self, data: &Bytes) -> Result<bool> {
        let client = &self.inner.client;
        let path = &self.inner.path;
        loop {
            match client
                .create(path, data, &CreateOptions::persistent())
                .await
            {
                Ok(_) => return Ok(true),
                Err(ZkError::NodeExists(_)) => return Ok(false),
                Err(ZkError::NoNode(_)) => {
                    let parent = zk_client::proto::path::parent(path).unwrap_or("/");
                    make_parents(client, parent).await?;
                }
                // A plain create: trying again is safe (it finds the node made).
                Err(e) if e.is_connection_loss() => wait_connected(client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Reads the value from the server (and keeps it, if newer).
    pub(crate) async fn read(&self) -> Result<Versioned<C::Value>> {
        let client = &self.inner.client;
        loop {
            match client.get_data(&self.inner.path).await {
                Ok((data, stat)) => return self.inner.accept(&data, &stat),
                Err(e) if e.is_connection_loss() => wait_connected(client).await?,
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Writes `value` whatever the version, creating the node if it is missing.
    pub(crate) async fn set(&self, value: C::Value) -> Result<Versioned<C::Value>> {
        self.check_open()?;
        let data = C::encode(&value);
        let client = &self.inner.client;
        loop {
            match client.set_data(&self.inner.path, &data, None).await {
                Ok(stat) => return Ok(self.inner.wrote(value, &stat)),
                Err(ZkError::NoNode(_)) => {
                    if self.create(&data).await? {
                        // Made with our value: read its Stat back.
                        match client.exists(&self.inner.path).await {
                            Ok(Some(stat)) => return Ok(self.inner.wrote(value, &stat)),
                            Ok(None) => {}
                            Err(e) => return Err(zk(e)),
                        }
                    }
                }
                Err(e) => return Err(zk(e)),
            }
        }
    }

    /// Writes `value` if the node's version is `expected_version`. On a mismatch the value is
    /// read again (so [`latest`](Self::latest) is current) and the answer is `false`.
    pub(crate) async fn try_set(&self, value: C::Value, expected_version: i32) -> Result<bool> {
        self.check_open()?;
        if expected_version == -1 {
            return Err(Error::InvalidArgument(
                "version -1 matches any version: use set, or the version of a read value".into(),
            ));
        }
        let data = C::encode(&value);
        let written = self
            .inner
            .client
            .set_data(&self.inner.path, &data, Some(expected_version))
            .await;
        match written {
            Ok(stat) => {
                self.inner.wrote(value, &stat);
                Ok(true)
            }
            Err(ZkError::BadVersion(_)) => {
                // The answer stands; the re-read only refreshes what `latest` returns.
                if let Err(e) = self.read().await {
                    tracing::debug!(error = %e, "no re-read after a lost race");
                }
                Ok(false)
            }
            Err(e) => Err(zk(e)),
        }
    }

    /// A stream of the new values, starting with the current one once read.
    pub(crate) fn changes(&self) -> ValueChanges<C::Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subscribers = self.inner.subscribers();
        let current = self.inner.latest.borrow().clone();
        if current.mzxid >= 0 {
            let _ = tx.send(current);
        }
        if let Some(subscribers) = subscribers.as_mut() {
            subscribers.push(tx);
        }
        ValueChanges {
            rx,
            latest: self.inner.latest.subscribe(),
            _alive: self.alive.clone(),
        }
    }

    /// Stops watching: the streams end; writes fail with [`Error::Closed`].
    pub(crate) fn close(&self) {
        self.inner.closed.send_replace(true);
        if !self.inner.started.load(Ordering::SeqCst) {
            self.inner.finish();
        }
    }
}

/// Why one pass of watching ended.
enum Pass {
    /// Read again once connected (a reconnect; a read failed on a connection loss).
    Again,
    /// Stop: the session ended, or the value was closed or dropped.
    Stop,
}

impl<C: Codec> Inner<C> {
    fn subscribers(&self) -> MutexGuard<'_, Option<Subscribers<C::Value>>> {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `value` and tells the streams, if it is newer than the latest.
    fn offer(&self, value: &Versioned<C::Value>) {
        let mut subscribers = self.subscribers();
        let newer = self.latest.send_if_modified(|latest| {
            let newer = value.newer_than(latest);
            if newer {
                *latest = value.clone();
            }
            newer
        });
        if newer {
            if let Some(subscribers) = subscribers.as_mut() {
                subscribers.retain(|tx| tx.send(value.clone()).is_ok());
            }
        }
    }

    /// A value this handle wrote.
    fn wrote(&self, value: C::Value, stat: &Stat) -> Versioned<C::Value> {
        let value = Versioned::at(value, stat);
        self.offer(&value);
        value
    }

    /// A value read from the server: kept if newer; an error when it cannot be decoded.
    fn accept(&self, data: &Bytes, stat: &Stat) -> Result<Versioned<C::Value>> {
        match C::decode(data) {
            Some(value) => Ok(self.wrote(value, stat)),
            None => Err(corrupt(&self.path, C::EXPECTED, data)),
        }
    }

    /// Ends the streams for good.
    fn finish(&self) {
        self.subscribers().take();
    }

    /// The watching task: reads with a watch, again after every event and reconnect,
    /// until the value is closed or dropped or the session ends.
    async fn follow(self: Arc<Self>) {
        let mut closed = self.closed.subscribe();
        loop {
            let pass = tokio::select! {
                pass = self.pass() => pass,
                () = self.alive.closed() => Pass::Stop,
                _ = closed.wait_for(|closed| *closed) => Pass::Stop,
            };
            let again = match pass {
                Pass::Stop => false,
                Pass::Again => tokio::select! {
                    connected = wait_connected(&self.client) => connected.is_ok(),
                    () = self.alive.closed() => false,
                    _ = closed.wait_for(|closed| *closed) => false,
                },
            };
            if !again {
                break;
            }
        }
        self.finish();
    }

    /// Reads with a watch and waits for it to fire, over and over, until a reconnect or
    /// an error.
    async fn pass(&self) -> Pass {
        let client = &self.client;
        let mut states = client.state_watcher();
        loop {
            let watcher = match client.get_data_and_watch(&self.path).await {
                Ok((data, stat, watcher)) => {
                    if let Err(e) = self.accept(&data, &stat) {
                        tracing::warn!(error = %e, "the shared value is not kept");
                    }
                    watcher
                }
                // Gone: wait for it to be made again (its data then is news).
                Err(ZkError::NoNode(_)) => match client.exists_and_watch(&self.path).await {
                    Ok((Some(_), _)) => continue,
                    Ok((None, watcher)) => watcher,
                    Err(e) => return again_unless_over(&e).await,
                },
                Err(e) => return again_unless_over(&e).await,
            };
            tokio::pin!(watcher);
            loop {
                tokio::select! {
                    fired = &mut watcher => match fired {
                        Ok(_) => break,
                        Err(_) => return Pass::Stop,
                    },
                    state = states.changed() => match state {
                        // What changed while we were away is read, not trusted to a
                        // watch (CURATOR-311).
                        Ok(s) if s.is_connected() => return Pass::Again,
                        Ok(s) if s.is_terminal() => return Pass::Stop,
                        Ok(_) => {}
                        Err(_) => return Pass::Stop,
                    },
                }
            }
        }
    }
}

/// A failed read: again once connected after a connection loss (after a pause, so a
/// flapping connection does not spin); stop otherwise.
async fn again_unless_over(e: &ZkError) -> Pass {
    if e.is_connection_loss() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Pass::Again
    } else {
        if !e.is_terminal() {
            tracing::warn!(error = %e, "cannot watch the shared value");
        }
        Pass::Stop
    }
}

/// A value shared by every client of a path (Curator's `SharedValue`): raw bytes, read
/// when [`start`](Self::start)ed and kept current by a watch, re-armed after every event
/// and read again after every reconnect rather than trusting the events that may have
/// been missed (CURATOR-311). Writes are plain ([`set`](Self::set)) or checked against
/// the node's version ([`try_set`](Self::try_set)).
///
/// A `SharedValue` is a cheap handle (clones share one watch) and creates nothing until
/// [`start`](Self::start), which makes the node with the seed when it is missing (and its
/// parents, as containers, like Curator's `creatingParentContainersIfNeeded`). The watch
/// runs until [`close`](Self::close), until every handle and stream is dropped, or until
/// the session ends.
///
/// The latest value is the one of the highest mzxid seen, never the highest version:
/// versions restart at 0 when the node is made again and wrap after 2³¹ writes
/// (CURATOR-688), and a node that exists at version 0 when we start is read, not taken
/// for the seed (CURATOR-329).
///
/// ```no_run
/// use zk_recipes::counter::SharedValue;
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let config = SharedValue::new(&client, "/app/config", "v1");
/// config.start().await?;
/// let seen = config.get_versioned();
/// if !config.try_set("v2", seen.version).await? {
///     println!("someone else changed it: now {:?}", config.get());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SharedValue {
    shared: Shared<Raw>,
}

impl SharedValue {
    /// A shared value at `path`, made with `seed` if missing when started; creates nothing
    /// yet.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let value = zk_recipes::counter::SharedValue::new(&client, "/app/config", &b"{}"[..]);
    /// # drop(value); }
    /// ```
    pub fn new(client: &Client, path: &str, seed: impl Into<Bytes>) -> Self {
        Self {
            shared: Shared::new(client, path, seed.into()),
        }
    }

    /// The node's path.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let value = zk_recipes::counter::SharedValue::new(&client, "/v", "");
    /// assert_eq!(value.path(), "/v");
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        self.shared.path()
    }

    /// Makes the node with the seed if it is missing, reads it, and starts keeping it
    /// current. A second call only reads again.
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`] when the session ends first; a ZooKeeper error retrying
    /// cannot help (no permission, an invalid path); [`Error::Closed`] after
    /// [`close`](Self::close); [`Error::InvalidArgument`] outside a tokio runtime.
    /// Connection losses are waited out.
    ///
    /// ```no_run
    /// # async fn _example(value: zk_recipes::counter::SharedValue) -> zk_recipes::Result<()> {
    /// let now = value.start().await?;
    /// println!("{:?} at version {}", now.value, now.version);
    /// # Ok(()) }
    /// ```
    pub async fn start(&self) -> Result<Versioned<Bytes>> {
        self.shared.start().await
    }

    /// The latest value known: the seed before the first read.
    ///
    /// ```no_run
    /// # fn _example(value: zk_recipes::counter::SharedValue) {
    /// let bytes = value.get();
    /// # let _ = bytes; }
    /// ```
    pub fn get(&self) -> Bytes {
        self.shared.latest().value
    }

    /// The latest value known, with its version (for [`try_set`](Self::try_set)) and mzxid;
    /// version -1 before the first read.
    ///
    /// ```no_run
    /// # fn _example(value: zk_recipes::counter::SharedValue) {
    /// let seen = value.get_versioned();
    /// println!("{:?} at version {}", seen.value, seen.version);
    /// # }
    /// ```
    pub fn get_versioned(&self) -> Versioned<Bytes> {
        self.shared.latest()
    }

    /// Reads the value from the server now (and keeps it, when newer than the latest).
    ///
    /// # Errors
    ///
    /// [`Error::Zk`] with `NoNode` when the node does not exist; as
    /// [`start`](Self::start) otherwise.
    ///
    /// ```no_run
    /// # async fn _example(value: zk_recipes::counter::SharedValue) -> zk_recipes::Result<()> {
    /// let fresh = value.read().await?;
    /// # let _ = fresh; Ok(()) }
    /// ```
    pub async fn read(&self) -> Result<Versioned<Bytes>> {
        self.shared.read().await
    }

    /// Writes `value` whatever the node's version (making the node if it is missing), and
    /// returns it with its new version. Later [`get`](Self::get)s return it or a newer
    /// value.
    ///
    /// # Errors
    ///
    /// [`Error::Zk`] with `ConnectionLoss` when the connection dropped before the reply:
    /// the write may or may not have been applied. [`Error::SessionEnded`],
    /// [`Error::Closed`], and the ZooKeeper errors retrying cannot help.
    ///
    /// ```no_run
    /// # async fn _example(value: zk_recipes::counter::SharedValue) -> zk_recipes::Result<()> {
    /// let written = value.set("v3").await?;
    /// assert_eq!(&written.value[..], b"v3");
    /// # Ok(()) }
    /// ```
    pub async fn set(&self, value: impl Into<Bytes>) -> Result<Versioned<Bytes>> {
        self.shared.set(value.into()).await
    }

    /// Writes `value` only if the node's version is still `expected_version` (from
    /// [`get_versioned`](Self::get_versioned) or [`read`](Self::read)): `true` when
    /// written. `false` when someone wrote first; the latest value is then read again, so
    /// the next [`get_versioned`](Self::get_versioned) has what to try from.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for version -1 (it would match any version);
    /// [`Error::Zk`] with `NoNode` when the node is gone; otherwise as [`set`](Self::set).
    ///
    /// ```no_run
    /// # async fn _example(value: zk_recipes::counter::SharedValue) -> zk_recipes::Result<()> {
    /// loop {
    ///     let seen = value.get_versioned();
    ///     let mut next = seen.value.to_vec();
    ///     next.push(b'!');
    ///     if value.try_set(next, seen.version).await? {
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn try_set(&self, value: impl Into<Bytes>, expected_version: i32) -> Result<bool> {
        self.shared.try_set(value.into(), expected_version).await
    }

    /// The new values from now on, starting with the latest once read
    /// ([`ValueChanges`]).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn _example(value: zk_recipes::counter::SharedValue) {
    /// let mut changes = value.changes();
    /// while let Some(v) = changes.next().await {
    ///     println!("{:?}", v.value);
    /// }
    /// # }
    /// ```
    pub fn changes(&self) -> ValueChanges<Bytes> {
        self.shared.changes()
    }

    /// Stops keeping the value current: the streams end, and later writes fail with
    /// [`Error::Closed`]. The node stays.
    ///
    /// ```no_run
    /// # fn _example(value: zk_recipes::counter::SharedValue) {
    /// value.close();
    /// # }
    /// ```
    pub fn close(&self) {
        self.shared.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(version: i32, mzxid: i64) -> Stat {
        Stat {
            version,
            mzxid,
            ..Stat::default()
        }
    }

    #[test]
    fn an_unread_value_is_older_than_any_read() {
        let seed = Versioned::unread(7);
        assert_eq!((seed.version, seed.mzxid), (-1, -1));
        // CURATOR-329: a node found at version 0 is newer than the seed.
        assert!(Versioned::at(1, &stat(0, 1)).newer_than(&seed));
    }

    /// CURATOR-688: after 2^31 writes the version wraps negative; the value written then
    /// is still the newer one, because values are ordered by mzxid.
    #[test]
    fn curator_688_a_wrapped_version_is_still_newer() {
        let before = Versioned::at(1, &stat(i32::MAX, 0x1_0000_0010));
        let after = Versioned::at(2, &stat(i32::MAX.wrapping_add(1), 0x1_0000_0011));
        assert!(after.version < before.version);
        assert!(after.newer_than(&before));
        assert!(!before.newer_than(&after));
        // The same change read twice is not news.
        assert!(!after.newer_than(&after.clone()));
    }
}
