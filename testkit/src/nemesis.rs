//! A seeded nemesis: picks faults by weight from a [`SplitMix64`] stream, applies each for
//! a while, heals it, waits for the ensemble to recover, and logs every action.
//!
//! The same seed gives the same sequence of fault kinds and random picks; targets that
//! depend on the ensemble's state (who leads right now) follow the run. Print the seed and
//! the [`NemesisLog`] when a chaos test fails.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zk_proto::rng::SplitMix64;

use crate::config::ServerId;
use crate::ensemble::Ensemble;
use crate::history::History;
use crate::node::ProcessState;
use crate::proxy::ClientEndpoint;

/// The faults a [`Nemesis`] can inject.
///
/// # Examples
///
/// ```
/// use zk_testkit::FaultKind;
///
/// assert!(FaultKind::RandomHalves.needs_netns());
/// assert!(!FaultKind::KillLeader.needs_netns());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// SIGKILL the leader, restart it after the hold time.
    KillLeader,
    /// SIGKILL a random running server, restart it after the hold time.
    KillRandom,
    /// SIGSTOP the leader for the hold time.
    PauseLeader,
    /// Cut the leader from its peers for the hold time (netns).
    PartitionLeader,
    /// Split the servers into two random halves for the hold time (netns).
    RandomHalves,
    /// Blackhole a random client endpoint for the hold time.
    ClientBlackhole,
    /// Reset every connection of a random client endpoint.
    ClientReset,
    /// Expire a random registered session.
    ExpireSession,
}

impl FaultKind {
    /// Whether the fault needs partitions: the container backend, or the process backend
    /// in [`NetMode::Netns`](crate::NetMode::Netns) (see [`Ensemble::can_partition`](crate::Ensemble::can_partition)).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::FaultKind::PartitionLeader.needs_netns());
    /// ```
    pub fn needs_netns(self) -> bool {
        matches!(self, Self::PartitionLeader | Self::RandomHalves)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::KillLeader => "kill-leader",
            Self::KillRandom => "kill-random",
            Self::PauseLeader => "pause-leader",
            Self::PartitionLeader => "partition-leader",
            Self::RandomHalves => "random-halves",
            Self::ClientBlackhole => "client-blackhole",
            Self::ClientReset => "client-reset",
            Self::ExpireSession => "expire-session",
        };
        f.write_str(s)
    }
}

/// A session id and its password.
type Credentials = (i64, Vec<u8>);

/// Sessions the nemesis may expire; tests add their sessions as they open them.
///
/// # Examples
///
/// ```
/// let sessions = zk_testkit::SessionRegistry::default();
/// sessions.add(0x1234, &[0; 16]);
/// assert_eq!(sessions.len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct SessionRegistry {
    inner: Arc<Mutex<Vec<Credentials>>>,
}

impl SessionRegistry {
    /// Registers a session.
    ///
    /// # Examples
    ///
    /// ```
    /// zk_testkit::SessionRegistry::default().add(1, b"0123456789abcdef");
    /// ```
    pub fn add(&self, session_id: i64, password: &[u8]) {
        if let Ok(mut v) = self.inner.lock() {
            v.push((session_id, password.to_vec()));
        }
    }

    /// Forgets a session.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = zk_testkit::SessionRegistry::default();
    /// r.add(1, &[]);
    /// r.remove(1);
    /// assert!(r.is_empty());
    /// ```
    pub fn remove(&self, session_id: i64) {
        if let Ok(mut v) = self.inner.lock() {
            v.retain(|(id, _)| *id != session_id);
        }
    }

    /// How many sessions are registered.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::SessionRegistry::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Whether no session is registered.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::SessionRegistry::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pick(&self, rng: &mut SplitMix64) -> Option<(i64, Vec<u8>)> {
        let v = self.inner.lock().ok()?;
        if v.is_empty() {
            return None;
        }
        let i = usize::try_from(rng.below(v.len() as u64)).ok()?;
        v.get(i).cloned()
    }
}

/// One line of the nemesis log.
///
/// # Examples
///
/// ```
/// let e = zk_testkit::NemesisEntry { time: std::time::Duration::from_millis(1500), action: "start kill-leader 2".into() };
/// assert_eq!(e.to_string(), "[   1.500s] start kill-leader 2");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisEntry {
    /// Monotonic time since the run started.
    pub time: Duration,
    /// What was done.
    pub action: String,
}

impl fmt::Display for NemesisEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:>8.3}s] {}", self.time.as_secs_f64(), self.action)
    }
}

