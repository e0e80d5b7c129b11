//! The command line: global options, the node commands (shared with the shell), and the
//! `server`, `demo` and `shell` commands.

use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  zk server start                   run a local ZooKeeper for development
  zk ls -R /                        every path, one per line
  zk create /app \"hello\"            a persistent node with data
  zk create -e -s /app/worker-      an ephemeral sequential node (prints its name)
  zk get -s /app                    data, then the Stat
  zk tree /app                      the subtree, drawn like `tree`, with sizes
  zk --json stat /app | jq .dataVersion
  zk watch /app --recursive         print every change below /app until Ctrl-C
  zk dump /app > app.json && zk load /copy app.json
  zk demo                           a guided tour: watches, failover, ephemeral nodes
  zk                                the interactive shell (Tab completes commands and paths)

The server is --server, else $ZK_SERVER, else the local `zk server` if it runs, else
127.0.0.1:2181. An empty --server or ZK_SERVER is an error, not a way to ask for the
default: unset ZK_SERVER instead.";

/// ZooKeeper from the shell: zkCli-style commands, an interactive shell, a local server
/// for development, and a guided demo.
#[derive(Debug, Parser)]
#[command(name = "zk", version, after_help = EXAMPLES, max_term_width = 100)]
pub(crate) struct Cli {
    /// How to reach ZooKeeper.
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// Print JSON (one document per line) instead of text.
    #[arg(long, global = true, help_heading = "Output")]
    pub(crate) json: bool,
    /// The command; none starts the interactive shell.
    #[command(subcommand)]
    pub(crate) command: Option<TopCommand>,
}

/// How to reach ZooKeeper: servers, timeout, credentials, TLS.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct ConnectArgs {
    /// The servers: `host:port[,host:port...][/chroot]`. An empty or all-blank value,
    /// from the flag or from `ZK_SERVER`, is refused by [`empty_server`].
    #[arg(
        long,
        env = "ZK_SERVER",
        global = true,
        value_name = "HOSTS",
        help = "The servers: host:port[,host:port...][/chroot] (not empty; unset ZK_SERVER \
                for the default)"
    )]
    pub(crate) server: Option<String>,
    /// The session timeout, also the longest wait for a connection and for each request
    /// (500ms, 10s, 1m; a plain number is milliseconds).
    #[arg(long, global = true, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) timeout: Duration,
    /// Authenticate, e.g. digest:alice:secret (repeatable).
    #[arg(long, global = true, value_name = "SCHEME:CREDENTIALS")]
    pub(crate) auth: Vec<String>,
    /// Authenticate every connection with SASL DIGEST-MD5 first.
    #[arg(long, global = true, value_name = "USER:PASSWORD")]
    pub(crate) sasl: Option<String>,
    /// Accept read-only servers (of an ensemble without quorum).
    #[arg(long, global = true)]
    pub(crate) read_only: bool,
    /// TLS to every server: the CA certificates (PEM) that sign the servers' certificates.
    #[arg(long, global = true, value_name = "PEM")]
    pub(crate) tls_ca: Option<PathBuf>,
    /// TLS: a client certificate chain (PEM) to present, for mutual TLS.
    #[arg(long, global = true, value_name = "PEM", requires_all = ["tls_ca", "tls_key"])]
    pub(crate) tls_cert: Option<PathBuf>,
    /// TLS: the client certificate's private key (PEM).
    #[arg(long, global = true, value_name = "PEM", requires_all = ["tls_ca", "tls_cert"])]
    pub(crate) tls_key: Option<PathBuf>,
}

/// The commands of `zk`.
#[derive(Debug, Subcommand)]
pub(crate) enum TopCommand {
    /// A node command.
    #[command(flatten)]
    Node(NodeCommand),
    /// Run a local ZooKeeper in the background, for development.
    Server(ServerArgs),
    /// A guided tour of sessions, watches and failover on a local 3-server ensemble
    /// (or, with --server, on an existing one).
    ///
    /// Without --server it starts a local 3-server ensemble (ZK_SERVER is not used) and
    /// kills the server the session is connected to. With --server it runs against that
    /// ensemble and cuts its own connection to one server instead. Every step is checked;
    /// a failed check exits with 1. What the demo creates is removed at the end.
    Demo(DemoArgs),
    /// The interactive shell (also what `zk` with no command starts).
    Shell,
}

