//! What the settings of [`EnsembleConfig`] become on disk and on the command line:
//! `zoo.cfg` (and, with reconfig, the dynamic file), the JAAS file for SASL, log4j and
//! logback settings, and the `java` arguments of one server.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{EnsembleConfig, SaslConfig, ServerId};
use crate::discovery::Installation;

/// The addresses of one server, as seen by its peers and by clients.
#[derive(Clone, Debug)]
pub(crate) struct NodeAddrs {
    pub(crate) id: ServerId,
    pub(crate) ip: String,
    pub(crate) client_port: u16,
    pub(crate) quorum_port: u16,
    pub(crate) election_port: u16,
    pub(crate) secure_port: Option<u16>,
}

/// The files of one server.
#[derive(Clone, Debug)]
pub(crate) struct NodeFiles {
    pub(crate) dir: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) data_log_dir: PathBuf,
    pub(crate) conf_dir: PathBuf,
    pub(crate) cfg: PathBuf,
    pub(crate) log: PathBuf,
}

impl NodeFiles {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            data_dir: dir.join("data"),
            data_log_dir: dir.join("datalog"),
            conf_dir: dir.join("conf"),
            cfg: dir.join("conf").join("zoo.cfg"),
            log: dir.join("server.log"),
        }
    }

    pub(crate) fn dynamic_cfg(&self) -> PathBuf {
        self.conf_dir.join("zoo.cfg.dynamic")
    }

    pub(crate) fn jaas(&self) -> PathBuf {
        self.conf_dir.join("jaas.conf")
    }
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// Renders `zoo.cfg` (and, with reconfig, the dynamic file's content) for `me`.
pub(crate) fn render_zoo_cfg(
    cfg: &EnsembleConfig,
    me: &NodeAddrs,
    all: &[NodeAddrs],
    files: &NodeFiles,
) -> (String, Option<String>) {
    let mut lines: Vec<(String, String)> = vec![
        ("tickTime".into(), millis(cfg.tick).to_string()),
        ("initLimit".into(), cfg.init_limit.to_string()),
        ("syncLimit".into(), cfg.sync_limit.to_string()),
        ("dataDir".into(), files.data_dir.display().to_string()),
        (
            "dataLogDir".into(),
            files.data_log_dir.display().to_string(),
        ),
        ("maxClientCnxns".into(), "0".into()),
        ("forceSync".into(), "no".into()),
        ("admin.enableServer".into(), "false".into()),
        ("4lw.commands.whitelist".into(), "*".into()),
        // Keep every snapshot and log: the txn-log oracle reads them after the run.
        ("autopurge.purgeInterval".into(), "0".into()),
    ];
    if let Some(min) = cfg.min_session_timeout {
        lines.push(("minSessionTimeout".into(), millis(min).to_string()));
    }
    if let Some(max) = cfg.max_session_timeout {
        lines.push(("maxSessionTimeout".into(), millis(max).to_string()));
    }
    if cfg.extended_types {
        lines.push(("extendedTypesEnabled".into(), "true".into()));
    }
    if cfg.read_only {
        lines.push(("localSessionsEnabled".into(), "true".into()));
        lines.push(("localSessionsUpgradingEnabled".into(), "true".into()));
    }
    if let Some(digest) = &cfg.super_digest {
        lines.push((
            "DigestAuthenticationProvider.superDigest".into(),
            digest.clone(),
        ));
    }
    if let Some(tls) = &cfg.tls {
        if let Some(port) = me.secure_port {
            lines.push(("secureClientPort".into(), port.to_string()));
            lines.push(("secureClientPortAddress".into(), me.ip.clone()));
        }
        lines.push((
            "serverCnxnFactory".into(),
            "org.apache.zookeeper.server.NettyServerCnxnFactory".into(),
        ));
        let stores = [
            ("keyStore", &tls.keystore, &tls.keystore_password),
            ("trustStore", &tls.truststore, &tls.truststore_password),
        ];
        for (store, location, password) in stores {
            lines.push((
                format!("ssl.{store}.location"),
                location.display().to_string(),
            ));
            if !password.is_empty() {
                lines.push((format!("ssl.{store}.password"), password.clone()));
            }
            if let Some(kind) = &tls.store_type {
                lines.push((format!("ssl.{store}.type"), kind.clone()));
            }
        }
        if let Some(auth) = &tls.client_auth {
            lines.push(("ssl.clientAuth".into(), auth.clone()));
        }
        lines.extend(tls.extra.iter().cloned());
    }
    if let Some(sasl) = &cfg.sasl {
        lines.push((
            "authProvider.1".into(),
            "org.apache.zookeeper.server.auth.SASLAuthenticationProvider".into(),
        ));
        if sasl.require {
            lines.push(("sessionRequireClientSASLAuth".into(), "true".into()));
        }
    }

    let mut dynamic = None;
    if cfg.reconfig {
        lines.push(("reconfigEnabled".into(), "true".into()));
        lines.push(("standaloneEnabled".into(), "false".into()));
        lines.push((
            "dynamicConfigFile".into(),
            files.dynamic_cfg().display().to_string(),
        ));
        let mut d = String::new();
        for n in all {
            let _ = writeln!(
                d,
                "server.{}={}:{}:{}:participant;{}:{}",
                n.id, n.ip, n.quorum_port, n.election_port, n.ip, n.client_port
            );
        }
        dynamic = Some(d);
    } else {
        lines.push(("clientPort".into(), me.client_port.to_string()));
        lines.push(("clientPortAddress".into(), me.ip.clone()));
    }

    // User options replace the kit's line with the same key.
    for (k, v) in &cfg.options {
        lines.retain(|(key, _)| key != k);
        lines.push((k.clone(), v.clone()));
    }

    let mut out = String::from("# generated by zk-testkit\n");
    for (k, v) in &lines {
        let _ = writeln!(out, "{k}={v}");
    }
    if !cfg.standalone() && !cfg.reconfig {
        for n in all {
            let _ = writeln!(
                out,
                "server.{}={}:{}:{}",
                n.id, n.ip, n.quorum_port, n.election_port
            );
        }
    }
    (out, dynamic)
}

