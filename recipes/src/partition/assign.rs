//! [`share`]: the pure partition function, kazoo's `SetPartitioner._partitioner`.

/// The items `identifier` gets among `members`: sort the items (duplicates count once)
/// and the members' identifiers, find our index `i` among the members, and take every
/// item whose index is `i` modulo the number of members (kazoo's `sorted(items)[i::n]`).
/// Empty when `identifier` is not a member.
///
/// Every member that computes its share from the same members and items gets a disjoint
/// part of the items, together all of them, with sizes that differ by at most one.
///
/// ```
/// use zk_recipes::partition::share;
/// let members = ["b", "a", "c"];
/// let items = ["q1", "q2", "q3", "q4", "q5"];
/// assert_eq!(share("a", &members, &items), ["q1", "q4"]);
/// assert_eq!(share("b", &members, &items), ["q2", "q5"]);
/// assert_eq!(share("c", &members, &items), ["q3"]);
/// assert!(share("d", &members, &items).is_empty());
/// ```
pub fn share<M, T>(identifier: &str, members: &[M], items: &[T]) -> Vec<T>
where
    M: AsRef<str>,
    T: Ord + Clone,
{
    let mut workers: Vec<&str> = members.iter().map(AsRef::as_ref).collect();
    workers.sort_unstable();
    let Some(index) = workers.iter().position(|m| *m == identifier) else {
        return Vec::new();
    };
    let mut all: Vec<&T> = items.iter().collect();
    all.sort_unstable();
    all.dedup();
    all.into_iter()
        .skip(index)
        .step_by(workers.len())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Distinct members split the items disjointly and completely, fairly.
        #[test]
        fn shares_are_disjoint_complete_and_fair(
            members in proptest::collection::btree_set("[a-z0-9-]{1,6}", 1..8),
            items in proptest::collection::vec("[a-z0-9]{1,4}", 0..40),
        ) {
            let members: Vec<String> = members.into_iter().collect();
            let mut seen = BTreeSet::new();
            let mut sizes = Vec::new();
            for me in &members {
                let mine = share(me, &members, &items);
                sizes.push(mine.len());
                for item in mine {
                    prop_assert!(seen.insert(item), "an item given twice");
                }
            }
            let all: BTreeSet<String> = items.into_iter().collect();
            prop_assert_eq!(seen, all);
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(max - min <= 1, "sizes {:?}", sizes);
        }

        /// The order members and items are listed in does not matter.
        #[test]
        fn order_does_not_matter(
            members in proptest::collection::btree_set("[a-z]{1,3}", 1..6),
            items in proptest::collection::vec(0u32..100, 0..30),
        ) {
            let sorted: Vec<String> = members.into_iter().collect();
            let reversed: Vec<String> = sorted.iter().rev().cloned().collect();
            let mut items_reversed = items.clone();
            items_reversed.reverse();
            for me in &sorted {
                prop_assert_eq!(share(me, &sorted, &items), share(me, &reversed, &items_reversed));
            }
        }
    }

    #[test]
    fn matches_kazoo_slicing() {
        // sorted(range(10))[1::3] == [1, 4, 7]
        let items: Vec<u32> = (0..10).rev().collect();
        assert_eq!(share("m1", &["m2", "m0", "m1"], &items), [1, 4, 7]);
        assert_eq!(share("m0", &["m2", "m0", "m1"], &items), [0, 3, 6, 9]);
        assert!(share::<&str, u32>("m0", &[], &items).is_empty());
    }
}
