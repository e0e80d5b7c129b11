//! The two bridge networks of a container ensemble, and partitions as disconnections from
//! the quorum network.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use super::docker;
use crate::config::ServerId;
use crate::error::{Error, Result};
use crate::net::Partition;

/// The quorum network (internal, fixed subnet) and the clients network of one ensemble.
#[derive(Debug)]
pub(crate) struct ContainerNet {
    run: String,
    quorum: String,
    clients: String,
    subnet: [u8; 3],
    cut: Mutex<BTreeSet<ServerId>>,
}

impl ContainerNet {
    /// Creates both networks. The quorum subnet is `10.X.Y.0/24` with X in 201..=250,
    /// chosen from `seed` and moved on while Docker says it overlaps another network.
    pub(crate) fn create(run: &str, seed: u64) -> Result<Arc<Self>> {
        let labels = super::labels(run);
        let quorum = format!("zk-testkit-{run}-quorum");
        let clients = format!("zk-testkit-{run}-clients");
        let create = |name: &str, extra: &[&str]| -> Result<()> {
            let mut args = vec!["network", "create", "--driver", "bridge"];
            for l in &labels {
                args.extend(["--label", l.as_str()]);
            }
            args.extend(extra);
            args.push(name);
            docker(&args).map(|_| ())
        };
        let mut subnet = None;
        let mut last = None;
        for attempt in 0..32u64 {
            let pick = seed.wrapping_add(attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let x = 201 + u8::try_from(pick % 50).unwrap_or(0);
            let y = u8::try_from((pick >> 8) % 256).unwrap_or(0);
            let cidr = format!("10.{x}.{y}.0/24");
            match create(&quorum, &["--internal", "--subnet", &cidr]) {
                Ok(()) => {
                    subnet = Some([10, x, y]);
                    break;
                }
                Err(e) if e.to_string().contains("overlap") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        let Some(subnet) = subnet else {
            return Err(last.unwrap_or_else(|| {
                Error::DockerUnavailable("no free subnet for the quorum network".into())
            }));
        };
        let net = Arc::new(Self {
            run: run.to_owned(),
            quorum,
            clients,
            subnet,
            cut: Mutex::new(BTreeSet::new()),
        });
        // Made second: if it fails, dropping `net` removes the quorum network.
        create(&net.clients, &[])?;
        Ok(net)
    }

    pub(crate) fn quorum(&self) -> &str {
        &self.quorum
    }

    pub(crate) fn clients(&self) -> &str {
        &self.clients
    }

    /// Server `id`'s address on the quorum network.
    pub(crate) fn server_ip(&self, id: ServerId) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, id.saturating_add(10))
    }

    /// The container name of server `id`.
    pub(crate) fn container(&self, id: ServerId) -> String {
        container_name(&self.run, id)
    }

    /// Cuts every server outside the largest side (the first, on a tie) from the quorum.
    pub(crate) fn partition(
        self: &Arc<Self>,
        ids: &[ServerId],
        sides: &[&[ServerId]],
    ) -> Result<Partition> {
        for id in sides.iter().flat_map(|s| s.iter()) {
            if !ids.contains(id) {
                return Err(Error::UnknownServer(*id));
            }
        }
        let keep = sides
            .iter()
            .enumerate()
            .max_by_key(|(i, s)| (s.len(), std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        let cut: Vec<ServerId> = sides
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != keep)
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        let what = format!("{sides:?} (servers {cut:?} disconnected from the quorum network)");
        self.cut_off(cut, what)
    }

    /// Cuts server `id` from the quorum.
    pub(crate) fn isolate(self: &Arc<Self>, ids: &[ServerId], id: ServerId) -> Result<Partition> {
        if !ids.contains(&id) {
            return Err(Error::UnknownServer(id));
        }
        self.cut_off(vec![id], format!("server {id} isolated"))
    }

    fn cut_off(self: &Arc<Self>, servers: Vec<ServerId>, what: String) -> Result<Partition> {
        let mut done = Vec::new();
        for id in servers {
            let fresh = self.lock().insert(id);
            if !fresh {
                continue;
            }
            if let Err(e) = docker(&["network", "disconnect", &self.quorum, &self.container(id)]) {
                self.lock().remove(&id);
                self.restore(&done);
                return Err(e);
            }
            done.push(id);
        }
        tracing::info!(partition = %what, "partition applied");
        Ok(Partition::container(Arc::clone(self), done, what))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<ServerId>> {
        self.cut
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Connects `servers` back to the quorum network at their addresses.
    pub(crate) fn restore(&self, servers: &[ServerId]) {
        for &id in servers {
            if !self.lock().remove(&id) {
                continue;
            }
            let ip = self.server_ip(id).to_string();
            if let Err(e) = docker(&[
                "network",
                "connect",
                "--ip",
                &ip,
                &self.quorum,
                &self.container(id),
            ]) {
                tracing::warn!(server = id, error = %e, "reconnecting a server to the quorum failed");
            }
        }
    }

    /// Connects every cut server back.
    pub(crate) fn heal_all(&self) {
        let cut: Vec<ServerId> = self.lock().iter().copied().collect();
        self.restore(&cut);
    }
}

impl Drop for ContainerNet {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", &self.quorum, &self.clients]);
    }
}

/// The container name of server `id` of run `run`.
pub(crate) fn container_name(run: &str, id: ServerId) -> String {
    format!("zk-testkit-{run}-s{id}")
}
