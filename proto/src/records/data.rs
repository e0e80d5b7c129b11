//! The `org.apache.zookeeper.data` module: identities, ACLs and node statistics.

use crate::Perms;
use crate::jute::record;

record! {
    /// An identity: an authentication scheme and an id within it (`Id`).
    ///
    /// ```
    /// use zk_proto::records::Id;
    /// let anyone = Id { scheme: "world".into(), id: "anyone".into() };
    /// assert_eq!(anyone, Id::anyone());
    /// ```
    #[derive(Default, Hash)]
    pub struct Id {
        /// The scheme: `world`, `auth`, `digest`, `ip`, `x509`, `sasl`, ...
        pub scheme: String,
        /// The id within the scheme.
        pub id: String,
    }
}

impl Id {
    /// `world:anyone`, everybody.
    pub fn anyone() -> Self {
        Self {
            scheme: "world".into(),
            id: "anyone".into(),
        }
    }

    /// `auth:`, the identities the creating session authenticated with.
    pub fn creator() -> Self {
        Self {
            scheme: "auth".into(),
            id: String::new(),
        }
    }
}

record! {
    /// A permission granted to an identity (`ACL`).
    ///
    /// ```
    /// use zk_proto::{Perms, records::{Acl, Id}};
    /// let acl = Acl { perms: Perms::READ, id: Id::anyone() };
    /// assert_eq!(acl.perms.bits(), 1);
    /// ```
    #[derive(Default, Hash)]
    pub struct Acl {
        /// The permissions granted.
        pub perms: Perms,
        /// Who they are granted to.
        pub id: Id,
    }
}

record! {
    /// The metadata of a node as clients see it (`Stat`); 68 bytes on the wire.
    ///
    /// ```
    /// use zk_proto::{Record, records::Stat};
    /// let stat = Stat { version: 3, data_length: 5, ..Stat::default() };
    /// assert_eq!(stat.encoded_len(), 68);
    /// ```
    #[derive(Copy, Default, Hash)]
    pub struct Stat {
        /// The zxid of the create.
        pub czxid: i64,
        /// The zxid of the last data change.
        pub mzxid: i64,
        /// Creation time, ms since the epoch.
        pub ctime: i64,
        /// Last modification time, ms since the epoch.
        pub mtime: i64,
        /// Number of data changes.
        pub version: i32,
        /// Number of child changes.
        pub cversion: i32,
        /// Number of ACL changes.
        pub aversion: i32,
        /// The owning session of an ephemeral node, else 0 (also 0 for TTL and container nodes).
        pub ephemeral_owner: i64,
        /// Length of the data.
        pub data_length: i32,
        /// Number of children.
        pub num_children: i32,
        /// The zxid of the last child change.
        pub pzxid: i64,
    }
}

record! {
    /// The persisted form of [`Stat`] (`StatPersisted`), as found in snapshots.
    ///
    /// ```
    /// use zk_proto::{Record, records::StatPersisted};
    /// assert_eq!(StatPersisted::default().encoded_len(), 60);
    /// ```
    #[derive(Copy, Default, Hash)]
    pub struct StatPersisted {
        /// The zxid of the create.
        pub czxid: i64,
        /// The zxid of the last data change.
        pub mzxid: i64,
        /// Creation time, ms since the epoch.
        pub ctime: i64,
        /// Last modification time, ms since the epoch.
        pub mtime: i64,
        /// Number of data changes.
        pub version: i32,
        /// Number of child changes.
        pub cversion: i32,
        /// Number of ACL changes.
        pub aversion: i32,
        /// The owning session of an ephemeral node, else 0.
        pub ephemeral_owner: i64,
        /// The zxid of the last child change.
        pub pzxid: i64,
    }
}

record! {
    /// One identity of the session, as listed by whoAmI (`ClientInfo`).
    ///
    /// ```
    /// use zk_proto::records::ClientInfo;
    /// let info = ClientInfo { auth_scheme: "ip".into(), user: "127.0.0.1".into() };
    /// assert_eq!(info.user, "127.0.0.1");
    /// ```
    #[derive(Default, Hash)]
    pub struct ClientInfo {
        /// The scheme.
        pub auth_scheme: String,
        /// The identity within the scheme.
        pub user: String,
    }
}

impl Acl {
    /// `ALL` for `world:anyone`: anyone may do anything (ZooKeeper's `OPEN_ACL_UNSAFE`).
    pub fn open_unsafe() -> Self {
        Self {
            perms: Perms::ALL,
            id: Id::anyone(),
        }
    }

    /// `READ` for `world:anyone` (ZooKeeper's `READ_ACL_UNSAFE`).
    pub fn read_unsafe() -> Self {
        Self {
            perms: Perms::READ,
            id: Id::anyone(),
        }
    }

    /// `ALL` for the creating session's identities (ZooKeeper's `CREATOR_ALL_ACL`).
    pub fn creator_all() -> Self {
        Self {
            perms: Perms::ALL,
            id: Id::creator(),
        }
    }
}
