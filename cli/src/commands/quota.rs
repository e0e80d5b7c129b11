//! `setquota`, `listquota`, `delquota`: ZooKeeper's quotas, kept as nodes the server
//! reads.
//!
//! A quota on `/app` lives at `/zookeeper/quota/app`: `zookeeper_limits` holds the limits
//! and `zookeeper_stats` the usage, which the server keeps up to date. Both are
//! `StatsTrack` texts: `count=N,bytes=M`, and when more fields follow (3.7+ hard limits),
//! `=` and then `;key=value` for each, sorted by key:
//! `count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2`. `-1` means no limit.
//!
//! Quota paths are server paths: under a chroot, zk opens a second session without it
//! and maps the node's path (`/app` in chroot `/t` is `/zookeeper/quota/t/app`).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use zk_client::proto::hosts::ConnectString;
use zk_client::proto::path::{self, Chroot};
use zk_client::{Client, CreateOptions, Error};

use super::Ctx;
use crate::cli::{DelQuotaArgs, ListQuotaArgs, SetQuotaArgs};
use crate::connect::{self, Source, Target};
use crate::error::{CliError, Result};
use crate::output::{Output, Render};

/// Where the server keeps quotas.
const QUOTA_ROOT: &str = "/zookeeper/quota";
/// The node with a quota's limits.
const LIMITS: &str = "zookeeper_limits";
/// The node with a quota's usage.
const STATS: &str = "zookeeper_stats";

const COUNT: &str = "count";
const BYTES: &str = "bytes";
const COUNT_HARD: &str = "countHardLimit";
const BYTES_HARD: &str = "byteHardLimit";

/// ZooKeeper's `StatsTrack`: named numbers, `-1` (or absent) for none.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
struct StatsTrack(BTreeMap<String, i64>);

impl StatsTrack {
    /// Parses the text as the server does: pairs split at `,` and `;`, each `key=value`
    /// (what follows a second `=` is ignored; an empty value is -1).
    fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut fields = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut parts = pair.split('=');
            let key = parts.next().unwrap_or_default();
            let value = parts.next().filter(|v| !v.is_empty()).unwrap_or("-1");
            let value = value
                .parse()
                .map_err(|_| format!("{text:?} is not a quota ({pair:?})"))?;
            fields.insert(key.to_owned(), value);
        }
        Ok(Self(fields))
    }

    fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(-1)
    }

    fn set(&mut self, key: &str, value: i64) {
        self.0.insert(key.to_owned(), value);
    }

    /// The text as ZooKeeper writes it: `count` and `bytes` first, so that servers
    /// before 3.7 read them, then `=` and the other fields as `;key=value`.
    fn to_text(&self) -> String {
        let mut text = format!("{COUNT}={},{BYTES}={}", self.get(COUNT), self.get(BYTES));
        let rest: Vec<_> = self
            .0
            .iter()
            .filter(|(k, _)| *k != COUNT && *k != BYTES)
            .collect();
        if !rest.is_empty() {
            text.push('=');
            for (key, value) in rest {
                text.push_str(&format!(";{key}={value}"));
            }
        }
        text
    }
}

/// The limits of a quota in JSON; `null` for none.
#[derive(Debug, Serialize)]
struct Limits {
    count: Option<i64>,
    bytes: Option<i64>,
    #[serde(rename = "countHardLimit")]
    count_hard: Option<i64>,
    #[serde(rename = "byteHardLimit")]
    bytes_hard: Option<i64>,
}

impl From<&StatsTrack> for Limits {
    fn from(t: &StatsTrack) -> Self {
        let some = |key| Some(t.get(key)).filter(|v| *v > -1);
        Self {
            count: some(COUNT),
            bytes: some(BYTES),
            count_hard: some(COUNT_HARD),
            bytes_hard: some(BYTES_HARD),
        }
    }
}

impl Limits {
    /// `count=10 countHardLimit=20`, or `none`.
    fn text(&self) -> String {
        let fields = [
            (COUNT, self.count),
            (BYTES, self.bytes),
            (COUNT_HARD, self.count_hard),
            (BYTES_HARD, self.bytes_hard),
        ];
        let set: Vec<String> = fields
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect();
        if set.is_empty() {
            "none".to_owned()
        } else {
            set.join(" ")
        }
    }
}

/// What a subtree uses, as the server counts it (the node itself included).
#[derive(Debug, Serialize)]
struct Usage {
    count: i64,
    bytes: i64,
}

