//! The executor: pulls records from a reader and pushes each through the steps, as RedisGears
//! does. Stateless steps (map, filter, ...) pass records on at once; accumulate and the group
//! steps hold state and emit when the input ends. An error record goes to the errors list and
//! stops the reader (records already inside stateful steps still flow out), and a `limit` that
//! has passed its window stops the reader too.

use std::time::{Duration, Instant};

use crate::keyspace::clock::clock;

use indexmap::IndexMap;

use super::reader::Reader;
use crate::runtime::plan::{PlanSpec, StepKind};
use crate::runtime::{Callback, Calls, Native, RuntimeError};

enum Exec<'a> {
    Map(&'a Callback),
    FlatMap(&'a Callback),
    Filter(&'a Callback),
    ForEach(&'a Callback),
    Accumulate {
        cb: &'a Callback,
        acc: Option<Native>,
        seen: bool,
    },
    Group {
        extractor: &'a Callback,
        reducer: &'a Callback,
        table: IndexMap<String, Option<Native>>,
    },
    BatchGroup {
        extractor: &'a Callback,
        reducer: &'a Callback,
        table: IndexMap<String, Vec<Native>>,
    },
    Repartition(&'a Callback),
    Collect,
    Limit {
        offset: i64,
        len: i64,
        seen: i64,
    },
}

/// What an execution produced.
pub struct Produced {
    /// Final records.
    pub results: Vec<Native>,
    /// Error strings.
    pub errors: Vec<String>,
    /// Time per operation of the plan (when profiling).
    pub step_time: Vec<Duration>,
    /// Time inside the reader.
    pub read_time: Duration,
    /// Set when the execution was aborted; the reason.
    pub aborted: Option<String>,
    /// Set when user code asked to pause its registration; the reason.
    pub pause: Option<String>,
}

/// Runs one plan over one reader.
pub struct Executor<'a> {
    steps: Vec<Exec<'a>>,
    out: Produced,
    stop: bool,
    profile: bool,
}

fn cb(spec: &crate::runtime::plan::StepSpec, i: usize) -> Option<&Callback> {
    spec.callbacks.get(i)
}

impl<'a> Executor<'a> {
    /// An executor for `plan`.
    ///
    /// # Errors
    /// If a step lacks a callback it needs (a runtime bug, reported as an error string).
    pub fn new(plan: &'a PlanSpec, profile: bool) -> Result<Executor<'a>, String> {
        let missing = || "internal error: step without its callback".to_string();
        let mut steps = Vec::with_capacity(plan.steps.len());
        for s in &plan.steps {
            steps.push(match s.kind {
                StepKind::Map => Exec::Map(cb(s, 0).ok_or_else(missing)?),
                StepKind::FlatMap => Exec::FlatMap(cb(s, 0).ok_or_else(missing)?),
                StepKind::Filter => Exec::Filter(cb(s, 0).ok_or_else(missing)?),
                StepKind::ForEach => Exec::ForEach(cb(s, 0).ok_or_else(missing)?),
                StepKind::Accumulate => Exec::Accumulate {
                    cb: cb(s, 0).ok_or_else(missing)?,
                    acc: None,
                    seen: false,
                },
                StepKind::LocalGroupBy | StepKind::GroupBy => Exec::Group {
                    extractor: cb(s, 0).ok_or_else(missing)?,
                    reducer: cb(s, 1).ok_or_else(missing)?,
                    table: IndexMap::new(),
                },
                StepKind::BatchGroupBy => Exec::BatchGroup {
                    extractor: cb(s, 0).ok_or_else(missing)?,
                    reducer: cb(s, 1).ok_or_else(missing)?,
                    table: IndexMap::new(),
                },
                StepKind::Repartition => Exec::Repartition(cb(s, 0).ok_or_else(missing)?),
                StepKind::Collect => Exec::Collect,
                StepKind::Limit => {
                    let (offset, len) = s.limit.unwrap_or((0, 0));
                    Exec::Limit {
                        offset,
                        len,
                        seen: 0,
                    }
                }
            });
        }
        let n = steps.len();
        Ok(Executor {
            steps,
            out: Produced {
                results: Vec::new(),
                errors: Vec::new(),
                step_time: vec![Duration::ZERO; n],
                read_time: Duration::ZERO,
                aborted: None,
                pause: None,
            },
            stop: false,
            profile,
        })
    }

    /// Pulls every record from `reader`, then flushes the stateful steps.
    pub fn run(mut self, reader: &mut dyn Reader, calls: &mut dyn Calls) -> Produced {
        while !self.stop && self.out.errors.is_empty() && self.out.aborted.is_none() {
            // read_duration is always measured (RedisGears does): with the TSC clock, as
            // `Instant` (clock_gettime) cost ~4% of a simple pipeline.
            let t = clock().raw();
            let next = reader.next(calls);
            self.out.read_time += clock().delta(t, clock().raw());
            match next {
                Ok(Some(r)) => self.push(0, r, calls),
                Ok(None) => break,
                Err(e) => {
                    self.fail(e);
                    break;
                }
            }
        }
        for i in 0..self.steps.len() {
            if self.out.aborted.is_some() {
                break;
            }
            for r in self.flush(i, calls) {
                self.push(i + 1, r, calls);
            }
        }
        self.out
    }

    fn fail(&mut self, e: RuntimeError) {
        match e {
            RuntimeError::Guest(msg) => self.out.errors.push(msg),
            RuntimeError::Aborted(msg) => self.out.aborted = Some(msg),
            RuntimeError::Pause(msg) => {
                self.out.errors.push(msg.clone());
                self.out.pause = Some(msg);
            }
        }
    }

    fn timed<T>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> T) -> T {
        if !self.profile {
            return f(self);
        }
        let t = Instant::now();
        let r = f(self);
        self.out.step_time[i] += t.elapsed();
        r
    }

    /// Pushes `r` into step `i` (past the last step: a result).
    fn push(&mut self, i: usize, r: Native, calls: &mut dyn Calls) {
        if self.out.aborted.is_some() {
            return;
        }
        if i == self.steps.len() {
            self.out.results.push(r);
            return;
        }
        match &self.steps[i] {
            Exec::Map(c) => {
                let c = *c;
                match self.timed(i, |_| calls.map(c, r)) {
                    Ok(r) => self.push(i + 1, r, calls),
                    Err(e) => self.fail(e),
                }
            }
            Exec::FlatMap(c) => {
                let c = *c;
                match self.timed(i, |_| calls.flatmap(c, r)) {
                    Ok(items) => {
                        for r in items {
                            self.push(i + 1, r, calls);
                        }
                    }
                    Err(e) => self.fail(e),
                }
            }
            Exec::Filter(c) => {
                let c = *c;
                match self.timed(i, |_| calls.filter(c, &r)) {
                    Ok(true) => self.push(i + 1, r, calls),
                    Ok(false) => {}
                    Err(e) => self.fail(e),
                }
            }
            Exec::ForEach(c) => {
                let c = *c;
                match self.timed(i, |_| calls.foreach(c, &r)) {
                    Ok(()) => self.push(i + 1, r, calls),
                    Err(e) => self.fail(e),
                }
            }
            Exec::Accumulate { .. } => {
                let res = self.timed(i, |s| {
                    let Exec::Accumulate { cb, acc, seen } = &mut s.steps[i] else {
                        unreachable!("matched above")
                    };
                    *seen = true;
                    let prev = acc.take();
                    calls.accumulate(cb, prev, r).map(|a| *acc = Some(a))
                });
                if let Err(e) = res {
                    // The accumulator is lost with the failing record.
                    if let Exec::Accumulate { seen, .. } = &mut self.steps[i] {
                        *seen = false;
                    }
                    self.fail(e);
                }
            }
            Exec::Group { .. } => {
                let res = self.timed(i, |s| {
                    let Exec::Group {
                        extractor,
                        reducer,
                        table,
                    } = &mut s.steps[i]
                    else {
                        unreachable!("matched above")
                    };
                    let key = calls.extract_key(extractor, &r)?;
                    let slot = table.entry(key.clone()).or_insert(None);
                    let acc = calls.accumulate_by_key(reducer, &key, slot.take(), r)?;
                    *slot = Some(acc);
                    Ok(())
                });
                if let Err(e) = res {
                    self.fail(e);
                }
            }
            Exec::BatchGroup { .. } => {
                let res = self.timed(i, |s| {
                    let Exec::BatchGroup {
                        extractor, table, ..
                    } = &mut s.steps[i]
                    else {
                        unreachable!("matched above")
                    };
                    let key = calls.extract_key(extractor, &r)?;
                    table.entry(key).or_default().push(r);
                    Ok(())
                });
                if let Err(e) = res {
                    self.fail(e);
                }
            }
            Exec::Repartition(c) => {
                // One shard: the record stays here, but the extractor still runs (and can fail).
                let c = *c;
                match self.timed(i, |_| calls.extract_key(c, &r)) {
                    Ok(_) => self.push(i + 1, r, calls),
                    Err(e) => self.fail(e),
                }
            }
            Exec::Collect => self.push(i + 1, r, calls),
            Exec::Limit { .. } => {
                let Exec::Limit { offset, len, seen } = &mut self.steps[i] else {
                    unreachable!("matched above")
                };
                let idx = *seen;
                *seen += 1;
                let end = offset.saturating_add(*len);
                if idx + 1 >= end {
                    self.stop = true;
                }
                if idx >= *offset && idx < end {
                    self.push(i + 1, r, calls);
                }
            }
        }
    }

    /// The records a stateful step emits when the input ends.
    fn flush(&mut self, i: usize, calls: &mut dyn Calls) -> Vec<Native> {
        let mut errors = Vec::new();
        let out = match &mut self.steps[i] {
            Exec::Accumulate { acc, seen, .. } => {
                if *seen {
                    acc.take().into_iter().collect()
                } else {
                    Vec::new()
                }
            }
            Exec::Group { table, .. } => {
                let mut out = Vec::with_capacity(table.len());
                // A key whose reducer failed has no accumulator left.
                for (k, v) in std::mem::take(table) {
                    let Some(v) = v else { continue };
                    match calls.key_value(&k, v) {
                        Ok(r) => out.push(r),
                        Err(e) => errors.push(e),
                    }
                }
                out
            }
            Exec::BatchGroup { reducer, table, .. } => {
                let reducer = *reducer;
                let mut out = Vec::with_capacity(table.len());
                // RedisGears emits batch groups in reverse order of their first record.
                for (k, records) in std::mem::take(table).into_iter().rev() {
                    match calls
                        .reduce(reducer, &k, records)
                        .and_then(|v| calls.key_value(&k, v))
                    {
                        Ok(r) => out.push(r),
                        Err(e) => errors.push(e),
                    }
                }
                out
            }
            _ => Vec::new(),
        };
        for e in errors {
            self.fail(e);
        }
        out
    }
}