/// The JAAS file for a generated SASL configuration.
pub(crate) fn render_jaas(sasl: &SaslConfig) -> String {
    let mut out =
        String::from("Server {\n    org.apache.zookeeper.server.auth.DigestLoginModule required");
    for (user, password) in &sasl.users {
        let _ = write!(
            out,
            "\n    user_{user}=\"{}\"",
            password.replace('\\', "\\\\").replace('"', "\\\"")
        );
    }
    out.push_str(";\n};\n");
    out
}

/// log4j 1.2 (Debian) and logback (release tarballs) settings writing to standard output,
/// which the kit sends to the server's log file.
pub(crate) fn render_logging(level: &str) -> (String, String) {
    let log4j = format!(
        "log4j.rootLogger={level}, CONSOLE\n\
         log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n\
         log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.CONSOLE.layout.ConversionPattern=%d{{ISO8601}} [myid:%X{{myid}}] - %-5p [%t:%C{{1}}@%L] - %m%n\n"
    );
    let logback = format!(
        "<configuration>\n  <appender name=\"CONSOLE\" class=\"ch.qos.logback.core.ConsoleAppender\">\n    \
         <encoder><pattern>%d{{ISO8601}} [myid:%X{{myid}}] - %-5p [%t:%C{{1}}@%L] - %m%n</pattern></encoder>\n  \
         </appender>\n  <root level=\"{level}\"><appender-ref ref=\"CONSOLE\"/></root>\n</configuration>\n"
    );
    (log4j, logback)
}

