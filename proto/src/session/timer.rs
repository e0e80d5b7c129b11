//! The session's timers, kept in one table.

use std::time::Instant;

/// Everything the session waits for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Timer {
    /// Dial and handshake of the current attempt must finish by then.
    Connect,
    /// Send a ping if nothing was sent since.
    Ping,
    /// Give up on the server if nothing was received since (2/3 of the session timeout).
    Read,
    /// Dial the next host.
    Reconnect,
    /// Declare the session expired after this long without the server (4/3 of the timeout).
    Expiry,
    /// Probe another host for a read-write server while connected read-only.
    Probe,
}

const COUNT: usize = 6;

impl Timer {
    const ALL: [Self; COUNT] = [
        Self::Connect,
        Self::Ping,
        Self::Read,
        Self::Reconnect,
        Self::Expiry,
        Self::Probe,
    ];

    const fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; COUNT],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// The earliest deadline.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Whether `timer` is set and due at `now`.
    pub(crate) fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// Stops and returns every timer due at `now`, in declaration order.
    pub(crate) fn take_expired(&mut self, now: Instant) -> impl Iterator<Item = Timer> + use<> {
        let mut due = Vec::new();
        for timer in Timer::ALL {
            if self.is_expired(timer, now) {
                self.stop(timer);
                due.push(timer);
            }
        }
        due.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn earliest_deadline_and_expiry() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next_timeout(), None);
        table.set(Timer::Read, t0 + Duration::from_secs(2));
        table.set(Timer::Ping, t0 + Duration::from_secs(1));
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_secs(1)));
        assert!(!table.is_expired(Timer::Ping, t0));
        let due: Vec<_> = table.take_expired(t0 + Duration::from_secs(1)).collect();
        assert_eq!(due, [Timer::Ping]);
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_secs(2)));
        table.stop(Timer::Read);
        assert_eq!(table.next_timeout(), None);
    }
}
