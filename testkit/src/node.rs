//! One server process: its files, its command line and its state (running, paused, down).

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::config::{NodeAddrs, NodeFiles, ServerId};
use crate::container::ContainerServer;
use crate::error::{Error, Result};
use crate::process;

/// What the kit believes about a server process.
///
/// # Examples
///
/// ```
/// assert_ne!(zk_testkit::ProcessState::Running, zk_testkit::ProcessState::Down);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProcessState {
    /// Started and not paused.
    Running,
    /// Stopped with SIGSTOP.
    Paused,
    /// Killed, stopped, or never started.
    Down,
}

#[derive(Debug, Default)]
struct Proc {
    child: Option<Child>,
    generation: u64,
    paused: bool,
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) id: ServerId,
    /// Where the kit dials the client port.
    pub(crate) client_addr: SocketAddr,
    pub(crate) secure_addr: Option<SocketAddr>,
    pub(crate) files: NodeFiles,
    netns: Option<String>,
    program: PathBuf,
    args: Vec<String>,
    proc: Mutex<Proc>,
    /// Set on the container backend: then `netns`, `program`, `args` and `proc` are unused.
    container: Option<ContainerServer>,
}

impl Node {
    pub(crate) fn new(
        addrs: NodeAddrs,
        client_addr: SocketAddr,
        secure_addr: Option<SocketAddr>,
        files: NodeFiles,
        netns: Option<String>,
        program: PathBuf,
        args: Vec<String>,
    ) -> Self {
        Self {
            id: addrs.id,
            client_addr,
            secure_addr,
            files,
            netns,
            program,
            args,
            proc: Mutex::new(Proc::default()),
            container: None,
        }
    }

