//! The small enumerations and flags of the protocol: events, states, create modes, watch
//! modes and permissions.

use crate::wire_enum::{closed_enum, open_enum};

open_enum! {
    /// The type of a watch event (`Watcher.Event.EventType`).
    ///
    /// ```
    /// use zk_proto::EventType;
    /// assert_eq!(EventType::from(3), EventType::NodeDataChanged);
    /// ```
    pub enum EventType {
        /// A session event (client-generated).
        None = -1,
        /// The node was created.
        NodeCreated = 1,
        /// The node was deleted.
        NodeDeleted = 2,
        /// The node's data changed.
        NodeDataChanged = 3,
        /// The node's children changed.
        NodeChildrenChanged = 4,
        /// A data watch was removed (client-generated).
        DataWatchRemoved = 5,
        /// A child watch was removed (client-generated).
        ChildWatchRemoved = 6,
        /// A persistent watch was removed (client-generated).
        PersistentWatchRemoved = 7,
    }
}

open_enum! {
    /// The session state carried by a watch event (`Watcher.Event.KeeperState`).
    ///
    /// The server only ever sends `SyncConnected`; the others are client-generated.
    ///
    /// ```
    /// use zk_proto::KeeperState;
    /// assert_eq!(KeeperState::from(-112), KeeperState::Expired);
    /// ```
    pub enum KeeperState {
        /// Deprecated.
        UnknownState = -1,
        /// Disconnected from the ensemble.
        Disconnected = 0,
        /// Deprecated.
        NoSyncConnected = 1,
        /// Connected.
        SyncConnected = 3,
        /// Authentication failed.
        AuthFailed = 4,
        /// Connected to a read-only server.
        ConnectedReadOnly = 5,
        /// SASL authentication succeeded.
        SaslAuthenticated = 6,
        /// The session expired.
        Expired = -112,
        /// The client closed the session.
        Closed = 7,
    }
}

closed_enum! {
    /// How a node is created: the `flags` of `CreateRequest` (`CreateMode`).
    ///
    /// ```
    /// use zk_proto::{CreateMode, OpCode};
    /// let mode = CreateMode::EphemeralSequential;
    /// assert!(mode.is_ephemeral() && mode.is_sequential());
    /// assert_eq!(mode.op_code(true), OpCode::Create2);
    /// assert_eq!(CreateMode::PersistentWithTtl.op_code(false), OpCode::CreateTtl);
    /// ```
    pub enum CreateMode {
        /// A persistent node.
        Persistent = 0,
        /// Deleted when the session ends.
        Ephemeral = 1,
        /// Persistent, with a sequence suffix.
        PersistentSequential = 2,
        /// Ephemeral, with a sequence suffix.
        EphemeralSequential = 3,
        /// Deleted by the server once its last child is gone.
        Container = 4,
        /// Deleted once unmodified and childless for its TTL.
        PersistentWithTtl = 5,
        /// TTL, with a sequence suffix.
        PersistentSequentialWithTtl = 6,
    }
}

impl CreateMode {
    /// Whether the node ends with the session.
    pub const fn is_ephemeral(self) -> bool {
        matches!(self, Self::Ephemeral | Self::EphemeralSequential)
    }

    /// Whether the server appends a 10-digit sequence suffix.
    pub const fn is_sequential(self) -> bool {
        matches!(
            self,
            Self::PersistentSequential
                | Self::EphemeralSequential
                | Self::PersistentSequentialWithTtl
        )
    }

    /// Whether this is a container node.
    pub const fn is_container(self) -> bool {
        matches!(self, Self::Container)
    }

    /// Whether the node has a TTL (sent with `CreateTTLRequest`).
    pub const fn is_ttl(self) -> bool {
        matches!(
            self,
            Self::PersistentWithTtl | Self::PersistentSequentialWithTtl
        )
    }

    /// The opcode that creates a node of this mode, as the Java client picks it:
    /// TTL modes need `CreateTtl`, containers `CreateContainer`; otherwise `Create2` when a
    /// Stat is wanted and `Create` when not.
    pub const fn op_code(self, with_stat: bool) -> crate::OpCode {
        use crate::OpCode;
        match self {
            Self::Container => OpCode::CreateContainer,
            Self::PersistentWithTtl | Self::PersistentSequentialWithTtl => OpCode::CreateTtl,
            _ if with_stat => OpCode::Create2,
            _ => OpCode::Create,
        }
    }
}

