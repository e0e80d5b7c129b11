//! `config` and `reconfig`: the ensemble's dynamic configuration.

use std::io::{self, Write};

use serde::Serialize;
use zk_client::Error;

use super::Ctx;
use super::background::WatchKind;
use super::watch::follow;
use crate::cli::{ConfigArgs, ReconfigArgs};
use crate::error::{CliError, Result};
use crate::output::{Output, Render, StatView};

/// `config` and `reconfig`: the configuration text (`server.N=...` lines and
/// `version=...`).
#[derive(Debug, Serialize)]
struct Config {
    config: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stat: Option<StatView>,
}

impl Render for Config {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(self.config.as_bytes())?;
        if !self.config.is_empty() && !self.config.ends_with('\n') {
            w.write_all(b"\n")?;
        }
        if let Some(stat) = &self.stat {
            stat.text(w)?;
        }
        Ok(())
    }
}

/// `config -c`: the version and a connect string of the servers' client addresses.
#[derive(Debug, Serialize)]
struct ClientConfig {
    version: String,
    servers: String,
}

impl Render for ClientConfig {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{} {}", self.version, self.servers)
    }
}

pub(super) async fn config(ctx: &Ctx<'_>, args: ConfigArgs, out: &mut Output) -> Result<()> {
    let (config, stat, watcher) = if args.watch {
        let (config, stat, watcher) = ctx.client.get_config_and_watch().await?;
        (config, stat, Some(watcher))
    } else {
        let (config, stat) = ctx.client.get_config().await?;
        (config, stat, None)
    };
    let config = String::from_utf8_lossy(&config).into_owned();
    if args.client {
        let (version, servers) = client_servers(&config);
        out.emit(&ClientConfig { version, servers })?;
    } else {
        out.emit(&Config {
            config,
            stat: args.stat.then(|| StatView::from(&stat)),
        })?;
    }
    match watcher {
        Some(watcher) => follow(ctx, watcher, CONFIG_NODE, WatchKind::Data, out).await,
        None => Ok(()),
    }
}

/// Where the servers keep the dynamic configuration.
const CONFIG_NODE: &str = "/zookeeper/config";

/// The version and the client addresses of a configuration, as zkCli's `config -c`
/// prints them (`100000000 host:2181,host:2182`). A wildcard or missing client host is
/// replaced by the server's own host, so that the result is a connect string.
fn client_servers(config: &str) -> (String, String) {
    let mut version = String::new();
    let mut servers = Vec::new();
    for line in config.lines().map(str::trim) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key == "version" {
            value.clone_into(&mut version);
        }
        if !key.starts_with("server.") {
            continue;
        }
        let Some((quorum, client)) = value.split_once(';') else {
            continue;
        };
        let server_host = quorum.split(':').next().unwrap_or_default();
        let (host, port) = match client.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => ("", client),
        };
        let host = match host {
            "" | "0.0.0.0" | "[::]" | "::" => server_host,
            host => host,
        };
        servers.push(format!("{host}:{port}"));
    }
    (version, servers.join(","))
}

pub(super) async fn reconfig(ctx: &Ctx<'_>, args: ReconfigArgs, out: &mut Output) -> Result<()> {
    let members = match &args.file {
        Some(file) => Some(members_from_file(file)?),
        None => args.members.as_deref().map(str::to_lowercase),
    };
    // zkCli lower-cases the server entries too (`Participant` → `participant`).
    let joining = args.add.as_deref().map(str::to_lowercase);
    let leaving = args.remove.as_deref().map(str::to_lowercase);
    let result = ctx
        .client
        .reconfig(
            joining.as_deref(),
            leaving.as_deref(),
            members.as_deref(),
            args.from_version,
        )
        .await;
    let (config, stat) = result.map_err(|e| reconfig_error(e, args.from_version))?;
    out.emit(&Config {
        config: String::from_utf8_lossy(&config).into_owned(),
        stat: args.stat.then(|| StatView::from(&stat)),
    })?;
    Ok(())
}

/// The `server.N=...` lines of a dynamic configuration file, comma-separated, as
/// `reconfig` sends a whole new membership.
fn members_from_file(file: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::msg(format!("reading {}: {e}", file.display())))?;
    let servers: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("server."))
        .map(|l| l.replace(' ', "").to_lowercase())
        .collect();
    if servers.is_empty() {
        return Err(CliError::msg(format!(
            "{}: no server.N=... lines (a dynamic configuration file lists the members)",
            file.display()
        )));
    }
    Ok(servers.join(","))
}

/// A failed reconfig, told with what to do about it.
fn reconfig_error(e: Error, from_version: Option<i64>) -> CliError {
    let message = match &e {
        Error::NoAuth(_) => "reconfig: not authorized (it needs the super user, \
                             e.g. --auth digest:super:<password>, or an ACL on \
                             /zookeeper/config that grants it)"
            .to_owned(),
        Error::ReconfigDisabled(_) => {
            "reconfig: dynamic reconfiguration is disabled on the server \
             (reconfigEnabled=true in its configuration enables it)"
                .to_owned()
        }
        Error::BadVersion(_) => format!(
            "reconfig: the configuration is no longer at version {:x} (see config)",
            from_version.unwrap_or(-1)
        ),
        Error::NewConfigNoQuorum(_) => "reconfig: the new configuration has no quorum of \
                                        connected servers"
            .to_owned(),
        Error::ReconfigInProgress(_) => {
            "reconfig: another reconfiguration is in progress; try again".to_owned()
        }
        Error::BadArguments(_) => "reconfig: the server refused the change (a server entry \
                                   or id that is invalid, or a change that changes nothing)"
            .to_owned(),
        _ => return e.into(),
    };
    CliError::from(e).reworded(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_servers_make_a_connect_string() {
        let config = "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
                      server.2=10.0.0.2:2888:3888:participant;10.0.0.9:2182\n\
                      server.3=zk3:2888:3888;2183\n\
                      version=100000000";
        assert_eq!(
            client_servers(config),
            (
                "100000000".to_owned(),
                "127.0.0.1:2181,10.0.0.9:2182,zk3:2183".to_owned()
            )
        );
        assert_eq!(client_servers(""), (String::new(), String::new()));
    }

    #[test]
    fn members_come_from_the_server_lines_of_a_file() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("zoo.cfg.dynamic");
        std::fs::write(
            &file,
            "# members\nserver.1=a:1:2:Participant;3\nversion=1\n\nserver.2 = b:1:2;3\n",
        )
        .expect("written");
        assert_eq!(
            members_from_file(&file).expect("members"),
            "server.1=a:1:2:participant;3,server.2=b:1:2;3"
        );
        std::fs::write(&file, "version=1\n").expect("written");
        assert!(members_from_file(&file).is_err());
    }
}
