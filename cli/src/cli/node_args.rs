//! The node commands and their arguments, the same on the command line and in the shell.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::parse_duration;

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
    DeleteAll(DeleteAllArgs),
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
    /// Change the ensemble's membership (dynamic reconfiguration; needs the super user).
    ///
    /// Incremental: --add and/or --remove. Whole: --members or --file. zkCli's spelling
    /// with one dash (-add, -remove, -members, -file) works too.
    Reconfig(ReconfigArgs),
    /// Set a quota on a subtree: node count and data bytes, soft (-n, -b: the server
    /// logs a warning) or hard (-N, -B: the server refuses the write).
    ///
    /// The count includes the node itself. ZooKeeper 3.8 enforces hard quotas only when
    /// the server runs with -Dzookeeper.enforceQuota=true. Quotas are kept under
    /// /zookeeper/quota, outside any chroot; zk maps the path.
    #[command(name = "setquota", alias = "setQuota")]
    SetQuota(SetQuotaArgs),
    /// Print the quota of a node and how much of it is used (without a path: every quota).
    #[command(name = "listquota", alias = "listQuota")]
    ListQuota(ListQuotaArgs),
    /// Delete a node's quota, or only some of its limits.
    #[command(name = "delquota", alias = "delQuota")]
    DelQuota(DelQuotaArgs),
    /// Print every change of a node (or subtree) until interrupted.
    Watch(WatchArgs),
    /// Leave a persistent watch (zkCli's addWatch): in the shell its events print between
    /// prompts; on the command line it prints them until interrupted, like `watch`.
    #[command(name = "addWatch", alias = "addwatch")]
    AddWatch(AddWatchArgs),
    /// Remove this session's watches on a node (the server's and this client's).
    #[command(name = "removewatches", alias = "removeWatches")]
    RemoveWatches(RemoveWatchesArgs),
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
    /// Write the data exactly as stored: no newline after it, never JSON (for binary data:
    /// `zk get -r /blob > blob.bin`).
    #[arg(short, long, conflicts_with_all = ["stat", "watch"])]
    pub(crate) raw: bool,
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
    /// The ACL: scheme:id:perms[,...], e.g. world:anyone:r (default world:anyone:cdrwa);
    /// digest-plain:user:password:perms hashes the password into a digest entry.
    pub(crate) acl: Option<String>,
}

/// `deleteall`.
#[derive(Debug, Args)]
pub(crate) struct DeleteAllArgs {
    /// Delete in multi requests of at most this many nodes each (zkCli's batch size);
    /// without it, one pipelined delete per node.
    #[arg(short, long = "batch", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) batch: Option<u32>,
    /// The node.
    pub(crate) path: String,
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
    /// The ACL: `scheme:id:perms[,...]`, e.g. `digest:alice:<hash>:cdrwa,world:anyone:r`;
    /// `digest-plain:user:password:perms` hashes the password into a digest entry.
    #[arg(
        help = "The ACL: scheme:id:perms[,...], e.g. digest:alice:<hash>:cdrwa,world:anyone:r; \
                digest-plain:user:password:perms hashes the password into a digest entry"
    )]
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
    /// Print the version and the servers' client addresses as a connect string instead.
    #[arg(short, long)]
    pub(crate) client: bool,
    /// Watch the configuration: report its next change (a reconfig).
    #[arg(short, long)]
    pub(crate) watch: bool,
}

/// `reconfig`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("change").required(true).multiple(true).args(["add", "remove", "members", "file"]))]
pub(crate) struct ReconfigArgs {
    /// Servers to add: `server.N=host:quorumport:electionport[:role];[clienthost:]clientport`
    /// entries, comma-separated.
    #[arg(
        long,
        value_name = "SERVERS",
        conflicts_with_all = ["members", "file"],
        help = "Servers to add: server.N=host:quorumport:electionport[:role];[clienthost:]clientport \
                entries, comma-separated"
    )]
    pub(crate) add: Option<String>,
    /// Server ids to remove, comma-separated.
    #[arg(long, value_name = "IDS", conflicts_with_all = ["members", "file"])]
    pub(crate) remove: Option<String>,
    /// The whole new membership: server.N=... entries, comma-separated.
    #[arg(long, value_name = "SERVERS", conflicts_with = "file")]
    pub(crate) members: Option<String>,
    /// The whole new membership from a file of server.N=... lines (a dynamic config file).
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Only if the current configuration has this version (hex, as `config` prints it).
    #[arg(short = 'v', long = "from-version", value_name = "VERSION", value_parser = parse_config_version)]
    pub(crate) from_version: Option<i64>,
    /// Also print the Stat of the new configuration.
    #[arg(short, long)]
    pub(crate) stat: bool,
}

