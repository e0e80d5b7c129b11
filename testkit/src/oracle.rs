//! The server-side oracle: what the ensemble actually committed, read from the transaction
//! logs of every server and merged into one list ordered by zxid.
//!
//! The logs are parsed directly (the format `TxnLogToolkit` prints: file header `ZKLG`,
//! then `crc, length, TxnHeader + record, 'B'` entries, zero-padded). Each server keeps
//! only part of the history (a server that was down receives a snapshot or a diff, not the
//! transactions), so the logs of all servers are merged and de-duplicated by zxid
//! (the server's own record of what happened, to check histories against).
//! [`toolkit_dump`] runs ZooKeeper's own `TxnLogToolkit` on a
//! file, to cross-check.
//!
//! Session expiry shows up as the owner's `closeSession`; its ephemeral nodes are not
//! logged as separate deletes. [`TxnLog::node_lifetimes`] accounts for that.
//!
//! Read the oracle when every server runs and has synced: a server that stays down may hold
//! a proposal that was never committed, and a restarted server truncates such entries
//! when it syncs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::discovery::Installation;
use crate::ensemble::Ensemble;
use crate::error::{Error, Result};

const TXNLOG_MAGIC: i32 = 0x5a4b_4c47; // "ZKLG"

/// How a node was created.
///
/// # Examples
///
/// ```
/// assert_ne!(zk_testkit::NodeKind::Persistent, zk_testkit::NodeKind::Ephemeral);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeKind {
    /// Persistent (sequential or not).
    Persistent,
    /// Ephemeral (sequential or not): owned by the creating session.
    Ephemeral,
    /// A container node.
    Container,
    /// A TTL node, with its TTL in milliseconds.
    Ttl(i64),
}

/// One committed change.
///
/// # Examples
///
/// ```
/// use zk_testkit::TxnOp;
///
/// let op = TxnOp::Delete { path: "/a".into() };
/// assert_eq!(op.path(), Some("/a"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxnOp {
    /// A session was created.
    CreateSession {
        /// The negotiated timeout, ms.
        timeout_ms: i32,
    },
    /// A session was closed or expired.
    CloseSession,
    /// A node was created.
    Create {
        /// The created path (with any sequence suffix).
        path: String,
        /// Its data.
        data: Vec<u8>,
        /// Its kind.
        kind: NodeKind,
    },
    /// A node was deleted.
    Delete {
        /// The path.
        path: String,
    },
    /// A node's data was set.
    SetData {
        /// The path.
        path: String,
        /// The new data.
        data: Vec<u8>,
        /// The node's new version.
        version: i32,
    },
    /// A node's ACL was set.
    SetAcl {
        /// The path.
        path: String,
    },
    /// A version check inside a multi.
    Check {
        /// The path.
        path: String,
        /// The expected version.
        version: i32,
    },
    /// A failed request (or failed multi member) with its error code.
    Error {
        /// ZooKeeper's error code.
        code: i32,
    },
    /// A transaction type this oracle does not decode.
    Other {
        /// The transaction type (opcode).
        op_type: i32,
    },
}

