//! [`register`]: the linearizability of a register recorded in a [`History`].

use std::collections::HashMap;

use super::linearizable::{
    LinearizabilityReport, RegisterCall, RegisterOp, RegisterOutcome, cas_register,
};
use crate::history::{History, Outcome};

/// Checks the register at `path` in `history` with [`cas_register`](super::cas_register).
///
/// The operations on `path` are read as:
///
/// | operation | value | outcome |
/// |---|---|---|
/// | `read` | | `Ok(Some(v))`: read `v` (a failed or unknown read changes nothing and is left out) |
/// | `write` | `v` | `Ok`: written; `Fail`: not applied (left out); unknown: may have been |
/// | `cas` | `expected new`, or `expected->new` | `Ok`: set; `Fail`: the value was not `expected`; unknown: may have been set |
///
/// An operation still open at the end of the history is unknown.
///
/// # Examples
///
/// ```
/// use zk_testkit::{History, Op, check};
///
/// let h = History::new();
/// let w = h.invoke("a", 1, Op::new("write", "/r").value("1"));
/// h.ok(w, None);
/// let r = h.invoke("b", 2, Op::new("read", "/r"));
/// h.ok(r, Some("0".into()));
/// let report = check::register(&h, "/r", 0);
/// assert!(!report.linearizable, "a stale read after an acknowledged write: {report}");
/// ```
pub fn register(history: &History, path: &str, initial: i64) -> LinearizabilityReport {
    let mut clients: HashMap<String, u32> = HashMap::new();
    let mut calls = Vec::new();
    let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    for op in history.operations() {
        if op.op.path != path {
            continue;
        }
        let value = op.op.value.as_deref().unwrap_or("");
        let parsed_op = match op.op.f.as_str() {
            "read" => Some(RegisterOp::Read),
            "write" => value.trim().parse().ok().map(RegisterOp::Write),
            "cas" => {
                let mut parts = value
                    .split("->")
                    .flat_map(str::split_whitespace)
                    .filter(|p| !p.is_empty());
                match (
                    parts.next().and_then(|p| p.parse().ok()),
                    parts.next().and_then(|p| p.parse().ok()),
                ) {
                    (Some(expected), Some(new)) => Some(RegisterOp::Cas { expected, new }),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(register_op) = parsed_op else {
            continue;
        };
        let outcome = match (&register_op, &op.outcome) {
            (RegisterOp::Read, Some(Outcome::Ok(Some(v)))) => match v.trim().parse() {
                Ok(v) => RegisterOutcome::Read(v),
                Err(_) => continue,
            },
            (RegisterOp::Read, _) => continue,
            (RegisterOp::Write(_), Some(Outcome::Ok(_))) => RegisterOutcome::Written,
            (RegisterOp::Cas { .. }, Some(Outcome::Ok(_))) => RegisterOutcome::Cas(true),
            (RegisterOp::Cas { .. }, Some(Outcome::Fail(_))) => RegisterOutcome::Cas(false),
            (RegisterOp::Write(_), Some(Outcome::Fail(_))) => continue,
            (_, Some(Outcome::Indeterminate(_)) | None) => RegisterOutcome::Unknown,
        };
        let next = u32::try_from(clients.len()).unwrap_or(u32::MAX);
        let client = *clients.entry(op.client.clone()).or_insert(next);
        let complete = match outcome {
            RegisterOutcome::Unknown => None,
            _ => op.completed.map(nanos),
        };
        calls.push(RegisterCall::new(
            client,
            nanos(op.invoked),
            complete,
            register_op,
            outcome,
        ));
    }
    cas_register(initial, &calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Op;

    #[test]
    fn cas_values_parse_in_both_forms_and_unknowns_may_apply() {
        let h = History::new();
        let a = h.invoke("a", 1, Op::new("cas", "/r").value("0 5"));
        h.indeterminate(a, "connection loss");
        let b = h.invoke("b", 2, Op::new("cas", "/r").value("5->6"));
        h.ok(b, None);
        let c = h.invoke("b", 2, Op::new("read", "/r"));
        h.ok(c, Some("6".into()));
        let d = h.invoke("b", 2, Op::new("cas", "/r").value("5->7"));
        h.fail(d, "value is 6");
        let report = register(&h, "/r", 0);
        assert!(report.linearizable, "{report}");
        assert_eq!(report.operations, 4);

        // A failed write is left out; a read of its value is then a violation.
        let h = History::new();
        let w = h.invoke("a", 1, Op::new("write", "/r").value("9"));
        h.fail(w, "no quorum");
        let r = h.invoke("b", 2, Op::new("read", "/r"));
        h.ok(r, Some("9".into()));
        assert!(!register(&h, "/r", 0).linearizable);
    }
}