/// `setquota`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("limit").required(true).multiple(true).args(["count", "bytes", "count_hard", "bytes_hard"]))]
pub(crate) struct SetQuotaArgs {
    /// Soft limit on the number of nodes (the node itself included).
    #[arg(short = 'n', long = "count", value_name = "NUM", value_parser = clap::value_parser!(i32).range(1..))]
    pub(crate) count: Option<i32>,
    /// Soft limit on the bytes of data.
    #[arg(short = 'b', long = "bytes", value_name = "BYTES", value_parser = clap::value_parser!(i64).range(0..))]
    pub(crate) bytes: Option<i64>,
    /// Hard limit on the number of nodes (the node itself included).
    #[arg(short = 'N', long = "count-hard", value_name = "NUM", value_parser = clap::value_parser!(i32).range(1..))]
    pub(crate) count_hard: Option<i32>,
    /// Hard limit on the bytes of data.
    #[arg(short = 'B', long = "bytes-hard", value_name = "BYTES", value_parser = clap::value_parser!(i64).range(0..))]
    pub(crate) bytes_hard: Option<i64>,
    /// The root of the subtree.
    pub(crate) path: String,
}

/// `listquota`.
#[derive(Debug, Args)]
pub(crate) struct ListQuotaArgs {
    /// The node; none lists every quota (below the chroot).
    pub(crate) path: Option<String>,
}

/// `delquota`.
#[derive(Debug, Args)]
pub(crate) struct DelQuotaArgs {
    /// Only the soft node-count limit.
    #[arg(short = 'n', long = "count")]
    pub(crate) count: bool,
    /// Only the soft bytes limit.
    #[arg(short = 'b', long = "bytes")]
    pub(crate) bytes: bool,
    /// Only the hard node-count limit.
    #[arg(short = 'N', long = "count-hard")]
    pub(crate) count_hard: bool,
    /// Only the hard bytes limit.
    #[arg(short = 'B', long = "bytes-hard")]
    pub(crate) bytes_hard: bool,
    /// The node.
    pub(crate) path: String,
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

/// `addWatch`.
#[derive(Debug, Args)]
pub(crate) struct AddWatchArgs {
    /// persistent (the node and its children) or persistentRecursive (the node and
    /// everything below it).
    #[arg(short, long, value_enum, default_value = "persistent")]
    pub(crate) mode: WatchMode,
    /// The node (it need not exist).
    pub(crate) path: String,
}

/// The modes of `addWatch`, spelled as in zkCli.
#[derive(Clone, Copy, Debug, Eq, PartialEq, clap::ValueEnum)]
pub(crate) enum WatchMode {
    /// The node and its children.
    #[value(name = "persistent")]
    Persistent,
    /// The node and everything below it.
    #[value(name = "persistentRecursive", alias = "persistent-recursive")]
    PersistentRecursive,
}

/// `removewatches`.
#[derive(Debug, Args)]
pub(crate) struct RemoveWatchesArgs {
    /// The node.
    pub(crate) path: String,
    /// Child watches only.
    #[arg(short, conflicts_with_all = ["data", "any"])]
    pub(crate) children: bool,
    /// Data and exists watches only.
    #[arg(short, conflicts_with = "any")]
    pub(crate) data: bool,
    /// Every watch (the default).
    #[arg(short)]
    pub(crate) any: bool,
    /// In the shell, without a connection: drop the watches in this client instead of
    /// failing (the server forgets them when they fire or the session ends).
    #[arg(short)]
    pub(crate) local: bool,
}

/// `dump`.
#[derive(Debug, Args)]
pub(crate) struct DumpArgs {
    /// The root of the subtree.
    pub(crate) path: String,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Nodes this session may not read are left out (and named on stderr) either way;
    /// with this flag that still exits with 0.
    #[arg(long)]
    pub(crate) skip_unreadable: bool,
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

/// A configuration version as `config` prints it, hex (`version=100000000`), with or
/// without `0x`.
fn parse_config_version(s: &str) -> Result<i64, String> {
    let digits = s.trim().trim_start_matches("0x");
    i64::from_str_radix(digits, 16)
        .map_err(|_| format!("{s:?} is not a configuration version (hex, e.g. 100000000)"))
}
