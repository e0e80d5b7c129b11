//! The interactive shell: `zk` with no command.
//!
//! On a terminal: line editing, history (`$XDG_STATE_HOME/zk-cli/history`), Tab
//! completion of commands and node paths, Ctrl-C to stop a running command (such as
//! `watch`), Ctrl-D to leave. With stdin from a pipe or file it runs one command per line
//! without prompts, and exits with 1 if any command failed.
//!
//! `-w` watches print their event when it fires, between prompts. A session that
//! expires is replaced by a new one at the next command.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use clap::{CommandFactory as _, Parser as _};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, ExternalPrinter as _, Helper};
use tokio::runtime::Runtime;
use zk_client::Client;

use crate::cli::{ConnectArgs, ShellCommand, ShellLine};
use crate::commands::{self, Ctx, Printer, Watches};
use crate::connect::{self, Target};
use crate::dirs;
use crate::error::{CliError, Result};
use crate::output::Output;

/// How long Tab completion waits for the server.
const COMPLETION_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the shell until `quit`, Ctrl-D or the end of stdin.
pub(crate) fn run(runtime: &Runtime, args: &ConnectArgs, json: bool) -> Result<()> {
    let (client, target) = runtime.block_on(connect::connect(args))?;
    let mut shell = Shell {
        runtime,
        args,
        target,
        client: Arc::new(RwLock::new(client)),
        json,
        failures: 0,
    };
    let result = if io::stdin().is_terminal() {
        shell.interactive()
    } else {
        shell.script()
    };
    let client = shell.client();
    runtime.block_on(async {
        let _ = tokio::time::timeout(args.timeout, client.close()).await;
    });
    result
}

/// Whether to go on reading lines.
enum Flow {
    Continue,
    Quit,
}

struct Shell<'a> {
    runtime: &'a Runtime,
    args: &'a ConnectArgs,
    target: Target,
    /// Shared with the completer; replaced when the session expires.
    client: Arc<RwLock<Client>>,
    json: bool,
    failures: usize,
}

