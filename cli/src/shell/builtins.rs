//! The shell's own commands: `connect`, `close`, `printwatches`, `history`, `version`
//! (`redo` and `quit` steer the loop itself).

use std::io::{self, Write};

use serde::Serialize;

use super::Shell;
use crate::cli::ShellCommand;
use crate::commands::BackgroundWatches;
use crate::connect::{self, Source, Target};
use crate::error::{CliError, Result};
use crate::output::{Output, Render};

/// How many lines `history` shows, as zkCli: the last ten and itself.
const HISTORY_SHOWN: usize = 11;

/// `connect`: the new session.
#[derive(Debug, Serialize)]
struct Connected {
    server: String,
    #[serde(rename = "sessionId")]
    session_id: String,
}

impl Render for Connected {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        // Told on stderr, like the greeting.
        Ok(())
    }
}

/// `close`: nothing to print in text.
#[derive(Debug, Serialize)]
struct Closed {
    closed: bool,
}

impl Render for Closed {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

/// `printwatches`: the setting.
#[derive(Debug, Serialize)]
struct PrintWatches {
    #[serde(rename = "printWatches")]
    print_watches: bool,
}

impl Render for PrintWatches {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        let setting = if self.print_watches { "on" } else { "off" };
        writeln!(w, "printwatches is {setting}")
    }
}

/// One numbered line of `history`.
#[derive(Debug, Serialize)]
struct HistoryLine {
    number: usize,
    command: String,
}

/// `history`: `N - command` per line, as zkCli prints it.
#[derive(Debug, Serialize)]
struct History {
    history: Vec<HistoryLine>,
}

impl Render for History {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        for line in &self.history {
            writeln!(w, "{} - {}", line.number, line.command)?;
        }
        Ok(())
    }
}

/// `version` (also `zk version`): zk's own version.
#[derive(Debug, Serialize)]
pub(crate) struct Version {
    version: &'static str,
}

impl Version {
    /// This build's version.
    pub(crate) fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

impl Render for Version {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "zk {}", self.version)
    }
}

impl Shell<'_> {
    /// Runs a command of the shell's own (not `redo`, `quit` or a node command).
    pub(super) fn builtin(
        &mut self,
        command: ShellCommand,
        watches: &BackgroundWatches,
        out: &mut Output,
    ) -> Result<()> {
        match command {
            ShellCommand::Connect { hosts } => self.connect(hosts, watches, out),
            ShellCommand::Close => {
                if !self.closed {
                    let client = self.client();
                    let timeout = self.args.timeout;
                    self.runtime.block_on(async {
                        let _ = tokio::time::timeout(timeout, client.close()).await;
                    });
                    watches.clear();
                    self.closed = true;
                }
                out.emit(&Closed { closed: true })?;
                Ok(())
            }
            ShellCommand::PrintWatches { setting } => {
                match setting.as_deref() {
                    Some(on_off) => watches.set_printing(on_off == "on"),
                    None => out.emit(&PrintWatches {
                        print_watches: watches.printing(),
                    })?,
                }
                Ok(())
            }
            ShellCommand::History => {
                let first = self.history.len().saturating_sub(HISTORY_SHOWN);
                let history = self
                    .history
                    .iter()
                    .enumerate()
                    .skip(first)
                    .map(|(number, command)| HistoryLine {
                        number,
                        command: command.clone(),
                    })
                    .collect();
                out.emit(&History { history })?;
                Ok(())
            }
            ShellCommand::Version => Ok(out.emit(&Version::current())?),
            ShellCommand::Node(_) | ShellCommand::Redo { .. } | ShellCommand::Quit => Err(
                CliError::msg("internal error: not a shell command (this is a bug in zk)"),
            ),
        }
    }

    /// `connect [HOSTS]`: a new session, to `hosts` or to the current servers; the old
    /// session is closed once the new one is open (and kept if it cannot be opened).
    fn connect(
        &mut self,
        hosts: Option<String>,
        watches: &BackgroundWatches,
        out: &mut Output,
    ) -> Result<()> {
        let target = match hosts {
            Some(hosts) => Target {
                hosts,
                source: Source::Given,
            },
            None => self.target.clone(),
        };
        let client = self
            .runtime
            .block_on(connect::connect_to(&target, self.args))?;
        if !self.closed {
            let old = self.client();
            let timeout = self.args.timeout;
            self.runtime.block_on(async {
                let _ = tokio::time::timeout(timeout, old.close()).await;
            });
        }
        watches.clear();
        self.set_client(client);
        self.target = target;
        self.closed = false;
        let client = self.client();
        let server = client
            .connected_server()
            .unwrap_or_else(|| self.target.hosts.clone());
        let session_id = format!("{:#x}", client.session_id());
        eprintln!("connected to {server}, session {session_id}");
        out.emit(&Connected { server, session_id })?;
        Ok(())
    }
}
