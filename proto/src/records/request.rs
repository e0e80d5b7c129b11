//! Request bodies (`org.apache.zookeeper.proto`), sent after a [`RequestHeader`](super::RequestHeader).

use bytes::Bytes;

use super::Acl;
use crate::jute::record;
use crate::{AddWatchMode, CreateMode, WatcherType};

record! {
    /// Reads a node's data and Stat (`GetDataRequest`); also getConfig on `/zookeeper/config`.
    ///
    /// ```
    /// use zk_proto::records::GetDataRequest;
    /// let req = GetDataRequest { path: "/a".into(), watch: true };
    /// assert!(req.watch);
    /// ```
    #[derive(Default, Hash)]
    pub struct GetDataRequest {
        /// The node.
        pub path: String,
        /// Leave a data watch (only if the node exists).
        pub watch: bool,
    }
}

record! {
    /// Writes a node's data (`SetDataRequest`).
    ///
    /// ```
    /// use zk_proto::records::SetDataRequest;
    /// let req = SetDataRequest { path: "/a".into(), data: "v2".into(), version: -1 };
    /// assert_eq!(req.version, -1);
    /// ```
    #[derive(Default, Hash)]
    pub struct SetDataRequest {
        /// The node.
        pub path: String,
        /// The new data.
        pub data: Bytes,
        /// The expected version, or −1 for any.
        pub version: i32,
    }
}

record! {
    /// Changes the ensemble membership (`ReconfigRequest`).
    ///
    /// Unused lists are null (`None`), as the Java client sends them.
    ///
    /// ```
    /// use zk_proto::records::ReconfigRequest;
    /// let req = ReconfigRequest {
    ///     joining_servers: None,
    ///     leaving_servers: Some("3".into()),
    ///     new_members: None,
    ///     cur_config_id: -1,
    /// };
    /// assert!(req.new_members.is_none());
    /// ```
    #[derive(Default, Hash)]
    pub struct ReconfigRequest {
        /// Servers to add, `server.N=host:quorum:election;client`, comma-separated.
        pub joining_servers: Option<String>,
        /// Server ids to remove, comma-separated.
        pub leaving_servers: Option<String>,
        /// A whole new membership (non-incremental reconfig).
        pub new_members: Option<String>,
        /// The config version this change applies to, or −1 for any.
        pub cur_config_id: i64,
    }
}

record! {
    /// A SASL token from the client (`GetSASLRequest`, op 102).
    ///
    /// ```
    /// use zk_proto::records::GetSaslRequest;
    /// let first = GetSaslRequest { token: bytes::Bytes::new() };
    /// assert!(first.token.is_empty());
    /// ```
    #[derive(Default, Hash)]
    pub struct GetSaslRequest {
        /// The token (empty for DIGEST-MD5's first message).
        pub token: Bytes,
    }
}

record! {
    /// A SASL token record the server defines but clients do not send (`SetSASLRequest`).
    ///
    /// ```
    /// use zk_proto::records::SetSaslRequest;
    /// assert!(SetSaslRequest::default().token.is_empty());
    /// ```
    #[derive(Default, Hash)]
    pub struct SetSaslRequest {
        /// The token.
        pub token: Bytes,
    }
}

record! {
    /// Creates a node (`CreateRequest`): ops create, create2 and createContainer.
    ///
    /// ```
    /// use zk_proto::{CreateMode, records::{Acl, CreateRequest}};
    /// let req = CreateRequest {
    ///     path: "/app/lock-".into(),
    ///     data: "".into(),
    ///     acl: vec![Acl::open_unsafe()],
    ///     flags: CreateMode::EphemeralSequential,
    /// };
    /// assert!(req.flags.is_sequential());
    /// ```
    #[derive(Hash)]
    pub struct CreateRequest {
        /// The node to create (the parent, for sequential nodes, plus a name prefix).
        pub path: String,
        /// Its data.
        pub data: Bytes,
        /// Its ACL; must not be empty.
        pub acl: Vec<Acl>,
        /// The create mode.
        pub flags: CreateMode,
    }
}