impl TxnOp {
    /// The path the change is about, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::TxnOp::CloseSession.path(), None);
    /// ```
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Create { path, .. }
            | Self::Delete { path }
            | Self::SetData { path, .. }
            | Self::SetAcl { path }
            | Self::Check { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// A committed transaction (or one member of a multi).
///
/// # Examples
///
/// ```
/// use zk_testkit::{TxnEvent, TxnOp};
///
/// let e = TxnEvent { zxid: 0x1_0000_0001, index: 0, session: 7, cxid: 1, time_ms: 0, op: TxnOp::CloseSession };
/// assert_eq!(e.epoch(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnEvent {
    /// The transaction id.
    pub zxid: i64,
    /// 0, or the position inside a multi.
    pub index: u32,
    /// The session that issued it.
    pub session: i64,
    /// The session's request counter.
    pub cxid: i32,
    /// The leader's wall-clock time, ms since the epoch.
    pub time_ms: i64,
    /// What changed.
    pub op: TxnOp,
}

impl TxnEvent {
    /// The leader epoch (high 32 bits of the zxid).
    ///
    /// # Examples
    ///
    /// ```
    /// # let e = zk_testkit::TxnEvent { zxid: 0x2_0000_0005, index: 0, session: 0, cxid: 0, time_ms: 0, op: zk_testkit::TxnOp::CloseSession };
    /// assert_eq!(e.epoch(), 2);
    /// ```
    pub fn epoch(&self) -> u32 {
        u32::try_from(self.zxid >> 32).unwrap_or(0)
    }
}

/// The life of one node in zxid space: created at `created`, ended by an explicit delete
/// or, for an ephemeral, by its owner's session close (whichever comes first).
///
/// # Examples
///
/// ```no_run
/// # fn _demo(log: &zk_testkit::TxnLog) {
/// for life in log.node_lifetimes() {
///     println!("{} [{:#x}, {:?})", life.path, life.created, life.ended);
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeLifetime {
    /// The node.
    pub path: String,
    /// The zxid that created it.
    pub created: i64,
    /// The owning session, for ephemerals.
    pub owner: Option<i64>,
    /// The zxid that ended it (`None`: still alive at the end of the logs).
    pub ended: Option<i64>,
}

/// Everything the servers committed, merged and ordered by zxid.
///
/// # Examples
///
/// ```no_run
/// # async fn _demo(ensemble: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
/// let log = zk_testkit::TxnLog::read(ensemble)?;
/// for e in log.changes() {
///     println!("{:#x} session {:#x}: {:?}", e.zxid, e.session, e.op);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnLog {
    events: Vec<TxnEvent>,
}

impl TxnLog {
    /// Reads and merges the transaction logs of every server of `ensemble`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a log folder cannot be read; [`Error::Protocol`] when a file is
    /// not a transaction log.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn _demo(e: &zk_testkit::Ensemble) -> zk_testkit::Result<()> {
    /// assert!(!zk_testkit::TxnLog::read(e)?.events().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn read(ensemble: &Ensemble) -> Result<Self> {
        let mut dirs = Vec::new();
        for id in ensemble.ids() {
            dirs.push(ensemble.data_log_dir(id)?.to_path_buf());
        }
        Self::read_dirs(&dirs)
    }

    /// Reads and merges the logs in these `dataLogDir` folders (their `version-2/log.*`).
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let log = zk_testkit::TxnLog::read_dirs(&["/var/lib/zookeeper".into()])?;
    /// # let _ = log; Ok::<(), zk_testkit::Error>(())
    /// ```
    ///
    /// Only transactions logged by a majority of the servers are kept: a committed
    /// transaction is logged by a quorum before it commits, while a proposal that a killed
    /// leader logged alone was never committed (and would otherwise show a node that never
    /// existed).
    pub fn read_dirs(dirs: &[PathBuf]) -> Result<Self> {
        let mut merged: BTreeMap<(i64, u32), (TxnEvent, usize)> = BTreeMap::new();
        for dir in dirs {
            let mut seen = std::collections::BTreeSet::new();
            for file in log_files(dir)? {
                for e in read_log_file(&file)? {
                    let key = (e.zxid, e.index);
                    let first_here = seen.insert(key);
                    let entry = merged.entry(key).or_insert((e, 0));
                    if first_here {
                        entry.1 += 1;
                    }
                }
            }
        }
        let quorum = dirs.len() / 2 + 1;
        Ok(Self {
            events: merged
                .into_values()
                .filter(|(_, logs)| *logs >= quorum)
                .map(|(e, _)| e)
                .collect(),
        })
    }

    /// Every committed transaction, ordered by zxid (multi members in order).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::TxnLog::default().events().is_empty());
    /// ```
    pub fn events(&self) -> &[TxnEvent] {
        &self.events
    }

    /// The creates, deletes and session closes, in zxid order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zk_testkit::TxnLog::default().changes().count(), 0);
    /// ```
    pub fn changes(&self) -> impl Iterator<Item = &TxnEvent> {
        self.events.iter().filter(|e| {
            matches!(
                e.op,
                TxnOp::Create { .. } | TxnOp::Delete { .. } | TxnOp::CloseSession
            )
        })
    }

    /// A log made of `events` (put in zxid order), for checkers' own tests.
    ///
    /// # Examples
    ///
    /// ```
    /// let log = zk_testkit::TxnLog::from_events(Vec::new());
    /// assert!(log.events().is_empty());
    /// ```
    pub fn from_events(mut events: Vec<TxnEvent>) -> Self {
        events.sort_by_key(|e| (e.zxid, e.index));
        Self { events }
    }

    /// Every node's lifetime in zxid order of creation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zk_testkit::TxnLog::default().node_lifetimes().is_empty());
    /// ```
    pub fn node_lifetimes(&self) -> Vec<NodeLifetime> {
        let mut lives: Vec<NodeLifetime> = Vec::new();
        let mut open: HashMap<String, usize> = HashMap::new();
        for e in &self.events {
            match &e.op {
                TxnOp::Create { path, kind, .. } => {
                    open.insert(path.clone(), lives.len());
                    lives.push(NodeLifetime {
                        path: path.clone(),
                        created: e.zxid,
                        owner: (*kind == NodeKind::Ephemeral).then_some(e.session),
                        ended: None,
                    });
                }
                TxnOp::Delete { path } => {
                    if let Some(i) = open.remove(path) {
                        lives[i].ended = Some(e.zxid);
                    }
                }
                TxnOp::CloseSession => {
                    let owned: Vec<String> = open
                        .iter()
                        .filter(|(_, i)| lives[**i].owner == Some(e.session))
                        .map(|(p, _)| p.clone())
                        .collect();
                    for p in owned {
                        if let Some(i) = open.remove(&p) {
                            lives[i].ended = Some(e.zxid);
                        }
                    }
                }
                _ => {}
            }
        }
        lives
    }
}