/// A session without the chroot, the chroot, and whether the session is a second one
/// (to be closed after use).
struct Root {
    client: Client,
    chroot: Chroot,
    opened: bool,
}

impl Root {
    async fn open(ctx: &Ctx<'_>) -> Result<Self> {
        let hosts = ctx.target.hosts.trim();
        let parsed: ConnectString = hosts
            .parse()
            .map_err(|e| CliError::msg(format!("invalid server list {hosts:?}: {e}")))?;
        if parsed.chroot.is_root() {
            return Ok(Self {
                client: ctx.client.clone(),
                chroot: parsed.chroot,
                opened: false,
            });
        }
        let base = hosts
            .strip_suffix(parsed.chroot.as_str())
            .ok_or_else(|| CliError::msg(format!("cannot take the chroot off {hosts:?}")))?;
        let target = Target {
            hosts: base.to_owned(),
            source: Source::Given,
        };
        let client = connect::connect_to(&target, ctx.connect).await?;
        Ok(Self {
            client,
            chroot: parsed.chroot,
            opened: true,
        })
    }

    async fn close(self) {
        if self.opened {
            self.client.close().await;
        }
    }

    /// The server path of a path of the command (inside the chroot).
    fn server_path(&self, path: &str) -> Result<String> {
        path::validate(path).map_err(|e| CliError::msg(format!("invalid path {path:?}: {e}")))?;
        Ok(self.chroot.prefix(path).into_owned())
    }

    /// The path of the command of a server path.
    fn user_path<'a>(&self, server_path: &'a str) -> &'a str {
        self.chroot.strip_or_keep(server_path)
    }
}

/// Runs `f` with a [`Root`] session, closing it afterwards.
macro_rules! with_root {
    ($ctx:expr, |$root:ident| $body:expr) => {{
        let $root = Root::open($ctx).await?;
        let result = async { $body }.await;
        $root.close().await;
        result
    }};
}

fn quota_dir(server_path: &str) -> String {
    format!("{QUOTA_ROOT}{server_path}")
}

async fn read_track(client: &Client, node: &str) -> Result<StatsTrack> {
    let (data, _) = client.get_data(node).await?;
    StatsTrack::parse(&String::from_utf8_lossy(&data))
        .map_err(|e| CliError::msg(format!("{node}: {e}")))
}

/// `setquota`: the limits set.
#[derive(Debug, Serialize)]
struct QuotaSet {
    path: String,
    limits: Limits,
}

