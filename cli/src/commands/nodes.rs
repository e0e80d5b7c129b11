//! `ls`, `get`, `set`, `create`, `delete`, `deleteall`, `stat`, `exists`.

use std::io::{self, Write};

use serde::Serialize;
use zk_client::{CreateMode, CreateOptions};

use super::background::WatchKind;
use super::{Ctx, data_arg, parse_acl, watch::follow};
use crate::cli::{CreateArgs, DeleteAllArgs, DeleteArgs, GetArgs, LsArgs, SetArgs, StatArgs};
use crate::error::{CliError, Result};
use crate::output::{DataView, Output, Render, StatView};

/// `ls`: the children of a node.
#[derive(Debug, Serialize)]
struct Listing {
    path: String,
    children: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stat: Option<StatView>,
}

impl Render for Listing {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        for child in &self.children {
            writeln!(w, "{child}")?;
        }
        if let Some(stat) = &self.stat {
            stat.text(w)?;
        }
        Ok(())
    }
}

/// `ls -R`: a node and every descendant, breadth first.
#[derive(Debug, Serialize)]
struct RecursiveListing {
    path: String,
    nodes: Vec<String>,
}

impl Render for RecursiveListing {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        for node in &self.nodes {
            writeln!(w, "{node}")?;
        }
        Ok(())
    }
}

pub(super) async fn ls(ctx: &Ctx<'_>, args: LsArgs, out: &mut Output) -> Result<()> {
    if args.recursive {
        let (_, stat) = ctx.client.get_children(&args.path).await?;
        let mut nodes = vec![args.path.clone()];
        nodes.extend(ctx.client.walk(&args.path).await?);
        out.emit(&RecursiveListing {
            path: args.path,
            nodes,
        })?;
        if args.stat {
            out.emit(&StatView::from(&stat))?;
        }
        return Ok(());
    }
    let (mut children, stat, watcher) = if args.watch {
        let (children, stat, watcher) = ctx.client.get_children_and_watch(&args.path).await?;
        (children, stat, Some(watcher))
    } else {
        let (children, stat) = ctx.client.get_children(&args.path).await?;
        (children, stat, None)
    };
    children.sort();
    out.emit(&Listing {
        path: args.path.clone(),
        children,
        stat: args.stat.then(|| StatView::from(&stat)),
    })?;
    match watcher {
        Some(watcher) => follow(ctx, watcher, &args.path, WatchKind::Children, out).await,
        None => Ok(()),
    }
}

/// `get`: the data of a node.
#[derive(Debug, Serialize)]
struct Data {
    path: String,
    #[serde(flatten)]
    data: DataView,
    #[serde(skip)]
    raw: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stat: Option<StatView>,
}

impl Render for Data {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(&self.raw)?;
        w.write_all(b"\n")?;
        if let Some(stat) = &self.stat {
            stat.text(w)?;
        }
        Ok(())
    }
}

pub(super) async fn get(ctx: &Ctx<'_>, args: GetArgs, out: &mut Output) -> Result<()> {
    if args.raw {
        let (data, _) = ctx.client.get_data(&args.path).await?;
        out.raw(&data)?;
        return Ok(());
    }
    let (data, stat, watcher) = if args.watch {
        let (data, stat, watcher) = ctx.client.get_data_and_watch(&args.path).await?;
        (data, stat, Some(watcher))
    } else {
        let (data, stat) = ctx.client.get_data(&args.path).await?;
        (data, stat, None)
    };
    out.emit(&Data {
        path: args.path.clone(),
        data: DataView::new(&data),
        raw: data.to_vec(),
        stat: args.stat.then(|| StatView::from(&stat)),
    })?;
    match watcher {
        Some(watcher) => follow(ctx, watcher, &args.path, WatchKind::Data, out).await,
        None => Ok(()),
    }
}

/// A node and its new Stat, after `set` or `setAcl`; the text form shows the Stat only
/// when asked (`-s`).
#[derive(Debug, Serialize)]
pub(super) struct Updated {
    pub(super) path: String,
    pub(super) stat: StatView,
    #[serde(skip)]
    pub(super) show_stat: bool,
}

