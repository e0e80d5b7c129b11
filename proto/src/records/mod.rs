//! Every client-visible record of `zookeeper.jute` (3.9), plus the hand-coded ones.
//!
//! Names follow the jute classes in Rust case (`GetACLRequest` is [`GetAclRequest`],
//! `CreateTTLRequest` is [`CreateTtlRequest`]); fields are the jute fields in snake case,
//! with `type` renamed after what it holds. Each record encodes its fields in declaration
//! order (see [`jute`](crate::jute)).
//!
//! | module | records |
//! |---|---|
//! | [`data`] | [`Id`], [`Acl`], [`Stat`], [`StatPersisted`], [`ClientInfo`] |
//! | [`connect`] | [`ConnectRequest`], [`ConnectResponse`] (with or without the read-only byte) |
//! | [`header`] | [`RequestHeader`], [`ReplyHeader`], [`MultiHeader`], [`AuthPacket`], [`WatcherEvent`], [`ErrorResponse`] |
//! | [`request`] | every `*Request`, [`SetWatches`], [`SetWatches2`] |
//! | [`response`] | every `*Response` |
//! | [`message`] | [`Request`] and [`Response`]: the body of any opcode |
//! | [`multi`] | [`MultiRequest`] of [`MultiOp`]s, [`MultiResponse`] of [`MultiResult`]s |
//!
//! Requests and responses without a body (ping, closeSession, whoAmI's request, the
//! responses of delete, setWatches, checkWatches and removeWatches) use `()`.

pub mod connect;
pub mod data;
pub mod header;
pub mod message;
pub mod multi;
pub mod request;
pub mod response;

pub use connect::{ConnectRequest, ConnectResponse};
pub use data::{Acl, ClientInfo, Id, Stat, StatPersisted};
pub use header::{
    AuthPacket, ErrorResponse, MultiHeader, ReplyHeader, RequestHeader, WatcherEvent,
};
pub use message::{Request, Response};
pub use multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
pub use request::{
    AddWatchRequest, CheckVersionRequest, CheckWatchesRequest, CreateRequest, CreateTtlRequest,
    DeleteRequest, ExistsRequest, GetAclRequest, GetAllChildrenNumberRequest, GetChildren2Request,
    GetChildrenRequest, GetDataRequest, GetEphemeralsRequest, GetSaslRequest, ReconfigRequest,
    RemoveWatchesRequest, SetAclRequest, SetDataRequest, SetSaslRequest, SetWatches, SetWatches2,
    SyncRequest,
};
pub use response::{
    Create2Response, CreateResponse, ExistsResponse, GetAclResponse, GetAllChildrenNumberResponse,
    GetChildren2Response, GetChildrenResponse, GetDataResponse, GetEphemeralsResponse,
    SetAclResponse, SetDataResponse, SetSaslResponse, SyncResponse, WhoAmIResponse,
};

#[cfg(test)]
mod tests;
