//! [`counter`]: whether a counter's final value is one its increments allow.

use std::fmt;

use crate::history::{History, Outcome};

/// What [`counter`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CounterReport {
    /// The value before the run.
    pub initial: i64,
    /// The value read after the run.
    pub final_value: i64,
    /// The sum of the additions that answered success.
    pub acked: i64,
    /// The sum of the additions whose outcome is unknown (lost replies, timeouts, still
    /// open at the end): each may or may not have been applied.
    pub indeterminate: i64,
    /// Additions that answered success, failure, or nothing.
    pub ok_ops: usize,
    /// Additions that failed for certain (applied nowhere).
    pub failed_ops: usize,
    /// Additions whose outcome is unknown.
    pub unknown_ops: usize,
    /// The lowest final value the history allows: every acked addition, and every
    /// unknown one that lowers the value.
    pub lowest: i64,
    /// The highest final value the history allows.
    pub highest: i64,
}

impl CounterReport {
    /// Whether the final value lies in `[lowest, highest]`.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = zk_testkit::check::CounterReport::default();
    /// assert!(r.in_bounds());
    /// ```
    pub fn in_bounds(&self) -> bool {
        (self.lowest..=self.highest).contains(&self.final_value)
    }
}

impl fmt::Display for CounterReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "counter: final {} (from {}), allowed [{}, {}]: {} ({} acked additions summing {}, \
             {} unknown summing {}, {} failed)",
            self.final_value,
            self.initial,
            self.lowest,
            self.highest,
            if self.in_bounds() { "ok" } else { "VIOLATION" },
            self.ok_ops,
            self.acked,
            self.unknown_ops,
            self.indeterminate,
            self.failed_ops,
        )
    }
}

/// Checks a counter at `path`: the history's operations `add` on that path carry their
/// delta as the value (`Op::new("add", path).value("1")`); an addition that answered
/// [`Outcome::Ok`] was applied once, one that answered [`Outcome::Fail`] was not, and one
/// left [`Outcome::Indeterminate`] or open may have been, once at most. The final value
/// must then lie between `initial` plus the acked additions plus the unknown ones that
/// lower it, and `initial` plus the acked plus the unknown ones that raise it.
///
/// Operations with a value that is not an integer are ignored.
///
/// # Examples
///
/// ```
/// use zk_testkit::{History, Op, check};
///
/// let h = History::new();
/// let a = h.invoke("c1", 1, Op::new("add", "/n").value("1"));
/// h.ok(a, None);
/// let b = h.invoke("c2", 2, Op::new("add", "/n").value("1"));
/// h.indeterminate(b, "connection loss");
/// assert!(check::counter(&h, "/n", 0, 1).in_bounds());
/// assert!(check::counter(&h, "/n", 0, 2).in_bounds());
/// let lost = check::counter(&h, "/n", 0, 0);
/// assert!(!lost.in_bounds(), "an acked addition was lost: {lost}");
/// ```
pub fn counter(history: &History, path: &str, initial: i64, final_value: i64) -> CounterReport {
    let mut r = CounterReport {
        initial,
        final_value,
        ..CounterReport::default()
    };
    let (mut up, mut down) = (0i64, 0i64);
    for op in history.operations() {
        if op.op.f != "add" || op.op.path != path {
            continue;
        }
        let Some(delta) = op
            .op
            .value
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok())
        else {
            continue;
        };
        match op.outcome {
            Some(Outcome::Ok(_)) => {
                r.ok_ops += 1;
                r.acked = r.acked.saturating_add(delta);
            }
            Some(Outcome::Fail(_)) => r.failed_ops += 1,
            Some(Outcome::Indeterminate(_)) | None => {
                r.unknown_ops += 1;
                r.indeterminate = r.indeterminate.saturating_add(delta);
                if delta >= 0 {
                    up = up.saturating_add(delta);
                } else {
                    down = down.saturating_add(delta);
                }
            }
        }
    }
    let base = initial.saturating_add(r.acked);
    r.lowest = base.saturating_add(down);
    r.highest = base.saturating_add(up);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Op;

    #[test]
    fn decrements_widen_the_lower_bound() {
        let h = History::new();
        let a = h.invoke("c", 1, Op::new("add", "/n").value("5"));
        h.ok(a, None);
        let b = h.invoke("c", 1, Op::new("add", "/n").value("-2"));
        h.indeterminate(b, "timeout");
        let c = h.invoke("c", 1, Op::new("add", "/n").value("3"));
        h.fail(c, "bad version");
        let _open = h.invoke("c", 1, Op::new("add", "/n").value("1"));
        let other = h.invoke("c", 1, Op::new("add", "/m").value("100"));
        h.ok(other, None);
        let r = counter(&h, "/n", 10, 13);
        assert_eq!((r.lowest, r.highest), (13, 16), "{r}");
        assert!(r.in_bounds());
        assert_eq!((r.ok_ops, r.failed_ops, r.unknown_ops), (1, 1, 2));
        assert!(!counter(&h, "/n", 10, 12).in_bounds());
        assert!(!counter(&h, "/n", 10, 17).in_bounds());
        assert!(counter(&h, "/n", 10, 17).to_string().contains("VIOLATION"));
    }
}
