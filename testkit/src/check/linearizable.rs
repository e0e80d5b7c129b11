//! [`cas_register`]: whether a history of reads, writes and compare-and-sets on one
//! register is linearizable: a Wing-Gong search with Lowe's memoization of (linearized
//! set, value), as Jepsen's Knossos and porcupine do. Operations whose outcome is unknown
//! (a connection lost before the reply) may take effect at any point after their
//! invocation, or never.

use std::collections::HashSet;
use std::fmt;

use zk_proto::rng::SplitMix64;

/// No event: the end of the list.
const NONE: usize = usize::MAX;

/// What a client did to the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisterOp {
    /// Read the value.
    Read,
    /// Set the value.
    Write(i64),
    /// Set `new` if the value is `expected`.
    Cas {
        /// The value it must have.
        expected: i64,
        /// The value it gets.
        new: i64,
    },
}

/// What the client was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisterOutcome {
    /// A read returned this value.
    Read(i64),
    /// A write succeeded.
    Written,
    /// A compare-and-set succeeded (`true`) or found another value (`false`).
    Cas(bool),
    /// No answer (the connection was lost): it may or may not have taken effect.
    Unknown,
}

/// One operation of the history: invoked at `invoke` and answered at `complete` (any
/// clock, the same for every operation; `None` when the outcome is unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisterCall {
    /// The client (for the counterexample).
    pub client: u32,
    /// When it was invoked.
    pub invoke: u64,
    /// When it was answered; `None` with [`RegisterOutcome::Unknown`].
    pub complete: Option<u64>,
    /// What it did.
    pub op: RegisterOp,
    /// What it was told.
    pub outcome: RegisterOutcome,
}

impl RegisterCall {
    /// An operation answered at `complete` with `outcome`, or never answered (`None`).
    ///
    /// ```
    /// use zk_testkit::check::{RegisterCall, RegisterOp, RegisterOutcome};
    /// let read = RegisterCall::new(1, 10, Some(12), RegisterOp::Read, RegisterOutcome::Read(0));
    /// assert_eq!(read.client, 1);
    /// ```
    pub fn new(
        client: u32,
        invoke: u64,
        complete: Option<u64>,
        op: RegisterOp,
        outcome: RegisterOutcome,
    ) -> Self {
        let outcome = if complete.is_none() {
            RegisterOutcome::Unknown
        } else {
            outcome
        };
        Self {
            client,
            invoke,
            complete,
            op,
            outcome,
        }
    }

    /// The values the register may hold after this operation applied to `value`; empty
    /// when its outcome is impossible from `value`.
    fn steps(&self, value: i64) -> Vec<i64> {
        match (self.op, self.outcome) {
            (RegisterOp::Read, RegisterOutcome::Read(seen)) => {
                if seen == value {
                    vec![value]
                } else {
                    Vec::new()
                }
            }
            (RegisterOp::Read, _) => vec![value],
            (RegisterOp::Write(new), RegisterOutcome::Unknown) => {
                if new == value {
                    vec![value]
                } else {
                    vec![new, value]
                }
            }
            (RegisterOp::Write(new), _) => vec![new],
            (RegisterOp::Cas { expected, new }, RegisterOutcome::Cas(true)) => {
                if expected == value {
                    vec![new]
                } else {
                    Vec::new()
                }
            }
            (RegisterOp::Cas { expected, .. }, RegisterOutcome::Cas(false)) => {
                if expected == value {
                    Vec::new()
                } else {
                    vec![value]
                }
            }
            (RegisterOp::Cas { expected, new }, _) => {
                if expected == value && new != value {
                    vec![new, value]
                } else {
                    vec![value]
                }
            }
        }
    }
}

impl fmt::Display for RegisterCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            RegisterOp::Read => "read".to_owned(),
            RegisterOp::Write(v) => format!("write {v}"),
            RegisterOp::Cas { expected, new } => format!("cas {expected}->{new}"),
        };
        let outcome = match self.outcome {
            RegisterOutcome::Read(v) => format!("read {v}"),
            RegisterOutcome::Written => "ok".to_owned(),
            RegisterOutcome::Cas(true) => "ok".to_owned(),
            RegisterOutcome::Cas(false) => "failed".to_owned(),
            RegisterOutcome::Unknown => "unknown".to_owned(),
        };
        match self.complete {
            Some(done) => write!(
                f,
                "client {} {op} [{}..{done}] -> {outcome}",
                self.client, self.invoke
            ),
            None => write!(
                f,
                "client {} {op} [{}..] -> {outcome}",
                self.client, self.invoke
            ),
        }
    }
}

/// What [`cas_register`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinearizabilityReport {
    /// Operations in the history.
    pub operations: usize,
    /// Whether an order exists that respects real time and the register's semantics.
    pub linearizable: bool,
    /// Search states explored.
    pub explored: usize,
    /// When not linearizable: the longest order found, and the operation none of them
    /// could be followed by.
    pub counterexample: Option<String>,
}

