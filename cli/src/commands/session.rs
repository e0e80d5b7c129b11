//! `sync`, `getEphemerals`, `getAllChildrenNumber`.

use std::io::{self, Write};

use serde::Serialize;

use super::Ctx;
use crate::cli::{EphemeralsArgs, PathArgs};
use crate::error::Result;
use crate::output::{Output, Render};

/// `sync`: nothing to print in text.
#[derive(Debug, Serialize)]
struct Synced {
    path: String,
    synced: bool,
}

impl Render for Synced {
    fn text(&self, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

pub(super) async fn sync(ctx: &Ctx<'_>, args: PathArgs, out: &mut Output) -> Result<()> {
    ctx.client.sync(&args.path).await?;
    out.emit(&Synced {
        path: args.path,
        synced: true,
    })?;
    Ok(())
}

/// `getEphemerals`: one path per line.
#[derive(Debug, Serialize)]
struct Ephemerals {
    prefix: String,
    paths: Vec<String>,
}

impl Render for Ephemerals {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        for p in &self.paths {
            writeln!(w, "{p}")?;
        }
        Ok(())
    }
}

pub(super) async fn ephemerals(
    ctx: &Ctx<'_>,
    args: EphemeralsArgs,
    out: &mut Output,
) -> Result<()> {
    if ctx.one_off {
        ctx.note(
            "this command has a session of its own, which owns no ephemeral nodes \
             (run getEphemerals in the shell, zk, to list the shell session's)",
        );
    }
    let mut paths = ctx.client.get_ephemerals(&args.prefix).await?;
    paths.sort();
    out.emit(&Ephemerals {
        prefix: args.prefix,
        paths,
    })?;
    Ok(())
}

/// `getAllChildrenNumber`: a number.
#[derive(Debug, Serialize)]
struct Count {
    path: String,
    count: i32,
}

impl Render for Count {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{}", self.count)
    }
}

pub(super) async fn count(ctx: &Ctx<'_>, args: PathArgs, out: &mut Output) -> Result<()> {
    let count = ctx.client.get_all_children_number(&args.path).await?;
    out.emit(&Count {
        path: args.path,
        count,
    })?;
    Ok(())
}
