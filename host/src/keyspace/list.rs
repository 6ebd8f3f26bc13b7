//! List values.

use std::collections::VecDeque;

/// A list: a deque of byte strings. Redis 7.0 reports every list as `quicklist`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListValue {
    /// The elements, head first.
    pub items: VecDeque<Box<[u8]>>,
}

impl ListValue {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