impl fmt::Display for LinearizabilityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.linearizable {
            "linearizable"
        } else {
            "NOT linearizable"
        };
        write!(
            f,
            "{} operations, {verdict} ({} states explored)",
            self.operations, self.explored
        )?;
        match &self.counterexample {
            Some(c) => write!(f, "; {c}"),
            None => Ok(()),
        }
    }
}

/// Checks a history of one register that starts with `initial`.
///
/// ```
/// use zk_testkit::check::{RegisterCall, RegisterOp, RegisterOutcome, cas_register};
/// let history = [
///     RegisterCall::new(1, 0, Some(10), RegisterOp::Write(1), RegisterOutcome::Written),
///     RegisterCall::new(2, 5, Some(6), RegisterOp::Read, RegisterOutcome::Read(1)),
///     RegisterCall::new(2, 11, Some(12), RegisterOp::Read, RegisterOutcome::Read(0)),
/// ];
/// let report = cas_register(0, &history);
/// assert!(!report.linearizable, "a read of 0 after the write of 1 completed");
/// assert!(report.counterexample.unwrap().contains("read 0"));
/// ```
pub fn cas_register(initial: i64, history: &[RegisterCall]) -> LinearizabilityReport {
    let n = history.len();
    // Events in time order: an invocation before an answer at the same instant (so they
    // count as concurrent); unknown outcomes are answered at the end of time.
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for (i, call) in history.iter().enumerate() {
        events.push((call.invoke, false, i));
        events.push((call.complete.unwrap_or(u64::MAX), true, i));
    }
    events.sort_unstable();
    // A doubly linked list over the events, with a head sentinel at index `len`.
    let len = events.len();
    let head = len;
    let mut next = vec![NONE; len + 1];
    let mut prev = vec![NONE; len + 1];
    for k in 0..len {
        next[k] = if k + 1 < len { k + 1 } else { NONE };
        prev[k] = if k == 0 { head } else { k - 1 };
    }
    next[head] = if len > 0 { 0 } else { NONE };
    let mut answer_of = vec![0; n];
    for (position, (_, answer, i)) in events.iter().enumerate() {
        if *answer {
            answer_of[*i] = position;
        }
    }
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, q) = (prev[e], next[e]);
        next[p] = q;
        if q != NONE {
            prev[q] = p;
        }
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, q) = (prev[e], next[e]);
        next[p] = e;
        if q != NONE {
            prev[q] = e;
        }
    };
    let mut report = LinearizabilityReport {
        operations: n,
        ..LinearizabilityReport::default()
    };
    // The linearized set is memoized by a 128-bit Zobrist hash (the XOR of one random key
    // per operation in the set): O(1) per state in time and memory, where the set itself
    // would cost O(n) each. Two different sets collide with probability about 2^-128 per
    // pair.
    let mut rng = SplitMix64::new(0x5eed_cafe_f00d_0001);
    let keys: Vec<u128> = (0..n)
        .map(|_| (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()))
        .collect();
    let mut linearized: u128 = 0;
    let mut seen: HashSet<(u128, i64)> = HashSet::new();
    // Frames: the invocation lifted, the value before it, the alternative taken.
    let mut stack: Vec<(usize, i64, usize)> = Vec::new();
    let mut value = initial;
    // The longest order found, kept up to date in amortized O(1) per step: its first
    // `shared` operations are still those at the bottom of the stack.
    let mut best: Vec<usize> = Vec::new();
    let mut shared = 0;
    // The first operation that no value after the longest order fits.
    let mut blocked: Option<usize> = None;
    let mut entry = next[head];
    let mut alternative = 0;
    while next[head] != NONE {
        let (_, answer, i) = events[entry];
        if !answer {
            let steps = history[i].steps(value);
            let mut lifted = false;
            while let Some(&after) = steps.get(alternative) {
                alternative += 1;
                report.explored += 1;
                if seen.insert((linearized ^ keys[i], after)) {
                    linearized ^= keys[i];
                    stack.push((entry, value, alternative));
                    value = after;
                    unlink(&mut next, &mut prev, entry);
                    unlink(&mut next, &mut prev, answer_of[i]);
                    if stack.len() > best.len() {
                        best.truncate(shared);
                        best.extend(stack[shared..].iter().map(|(e, _, _)| events[*e].2));
                        shared = stack.len();
                        blocked = None;
                    }
                    lifted = true;
                    break;
                }
            }
            if steps.is_empty() && stack.len() == best.len() {
                blocked.get_or_insert(i);
            }
            alternative = 0;
            entry = if lifted { next[head] } else { next[entry] };
            if entry == NONE {
                break;
            }
        } else {
            // An answer before its invocation was placed: undo the last placement.
            let Some((lifted, before, tried)) = stack.pop() else {
                let order: Vec<String> = best.iter().map(|i| history[*i].to_string()).collect();
                let stuck = history[blocked.unwrap_or(i)];
                report.counterexample = Some(format!(
                    "the longest order that fits is [{}]; after it, {stuck} fits no value",
                    order.join(", ")
                ));
                return report;
            };
            let op = events[lifted].2;
            linearized ^= keys[op];
            shared = shared.min(stack.len());
            value = before;
            relink(&mut next, &mut prev, answer_of[op]);
            relink(&mut next, &mut prev, lifted);
            entry = lifted;
            alternative = tried;
        }
    }
    report.linearizable = true;
    report
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use RegisterOp::{Cas, Read, Write};
    use RegisterOutcome as Out;

    fn call(client: u32, span: (u64, Option<u64>), op: RegisterOp, outcome: Out) -> RegisterCall {
        RegisterCall::new(client, span.0, span.1, op, outcome)
    }

    /// Every order of `history` that respects real time, with each unknown operation in
    /// or out and either outcome: whether one fits.
    fn brute_force(initial: i64, history: &[RegisterCall]) -> bool {
        fn go(history: &[RegisterCall], done: &mut [bool], value: i64) -> bool {
            let pending: Vec<usize> = (0..history.len()).filter(|i| !done[*i]).collect();
            // Finished when every answered operation is placed.
            if pending.iter().all(|i| history[*i].complete.is_none()) {
                return true;
            }
            for &i in &pending {
                // `i` can go next only if no pending answered operation ended before
                // it began.
                let blocked = pending.iter().any(|&j| {
                    history[j]
                        .complete
                        .is_some_and(|end| end < history[i].invoke)
                });
                if blocked {
                    continue;
                }
                for after in history[i].steps(value) {
                    done[i] = true;
                    if go(history, done, after) {
                        return true;
                    }
                    done[i] = false;
                }
            }
            false
        }
        go(history, &mut vec![false; history.len()], initial)
    }

    #[test]
    fn planted_violations_are_found_and_correct_histories_pass() {
        // Concurrent write and reads: either order is fine.
        let ok = [
            call(1, (0, Some(10)), Write(1), Out::Written),
            call(2, (2, Some(4)), Read, Out::Read(0)),
            call(3, (3, Some(12)), Read, Out::Read(1)),
        ];
        assert!(cas_register(0, &ok).linearizable);
        // A stale read after the write completed.
        let stale = [
            call(1, (0, Some(10)), Write(1), Out::Written),
            call(2, (11, Some(12)), Read, Out::Read(0)),
        ];
        let report = cas_register(0, &stale);
        assert!(!report.linearizable, "{report}");
        assert!(
            report
                .counterexample
                .unwrap()
                .contains("client 2 read [11..12] -> read 0")
        );
        // Two successful CAS from the same value, one after the other.
        let double = [
            call(
                1,
                (0, Some(1)),
                Cas {
                    expected: 0,
                    new: 1,
                },
                Out::Cas(true),
            ),
            call(
                2,
                (2, Some(3)),
                Cas {
                    expected: 0,
                    new: 2,
                },
                Out::Cas(true),
            ),
        ];
        assert!(!cas_register(0, &double).linearizable);
        // An unknown write may have happened or not.
        let maybe = [
            call(1, (0, None), Write(5), Out::Unknown),
            call(2, (10, Some(11)), Read, Out::Read(5)),
            call(2, (12, Some(13)), Read, Out::Read(5)),
        ];
        assert!(cas_register(0, &maybe).linearizable);
        let never = [
            call(1, (0, None), Write(5), Out::Unknown),
            call(2, (10, Some(11)), Read, Out::Read(0)),
        ];
        assert!(cas_register(0, &never).linearizable);
        // But not both: 5 seen, then 0 again with no other writer.
        let both = [
            call(1, (0, None), Write(5), Out::Unknown),
            call(2, (10, Some(11)), Read, Out::Read(5)),
            call(2, (12, Some(13)), Read, Out::Read(0)),
        ];
        assert!(!cas_register(0, &both).linearizable);
        assert!(cas_register(0, &[]).linearizable);
    }

    fn arbitrary_call() -> impl Strategy<Value = RegisterCall> {
        let op = prop_oneof![
            Just(Read),
            (0..3i64).prop_map(Write),
            (0..3i64, 0..3i64).prop_map(|(expected, new)| Cas { expected, new }),
        ];
        (
            0..4u32,
            0..20u64,
            prop::option::weighted(0.85, 0..8u64),
            op,
            0..3i64,
            any::<bool>(),
        )
            .prop_map(|(client, invoke, length, op, seen, ok)| {
                let outcome = match op {
                    Read => Out::Read(seen),
                    Write(_) => Out::Written,
                    Cas { .. } => Out::Cas(ok),
                };
                call(client, (invoke, length.map(|l| invoke + l)), op, outcome)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The search agrees with a brute-force enumeration on small histories.
        #[test]
        fn agrees_with_brute_force(history in prop::collection::vec(arbitrary_call(), 0..6)) {
            let report = cas_register(0, &history);
            prop_assert_eq!(report.linearizable, brute_force(0, &history), "{}", report);
        }
    }
}
