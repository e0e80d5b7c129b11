//! Requests waiting to be sent, and requests sent and waiting for their reply.

use super::event::RequestId;
use crate::OpCode;
use crate::records::Request;

/// A request not yet sent. Internal requests (auth, watch removal, closeSession) have
/// id 0.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) id: RequestId,
    pub(crate) op_code: OpCode,
    /// Paths are server paths (chroot applied).
    pub(crate) request: Request,
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
    /// Another request of the session's own (a persistent watch removal).
    Internal,
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
