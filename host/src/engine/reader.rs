//! Batch readers: KeysReader (a SCAN over db 0, or one key with `noScan`), StreamReader (the
//! entries of one stream after `fromId`) and PythonReader (a user generator).

use std::collections::VecDeque;

use super::backend::Backend;
use crate::runtime::{Callback, Calls, Native, Record, RuntimeError};

/// A source of records for one execution.
pub trait Reader {
    /// The next record, `None` when the input ends.
    ///
    /// # Errors
    /// A reader error becomes an error record and ends the input.
    fn next(&mut self, calls: &mut dyn Calls) -> Result<Option<Native>, RuntimeError>;
}

/// KeysReader: every key matching a glob, with its value.
pub struct KeysReader<'a> {
    backend: &'a dyn Backend,
    pattern: Vec<u8>,
    read_value: bool,
    no_scan: bool,
    cursor: u64,
    started: bool,
    buf: VecDeque<Record>,
}

/// Keys fetched per SCAN step.
const SCAN_BATCH: usize = 1000;

impl<'a> KeysReader<'a> {
    /// A reader over `pattern` (an exact key name with `no_scan`).
    pub fn new(backend: &'a dyn Backend, pattern: &str, no_scan: bool, read_value: bool) -> Self {
        KeysReader {
            backend,
            pattern: pattern.as_bytes().to_vec(),
            read_value,
            no_scan,
            cursor: 0,
            started: false,
            buf: VecDeque::new(),
        }
    }
}

impl Reader for KeysReader<'_> {
    fn next(&mut self, calls: &mut dyn Calls) -> Result<Option<Native>, RuntimeError> {
        if self.no_scan {
            if self.started {
                return Ok(None);
            }
            self.started = true;
            let r = self.backend.read_key(0, &self.pattern, self.read_value);
            return calls.import(r).map(Some);
        }
        while self.buf.is_empty() {
            if self.started && self.cursor == 0 {
                return Ok(None);
            }
            self.started = true;
            let (next, records) =
                self.backend
                    .scan(self.cursor, &self.pattern, SCAN_BATCH, self.read_value);
            self.cursor = next;
            self.buf.extend(records);
        }
        match self.buf.pop_front() {
            Some(r) => calls.import(r).map(Some),
            None => Ok(None),
        }
    }
}

/// StreamReader (batch): the entries of one stream after `fromId`.
pub struct StreamReader {
    buf: VecDeque<Record>,
    error: Option<String>,
}

impl StreamReader {
    /// Reads `key` after `from_id` through the backend. A key that is missing or holds
    /// another type gives no records (RedisGears opens the key and checks its type before
    /// reading); an invalid `fromId` is an error record.
    pub fn new(backend: &dyn Backend, key: &str, from_id: &str) -> Self {
        match backend.xread(key.as_bytes(), from_id) {
            Ok(records) => StreamReader {
                buf: records.into(),
                error: None,
            },
            Err(e) if e.starts_with("WRONGTYPE") => StreamReader {
                buf: VecDeque::new(),
                error: None,
            },
            Err(e) => StreamReader {
                buf: VecDeque::new(),
                error: Some(e),
            },
        }
    }
}

impl Reader for StreamReader {
    fn next(&mut self, calls: &mut dyn Calls) -> Result<Option<Native>, RuntimeError> {
        if let Some(e) = self.error.take() {
            return Err(RuntimeError::Guest(e));
        }
        match self.buf.pop_front() {
            Some(r) => calls.import(r).map(Some),
            None => Ok(None),
        }
    }
}

/// PythonReader: the records a user generator yields.
pub struct GeneratorReader<'a> {
    start: &'a Callback,
    generator: Option<Native>,
}

impl<'a> GeneratorReader<'a> {
    /// A reader calling `start()` for its generator on first use.
    pub fn new(start: &'a Callback) -> Self {
        GeneratorReader {
            start,
            generator: None,
        }
    }
}

impl Reader for GeneratorReader<'_> {
    fn next(&mut self, calls: &mut dyn Calls) -> Result<Option<Native>, RuntimeError> {
        if self.generator.is_none() {
            self.generator = Some(calls.reader_start(self.start)?);
        }
        match &self.generator {
            Some(g) => calls.reader_next(g),
            None => Ok(None),
        }
    }
}
