//! Read-only mode: asking servers `isro`, to find a read-write server while connected to
//! a read-only one, and to learn why a server closed the handshake of the global session.

use std::time::{Duration, Instant};

use super::Session;
use super::config::{ServerMode, SessionConfig};
use super::event::SessionState;
use super::timer::Timer;
use crate::hosts::HostIndex;

/// The first wait between `isro` probes while connected read-only; it doubles up to
/// [`MAX_PROBE_BACKOFF`].
const FIRST_PROBE: Duration = Duration::from_millis(100);
const MAX_PROBE_BACKOFF: Duration = Duration::from_secs(60);

/// What the session knows and wants about read-only servers.
#[derive(Debug, Default)]
pub(super) struct ReadOnlyProbe {
    /// The next handshake asks for a new (local) session: a read-only server could not
    /// validate the global one.
    pub(super) try_local: bool,
    /// Dial this host again at once (a read-only server that will give a local session).
    pub(super) retry_now: Option<HostIndex>,
    /// A host that closed the handshake of the global session: ask it `isro`.
    check_due: Option<HostIndex>,
    /// The host whose `isro` answer is awaited for that.
    check: Option<HostIndex>,
    /// The wait before the next probe for a read-write server.
    backoff: Option<Duration>,
    /// A probe for a read-write server is due.
    due: bool,
}

impl ReadOnlyProbe {
    /// A server closed the handshake in which the session presented `presented`.
    pub(super) fn handshake_closed(
        &mut self,
        host: HostIndex,
        presented: i64,
        config: &SessionConfig,
    ) {
        if config.read_only && presented != 0 && self.retry_now.is_none() {
            self.check_due = Some(host);
        }
    }

    /// The connection ended: a probe due on it is moot.
    pub(super) fn connection_lost(&mut self) {
        self.due = false;
    }

    /// Connected read-only: start probing for a read-write server soon.
    pub(super) fn connected_read_only(&mut self) {
        self.backoff = None;
    }
}

impl Session {
    /// A host to probe with `isro`: while connected read-only, to find a read-write server;
    /// and, with read-only sessions allowed, after a server closed the handshake of the
    /// global session (a read-only server does that). Answer with
    /// [`handle_probe`](Self::handle_probe).
    #[must_use]
    pub fn poll_probe(&mut self) -> Option<HostIndex> {
        if let Some(host) = self.read_only.check_due.take() {
            self.read_only.check = Some(host);
            return Some(host);
        }
        if !std::mem::take(&mut self.read_only.due) {
            return None;
        }
        let host = self.hosts.peek();
        (Some(host) != self.connected_host()).then_some(host)
    }

    /// The answer of `host` to an `isro` probe asked for by [`poll_probe`](Self::poll_probe).
    pub fn handle_probe(&mut self, now: Instant, host: HostIndex, mode: ServerMode) {
        if self.read_only.check == Some(host) {
            self.read_only.check = None;
            if mode == ServerMode::ReadOnly && !self.conn.is_established() {
                // A read-only server closed the handshake of our global session: open a
                // local one there and resume the global one on a read-write server later.
                tracing::debug!(
                    ?host,
                    "read-only server refused the global session; opening a local one"
                );
                self.read_only.try_local = true;
                self.hosts.prefer(host);
                self.timers.set(Timer::Reconnect, now);
            }
            return;
        }
        if self.state != SessionState::ConnectedReadOnly {
            return;
        }
        if mode == ServerMode::ReadWrite {
            tracing::debug!(?host, "read-write server found");
            self.hosts.prefer(host);
            self.drop_connection(now);
            self.timers.stop(Timer::Reconnect);
        } else {
            let backoff = self
                .read_only
                .backoff
                .map_or(FIRST_PROBE, |b| (b * 2).min(MAX_PROBE_BACKOFF));
            self.read_only.backoff = Some(backoff);
            self.timers.set(Timer::Probe, now + backoff);
        }
    }

    /// [`Timer::Probe`] fired.
    pub(super) fn probe_timer(&mut self) {
        self.read_only.due = self.state == SessionState::ConnectedReadOnly;
    }

    /// Schedules the first probe of a read-only connection, or stops probing.
    pub(super) fn schedule_probe(&mut self, now: Instant, read_only: bool) {
        if read_only {
            self.read_only.connected_read_only();
            self.timers.set(Timer::Probe, now + FIRST_PROBE);
        } else {
            self.timers.stop(Timer::Probe);
        }
    }
}
