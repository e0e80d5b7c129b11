//! [`NameRegistry`]: global names, as distributed-process-zookeeper gives Cloud Haskell:
//! of all processes that register as candidates for a name, exactly one runs its work at
//! a time, the next in line takes over when it dies, and `whereis` answers from a watched
//! cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use zk_client::Client;

use super::latch::{LATCH, LeaderLatch};
use super::leadership::Leadership;
use super::observe::{self, Leader};
use crate::error::{Error, Result};
use crate::protected::join;

/// Global names under one base path: each name is a [`LeaderLatch`] election at
/// `<base>/<name>` whose leader holds the name, with the candidate's data as the latch
/// data.
///
/// ```no_run
/// use zk_recipes::election::NameRegistry;
///
/// # async fn _example(client: zk_client::Client) -> zk_recipes::Result<()> {
/// let names = NameRegistry::new(&client, "/names");
/// let candidate = names.register_candidate("billing", "host-a:8080", |term| async move {
///     println!("billing runs here (term {})", term.fencing_token());
///     std::future::pending::<()>().await
/// })?;
/// println!("billing is at {:?}", names.whereis("billing").await?);
/// candidate.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NameRegistry {
    client: Client,
    base: String,
    /// The holder of each name asked about, kept current by a watch.
    cache: StdMutex<HashMap<String, watch::Receiver<Option<Option<Leader>>>>>,
}

impl NameRegistry {
    /// The names under `base`. Creates nothing.
    ///
    /// ```no_run
    /// # fn _example(client: zk_client::Client) {
    /// let names = zk_recipes::election::NameRegistry::new(&client, "/names");
    /// # drop(names); }
    /// ```
    pub fn new(client: &Client, base: &str) -> Self {
        Self {
            client: client.clone(),
            base: base.to_owned(),
            cache: StdMutex::new(HashMap::new()),
        }
    }

    /// Registers this process as a candidate for `name`, with `data` for `whereis`. When
    /// the candidate holds the name, `work` runs with the term; it is cancelled if the term
    /// ends (the connection or session lost, under the standard loss policy), and runs
    /// again if the name comes back to us. When `work` returns, the candidate gives the
    /// name up and leaves, so the next candidate in line takes over.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a name that is empty or holds a `/`, or outside a
    /// tokio runtime.
    ///
    /// ```no_run
    /// # fn _example(names: zk_recipes::election::NameRegistry) -> zk_recipes::Result<()> {
    /// let candidate = names.register_candidate("billing", "host-a", |_term| async {})?;
    /// # drop(candidate); Ok(()) }
    /// ```
    pub fn register_candidate<F, Fut>(
        &self,
        name: &str,
        data: impl Into<Bytes>,
        mut work: F,
    ) -> Result<Candidate>
    where
        F: FnMut(Leadership) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let path = self.path_of(name)?;
        let latch = Arc::new(LeaderLatch::new(&self.client, &path).data(data));
        latch.start()?;
        let runner = latch.clone();
        let span = tracing::info_span!("name_candidate", name = %name);
        let task = tokio::spawn(
            async move {
                loop {
                    let Ok(term) = runner.await_leadership().await else {
                        return;
                    };
                    tokio::select! {
                        () = work(term.clone()) => break,
                        _ = term.lost() => {}
                    }
                }
                // The work is done: the name goes to the next candidate.
                let _ = runner.close().await;
            }
            .instrument(span),
        );
        Ok(Candidate { latch, task })
    }

    /// The data of the current holder of `name`, or `None` when nobody holds it. The
    /// first call for a name reads it and leaves a watch; later calls answer from that
    /// cache, without a request, until the holder changes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a bad name; [`Error::SessionEnded`] when the session
    /// ended before the name could be read.
    ///
    /// ```no_run
    /// # async fn _example(names: zk_recipes::election::NameRegistry) -> zk_recipes::Result<()> {
    /// if let Some(data) = names.whereis("billing").await? {
    ///     println!("billing is at {}", String::from_utf8_lossy(&data));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn whereis(&self, name: &str) -> Result<Option<Bytes>> {
        let path = self.path_of(name)?;
        let mut latest = {
            let mut cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .entry(name.to_owned())
                .or_insert_with(|| observe::spawn(&self.client, &path, LATCH, None))
                .clone()
        };
        let waited = latest
            .wait_for(Option::is_some)
            .await
            .map(|seen| seen.clone());
        let seen = match waited {
            Ok(seen) => seen,
            Err(_) => latest.borrow().clone(),
        };
        let Some(seen) = seen else {
            let context = zk_client::ErrorContext::new("whereis", Some(Arc::from(path.as_str())));
            return Err(Error::SessionEnded(zk_client::Error::SessionExpired(
                context,
            )));
        };
        Ok(seen.map(|leader| leader.data))
    }

    fn path_of(&self, name: &str) -> Result<String> {
        if name.is_empty() || name.contains('/') {
            return Err(Error::InvalidArgument(format!(
                "a name is one path segment, not {name:?}"
            )));
        }
        Ok(join(&self.base, name))
    }
}

/// A registered candidate for a name; see [`NameRegistry::register_candidate`]. Dropping
/// it cancels the work and leaves the election in the background.
#[derive(Debug)]
#[must_use = "the candidate leaves the election when dropped"]
pub struct Candidate {
    latch: Arc<LeaderLatch>,
    task: JoinHandle<()>,
}

impl Candidate {
    /// Whether this candidate holds the name now.
    ///
    /// ```no_run
    /// # fn _example(candidate: zk_recipes::election::Candidate) {
    /// println!("holder: {}", candidate.is_holder());
    /// # }
    /// ```
    pub fn is_holder(&self) -> bool {
        self.latch.has_leadership()
    }

    /// The election behind the name.
    ///
    /// ```no_run
    /// # fn _example(candidate: zk_recipes::election::Candidate) {
    /// println!("{}", candidate.latch().path());
    /// # }
    /// ```
    pub fn latch(&self) -> &LeaderLatch {
        &self.latch
    }

    /// Whether the candidate is over: its work returned, or its session ended.
    ///
    /// ```no_run
    /// # fn _example(candidate: zk_recipes::election::Candidate) {
    /// println!("done: {}", candidate.is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Cancels the work and leaves the election (our node deleted).
    ///
    /// # Errors
    ///
    /// As [`LeaderLatch::close`].
    ///
    /// ```no_run
    /// # async fn _example(candidate: zk_recipes::election::Candidate) -> zk_recipes::Result<()> {
    /// candidate.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(self) -> Result<()> {
        self.task.abort();
        self.latch.close().await
    }
}

impl Drop for Candidate {
    fn drop(&mut self) {
        self.task.abort();
    }
}
