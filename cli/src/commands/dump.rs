//! `dump PATH` and `load PATH FILE`: a subtree as JSON and back.
//!
//! The format (`"zk-dump": 1`) nests nodes by name:
//!
//! ```json
//! {
//!   "zk-dump": 1,
//!   "path": "/app",
//!   "node": {
//!     "data": "v1",
//!     "children": {
//!       "config": { "data": "x=1", "acl": ["digest:alice:<hash>:cdrwa"] },
//!       "blob": { "dataBase64": "/wAB" }
//!     }
//!   }
//! }
//! ```
//!
//! Data is `"data"` when it is UTF-8 text, else `"dataBase64"`; empty data and the open
//! ACL (`world:anyone:cdrwa`) are left out. Ephemeral nodes are written with
//! `"ephemeral": true` and skipped by `load`, since they belong to a session. Dumping `/`
//! leaves out `/zookeeper`, the server's own subtree.

use std::collections::BTreeMap;
use std::io::{self, Read as _, Write};

use futures::FutureExt as _;
use serde::{Deserialize, Serialize};
use zk_client::proto::path;
use zk_client::{Acl, Client, CreateOptions, Error};

use super::acl::{format_acl, parse_acl};
use crate::cli::{DumpArgs, LoadArgs};
use crate::error::{CliError, Result};
use crate::output::{DataView, Output, Render};

/// The format version written in `"zk-dump"`.
const FORMAT: u32 = 1;

/// A dump file.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct DumpFile {
    /// The format version.
    #[serde(rename = "zk-dump")]
    pub(crate) format: u32,
    /// The path the subtree was dumped from.
    pub(crate) path: String,
    /// The root of the subtree.
    pub(crate) node: DumpNode,
}

/// A node of a dump.
#[derive(Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub(crate) struct DumpNode {
    /// The data.
    #[serde(flatten)]
    pub(crate) data: DataView,
    /// The ACL entries (`scheme:id:perms`); none means open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) acl: Vec<String>,
    /// Whether it was ephemeral (then `load` skips it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) ephemeral: bool,
    /// The children, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) children: BTreeMap<String, Self>,
}

const OPEN_ACL: &str = "world:anyone:cdrwa";

/// `dump`: the subtree as pretty JSON, to stdout or a file.
///
/// Nodes this session may not read (NoAuth) are left out with everything below them,
/// each named on stderr; the rest is written all the same. That fails the command
/// (exit code 1) unless `--skip-unreadable` says the gaps are expected.
pub(crate) async fn dump(client: &Client, args: DumpArgs, out: &mut Output) -> Result<()> {
    let (node, skipped) = read(client, &args.path).await?;
    let file = DumpFile {
        format: FORMAT,
        path: args.path,
        node,
    };
    let mut json = serde_json::to_vec_pretty(&file)
        .map_err(|e| CliError::msg(format!("encoding the dump: {e}")))?;
    json.push(b'\n');
    match &args.output {
        Some(target) => std::fs::write(target, &json)
            .map_err(|e| CliError::msg(format!("writing {}: {e}", target.display())))?,
        None => out.raw(&json)?,
    }
    if skipped.is_empty() {
        return Ok(());
    }
    let mut stderr = io::stderr().lock();
    for path in &skipped {
        let _ = writeln!(
            stderr,
            "skipped {path}: not authorized to read it (left out with everything below it)"
        );
    }
    if args.skip_unreadable {
        return Ok(());
    }
    Err(CliError::msg(format!(
        "dump {}: {} could not be read and {} left out (listed above; \
         --skip-unreadable accepts that)",
        file.path,
        plural(skipped.len(), "node"),
        if skipped.len() == 1 { "is" } else { "are" }
    )))
}

/// Reads a subtree, level by level with pipelined requests; nodes deleted meanwhile are
/// left out, and so are nodes the session may not read, whose paths come back second.
/// An unreadable root is an error.
pub(crate) async fn read(client: &Client, root: &str) -> Result<(DumpNode, Vec<String>)> {
    let mut skipped = Vec::new();
    // Flat first (path → node and child names), nested at the end.
    let mut nodes: BTreeMap<String, (DumpNode, Vec<String>)> = BTreeMap::new();
    let mut level = vec![root.to_owned()];
    let mut first = true;
    while !level.is_empty() {
        let reads: Vec<_> = level
            .iter()
            .map(|p| {
                (
                    client.get_data(p),
                    client.get_acl(p),
                    client.get_children(p),
                )
            })
            .collect();
        let mut next = Vec::new();
        for (p, (data, acl, children)) in level.iter().zip(reads) {
            let read = async { Ok::<_, Error>((data.await?, acl.await?.0, children.await?.0)) };
            match read.await {
                Ok(((data, stat), acl, mut children)) => {
                    if p == "/" {
                        children.retain(|c| c != "zookeeper");
                    }
                    children.sort();
                    next.extend(children.iter().map(|c| path::join(p, c)));
                    let node = DumpNode {
                        data: DataView::non_empty(&data),
                        acl: acl_strings(&acl),
                        ephemeral: stat.ephemeral_owner != 0,
                        children: BTreeMap::new(),
                    };
                    nodes.insert(p.clone(), (node, children));
                }
                Err(Error::NoNode(_)) if !first => {}
                Err(Error::NoAuth(_)) if !first => skipped.push(p.clone()),
                Err(e) => return Err(e.into()),
            }
        }
        first = false;
        level = next;
    }
    Ok((nest(&mut nodes, root), skipped))
}

