//! Holding new requests back while the server already has many to answer.
//!
//! ZooKeeper reads one request per pass of its selector, so in a deep pipeline of small
//! requests nearly every request in flight waits in the server's socket: with 256
//! pipelined getData against a 3.8 server about 250 of them sit there. Writing the few
//! requests that each batch of replies lets the caller make costs a write (a system call
//! and the network stack's work) per handful of requests, and the server does not reach
//! them any sooner.
//!
//! So while at least [`hold_threshold`] requests are sent and unanswered, newly queued
//! requests stay in the session's queue, and they go out together once replies bring the
//! count below it. At that moment the server still has most of the threshold queued, so
//! it never runs dry, and since it answers a session's requests in order, a held request
//! waits behind the same requests it would have waited behind in the server's socket.
//! Fewer requests in flight than the threshold (one-at-a-time callers, modest
//! concurrency) are never held.

use crate::low_water::MIN_REPLY_FRAME;

/// The fewest requests in flight at which new ones are held.
pub(crate) const HOLD_IN_FLIGHT: usize = 192;

/// The requests in flight from which new ones are held, for a receive low-water cap of
/// `max_low_water` bytes.
///
/// The task sees replies only when the mark's worth of bytes has come, up to
/// `max_low_water / MIN_REPLY_FRAME` small replies at a time. The threshold is at least
/// twice that, so when the task wakes and sends what it held, the server still has at
/// least half the threshold to answer.
pub(crate) fn hold_threshold(max_low_water: usize) -> usize {
    HOLD_IN_FLIGHT.max(2 * (max_low_water / MIN_REPLY_FRAME))
}

/// Whether queued requests wait: `in_flight` requests are sent and unanswered,
/// `unwritten` says the write buffer still holds bytes (then they are in flight for the
/// session but not for the server, and more may join them).
pub(crate) fn hold(in_flight: usize, unwritten: bool, threshold: usize) -> bool {
    !unwritten && in_flight >= threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::low_water::MAX_MARK;

    #[test]
    fn the_threshold_leaves_the_server_half_of_it_between_wake_ups() {
        assert_eq!(hold_threshold(0), HOLD_IN_FLIGHT);
        assert_eq!(hold_threshold(MAX_MARK), HOLD_IN_FLIGHT);
        assert_eq!(hold_threshold(8192), 2 * (8192 / MIN_REPLY_FRAME));
        for cap in [0, 512, 768, MAX_MARK, 4096, 1 << 20] {
            let per_wake = cap / MIN_REPLY_FRAME;
            assert!(hold_threshold(cap) - per_wake >= hold_threshold(cap) / 2);
        }
    }

    #[test]
    fn only_a_deep_pipeline_with_everything_written_holds() {
        let threshold = hold_threshold(MAX_MARK);
        assert!(!hold(0, false, threshold));
        assert!(!hold(1, false, threshold));
        assert!(!hold(threshold - 1, false, threshold));
        assert!(hold(threshold, false, threshold));
        assert!(hold(10_000, false, threshold));
        assert!(
            !hold(10_000, true, threshold),
            "bytes still to write take more"
        );
    }
}