record! {
    /// Creates a TTL node (`CreateTTLRequest`, op createTTL).
    ///
    /// ```
    /// use zk_proto::{CreateMode, records::{Acl, CreateTtlRequest}};
    /// let req = CreateTtlRequest {
    ///     path: "/leases/a".into(),
    ///     data: "".into(),
    ///     acl: vec![Acl::open_unsafe()],
    ///     flags: CreateMode::PersistentWithTtl,
    ///     ttl: 5_000,
    /// };
    /// assert!(req.flags.is_ttl());
    /// ```
    #[derive(Hash)]
    pub struct CreateTtlRequest {
        /// The node to create.
        pub path: String,
        /// Its data.
        pub data: Bytes,
        /// Its ACL.
        pub acl: Vec<Acl>,
        /// `PersistentWithTtl` or `PersistentSequentialWithTtl`.
        pub flags: CreateMode,
        /// Milliseconds, 0 < ttl ≤ 2^40 − 1.
        pub ttl: i64,
    }
}

record! {
    /// Deletes a node (`DeleteRequest`): ops delete and deleteContainer.
    ///
    /// ```
    /// use zk_proto::records::DeleteRequest;
    /// assert_eq!(DeleteRequest { path: "/a".into(), version: -1 }.version, -1);
    /// ```
    #[derive(Default, Hash)]
    pub struct DeleteRequest {
        /// The node.
        pub path: String,
        /// The expected version, or −1 for any.
        pub version: i32,
    }
}

record! {
    /// Lists a node's children (`GetChildrenRequest`).
    ///
    /// ```
    /// use zk_proto::records::GetChildrenRequest;
    /// assert!(!GetChildrenRequest::default().watch);
    /// ```
    #[derive(Default, Hash)]
    pub struct GetChildrenRequest {
        /// The node.
        pub path: String,
        /// Leave a child watch (only if the node exists).
        pub watch: bool,
    }
}

record! {
    /// Counts all descendants of a node (`GetAllChildrenNumberRequest`).
    ///
    /// ```
    /// use zk_proto::records::GetAllChildrenNumberRequest;
    /// assert_eq!(GetAllChildrenNumberRequest { path: "/".into() }.path, "/");
    /// ```
    #[derive(Default, Hash)]
    pub struct GetAllChildrenNumberRequest {
        /// The node.
        pub path: String,
    }
}

record! {
    /// Lists a node's children with its Stat (`GetChildren2Request`).
    ///
    /// ```
    /// use zk_proto::records::GetChildren2Request;
    /// assert!(GetChildren2Request { path: "/a".into(), watch: true }.watch);
    /// ```
    #[derive(Default, Hash)]
    pub struct GetChildren2Request {
        /// The node.
        pub path: String,
        /// Leave a child watch (only if the node exists).
        pub watch: bool,
    }
}

record! {
    /// Checks a node's version inside a multi (`CheckVersionRequest`).
    ///
    /// Never send it alone to 3.8.0–3.8.4 or 3.9.0–3.9.2: those servers do not reply
    /// (ZOOKEEPER-2623).
    ///
    /// ```
    /// use zk_proto::records::CheckVersionRequest;
    /// assert_eq!(CheckVersionRequest { path: "/a".into(), version: 2 }.version, 2);
    /// ```
    #[derive(Default, Hash)]
    pub struct CheckVersionRequest {
        /// The node.
        pub path: String,
        /// The version it must have.
        pub version: i32,
    }
}

record! {
    /// Syncs the server with the leader (`SyncRequest`).
    ///
    /// ```
    /// use zk_proto::records::SyncRequest;
    /// assert_eq!(SyncRequest { path: "/".into() }.path, "/");
    /// ```
    #[derive(Default, Hash)]
    pub struct SyncRequest {
        /// The path (the server ignores it beyond the reply).
        pub path: String,
    }
}

record! {
    /// Reads a node's ACL (`GetACLRequest`).
    ///
    /// ```
    /// use zk_proto::records::GetAclRequest;
    /// assert_eq!(GetAclRequest { path: "/a".into() }.path, "/a");
    /// ```
    #[derive(Default, Hash)]
    pub struct GetAclRequest {
        /// The node.
        pub path: String,
    }
}

record! {
    /// Writes a node's ACL (`SetACLRequest`).
    ///
    /// ```
    /// use zk_proto::records::{Acl, SetAclRequest};
    /// let req = SetAclRequest { path: "/a".into(), acl: vec![Acl::read_unsafe()], version: -1 };
    /// assert_eq!(req.acl.len(), 1);
    /// ```
    #[derive(Default, Hash)]
    pub struct SetAclRequest {
        /// The node.
        pub path: String,
        /// The new ACL.
        pub acl: Vec<Acl>,
        /// The expected ACL version (`aversion`), or −1 for any.
        pub version: i32,
    }
}

