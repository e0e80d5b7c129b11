//! The interactive shell: `zk` with no command.
//!
//! On a terminal: line editing, history (`$XDG_STATE_HOME/zk-cli/history`), Tab
//! completion of commands and node paths, Ctrl-C to stop a running command (such as
//! `watch`), Ctrl-D to leave. With stdin from a pipe or file it runs one command per line
//! without prompts, and exits with 1 if any command failed.
//!
//! `-w` watches and `addWatch` print their events when they fire, between prompts
//! (`printwatches off` silences them). A session that expires is replaced by a new one at
//! the next command; one ended with `close` stays closed until `connect`.
//!
//! Besides the node commands the shell has zkCli's own: `connect`, `close`,
//! `printwatches`, `history`, `redo`, `version`, `quit`. `--json` works per command.

mod builtins;
mod complete;

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex, RwLock};

use clap::Parser as _;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor, ExternalPrinter as _};
use tokio::runtime::Runtime;
use zk_client::Client;

use crate::cli::{self, ConnectArgs, ShellCommand, ShellLine};
use crate::commands::{self, BackgroundWatches, Ctx, Printer, Watches};
use crate::connect::{self, Target};
use crate::dirs;
use crate::error::{CliError, Result};
use crate::output::Output;

pub(crate) use builtins::Version;
use complete::ShellHelper;

/// Runs the shell until `quit`, Ctrl-D or the end of stdin.
pub(crate) fn run(runtime: &Runtime, args: &ConnectArgs, json: bool) -> Result<()> {
    let (client, target) = runtime.block_on(connect::connect(args))?;
    let mut shell = Shell {
        runtime,
        args,
        target,
        client: Arc::new(RwLock::new(client)),
        closed: false,
        json,
        failures: 0,
        history: Vec::new(),
    };
    let result = if io::stdin().is_terminal() {
        shell.interactive()
    } else {
        shell.script()
    };
    if !shell.closed {
        let client = shell.client();
        runtime.block_on(async {
            let _ = tokio::time::timeout(args.timeout, client.close()).await;
        });
    }
    result
}

/// Whether to go on reading lines.
enum Flow {
    Continue,
    Quit,
}

struct Shell<'a> {
    runtime: &'a Runtime,
    /// Credentials, TLS and timeout for every session the shell opens.
    args: &'a ConnectArgs,
    /// The servers of the current session (`connect` changes them).
    target: Target,
    /// Shared with the completer; replaced when the session expires or on `connect`.
    client: Arc<RwLock<Client>>,
    /// Whether `close` ended the session: commands are refused until `connect`.
    closed: bool,
    json: bool,
    failures: usize,
    /// The lines run so far, numbered from 0 for `history` and `redo`.
    history: Vec<String>,
}