    /// A server run as a container.
    pub(crate) fn container(
        addrs: NodeAddrs,
        client_addr: SocketAddr,
        files: NodeFiles,
        server: ContainerServer,
    ) -> Self {
        Self {
            container: Some(server),
            ..Self::new(
                addrs,
                client_addr,
                None,
                files,
                None,
                PathBuf::new(),
                Vec::new(),
            )
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Proc> {
        // A panic while holding this lock leaves consistent data behind; keep going.
        self.proc
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn state(&self) -> ProcessState {
        if let Some(c) = &self.container {
            return c.state();
        }
        let p = self.lock();
        match (&p.child, p.paused) {
            (None, _) => ProcessState::Down,
            (Some(_), true) => ProcessState::Paused,
            (Some(_), false) => ProcessState::Running,
        }
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        if let Some(c) = &self.container {
            return c.pid();
        }
        self.lock().child.as_ref().map(Child::id)
    }

    /// Starts the JVM; the caller waits for readiness.
    pub(crate) fn spawn(&self) -> Result<()> {
        if let Some(c) = &self.container {
            return c.spawn();
        }
        let mut p = self.lock();
        if p.child.is_some() {
            return Ok(());
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.files.log)
            .map_err(|e| Error::io(format!("opening {}", self.files.log.display()), e))?;
        let _ = writeln!(
            log,
            "==== zk-testkit: starting server {} (start #{}) ====",
            self.id,
            p.generation + 1
        );
        let err_log = log
            .try_clone()
            .map_err(|e| Error::io("duplicating the log file handle", e))?;
        let mut cmd = match &self.netns() {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]);
                if let Some(setpriv) = process::setpriv() {
                    c.args([setpriv, "--pdeathsig", "KILL"]);
                }
                c.arg(&self.program);
                c
            }
            None => match process::setpriv() {
                Some(setpriv) => {
                    let mut c = Command::new(setpriv);
                    c.args(["--pdeathsig", "KILL"]);
                    c.arg(&self.program);
                    c
                }
                None => Command::new(&self.program),
            },
        };
        cmd.args(&self.args)
            .current_dir(&self.files.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err_log))
            // Keep the JVM free of options from the environment of the test run.
            .env_remove("JAVA_TOOL_OPTIONS")
            .env_remove("JDK_JAVA_OPTIONS")
            .env_remove("_JAVA_OPTIONS");
        let child = process::spawn(cmd)
            .map_err(|e| Error::io(format!("starting {}", self.program.display()), e))?;
        tracing::debug!(server = self.id, pid = child.id(), "server started");
        p.child = Some(child);
        p.generation += 1;
        p.paused = false;
        Ok(())
    }

    fn netns(&self) -> Option<String> {
        self.netns.clone()
    }

    /// SIGKILL; the data stays.
    pub(crate) fn kill(&self) -> Result<()> {
        if let Some(c) = &self.container {
            return c.kill();
        }
        let child = self.lock().child.take();
        if let Some(mut child) = child {
            process::kill_and_reap(&mut child)
                .map_err(|e| Error::io(format!("killing server {}", self.id), e))?;
            tracing::debug!(server = self.id, "server killed");
        }
        self.lock().paused = false;
        Ok(())
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub(crate) async fn stop(&self, grace: Duration) -> Result<()> {
        if let Some(c) = &self.container {
            return c.stop(grace).await;
        }
        let child = self.lock().child.take();
        if let Some(mut child) = child {
            process::terminate(&mut child, grace)
                .await
                .map_err(|e| Error::io(format!("stopping server {}", self.id), e))?;
        }
        self.lock().paused = false;
        Ok(())
    }

    /// SIGSTOP; returns the generation paused.
    pub(crate) fn pause(&self) -> Result<u64> {
        if let Some(c) = &self.container {
            return c.pause();
        }
        let mut p = self.lock();
        let Some(child) = &p.child else {
            return Err(Error::InvalidConfig(format!(
                "server {} is not running, cannot pause it",
                self.id
            )));
        };
        process::signal(child.id(), Signal::SIGSTOP)
            .map_err(|e| Error::io(format!("pausing server {}", self.id), e))?;
        p.paused = true;
        Ok(p.generation)
    }

    /// SIGCONT, if the process paused in `generation` still runs.
    pub(crate) fn resume(&self, generation: u64) {
        if let Some(c) = &self.container {
            c.resume(generation);
            return;
        }
        let mut p = self.lock();
        if p.generation != generation || !p.paused {
            return;
        }
        if let Some(child) = &p.child {
            let _ = process::signal(child.id(), Signal::SIGCONT);
        }
        p.paused = false;
    }

    /// Fails when the process exited on its own.
    pub(crate) fn check_alive(&self) -> Result<()> {
        if let Some(c) = &self.container {
            return c.exited().map_err(|status| Error::ServerExited {
                id: self.id,
                status,
                log: self.files.log.clone(),
                tail: self.log_tail(40),
            });
        }
        let mut p = self.lock();
        let Some(child) = p.child.as_mut() else {
            return Ok(());
        };
        match child.try_wait() {
            Ok(Some(status)) => {
                p.child = None;
                drop(p);
                Err(Error::ServerExited {
                    id: self.id,
                    status: status.to_string(),
                    log: self.files.log.clone(),
                    tail: self.log_tail(40),
                })
            }
            _ => Ok(()),
        }
    }

    /// Deletes the snapshots and transaction logs (keeps `myid`).
    pub(crate) fn wipe(&self) -> Result<()> {
        for dir in [
            self.files.data_dir.join("version-2"),
            self.files.data_log_dir.join("version-2"),
        ] {
            if dir.exists() {
                fs::remove_dir_all(&dir)
                    .map_err(|e| Error::io(format!("wiping {}", dir.display()), e))?;
            }
        }
        Ok(())
    }

    pub(crate) fn log_tail(&self, lines: usize) -> String {
        if let Some(c) = &self.container {
            return c.logs(Some(lines));
        }
        let Ok(text) = fs::read(&self.files.log) else {
            return String::new();
        };
        let text = String::from_utf8_lossy(&text);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub(crate) fn log_text(&self) -> String {
        if let Some(c) = &self.container {
            // The log file is refreshed from `docker logs` on each read.
            let text = c.logs(None);
            let _ = fs::write(&self.files.log, &text);
            return text;
        }
        fs::read(&self.files.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Kills without reporting errors (for drops).
    pub(crate) fn kill_quietly(&self) {
        if let Some(c) = &self.container {
            c.remove();
            return;
        }
        let child = self.lock().child.take();
        if let Some(mut child) = child {
            let _ = process::kill_and_reap(&mut child);
        }
    }
}

/// Writes the files a server needs before its first start.
pub(crate) fn write_files(
    files: &NodeFiles,
    id: ServerId,
    zoo_cfg: &str,
    dynamic: Option<&str>,
    logging: &(String, String),
    jaas: Option<&str>,
) -> Result<()> {
    write_dirs(files, id)?;
    write(&files.cfg, zoo_cfg)?;
    if let Some(d) = dynamic {
        write(&files.dynamic_cfg(), d)?;
    }
    write(&files.conf_dir.join("log4j.properties"), &logging.0)?;
    write(&files.conf_dir.join("logback.xml"), &logging.1)?;
    if let Some(j) = jaas {
        write(&files.jaas(), j)?;
    }
    Ok(())
}

/// Creates a server's folders, its `myid` and an empty log file.
pub(crate) fn write_dirs(files: &NodeFiles, id: ServerId) -> Result<()> {
    for dir in [
        &files.dir,
        &files.data_dir,
        &files.data_log_dir,
        &files.conf_dir,
    ] {
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    write(&files.data_dir.join("myid"), &format!("{id}\n"))?;
    File::create(&files.log)
        .map_err(|e| Error::io(format!("creating {}", files.log.display()), e))?;
    Ok(())
}

fn write(path: &std::path::Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
