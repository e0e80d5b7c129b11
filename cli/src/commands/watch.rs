//! `watch` and `addWatch` (persistent watches), `removewatches`, and the `-w` one-shot
//! watches of `get`, `ls`, `stat` and `exists`.

use std::io::{self, Write};

use serde::Serialize;
use zk_client::{
    AddWatchMode, EventType, KeeperState, OneshotWatcher, PersistentWatcher, WatcherType,
};

use super::background::WatchKind;
use super::{Ctx, Watches};
use crate::cli::{AddWatchArgs, RemoveWatchesArgs, WatchArgs};
use crate::error::{CliError, Result};
use crate::output::{EventView, Output, Render};

/// A one-shot watch that fired: `watch: NodeDataChanged /a`.
#[derive(Debug, Serialize)]
pub(crate) struct FiredWatch {
    /// The event.
    pub(crate) watch: EventView,
}

impl Render for FiredWatch {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        write!(w, "watch: ")?;
        self.watch.text(w)
    }
}

/// Follows a one-shot watch of `kind` on `path` as `ctx` says: waits and prints it, or
/// prints it when it fires.
pub(super) async fn follow(
    ctx: &Ctx<'_>,
    watcher: OneshotWatcher,
    path: &str,
    kind: WatchKind,
    out: &mut Output,
) -> Result<()> {
    match &ctx.watches {
        Watches::Wait => {
            let event = watcher.await?;
            out.emit(&FiredWatch {
                watch: EventView::from(&event),
            })?;
            Ok(())
        }
        Watches::Background(background) => {
            let printer = background.clone();
            let json = ctx.json;
            background.spawn(path, kind, async move {
                // A watch that ends without firing (the session closed) prints nothing.
                if let Ok(event) = watcher.await {
                    let fired = FiredWatch {
                        watch: EventView::from(&event),
                    };
                    printer.print(render_line(&fired, json));
                }
            });
            Ok(())
        }
    }
}

/// One result as a line of text or JSON, without the trailing newline.
fn render_line<T: Render>(value: &T, json: bool) -> String {
    let mut buf = Vec::new();
    let written = if json {
        serde_json::to_writer(&mut buf, value).map_err(io::Error::other)
    } else {
        value.text(&mut buf)
    };
    if written.is_err() {
        return String::new();
    }
    let mut line = String::from_utf8_lossy(&buf).into_owned();
    while line.ends_with('\n') {
        line.pop();
    }
    line
}

/// `watch PATH [--recursive] [--count N]`: prints every event until interrupted.
pub(super) async fn watch(ctx: &Ctx<'_>, args: WatchArgs, out: &mut Output) -> Result<()> {
    let mode = if args.recursive {
        AddWatchMode::PersistentRecursive
    } else {
        AddWatchMode::Persistent
    };
    let watcher = ctx.client.watch(&args.path, mode).await?;
    stream(watcher, &args.path, args.recursive, args.count, out).await
}