impl Render for QuotaSet {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

pub(super) async fn set_quota(ctx: &Ctx<'_>, args: SetQuotaArgs, out: &mut Output) -> Result<()> {
    with_root!(ctx, |root| {
        let full = root.server_path(&args.path)?;
        if full == "/" || full.starts_with(QUOTA_ROOT) {
            return Err(CliError::msg(format!(
                "{}: cannot set a quota on / or under {QUOTA_ROOT}",
                args.path
            )));
        }
        if root.client.exists(&full).await?.is_none() {
            let context = zk_client::ErrorContext::new("exists", Some(args.path.as_str().into()));
            return Err(Error::NoNode(context).into());
        }
        check_no_nested_quota(&root, &args.path, &full).await?;
        let dir = quota_dir(&full);
        let limits_node = format!("{dir}/{LIMITS}");
        let stats_node = format!("{dir}/{STATS}");
        let limits = match read_track(&root.client, &limits_node).await {
            Ok(mut existing) => {
                apply(&mut existing, &args);
                root.client
                    .set_data(&limits_node, existing.to_text().as_bytes(), None)
                    .await?;
                existing
            }
            Err(_) if root.client.exists(&limits_node).await?.is_none() => {
                // As zkCli: every field present, -1 where not given.
                let mut limits = StatsTrack::default();
                for key in [COUNT, BYTES, COUNT_HARD, BYTES_HARD] {
                    limits.set(key, -1);
                }
                apply(&mut limits, &args);
                let open = CreateOptions::persistent();
                root.client.create_all(&dir, b"", &open).await?;
                root.client
                    .create(&limits_node, limits.to_text().as_bytes(), &open)
                    .await?;
                let mut stats = StatsTrack::default();
                stats.set(COUNT, 0);
                stats.set(BYTES, 0);
                match root
                    .client
                    .create(&stats_node, stats.to_text().as_bytes(), &open)
                    .await
                {
                    Ok(_) | Err(Error::NodeExists(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                limits
            }
            Err(e) => return Err(e),
        };
        // The server counts the subtree when the quota nodes appear.
        if let Ok(usage) = read_track(&root.client, &stats_node).await {
            warn_if_exceeded(&args.path, &limits, &usage);
        }
        out.emit(&QuotaSet {
            path: args.path.clone(),
            limits: Limits::from(&limits),
        })?;
        Ok(())
    })
}

fn apply(limits: &mut StatsTrack, args: &SetQuotaArgs) {
    let fields = [
        (COUNT, args.count.map(i64::from)),
        (BYTES, args.bytes),
        (COUNT_HARD, args.count_hard.map(i64::from)),
        (BYTES_HARD, args.bytes_hard),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            limits.set(key, value);
        }
    }
}

/// A warning on stderr when the subtree already uses more than a new limit allows.
fn warn_if_exceeded(path: &str, limits: &StatsTrack, usage: &StatsTrack) {
    let checks = [
        (COUNT, COUNT, "nodes"),
        (COUNT_HARD, COUNT, "nodes"),
        (BYTES, BYTES, "bytes"),
        (BYTES_HARD, BYTES, "bytes"),
    ];
    for (limit_key, usage_key, unit) in checks {
        let (limit, used) = (limits.get(limit_key), usage.get(usage_key));
        if limit > -1 && used > limit {
            let _ = writeln!(
                io::stderr().lock(),
                "warning: {path} already has {used} {unit}, more than its {limit_key} of {limit}"
            );
        }
    }
}

/// Refuses a quota inside or above another one, as zkCli does: the server tracks the
/// nearest quota above each node only.
async fn check_no_nested_quota(root: &Root, path: &str, full: &str) -> Result<()> {
    let dir = quota_dir(full);
    let below = match root.client.walk(&dir).await {
        Ok(nodes) => nodes,
        Err(Error::NoNode(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if let Some(limits) = below
        .iter()
        .find(|p| path::name(p) == LIMITS && path::parent(p) != Some(dir.as_str()))
    {
        let child = path::parent(limits)
            .and_then(|p| p.strip_prefix(QUOTA_ROOT))
            .unwrap_or_default();
        return Err(CliError::msg(format!(
            "{path}: {} below it has a quota (delquota it first)",
            root.user_path(child)
        )));
    }
    let mut ancestors = Vec::new();
    let mut at = path::parent(full);
    while let Some(ancestor) = at.filter(|a| *a != "/") {
        ancestors.push(ancestor);
        at = path::parent(ancestor);
    }
    let checks: Vec<_> = ancestors
        .iter()
        .map(|a| root.client.exists(&format!("{}/{LIMITS}", quota_dir(a))))
        .collect();
    for (ancestor, check) in ancestors.iter().zip(checks) {
        if check.await?.is_some() {
            return Err(CliError::msg(format!(
                "{path}: {} above it has a quota (delquota it first)",
                root.user_path(ancestor)
            )));
        }
    }
    Ok(())
}

/// `listquota`: a node's limits and usage.
#[derive(Debug, Serialize)]
struct Quota {
    path: String,
    limits: Limits,
    usage: Option<Usage>,
}

impl Render for Quota {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{}", self.path)?;
        writeln!(w, "  limits: {}", self.limits.text())?;
        match &self.usage {
            Some(u) => writeln!(w, "  used:   count={} bytes={}", u.count, u.bytes),
            None => writeln!(w, "  used:   unknown (no {STATS} node)"),
        }
    }
}

pub(super) async fn list_quota(ctx: &Ctx<'_>, args: ListQuotaArgs, out: &mut Output) -> Result<()> {
    with_root!(ctx, |root| {
        let fulls = match &args.path {
            Some(p) => vec![root.server_path(p)?],
            None => every_quota(&root).await?,
        };
        for full in fulls {
            let dir = quota_dir(&full);
            let user = root.user_path(&full).to_owned();
            let limits = match read_track(&root.client, &format!("{dir}/{LIMITS}")).await {
                Ok(limits) => limits,
                Err(_) if args.path.is_some() => return Err(no_quota(&user)),
                Err(e) => return Err(e),
            };
            let usage = read_track(&root.client, &format!("{dir}/{STATS}"))
                .await
                .ok()
                .map(|u| Usage {
                    count: u.get(COUNT),
                    bytes: u.get(BYTES),
                });
            out.emit(&Quota {
                path: user,
                limits: Limits::from(&limits),
                usage,
            })?;
        }
        Ok(())
    })
}

/// The server paths with a quota, at or below the chroot.
async fn every_quota(root: &Root) -> Result<Vec<String>> {
    let dir = quota_dir(&root.chroot.prefix("/"));
    let dir = dir.trim_end_matches('/');
    let nodes = match root.client.walk(dir).await {
        Ok(nodes) => nodes,
        Err(Error::NoNode(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut quotas: Vec<String> = nodes
        .iter()
        .filter(|p| path::name(p) == LIMITS)
        .filter_map(|p| path::parent(p)?.strip_prefix(QUOTA_ROOT))
        .map(str::to_owned)
        .collect();
    quotas.sort();
    Ok(quotas)
}

fn no_quota(path: &str) -> CliError {
    CliError::msg(format!("{path}: no quota (setquota sets one)"))
}

/// `delquota`: what was deleted.
#[derive(Debug, Serialize)]
struct QuotaDeleted {
    path: String,
    /// The limits removed: all of them, or those named.
    removed: Vec<&'static str>,
}

impl Render for QuotaDeleted {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

pub(super) async fn del_quota(ctx: &Ctx<'_>, args: DelQuotaArgs, out: &mut Output) -> Result<()> {
    with_root!(ctx, |root| {
        let full = root.server_path(&args.path)?;
        let dir = quota_dir(&full);
        let limits_node = format!("{dir}/{LIMITS}");
        let mut limits = read_track(&root.client, &limits_node)
            .await
            .map_err(|_| no_quota(&args.path))?;
        let named = [
            (args.count, COUNT),
            (args.bytes, BYTES),
            (args.count_hard, COUNT_HARD),
            (args.bytes_hard, BYTES_HARD),
        ];
        let removed: Vec<&'static str> = named
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, k)| *k)
            .collect();
        if removed.is_empty() {
            // The whole quota: its nodes, then the folders left empty above them.
            for node in [LIMITS, STATS] {
                match root.client.delete(&format!("{dir}/{node}"), None).await {
                    Ok(()) | Err(Error::NoNode(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let mut at = dir.clone();
            while at != QUOTA_ROOT {
                let (children, _) = root.client.get_children(&at).await?;
                if !children.is_empty() {
                    break;
                }
                root.client.delete(&at, None).await?;
                at = path::parent(&at).unwrap_or(QUOTA_ROOT).to_owned();
            }
            out.emit(&QuotaDeleted {
                path: args.path.clone(),
                removed: vec![COUNT, BYTES, COUNT_HARD, BYTES_HARD],
            })?;
            return Ok(());
        }
        for key in &removed {
            limits.set(key, -1);
        }
        root.client
            .set_data(&limits_node, limits.to_text().as_bytes(), None)
            .await?;
        out.emit(&QuotaDeleted {
            path: args.path.clone(),
            removed,
        })?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_track_reads_and_writes_zookeepers_format() {
        let old = StatsTrack::parse("count=3,bytes=10").expect("parses");
        assert_eq!(
            (old.get(COUNT), old.get(BYTES), old.get(COUNT_HARD)),
            (3, 10, -1)
        );
        assert_eq!(old.to_text(), "count=3,bytes=10");

        let text = "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2";
        let new = StatsTrack::parse(text).expect("parses");
        assert_eq!(new.get(COUNT_HARD), 2);
        assert_eq!(new.get(BYTES), -1);
        assert_eq!(new.to_text(), text);

        let mut set = StatsTrack::default();
        set.set(COUNT, 5);
        set.set(BYTES_HARD, 100);
        assert_eq!(set.to_text(), "count=5,bytes=-1=;byteHardLimit=100");
        assert!(StatsTrack::parse("count=x").is_err());
        assert_eq!(StatsTrack::parse("count=").expect("parses").get(COUNT), -1);
    }

    #[test]
    fn limits_print_only_what_is_set() {
        let track = StatsTrack::parse("count=-1,bytes=5=;byteHardLimit=-1;countHardLimit=2")
            .expect("parses");
        assert_eq!(Limits::from(&track).text(), "bytes=5 countHardLimit=2");
        assert_eq!(Limits::from(&StatsTrack::default()).text(), "none");
    }
}