/// The commands on nodes, the same on the command line and in the shell.
#[derive(Debug, Subcommand)]
pub(crate) enum NodeCommand {
    /// List the children of a node (sorted, one per line).
    Ls(LsArgs),
    /// Draw the subtree of a node with data sizes, like `tree`.
    Tree(TreeArgs),
    /// Print the data of a node.
    Get(GetArgs),
    /// Set the data of a node.
    Set(SetArgs),
    /// Create a node and print its path.
    Create(CreateArgs),
    /// Delete a node (it must have no children).
    Delete(DeleteArgs),
    /// Delete a node and everything below it.
    #[command(name = "deleteall", alias = "rmr")]
    DeleteAll(PathArgs),
    /// Print the Stat of a node.
    Stat(StatArgs),
    /// Whether a node exists: prints true or false, exit code 0 or 1.
    Exists(StatArgs),
    /// Print the ACL of a node, one entry per line (scheme:id:perms).
    #[command(name = "getAcl", alias = "getacl")]
    GetAcl(GetAclArgs),
    /// Set the ACL of a node.
    #[command(name = "setAcl", alias = "setacl")]
    SetAcl(SetAclArgs),
    /// Add an authentication identity to the session, e.g. `addauth digest alice:secret`.
    #[command(name = "addauth")]
    AddAuth(AddAuthArgs),
    /// Make the connected server catch up with the leader.
    Sync(PathArgs),
    /// Print the identities of the session.
    #[command(name = "whoami")]
    WhoAmI,
    /// List this session's ephemeral nodes under a path prefix.
    #[command(name = "getEphemerals", alias = "getephemerals")]
    GetEphemerals(EphemeralsArgs),
    /// Count every descendant of a node.
    #[command(name = "getAllChildrenNumber", alias = "getallchildrennumber")]
    GetAllChildrenNumber(PathArgs),
    /// Print the ensemble configuration (empty on a standalone server).
    Config(ConfigArgs),
    /// Print every change of a node (or subtree) until interrupted.
    Watch(WatchArgs),
    /// Write a subtree as JSON (data, ACLs, children).
    Dump(DumpArgs),
    /// Create a subtree from a `zk dump` file.
    Load(LoadArgs),
}

/// A single path.
#[derive(Debug, Args)]
pub(crate) struct PathArgs {
    /// The node.
    pub(crate) path: String,
}

/// `ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Every descendant, as full paths (breadth first).
    #[arg(short = 'R', long)]
    pub(crate) recursive: bool,
    /// Also print the node's Stat.
    #[arg(short, long)]
    pub(crate) stat: bool,
    /// Leave a watch on the children and print the event when it fires.
    #[arg(short, long, conflicts_with = "recursive")]
    pub(crate) watch: bool,
    /// The node.
    #[arg(default_value = "/")]
    pub(crate) path: String,
}

/// `tree`.
#[derive(Debug, Args)]
pub(crate) struct TreeArgs {
    /// Descend at most this many levels.
    #[arg(short = 'L', long, value_name = "LEVELS")]
    pub(crate) depth: Option<usize>,
    /// The node.
    #[arg(default_value = "/")]
    pub(crate) path: String,
}

/// `get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// Also print the Stat.
    #[arg(short, long)]
    pub(crate) stat: bool,
    /// Leave a watch on the data and print the event when it fires.
    #[arg(short, long)]
    pub(crate) watch: bool,
    /// The node.
    pub(crate) path: String,
}

/// `set`.
#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// Print the new Stat.
    #[arg(short, long)]
    pub(crate) stat: bool,
    /// Only if the node's data version is this one.
    #[arg(short, long, value_name = "VERSION")]
    pub(crate) version: Option<i32>,
    /// The node.
    pub(crate) path: String,
    /// The data; `-` reads it from stdin.
    pub(crate) data: String,
}

/// `create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Ephemeral: deleted when the session ends.
    #[arg(short, long)]
    pub(crate) ephemeral: bool,
    /// Sequential: the server appends a 10-digit sequence number.
    #[arg(short, long)]
    pub(crate) sequential: bool,
    /// Container: deleted by the server once its last child is gone.
    #[arg(short, long, conflicts_with_all = ["ephemeral", "sequential", "ttl"])]
    pub(crate) container: bool,
    /// TTL node: deleted once unchanged and childless for this long (needs
    /// extendedTypesEnabled on the server).
    #[arg(short, long, value_parser = parse_duration, conflicts_with = "ephemeral", value_name = "TTL")]
    pub(crate) ttl: Option<Duration>,
    /// The node.
    pub(crate) path: String,
    /// The data (default empty); `-` reads it from stdin.
    pub(crate) data: Option<String>,
    /// The ACL: scheme:id:perms[,...], e.g. world:anyone:r (default world:anyone:cdrwa).
    pub(crate) acl: Option<String>,
}

/// `delete`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// Only if the node's data version is this one.
    #[arg(short, long, value_name = "VERSION")]
    pub(crate) version: Option<i32>,
    /// The node.
    pub(crate) path: String,
}