impl Shell<'_> {
    fn client(&self) -> Client {
        // A poisoned lock only means a completion panicked; the client is still good.
        match self.client.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn interactive(&mut self) -> Result<()> {
        let config = Config::builder()
            .auto_add_history(true)
            .completion_type(CompletionType::List)
            .max_history_size(10_000)
            .and_then(|b| b.history_ignore_dups(true))
            .map(|b| b.build())
            .map_err(|e| CliError::msg(format!("setting up the line editor: {e}")))?;
        let mut editor: Editor<ShellHelper, FileHistory> = Editor::with_config(config)
            .map_err(|e| CliError::msg(format!("setting up the line editor: {e}")))?;
        editor.set_helper(Some(ShellHelper {
            client: self.client.clone(),
            runtime: self.runtime.handle().clone(),
        }));
        let history = dirs::history_file();
        if let Some(path) = &history {
            // No history yet is fine.
            let _ = editor.load_history(path);
        }
        let printer: Printer = match editor.create_external_printer() {
            Ok(printer) => {
                let printer = Mutex::new(printer);
                Arc::new(move |line: String| {
                    if let Ok(mut p) = printer.lock() {
                        let _ = p.print(format!("{line}\n"));
                    }
                })
            }
            Err(_) => Arc::new(|line: String| println!("{line}")),
        };
        let client = self.client();
        eprintln!(
            "connected to {}, session {:#x}. Type help for the commands, Tab to complete, Ctrl-D to leave.",
            client
                .connected_server()
                .unwrap_or_else(|| self.target.hosts.clone()),
            client.session_id()
        );
        loop {
            match editor.readline(&self.prompt()) {
                Ok(line) => {
                    if let Flow::Quit = self.execute_line(&line, &printer, true) {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => {}
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(CliError::msg(format!("reading the command line: {e}"))),
            }
        }
        if let Some(path) = &history {
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = editor.save_history(path);
        }
        Ok(())
    }

    fn script(&mut self) -> Result<()> {
        let printer: Printer = Arc::new(|line: String| {
            let _ = writeln!(io::stdout().lock(), "{line}");
        });
        for line in io::stdin().lock().lines() {
            let line = line.map_err(|e| CliError::msg(format!("reading stdin: {e}")))?;
            if let Flow::Quit = self.execute_line(&line, &printer, false) {
                break;
            }
        }
        if self.failures == 0 {
            Ok(())
        } else {
            Err(CliError::silent())
        }
    }

    fn prompt(&self) -> String {
        let client = self.client();
        match client.connected_server() {
            Some(server) if client.state().is_connected() => format!("zk {server}> "),
            _ => format!("zk {} ({:?})> ", self.target.hosts, client.state()).to_lowercase(),
        }
    }

    fn execute_line(&mut self, line: &str, printer: &Printer, interactive: bool) -> Flow {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Flow::Continue;
        }
        let Some(words) = shlex::split(line) else {
            eprintln!("error: unbalanced quotes");
            self.failures += 1;
            return Flow::Continue;
        };
        let command = match ShellLine::try_parse_from(words) {
            Ok(ShellLine {
                command: ShellCommand::Quit,
            }) => return Flow::Quit,
            Ok(ShellLine {
                command: ShellCommand::Node(command),
            }) => command,
            Err(e) => {
                let _ = e.print();
                if e.use_stderr() {
                    self.failures += 1;
                }
                return Flow::Continue;
            }
        };
        if let Err(e) = self.ensure_session() {
            self.fail(&e);
            return Flow::Continue;
        }
        let client = self.client();
        let ctx = Ctx {
            client: &client,
            watches: Watches::Background(printer.clone()),
            json: self.json,
        };
        let mut out = Output::stdout(self.json);
        let result = self.runtime.block_on(async {
            let run = commands::execute(&ctx, command, &mut out);
            if interactive {
                tokio::select! {
                    result = run => result,
                    _ = tokio::signal::ctrl_c() => {
                        // Ctrl-C stops the command (a `watch`, a `get -w`), not the shell.
                        eprintln!();
                        Ok(())
                    }
                }
            } else {
                run.await
            }
        });
        if let Err(e) = result {
            self.fail(&e);
        }
        Flow::Continue
    }

    fn fail(&mut self, e: &CliError) {
        if let Some(message) = e.message() {
            eprintln!("error: {message}");
        }
        if e.exit_code() != 0 {
            self.failures += 1;
        }
    }

    /// Replaces an expired (or otherwise ended) session with a new one.
    fn ensure_session(&mut self) -> Result<()> {
        let state = self.client().state();
        if !state.is_terminal() {
            return Ok(());
        }
        eprintln!("the session ended ({state:?}); opening a new one");
        let client = self
            .runtime
            .block_on(connect::connect_to(&self.target, self.args))?;
        match self.client.write() {
            Ok(mut c) => *c = client,
            Err(poisoned) => *poisoned.into_inner() = client,
        }
        Ok(())
    }
}

/// Tab completion of command names and node paths.
struct ShellHelper {
    client: Arc<RwLock<Client>>,
    runtime: tokio::runtime::Handle,
}

impl ShellHelper {
    fn commands(prefix: &str) -> Vec<Pair> {
        let mut names: Vec<String> = ShellLine::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .chain(["help".to_owned()])
            .filter(|name| name.starts_with(prefix))
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| Pair {
                display: name.clone(),
                replacement: format!("{name} "),
            })
            .collect()
    }

    fn paths(&self, word: &str) -> Vec<Pair> {
        // Split into the parent to list and the partial name.
        let Some(slash) = word.rfind('/') else {
            return Vec::new();
        };
        let parent = if slash == 0 { "/" } else { &word[..slash] };
        let partial = &word[slash + 1..];
        let client = match self.client.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let listing = self.runtime.block_on(async {
            tokio::time::timeout(COMPLETION_TIMEOUT, client.get_children(parent)).await
        });
        let Ok(Ok((mut children, _))) = listing else {
            return Vec::new();
        };
        children.sort();
        children
            .into_iter()
            .filter(|c| c.starts_with(partial))
            .map(|c| Pair {
                replacement: if parent == "/" {
                    format!("/{c}")
                } else {
                    format!("{parent}/{c}")
                },
                display: c,
            })
            .collect()
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let candidates = if before[..start].trim().is_empty() {
            Self::commands(word)
        } else if word.starts_with('/') {
            self.paths(word)
        } else {
            Vec::new()
        };
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_complete() {
        let names: Vec<_> = ShellHelper::commands("get")
            .into_iter()
            .map(|p| p.display)
            .collect();
        assert_eq!(
            names,
            ["get", "getAcl", "getAllChildrenNumber", "getEphemerals"]
        );
        assert!(
            ShellHelper::commands("")
                .iter()
                .any(|p| p.display == "deleteall")
        );
    }
}