/// The `log.*` files of a `dataLogDir`, oldest first.
fn log_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let v2 = dir.join("version-2");
    let read = match std::fs::read_dir(&v2) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", v2.display()), e)),
    };
    let mut files: Vec<(i64, PathBuf)> = read
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let hex = name.strip_prefix("log.")?;
            let zxid = i64::from_str_radix(hex, 16).ok()?;
            Some((zxid, entry.path()))
        })
        .collect();
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Parses one transaction log file. A torn last entry (a server killed mid-write) ends the
/// file quietly, as ZooKeeper itself treats it.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, [`Error::Protocol`] when it does not start
/// with the transaction log header.
///
/// # Examples
///
/// ```no_run
/// let events = zk_testkit::oracle::read_log_file("/tmp/zk/datalog/version-2/log.1".as_ref())?;
/// # let _ = events; Ok::<(), zk_testkit::Error>(())
/// ```
pub fn read_log_file(path: &Path) -> Result<Vec<TxnEvent>> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    parse_log(&bytes).map_err(|why| Error::Protocol(format!("{}: {why}", path.display())))
}

fn parse_log(bytes: &[u8]) -> std::result::Result<Vec<TxnEvent>, String> {
    let mut r = Reader::new(bytes);
    let magic = r.int().ok_or("file shorter than its header")?;
    if magic != TXNLOG_MAGIC {
        return Err(format!("bad magic {magic:#x}, not a transaction log"));
    }
    let _version = r.int().ok_or("file shorter than its header")?;
    let _dbid = r.long().ok_or("file shorter than its header")?;
    let mut out = Vec::new();
    while let Some(_crc) = r.long() {
        let Some(len) = r.int() else { break };
        if len <= 0 {
            break; // pre-allocated zeros: the end of the log
        }
        let Some(entry) = r.take(usize::try_from(len).unwrap_or(usize::MAX)) else {
            break;
        };
        if r.byte() != Some(b'B') {
            break;
        }
        if let Some(mut events) = parse_entry(entry) {
            out.append(&mut events);
        }
    }
    Ok(out)
}