fn acl_strings(acl: &[Acl]) -> Vec<String> {
    let entries: Vec<String> = acl.iter().map(format_acl).collect();
    if entries.len() == 1 && entries[0] == OPEN_ACL {
        Vec::new()
    } else {
        entries
    }
}

fn nest(nodes: &mut BTreeMap<String, (DumpNode, Vec<String>)>, p: &str) -> DumpNode {
    let (mut node, names) = nodes.remove(p).unwrap_or_default();
    for name in names {
        let child = path::join(p, &name);
        if nodes.contains_key(&child) {
            let nested = nest(nodes, &child);
            node.children.insert(name, nested);
        }
    }
    node
}

/// One node to create or update, in creation order (parents first).
struct Planned {
    path: String,
    data: Vec<u8>,
    acl: Option<Vec<Acl>>,
}

/// What `load` did.
#[derive(Debug, Serialize)]
struct Loaded {
    path: String,
    created: usize,
    updated: usize,
    #[serde(rename = "skippedEphemeral")]
    skipped_ephemeral: usize,
}

impl Render for Loaded {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        write!(
            w,
            "loaded {} into {}",
            plural(self.created, "new node"),
            self.path
        )?;
        if self.updated > 0 {
            write!(w, ", updated {}", plural(self.updated, "node"))?;
        }
        if self.skipped_ephemeral > 0 {
            write!(
                w,
                ", skipped {}",
                plural(self.skipped_ephemeral, "ephemeral node")
            )?;
        }
        writeln!(w)
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `load`: creates the dumped subtree at `PATH`.
pub(crate) async fn load(client: &Client, args: LoadArgs, out: &mut Output) -> Result<()> {
    let text = read_input(&args.file)?;
    let file: DumpFile = serde_json::from_slice(&text)
        .map_err(|e| CliError::msg(format!("{}: not a zk dump file: {e}", args.file.display())))?;
    if file.format != FORMAT {
        return Err(CliError::msg(format!(
            "{}: dump format {} is not supported (this zk reads format {FORMAT})",
            args.file.display(),
            file.format
        )));
    }
    path::validate(&args.path)
        .map_err(|e| CliError::msg(format!("invalid path {:?}: {e}", args.path)))?;
    let mut plan = Vec::new();
    let mut skipped = 0;
    flatten(&file.node, &args.path, &mut plan, &mut skipped)?;

    // What is there already: one pipelined round.
    let reads: Vec<_> = plan
        .iter()
        .map(|n| (client.get_data(&n.path), client.get_acl(&n.path)))
        .collect();
    let mut current = Vec::with_capacity(plan.len());
    for (data, acl) in reads {
        match (data.await, acl.await) {
            (Ok((data, _)), Ok((acl, _))) => current.push(Some((data.to_vec(), acl_key(&acl)))),
            (Err(Error::NoNode(_)), _) | (_, Err(Error::NoNode(_))) => current.push(None),
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        }
    }
    if !args.overwrite {
        if let Some((n, _)) = plan.iter().zip(&current).find(|(_, c)| c.is_some()) {
            return Err(CliError::msg(format!(
                "{}: node already exists (use --overwrite to update existing nodes)",
                n.path
            )));
        }
    }
    if let Some(parent) = path::parent(&args.path).filter(|p| *p != "/") {
        client
            .create_all(parent, b"", &CreateOptions::persistent())
            .await?;
    }
    // Every node is created open, so that a restrictive ACL cannot stop its children
    // from being created; the ACLs are set afterwards, deepest first. Existing nodes are
    // written only where they differ, so loading the same dump again changes nothing.
    let open = zk_client::acl::open();
    let mut created = 0;
    let mut updated = vec![false; plan.len()];
    let writes: Vec<_> = plan
        .iter()
        .zip(&current)
        .zip(updated.iter_mut())
        .filter_map(|((n, now), updated)| match now {
            None => {
                created += 1;
                Some(
                    client
                        .create(&n.path, &n.data, &CreateOptions::persistent())
                        .map(|r| r.map(drop))
                        .boxed(),
                )
            }
            Some((data, _)) if *data != n.data => {
                *updated = true;
                Some(
                    client
                        .set_data(&n.path, &n.data, None)
                        .map(|r| r.map(drop))
                        .boxed(),
                )
            }
            Some(_) => None,
        })
        .collect();
    for write in writes {
        write.await?;
    }
    let acls: Vec<_> = plan
        .iter()
        .zip(&current)
        .zip(updated.iter_mut())
        .rev()
        .filter_map(|((n, now), updated)| {
            let wanted = n.acl.as_ref().unwrap_or(&open);
            let differs = match now {
                None => n.acl.is_some(),
                Some((_, acl)) => *acl != acl_key(wanted),
            };
            if differs && now.is_some() {
                *updated = true;
            }
            differs.then(|| client.set_acl(&n.path, wanted, None))
        })
        .collect();
    for acl in acls {
        acl.await?;
    }
    out.emit(&Loaded {
        path: args.path,
        created,
        updated: updated.iter().filter(|u| **u).count(),
        skipped_ephemeral: skipped,
    })?;
    Ok(())
}

/// An ACL in a form that compares equal regardless of entry order.
fn acl_key(acl: &[Acl]) -> Vec<String> {
    let mut entries: Vec<String> = acl.iter().map(format_acl).collect();
    entries.sort();
    entries
}

fn read_input(file: &std::path::Path) -> Result<Vec<u8>> {
    let mut text = Vec::new();
    if file.as_os_str() == "-" {
        io::stdin()
            .read_to_end(&mut text)
            .map_err(|e| CliError::msg(format!("reading stdin: {e}")))?;
    } else {
        text = std::fs::read(file)
            .map_err(|e| CliError::msg(format!("reading {}: {e}", file.display())))?;
    }
    Ok(text)
}

/// The nodes of `node`, placed at `at`, parents first; ephemeral nodes (and what is
/// below them) are counted in `skipped`.
fn flatten(node: &DumpNode, at: &str, plan: &mut Vec<Planned>, skipped: &mut usize) -> Result<()> {
    if node.ephemeral {
        *skipped += 1;
        return Ok(());
    }
    let data = node
        .data
        .bytes()
        .map_err(|e| CliError::msg(format!("{at}: {e}")))?;
    let acl = if node.acl.is_empty() {
        None
    } else {
        Some(parse_acl(&node.acl.join(","))?)
    };
    if at != "/" {
        plan.push(Planned {
            path: at.to_owned(),
            data,
            acl,
        });
    }
    for (name, child) in &node.children {
        if name.is_empty() || name.contains('/') {
            return Err(CliError::msg(format!(
                "{at}: invalid child name {name:?} in the dump"
            )));
        }
        let child_path = path::join(at, name);
        path::validate(&child_path)
            .map_err(|e| CliError::msg(format!("invalid path {child_path:?} in the dump: {e}")))?;
        flatten(child, &child_path, plan, skipped)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_compact_and_round_trips() {
        let mut children = BTreeMap::new();
        children.insert(
            "blob".to_owned(),
            DumpNode {
                data: DataView::new(&[0xff, 0, 1]),
                ..DumpNode::default()
            },
        );
        let file = DumpFile {
            format: FORMAT,
            path: "/app".into(),
            node: DumpNode {
                data: DataView::new(b"v1"),
                children,
                ..DumpNode::default()
            },
        };
        let json = serde_json::to_string(&file).expect("encodes");
        assert_eq!(
            json,
            r#"{"zk-dump":1,"path":"/app","node":{"data":"v1","children":{"blob":{"dataBase64":"/wAB"}}}}"#
        );
        let back: DumpFile = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back.node, file.node);
    }

    #[test]
    fn flatten_orders_parents_first_and_skips_ephemerals() {
        let node: DumpNode = serde_json::from_str(
            r#"{"children":{"a":{"data":"1","children":{"b":{}}},"e":{"ephemeral":true}}}"#,
        )
        .expect("decodes");
        let mut plan = Vec::new();
        let mut skipped = 0;
        flatten(&node, "/copy", &mut plan, &mut skipped).expect("valid");
        let paths: Vec<_> = plan.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/copy", "/copy/a", "/copy/a/b"]);
        assert_eq!(skipped, 1);
        assert_eq!(plan[1].data, b"1");
    }

    #[test]
    fn bad_names_are_refused() {
        let node: DumpNode = serde_json::from_str(r#"{"children":{"a/b":{}}}"#).expect("decodes");
        let mut plan = Vec::new();
        assert!(flatten(&node, "/x", &mut plan, &mut 0).is_err());
    }
}
