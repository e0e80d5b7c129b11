//! The node commands, shared by the command line and the shell.
//!
//! Each command reads its arguments, calls the client, and emits one result through
//! [`Output`]; `-w` watches are awaited (command line) or printed when they fire (shell).

mod acl;
mod dump;
mod nodes;
mod session;
mod tree;
mod watch;

use std::sync::Arc;

use tokio::io::AsyncReadExt as _;
use zk_client::Client;

use crate::cli::{ConnectArgs, NodeCommand};
use crate::connect;
use crate::error::{CliError, Result};
use crate::output::Output;

pub(crate) use acl::parse_acl;

/// Prints a line from a background task (a watch firing in the shell).
pub(crate) type Printer = Arc<dyn Fn(String) + Send + Sync>;

/// What `-w` does once the watch is left.
#[derive(Clone)]
pub(crate) enum Watches {
    /// Wait for the event, print it, then return (the command line).
    Wait,
    /// Return at once; print the event when it fires (the shell).
    Background(Printer),
}

/// What a command runs with.
pub(crate) struct Ctx<'a> {
    /// The session.
    pub(crate) client: &'a Client,
    /// What `-w` does.
    pub(crate) watches: Watches,
    /// Whether results are JSON (for events printed in the background).
    pub(crate) json: bool,
}

/// Connects, runs one command, and closes the session.
pub(crate) async fn run_once(
    args: &ConnectArgs,
    command: NodeCommand,
    out: &mut Output,
) -> Result<()> {
    let (client, _) = connect::connect(args).await?;
    let ctx = Ctx {
        client: &client,
        watches: Watches::Wait,
        json: out.is_json(),
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
        NodeCommand::Config(a) => session::config(ctx, a, out).await,
        NodeCommand::Watch(a) => watch::watch(ctx, a, out).await,
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
