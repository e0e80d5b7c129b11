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
    /// A user request; the request is kept to register its watch and, for a create2 the
    /// server does not know, to send it again as create.
    User { id: RequestId, request: Request },
    /// A SetWatches/SetWatches2 batch of the reconnect.
    SetWatches,
    /// A SASL token; its reply carries the server's next token.
    Sasl,
    /// closeSession: its reply closes the session.
    Close,
    /// Another request of the session's own (a persistent watch removal).
    Internal,
}
