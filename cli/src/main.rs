//! `zk`: ZooKeeper from the shell.
//!
//! - zkCli-style commands (`ls`, `tree`, `get`, `set`, `create`, `delete`, `stat`,
//!   `getAcl`, `watch`, `dump`/`load`, ...) with plain text output for people and `--json`
//!   (one JSON document per line) for scripts;
//! - an interactive shell with history and tab completion when no command is given;
//! - `zk server start|stop|status`: a throwaway local ZooKeeper for development, run
//!   through zk-testkit;
//! - `zk demo`: a guided, self-checking tour of the session manager (watches, failover to
//!   another server with the same session, ephemeral nodes).
//!
//! What it does not do: it keeps no state between runs except the shell history and the
//! local server's state file, and it never retries a write by itself.
//!
//! Errors are one line on stderr and exit code 1; usage errors exit with 2.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod connect;
mod demo;
mod dirs;
mod error;
mod output;
mod server;
mod shell;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use crate::cli::{Cli, TopCommand};
use crate::error::CliError;
use crate::output::Output;

fn main() -> ExitCode {
    install_panic_hook();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let server_source = matches.value_source("server");
    if let Some(message) = cli::empty_server(&cli, server_source) {
        return usage_error(&Cli::command().error(clap::error::ErrorKind::InvalidValue, message));
    }
    let server_from_flag = server_source == Some(clap::parser::ValueSource::CommandLine);
    let timeout_from_flag =
        matches.value_source("timeout") == Some(clap::parser::ValueSource::CommandLine);

    // `zk server run` becomes the leader of a new session before anything else, so the
    // local server outlives the terminal that started it.
    if let Some(TopCommand::Server(args)) = &cli.command {
        if args.is_run() {
            server::detach();
        }
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&CliError::msg(format!("cannot start the runtime: {e}"))),
    };

    let json = cli.json;
    let result = match cli.command {
        None | Some(TopCommand::Shell) => shell::run(&runtime, &cli.connect, json),
        Some(TopCommand::Server(args)) => runtime.block_on(server::run(args, json)),
        Some(TopCommand::Demo(args)) => {
            let options = demo::Options {
                server: server_from_flag
                    .then(|| cli.connect.server.clone())
                    .flatten(),
                timeout: timeout_from_flag.then_some(cli.connect.timeout),
                json,
            };
            runtime.block_on(demo::run(args, options))
        }
        Some(TopCommand::Node(command)) => runtime.block_on(async {
            let mut out = Output::stdout(json);
            commands::run_once(&cli.connect, command, &mut out).await
        }),
    };
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Prints a clap error (or help, or the version) and returns its exit code.
fn usage_error(e: &clap::Error) -> ExitCode {
    // Printing can only fail on a closed stream; there is nothing left to tell then.
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

/// Prints an error as one line on stderr and returns its exit code.
fn report(e: &CliError) -> ExitCode {
    if let Some(message) = e.message() {
        let _ = writeln!(std::io::stderr().lock(), "error: {message}");
    }
    ExitCode::from(e.exit_code())
}

/// A panic is a bug: say so in one line, without a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr().lock(),
            "error: internal error: {message}{location} (this is a bug in zk)"
        );
    }));
}
