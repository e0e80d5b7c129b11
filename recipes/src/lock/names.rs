//! Lock node names and their order, as Curator and kazoo write and read them.
//!
//! Curator names a contender `_c_{uuid}-lock-{seq}` and orders children by the text after
//! the **last** occurrence of the lock name; kazoo names it `{hex}__lock__{seq}` and takes
//! only children matching its patterns, ordered by sequence. Both compare sequences as
//! strings, which breaks once ZooKeeper's counter passes 2^31 and the suffix turns
//! negative; here the suffix is parsed as an `i32` and compared around the wrap.

use uuid::Uuid;

/// Which library's lock nodes a lock writes and respects.
///
/// | mode | our node | contenders we respect |
/// |---|---|---|
/// | `Curator` (default) | `_c_{uuid}-lock-{seq}` | Curator's (and ours) |
/// | `Kazoo` | `{hex}__lock__{seq}` | kazoo's default `__lock__` contenders (and ours) |
/// | `Both` | `_c_{uuid}-lock-{seq}` | both: `-lock-{seq}` and `__lock__{seq}` |
///
/// A kazoo process sees Curator-named holders only with `extra_lock_patterns=["-lock-"]`,
/// and Curator never sees kazoo-named ones: Curator and a default kazoo `Lock` on one
/// path do not exclude each other, whatever this side does.
///
/// ```
/// assert_eq!(zk_recipes::lock::Compat::default(), zk_recipes::lock::Compat::Curator);
/// ```
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Compat {
    /// Curator's names and order.
    #[default]
    Curator,
    /// kazoo's names and contender patterns.
    Kazoo,
    /// Curator's names; both libraries' contenders respected.
    Both,
}

/// A contender: a child that takes part in the lock, and its sequence.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Contender {
    pub(crate) name: String,
    pub(crate) seq: i32,
}

impl Compat {
    /// The prefix of a new node of ours: protected `_c_{uuid}-` or kazoo's `{hex}`.
    pub(crate) fn new_prefix(self) -> String {
        match self {
            Self::Kazoo => Uuid::new_v4().simple().to_string(),
            Self::Curator | Self::Both => crate::protected::new_prefix(),
        }
    }

    /// The name written after the prefix for a contender called `curator_name` (`lock-`,
    /// `__READ__`, ...) or `kazoo_name` (`__lock__`, `__rlock__`).
    pub(crate) fn node_name(
        self,
        curator_name: &'static str,
        kazoo_name: &'static str,
    ) -> &'static str {
        match self {
            Self::Kazoo => kazoo_name,
            Self::Curator | Self::Both => curator_name,
        }
    }

    /// The names that mark contenders.
    pub(crate) fn patterns(
        self,
        curator_names: &'static [&'static str],
        kazoo_names: &'static [&'static str],
    ) -> Vec<&'static str> {
        match self {
            Self::Curator => curator_names.to_vec(),
            Self::Kazoo => kazoo_names.to_vec(),
            Self::Both => curator_names.iter().chain(kazoo_names).copied().collect(),
        }
    }
}

