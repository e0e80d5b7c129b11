//! The demo's timeline: what happens, and what was checked, with the elapsed time.

use std::io::Write as _;
use std::time::Instant;

use serde::Serialize;

/// Prints timeline lines: `[ 0.84s] connected to ...` and `[ 0.90s]   ✓ checked ...`.
#[derive(Debug)]
pub(crate) struct Timeline {
    start: Instant,
    json: bool,
}

/// A timeline line in JSON.
#[derive(Serialize)]
struct Entry<'a> {
    /// Seconds since the start.
    t: f64,
    /// `section`, `step`, `check` or `fail`.
    kind: &'a str,
    text: &'a str,
}

impl Timeline {
    /// Starts the clock.
    pub(crate) fn new(json: bool) -> Self {
        Self {
            start: Instant::now(),
            json,
        }
    }

    /// The start of a part of the tour: a heading line.
    pub(crate) fn section(&self, title: &str) {
        let mut out = std::io::stdout().lock();
        let _ = if self.json {
            let t = self.start.elapsed().as_secs_f64();
            serde_json::to_string(&Entry {
                t,
                kind: "section",
                text: title,
            })
            .map_err(std::io::Error::other)
            .and_then(|line| writeln!(out, "{line}"))
        } else {
            writeln!(out, "\n== {title}")
        };
        let _ = out.flush();
    }

    /// Something that happens.
    pub(crate) fn step(&self, text: impl AsRef<str>) {
        self.line("step", "", text.as_ref());
    }

    /// Something that was verified.
    pub(crate) fn check(&self, text: impl AsRef<str>) {
        self.line("check", "  ✓ ", text.as_ref());
    }

    /// A step that failed.
    pub(crate) fn fail(&self, text: impl AsRef<str>) {
        self.line("fail", "  ✗ ", text.as_ref());
    }

    fn line(&self, kind: &str, mark: &str, text: &str) {
        let t = self.start.elapsed().as_secs_f64();
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the demo half-way: it still cleans up.
        let _ = if self.json {
            serde_json::to_string(&Entry { t, kind, text })
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(out, "{line}"))
        } else {
            writeln!(out, "[{t:>5.2}s] {mark}{text}")
        };
        let _ = out.flush();
    }
}
