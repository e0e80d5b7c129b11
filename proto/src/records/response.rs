//! Response bodies (`org.apache.zookeeper.proto`), received after a
//! [`ReplyHeader`](super::ReplyHeader) whose `err` is OK.

use bytes::Bytes;

use super::{Acl, ClientInfo, Stat};
use crate::jute::record;

record! {
    /// The Stat after a setData (`SetDataResponse`).
    ///
    /// ```
    /// use zk_proto::records::{SetDataResponse, Stat};
    /// assert_eq!(SetDataResponse { stat: Stat::default() }.stat.version, 0);
    /// ```
    #[derive(Copy, Default, Hash)]
    pub struct SetDataResponse {
        /// The node's new Stat.
        pub stat: Stat,
    }
}

record! {
    /// A SASL token from the server (`SetSASLResponse`).
    ///
    /// ```
    /// use zk_proto::records::SetSaslResponse;
    /// assert!(SetSaslResponse::default().token.is_empty());
    /// ```
    #[derive(Default, Hash)]
    pub struct SetSaslResponse {
        /// The challenge or `rspauth` token.
        pub token: Bytes,
    }
}

record! {
    /// The reply to sync (`SyncResponse`).
    ///
    /// ```
    /// use zk_proto::records::SyncResponse;
    /// assert_eq!(SyncResponse { path: "/a".into() }.path, "/a");
    /// ```
    #[derive(Default, Hash)]
    pub struct SyncResponse {
        /// The path of the request.
        pub path: String,
    }
}

record! {
    /// The Stat after a setACL (`SetACLResponse`).
    ///
    /// ```
    /// use zk_proto::records::SetAclResponse;
    /// assert_eq!(SetAclResponse::default().stat.aversion, 0);
    /// ```
    #[derive(Copy, Default, Hash)]
    pub struct SetAclResponse {
        /// The node's new Stat.
        pub stat: Stat,
    }
}

record! {
    /// The reply to create (`CreateResponse`).
    ///
    /// ```
    /// use zk_proto::records::CreateResponse;
    /// let rsp = CreateResponse { path: "/q/item-0000000007".into() };
    /// assert!(rsp.path.ends_with("7"));
    /// ```
    #[derive(Default, Hash)]
    pub struct CreateResponse {
        /// The created path, with the sequence suffix if any.
        pub path: String,
    }
}

record! {
    /// The reply to create2, createContainer and createTTL (`Create2Response`).
    ///
    /// ```
    /// use zk_proto::records::{Create2Response, Stat};
    /// let rsp = Create2Response { path: "/a".into(), stat: Stat::default() };
    /// assert_eq!(rsp.stat.num_children, 0);
    /// ```
    #[derive(Default, Hash)]
    pub struct Create2Response {
        /// The created path, with the sequence suffix if any.
        pub path: String,
        /// The new node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// The reply to exists when the node exists (`ExistsResponse`).
    ///
    /// ```
    /// use zk_proto::records::ExistsResponse;
    /// assert_eq!(ExistsResponse::default().stat.czxid, 0);
    /// ```
    #[derive(Copy, Default, Hash)]
    pub struct ExistsResponse {
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// The reply to getData, getConfig and reconfig (`GetDataResponse`).
    ///
    /// ```
    /// use zk_proto::records::GetDataResponse;
    /// let rsp = GetDataResponse { data: Some("hello".into()), stat: Default::default() };
    /// assert_eq!(rsp.data.as_deref(), Some(&b"hello"[..]));
    /// ```
    #[derive(Default, Hash)]
    pub struct GetDataResponse {
        /// The data; `None` for a node created with null data.
        pub data: Option<Bytes>,
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// The reply to getChildren (`GetChildrenResponse`).
    ///
    /// ```
    /// use zk_proto::records::GetChildrenResponse;
    /// let rsp = GetChildrenResponse { children: vec!["a".into(), "b".into()] };
    /// assert_eq!(rsp.children.len(), 2);
    /// ```
    #[derive(Default, Hash)]
    pub struct GetChildrenResponse {
        /// The child names, in no particular order.
        pub children: Vec<String>,
    }
}

record! {
    /// The reply to getAllChildrenNumber (`GetAllChildrenNumberResponse`).
    ///
    /// ```
    /// use zk_proto::records::GetAllChildrenNumberResponse;
    /// assert_eq!(GetAllChildrenNumberResponse { total_number: 3 }.total_number, 3);
    /// ```
    #[derive(Copy, Default, Hash)]
    pub struct GetAllChildrenNumberResponse {
        /// The number of descendants (`totalNumber`).
        pub total_number: i32,
    }
}

record! {
    /// The reply to getChildren2 (`GetChildren2Response`).
    ///
    /// ```
    /// use zk_proto::records::GetChildren2Response;
    /// assert!(GetChildren2Response::default().children.is_empty());
    /// ```
    #[derive(Default, Hash)]
    pub struct GetChildren2Response {
        /// The child names, in no particular order.
        pub children: Vec<String>,
        /// The parent's Stat.
        pub stat: Stat,
    }
}

record! {
    /// The reply to getACL (`GetACLResponse`).
    ///
    /// ```
    /// use zk_proto::records::{Acl, GetAclResponse};
    /// let rsp = GetAclResponse { acl: vec![Acl::open_unsafe()], stat: Default::default() };
    /// assert_eq!(rsp.acl[0].id.scheme, "world");
    /// ```
    #[derive(Default, Hash)]
    pub struct GetAclResponse {
        /// The ACL.
        pub acl: Vec<Acl>,
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// The reply to getEphemerals (`GetEphemeralsResponse`).
    ///
    /// ```
    /// use zk_proto::records::GetEphemeralsResponse;
    /// assert!(GetEphemeralsResponse::default().ephemerals.is_empty());
    /// ```
    #[derive(Default, Hash)]
    pub struct GetEphemeralsResponse {
        /// Server paths of the session's ephemeral nodes.
        pub ephemerals: Vec<String>,
    }
}

record! {
    /// The reply to whoAmI (`WhoAmIResponse`).
    ///
    /// ```
    /// use zk_proto::records::{ClientInfo, WhoAmIResponse};
    /// let rsp = WhoAmIResponse { client_info: vec![ClientInfo::default()] };
    /// assert_eq!(rsp.client_info.len(), 1);
    /// ```
    #[derive(Default, Hash)]
    pub struct WhoAmIResponse {
        /// The session's identities (`clientInfo`).
        pub client_info: Vec<ClientInfo>,
    }
}
