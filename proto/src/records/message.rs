//! [`Request`] and [`Response`]: a body of any opcode, encoded and decoded by the opcode
//! that selects it (the `type` of the request header, or the pending request a reply
//! answers).

use bytes::{Buf, BufMut};

use super::*;
use crate::jute::{DecodeError, DecodeErrorKind};
use crate::{OpCode, Record};

/// Declares a body enum whose variants each hold one record, with the opcode table that
/// maps between them.
macro_rules! body_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = [$($op:ident),+], )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Eq, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
        }

        impl $name {
            /// Decodes the body of an `op_code` message from `buf`.
            ///
            /// # Errors
            ///
            /// The [`DecodeError`] of the body's record, or
            /// [`DecodeErrorKind::UnknownValue`] for an opcode without such a body.
            pub fn decode_body<B: Buf>(op_code: OpCode, buf: &mut B) -> Result<Self, DecodeError> {
                match op_code {
                    $( $(OpCode::$op)|+ => Ok(Self::$variant(<$ty as Record>::decode(buf)?)), )*
                    other => Err(DecodeError::new(DecodeErrorKind::UnknownValue {
                        what: concat!(stringify!($name), " opcode"),
                        value: other.code().into(),
                    })),
                }
            }

            /// Appends the body to `buf`.
            pub fn encode_body<B: BufMut>(&self, buf: &mut B) {
                match self {
                    $( Self::$variant(body) => body.encode(buf), )*
                }
            }

            /// The encoded length of the body.
            pub fn body_len(&self) -> usize {
                match self {
                    $( Self::$variant(body) => body.encoded_len(), )*
                }
            }
        }

        $(
            impl TryFrom<$name> for $ty {
                type Error = $name;

                /// The record, when the body holds one of this type; else the body back.
                fn try_from(body: $name) -> Result<Self, $name> {
                    match body {
                        $name::$variant(record) => Ok(record),
                        #[allow(unreachable_patterns, reason = "a body enum of one variant")]
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

body_enum! {
    /// The body of a request, by opcode.
    ///
    /// ```
    /// use zk_proto::{OpCode, records::{Request, SyncRequest}};
    /// let body = Request::decode_body(OpCode::Sync, &mut &[0, 0, 0, 1, b'/'][..])?;
    /// assert_eq!(body, Request::Sync(SyncRequest { path: "/".into() }));
    /// assert_eq!(body.body_len(), 5);
    /// # Ok::<(), zk_proto::DecodeError>(())
    /// ```
    pub enum Request {
        /// create, create2, createContainer.
        Create(CreateRequest) = [Create, Create2, CreateContainer],
        /// createTTL.
        CreateTtl(CreateTtlRequest) = [CreateTtl],
        /// delete, deleteContainer.
        Delete(DeleteRequest) = [Delete, DeleteContainer],
        /// exists.
        Exists(ExistsRequest) = [Exists],
        /// getData (also getConfig).
        GetData(GetDataRequest) = [GetData],
        /// setData.
        SetData(SetDataRequest) = [SetData],
        /// getACL.
        GetAcl(GetAclRequest) = [GetAcl],
        /// setACL.
        SetAcl(SetAclRequest) = [SetAcl],
        /// getChildren.
        GetChildren(GetChildrenRequest) = [GetChildren],
        /// sync.
        Sync(SyncRequest) = [Sync],
        /// getChildren2.
        GetChildren2(GetChildren2Request) = [GetChildren2],
        /// check.
        Check(CheckVersionRequest) = [Check],
        /// multi, multiRead.
        Multi(MultiRequest) = [Multi, MultiRead],
        /// reconfig.
        Reconfig(ReconfigRequest) = [Reconfig],
        /// checkWatches.
        CheckWatches(CheckWatchesRequest) = [CheckWatches],
        /// removeWatches.
        RemoveWatches(RemoveWatchesRequest) = [RemoveWatches],
        /// auth (xid −4).
        Auth(AuthPacket) = [Auth],
        /// setWatches.
        SetWatches(SetWatches) = [SetWatches],
        /// sasl.
        Sasl(GetSaslRequest) = [Sasl],
        /// getEphemerals.
        GetEphemerals(GetEphemeralsRequest) = [GetEphemerals],
        /// getAllChildrenNumber.
        GetAllChildrenNumber(GetAllChildrenNumberRequest) = [GetAllChildrenNumber],
        /// setWatches2.
        SetWatches2(SetWatches2) = [SetWatches2],
        /// addWatch.
        AddWatch(AddWatchRequest) = [AddWatch],
        /// ping, whoAmI, closeSession: no body.
        Empty(()) = [Ping, WhoAmI, CloseSession],
    }
}

body_enum! {
    /// The body of a successful reply, by the opcode of the request it answers
    /// ([`OpCode::Notification`] for xid −1).
    ///
    /// Replies whose header carries an error have no body (except multi); do not decode one.
    ///
    /// ```
    /// use zk_proto::{OpCode, records::{GetAllChildrenNumberResponse, Response}};
    /// let body = Response::decode_body(OpCode::GetAllChildrenNumber, &mut &[0, 0, 0, 9][..])?;
    /// assert_eq!(body, Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number: 9 }));
    /// assert_eq!(Response::decode_body(OpCode::Delete, &mut &[][..])?, Response::Empty(()));
    ///
    /// // Each record type takes itself out of a body, and hands back any other body.
    /// let total = GetAllChildrenNumberResponse::try_from(body).map(|r| r.total_number);
    /// assert_eq!(total, Ok(9));
    /// # Ok::<(), zk_proto::DecodeError>(())
    /// ```
    pub enum Response {
        /// A watch notification.
        Notification(WatcherEvent) = [Notification],
        /// create.
        Create(CreateResponse) = [Create],
        /// create2, createContainer, createTTL.
        Create2(Create2Response) = [Create2, CreateContainer, CreateTtl],
        /// exists.
        Exists(ExistsResponse) = [Exists],
        /// getData, getConfig, reconfig.
        GetData(GetDataResponse) = [GetData, Reconfig],
        /// setData.
        SetData(SetDataResponse) = [SetData],
        /// getACL.
        GetAcl(GetAclResponse) = [GetAcl],
        /// setACL.
        SetAcl(SetAclResponse) = [SetAcl],
        /// getChildren.
        GetChildren(GetChildrenResponse) = [GetChildren],
        /// sync.
        Sync(SyncResponse) = [Sync],
        /// getChildren2.
        GetChildren2(GetChildren2Response) = [GetChildren2],
        /// multi, multiRead.
        Multi(MultiResponse) = [Multi, MultiRead],
        /// sasl.
        Sasl(SetSaslResponse) = [Sasl],
        /// getEphemerals.
        GetEphemerals(GetEphemeralsResponse) = [GetEphemerals],
        /// getAllChildrenNumber.
        GetAllChildrenNumber(GetAllChildrenNumberResponse) = [GetAllChildrenNumber],
        /// addWatch.
        AddWatch(ErrorResponse) = [AddWatch],
        /// whoAmI.
        WhoAmI(WhoAmIResponse) = [WhoAmI],
        /// delete, ping, auth, check, setWatches, setWatches2, checkWatches, removeWatches,
        /// closeSession, deleteContainer: no body.
        Empty(()) = [Delete, Ping, Auth, Check, SetWatches, SetWatches2, CheckWatches, RemoveWatches,
                     CloseSession, DeleteContainer],
    }
}
