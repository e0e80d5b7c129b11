//! [`OpCode`]: the request types of `RequestHeader.type` and `MultiHeader.type`.

use crate::wire_enum::closed_enum;

closed_enum! {
    /// A request type (`ZooDefs.OpCode`).
    ///
    /// `Error` (−1) only appears as a result type inside a multi response.
    ///
    /// ```
    /// use zk_proto::OpCode;
    /// assert_eq!(OpCode::GetChildren2.code(), 12);
    /// assert_eq!(OpCode::try_from(106)?, OpCode::AddWatch);
    /// assert!(OpCode::try_from(99).is_err());
    /// # Ok::<(), zk_proto::DecodeError>(())
    /// ```
    pub enum OpCode {
        /// Server → client watch notification (xid −1).
        Notification = 0,
        /// Create a node (`CreateRequest` → `CreateResponse`).
        Create = 1,
        /// Delete a node (`DeleteRequest` → empty).
        Delete = 2,
        /// Stat a node (`ExistsRequest` → `ExistsResponse`).
        Exists = 3,
        /// Read a node (`GetDataRequest` → `GetDataResponse`); also getConfig.
        GetData = 4,
        /// Write a node (`SetDataRequest` → `SetDataResponse`).
        SetData = 5,
        /// Read an ACL (`GetACLRequest` → `GetACLResponse`).
        GetAcl = 6,
        /// Write an ACL (`SetACLRequest` → `SetACLResponse`).
        SetAcl = 7,
        /// List children (`GetChildrenRequest` → `GetChildrenResponse`).
        GetChildren = 8,
        /// Sync with the leader (`SyncRequest` → `SyncResponse`).
        Sync = 9,
        /// Keep-alive (xid −2), no body either way.
        Ping = 11,
        /// List children with the parent's Stat (`GetChildren2Request` → `GetChildren2Response`).
        GetChildren2 = 12,
        /// Version check; only valid inside a multi on servers before 3.8.5/3.9.3.
        Check = 13,
        /// Atomic transaction (`MultiRequest` → `MultiResponse`).
        Multi = 14,
        /// Create returning a Stat (`CreateRequest` → `Create2Response`), 3.5+.
        Create2 = 15,
        /// Dynamic reconfiguration (`ReconfigRequest` → `GetDataResponse`).
        Reconfig = 16,
        /// Check that a watch exists (`CheckWatchesRequest` → empty).
        CheckWatches = 17,
        /// Remove watches (`RemoveWatchesRequest` → empty).
        RemoveWatches = 18,
        /// Create a container node (`CreateRequest` → `Create2Response`).
        CreateContainer = 19,
        /// Server-internal container deletion.
        DeleteContainer = 20,
        /// Create a TTL node (`CreateTTLRequest` → `Create2Response`).
        CreateTtl = 21,
        /// Read-only transaction (`MultiRequest` → `MultiResponse`), 3.6+.
        MultiRead = 22,
        /// Add authentication (xid −4, `AuthPacket`).
        Auth = 100,
        /// Re-register watches after reconnect (`SetWatches` → empty).
        SetWatches = 101,
        /// SASL token exchange (`GetSASLRequest` → `SetSASLResponse`).
        Sasl = 102,
        /// List the session's ephemeral nodes (`GetEphemeralsRequest` → `GetEphemeralsResponse`).
        GetEphemerals = 103,
        /// Count all descendants (`GetAllChildrenNumberRequest` → `GetAllChildrenNumberResponse`).
        GetAllChildrenNumber = 104,
        /// Re-register watches incl. persistent ones (`SetWatches2` → empty), 3.6+.
        SetWatches2 = 105,
        /// Add a persistent watch (`AddWatchRequest` → `ErrorResponse`), 3.6+.
        AddWatch = 106,
        /// The session's identities (empty → `WhoAmIResponse`), 3.7+.
        WhoAmI = 107,
        /// Server-internal session creation.
        CreateSession = -10,
        /// Close the session (empty → empty).
        CloseSession = -11,
        /// An error result inside a multi response.
        Error = -1,
    }
}

impl OpCode {
    /// ZooKeeper's name for the operation, as its clients and logs spell it (`getData`,
    /// `create`, `addWatch`, ...).
    ///
    /// ```
    /// use zk_proto::OpCode;
    /// assert_eq!(OpCode::GetChildren2.name(), "getChildren2");
    /// assert_eq!(OpCode::SetAcl.name(), "setACL");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::Notification => "notification",
            Self::Create => "create",
            Self::Delete => "delete",
            Self::Exists => "exists",
            Self::GetData => "getData",
            Self::SetData => "setData",
            Self::GetAcl => "getACL",
            Self::SetAcl => "setACL",
            Self::GetChildren => "getChildren",
            Self::Sync => "sync",
            Self::Ping => "ping",
            Self::GetChildren2 => "getChildren2",
            Self::Check => "check",
            Self::Multi => "multi",
            Self::Create2 => "create2",
            Self::Reconfig => "reconfig",
            Self::CheckWatches => "checkWatches",
            Self::RemoveWatches => "removeWatches",
            Self::CreateContainer => "createContainer",
            Self::DeleteContainer => "deleteContainer",
            Self::CreateTtl => "createTTL",
            Self::MultiRead => "multiRead",
            Self::Auth => "auth",
            Self::SetWatches => "setWatches",
            Self::Sasl => "sasl",
            Self::GetEphemerals => "getEphemerals",
            Self::GetAllChildrenNumber => "getAllChildrenNumber",
            Self::SetWatches2 => "setWatches2",
            Self::AddWatch => "addWatch",
            Self::WhoAmI => "whoAmI",
            Self::CreateSession => "createSession",
            Self::CloseSession => "closeSession",
            Self::Error => "error",
        }
    }
}