/// The sequence of `name` for the contender `patterns`: the suffix after the last
/// occurrence of a pattern, when it is a sequence number as ZooKeeper writes it
/// (`0000000042`; past 2^31, `-000000001` or `-2147483648`).
///
/// ```
/// # use zk_recipes::lock::sequence_of;
/// assert_eq!(sequence_of("_c_0d80a9b0-a41f-4977-b7fb-496f86f6ba7c-lock-0000000042", &["lock-"]), Some(42));
/// assert_eq!(sequence_of("b901f3__lock__-2147483648", &["__lock__"]), Some(i32::MIN));
/// assert_eq!(sequence_of("b901f3__lock__0000000001", &["lock-"]), None);
/// assert_eq!(sequence_of("lock-abc", &["lock-"]), None);
/// ```
pub fn sequence_of(name: &str, patterns: &[&str]) -> Option<i32> {
    patterns
        .iter()
        .filter_map(|p| name.rfind(p).map(|i| &name[i + p.len()..]))
        // ZooKeeper's `%010d`: ten characters, or eleven for the most negative numbers.
        .filter(|suffix| {
            let digits = suffix.strip_prefix('-').unwrap_or(suffix);
            (10..=11).contains(&suffix.len())
                && digits.len() <= 10
                && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .find_map(|suffix| suffix.parse().ok())
}

/// The contenders among `children`, in lock order.
pub(crate) fn contenders(children: &[String], patterns: &[&str]) -> Vec<Contender> {
    let mut contenders: Vec<Contender> = children
        .iter()
        .filter_map(|name| {
            sequence_of(name, patterns).map(|seq| Contender {
                name: name.clone(),
                seq,
            })
        })
        .collect();
    sort(&mut contenders);
    contenders
}

/// Orders contenders by sequence, around the wrap at 2^31: every sequence is compared by
/// its distance from the oldest one, which a lock queue spans far less than 2^31 of.
pub(crate) fn sort(contenders: &mut [Contender]) {
    let Some(anchor) = wrap_anchor(contenders.iter().map(|c| c.seq)) else {
        return;
    };
    contenders.sort_by_key(|c| (c.seq.wrapping_sub(anchor) as u32, c.name.clone()));
}

/// The oldest sequence of a set spanning less than 2^31: the one that most others follow.
fn wrap_anchor(seqs: impl Iterator<Item = i32> + Clone) -> Option<i32> {
    let all: Vec<i32> = seqs.collect();
    let first = *all.first()?;
    // The sequence with the largest signed distance behind `first` is the oldest.
    all.iter().copied().min_by_key(|s| s.wrapping_sub(first))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn names(seqs: &[i32]) -> Vec<String> {
        seqs.iter()
            .enumerate()
            .map(|(i, s)| format!("_c_{:08x}-0000-4000-8000-000000000000-lock-{s:010}", i))
            .collect()
    }

    #[test]
    fn order_is_by_sequence_whatever_the_prefix() {
        let children = vec![
            "_c_ffffffff-0000-4000-8000-000000000000-lock-0000000002".to_owned(),
            "_c_00000000-0000-4000-8000-000000000000-lock-0000000003".to_owned(),
            "foreign".to_owned(),
            "b901__lock__0000000001".to_owned(),
        ];
        let curator = contenders(&children, &["lock-"]);
        assert_eq!(curator.iter().map(|c| c.seq).collect::<Vec<_>>(), [2, 3]);
        let both = contenders(&children, &["lock-", "__lock__"]);
        assert_eq!(both.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn sequences_past_two_to_the_31_stay_in_order() {
        let children = names(&[i32::MIN + 1, i32::MAX, i32::MIN, i32::MAX - 1]);
        let order: Vec<i32> = contenders(&children, &["lock-"])
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(order, [i32::MAX - 1, i32::MAX, i32::MIN, i32::MIN + 1]);
    }

    proptest! {
        /// Any window of consecutive sequences, shuffled and wherever it sits on the
        /// circle, sorts back into creation order.
        #[test]
        fn a_window_of_sequences_sorts_in_creation_order(
            (created, shuffled) in (any::<i32>(), 1i32..50).prop_flat_map(|(start, len)| {
                let created: Vec<i32> = (0..len).map(|i| start.wrapping_add(i)).collect();
                (Just(created.clone()), Just(created).prop_shuffle())
            }),
        ) {
            let order: Vec<i32> = contenders(&names(&shuffled), &["lock-"])
                .iter()
                .map(|c| c.seq)
                .collect();
            prop_assert_eq!(order, created);
        }

        /// kazoo and Curator names are told apart by their patterns, and the sequence is
        /// the suffix after the last pattern.
        #[test]
        fn names_are_recognised_by_their_patterns(seq in any::<i32>(), hex in "[0-9a-f]{32}") {
            let kazoo = format!("{hex}__lock__{seq:010}");
            let curator = format!("{}lock-{seq:010}", crate::protected::new_prefix());
            prop_assert_eq!(sequence_of(&kazoo, &["__lock__"]), Some(seq));
            prop_assert_eq!(sequence_of(&kazoo, &["lock-"]), None);
            prop_assert_eq!(sequence_of(&curator, &["lock-"]), Some(seq));
            prop_assert_eq!(sequence_of(&curator, &["__lock__"]), None);
        }
    }
}
