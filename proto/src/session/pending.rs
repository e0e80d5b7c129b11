//! Requests waiting to be sent, and requests sent and waiting for their reply.

use super::event::RequestId;
use crate::OpCode;
use crate::records::Request;

/// Who a request is for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Origin {
    /// A user's request: its reply is reported as [`Event::Reply`](super::Event::Reply).
    User(RequestId),
    /// The session's own (auth, a watch removal or re-arm, closeSession): nobody waits.
    Session,
    /// getChildren2 re-arming the standard child watches of its path after a recursive
    /// watch was added there (ZOOKEEPER-4466 on 3.8 servers); a child change after zxid
    /// `since` was missed and fires them.
    ChildRearm {
        /// The zxid up to which the child watches were known to be armed.
        since: i64,
    },
}

/// A request not yet sent.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) origin: Origin,
    pub(crate) op_code: OpCode,
    /// Paths are server paths (chroot applied).
    pub(crate) request: Request,
}

impl Queued {
    /// A request of the session's own.
    pub(crate) fn session(op_code: OpCode, request: Request) -> Self {
        Self {
            origin: Origin::Session,
            op_code,
            request,
        }
    }

    /// The user's request id, if it is one.
    pub(crate) fn user_id(&self) -> Option<RequestId> {
        match self.origin {
            Origin::User(id) => Some(id),
            _ => None,
        }
    }
}

/// A request sent and awaiting its reply; replies come back in this order.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) xid: i32,
    pub(crate) op_code: OpCode,
    pub(crate) kind: PendingKind,
}

/// Who is waiting for a reply.
#[derive(Debug)]
pub(crate) enum PendingKind {
    /// A user request. The request is kept only when its reply needs it (see
    /// [`reply_needs_request`]): to register or remove watches, or to send a create2 the
    /// server may not know again as create. Most requests keep nothing, which keeps a deep
    /// pipeline's FIFO small.
    User {
        id: RequestId,
        request: Option<Box<Request>>,
    },
    /// A SetWatches/SetWatches2 batch of the reconnect.
    SetWatches,
    /// A SASL token; its reply carries the server's next token.
    Sasl,
    /// closeSession: its reply closes the session.
    Close,
    /// Another request of the session's own. The request is kept when its reply needs it
    /// (a recursive watch added again, whose path's child watches must be re-armed).
    Internal(Option<Box<Request>>),
    /// A child watch re-arm (see [`Origin::ChildRearm`]): the path and the zxid.
    ChildRearm(Box<(String, i64)>),
}

impl PendingKind {
    /// The user's request id, if it is one.
    pub(crate) fn user_id(&self) -> Option<RequestId> {
        match self {
            Self::User { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Whether the reply to `request` needs the request itself: a read that leaves a watch,
/// addWatch and removeWatches (the watch registry changes by their path), and a create2
/// sent while the server's support for it is being probed.
pub(crate) fn reply_needs_request(request: &Request, probing_create2: bool) -> bool {
    match request {
        Request::GetData(r) => r.watch,
        Request::Exists(r) => r.watch,
        Request::GetChildren(r) => r.watch,
        Request::GetChildren2(r) => r.watch,
        Request::AddWatch(_) | Request::RemoveWatches(_) => true,
        Request::Create(_) => probing_create2,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{AddWatchRequest, CreateRequest, GetDataRequest, SetDataRequest};
    use crate::{AddWatchMode, CreateMode};

    #[test]
    fn only_watching_requests_and_a_create2_probe_are_kept() {
        let get = |watch| {
            Request::GetData(GetDataRequest {
                path: "/a".into(),
                watch,
            })
        };
        assert!(reply_needs_request(&get(true), false));
        assert!(!reply_needs_request(&get(false), false));
        let set = Request::SetData(SetDataRequest {
            path: "/a".into(),
            data: bytes::Bytes::from_static(b"x"),
            version: -1,
        });
        assert!(!reply_needs_request(&set, false));
        let add = Request::AddWatch(AddWatchRequest {
            path: "/a".into(),
            mode: AddWatchMode::Persistent,
        });
        assert!(reply_needs_request(&add, false));
        let create = Request::Create(CreateRequest {
            path: "/a".into(),
            data: bytes::Bytes::new(),
            acl: Vec::new(),
            flags: CreateMode::Persistent,
        });
        assert!(reply_needs_request(&create, true));
        assert!(!reply_needs_request(&create, false));
    }

    #[test]
    fn a_pending_reply_stays_small() {
        // A deep pipeline holds one per request in flight.
        assert!(size_of::<Pending>() <= 32);
    }
}
