//! `tree`: a subtree drawn like `tree`, with data sizes.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;
use zk_client::proto::path;
use zk_client::{Error, Stat};

use super::Ctx;
use crate::cli::TreeArgs;
use crate::error::Result;
use crate::output::{Output, Render, format_size};

/// A node of the tree.
#[derive(Debug, Serialize)]
pub(crate) struct TreeNode {
    name: String,
    path: String,
    size: u64,
    #[serde(rename = "numChildren")]
    num_children: i32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ephemeral: bool,
    children: Vec<Self>,
}

impl TreeNode {
    fn count(&self) -> (u64, u64) {
        self.children
            .iter()
            .map(Self::count)
            .fold((1, self.size), |(n, s), (cn, cs)| (n + cn, s + cs))
    }

    fn label(&self) -> String {
        let size = format_size(self.size);
        if self.ephemeral {
            format!("{} ({size}, ephemeral)", self.name)
        } else {
            format!("{} ({size})", self.name)
        }
    }

    fn draw(&self, prefix: &str, w: &mut dyn Write) -> io::Result<()> {
        let last = self.children.len().saturating_sub(1);
        for (i, child) in self.children.iter().enumerate() {
            let (branch, indent) = if i == last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            writeln!(w, "{prefix}{branch}{}", child.label())?;
            child.draw(&format!("{prefix}{indent}"), w)?;
        }
        Ok(())
    }
}

/// The drawn tree and its totals.
#[derive(Debug, Serialize)]
struct Tree {
    #[serde(flatten)]
    root: TreeNode,
}

impl Render for Tree {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{}", self.root.label())?;
        self.root.draw("", w)?;
        let (nodes, bytes) = self.root.count();
        let noun = if nodes == 1 { "node" } else { "nodes" };
        writeln!(w, "\n{nodes} {noun}, {} of data", format_size(bytes))
    }
}

pub(super) async fn tree(ctx: &Ctx<'_>, args: TreeArgs, out: &mut Output) -> Result<()> {
    let root = read_tree(ctx.client, &args.path, args.depth).await?;
    out.emit(&Tree { root })?;
    Ok(())
}

/// Reads the subtree level by level, one pipelined getChildren per node (which also
/// gives the node's Stat). Nodes deleted meanwhile are left out.
pub(crate) async fn read_tree(
    client: &zk_client::Client,
    root: &str,
    depth: Option<usize>,
) -> Result<TreeNode> {
    let mut found: HashMap<String, (Stat, Vec<String>)> = HashMap::new();
    let (children, stat) = client.get_children(root).await?;
    found.insert(root.to_owned(), (stat, children));
    let mut level = vec![root.to_owned()];
    let mut current_depth = 0;
    while !level.is_empty() && depth.is_none_or(|d| current_depth < d) {
        // Indexing cannot fail: every path in `level` was inserted into `found`.
        let next: Vec<String> = level
            .iter()
            .flat_map(|parent| found[parent].1.iter().map(move |c| path::join(parent, c)))
            .collect();
        let reads: Vec<_> = next.iter().map(|p| client.get_children(p)).collect();
        let mut kept = Vec::with_capacity(next.len());
        for (p, read) in next.into_iter().zip(reads) {
            match read.await {
                Ok((children, stat)) => {
                    found.insert(p.clone(), (stat, children));
                    kept.push(p);
                }
                Err(Error::NoNode(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        level = kept;
        current_depth += 1;
    }
    Ok(build(&mut found, root, root.to_owned()))
}

fn build(found: &mut HashMap<String, (Stat, Vec<String>)>, p: &str, name: String) -> TreeNode {
    let (stat, mut children) = found.remove(p).unwrap_or_default();
    children.sort();
    let children = children
        .into_iter()
        .map(|c| (path::join(p, &c), c))
        .filter(|(child, _)| found.contains_key(child))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(child, c)| build(found, &child, c))
        .collect();
    TreeNode {
        name,
        path: p.to_owned(),
        size: u64::try_from(stat.data_length).unwrap_or(0),
        num_children: stat.num_children,
        ephemeral: stat.ephemeral_owner != 0,
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, size: u64, children: Vec<TreeNode>) -> TreeNode {
        TreeNode {
            name: name.to_owned(),
            path: String::new(),
            size,
            num_children: 0,
            ephemeral: false,
            children,
        }
    }

    #[test]
    fn drawn_like_tree() {
        let tree = Tree {
            root: node(
                "/app",
                2,
                vec![
                    node("config", 12, vec![node("x", 0, vec![])]),
                    node("jobs", 0, vec![node("job-0000000000", 3, vec![])]),
                ],
            ),
        };
        let mut buf = Vec::new();
        tree.text(&mut buf).expect("written");
        let text = String::from_utf8(buf).expect("utf-8");
        assert_eq!(
            text,
            "/app (2 B)\n\
             ├── config (12 B)\n\
             │   └── x (0 B)\n\
             └── jobs (0 B)\n\
             \x20   └── job-0000000000 (3 B)\n\
             \n\
             5 nodes, 17 B of data\n"
        );
    }
}