impl Updated {
    /// Prints the node's new Stat (in text only with `-s`).
    pub(super) fn emit(
        out: &mut Output,
        path: String,
        stat: &zk_client::Stat,
        show_stat: bool,
    ) -> Result<()> {
        out.emit(&Self {
            path,
            stat: StatView::from(stat),
            show_stat,
        })?;
        Ok(())
    }
}

impl Render for Updated {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.show_stat {
            self.stat.text(w)?;
        }
        Ok(())
    }
}

pub(super) async fn set(ctx: &Ctx<'_>, args: SetArgs, out: &mut Output) -> Result<()> {
    let data = data_arg(Some(&args.data)).await?;
    let stat = match ctx.client.set_data(&args.path, &data, args.version).await {
        Ok(stat) => stat,
        Err(e) => return Err(version_mismatch(ctx, e, &args.path, args.version, false).await),
    };
    Updated::emit(out, args.path, &stat, args.stat)
}

/// `create`: the path created (with its sequence number).
#[derive(Debug, Serialize)]
struct Created {
    path: String,
    stat: StatView,
}

impl Render for Created {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{}", self.path)
    }
}

pub(super) async fn create(ctx: &Ctx<'_>, args: CreateArgs, out: &mut Output) -> Result<()> {
    let mode = match (
        args.container,
        args.ephemeral,
        args.sequential,
        args.ttl.is_some(),
    ) {
        (true, ..) => CreateMode::Container,
        (false, true, false, false) => CreateMode::Ephemeral,
        (false, true, true, false) => CreateMode::EphemeralSequential,
        (false, false, false, true) => CreateMode::PersistentWithTtl,
        (false, false, true, true) => CreateMode::PersistentSequentialWithTtl,
        (false, false, true, false) => CreateMode::PersistentSequential,
        (false, false, false, false) => CreateMode::Persistent,
        // clap rejects -e with -t.
        (false, true, _, true) => {
            return Err(CliError::msg("an ephemeral node cannot have a TTL"));
        }
    };
    let mut options = CreateOptions::new(mode);
    if let Some(ttl) = args.ttl {
        options = options.ttl(ttl);
    }
    if let Some(acl) = &args.acl {
        options = options.acl(parse_acl(acl)?);
    }
    let data = data_arg(args.data.as_deref()).await?;
    let (path, stat) = ctx.client.create(&args.path, &data, &options).await?;
    out.emit(&Created {
        path,
        stat: StatView::from(&stat),
    })?;
    if args.ephemeral && ctx.one_off {
        ctx.note(
            "the node is ephemeral and this command's session ends now, so the server \
             deletes it at once (create it in the shell, zk, to keep it while the shell runs)",
        );
    }
    Ok(())
}

/// A node that was deleted; no text.
#[derive(Debug, Serialize)]
struct Deleted {
    path: String,
    deleted: bool,
}

impl Render for Deleted {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

pub(super) async fn delete(ctx: &Ctx<'_>, args: DeleteArgs, out: &mut Output) -> Result<()> {
    if let Err(e) = ctx.client.delete(&args.path, args.version).await {
        return Err(version_mismatch(ctx, e, &args.path, args.version, false).await);
    }
    out.emit(&Deleted {
        path: args.path,
        deleted: true,
    })?;
    Ok(())
}

pub(super) async fn delete_all(ctx: &Ctx<'_>, args: DeleteAllArgs, out: &mut Output) -> Result<()> {
    if args.path == "/" {
        return Err(CliError::msg("refusing to delete the root node"));
    }
    // delete_all takes a missing node as done; deleteall names it, as zkCli does.
    ctx.client.get_children(&args.path).await?;
    match args.batch {
        Some(batch) => {
            let batch = usize::try_from(batch).unwrap_or(usize::MAX);
            delete_in_batches(ctx.client, &args.path, batch).await?;
        }
        None => ctx.client.delete_all(&args.path).await?,
    }
    out.emit(&Deleted {
        path: args.path,
        deleted: true,
    })?;
    Ok(())
}

/// A failed write with `-v`: a version mismatch is told with the version the node is
/// at (its data version, or with `acl` its ACL version), read after the failure.
pub(super) async fn version_mismatch(
    ctx: &Ctx<'_>,
    e: zk_client::Error,
    path: &str,
    given: Option<i32>,
    acl: bool,
) -> CliError {
    let (zk_client::Error::BadVersion(_), Some(given)) = (&e, given) else {
        return e.into();
    };
    let what = if acl { "ACL version" } else { "version" };
    match ctx.client.exists(path).await {
        Ok(Some(stat)) => {
            let actual = if acl { stat.aversion } else { stat.version };
            CliError::from(e).reworded(format!(
                "{path}: version mismatch: the node is at {what} {actual}, not {given}"
            ))
        }
        Ok(None) => no_node(path),
        Err(_) => e.into(),
    }
}

/// `stat`: the node and its Stat (in text, the Stat only).
#[derive(Debug, Serialize)]
struct NodeStat {
    path: String,
    #[serde(flatten)]
    stat: StatView,
}

impl Render for NodeStat {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        self.stat.text(w)
    }
}

