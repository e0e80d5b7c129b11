//! The servers of a container ensemble: names, addresses, leased host ports, mounts and
//! the `docker create` arguments of each.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use super::{ContainerNet, ContainerServer};
use crate::config::{self, EnsembleConfig, NodeAddrs, NodeFiles, ServerId};
use crate::error::{Error, Result};
use crate::node::{self, Node};
use crate::ports::{self, PortLease};

/// What a container ensemble owns besides its nodes.
pub(crate) struct Layout {
    pub(crate) net: Arc<ContainerNet>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) leases: Vec<PortLease>,
}

/// Checks the image is there (pulling it once when it is not), makes the networks, leases
/// one host port per server and prepares (without creating) each container.
pub(crate) async fn prepare(cfg: &EnsembleConfig, root: &Path) -> Result<Layout> {
    super::docker_available().map_err(Error::DockerUnavailable)?;
    super::sweep_stale_once();
    let image = cfg.image_name();
    ensure_image(&image).await?;

    let run = super::new_run_id();
    let seed = (u64::from(std::process::id()) << 32)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()))
            .unwrap_or_default();
    let net = ContainerNet::create(&run, seed)?;
    let leases = ports::reserve(cfg.size)?;
    let ids: Vec<ServerId> = (1..=cfg.size)
        .map(|i| u8::try_from(i).unwrap_or(u8::MAX))
        .collect();
    let all: Vec<(ServerId, Ipv4Addr)> = ids.iter().map(|&id| (id, net.server_ip(id))).collect();
    let labels = super::labels(&run);
    let (client_port, quorum_port, election_port) = config::CONTAINER_PORTS;

    let mut nodes = Vec::with_capacity(cfg.size);
    for (&id, lease) in ids.iter().zip(&leases) {
        let files = NodeFiles::new(&root.join(format!("s{id}")));
        node::write_dirs(&files, id)?;
        let name = net.container(id);
        let mut args: Vec<String> = vec![
            "--name".into(),
            name.clone(),
            "--hostname".into(),
            format!("zk{id}"),
            "--network".into(),
            net.clients().to_owned(),
            "--publish".into(),
            format!("127.0.0.1:{}:{client_port}", lease.port()),
            "--volume".into(),
            format!("{}:/data", files.data_dir.display()),
            "--volume".into(),
            format!("{}:/datalog", files.data_log_dir.display()),
        ];
        for l in &labels {
            args.extend(["--label".into(), l.clone()]);
        }
        if let Some(bytes) = cfg.memory {
            args.extend(["--memory".into(), bytes.to_string()]);
        }
        for (k, v) in config::container_env(cfg, id, &all)? {
            args.extend(["--env".into(), format!("{k}={v}")]);
        }
        args.push(image.clone());
        let ip = net.server_ip(id);
        let addrs = NodeAddrs {
            id,
            ip: ip.to_string(),
            client_port,
            quorum_port,
            election_port,
            secure_port: None,
        };
        let client_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, lease.port()));
        let server = ContainerServer::new(id, name, args, net.quorum().to_owned(), ip.to_string());
        nodes.push(Node::container(addrs, client_addr, files, server));
    }
    Ok(Layout { net, nodes, leases })
}

/// Pulls `image` when it is not present, once; a failed pull names the script that builds
/// the kit's image locally.
async fn ensure_image(image: &str) -> Result<()> {
    if super::docker_async(&["image", "inspect", "--format", "{{.Id}}", image])
        .await
        .is_ok()
    {
        return Ok(());
    }
    tracing::info!(image, "pulling the ZooKeeper image");
    match super::docker_async(&["pull", "--quiet", image]).await {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::DockerUnavailable(format!(
            "image {image} is not here and could not be pulled ({e}); build the kit's image \
             with scripts/build-zk-image.sh, or set ZK_TESTKIT_IMAGE to an image you have \
             (zookeeper:3.8 from Docker Hub, where it is reachable)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_differ() {
        assert_ne!(super::super::new_run_id(), super::super::new_run_id());
    }
}
