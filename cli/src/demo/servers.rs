//! Where the demo runs: a local ensemble whose servers it may kill, or an existing one
//! that its clients reach through local relays.

use zk_client::proto::hosts::{ConnectString, Host, Scheme};
use zk_testkit::{Ensemble, Mode};

use super::relay::Relay;
use super::steps::{DEFAULT_SESSION_TIMEOUT, Step, connect, zk};
use super::timeline::Timeline;

/// The ensemble the demo runs on.
pub(super) enum Servers {
    /// Started by the demo; servers can be killed.
    Local(Box<Ensemble>),
    /// Given with `--server`; the demo's client goes through relays.
    Existing {
        /// One relay per server.
        relays: Vec<Relay>,
        /// The chroot of the connect string, or empty.
        chroot: String,
    },
}

impl Servers {
    pub(super) async fn local(tl: &Timeline) -> Step<Self> {
        tl.step("starting a local 3-server ZooKeeper ensemble (zk-testkit: real servers on loopback ports)");
        let ensemble = Ensemble::start(3).await.map_err(|e| {
            format!(
                "starting the ensemble: {}",
                crate::error::one_line(&e.to_string())
            )
        })?;
        let mut roles = Vec::new();
        for id in ensemble.ids() {
            let addr = ensemble
                .client_addr(id)
                .map(|a| a.to_string())
                .unwrap_or_default();
            let mode = ensemble
                .mode(id)
                .await
                .map_or_else(|| "?".to_owned(), |m| m.to_string());
            roles.push(format!("server {id} {mode} at {addr}"));
        }
        tl.step(format!(
            "ensemble up in {:.1}s (ZooKeeper {}): {}",
            ensemble.started_in().as_secs_f64(),
            ensemble
                .server_version()
                .as_deref()
                .map_or_else(|| "?".to_owned(), crate::server::short_version),
            roles.join(", ")
        ));
        Ok(Self::Local(Box::new(ensemble)))
    }

    pub(super) async fn existing(tl: &Timeline, hosts: &str) -> Step<Self> {
        let cs: ConnectString = hosts
            .parse()
            .map_err(|e| format!("invalid server list {hosts:?}: {e}"))?;
        if cs.hosts.iter().any(|h| h.scheme == Scheme::Tls) {
            return Err(
                "the demo speaks plain TCP only: give it the servers' plain client ports"
                    .to_owned(),
            );
        }
        let chroot = match cs.chroot.as_str() {
            "/" => String::new(),
            chroot => chroot.to_owned(),
        };
        let plain: Vec<String> = cs.hosts.iter().map(host_port).collect();
        if !chroot.is_empty() {
            check_chroot(&plain.join(","), &chroot).await?;
        }
        let mut relays = Vec::with_capacity(cs.hosts.len());
        for host in &cs.hosts {
            let target = host_port(host);
            let relay = Relay::start(target.clone())
                .await
                .map_err(|e| format!("starting a local relay to {target}: {e}"))?;
            relays.push(relay);
        }
        tl.step(format!(
            "using the ensemble at {hosts}; the demo's client reaches each server through a \
             local relay, so it can be cut off from one without touching the server"
        ));
        Ok(Self::Existing { relays, chroot })
    }

    /// The connect string of the demo's main session.
    pub(super) fn client_hosts(&self) -> String {
        match self {
            Self::Local(ensemble) => ensemble.connect_string(),
            Self::Existing { relays, chroot } => {
                let hosts: Vec<String> = relays.iter().map(|r| r.addr.to_string()).collect();
                format!("{}{chroot}", hosts.join(","))
            }
        }
    }

    /// The connect string of the observer: every server but `except` (the main
    /// session's), so it is not disturbed when that one goes.
    pub(super) fn observer_hosts(&self, except: &str) -> String {
        match self {
            Self::Local(ensemble) => {
                let hosts: Vec<String> = ensemble
                    .ids()
                    .into_iter()
                    .filter_map(|id| ensemble.client_addr(id))
                    .map(|a| a.to_string())
                    .filter(|a| a != except)
                    .collect();
                hosts.join(",")
            }
            Self::Existing { relays, chroot } => {
                let mut hosts: Vec<&str> = relays
                    .iter()
                    .filter(|r| r.addr.to_string() != except)
                    .map(|r| r.target.as_str())
                    .collect();
                if hosts.is_empty() {
                    hosts = relays.iter().map(|r| r.target.as_str()).collect();
                }
                format!("{}{chroot}", hosts.join(","))
            }
        }
    }

