//! Connecting: which servers, credentials, TLS, and an error a person understands when no
//! server answers.
//!
//! A refused connection or a TLS handshake failure is reported after about a second,
//! not at the end of the session timeout.
//!
//! Whenever the client recorded why its last connection attempt failed
//! ([`Client::last_connect_error`]), a failure to connect says so, unless the message
//! already gives the reason from a direct TCP probe of the servers.

use std::time::Duration;

use tokio::net::TcpStream;
use zk_client::proto::hosts::{ConnectString, Host, Scheme};
use zk_client::proto::session::ConnectionFault;
use zk_client::{Client, SessionState, TlsOptions};

use crate::cli::ConnectArgs;
use crate::error::{CliError, Result};
use crate::server;

/// ZooKeeper's conventional address, used when nothing else names a server.
const DEFAULT_SERVER: &str = "127.0.0.1:2181";

/// How long to wait for a session before checking whether the servers accept TCP at all.
const PROBE_AFTER: Duration = Duration::from_secs(1);

/// The servers to use and where that choice came from.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The connect string.
    pub(crate) hosts: String,
    /// Where it came from, for error hints.
    pub(crate) source: Source,
}

/// Where the connect string came from.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Source {
    /// `--server` or `ZK_SERVER`.
    Given,
    /// The local server started by `zk server start`.
    LocalServer,
    /// Nothing named a server: 127.0.0.1:2181.
    Default,
}

/// The servers: `--server` / `ZK_SERVER`, else the local `zk server`, else 127.0.0.1:2181.
///
/// A given but empty connect string is refused as a usage error before this runs
/// ([`crate::cli::empty_server`]); it never means the default.
pub(crate) fn target(args: &ConnectArgs) -> Target {
    if let Some(hosts) = args.server.as_deref() {
        return Target {
            hosts: hosts.trim().to_owned(),
            source: Source::Given,
        };
    }
    if let Some(hosts) = server::running_connect_string() {
        return Target {
            hosts,
            source: Source::LocalServer,
        };
    }
    Target {
        hosts: DEFAULT_SERVER.to_owned(),
        source: Source::Default,
    }
}

/// Connects as `args` say and waits for the session.
///
/// # Errors
///
/// One line naming the servers and the reason: a bad connect string, TLS asked for, the
/// servers refusing connections, no session within the timeout, failed authentication.
pub(crate) async fn connect(args: &ConnectArgs) -> Result<(Client, Target)> {
    let target = target(args);
    let client = connect_to(&target, args).await?;
    Ok((client, target))
}

/// Connects to `target` with the options of `args`.
pub(crate) async fn connect_to(target: &Target, args: &ConnectArgs) -> Result<Client> {
    let parsed: ConnectString = target
        .hosts
        .parse()
        .map_err(|e| CliError::msg(format!("invalid server list {:?}: {e}", target.hosts)))?;
    let mut builder = Client::builder()
        .session_timeout(args.timeout)
        .request_timeout(args.timeout)
        .read_only(args.read_only);
    match tls_options(args)? {
        Some(tls) => builder = builder.tls(tls),
        None if parsed.hosts.iter().any(|h| h.scheme == Scheme::Tls) => {
            return Err(CliError::msg(format!(
                "{}: tls:// hosts need --tls-ca (the CA that signs the servers' certificates)",
                target.hosts
            )));
        }
        None => {}
    }
    if let Some(sasl) = &args.sasl {
        let (user, password) = sasl.split_once(':').ok_or_else(|| {
            CliError::msg(format!("invalid --sasl {sasl:?}: expected user:password"))
        })?;
        builder = builder.sasl_digest(user, password);
    }
    for auth in &args.auth {
        let (scheme, credentials) = parse_auth(auth)?;
        builder = builder.auth(scheme, credentials.as_bytes());
    }
    let (client, task) = builder.build(&target.hosts)?;
    tokio::spawn(task);
    wait_connected(&client, target, &parsed.hosts, args.timeout).await?;
    let chroot = parsed.chroot.as_str();
    if chroot != "/" && client.exists("/").await?.is_none() {
        let hosts = target.hosts.split('/').next().unwrap_or_default();
        return Err(CliError::msg(format!(
            "the chroot {chroot} does not exist (create it with: zk --server {hosts} create {chroot})"
        )));
    }
    Ok(client)
}

/// `scheme:credentials`, e.g. `digest:alice:secret`.
pub(crate) fn parse_auth(auth: &str) -> Result<(&str, &str)> {
    match auth.split_once(':') {
        Some((scheme, credentials)) if !scheme.is_empty() => Ok((scheme, credentials)),
        _ => Err(CliError::msg(format!(
            "invalid --auth {auth:?}: expected scheme:credentials, e.g. digest:alice:secret"
        ))),
    }
}

/// TLS from `--tls-ca` (then the default for every host) and `--tls-cert`/`--tls-key`.
/// The files are read again on every connection; here they are only checked, so a
/// missing file is reported at once.
fn tls_options(args: &ConnectArgs) -> Result<Option<TlsOptions>> {
    let Some(ca) = &args.tls_ca else {
        return Ok(None);
    };
    let files = [
        ("--tls-ca", Some(ca)),
        ("--tls-cert", args.tls_cert.as_ref()),
        ("--tls-key", args.tls_key.as_ref()),
    ];
    for (flag, file) in files {
        if let Some(file) = file {
            std::fs::File::open(file)
                .map_err(|e| CliError::msg(format!("{flag} {}: {e}", file.display())))?;
        }
    }
    let mut tls = TlsOptions::new().ca_file(ca);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        tls = tls.client_cert_files(cert, key);
    }
    Ok(Some(tls))
}

