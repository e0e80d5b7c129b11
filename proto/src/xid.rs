//! Request ids: the special xids and the counter for ordinary ones.

/// The xid of a watch notification (server → client).
pub const NOTIFICATION_XID: i32 = -1;
/// The xid of a ping and its reply.
pub const PING_XID: i32 = -2;
/// The xid of an `AuthPacket` and its reply.
pub const AUTH_XID: i32 = -4;
/// The xid the C client gives SetWatches (the Java client uses an ordinary xid).
pub const SET_WATCHES_XID: i32 = -8;

/// The ordinary xid counter: starts at 1, never negative, wraps from `i32::MAX` to 1, as
/// the Java client does.
///
/// ```
/// use zk_proto::xid::XidCounter;
/// let mut xids = XidCounter::starting_at(i32::MAX);
/// assert_eq!(xids.next_xid(), i32::MAX);
/// assert_eq!(xids.next_xid(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct XidCounter {
    next: i32,
}

impl XidCounter {
    /// A counter whose first xid is 1.
    pub const fn new() -> Self {
        Self { next: 1 }
    }

    /// A counter whose first xid is `first` (values below 1 start at 1).
    pub const fn starting_at(first: i32) -> Self {
        Self {
            next: if first < 1 { 1 } else { first },
        }
    }

    /// Returns the next xid.
    pub fn next_xid(&mut self) -> i32 {
        let xid = self.next;
        self.next = if xid == i32::MAX { 1 } else { xid + 1 };
        xid
    }
}

impl Default for XidCounter {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `xid` is one of the reserved out-of-band xids.
///
/// ```
/// assert!(zk_proto::xid::is_special(-2));
/// assert!(!zk_proto::xid::is_special(5));
/// ```
pub const fn is_special(xid: i32) -> bool {
    matches!(
        xid,
        NOTIFICATION_XID | PING_XID | AUTH_XID | SET_WATCHES_XID
    )
}
