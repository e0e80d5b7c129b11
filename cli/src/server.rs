//! `zk server start|stop|status`: a throwaway local ZooKeeper for development.
//!
//! `start` spawns a copy of `zk` (`zk server run`, hidden) that leaves the terminal's
//! session, starts the servers through zk-testkit, writes a state file (its pid and the
//! connect string) and waits for SIGTERM; then it removes the state file and stops the
//! servers. The servers are bound to that process (`PR_SET_PDEATHSIG`), so they never
//! outlive it. Their data lives in a temporary folder and is thrown away on stop.

use std::fs;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use zk_client::proto::hosts::ConnectString;
use zk_testkit::{Ensemble, EnsembleConfig};

use crate::cli::{ServerAction, ServerArgs};
use crate::dirs;
use crate::error::{CliError, Result};
use crate::output::{Output, Render};

/// The longest `start` waits for the servers to form a quorum.
const START_DEADLINE: Duration = Duration::from_secs(120);
/// The longest `stop` waits for the servers to go after SIGTERM.
const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// The state file of a running local server.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct State {
    /// The `zk server run` process.
    pid: u32,
    /// Where clients connect.
    #[serde(rename = "connectString")]
    connect_string: String,
    /// How many servers.
    nodes: usize,
    /// The ZooKeeper version, when known.
    version: Option<String>,
}

fn state_file() -> PathBuf {
    dirs::runtime_dir().join("server.json")
}

fn log_file() -> PathBuf {
    dirs::runtime_dir().join("server.log")
}

/// `3.8.0` from `3.8.0-${mvngit.commit.id}, built on ...`.
pub(crate) fn short_version(full: &str) -> String {
    full.split([',', '-', ' '])
        .next()
        .unwrap_or(full)
        .to_owned()
}

fn read_state() -> Option<State> {
    let text = fs::read(state_file()).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Whether `pid` is a live `zk server run` process.
fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    match kill(Pid::from_raw(raw), None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => {}
        Err(_) => return false,
    }
    // Guard against a reused pid: the command line must be ours.
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.windows(2).any(|w| w[0] == b"server" && w[1] == b"run")
        }
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// The connect string of the local server, if it runs.
pub(crate) fn running_connect_string() -> Option<String> {
    read_state()
        .filter(|s| alive(s.pid))
        .map(|s| s.connect_string)
}

/// Leaves the terminal's session (`zk server run` calls this first thing), so closing
/// the terminal or Ctrl-C in it does not stop the servers.
pub(crate) fn detach() {
    // Fails only for a process group leader, which a spawned child is not; the server
    // then still runs, only tied to the terminal.
    let _ = nix::unistd::setsid();
}

/// Runs a `zk server` action.
pub(crate) async fn run(args: ServerArgs, json: bool) -> Result<()> {
    let mut out = Output::stdout(json);
    match args.action {
        ServerAction::Start { nodes } => start(nodes, &mut out).await,
        ServerAction::Stop => stop(&mut out).await,
        ServerAction::Status => status(&mut out).await,
        ServerAction::Run { nodes } => serve(nodes).await,
    }
}

/// `start`: the connect string on stdout, the rest on stderr.
#[derive(Debug, Serialize)]
struct Started {
    #[serde(rename = "connectString")]
    connect_string: String,
    pid: u32,
    nodes: usize,
    version: Option<String>,
    #[serde(rename = "alreadyRunning")]
    already_running: bool,
}

impl Render for Started {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        let servers = if self.nodes == 1 {
            "1 server".to_owned()
        } else {
            format!("{} servers", self.nodes)
        };
        let version = self
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        let what = if self.already_running {
            "a local ZooKeeper is already running"
        } else {
            "started a local ZooKeeper"
        };
        let _ = writeln!(
            io::stderr().lock(),
            "{what}{version} ({servers}, pid {}); `zk` uses it by default, `zk server stop` stops it",
            self.pid
        );
        writeln!(w, "{}", self.connect_string)
    }
}

