//! The connection the session is using, the data that lives only as long as it does, and
//! what happens when it ends: backoff, the reconnect, or the end of the session.

use std::time::{Duration, Instant};

use super::event::{Event, SessionState};
use super::fault::ConnectionFault;
use super::sasl::SaslExchange;
use super::timer::{Timer, TimerTable};
use super::{Create2, Session};
use crate::ErrorCode;
use crate::hosts::HostIndex;

/// The connection the session is using.
#[derive(Debug, Default)]
pub(super) enum Conn {
    /// No connection; dial when [`Timer::Reconnect`] fires (or at once when it is unset).
    #[default]
    Idle,
    /// [`Session::poll_connect`] returned this host; waiting for `handle_connected`.
    Dialing(HostIndex),
    /// Connected; the ConnectRequest is sent (`sent`) or about to be.
    Handshaking { host: HostIndex, sent: bool },
    /// The session is established on this connection.
    Established(Link),
}

impl Conn {
    pub(super) fn is_established(&self) -> bool {
        matches!(self, Self::Established(_))
    }

    pub(super) fn is_idle(&self) -> bool {
        matches!(self, Self::Idle)
    }

    /// The established connection.
    pub(super) fn link(&mut self) -> Option<&mut Link> {
        match self {
            Self::Established(link) => Some(link),
            _ => None,
        }
    }
}

/// An established connection: what is due on it, and its SASL exchange. Dropped with it.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) host: HostIndex,
    /// The server answered something after the handshake: the connection works.
    pub(super) proven: bool,
    /// Auth replay and SetWatches are due before anything else.
    pub(super) setup_due: bool,
    /// Send a ping with the next transmit when nothing else goes out.
    pub(super) ping_due: bool,
    /// The SASL exchange, until it completes; nothing else is sent meanwhile.
    pub(super) sasl: Option<Sasl>,
}

impl Link {
    pub(super) fn new(host: HostIndex) -> Self {
        Self {
            host,
            proven: false,
            setup_due: false,
            ping_due: false,
            sasl: None,
        }
    }
}

/// A SASL exchange in progress.
#[derive(Debug)]
pub(super) struct Sasl {
    pub(super) exchange: Box<dyn SaslExchange>,
    /// The next token to send.
    pub(super) token: Option<Vec<u8>>,
    /// The state to report once the exchange completes.
    pub(super) then: SessionState,
}

impl Session {
    /// The peer broke the protocol or stopped answering: say why, then drop the connection.
    pub(super) fn fault(&mut self, now: Instant, fault: ConnectionFault) {
        tracing::debug!(%fault, "dropping the connection");
        self.events.push_back(Event::ConnectionFault(fault));
        self.drop_connection(now);
    }

    /// The session drops the connection itself: tell the driver, then handle the loss.
    pub(super) fn drop_connection(&mut self, now: Instant) {
        self.drop_transport();
        self.connection_lost(now);
    }

    /// Tells the driver to close the socket.
    pub(super) fn drop_transport(&mut self) {
        if !self.conn.is_idle() {
            self.events.push_back(Event::CloseConnection);
        }
    }

    /// The connection ended: requests in flight fail with ConnectionLoss, and the next
    /// attempt is scheduled (or the session ends).
    pub(super) fn connection_lost(&mut self, now: Instant) {
        let conn = std::mem::take(&mut self.conn);
        // Only a connection that worked earns the quick reconnect; one that fails right after
        // its handshake counts as a failed attempt, so a flapping server sees backoff.
        let healthy = matches!(&conn, Conn::Established(link) if link.proven);
        if let Conn::Handshaking { host, sent: true } = conn {
            self.read_only
                .handshake_closed(host, self.presented, &self.config);
        }
        drop(conn);
        for timer in [Timer::Connect, Timer::Read, Timer::Ping, Timer::Probe] {
            self.timers.stop(timer);
        }
        self.read_only.connection_lost();
        if self.create2 == Create2::Probing {
            self.create2 = Create2::Unknown;
        }
        for pending in std::mem::take(&mut self.pending) {
            if let Some(id) = pending.kind.user_id() {
                self.fail(id, ErrorCode::ConnectionLoss);
            }
        }
        if self.closing {
            return self.terminate(SessionState::Closed);
        }
        if self.state.is_terminal() {
            return;
        }
        if self.state.is_connected() {
            self.set_state(SessionState::Disconnected);
        }
        if let Some(host) = self.read_only.retry_now.take() {
            self.hosts.prefer(host);
            self.timers.set(Timer::Reconnect, now);
        } else if healthy {
            let delay = self
                .rng
                .below(self.config.reconnect.initial.as_micros() as u64);
            self.timers
                .set(Timer::Reconnect, now + Duration::from_micros(delay));
        } else {
            self.failures += 1;
            let policy = self.config.reconnect;
            if policy.max_attempts != 0 && self.failures >= policy.max_attempts {
                tracing::debug!(attempts = self.failures, "giving up reconnecting");
                return self.terminate(SessionState::Closed);
            }
            let exp = policy
                .initial
                .saturating_mul(1 << (self.failures - 1).min(20))
                .min(policy.max);
            let micros = exp.as_micros() as u64;
            let delay = micros / 2 + self.rng.below(micros / 2 + 1);
            self.timers
                .set(Timer::Reconnect, now + Duration::from_micros(delay));
        }
        if self.global.is_some() && self.config.local_expiry_percent > 0 {
            let limit = self.negotiated * self.config.local_expiry_percent / 100;
            self.timers.set(Timer::Expiry, self.last_contact + limit);
        }
    }

    /// Ends the session for good: every request and watcher fails with the state's code.
    pub(super) fn terminate(&mut self, state: SessionState) {
        self.conn = Conn::Idle;
        self.timers = TimerTable::default();
        self.closing = false;
        let code = state.terminal_error().unwrap_or(ErrorCode::Closing);
        let in_flight = std::mem::take(&mut self.pending);
        let queued = std::mem::take(&mut self.queue);
        let ids = in_flight
            .iter()
            .filter_map(|p| p.kind.user_id())
            .chain(queued.iter().filter_map(|q| q.user_id()));
        for id in ids {
            self.fail(id, code);
        }
        self.watches.clear();
        self.set_state(state);
    }
}