impl Shell<'_> {
    fn client(&self) -> Client {
        // A poisoned lock only means a completion panicked; the client is still good.
        match self.client.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_client(&self, client: Client) {
        match self.client.write() {
            Ok(mut c) => *c = client,
            Err(poisoned) => *poisoned.into_inner() = client,
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
        let watches = BackgroundWatches::new(printer);
        self.greet();
        loop {
            match editor.readline(&self.prompt()) {
                Ok(line) => {
                    if let Flow::Quit = self.execute_line(&line, &watches, true) {
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
        let watches = BackgroundWatches::new(printer);
        for line in io::stdin().lock().lines() {
            let line = line.map_err(|e| CliError::msg(format!("reading stdin: {e}")))?;
            if let Flow::Quit = self.execute_line(&line, &watches, false) {
                break;
            }
        }
        if self.failures == 0 {
            Ok(())
        } else {
            Err(CliError::silent())
        }
    }

    /// `connected to <server>, session 0x...` on stderr.
    fn greet(&self) {
        let client = self.client();
        eprintln!(
            "connected to {}, session {:#x}. Type help for the commands, Tab to complete, Ctrl-D to leave.",
            client
                .connected_server()
                .unwrap_or_else(|| self.target.hosts.clone()),
            client.session_id()
        );
    }

    /// `zk <server> [N]> `, N being the number `redo` takes for the next line.
    fn prompt(&self) -> String {
        let number = self.history.len();
        if self.closed {
            return format!("zk (closed) [{number}]> ");
        }
        let client = self.client();
        match client.connected_server() {
            Some(server) if client.state().is_connected() => format!("zk {server} [{number}]> "),
            _ => format!(
                "zk {} ({}) [{number}]> ",
                self.target.hosts,
                format!("{:?}", client.state()).to_lowercase()
            ),
        }
    }

    fn execute_line(&mut self, line: &str, watches: &BackgroundWatches, interactive: bool) -> Flow {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Flow::Continue;
        }
        self.history.push(line.to_owned());
        self.run_line(line, watches, interactive)
    }

    fn run_line(&mut self, line: &str, watches: &BackgroundWatches, interactive: bool) -> Flow {
        let Some(words) = shlex::split(line) else {
            self.fail(&CliError::msg("unbalanced quotes"), self.json);
            return Flow::Continue;
        };
        let wants_json = self.json || words.iter().any(|w| w == "--json");
        let parsed = match ShellLine::try_parse_from(cli::zkcli_spelling(words)) {
            Ok(parsed) => parsed,
            Err(e) if wants_json && e.use_stderr() => {
                let rendered = e.render().to_string();
                let first = rendered.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first);
                self.fail(&CliError::usage(message), true);
                return Flow::Continue;
            }
            Err(e) => {
                let _ = e.print();
                if e.use_stderr() {
                    self.failures += 1;
                }
                return Flow::Continue;
            }
        };
        let json = self.json || parsed.json;
        let mut out = Output::stdout(json);
        let command = match parsed.command {
            ShellCommand::Node(command) => command,
            ShellCommand::Quit => return Flow::Quit,
            ShellCommand::Redo { number } => return self.redo(number, watches, interactive),
            builtin => {
                if let Err(e) = self.builtin(builtin, watches, &mut out) {
                    self.fail(&e, json);
                }
                return Flow::Continue;
            }
        };
        if let Err(e) = self.ensure_session(watches) {
            self.fail(&e, json);
            return Flow::Continue;
        }
        let client = self.client();
        let ctx = Ctx {
            client: &client,
            watches: Watches::Background(watches.clone()),
            json,
            target: &self.target,
            connect: self.args,
            one_off: false,
        };
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
            self.fail(&e, json);
        }
        Flow::Continue
    }

    /// `redo N`: runs line N of the history again; the history records the line itself
    /// in place of `redo N`, as zkCli's does.
    fn redo(&mut self, number: usize, watches: &BackgroundWatches, interactive: bool) -> Flow {
        let current = self.history.len().saturating_sub(1);
        let Some(line) = self
            .history
            .get(number)
            .filter(|_| number < current)
            .cloned()
        else {
            let message = format!("redo {number}: no such command (see history)");
            self.fail(&CliError::msg(message), self.json);
            return Flow::Continue;
        };
        if line.split_whitespace().next() == Some("redo") {
            let message = format!("redo {number}: that line is itself a redo");
            self.fail(&CliError::msg(message), self.json);
            return Flow::Continue;
        }
        if let Some(last) = self.history.last_mut() {
            last.clone_from(&line);
        }
        self.run_line(&line, watches, interactive)
    }

    fn fail(&mut self, e: &CliError, json: bool) {
        e.print(json);
        if e.exit_code() != 0 {
            self.failures += 1;
        }
    }

    /// Refuses commands after `close`; replaces an expired (or otherwise ended) session
    /// with a new one.
    fn ensure_session(&mut self, watches: &BackgroundWatches) -> Result<()> {
        if self.closed {
            return Err(CliError::msg(
                "not connected: the session was closed (connect [host:port[/chroot]] opens a new one)",
            ));
        }
        let state = self.client().state();
        if !state.is_terminal() {
            return Ok(());
        }
        eprintln!("the session ended ({state:?}); opening a new one");
        let client = self
            .runtime
            .block_on(connect::connect_to(&self.target, self.args))?;
        watches.clear();
        self.set_client(client);
        Ok(())
    }
}