/// Everything a nemesis run did, with its seed.
///
/// # Examples
///
/// ```
/// let log = zk_testkit::NemesisLog::default();
/// assert!(log.to_string().starts_with("nemesis seed 0"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NemesisLog {
    /// The seed of the run.
    pub seed: u64,
    /// Every action in order.
    pub entries: Vec<NemesisEntry>,
    /// How many faults were applied.
    pub faults: usize,
    /// Recovery times after each heal that recovered in time.
    pub recoveries: Vec<Duration>,
    /// Heals after which the ensemble was not healthy within the heal timeout (a liveness
    /// figure, not necessarily a bug).
    pub slow_recoveries: usize,
}

impl fmt::Display for NemesisLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "nemesis seed {} ({} faults, {} slow recoveries)",
            self.seed, self.faults, self.slow_recoveries
        )?;
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A seeded fault scheduler.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use zk_testkit::{Ensemble, FaultKind, Nemesis};
///
/// # async fn _demo() -> zk_testkit::Result<()> {
/// let ensemble = Ensemble::start(3).await?;
/// let nemesis = Nemesis::new(42)
///     .with(FaultKind::KillLeader, 2)
///     .with(FaultKind::PauseLeader, 1)
///     .hold(Duration::from_secs(2));
/// let log = nemesis.run(&ensemble, Duration::from_secs(1), Duration::from_secs(20)).await;
/// println!("{log}");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Nemesis {
    seed: u64,
    faults: Vec<(FaultKind, u32)>,
    hold: Duration,
    heal_timeout: Duration,
    endpoints: Vec<ClientEndpoint>,
    sessions: SessionRegistry,
    history: Option<History>,
}

/// Targets are drawn from a second stream, so the sequence of fault kinds depends on the
/// seed alone.
const TARGET_STREAM: u64 = 0x5DEE_CE66_D1CE_4E5B;

struct KindPicker {
    rng: SplitMix64,
    usable: Vec<(FaultKind, u32)>,
    total: u64,
}

impl KindPicker {
    fn new(seed: u64, usable: Vec<(FaultKind, u32)>) -> Self {
        let total = usable.iter().map(|(_, w)| u64::from(*w)).sum();
        Self {
            rng: SplitMix64::new(seed),
            usable,
            total,
        }
    }

    fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn next(&mut self) -> Option<FaultKind> {
        if self.total == 0 {
            return None;
        }
        let mut pick = self.rng.below(self.total);
        for &(kind, weight) in &self.usable {
            if pick < u64::from(weight) {
                return Some(kind);
            }
            pick -= u64::from(weight);
        }
        None
    }
}

struct Run {
    start: Instant,
    log: NemesisLog,
    history: Option<History>,
}

impl Run {
    fn note(&mut self, action: String) {
        let time = self.start.elapsed();
        tracing::info!(target: "zk_testkit::nemesis", "{action}");
        eprintln!("nemesis [{:>8.3}s] {action}", time.as_secs_f64());
        if let Some(h) = &self.history {
            h.nemesis(action.clone());
        }
        self.log.entries.push(NemesisEntry { time, action });
    }
}