async fn start(nodes: usize, out: &mut Output) -> Result<()> {
    if let Some(state) = read_state() {
        if alive(state.pid) {
            out.emit(&Started {
                connect_string: state.connect_string,
                pid: state.pid,
                nodes: state.nodes,
                version: state.version,
                already_running: true,
            })?;
            return Ok(());
        }
        let _ = fs::remove_file(state_file());
    }
    let dir = dirs::runtime_dir();
    create_private_dir(&dir)?;
    let log_path = log_file();
    let log = fs::File::create(&log_path)
        .map_err(|e| CliError::msg(format!("creating {}: {e}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|e| CliError::msg(format!("opening {}: {e}", log_path.display())))?;
    let exe = std::env::current_exe()
        .map_err(|e| CliError::msg(format!("finding the zk executable: {e}")))?;
    let mut child = Command::new(exe)
        .args(["server", "run", "--nodes", &nodes.to_string()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| CliError::msg(format!("starting the background server: {e}")))?;
    let began = Instant::now();
    loop {
        if let Some(state) = read_state().filter(|s| s.pid == child.id()) {
            out.emit(&Started {
                connect_string: state.connect_string,
                pid: state.pid,
                nodes: state.nodes,
                version: state.version,
                already_running: false,
            })?;
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(CliError::msg(format!(
                "the local ZooKeeper did not start ({status}): {} (log: {})",
                last_error(&log_path),
                log_path.display()
            )));
        }
        if began.elapsed() > START_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CliError::msg(format!(
                "the local ZooKeeper did not start within {}s (log: {})",
                START_DEADLINE.as_secs(),
                log_path.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CliError::msg(format!("creating {}: {e}", dir.display())))
}

/// The `error:` line the background process printed, else its last line.
fn last_error(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .or_else(|| lines.last().copied())
        .unwrap_or("no output")
        .to_owned()
}

/// `stop`.
#[derive(Debug, Serialize)]
struct Stopped {
    stopped: bool,
    pid: Option<u32>,
}

impl Render for Stopped {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        match self.pid {
            Some(pid) if self.stopped => writeln!(w, "stopped the local ZooKeeper (pid {pid})"),
            _ => writeln!(w, "no local ZooKeeper is running"),
        }
    }
}

async fn stop(out: &mut Output) -> Result<()> {
    let Some(state) = read_state() else {
        out.emit(&Stopped {
            stopped: false,
            pid: None,
        })?;
        return Ok(());
    };
    if !alive(state.pid) {
        let _ = fs::remove_file(state_file());
        out.emit(&Stopped {
            stopped: false,
            pid: None,
        })?;
        return Ok(());
    }
    let pid = Pid::from_raw(i32::try_from(state.pid).unwrap_or(i32::MAX));
    kill(pid, Signal::SIGTERM)
        .map_err(|e| CliError::msg(format!("stopping pid {}: {e}", state.pid)))?;
    let began = Instant::now();
    while alive(state.pid) {
        if began.elapsed() > STOP_DEADLINE {
            // The servers die with it (PR_SET_PDEATHSIG).
            let _ = kill(pid, Signal::SIGKILL);
            tokio::time::sleep(Duration::from_millis(500)).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if read_state().is_some_and(|s| s.pid == state.pid) {
        let _ = fs::remove_file(state_file());
    }
    out.emit(&Stopped {
        stopped: true,
        pid: Some(state.pid),
    })?;
    Ok(())
}

/// One server in `status`.
#[derive(Debug, Serialize)]
struct ServerStatus {
    address: String,
    mode: String,
    serving: bool,
}

/// `status`.
#[derive(Debug, Serialize)]
struct Status {
    running: bool,
    #[serde(rename = "connectString", skip_serializing_if = "Option::is_none")]
    connect_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    servers: Vec<ServerStatus>,
}

impl Render for Status {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        let (Some(connect_string), Some(pid)) = (&self.connect_string, self.pid) else {
            return writeln!(
                w,
                "no local ZooKeeper is running (`zk server start` starts one)"
            );
        };
        let version = self
            .version
            .as_deref()
            .map(|v| format!(", ZooKeeper {v}"))
            .unwrap_or_default();
        writeln!(w, "running: {connect_string} (pid {pid}{version})")?;
        for s in &self.servers {
            writeln!(w, "  {:<21} {}", s.address, s.mode)?;
        }
        Ok(())
    }
}

async fn status(out: &mut Output) -> Result<()> {
    let Some(state) = read_state().filter(|s| alive(s.pid)) else {
        out.emit(&Status {
            running: false,
            connect_string: None,
            pid: None,
            version: None,
            servers: Vec::new(),
        })?;
        return Err(CliError::silent());
    };
    let hosts = state
        .connect_string
        .parse::<ConnectString>()
        .map(|cs| cs.hosts)
        .unwrap_or_default();
    let queries = hosts.iter().map(|h| {
        let address = format!("{}:{}", h.host, h.port);
        async move {
            let mode = match address.parse::<SocketAddr>() {
                Ok(addr) => {
                    match zk_testkit::fourlw::query(addr, "srvr", Duration::from_secs(2)).await {
                        Ok(text) => Some(zk_testkit::ServerStats::parse(&text).mode),
                        Err(_) => None,
                    }
                }
                Err(_) => None,
            };
            ServerStatus {
                address,
                serving: mode.as_ref().is_some_and(zk_testkit::Mode::is_serving),
                mode: mode.map_or_else(|| "not reachable".to_owned(), |m| m.to_string()),
            }
        }
    });
    let servers = futures::future::join_all(queries).await;
    let all_serving = servers.iter().all(|s| s.serving);
    out.emit(&Status {
        running: true,
        connect_string: Some(state.connect_string),
        pid: Some(state.pid),
        version: state.version,
        servers,
    })?;
    if all_serving {
        Ok(())
    } else {
        Err(CliError::silent())
    }
}

/// `run`: starts the servers, writes the state file, and waits for SIGTERM or SIGINT.
async fn serve(nodes: usize) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|e| CliError::msg(format!("listening for SIGTERM: {e}")))?;
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|e| CliError::msg(format!("listening for SIGINT: {e}")))?;
    let cfg = EnsembleConfig::new(nodes).extended_types(true);
    let ensemble = Ensemble::start_with(cfg).await.map_err(|e| {
        // The whole story (it may carry server logs) goes to the log file; the
        // error line is what `start` shows.
        println!("{e}");
        CliError::msg(crate::error::one_line(&e.to_string()))
    })?;
    let state = State {
        pid: std::process::id(),
        connect_string: ensemble.connect_string(),
        nodes,
        version: ensemble.server_version().as_deref().map(short_version),
    };
    write_state(&state)?;
    println!(
        "serving {} (ZooKeeper {}) in {}",
        state.connect_string,
        state.version.as_deref().unwrap_or("?"),
        ensemble.dir().display()
    );
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    if read_state().is_some_and(|s| s.pid == state.pid) {
        let _ = fs::remove_file(state_file());
    }
    drop(ensemble);
    println!("stopped");
    Ok(())
}

/// Writes the state file atomically (a temporary file, then a rename).
fn write_state(state: &State) -> Result<()> {
    let path = state_file();
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec(state)
        .map_err(|e| CliError::msg(format!("encoding the state file: {e}")))?;
    fs::write(&tmp, json)
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| CliError::msg(format!("writing {}: {e}", path.display())))
}
