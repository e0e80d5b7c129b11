//! Running the `docker` command line, blocking or on tokio.

use std::process::Output;

use crate::error::{Error, Result};

fn result(args: &[&str], out: std::io::Result<Output>) -> Result<String> {
    let out = out.map_err(|e| {
        Error::DockerUnavailable(format!(
            "running `docker`: {e} (apt-get install docker.io, then dockerd --iptables=false &)"
        ))
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(Error::Command {
            command: format!("docker {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Runs `docker <args>` and returns its standard output, trimmed.
pub(crate) fn docker(args: &[&str]) -> Result<String> {
    let out = std::process::Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output();
    result(args, out)
}

/// Runs `docker <args>` without blocking the runtime.
pub(crate) async fn docker_async(args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await;
    result(args, out)
}