closed_enum! {
    /// The mode of a persistent watch added with `addWatch` (`AddWatchMode`).
    ///
    /// ```
    /// use zk_proto::AddWatchMode;
    /// assert_eq!(AddWatchMode::PersistentRecursive.code(), 1);
    /// ```
    pub enum AddWatchMode {
        /// Fires for the node's data, creation, deletion and children; stays registered.
        Persistent = 0,
        /// Fires for the node and every descendant (no children events); stays registered.
        PersistentRecursive = 1,
    }
}

closed_enum! {
    /// Which watches `checkWatches`/`removeWatches` apply to (`Watcher.WatcherType`).
    ///
    /// `Persistent` and `PersistentRecursive` need a 3.9 server; 3.8 answers
    /// MARSHALLINGERROR.
    ///
    /// ```
    /// use zk_proto::WatcherType;
    /// assert_eq!(WatcherType::Any.code(), 3);
    /// ```
    pub enum WatcherType {
        /// Child watches.
        Children = 1,
        /// Data and exist watches.
        Data = 2,
        /// Every watch, persistent ones included.
        Any = 3,
        /// Persistent watches (3.9+).
        Persistent = 4,
        /// Persistent recursive watches (3.9+).
        PersistentRecursive = 5,
    }
}

/// ACL permission bits (`ZooDefs.Perms`).
///
/// ```
/// use zk_proto::Perms;
/// let rw = Perms::READ | Perms::WRITE;
/// assert!(rw.contains(Perms::READ));
/// assert!(!rw.contains(Perms::ADMIN));
/// assert_eq!(Perms::ALL.bits(), 31);
/// assert_eq!(rw.to_string(), "rw");
/// assert_eq!(Perms::ALL.to_string(), "cdrwa");
/// ```
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct Perms(i32);

impl Perms {
    /// No permission.
    pub const NONE: Self = Self(0);
    /// Read data and list children.
    pub const READ: Self = Self(1);
    /// Write data.
    pub const WRITE: Self = Self(2);
    /// Create children.
    pub const CREATE: Self = Self(4);
    /// Delete children.
    pub const DELETE: Self = Self(8);
    /// Set the ACL.
    pub const ADMIN: Self = Self(16);
    /// Every permission.
    pub const ALL: Self = Self(31);

    /// Permissions from raw bits; unknown bits are kept.
    pub const fn from_bits(bits: i32) -> Self {
        Self(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> i32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Perms {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Perms {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// zkCli's letters: `c`reate, `d`elete, `r`ead, `w`rite, `a`dmin.
impl std::fmt::Display for Perms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (perm, letter) in [
            (Self::CREATE, 'c'),
            (Self::DELETE, 'd'),
            (Self::READ, 'r'),
            (Self::WRITE, 'w'),
            (Self::ADMIN, 'a'),
        ] {
            if self.contains(perm) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

impl crate::Record for Perms {
    const MIN_LEN: usize = 4;
    fn encode<B: bytes::BufMut>(&self, buf: &mut B) {
        buf.put_i32(self.0);
    }
    fn decode<B: bytes::Buf>(buf: &mut B) -> Result<Self, crate::DecodeError> {
        i32::decode(buf).map(Self)
    }
    fn encoded_len(&self) -> usize {
        4
    }
}

#[cfg(test)]
impl crate::testing::Gen for Perms {
    fn strategy() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::strategy::Strategy as _;
        <i32 as crate::testing::Gen>::strategy()
            .prop_map(Self)
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpCode;

    #[test]
    fn create_mode_flags_match_java() {
        let codes: Vec<i32> = CreateMode::ALL.iter().map(|m| m.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6]);
        assert!(CreateMode::try_from(7).is_err());
        assert_eq!(CreateMode::Persistent.op_code(false), OpCode::Create);
        assert_eq!(
            CreateMode::Container.op_code(false),
            OpCode::CreateContainer
        );
        assert!(CreateMode::PersistentSequentialWithTtl.is_ttl());
        assert!(CreateMode::PersistentSequentialWithTtl.is_sequential());
        assert!(!CreateMode::Container.is_ephemeral());
    }

    #[test]
    fn unknown_event_values_are_kept() {
        assert_eq!(EventType::from(42), EventType::Unknown(42));
        assert_eq!(EventType::Unknown(42).code(), 42);
        assert_eq!(KeeperState::from(3), KeeperState::SyncConnected);
    }

    #[test]
    fn perms_combine() {
        let mut p = Perms::NONE;
        p |= Perms::CREATE;
        p |= Perms::DELETE;
        assert_eq!(p.bits(), 12);
        assert_eq!(p.to_string(), "cd");
    }
}