record! {
    /// Adds a persistent or persistent recursive watch (`AddWatchRequest`).
    ///
    /// ```
    /// use zk_proto::{AddWatchMode, records::AddWatchRequest};
    /// let req = AddWatchRequest { path: "/a".into(), mode: AddWatchMode::PersistentRecursive };
    /// assert_eq!(req.mode.code(), 1);
    /// ```
    #[derive(Hash)]
    pub struct AddWatchRequest {
        /// The node, which need not exist.
        pub path: String,
        /// The watch mode.
        pub mode: AddWatchMode,
    }
}

record! {
    /// Stats a node (`ExistsRequest`).
    ///
    /// ```
    /// use zk_proto::records::ExistsRequest;
    /// assert!(ExistsRequest { path: "/a".into(), watch: true }.watch);
    /// ```
    #[derive(Default, Hash)]
    pub struct ExistsRequest {
        /// The node.
        pub path: String,
        /// Leave a watch, set even when the node does not exist.
        pub watch: bool,
    }
}

record! {
    /// Checks that the session holds a watch (`CheckWatchesRequest`).
    ///
    /// ```
    /// use zk_proto::{WatcherType, records::CheckWatchesRequest};
    /// let req = CheckWatchesRequest { path: "/a".into(), watcher_type: WatcherType::Any };
    /// assert_eq!(req.watcher_type.code(), 3);
    /// ```
    #[derive(Hash)]
    pub struct CheckWatchesRequest {
        /// The node.
        pub path: String,
        /// Which watches (`type`).
        pub watcher_type: WatcherType,
    }
}

record! {
    /// Removes the session's watches on a node (`RemoveWatchesRequest`).
    ///
    /// ```
    /// use zk_proto::{WatcherType, records::RemoveWatchesRequest};
    /// let req = RemoveWatchesRequest { path: "/a".into(), watcher_type: WatcherType::Data };
    /// assert_eq!(req.watcher_type.code(), 2);
    /// ```
    #[derive(Hash)]
    pub struct RemoveWatchesRequest {
        /// The node.
        pub path: String,
        /// Which watches (`type`).
        pub watcher_type: WatcherType,
    }
}

record! {
    /// Lists the session's ephemeral nodes under a string prefix (`GetEphemeralsRequest`).
    ///
    /// The server matches string prefixes, not path components.
    ///
    /// ```
    /// use zk_proto::records::GetEphemeralsRequest;
    /// assert_eq!(GetEphemeralsRequest { prefix_path: "/".into() }.prefix_path, "/");
    /// ```
    #[derive(Default, Hash)]
    pub struct GetEphemeralsRequest {
        /// The prefix (`prefixPath`).
        pub prefix_path: String,
    }
}

record! {
    /// Re-registers standard watches after a reconnect (`SetWatches`, op 101).
    ///
    /// ```
    /// use zk_proto::records::SetWatches;
    /// let req = SetWatches { relative_zxid: 42, data_watches: vec!["/a".into()], ..Default::default() };
    /// assert!(req.child_watches.is_empty());
    /// ```
    #[derive(Default, Hash)]
    pub struct SetWatches {
        /// The last zxid the client saw; changes after it fire at once.
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: Vec<String>,
        /// Paths with exist watches.
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
    }
}

record! {
    /// Re-registers every kind of watch after a reconnect (`SetWatches2`, op 105, 3.6+).
    ///
    /// ```
    /// use zk_proto::records::SetWatches2;
    /// let req = SetWatches2 { persistent_recursive_watches: vec!["/".into()], ..Default::default() };
    /// assert_eq!(req.relative_zxid, 0);
    /// ```
    #[derive(Default, Hash)]
    pub struct SetWatches2 {
        /// The last zxid the client saw; changes after it fire at once.
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: Vec<String>,
        /// Paths with exist watches.
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
        /// Paths with persistent watches.
        pub persistent_watches: Vec<String>,
        /// Paths with persistent recursive watches.
        pub persistent_recursive_watches: Vec<String>,
    }
}
