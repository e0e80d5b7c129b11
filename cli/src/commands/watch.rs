//! `watch` (a persistent watch, streamed) and the `-w` one-shot watches of `get`, `ls`,
//! `stat` and `exists`.

use std::io::{self, Write};

use serde::Serialize;
use zk_client::{AddWatchMode, OneshotWatcher};

use super::{Ctx, Watches};
use crate::cli::WatchArgs;
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

/// Follows a one-shot watch as `ctx` says: waits and prints it, or prints it when it
/// fires.
pub(super) async fn follow(ctx: &Ctx<'_>, watcher: OneshotWatcher, out: &mut Output) -> Result<()> {
    match &ctx.watches {
        Watches::Wait => {
            let event = watcher.await?;
            out.emit(&FiredWatch {
                watch: EventView::from(&event),
            })?;
            Ok(())
        }
        Watches::Background(print) => {
            let print = print.clone();
            let json = ctx.json;
            tokio::spawn(async move {
                // A watch that ends without firing (the session closed) prints nothing.
                if let Ok(event) = watcher.await {
                    let fired = FiredWatch {
                        watch: EventView::from(&event),
                    };
                    print(render_line(&fired, json));
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
    let mut watcher = ctx.client.watch(&args.path, mode).await?;
    let kind = if args.recursive {
        "the node and everything below it"
    } else {
        "the node and its children"
    };
    let _ = writeln!(
        io::stderr().lock(),
        "watching {} ({kind}); Ctrl-C to stop",
        args.path
    );
    let mut seen = 0u64;
    if args.count == Some(0) {
        return Ok(());
    }
    loop {
        let event = tokio::select! {
            event = watcher.next_event() => event,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(event) = event else {
            return Err(CliError::msg(format!(
                "watch {}: the session ended (expired or closed)",
                args.path
            )));
        };
        let view = EventView::from(&event);
        out.emit(&view)?;
        if !view.is_session_event() {
            seen += 1;
            if args.count.is_some_and(|n| seen >= n) {
                return Ok(());
            }
        }
    }
}
