//! Stream values.

use std::collections::BTreeMap;

/// A stream entry id `<ms>-<seq>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

/// A stream: entries ordered by id.
#[derive(Debug, Clone, Default)]
pub struct StreamValue {
    /// Entries: id → flat field/value list.
    pub entries: BTreeMap<StreamId, Vec<Box<[u8]>>>,
    /// The last id generated or set.
    pub last_id: StreamId,
}

impl StreamValue {
    /// An estimate of the heap bytes of the entries (MEMORY USAGE).
    pub fn approx_entries_size(&self) -> usize {
        self.entries
            .values()
            .map(|fields| 32 + fields.iter().map(|f| f.len() + 16).sum::<usize>())
            .sum()
    }
}