fn parse_entry(entry: &[u8]) -> Option<Vec<TxnEvent>> {
    let mut r = Reader::new(entry);
    let session = r.long()?;
    let cxid = r.int()?;
    let zxid = r.long()?;
    let time_ms = r.long()?;
    let op_type = r.int()?;
    let event = |index: u32, op: TxnOp| TxnEvent {
        zxid,
        index,
        session,
        cxid,
        time_ms,
        op,
    };
    if op_type == 14 {
        // multi: vector<Txn { int type; buffer data }>
        let count = r.int()?;
        let mut events = Vec::new();
        for i in 0..u32::try_from(count.max(0)).ok()? {
            let sub_type = r.int()?;
            let data = r.buffer()?.unwrap_or_default();
            let op = parse_record(sub_type, &mut Reader::new(data))
                .unwrap_or(TxnOp::Other { op_type: sub_type });
            events.push(event(i, op));
        }
        return Some(events);
    }
    let op = parse_record(op_type, &mut r).unwrap_or(TxnOp::Other { op_type });
    Some(vec![event(0, op)])
}

fn parse_record(op_type: i32, r: &mut Reader<'_>) -> Option<TxnOp> {
    Some(match op_type {
        -10 => TxnOp::CreateSession {
            timeout_ms: r.int()?,
        },
        -11 => TxnOp::CloseSession,
        1 | 15 => {
            let path = r.string()?;
            let data = r.buffer()?.unwrap_or_default().to_vec();
            r.skip_acls()?;
            let ephemeral = r.byte()? != 0;
            TxnOp::Create {
                path,
                data,
                kind: if ephemeral {
                    NodeKind::Ephemeral
                } else {
                    NodeKind::Persistent
                },
            }
        }
        19 => {
            let path = r.string()?;
            let data = r.buffer()?.unwrap_or_default().to_vec();
            TxnOp::Create {
                path,
                data,
                kind: NodeKind::Container,
            }
        }
        21 => {
            let path = r.string()?;
            let data = r.buffer()?.unwrap_or_default().to_vec();
            r.skip_acls()?;
            let _parent_cversion = r.int()?;
            let ttl = r.long()?;
            TxnOp::Create {
                path,
                data,
                kind: NodeKind::Ttl(ttl),
            }
        }
        2 | 20 => TxnOp::Delete { path: r.string()? },
        5 | 16 => {
            let path = r.string()?;
            let data = r.buffer()?.unwrap_or_default().to_vec();
            let version = r.int()?;
            TxnOp::SetData {
                path,
                data,
                version,
            }
        }
        7 => TxnOp::SetAcl { path: r.string()? },
        13 => {
            let path = r.string()?;
            TxnOp::Check {
                path,
                version: r.int()?,
            }
        }
        -1 => TxnOp::Error { code: r.int()? },
        _ => return None,
    })
}

/// A big-endian jute reader over a byte slice; every read checks the remaining length.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn int(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn long(&mut self) -> Option<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(i64::from_be_bytes(a))
    }

    /// A jute buffer; `Some(None)` for the null buffer (length −1).
    fn buffer(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.int()?;
        if len < 0 {
            return Some(None);
        }
        self.take(usize::try_from(len).ok()?).map(Some)
    }

    fn string(&mut self) -> Option<String> {
        let bytes = self.buffer()?.unwrap_or_default();
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// vector<ACL { int perms; Id { ustring scheme; ustring id } }>
    fn skip_acls(&mut self) -> Option<()> {
        let count = self.int()?;
        for _ in 0..count.max(0) {
            self.int()?;
            self.buffer()?;
            self.buffer()?;
        }
        Some(())
    }
}

