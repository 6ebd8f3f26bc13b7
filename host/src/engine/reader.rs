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
        // Data is fetched with the runtime unlocked: lock order keyspace, then GIL.
        let backend = self.backend;
        if self.no_scan {
            if self.started {
                return Ok(None);
            }
            self.started = true;
            let (pattern, read_value) = (&self.pattern, self.read_value);
            let mut r = None;
            calls.unlocked(&mut || r = Some(backend.read_key(0, pattern, read_value)));
            return calls.import(r.unwrap_or(Record::Null)).map(Some);
        }
        while self.buf.is_empty() {
            if self.started && self.cursor == 0 {
                return Ok(None);
            }
            self.started = true;
            let (cursor, pattern, read_value) = (self.cursor, &self.pattern, self.read_value);
            let mut fetched = (0, Vec::new());
            calls.unlocked(&mut || {
                fetched = backend.scan(cursor, pattern, SCAN_BATCH, read_value);
            });
            self.cursor = fetched.0;
            self.buf.extend(fetched.1);
        }
        match self.buf.pop_front() {
            Some(r) => calls.import(r).map(Some),
            None => Ok(None),
        }
    }
}

/// StreamReader (batch): the entries of one stream after `fromId`. A key that is missing or
/// holds another type gives no records (RedisGears opens the key and checks its type before
/// reading); an invalid `fromId` is an error record.
pub struct StreamReader<'a> {
    backend: &'a dyn Backend,
    key: String,
    from_id: String,
    buf: Option<VecDeque<Record>>,
}

impl<'a> StreamReader<'a> {
    /// A reader of `key` after `from_id`; it reads on first use.
    pub fn new(backend: &'a dyn Backend, key: &str, from_id: &str) -> Self {
        StreamReader {
            backend,
            key: key.to_string(),
            from_id: from_id.to_string(),
            buf: None,
        }
    }
}

impl Reader for StreamReader<'_> {
    fn next(&mut self, calls: &mut dyn Calls) -> Result<Option<Native>, RuntimeError> {
        if self.buf.is_none() {
            let (backend, key, from) = (self.backend, self.key.as_bytes(), self.from_id.as_str());
            let mut read = Ok(Vec::new());
            // Data is fetched with the runtime unlocked: lock order keyspace, then GIL.
            calls.unlocked(&mut || read = backend.xread(key, from));
            let records = match read {
                Ok(r) => r,
                Err(e) if e.starts_with("WRONGTYPE") => Vec::new(),
                Err(e) => {
                    self.buf = Some(VecDeque::new());
                    return Err(RuntimeError::Guest(e));
                }
            };
            self.buf = Some(records.into());
        }
        match self.buf.as_mut().and_then(VecDeque::pop_front) {
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

/// KeysOnlyReader: the names of the keys matching a glob (or one key with `noScan`), as byte
/// strings. (Python builds its own from `scan`; runtimes without a prelude use this one.)
pub struct KeysOnlyReader<'a> {
    inner: KeysReader<'a>,
}

impl<'a> KeysOnlyReader<'a> {
    /// A reader over `pattern` (an exact key name with `no_scan`).
    pub fn new(backend: &'a dyn Backend, pattern: &str, no_scan: bool) -> Self {
        KeysOnlyReader {
            inner: KeysReader::new(backend, pattern, no_scan, false),
        }
    }
}

impl Reader for KeysOnlyReader<'_> {
    fn next(&mut self, calls: &mut dyn Calls) -> Result<Option<Native>, RuntimeError> {
        let backend = self.inner.backend;
        if self.inner.no_scan {
            if self.inner.started {
                return Ok(None);
            }
            self.inner.started = true;
            let mut exists = false;
            let pattern = &self.inner.pattern;
            calls.unlocked(&mut || {
                exists = matches!(
                    backend.read_key(0, pattern, true),
                    Record::Map(ref f) if !f.iter().any(|(k, v)| k == "type" && *v == Record::bytes("empty"))
                );
            });
            return if exists {
                calls.import(Record::Bytes(pattern.clone())).map(Some)
            } else {
                Ok(None)
            };
        }
        while self.inner.buf.is_empty() {
            if self.inner.started && self.inner.cursor == 0 {
                return Ok(None);
            }
            self.inner.started = true;
            let (cursor, pattern) = (self.inner.cursor, &self.inner.pattern);
            let mut fetched = (0, Vec::new());
            calls.unlocked(&mut || {
                fetched = backend.scan(cursor, pattern, SCAN_BATCH, false);
            });
            self.inner.cursor = fetched.0;
            self.inner.buf.extend(fetched.1);
        }
        let key = match self.inner.buf.pop_front() {
            Some(Record::Map(fields)) => fields
                .into_iter()
                .find(|(k, _)| k == "key")
                .map(|(_, v)| v)
                .unwrap_or(Record::Null),
            Some(other) => other,
            None => return Ok(None),
        };
        calls.import(key).map(Some)
    }
}

/// ShardsIDReader: one record per shard; outside a cluster `'1'`, as RedisGears' Python
/// `shardReaderCallback` yields.
#[derive(Debug, Default)]
pub struct ShardsIdReader {
    done: bool,
}

impl Reader for ShardsIdReader {
    fn next(&mut self, calls: &mut dyn Calls) -> Result<Option<Native>, RuntimeError> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        calls.import(Record::bytes("1")).map(Some)
    }
}
