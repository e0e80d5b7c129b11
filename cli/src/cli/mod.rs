//! The command line: global options, the node commands (shared with the shell, in
//! [`node_args`]), and the `server`, `demo`, `shell` and `version` commands.

mod node_args;

use std::path::PathBuf;
use std::time::Duration;

pub(crate) use node_args::*;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory as _, Parser, Subcommand};

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
    /// Run a workload on a fresh local ensemble under a seeded nemesis and check it.
    ///
    /// The ensemble runs as local processes (in network namespaces as root, so partitions
    /// run too) or as Docker containers (--backend docker). The nemesis kills and pauses
    /// the leader, cuts and resets the clients' connections, expires their sessions and,
    /// where it can, partitions the servers. At the end each checker prints its verdict
    /// and figures, with the command line that replays the same schedule; a violation
    /// exits with 1.
    Chaos(ChaosArgs),
    /// The interactive shell (also what `zk` with no command starts).
    Shell,
    /// Print zk's version (also --version).
    Version,
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

/// `zk demo`: a story to play (the boss and workers unless named); its only options are
/// the global `--server`, `--timeout` and `--json`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The story: the boss and workers by default.
    #[command(subcommand)]
    pub(crate) story: Option<DemoStory>,
}

/// `zk chaos`.
#[derive(Debug, Args)]
pub(crate) struct ChaosArgs {
    /// The workload: register (a compare-and-set register through the plain client,
    /// checked for linearizability), lock, election or queue (zk-recipes, checked on the
    /// servers' transaction log).
    #[arg(value_enum)]
    pub(crate) workload: Workload,
    /// Where the servers run.
    #[arg(long, value_enum, default_value_t = ChaosBackend::Process)]
    pub(crate) backend: ChaosBackend,
    /// How many servers: 1, 3 or 5.
    #[arg(long, default_value_t = 3, value_parser = parse_nodes)]
    pub(crate) nodes: usize,
    /// How many clients (for queue: producers, and as many consumers).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) clients: u16,
    /// How long the nemesis runs, in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) secs: u64,
    /// The nemesis's seed (printed, to replay a run); a new one when not given.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
}

/// The workloads of `zk chaos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Workload {
    /// A compare-and-set register on one znode, through the plain client.
    #[value(alias = "cas-register")]
    Register,
    /// zk-recipes' Mutex, holders fencing their writes.
    Lock,
    /// zk-recipes' LeaderLatch, leaders fencing their writes.
    Election,
    /// zk-recipes' SimpleDistributedQueue, consumers acknowledging with their effect.
    Queue,
}

impl Workload {
    /// The name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Lock => "lock",
            Self::Election => "election",
            Self::Queue => "queue",
        }
    }
}

/// Where `zk chaos` runs the servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ChaosBackend {
    /// Local `java` processes (ZooKeeper from Debian's package, a release or a classpath).
    Process,
    /// Docker containers of the kit's image (ZK_TESTKIT_IMAGE to choose another).
    #[value(alias = "container")]
    Docker,
}

impl ChaosBackend {
    /// The name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::Docker => "docker",
        }
    }
}

/// The stories of `zk demo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Subcommand)]
pub(crate) enum DemoStory {
    /// A boss and three workers share jobs; the boss, a worker and a server die, and
    /// every job is still done exactly once (the default).
    Boss,
    /// The client tour: a session, its nodes and watches, and a failover to another
    /// server.
    Session,
}

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
    /// Print this command's results (and errors) as JSON.
    #[arg(long, global = true, help_heading = "Output")]
    pub(crate) json: bool,
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
    /// Open a new session, to other servers or (without HOSTS) the same ones; the current
    /// session is closed once the new one is open.
    Connect {
        /// The servers: `host:port[,host:port...][/chroot]`.
        #[arg(help = "The servers: host:port[,host:port...][/chroot]")]
        hosts: Option<String>,
    },
    /// Close the session and stay in the shell (commands then fail until `connect`).
    Close,
    /// Whether watch events print between prompts: on or off (without a value: show it).
    #[command(name = "printwatches", alias = "printWatches")]
    PrintWatches {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        setting: Option<String>,
    },
    /// The last commands of this shell, numbered for `redo`.
    History,
    /// Run command N of `history` again.
    Redo {
        /// The command's number.
        number: usize,
    },
    /// Print zk's version.
    Version,
    /// Leave the shell (also Ctrl-D).
    #[command(alias = "exit")]
    Quit,
}

