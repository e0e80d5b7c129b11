//! One server as a container: created once, then started, killed, stopped, paused and
//! started again, keeping its data.

use std::sync::Mutex;
use std::time::Duration;

use super::{docker, docker_async};
use crate::config::ServerId;
use crate::error::{Error, Result};
use crate::node::ProcessState;

#[derive(Debug, Default)]
struct State {
    created: bool,
    running: bool,
    paused: bool,
    generation: u64,
    /// When each start began, as Docker's `State.StartedAt`.
    starts: Vec<Timestamp>,
}

/// An RFC 3339 UTC time as Docker prints it, as (date and time, nanoseconds): comparable,
/// whatever number of fraction digits each printer kept.
type Timestamp = (String, u32);

fn timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim().strip_suffix('Z')?;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(9)
        .collect();
    Some((whole.to_owned(), digits.parse().ok()?))
}

/// A server's container: its name, how to create it, and what the kit last did to it.
#[derive(Debug)]
pub(crate) struct ContainerServer {
    id: ServerId,
    name: String,
    create_args: Vec<String>,
    quorum: String,
    quorum_ip: String,
    state: Mutex<State>,
}

impl ContainerServer {
    /// `create_args` is everything after `docker create`, ending with the image.
    pub(crate) fn new(
        id: ServerId,
        name: String,
        create_args: Vec<String>,
        quorum: String,
        quorum_ip: String,
    ) -> Self {
        Self {
            id,
            name,
            create_args,
            quorum,
            quorum_ip,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn state(&self) -> ProcessState {
        let s = self.lock();
        match (s.running, s.paused) {
            (false, _) => ProcessState::Down,
            (true, true) => ProcessState::Paused,
            (true, false) => ProcessState::Running,
        }
    }

    /// Creates the container on first use (on the clients network, then joined to the
    /// quorum network at its fixed address), then starts it.
    pub(crate) fn spawn(&self) -> Result<()> {
        let mut s = self.lock();
        if s.running {
            return Ok(());
        }
        if !s.created {
            let mut args = vec!["create"];
            args.extend(self.create_args.iter().map(String::as_str));
            docker(&args)?;
            s.created = true;
            docker(&[
                "network",
                "connect",
                "--ip",
                &self.quorum_ip,
                &self.quorum,
                &self.name,
            ])?;
        }
        docker(&["start", &self.name])?;
        let started = docker(&["inspect", "--format", "{{.State.StartedAt}}", &self.name])
            .ok()
            .and_then(|t| timestamp(&t));
        s.starts.push(started.unwrap_or_default());
        tracing::debug!(server = self.id, container = %self.name, "container started");
        s.running = true;
        s.paused = false;
        s.generation += 1;
        Ok(())
    }

    pub(crate) fn kill(&self) -> Result<()> {
        let mut s = self.lock();
        if !s.running {
            return Ok(());
        }
        if s.paused {
            // Docker refuses to kill a paused container.
            let _ = docker(&["unpause", &self.name]);
        }
        match docker(&["kill", &self.name]) {
            Ok(_) => {}
            Err(e) if e.to_string().contains("is not running") => {}
            Err(e) => return Err(e),
        }
        s.running = false;
        s.paused = false;
        tracing::debug!(server = self.id, "container killed");
        Ok(())
    }

    pub(crate) async fn stop(&self, grace: Duration) -> Result<()> {
        let paused = {
            let s = self.lock();
            if !s.running {
                return Ok(());
            }
            s.paused
        };
        if paused {
            let _ = docker_async(&["unpause", &self.name]).await;
        }
        let secs = grace.as_secs().max(1).to_string();
        docker_async(&["stop", "-t", &secs, &self.name]).await?;
        let mut s = self.lock();
        s.running = false;
        s.paused = false;
        Ok(())
    }

    pub(crate) fn pause(&self) -> Result<u64> {
        let mut s = self.lock();
        if !s.running {
            return Err(Error::InvalidConfig(format!(
                "server {} is not running, cannot pause it",
                self.id
            )));
        }
        docker(&["pause", &self.name])?;
        s.paused = true;
        Ok(s.generation)
    }

    pub(crate) fn resume(&self, generation: u64) {
        let mut s = self.lock();
        if s.generation != generation || !s.paused || !s.running {
            return;
        }
        if let Err(e) = docker(&["unpause", &self.name]) {
            tracing::warn!(server = self.id, error = %e, "unpausing a container failed");
        }
        s.paused = false;
    }

    /// `Err(exit description)` when the container stopped on its own.
    pub(crate) fn exited(&self) -> std::result::Result<(), String> {
        let mut s = self.lock();
        if !s.running {
            return Ok(());
        }
        let Ok(out) = docker(&[
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}}",
            &self.name,
        ]) else {
            return Ok(());
        };
        let mut parts = out.split_whitespace();
        if parts.next() != Some("false") {
            return Ok(());
        }
        s.running = false;
        s.paused = false;
        let code = parts.next().unwrap_or("?");
        let oom = if parts.next() == Some("true") {
            ", killed for lack of memory"
        } else {
            ""
        };
        Err(format!("container exited with code {code}{oom}"))
    }

    /// The host pid of the server's JVM (the container's first process).
    pub(crate) fn pid(&self) -> Option<u32> {
        if !self.lock().running {
            return None;
        }
        docker(&["inspect", "--format", "{{.State.Pid}}", &self.name])
            .ok()?
            .parse()
            .ok()
            .filter(|p| *p != 0)
    }

    /// What the container wrote (standard output and error, in time order), with the kit's
    /// `==== zk-testkit: starting server N (start #k) ====` line before each start, as the
    /// process backend's log file has; the last `tail` lines when given.
    pub(crate) fn logs(&self, tail: Option<usize>) -> String {
        let starts = {
            let s = self.lock();
            if !s.created {
                return String::new();
            }
            s.starts.clone()
        };
        let out = std::process::Command::new("docker")
            .args(["logs", "--timestamps", &self.name])
            .stdin(std::process::Stdio::null())
            .output();
        let Ok(out) = out else {
            return String::new();
        };
        let mut lines: Vec<(Timestamp, String)> = Vec::new();
        for stream in [&out.stdout, &out.stderr] {
            for line in String::from_utf8_lossy(stream).lines() {
                let (time, text) = line.split_once(' ').unwrap_or((line, ""));
                lines.push((timestamp(time).unwrap_or_default(), text.to_owned()));
            }
        }
        // Stable: lines of one stream keep their order when their times are equal.
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        let mut text = Vec::with_capacity(lines.len() + starts.len());
        let mut next = starts.iter().enumerate().peekable();
        for (time, line) in lines {
            while let Some((k, _)) = next.next_if(|(_, start)| **start <= time) {
                text.push(self.marker(k + 1));
            }
            text.push(line);
        }
        text.extend(next.map(|(k, _)| self.marker(k + 1)));
        let skip = tail.map_or(0, |n| text.len().saturating_sub(n));
        text[skip..].join("\n")
    }

    fn marker(&self, start: usize) -> String {
        format!(
            "==== zk-testkit: starting server {} (start #{start}) ====",
            self.id
        )
    }

    /// Removes the container (running or not) and its anonymous volumes.
    pub(crate) fn remove(&self) {
        let mut s = self.lock();
        if s.created {
            let _ = docker(&["rm", "-f", "-v", &self.name]);
        }
        *s = State::default();
    }
}
