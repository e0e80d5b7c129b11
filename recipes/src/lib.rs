//! ZooKeeper recipes for tokio, built only on zk-client's public API and wire-compatible
//! with Curator (and, where asked, kazoo): a Rust process shares a lock with Java and
//! Python processes on the same path.
//!
//! What this crate does not do: it does not retry your writes, and it cannot make a lock
//! safe by itself. ZooKeeper tells a holder it *may* have lost a lock only when its
//! connection goes; a paused process can wake up believing it still holds one. Fence the
//! writes the lock protects (with [`LockGuard::fencing_token`](lock::LockGuard::fencing_token)
//! or [`LockGuard::fenced`](lock::LockGuard::fenced)) and stop work when
//! [`LockGuard::lost`](lock::LockGuard::lost) resolves.
//!
//! # Quick start
//!
//! ```no_run
//! use zk_recipes::lock::Mutex;
//!
//! # async fn _example() -> zk_recipes::Result<()> {
//! let client = zk_client::Client::connect("127.0.0.1:2181").await?;
//! let lock = Mutex::new(&client, "/locks/orders").data("worker-7");
//! let guard = lock.acquire().await?;
//! // Writes that commit only while the lock is ours:
//! guard.fenced().set_data("/orders/next", b"42", None).commit().await?;
//! guard.release().await?;
//! # Ok(()) }
//! ```
//!
//! # Recipes, and their Curator and kazoo counterparts
//!
//! | here | Curator | kazoo | node layout |
//! |---|---|---|---|
//! | [`lock::Mutex`] | `InterProcessMutex` | `Lock` (with [`lock::Compat::Kazoo`]) | `<path>/_c_{uuid}-lock-{seq}`; kazoo mode `<path>/{hex}__lock__{seq}` |
//! | [`lock::RwLock`] | `InterProcessReadWriteLock` | `ReadLock`, `WriteLock` (kazoo mode) | `_c_{uuid}-__READ__{seq}` / `_c_{uuid}-__WRIT__{seq}`; a downgraded read reuses the write's `{seq}` |
//! | [`lock::Semaphore`] | `InterProcessSemaphoreV2` | (`Semaphore`: another layout) | `<path>/locks/_c_{uuid}-lock-{seq}`, `<path>/leases/_c_{uuid}-lease-{seq}` |
//! | [`lock::SemaphoreMutex`] | `InterProcessSemaphoreMutex` | none | a semaphore of one lease |
//! | [`lock::MultiLock`] | `InterProcessMultiLock` | none | one mutex per path |
//! | [`lock::revoke`], [`lock::LostReason::Revoked`] | `Revoker`, `RevocationListener` | none | data `__REVOKE__` on the holder's node |
//! | [`election::LeaderLatch`] | `LeaderLatch` | none (`Election` is a lock) | `<path>/_c_{uuid}-latch-{seq}`, data = participant id |
//! | [`election::LeaderSelector`] | `LeaderSelector` | (`Election`: kazoo's lock layout, which cannot see others) | the mutex's: `<path>/_c_{uuid}-lock-{seq}` |
//! | [`election::Leadership`], [`election::observe`], [`election::LeaderLatch::proclaim`] | none (`LeaderLatchListener` only for participants) | `Election.contenders()` | the latch's |
//! | [`election::NameRegistry`] | none | none | a latch per name: `<base>/<name>/_c_{uuid}-latch-{seq}` |
//! | [`cache::TreeCache`] | `CuratorCache` (`TreeCache`) | `TreeCache` | reads a subtree to a depth; one persistent recursive watch |
//! | [`cache::ChildrenCache`] | `PathChildrenCache` | `ChildrenWatch` (with data) | one level |
//! | [`cache::NodeCache`] | `NodeCache` | `DataWatch` | one node |
//! | [`lease::Lease`], [`lease::MultiLease`] | none | `NonBlockingLease`, `MultiNonBlockingLease` | `<path>/lease_holder` (P, kazoo's JSON), written under a kazoo-layout lock at `<path>`; multi: `<path>/<n>/lease_holder` |
//! | [`barrier::Barrier`] | `DistributedBarrier` | `Barrier` | `<path>` itself (P): set while it exists |
//! | [`barrier::DoubleBarrier`] | `DistributedDoubleBarrier` | `DoubleBarrier` | `<path>/{uuid}` (E) per member, `<path>/ready` (P) once N have entered |
//! | [`counter::SharedValue`] | `SharedValue` | none | `<path>` (P), raw bytes |
//! | [`counter::SharedCount`] | `SharedCount` | `Counter(support_curator=True)` | `<path>` (P), `i32` 4 bytes big-endian |
//! | [`counter::AtomicLong`], [`counter::AtomicInteger`] | `DistributedAtomicLong`, `DistributedAtomicInteger` (with `PromotedToLock`) | none | `<path>` (P), `i64` 8 bytes / `i32` 4 bytes big-endian |
//! | [`counter::Counter`] | none (`SharedCount` with `support_curator`) | `Counter` | `<path>` (P), ASCII decimal; or `i32` 4 bytes big-endian |
//! | [`node::PersistentNode`] | `PersistentNode` | none | `<path>` in any mode; protected `<parent>/_c_{uuid}-<name>`, sequential `{seq}` appended |
//! | [`node::PersistentTtlNode`], [`node::create_ttl`] | `PersistentTtlNode` | none | `<path>` and `<path>/touch`, both PERSISTENT_WITH_TTL (server: `extendedTypesEnabled=true`) |
//! | [`membership::GroupMember`], [`membership::watch_group`] | `GroupMember` | none | `<path>/<id>` (E), data = payload |
//! | [`membership::Party`] | none | `Party` | `<path>/{hex}__party__` (E), data = identifier |
//! | [`membership::ShallowParty`] | none | `ShallowParty` | `<path>/{hex}-<identifier>` (E) |
//! | [`queue::SimpleDistributedQueue`] | `SimpleDistributedQueue` | none | `<path>/qn-{seq}` (PS), raw bytes |
//! | [`queue::DistributedQueue`] | `DistributedQueue` (with `lockPath`) | none | `<path>/queue-{seq}` (PS), Curator's item framing; claims `<lock path>/<item>` (E) |
//! | [`queue::DistributedPriorityQueue`], [`queue::DistributedDelayQueue`], [`queue::DistributedIdQueue`] | the same names | none | `queue-{1\|0}{priority:08X}{seq}`, `queue-\|{epoch ms:08X}\|{seq}`, `queue-\|{id}\|{seq}` |
//! | [`queue::KazooQueue`], [`queue::LockingQueue`] | none | `Queue`, `LockingQueue` | `<path>/entry-{priority:03}-{seq}` (PS); locking: `<path>/entries/…` and `<path>/taken/<entry>` (E) |
//! | [`partition::Partitioner`] | none | `SetPartitioner` | `<path>/party/{hex}-<identifier>` (E, a `ShallowParty`), `<path>/locks/<item>/{hex}__lock__{seq}` (ES, a kazoo `Lock`) |
//! | [`discovery::ServiceDiscovery`], [`discovery::ServiceCache`], [`discovery::ServiceProvider`] | `ServiceDiscovery`, `ServiceCache`, `ServiceProvider` (curator-x-discovery) | none | `<base>/<name>/<id>`: E (DYNAMIC), ES (DYNAMIC_SEQUENTIAL), P (STATIC, PERMANENT); data = the instance's JSON |
//! | [`discovery::Capabilities`] | none | none | a DYNAMIC instance per advertised service: `<base>/<service>/<uuid>` (E) |
//! | [`tasks::TaskScope`], [`tasks::Master`], [`tasks::Worker`] | none (the book's master-worker example; ZooChestrator) | none | `<scope>/master` (a latch), `<scope>/workers/worker-<id>` (E), `<scope>/tasks/task-{metadata}-{seq}` (PS), `<scope>/assign/worker-<id>/<task>` (P), `<scope>/status/<task>` (P) |
//! | [`state::ConnectionStates`], [`state::LossPolicy`] | `ConnectionState`, `ConnectionStateErrorPolicy` | `KazooState` | none |
//! | [`protected`] | `withProtection()` | the fixed `{hex}` lock prefix | `_c_{uuid}-<name>` |
//!
//! # Guarantees, and what the caller must still do
//!
//! - Mutual exclusion among live sessions that use Curator's layout (ours, Curator's,
//!   kazoo's with `extra_lock_patterns=["-lock-"]`). Grants are FIFO by sequence.
//! - A holder learns of possible loss ([`lock::LockGuard::lost`]) no later than another
//!   client can take the lock, under the default (standard) loss policy.
//! - Read-write: readers share until a writer queued before them; a downgraded read keeps
//!   the writer's place (CURATOR-621); an upgrade is refused, not a deadlock.
//! - Semaphore: never more than N leases, counted among live sessions; a cancelled wait
//!   leaves no lease (CURATOR-462) and gives the internal mutex back.
//! - Elections: at most one leader among live sessions; leadership is granted only while
//!   our node is first and owned by our current session (CURATOR-696), and ends under the
//!   loss policy no later than another participant can lead; each term has a fencing
//!   token and a [`fenced`](election::Leadership::fenced) multi; [`election::observe`]
//!   reports leaders in the order the server made them, and reads again after a
//!   reconnect.
//! - Caches: a watch event is only a reason to read a node again, so a cache holds what
//!   the server returned, never a guess; after a reconnect it reads everything again and
//!   reports only real differences (a root deleted and made again, changes made while
//!   disconnected).
//! - Barriers: a wait passes only on what the server says (the node gone; `ready` read or
//!   seen created, or N members counted), never on a wake-up alone (GH-1290); N is a
//!   threshold, not a limit; a timed-out, failed or dropped `enter` or `leave` leaves no
//!   member node to be counted (CURATOR-80); every timeout is kept, also while
//!   disconnected (CURATOR-536).
//! - Counters: writers that check versions never lose an increment nor count one twice;
//!   a write whose reply was lost is reported as such, never retried; shared values are
//!   ordered by mzxid and read again after every reconnect (CURATOR-311, CURATOR-688).
//! - Discovery: instances are written as Curator writes them and read tolerantly (a node
//!   that is not an instance is skipped, CURATOR-574); a dynamic instance is registered
//!   again only on a new session, with its latest data (CURATOR-320, CURATOR-146/181);
//!   an unregistered instance does not come back (CURATOR-164); PERMANENT instances
//!   outlive close (CURATOR-94).
//! - Nothing is left behind: a dropped, timed-out or failed acquire, and a dropped guard,
//!   delete their node in the background until the delete lands or the session ends.
//! - The caller fences the writes the lock protects, and stops when `lost()` resolves.
#![forbid(unsafe_code)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]
#![doc(test(attr(deny(warnings))))]

pub mod barrier;
pub mod cache;
pub mod counter;
pub mod discovery;
pub mod election;
pub mod lease;
pub mod lock;
pub mod membership;
pub mod node;
pub mod partition;
pub mod protected;
pub mod queue;
pub mod state;
pub mod tasks;

mod error;

pub use error::{Error, Result};
