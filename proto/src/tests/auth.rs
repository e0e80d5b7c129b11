//! Authentication scenarios: auth replay and failure, and the SASL exchange.

use super::sim::{Sim, exists, get_data};
use super::{config, secs};
use crate::records::*;
use crate::session::SessionState;
use crate::{ErrorCode, OpCode};

#[test]
fn auth_is_replayed_in_order_before_watches_and_requests() {
    let mut sim = Sim::new(config());
    for scheme in ["first", "second", "third"] {
        sim.session.add_auth(sim.now, AuthPacket::new(scheme, "x"));
    }
    sim.connect();
    assert_eq!(sim.server.auths, ["first", "second", "third"]);
    sim.call(OpCode::GetData, get_data("/", true)).unwrap();

    sim.server.disconnect();
    sim.server_closed();
    let queued = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.server.received.clear();
    sim.connect();
    sim.step();
    assert!(sim.reply(queued).unwrap().is_ok());
    let order: Vec<Option<OpCode>> = sim.server.received.iter().map(|(_, op, _)| *op).collect();
    assert_eq!(
        order,
        [
            None,
            Some(OpCode::Auth),
            Some(OpCode::Auth),
            Some(OpCode::Auth),
            Some(OpCode::SetWatches),
            Some(OpCode::Exists)
        ]
    );
    assert_eq!(sim.server.auths, ["first", "second", "third"]);
}

#[test]
fn auth_failure_is_terminal() {
    let mut sim = Sim::new(config());
    sim.connect();
    sim.session.add_auth(sim.now, AuthPacket::new("fail", "x"));
    let id = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.run_until(secs(1.0), |s| s.session.state() == SessionState::AuthFailed);
    assert_eq!(sim.reply(id), Some(Err(ErrorCode::AuthFailed)));
    let later = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.step();
    assert_eq!(sim.reply(later), Some(Err(ErrorCode::AuthFailed)));
    sim.run_for(secs(30.0));
    assert_eq!(sim.dials.len(), 1, "no reconnect after AuthFailed");
}

/// The toy exchange the fake server speaks: empty token, then the secret.
#[derive(Debug)]
struct ToySasl(&'static [u8]);

impl crate::session::SaslMechanism for ToySasl {
    fn start(&self) -> Box<dyn crate::session::SaslExchange> {
        Box::new(ToyExchange(self.0))
    }
}

#[derive(Debug)]
struct ToyExchange(&'static [u8]);

impl crate::session::SaslExchange for ToyExchange {
    fn initial(&mut self) -> Vec<u8> {
        Vec::new()
    }
    fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, crate::session::SaslError> {
        match challenge {
            b"nonce" => Ok(Some(self.0.to_vec())),
            b"done" => Ok(None),
            other => Err(crate::session::SaslError(format!("unexpected {other:?}"))),
        }
    }
}

#[test]
fn sasl_runs_first_on_every_connection() {
    let mut sim = Sim::new(config().sasl(std::sync::Arc::new(ToySasl(b"secret"))));
    sim.server.sasl_secret = Some(b"secret".to_vec());
    sim.session
        .add_auth(sim.now, AuthPacket::new("digest", "a:b"));
    let queued = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", true));
    sim.connect();
    sim.step();
    assert!(sim.reply(queued).unwrap().is_ok());
    let ops: Vec<Option<OpCode>> = sim.server.received.iter().map(|(_, op, _)| *op).collect();
    assert_eq!(
        ops,
        [
            None,
            Some(OpCode::Sasl),
            Some(OpCode::Sasl),
            Some(OpCode::Auth),
            Some(OpCode::Exists)
        ]
    );
    // Again after a reconnect, before auth replay and SetWatches.
    sim.server.received.clear();
    sim.server.disconnect();
    sim.server_closed();
    sim.connect();
    let ops: Vec<Option<OpCode>> = sim.server.received.iter().map(|(_, op, _)| *op).collect();
    assert_eq!(
        ops,
        [
            None,
            Some(OpCode::Sasl),
            Some(OpCode::Sasl),
            Some(OpCode::Auth),
            Some(OpCode::SetWatches)
        ]
    );
    assert_eq!(
        sim.states(),
        [
            SessionState::Connected,
            SessionState::Disconnected,
            SessionState::Connected
        ]
    );
}

#[test]
fn a_failed_sasl_exchange_is_terminal() {
    let mut sim = Sim::new(config().sasl(std::sync::Arc::new(ToySasl(b"wrong"))));
    sim.server.sasl_secret = Some(b"secret".to_vec());
    let queued = sim
        .session
        .submit(sim.now, OpCode::Exists, exists("/", false));
    sim.run_until(secs(5.0), |s| s.session.state().is_terminal());
    assert_eq!(sim.session.state(), SessionState::AuthFailed);
    assert_eq!(sim.reply(queued), Some(Err(ErrorCode::AuthFailed)));
    assert_eq!(sim.states(), [SessionState::AuthFailed]);
}