    /// Every server, for the clean-up.
    pub(super) fn all_hosts(&self) -> String {
        match self {
            Self::Local(ensemble) => ensemble.connect_string(),
            Self::Existing { relays, chroot } => {
                let hosts: Vec<&str> = relays.iter().map(|r| r.target.as_str()).collect();
                format!("{}{chroot}", hosts.join(","))
            }
        }
    }

    pub(super) fn can_fail_over(&self) -> bool {
        match self {
            Self::Local(_) => true,
            Self::Existing { relays, .. } => relays.len() > 1,
        }
    }

    pub(super) fn local_id(ensemble: &Ensemble, addr: &str) -> Option<u8> {
        ensemble.ids().into_iter().find(|id| {
            ensemble
                .client_addr(*id)
                .is_some_and(|a| a.to_string() == addr)
        })
    }

    /// `server 2 (127.0.0.1:20002, leader)`, or the server behind a relay.
    pub(super) async fn describe(&self, addr: &str) -> String {
        match self {
            Self::Local(ensemble) => match Self::local_id(ensemble, addr) {
                Some(id) => {
                    let mode = ensemble
                        .mode(id)
                        .await
                        .map_or_else(|| "?".to_owned(), |m| m.to_string());
                    format!("server {id} ({addr}, {mode})")
                }
                None => addr.to_owned(),
            },
            Self::Existing { relays, .. } => relays
                .iter()
                .find(|r| r.addr.to_string() == addr)
                .map_or_else(|| addr.to_owned(), |r| r.target.clone()),
        }
    }

    /// Takes the server at `addr` away from the main session; returns the id of a
    /// killed leader, so the new election can be shown.
    pub(super) async fn take_down(&self, tl: &Timeline, addr: &str) -> Step<Option<u8>> {
        match self {
            Self::Local(ensemble) => {
                let id = Self::local_id(ensemble, addr)
                    .ok_or_else(|| format!("{addr} is not a server of the ensemble"))?;
                let leader = ensemble.mode(id).await == Some(Mode::Leader);
                let role = if leader { ", the leader" } else { "" };
                tl.step(format!(
                    "killing server {id} ({addr}{role}) with SIGKILL: the server this session is connected to"
                ));
                ensemble
                    .kill(id)
                    .map_err(|e| format!("killing server {id}: {e}"))?;
                Ok(leader.then_some(id))
            }
            Self::Existing { relays, .. } => {
                let relay = relays
                    .iter()
                    .find(|r| r.addr.to_string() == addr)
                    .ok_or_else(|| format!("{addr} is not one of the demo's relays"))?;
                tl.step(format!(
                    "cutting this session off {}: the relay drops its connection and refuses new ones",
                    relay.target
                ));
                relay.cut();
                Ok(None)
            }
        }
    }

    /// Kills the leader of a local ensemble (SIGKILL), so every session on it fails over
    /// and the others elect a new leader. An existing ensemble's servers are not the
    /// demo's to kill: it says so and goes on.
    pub(super) async fn take_down_leader(&self, tl: &Timeline) -> Step {
        let Self::Local(ensemble) = self else {
            tl.step(
                "an existing ensemble: its servers are not the demo's to kill, so no server dies",
            );
            return Ok(());
        };
        let mut leader = None;
        for id in ensemble.ids() {
            if ensemble.mode(id).await == Some(Mode::Leader) {
                leader = Some(id);
            }
        }
        let id = leader.ok_or("the ensemble has no leader")?;
        tl.step(format!("killing server {id}, the leader, with SIGKILL"));
        ensemble
            .kill(id)
            .map_err(|e| format!("killing server {id}: {e}"))?;
        Ok(())
    }
}

/// A chroot must exist before clients can use it.
async fn check_chroot(hosts: &str, chroot: &str) -> Step {
    let client = connect(hosts, DEFAULT_SESSION_TIMEOUT).await?;
    let found = client.exists(chroot).await;
    client.close().await;
    match found.map_err(zk)? {
        Some(_) => Ok(()),
        None => Err(format!(
            "the chroot {chroot} does not exist (create it first: zk --server {hosts} create {chroot})"
        )),
    }
}

fn host_port(host: &Host) -> String {
    if host.host.contains(':') {
        format!("[{}]:{}", host.host, host.port)
    } else {
        format!("{}:{}", host.host, host.port)
    }
}
