//! The requests waiting for their reply, by request id.
//!
//! The session numbers requests 1, 2, 3, … and mostly answers them in that order, so a
//! deque indexed from the oldest id in it gives O(1) insert and remove without hashing.

use std::collections::VecDeque;

use proto::session::RequestId;

/// A map from request ids, which grow by one per insert, to `T`.
#[derive(Debug)]
pub(crate) struct InFlight<T> {
    /// The id of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<T>>,
    len: usize,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        Self {
            base: 1,
            slots: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> InFlight<T> {
    /// Inserts the value of `id`; ids must be inserted in increasing order.
    pub(crate) fn insert(&mut self, id: RequestId, value: T) {
        if self.slots.is_empty() {
            self.base = id.0;
        }
        let Some(index) =
            id.0.checked_sub(self.base)
                .and_then(|i| usize::try_from(i).ok())
        else {
            return;
        };
        while self.slots.len() < index {
            self.slots.push_back(None);
        }
        if index == self.slots.len() {
            self.slots.push_back(Some(value));
            self.len += 1;
        } else if self.slots[index].replace(value).is_none() {
            self.len += 1;
        }
    }

    /// Removes and returns the value of `id`.
    pub(crate) fn remove(&mut self, id: RequestId) -> Option<T> {
        let index = usize::try_from(id.0.checked_sub(self.base)?).ok()?;
        let value = self.slots.get_mut(index)?.take()?;
        self.len -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        Some(value)
    }

    /// Keeps only the entries for which `keep` returns true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(RequestId, &mut T) -> bool) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(value) = slot {
                if !keep(RequestId(self.base + i as u64), value) {
                    *slot = None;
                    self.len -= 1;
                }
            }
        }
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_and_out_of_order() {
        let mut calls = InFlight::default();
        for i in 5..10 {
            calls.insert(RequestId(i), i);
        }
        assert_eq!(calls.len(), 5);
        assert_eq!(calls.remove(RequestId(7)), Some(7));
        assert_eq!(calls.remove(RequestId(7)), None);
        assert_eq!(calls.remove(RequestId(5)), Some(5));
        assert_eq!(calls.remove(RequestId(4)), None);
        calls.retain(|id, _| id.0 != 8);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls.remove(RequestId(6)), Some(6));
        assert_eq!(calls.remove(RequestId(9)), Some(9));
        assert_eq!(calls.len(), 0);
        calls.insert(RequestId(12), 12);
        assert_eq!(calls.remove(RequestId(12)), Some(12));
    }
}