/// The full `java` argument list for one server.
pub(crate) fn jvm_args(
    cfg: &EnsembleConfig,
    install: &Installation,
    files: &NodeFiles,
) -> Vec<String> {
    let mut args: Vec<String> = cfg.jvm_opts.clone();
    args.push(format!("-Dzookeeper.log.dir={}", files.dir.display()));
    args.push(format!("-Dzookeeper.root.logger={},CONSOLE", cfg.log_level));
    args.push(format!(
        "-Dlog4j.configuration=file:{}",
        files.conf_dir.join("log4j.properties").display()
    ));
    args.push(format!(
        "-Dlogback.configurationFile={}",
        files.conf_dir.join("logback.xml").display()
    ));
    if cfg.read_only {
        args.push("-Dreadonlymode.enabled=true".into());
    }
    if cfg.extended_types {
        args.push("-Dznode.container.checkIntervalMs=1000".into());
    }
    if let Some(sasl) = &cfg.sasl {
        let path = sasl.jaas_file.clone().unwrap_or_else(|| files.jaas());
        args.push(format!(
            "-Djava.security.auth.login.config={}",
            path.display()
        ));
    }
    args.extend(cfg.extra_jvm_opts.iter().cloned());
    args.push("-cp".into());
    args.push(install.classpath_string(Some(&files.conf_dir)));
    args.push("org.apache.zookeeper.server.quorum.QuorumPeerMain".into());
    args.push(files.cfg.display().to_string());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(n: u8) -> Vec<NodeAddrs> {
        (1..=n)
            .map(|id| NodeAddrs {
                id,
                ip: "127.0.0.1".into(),
                client_port: 20000 + u16::from(id) * 10,
                quorum_port: 20001 + u16::from(id) * 10,
                election_port: 20002 + u16::from(id) * 10,
                secure_port: None,
            })
            .collect()
    }

    #[test]
    fn ensemble_cfg_has_server_lines_and_test_settings() {
        let cfg = EnsembleConfig::new(3);
        let all = addrs(3);
        let files = NodeFiles::new(Path::new("/tmp/x/n1"));
        let (text, dynamic) = render_zoo_cfg(&cfg, &all[0], &all, &files);
        assert!(dynamic.is_none());
        for want in [
            "tickTime=200\n",
            "maxClientCnxns=0\n",
            "forceSync=no\n",
            "admin.enableServer=false\n",
            "4lw.commands.whitelist=*\n",
            "clientPort=20010\n",
            "server.3=127.0.0.1:20031:20032\n",
            "maxSessionTimeout=60000\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn standalone_has_no_server_lines_and_options_override() {
        let cfg = EnsembleConfig::new(1).option("forceSync", "yes");
        let all = addrs(1);
        let files = NodeFiles::new(Path::new("/tmp/x/n1"));
        let (text, _) = render_zoo_cfg(&cfg, &all[0], &all, &files);
        assert!(!text.contains("server.1="), "{text}");
        assert!(text.contains("forceSync=yes\n"), "{text}");
        assert!(!text.contains("forceSync=no"), "{text}");
    }

    #[test]
    fn reconfig_moves_servers_to_the_dynamic_file() {
        let cfg = EnsembleConfig::new(3).reconfig(true);
        let all = addrs(3);
        let files = NodeFiles::new(Path::new("/tmp/x/n2"));
        let (text, dynamic) = render_zoo_cfg(&cfg, &all[1], &all, &files);
        let dynamic = dynamic.expect("dynamic file");
        assert!(!text.contains("clientPort="), "{text}");
        assert!(text.contains("standaloneEnabled=false"), "{text}");
        assert!(
            dynamic.contains("server.2=127.0.0.1:20021:20022:participant;127.0.0.1:20020"),
            "{dynamic}"
        );
    }

    #[test]
    fn jaas_lists_users() {
        let jaas = render_jaas(&SaslConfig::digest_users([("bob", "bobsecret")]));
        assert!(jaas.contains("user_bob=\"bobsecret\";"), "{jaas}");
    }
}