/// Runs ZooKeeper's `TxnLogToolkit` on one log file and returns what it printed.
///
/// # Errors
///
/// [`Error::Io`] when Java cannot run, [`Error::Command`] when the tool fails.
///
/// # Examples
///
/// ```no_run
/// let install = zk_testkit::Installation::discover()?;
/// let text = zk_testkit::oracle::toolkit_dump(&install, "/tmp/zk/datalog/version-2/log.1".as_ref())?;
/// for (zxid, op) in zk_testkit::oracle::parse_toolkit_dump(&text) { println!("{zxid:#x} {op}"); }
/// # Ok::<(), zk_testkit::Error>(())
/// ```
pub fn toolkit_dump(install: &Installation, file: &Path) -> Result<String> {
    let out = Command::new(install.java())
        .args([
            "-Xmx64m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Dzookeeper.root.logger=WARN,CONSOLE",
            "-cp",
            &install.classpath_string(None),
            "org.apache.zookeeper.server.persistence.TxnLogToolkit",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("running TxnLogToolkit", e))?;
    if !out.status.success() {
        return Err(Error::Command {
            command: format!("TxnLogToolkit {}", file.display()),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Extracts `(zxid, operation name)` from [`toolkit_dump`] output lines such as
/// `... session 0x1000 cxid 0x0 zxid 0x2 createSession 4000`.
///
/// # Examples
///
/// ```
/// let text = "11/21/26, 10:00:00 AM UTC session 0x100 cxid 0x1 zxid 0x3 create '/a,,v{s{31,s{'world,'anyone}}},F,1\n";
/// assert_eq!(zk_testkit::oracle::parse_toolkit_dump(text), vec![(3, "create".to_owned())]);
/// ```
pub fn parse_toolkit_dump(text: &str) -> Vec<(i64, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = &line[line.find(" zxid 0x")? + " zxid 0x".len()..];
            let mut parts = rest.split_whitespace();
            let zxid = i64::from_str_radix(parts.next()?, 16).ok()?;
            let op = parts.next()?.to_owned();
            Some((zxid, op))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_str(v: &mut Vec<u8>, s: &str) {
        v.extend_from_slice(&i32::try_from(s.len()).expect("len").to_be_bytes());
        v.extend_from_slice(s.as_bytes());
    }

    fn entry(session: i64, zxid: i64, op: i32, body: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&session.to_be_bytes());
        e.extend_from_slice(&1i32.to_be_bytes());
        e.extend_from_slice(&zxid.to_be_bytes());
        e.extend_from_slice(&0i64.to_be_bytes());
        e.extend_from_slice(&op.to_be_bytes());
        e.extend_from_slice(body);
        let mut framed = Vec::new();
        framed.extend_from_slice(&0i64.to_be_bytes());
        framed.extend_from_slice(&i32::try_from(e.len()).expect("len").to_be_bytes());
        framed.extend_from_slice(&e);
        framed.push(b'B');
        framed
    }

    #[test]
    fn parses_creates_deletes_and_closes_and_tracks_lifetimes() {
        let mut file = Vec::new();
        file.extend_from_slice(&TXNLOG_MAGIC.to_be_bytes());
        file.extend_from_slice(&2i32.to_be_bytes());
        file.extend_from_slice(&0i64.to_be_bytes());
        let mut create = Vec::new();
        put_str(&mut create, "/e");
        create.extend_from_slice(&(-1i32).to_be_bytes()); // null data
        create.extend_from_slice(&1i32.to_be_bytes()); // one ACL
        create.extend_from_slice(&31i32.to_be_bytes());
        put_str(&mut create, "world");
        put_str(&mut create, "anyone");
        create.push(1); // ephemeral
        create.extend_from_slice(&1i32.to_be_bytes());
        file.extend(entry(7, 1, -10, &4000i32.to_be_bytes()));
        file.extend(entry(7, 2, 1, &create));
        file.extend(entry(7, 3, -11, &[]));
        file.extend([0u8; 64]);
        let events = parse_log(&file).expect("parse");
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].op, TxnOp::CreateSession { timeout_ms: 4000 });
        assert!(
            matches!(&events[1].op, TxnOp::Create { path, kind: NodeKind::Ephemeral, .. } if path == "/e")
        );
        let log = TxnLog { events };
        let lives = log.node_lifetimes();
        assert_eq!(lives[0].owner, Some(7));
        assert_eq!(lives[0].ended, Some(3));
    }

    #[test]
    fn a_torn_entry_ends_the_log() {
        let mut file = Vec::new();
        file.extend_from_slice(&TXNLOG_MAGIC.to_be_bytes());
        file.extend_from_slice(&2i32.to_be_bytes());
        file.extend_from_slice(&0i64.to_be_bytes());
        let e = entry(7, 1, -11, &[]);
        file.extend_from_slice(&e[..e.len() - 3]);
        assert!(parse_log(&file).expect("parse").is_empty());
    }
}