/// The command line as `zk` parses it: [`Cli`], except that `zk server` and its actions
/// neither list nor take the connection options, which they never use (`zk server start
/// --help` shows only what applies to the local server).
///
/// Clap hands a global option down to a subcommand only where the subcommand has no
/// option of that name; `server` gets hidden, non-global copies, so its own actions get
/// none.
pub(crate) fn command() -> clap::Command {
    let cli = Cli::command();
    let connection = ConnectArgs::augment_args(clap::Command::new("connection"));
    let hidden: Vec<clap::Arg> = cli
        .get_arguments()
        .filter(|arg| {
            connection
                .get_arguments()
                .any(|c| c.get_id() == arg.get_id())
        })
        .map(|arg| arg.clone().global(false).hide(true))
        .collect();
    cli.mut_subcommand("server", |server| server.args(hidden))
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
        Some(TopCommand::Server(_) | TopCommand::Chaos(_)) => false,
        Some(TopCommand::Demo(_)) => from_flag,
        None | Some(TopCommand::Shell | TopCommand::Node(_)) => true,
        Some(TopCommand::Version) => false,
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

/// zkCli spells `reconfig`'s long options with one dash (`-add`); clap wants two. Returns
/// the words with those options doubled, after a `reconfig` word.
pub(crate) fn zkcli_spelling<I, S>(words: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString>,
{
    let mut after_reconfig = false;
    words
        .into_iter()
        .map(|word| {
            let word: std::ffi::OsString = word.into();
            if word == "reconfig" {
                after_reconfig = true;
            } else if after_reconfig
                && ["-add", "-remove", "-members", "-file"]
                    .iter()
                    .any(|o| word == *o)
            {
                let mut doubled = std::ffi::OsString::from("-");
                doubled.push(&word);
                return doubled;
            }
            word
        })
        .collect()
}

fn parse_nodes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ (1 | 3 | 5)) => Ok(n),
        _ => Err(format!("{s:?}: use 1, 3 or 5 servers")),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _};

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
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
    fn server_actions_do_not_offer_the_connection_options() {
        let mut cli = command();
        let help = cli
            .find_subcommand_mut("server")
            .and_then(|s| s.find_subcommand_mut("start"))
            .map(|start| start.render_long_help().to_string())
            .expect("zk server start");
        assert!(
            !help.contains("--server") && !help.contains("--tls-ca"),
            "{help}"
        );
        assert!(help.contains("--nodes"), "{help}");
        assert!(
            command()
                .try_get_matches_from(["zk", "server", "start", "--timeout", "5s"])
                .is_err()
        );
        // The options still work before and after the node commands.
        let matches = command()
            .try_get_matches_from(["zk", "ls", "/", "--server", "h:1"])
            .expect("parses");
        let cli = Cli::from_arg_matches(&matches).expect("a Cli");
        assert_eq!(cli.connect.server.as_deref(), Some("h:1"));
    }

    #[test]
    fn zkcli_options_of_reconfig_are_spelled_either_way() {
        let words = zkcli_spelling(["zk", "reconfig", "-add", "server.4=h:1:2;3", "-v", "1a"]);
        let cli = Cli::try_parse_from(words).expect("parses");
        let Some(TopCommand::Node(NodeCommand::Reconfig(args))) = cli.command else {
            panic!("not reconfig");
        };
        assert_eq!(args.add.as_deref(), Some("server.4=h:1:2;3"));
        assert_eq!(args.from_version, Some(0x1a));
        // Elsewhere one-dash words are left alone.
        assert_eq!(zkcli_spelling(["zk", "create", "-add"])[2], "-add");
        assert!(Cli::try_parse_from(["zk", "reconfig"]).is_err());
        assert!(Cli::try_parse_from(["zk", "reconfig", "--add", "x", "--members", "y"]).is_err());
    }

    #[test]
    fn quota_limits_are_checked_as_in_zkcli() {
        assert!(Cli::try_parse_from(["zk", "setquota", "/a"]).is_err());
        assert!(Cli::try_parse_from(["zk", "setquota", "-n", "0", "/a"]).is_err());
        assert!(Cli::try_parse_from(["zk", "setquota", "-b", "-1", "/a"]).is_err());
        assert!(Cli::try_parse_from(["zk", "setquota", "-n", "2", "-B", "0", "/a"]).is_ok());
    }

    #[test]
    fn create_flags_conflict_as_in_zkcli() {
        assert!(Cli::try_parse_from(["zk", "create", "-c", "-e", "/a"]).is_err());
        assert!(Cli::try_parse_from(["zk", "create", "-e", "-t", "10s", "/a"]).is_err());
        assert!(Cli::try_parse_from(["zk", "create", "-e", "-s", "/a", "x"]).is_ok());
    }
}
