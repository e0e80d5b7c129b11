//! The node commands, shared by the command line and the shell.
//!
//! Each command reads its arguments, calls the client, and emits one result through
//! [`Output`]; `-w` watches are awaited (command line) or printed when they fire (shell).

mod acl;
mod background;
mod dump;
mod nodes;
mod quota;
mod reconfig;
mod session;
mod tree;
mod watch;

use std::io::Write as _;

use tokio::io::AsyncReadExt as _;
use zk_client::Client;

use crate::cli::{ConnectArgs, NodeCommand};
use crate::connect::{self, Target};
use crate::error::{CliError, Result};
use crate::output::Output;

pub(crate) use acl::parse_acl;
pub(crate) use background::{BackgroundWatches, Printer};

/// What `-w` does once the watch is left.
#[derive(Clone)]
pub(crate) enum Watches {
    /// Wait for the event, print it, then return (the command line).
    Wait,
    /// Return at once; print the event when it fires (the shell).
    Background(BackgroundWatches),
}

/// What a command runs with.
pub(crate) struct Ctx<'a> {
    /// The session.
    pub(crate) client: &'a Client,
    /// What `-w` does.
    pub(crate) watches: Watches,
    /// Whether results are JSON (for events printed in the background).
    pub(crate) json: bool,
    /// The servers the session was opened with (the chroot included).
    pub(crate) target: &'a Target,
    /// Credentials and TLS, for a second session where a command needs one (quotas live
    /// outside the chroot).
    pub(crate) connect: &'a ConnectArgs,
    /// Whether the session ends with this command (the command line) rather than with
    /// the shell.
    pub(crate) one_off: bool,
}

impl Ctx<'_> {
    /// Prints a one-line note on stderr.
    pub(crate) fn note(&self, text: &str) {
        let _ = writeln!(std::io::stderr().lock(), "note: {text}");
    }
}

/// Connects, runs one command, and closes the session.
pub(crate) async fn run_once(
    args: &ConnectArgs,
    command: NodeCommand,
    out: &mut Output,
) -> Result<()> {
    let (client, target) = connect::connect(args).await?;
    let ctx = Ctx {
        client: &client,
        watches: Watches::Wait,
        json: out.is_json(),
        target: &target,
        connect: args,
        one_off: true,
    };
    let result = execute(&ctx, command, out).await;
    // Closing deletes the session's ephemeral nodes at once rather than after the
    // timeout; it is bounded by the request timeout.
    let _ = tokio::time::timeout(args.timeout, client.close()).await;
    result
}

/// Runs one command on an open session.
pub(crate) async fn execute(ctx: &Ctx<'_>, command: NodeCommand, out: &mut Output) -> Result<()> {
    match command {
        NodeCommand::Ls(a) => nodes::ls(ctx, a, out).await,
        NodeCommand::Tree(a) => tree::tree(ctx, a, out).await,
        NodeCommand::Get(a) => nodes::get(ctx, a, out).await,
        NodeCommand::Set(a) => nodes::set(ctx, a, out).await,
        NodeCommand::Create(a) => nodes::create(ctx, a, out).await,
        NodeCommand::Delete(a) => nodes::delete(ctx, a, out).await,
        NodeCommand::DeleteAll(a) => nodes::delete_all(ctx, a, out).await,
        NodeCommand::Stat(a) => nodes::stat(ctx, a, out).await,
        NodeCommand::Exists(a) => nodes::exists(ctx, a, out).await,
        NodeCommand::GetAcl(a) => acl::get_acl(ctx, a, out).await,
        NodeCommand::SetAcl(a) => acl::set_acl(ctx, a, out).await,
        NodeCommand::AddAuth(a) => acl::add_auth(ctx, a, out).await,
        NodeCommand::WhoAmI => acl::who_am_i(ctx, out).await,
        NodeCommand::Sync(a) => session::sync(ctx, a, out).await,
        NodeCommand::GetEphemerals(a) => session::ephemerals(ctx, a, out).await,
        NodeCommand::GetAllChildrenNumber(a) => session::count(ctx, a, out).await,
        NodeCommand::Config(a) => reconfig::config(ctx, a, out).await,
        NodeCommand::Reconfig(a) => reconfig::reconfig(ctx, a, out).await,
        NodeCommand::SetQuota(a) => quota::set_quota(ctx, a, out).await,
        NodeCommand::ListQuota(a) => quota::list_quota(ctx, a, out).await,
        NodeCommand::DelQuota(a) => quota::del_quota(ctx, a, out).await,
        NodeCommand::Watch(a) => watch::watch(ctx, a, out).await,
        NodeCommand::AddWatch(a) => watch::add_watch(ctx, a, out).await,
        NodeCommand::RemoveWatches(a) => watch::remove_watches(ctx, a, out).await,
        NodeCommand::Dump(a) => dump::dump(ctx.client, a, out).await,
        NodeCommand::Load(a) => dump::load(ctx.client, a, out).await,
    }
}

/// Command data: the argument itself, or all of stdin for `-`.
pub(crate) async fn data_arg(arg: Option<&str>) -> Result<Vec<u8>> {
    match arg {
        None => Ok(Vec::new()),
        Some("-") => {
            let mut data = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut data)
                .await
                .map_err(|e| CliError::msg(format!("reading the data from stdin: {e}")))?;
            Ok(data)
        }
        Some(text) => Ok(text.as_bytes().to_vec()),
    }
}