/// `stat` and `exists`.
#[derive(Debug, Args)]
pub(crate) struct StatArgs {
    /// Leave a watch on the node and print the event when it fires.
    #[arg(short, long)]
    pub(crate) watch: bool,
    /// The node.
    pub(crate) path: String,
}

/// `getAcl`.
#[derive(Debug, Args)]
pub(crate) struct GetAclArgs {
    /// Also print the Stat.
    #[arg(short, long)]
    pub(crate) stat: bool,
    /// The node.
    pub(crate) path: String,
}

/// `setAcl`.
#[derive(Debug, Args)]
pub(crate) struct SetAclArgs {
    /// Print the new Stat.
    #[arg(short, long, conflicts_with = "recursive")]
    pub(crate) stat: bool,
    /// Only if the node's ACL version is this one.
    #[arg(short, long, value_name = "VERSION", conflicts_with = "recursive")]
    pub(crate) version: Option<i32>,
    /// Also set it on every descendant.
    #[arg(short = 'R', long)]
    pub(crate) recursive: bool,
    /// The node.
    pub(crate) path: String,
    /// The ACL: `scheme:id:perms[,...]`, e.g. `digest:alice:<hash>:cdrwa,world:anyone:r`.
    #[arg(help = "The ACL: scheme:id:perms[,...], e.g. digest:alice:<hash>:cdrwa,world:anyone:r")]
    pub(crate) acl: String,
}

/// `addauth`.
#[derive(Debug, Args)]
pub(crate) struct AddAuthArgs {
    /// The scheme, e.g. digest.
    pub(crate) scheme: String,
    /// The credentials, e.g. alice:secret.
    pub(crate) credentials: String,
}

/// `getEphemerals`.
#[derive(Debug, Args)]
pub(crate) struct EphemeralsArgs {
    /// A path prefix, matched as a string.
    #[arg(default_value = "/")]
    pub(crate) prefix: String,
}

/// `config`.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// Also print the Stat.
    #[arg(short, long)]
    pub(crate) stat: bool,
}

/// `watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// The node (it need not exist).
    pub(crate) path: String,
    /// Also every descendant.
    #[arg(short = 'R', long)]
    pub(crate) recursive: bool,
    /// Stop after this many node events.
    #[arg(short = 'n', long, value_name = "N")]
    pub(crate) count: Option<u64>,
}

/// `dump`.
#[derive(Debug, Args)]
pub(crate) struct DumpArgs {
    /// The root of the subtree.
    pub(crate) path: String,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// `load`.
#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// Where the dumped root goes (created with its missing parents).
    pub(crate) path: String,
    /// The `zk dump` file; `-` reads stdin.
    pub(crate) file: PathBuf,
    /// Update nodes that exist (data and ACL) instead of failing.
    #[arg(long)]
    pub(crate) overwrite: bool,
}

/// `zk server`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// What to do.
    #[command(subcommand)]
    pub(crate) action: ServerAction,
}

impl ServerArgs {
    /// Whether this is the hidden `run` action (the background process itself).
    pub(crate) fn is_run(&self) -> bool {
        matches!(self.action, ServerAction::Run { .. })
    }
}

/// `zk server` actions.
#[derive(Debug, Subcommand)]
pub(crate) enum ServerAction {
    /// Start a local ZooKeeper in the background and print its connect string. Its data
    /// is thrown away on stop.
    Start {
        /// How many servers: 1 (standalone), 3 or 5.
        #[arg(long, default_value_t = 1, value_parser = parse_nodes)]
        nodes: usize,
    },
    /// Stop the local ZooKeeper.
    Stop,
    /// Whether the local ZooKeeper runs, and the mode of each server.
    Status,
    /// Run the servers in the foreground until SIGTERM (what `start` runs in the
    /// background).
    #[command(hide = true)]
    Run {
        /// How many servers.
        #[arg(long, default_value_t = 1, value_parser = parse_nodes)]
        nodes: usize,
    },
}

/// `zk demo`: its only options are the global `--server`, `--timeout` and `--json`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {}

/// A command line of the interactive shell.
#[derive(Debug, Parser)]
#[command(
    name = "zk",
    no_binary_name = true,
    disable_version_flag = true,
    override_usage = "<COMMAND> [ARGS]",
    max_term_width = 100
)]
pub(crate) struct ShellLine {
    /// The command.
    #[command(subcommand)]
    pub(crate) command: ShellCommand,
}

/// What can be typed in the shell.
#[derive(Debug, Subcommand)]
pub(crate) enum ShellCommand {
    /// A node command.
    #[command(flatten)]
    Node(NodeCommand),
    /// Leave the shell (also Ctrl-D).
    #[command(alias = "exit")]
    Quit,
}