/// Prints the events of a persistent watch until Ctrl-C, the end of the session, or
/// `count` node events.
async fn stream(
    mut watcher: PersistentWatcher,
    path: &str,
    recursive: bool,
    count: Option<u64>,
    out: &mut Output,
) -> Result<()> {
    let kind = if recursive {
        "the node and everything below it"
    } else {
        "the node and its children"
    };
    let _ = writeln!(
        io::stderr().lock(),
        "watching {path} ({kind}); Ctrl-C to stop"
    );
    let mut seen = 0u64;
    if count == Some(0) {
        return Ok(());
    }
    loop {
        let event = tokio::select! {
            event = watcher.next_event() => event,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(event) = event else {
            return Err(CliError::msg(format!(
                "watch {path}: the session ended (expired or closed)"
            )));
        };
        let view = EventView::from(&event);
        out.emit(&view)?;
        if !view.is_session_event() {
            seen += 1;
            if count.is_some_and(|n| seen >= n) {
                return Ok(());
            }
        }
    }
}

/// `addWatch [-m MODE] PATH`: a persistent watch. On the command line it prints events
/// like `watch`; in the shell it prints them between prompts, as zkCli does.
pub(super) async fn add_watch(ctx: &Ctx<'_>, args: AddWatchArgs, out: &mut Output) -> Result<()> {
    let recursive = args.mode == crate::cli::WatchMode::PersistentRecursive;
    let mode = if recursive {
        AddWatchMode::PersistentRecursive
    } else {
        AddWatchMode::Persistent
    };
    let mut watcher = ctx.client.watch(&args.path, mode).await?;
    let Watches::Background(background) = &ctx.watches else {
        return stream(watcher, &args.path, recursive, None, out).await;
    };
    let printer = background.clone();
    let json = ctx.json;
    background.spawn(&args.path, WatchKind::Persistent, async move {
        while let Some(event) = watcher.next_event().await {
            // The end of the session (closed, expired) ends the watch; the shell says so
            // itself.
            if event.event_type == EventType::None
                && matches!(event.state, KeeperState::Closed | KeeperState::Expired)
            {
                break;
            }
            let fired = FiredWatch {
                watch: EventView::from(&event),
            };
            printer.print(render_line(&fired, json));
            if event.event_type == EventType::PersistentWatchRemoved {
                break;
            }
        }
    });
    Ok(())
}

/// `removewatches`: nothing to print in text.
#[derive(Debug, Serialize)]
struct WatchesRemoved {
    path: String,
    #[serde(rename = "watcherType")]
    watcher_type: String,
    /// Whether they were removed in this client only (`-l` without a connection).
    local: bool,
    /// How many were removed locally (0 when the server removed them).
    #[serde(rename = "removedLocally")]
    removed_locally: usize,
}

impl Render for WatchesRemoved {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.local {
            writeln!(
                w,
                "removed {} watches on {} in this client only (no connection)",
                self.removed_locally, self.path
            )?;
        }
        Ok(())
    }
}

/// `removewatches PATH [-c|-d|-a] [-l]`: removes this session's watches on a node, on
/// the server and here; their watchers end with a `*WatchRemoved` event.
///
/// With `-l`, when the session has no connection, the shell's own watches on the node
/// are dropped in this client instead of failing; the server forgets them when they fire
/// or when the session ends. With a connection `-l` changes nothing.
pub(super) async fn remove_watches(
    ctx: &Ctx<'_>,
    args: RemoveWatchesArgs,
    out: &mut Output,
) -> Result<()> {
    let watcher_type = if args.children {
        WatcherType::Children
    } else if args.data {
        WatcherType::Data
    } else {
        WatcherType::Any
    };
    let local = |background: &super::BackgroundWatches| WatchesRemoved {
        path: args.path.clone(),
        watcher_type: format!("{watcher_type:?}"),
        local: true,
        removed_locally: background.remove_locally(&args.path, watcher_type),
    };
    if let (true, Watches::Background(background)) = (args.local, &ctx.watches) {
        if !ctx.client.state().is_connected() {
            out.emit(&local(background))?;
            return Ok(());
        }
    }
    match ctx.client.remove_watches(&args.path, watcher_type).await {
        Ok(()) => {}
        Err(e) if args.local && (e.is_connection_loss() || e.is_retryable()) => {
            if let Watches::Background(background) = &ctx.watches {
                out.emit(&local(background))?;
                return Ok(());
            }
            return Err(e.into());
        }
        Err(e @ zk_client::Error::NoWatcher(_)) if ctx.one_off => {
            let message = format!(
                "{}: no watches to remove: a one-off command's session holds none (run \
                 removewatches in the shell, zk, where get -w, ls -w and addWatch leave them)",
                args.path
            );
            return Err(CliError::from(e).reworded(message));
        }
        Err(e) => return Err(e.into()),
    }
    out.emit(&WatchesRemoved {
        path: args.path,
        watcher_type: format!("{watcher_type:?}"),
        local: false,
        removed_locally: 0,
    })?;
    Ok(())
}