/// `deleteall -b N`: deletes the subtree deepest first in multi requests of at most
/// `batch` deletes each, as zkCli's `ZKUtil.deleteRecursive` does. A batch that fails
/// because the tree changed meanwhile (a node gone, a child added) is retried with the
/// tree read again, a few times.
async fn delete_in_batches(client: &zk_client::Client, root: &str, batch: usize) -> Result<()> {
    let mut last = None;
    for _ in 0..5 {
        let mut nodes = match client.walk(root).await {
            Ok(nodes) => nodes,
            Err(zk_client::Error::NoNode(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        nodes.insert(0, root.to_owned());
        // `walk` is breadth first: reversed, every node comes after its descendants.
        nodes.reverse();
        let mut changed = false;
        for chunk in nodes.chunks(batch.max(1)) {
            let multi = chunk
                .iter()
                .fold(client.multi(), |multi, path| multi.delete(path, None));
            match multi.commit().await {
                Ok(_) => {}
                Err(e @ (zk_client::Error::NoNode(_) | zk_client::Error::NotEmpty(_))) => {
                    last = Some(e);
                    changed = true;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !changed {
            return Ok(());
        }
    }
    Err(last.map_or_else(
        || CliError::msg(format!("{root}: could not delete")),
        Into::into,
    ))
}

pub(super) async fn stat(ctx: &Ctx<'_>, args: StatArgs, out: &mut Output) -> Result<()> {
    let emit = |out: &mut Output, stat: &zk_client::Stat| {
        out.emit(&NodeStat {
            path: args.path.clone(),
            stat: StatView::from(stat),
        })
    };
    if args.watch {
        let (stat, watcher) = ctx.client.exists_and_watch(&args.path).await?;
        let Some(stat) = stat else {
            drop(watcher);
            return Err(no_node(&args.path));
        };
        emit(out, &stat)?;
        return follow(ctx, watcher, &args.path, WatchKind::Data, out).await;
    }
    match ctx.client.exists(&args.path).await? {
        Some(stat) => Ok(emit(out, &stat)?),
        None => Err(no_node(&args.path)),
    }
}

fn no_node(path: &str) -> CliError {
    let context = zk_client::ErrorContext::new("exists", Some(path.into()));
    CliError::from(zk_client::Error::NoNode(context))
}

/// `exists`: true or false, and the Stat when it exists.
#[derive(Debug, Serialize)]
struct Existence {
    path: String,
    exists: bool,
    stat: Option<StatView>,
}

impl Render for Existence {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{}", self.exists)
    }
}

pub(super) async fn exists(ctx: &Ctx<'_>, args: StatArgs, out: &mut Output) -> Result<()> {
    let (stat, watcher) = if args.watch {
        let (stat, watcher) = ctx.client.exists_and_watch(&args.path).await?;
        (stat, Some(watcher))
    } else {
        (ctx.client.exists(&args.path).await?, None)
    };
    let exists = stat.is_some();
    out.emit(&Existence {
        path: args.path.clone(),
        exists,
        stat: stat.as_ref().map(StatView::from),
    })?;
    if let Some(watcher) = watcher {
        follow(ctx, watcher, &args.path, WatchKind::Data, out).await?;
    }
    if exists {
        Ok(())
    } else {
        Err(CliError::silent())
    }
}