/// The usage error for an empty or all-blank connect string that was given on purpose,
/// if `cli` has one where it would be used; `source` is where clap found `--server`.
///
/// An empty value is most often an unset shell variable (`--server "$HOSTS"`); quietly
/// using the default server instead could send commands to the wrong ensemble. The
/// default applies only when no server is given at all. `zk server` never uses the
/// option, and `zk demo` only takes it from the command line, so they ignore an empty
/// `ZK_SERVER`.
pub(crate) fn empty_server(cli: &Cli, source: Option<ValueSource>) -> Option<String> {
    let server = cli.connect.server.as_deref()?;
    if !server.trim().is_empty() {
        return None;
    }
    let from_flag = source == Some(ValueSource::CommandLine);
    let used = match &cli.command {
        Some(TopCommand::Server(_)) => false,
        Some(TopCommand::Demo(_)) => from_flag,
        None | Some(TopCommand::Shell | TopCommand::Node(_)) => true,
    };
    if !used {
        return None;
    }
    Some(if from_flag {
        format!("--server is empty; give {HOSTS_SYNTAX}")
    } else {
        format!("ZK_SERVER is empty; set it to {HOSTS_SYNTAX} or unset it")
    })
}

/// How a connect string is written, for messages.
const HOSTS_SYNTAX: &str = "host:port[,host:port...][/chroot]";

/// Parses `500ms`, `10s`, `1.5s`, `2m`, `1h`; a plain number is milliseconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (try 500ms, 10s or 2m)"))?;
    let scale = match unit.trim() {
        "" | "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {s:?} (use ms, s, m or h)"
            ));
        }
    };
    let seconds = value * scale;
    if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
        return Err(format!("duration {s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_nodes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ (1 | 3 | 5)) => Ok(n),
        _ => Err(format!("{s:?}: use 1, 3 or 5 servers")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        ShellLine::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1500"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn shell_lines_parse_without_a_binary_name() {
        let line = ShellLine::try_parse_from(["ls", "-R", "/a"]).expect("parses");
        assert!(matches!(
            line.command,
            ShellCommand::Node(NodeCommand::Ls(LsArgs {
                recursive: true,
                ..
            }))
        ));
        assert!(matches!(
            ShellLine::try_parse_from(["exit"]).expect("parses").command,
            ShellCommand::Quit
        ));
    }

    #[test]
    fn subcommand_arguments_do_not_shadow_global_options() {
        let cli = Cli::try_parse_from(["zk", "addauth", "digest", "bob:pw"]).expect("parses");
        assert!(cli.connect.auth.is_empty());
        let Some(TopCommand::Node(NodeCommand::AddAuth(args))) = cli.command else {
            panic!("not addauth");
        };
        assert_eq!(
            (args.scheme.as_str(), args.credentials.as_str()),
            ("digest", "bob:pw")
        );
    }

    #[test]
    fn an_empty_server_is_refused_where_it_would_be_used() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).expect("parses");
        let flag = Some(ValueSource::CommandLine);
        let env = Some(ValueSource::EnvVariable);
        for blank in ["", "  ", "\t"] {
            let ls = parse(&["zk", "--server", blank, "ls", "/"]);
            assert_eq!(
                empty_server(&ls, flag).as_deref(),
                Some("--server is empty; give host:port[,host:port...][/chroot]")
            );
            assert_eq!(
                empty_server(&ls, env).as_deref(),
                Some("ZK_SERVER is empty; set it to host:port[,host:port...][/chroot] or unset it")
            );
            assert!(empty_server(&parse(&["zk", "--server", blank]), env).is_some());
            let demo = parse(&["zk", "--server", blank, "demo"]);
            assert!(empty_server(&demo, flag).is_some());
            assert!(empty_server(&demo, env).is_none());
            let server = parse(&["zk", "--server", blank, "server", "status"]);
            assert!(empty_server(&server, flag).is_none());
        }
        // Nothing given (parsing reads ZK_SERVER, so clear what it may have found).
        let mut nothing = parse(&["zk", "ls", "/"]);
        nothing.connect.server = None;
        assert!(empty_server(&nothing, None).is_none());
        let given = parse(&["zk", "--server", "127.0.0.1:2181", "ls", "/"]);
        assert!(empty_server(&given, flag).is_none());
    }

    #[test]
    fn create_flags_conflict_as_in_zkcli() {
        assert!(Cli::try_parse_from(["zk", "create", "-c", "-e", "/a"]).is_err());
        assert!(Cli::try_parse_from(["zk", "create", "-e", "-t", "10s", "/a"]).is_err());
        assert!(Cli::try_parse_from(["zk", "create", "-e", "-s", "/a", "x"]).is_ok());
    }
}