/// Whether a connection error will not go away by retrying: TLS handshake failures,
/// unreadable certificate files, and a peer that does not speak ZooKeeper.
fn is_permanent(e: &std::io::Error) -> bool {
    let not_zookeeper = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ConnectionFault>())
        .is_some_and(ConnectionFault::is_not_zookeeper);
    not_zookeeper
        || e.kind() == std::io::ErrorKind::InvalidInput
        || e.to_string().contains("TLS handshake")
}

/// Waits until the session is established, failing early when no server accepts TCP.
async fn wait_connected(
    client: &Client,
    target: &Target,
    hosts: &[Host],
    timeout: Duration,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut state = client.state_watcher();
    let wait = state.wait_for(|s| s.is_connected() || s.is_terminal());
    tokio::pin!(wait);
    let first = tokio::time::timeout(PROBE_AFTER.min(timeout), &mut wait).await;
    let reached = match first {
        Ok(reached) => reached,
        Err(_) => {
            if let Some(e) = client
                .last_connect_error()
                .filter(|e| is_permanent(e.get()))
            {
                return Err(unreachable_error(target, &e.to_string()));
            }
            tokio::select! {
                reached = tokio::time::timeout_at(deadline, &mut wait) => match reached {
                    Ok(reached) => reached,
                    Err(_) => return Err(no_answer(client, target, timeout)),
                },
                unreachable = probe(hosts, deadline) => match unreachable {
                    Some(reason) => return Err(unreachable_error(target, &reason)),
                    None => match tokio::time::timeout_at(deadline, &mut wait).await {
                        Ok(reached) => reached,
                        Err(_) => return Err(no_answer(client, target, timeout)),
                    },
                },
            }
        }
    };
    match reached {
        Ok(s) if s.is_connected() => Ok(()),
        Ok(SessionState::AuthFailed) => Err(CliError::msg(format!(
            "authentication failed at {} (check --sasl and --auth)",
            target.hosts
        ))),
        Ok(other) => Err(CliError::msg(format!(
            "could not open a session at {}: {other:?}{}",
            target.hosts,
            last_attempt(client)
        ))),
        Err(_) => Err(CliError::msg(format!(
            "could not open a session at {}: the client stopped{}",
            target.hosts,
            last_attempt(client)
        ))),
    }
}

/// ` (last connection attempt: <why it failed>)` when an attempt failed, else nothing.
fn last_attempt(client: &Client) -> String {
    client
        .last_connect_error()
        .map(|e| format!(" (last connection attempt: {e})"))
        .unwrap_or_default()
}

/// `None` when some server accepts TCP connections; otherwise why the first one does not.
async fn probe(hosts: &[Host], deadline: tokio::time::Instant) -> Option<String> {
    let attempts = hosts.iter().map(|h| {
        let addr = (h.host.clone(), h.port);
        async move {
            match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(io_reason(&e)),
                Err(_) => Some("timed out".to_owned()),
            }
        }
    });
    let results = futures::future::join_all(attempts).await;
    if results.iter().any(Option::is_none) {
        return None;
    }
    results.into_iter().flatten().next()
}

fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::TimedOut => "timed out".to_owned(),
        ErrorKind::HostUnreachable => "host unreachable".to_owned(),
        ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        _ => {
            // Drop the "(os error N)" suffix of OS errors.
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_owned(),
                None => text,
            }
        }
    }
}

fn unreachable_error(target: &Target, reason: &str) -> CliError {
    CliError::msg(format!(
        "cannot connect to ZooKeeper at {}: {reason}{}",
        target.hosts,
        hint(target)
    ))
}

fn no_answer(client: &Client, target: &Target, timeout: Duration) -> CliError {
    if let Some(e) = client.last_connect_error() {
        return unreachable_error(target, &e.to_string());
    }
    CliError::msg(format!(
        "no ZooKeeper server at {} opened a session within {}{}",
        target.hosts,
        human_duration(timeout),
        hint(target)
    ))
}

fn hint(target: &Target) -> &'static str {
    match target.source {
        Source::Default => {
            " (no --server or ZK_SERVER given; `zk server start` runs a local ZooKeeper)"
        }
        Source::LocalServer => " (the local server is not answering: see `zk server status`)",
        Source::Given => "",
    }
}

/// `10s`, `1.5s`, `500ms`.
pub(crate) fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_splits_at_the_first_colon() {
        assert_eq!(
            parse_auth("digest:alice:secret").ok(),
            Some(("digest", "alice:secret"))
        );
        assert!(parse_auth("digest").is_err());
        assert!(parse_auth(":x").is_err());
    }

    #[tokio::test]
    async fn a_failed_connection_attempt_is_named() {
        let (client, task) = Client::builder()
            .build("127.0.0.1:1")
            .expect("a valid connect string");
        assert_eq!(last_attempt(&client), "");
        let task = tokio::spawn(task);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while client.last_connect_error().is_none() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let named = last_attempt(&client);
        assert!(
            named.starts_with(" (last connection attempt: ") && named.ends_with(')'),
            "{named:?}"
        );
        task.abort();
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(Duration::from_secs(10)), "10s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
    }
}