impl Nemesis {
    /// A nemesis with no faults yet, seeded with `seed`. Defaults: hold 2 s, heal timeout
    /// 60 s.
    ///
    /// # Examples
    ///
    /// ```
    /// let n = zk_testkit::Nemesis::new(7).with(zk_testkit::FaultKind::KillRandom, 1);
    /// assert_eq!(n.seed(), 7);
    /// ```
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            faults: Vec::new(),
            hold: Duration::from_secs(2),
            heal_timeout: Duration::from_secs(60),
            endpoints: Vec::new(),
            sessions: SessionRegistry::default(),
            history: None,
        }
    }

    /// The seed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::Nemesis::new(3).seed(), 3);
    /// ```
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Adds a fault with a relative weight (0 disables it).
    ///
    /// # Examples
    ///
    /// ```
    /// let n = zk_testkit::Nemesis::new(1).with(zk_testkit::FaultKind::KillLeader, 3);
    /// # let _ = n;
    /// ```
    pub fn with(mut self, kind: FaultKind, weight: u32) -> Self {
        self.faults.push((kind, weight));
        self
    }

    /// How long each fault lasts before it is healed. Default: 2 s.
    ///
    /// # Examples
    ///
    /// ```
    /// let n = zk_testkit::Nemesis::new(1).hold(std::time::Duration::from_secs(3));
    /// # let _ = n;
    /// ```
    pub fn hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// How long to wait for a healthy ensemble after each heal. Default: 60 s.
    ///
    /// # Examples
    ///
    /// ```
    /// let n = zk_testkit::Nemesis::new(1).heal_timeout(std::time::Duration::from_secs(30));
    /// # let _ = n;
    /// ```
    pub fn heal_timeout(mut self, timeout: Duration) -> Self {
        self.heal_timeout = timeout;
        self
    }

    /// A client endpoint the client faults may pick.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(ep: zk_testkit::ClientEndpoint) { let _ = zk_testkit::Nemesis::new(1).endpoint(ep); }
    /// ```
    pub fn endpoint(mut self, endpoint: ClientEndpoint) -> Self {
        self.endpoints.push(endpoint);
        self
    }

    /// The sessions [`FaultKind::ExpireSession`] may pick (shared with the test).
    ///
    /// # Examples
    ///
    /// ```
    /// let sessions = zk_testkit::SessionRegistry::default();
    /// let n = zk_testkit::Nemesis::new(1).sessions(sessions.clone());
    /// # let _ = n;
    /// ```
    pub fn sessions(mut self, sessions: SessionRegistry) -> Self {
        self.sessions = sessions;
        self
    }

    /// Also records every action into `history`.
    ///
    /// # Examples
    ///
    /// ```
    /// let n = zk_testkit::Nemesis::new(1).history(zk_testkit::History::new());
    /// # let _ = n;
    /// ```
    pub fn history(mut self, history: History) -> Self {
        self.history = Some(history);
        self
    }

    /// The first `n` fault kinds this seed picks, when every configured fault can run.
    /// [`run`](Self::run) applies them in this order (minus any it has to leave out).
    ///
    /// # Examples
    ///
    /// ```
    /// use zk_testkit::{FaultKind, Nemesis};
    ///
    /// let n = Nemesis::new(5).with(FaultKind::KillLeader, 1).with(FaultKind::PauseLeader, 1);
    /// assert_eq!(n.plan(10), n.plan(10));
    /// ```
    pub fn plan(&self, n: usize) -> Vec<FaultKind> {
        let usable: Vec<(FaultKind, u32)> = self
            .faults
            .iter()
            .copied()
            .filter(|(_, w)| *w > 0)
            .collect();
        let mut kinds = KindPicker::new(self.seed, usable);
        (0..n).map_while(|_| kinds.next()).collect()
    }

    /// Runs for `total`: waits `every`, applies one fault for the hold time, heals it and
    /// waits for a healthy ensemble; again until the time is up. Faults that cannot run
    /// here (partition faults on an ensemble that [cannot partition](crate::Ensemble::can_partition), client faults without endpoints)
    /// are left out with a `SKIPPED` line in the log.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn _demo(e: &zk_testkit::Ensemble) {
    /// let log = zk_testkit::Nemesis::new(9)
    ///     .with(zk_testkit::FaultKind::KillRandom, 1)
    ///     .run(e, std::time::Duration::from_millis(500), std::time::Duration::from_secs(10))
    ///     .await;
    /// assert_eq!(log.seed, 9);
    /// # }
    /// ```
    pub async fn run(&self, ensemble: &Ensemble, every: Duration, total: Duration) -> NemesisLog {
        let mut run = Run {
            start: Instant::now(),
            log: NemesisLog {
                seed: self.seed,
                ..NemesisLog::default()
            },
            history: self.history.clone(),
        };
        run.note(format!("seed {}", self.seed));
        let netns = ensemble.can_partition();
        let mut usable = Vec::new();
        for &(kind, weight) in &self.faults {
            if weight == 0 {
                continue;
            }
            if kind.needs_netns() && !netns {
                run.note(format!(
                    "SKIPPED: {kind} needs the container backend or an ensemble started \
                     with NetMode::Netns"
                ));
                continue;
            }
            if matches!(kind, FaultKind::ClientBlackhole | FaultKind::ClientReset)
                && self.endpoints.is_empty()
            {
                run.note(format!("SKIPPED: {kind} needs a client endpoint"));
                continue;
            }
            usable.push((kind, weight));
        }
        let mut kinds = KindPicker::new(self.seed, usable);
        let mut rng = SplitMix64::new(self.seed ^ TARGET_STREAM);
        if kinds.is_empty() {
            run.note("no usable fault; nothing to do".into());
            return run.log;
        }
        while run.start.elapsed() + every < total {
            tokio::time::sleep(every).await;
            let Some(kind) = kinds.next() else { break };
            self.apply(kind, ensemble, &mut rng, &mut run).await;
        }
        run.note("done".into());
        run.log
    }

    async fn apply(&self, kind: FaultKind, e: &Ensemble, rng: &mut SplitMix64, run: &mut Run) {
        run.log.faults += 1;
        match kind {
            FaultKind::KillLeader | FaultKind::KillRandom => {
                let target = if kind == FaultKind::KillLeader {
                    e.leader().await.ok()
                } else {
                    let running: Vec<ServerId> = e
                        .ids()
                        .into_iter()
                        .filter(|id| e.process_state(*id).ok() == Some(ProcessState::Running))
                        .collect();
                    let i = usize::try_from(rng.below(running.len() as u64)).unwrap_or(0);
                    running.get(i).copied()
                };
                let Some(id) = target else {
                    run.note(format!("{kind}: no target (no leader or nothing running)"));
                    return;
                };
                run.note(format!("start {kind} server {id}"));
                if let Err(err) = e.kill(id) {
                    run.note(format!("{kind} server {id} failed: {err}"));
                    return;
                }
                tokio::time::sleep(self.hold).await;
                run.note(format!("stop {kind}: restart server {id}"));
                if let Err(err) = e.restart(id).await {
                    run.note(format!("restart of server {id} failed: {err}"));
                }
            }
            FaultKind::PauseLeader => {
                let Ok(id) = e.leader().await else {
                    run.note(format!("{kind}: no leader"));
                    return;
                };
                run.note(format!("start {kind} server {id}"));
                match e.pause(id) {
                    Ok(guard) => {
                        tokio::time::sleep(self.hold).await;
                        run.note(format!("stop {kind}: resume server {id}"));
                        drop(guard);
                    }
                    Err(err) => run.note(format!("{kind} failed: {err}")),
                }
            }
            FaultKind::PartitionLeader | FaultKind::RandomHalves => {
                let sides: (Vec<ServerId>, Vec<ServerId>) = if kind == FaultKind::PartitionLeader {
                    let Ok(l) = e.leader().await else {
                        run.note(format!("{kind}: no leader"));
                        return;
                    };
                    (vec![l], e.ids().into_iter().filter(|id| *id != l).collect())
                } else {
                    let mut ids = e.ids();
                    rng.shuffle(&mut ids);
                    let half = ids.len() / 2;
                    let rest = ids.split_off(half);
                    (ids, rest)
                };
                run.note(format!("start {kind} {:?} | {:?}", sides.0, sides.1));
                match e.partition(&[&sides.0, &sides.1]) {
                    Ok(cut) => {
                        tokio::time::sleep(self.hold).await;
                        run.note(format!("stop {kind}: heal"));
                        drop(cut);
                    }
                    Err(err) => run.note(format!("{kind} failed: {err}")),
                }
            }
            FaultKind::ClientBlackhole | FaultKind::ClientReset => {
                let i = usize::try_from(rng.below(self.endpoints.len() as u64)).unwrap_or(0);
                let Some(ep) = self.endpoints.get(i) else {
                    return;
                };
                if kind == FaultKind::ClientReset {
                    run.note(format!("{kind} endpoint {}", ep.name()));
                    ep.reset_all();
                } else {
                    run.note(format!("start {kind} endpoint {}", ep.name()));
                    let hole = ep.blackhole();
                    tokio::time::sleep(self.hold).await;
                    run.note(format!("stop {kind} endpoint {}", ep.name()));
                    drop(hole);
                }
            }
            FaultKind::ExpireSession => {
                let Some((id, password)) = self.sessions.pick(rng) else {
                    run.note(format!("{kind}: no registered session"));
                    return;
                };
                run.note(format!("{kind} session 0x{id:x}"));
                match e.expire_session(id, &password).await {
                    Ok(()) => self.sessions.remove(id),
                    Err(err) => run.note(format!("{kind} session 0x{id:x} failed: {err}")),
                }
            }
        }
        let t0 = Instant::now();
        match e.wait_healthy(self.heal_timeout).await {
            Ok(h) => {
                let took = t0.elapsed();
                run.log.recoveries.push(took);
                run.note(format!("healthy after {:.3}s ({h})", took.as_secs_f64()));
            }
            Err(err) => {
                run.log.slow_recoveries += 1;
                run.note(format!("NOT healthy within {:?}: {err}", self.heal_timeout));
            }
        }
    }
}
