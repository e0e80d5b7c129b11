//! The shell's watches: printed when they fire, and kept in a list so that
//! `removewatches -l` can drop them without the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;
use zk_client::WatcherType;

/// Prints a line from a background task (a watch firing in the shell).
pub(crate) type Printer = Arc<dyn Fn(String) + Send + Sync>;

/// Which watches a background task holds.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum WatchKind {
    /// A one-shot data or exists watch (`get -w`, `stat -w`, `exists -w`).
    Data,
    /// A one-shot child watch (`ls -w`).
    Children,
    /// A persistent watch (`addWatch`).
    Persistent,
}

impl WatchKind {
    /// Whether `removewatches` of `watcher_type` applies to this watch.
    fn removed_by(self, watcher_type: WatcherType) -> bool {
        match watcher_type {
            WatcherType::Data => self == Self::Data,
            WatcherType::Children => self == Self::Children,
            _ => true,
        }
    }
}

/// One watch held by a background task.
struct Held {
    path: String,
    kind: WatchKind,
    task: AbortHandle,
}

/// The shell's background watches: where their events go, whether they are printed
/// (`printwatches`), and the tasks that hold them.
#[derive(Clone)]
pub(crate) struct BackgroundWatches {
    print: Printer,
    enabled: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<Held>>>,
}

impl BackgroundWatches {
    /// Watches whose events go to `print`, printed until [`set_printing`](Self::set_printing)
    /// says otherwise.
    pub(crate) fn new(print: Printer) -> Self {
        Self {
            print,
            enabled: Arc::new(AtomicBool::new(true)),
            held: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Prints a line, unless printing is off.
    pub(crate) fn print(&self, line: String) {
        if self.printing() {
            (self.print)(line);
        }
    }

    /// Whether events are printed (`printwatches on`).
    pub(crate) fn printing(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns printing of events on or off; the watches stay either way.
    pub(crate) fn set_printing(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Runs `task`, which holds a watch of `kind` on `path`, in the background.
    pub(crate) fn spawn<F>(&self, path: &str, kind: WatchKind, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let task = tokio::spawn(task).abort_handle();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|h| !h.task.is_finished());
        held.push(Held {
            path: path.to_owned(),
            kind,
            task,
        });
    }

    /// Drops this client's watches of `watcher_type` on `path` without asking the server,
    /// and returns how many there were. The server keeps its side of them until they fire;
    /// the client then has no one to tell and drops the event.
    pub(crate) fn remove_locally(&self, path: &str, watcher_type: WatcherType) -> usize {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|h| !h.task.is_finished());
        let mut removed = 0;
        held.retain(|h| {
            let matches = h.path == path && h.kind.removed_by(watcher_type);
            if matches {
                h.task.abort();
                removed += 1;
            }
            !matches
        });
        removed
    }

    /// Forgets every watch (the session they belong to is gone).
    pub(crate) fn clear(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        for h in held.drain(..) {
            h.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_removal_drops_the_matching_watches_only() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let watches = BackgroundWatches::new(Arc::new(move |line| {
            sink.lock().expect("not poisoned").push(line);
        }));
        let forever = || std::future::pending::<()>();
        watches.spawn("/a", WatchKind::Data, forever());
        watches.spawn("/a", WatchKind::Children, forever());
        watches.spawn("/b", WatchKind::Data, forever());
        assert_eq!(watches.remove_locally("/a", WatcherType::Children), 1);
        assert_eq!(watches.remove_locally("/a", WatcherType::Children), 0);
        assert_eq!(watches.remove_locally("/a", WatcherType::Any), 1);
        assert_eq!(watches.remove_locally("/b", WatcherType::Data), 1);

        watches.set_printing(false);
        watches.print("hidden".into());
        watches.set_printing(true);
        watches.print("shown".into());
        assert_eq!(*lines.lock().expect("not poisoned"), ["shown"]);
    }
}
