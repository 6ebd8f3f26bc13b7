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
