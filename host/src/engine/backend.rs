//! The engine's only way to data: read keys and streams, as records. The embedded keyspace
//! implements it now (`command::host`); an upstream Redis backend can implement it later, so
//! nothing in the engine assumes the data lives in this process.

use crate::keyspace::journal::Journal;
use crate::runtime::Record;

/// Reads data for readers. Implementations take and release their own locks per call.
pub trait Backend: Send + Sync {
    /// One SCAN step over db 0: the next cursor and the records of the matching keys
    /// (`{'event': None, 'key', 'type', 'value'}`, or `{'event', 'key'}` without values).
    fn scan(
        &self,
        cursor: u64,
        pattern: &[u8],
        count: usize,
        read_value: bool,
    ) -> (u64, Vec<Record>);
    /// The record of one key of database `db` (type `empty` when missing).
    fn read_key(&self, db: usize, key: &[u8], read_value: bool) -> Record;
    /// [`Backend::read_key`] if the data can be reached without waiting (the keyspace is free
    /// or held by this thread); None otherwise. Callers holding a runtime lock (the GIL) use
    /// it, since they must not wait for the keyspace.
    fn try_read_key(&self, db: usize, key: &[u8], read_value: bool) -> Option<Record> {
        let _ = (db, key, read_value);
        None
    }
    /// The names of the streams in db 0 whose names match the glob `pattern`.
    fn stream_keys(&self, pattern: &[u8]) -> Vec<Vec<u8>>;
    /// The entries of stream `key` after `from_id` as `{'key', 'id', 'value'}` records.
    ///
    /// # Errors
    /// The command error text (a bad id).
    fn xread(&self, key: &[u8], from_id: &str) -> Result<Vec<Record>, String>;
    /// Undoes an aborted execution's writes: puts back the pre-image of every key in `journal`
    /// that nobody else wrote since, and closes the journal. Returns how many keys it restored.
    fn rollback(&self, journal: &Journal) -> usize;
    /// Closes a finished execution's journal (its keys are no longer watched).
    fn release_journal(&self, journal: &Journal);
    /// What registering a hook on `command` needs to know (None: no such command).
    fn command_info(&self, command: &str) -> Option<super::hooks::CommandInfo> {
        let _ = command;
        None
    }
}
