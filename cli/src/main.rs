//! `zk`: ZooKeeper from the shell.
//!
//! - zkCli-style commands (`ls`, `tree`, `get`, `set`, `create`, `delete`, `stat`,
//!   `getAcl`, `watch`, `dump`/`load`, ...) with plain text output for people and `--json`
//!   (one JSON document per line) for scripts;
//! - an interactive shell with history and tab completion when no command is given;
//! - `zk server start|stop|status`: a throwaway local ZooKeeper for development, run
//!   through zk-testkit;
//! - `zk chaos <workload>`: a workload under a seeded nemesis on a fresh ensemble, with
//!   each checker's verdict;
//! - `zk demo`: a guided, self-checking tour of the session manager (watches, failover to
//!   another server with the same session, ephemeral nodes).
//!
//! What it does not do: it keeps no state between runs except the shell history and the
//! local server's state file, and it never retries a write by itself.
//!
//! Errors are one line on stderr and exit code 1; usage errors exit with 2. With `--json`
//! an error is one JSON object on stderr instead (`{"error": "/a: no such node", "code":
//! "NoNode", "path": "/a", "exitCode": 1}`), so stdout carries only results; the exit
//! codes are the same.
#![forbid(unsafe_code)]

mod chaos;
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

use clap::FromArgMatches as _;

use crate::cli::{Cli, TopCommand};
use crate::error::CliError;
use crate::output::Output;

fn main() -> ExitCode {
    install_panic_hook();
    // Before parsing succeeds, `--json` anywhere asks for JSON usage errors.
    let json_asked = std::env::args_os().skip(1).any(|a| a == "--json");
    let words = cli::zkcli_spelling(std::env::args_os());
    let matches = match cli::command().try_get_matches_from(words) {
        Ok(matches) => matches,
        Err(e) => return usage_error(&e, json_asked),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, json_asked),
    };
    let server_source = matches.value_source("server");
    if let Some(message) = cli::empty_server(&cli, server_source) {
        return usage_error(
            &cli::command().error(clap::error::ErrorKind::InvalidValue, message),
            cli.json,
        );
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
        Err(e) => {
            return report(
                &CliError::msg(format!("cannot start the runtime: {e}")),
                cli.json,
            );
        }
    };

    let json = cli.json;
    let result = match cli.command {
        None | Some(TopCommand::Shell) => shell::run(&runtime, &cli.connect, json),
        Some(TopCommand::Version) => Output::stdout(json)
            .emit(&shell::Version::current())
            .map_err(CliError::from),
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
        Some(TopCommand::Chaos(args)) => runtime.block_on(chaos::run(args, json)),
        Some(TopCommand::Node(command)) => runtime.block_on(async {
            let mut out = Output::stdout(json);
            commands::run_once(&cli.connect, command, &mut out).await
        }),
    };
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, json),
    }
}

/// Prints a clap error (or help, or the version) and returns its exit code. With `json`,
/// an error (not help or the version) is a JSON object on stderr, as every other error.
fn usage_error(e: &clap::Error, json: bool) -> ExitCode {
    let code = u8::try_from(e.exit_code()).unwrap_or(2);
    if json && e.use_stderr() {
        let rendered = e.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        return report(&CliError::usage(message), true);
    }
    // Printing can only fail on a closed stream; there is nothing left to tell then.
    let _ = e.print();
    ExitCode::from(code)
}

/// Prints an error (one line on stderr, or a JSON object with `json`) and returns its
/// exit code.
fn report(e: &CliError, json: bool) -> ExitCode {
    e.print(json);
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
