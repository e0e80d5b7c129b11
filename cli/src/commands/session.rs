//! `sync`, `getEphemerals`, `getAllChildrenNumber`, `config`.

use std::io::{self, Write};

use serde::Serialize;

use super::Ctx;
use crate::cli::{ConfigArgs, EphemeralsArgs, PathArgs};
use crate::error::Result;
use crate::output::{Output, Render, StatView};

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

/// `config`: the dynamic configuration text.
#[derive(Debug, Serialize)]
struct Config {
    config: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stat: Option<StatView>,
}

impl Render for Config {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(self.config.as_bytes())?;
        if !self.config.is_empty() && !self.config.ends_with('\n') {
            w.write_all(b"\n")?;
        }
        if let Some(stat) = &self.stat {
            stat.text(w)?;
        }
        Ok(())
    }
}

pub(super) async fn config(ctx: &Ctx<'_>, args: ConfigArgs, out: &mut Output) -> Result<()> {
    let (config, stat) = ctx.client.get_config().await?;
    out.emit(&Config {
        config: String::from_utf8_lossy(&config).into_owned(),
        stat: args.stat.then(|| StatView::from(&stat)),
    })?;
    Ok(())
}
