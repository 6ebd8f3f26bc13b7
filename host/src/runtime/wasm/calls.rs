//! The engine's [`Calls`] over a guest: each step call becomes one `function.call` request of
//! the matching kind (a batch of one for now; the request list keeps the door open for batching
//! consecutive records). Native records are `data` trees.
//!
//! An execution holds one instance from its first call to its end (a generator keeps its
//! position in it). A breach or an abort ends the execution: every later call fails with the
//! same text, and the instance is dropped; a trap drops the instance too (the next call gets a
//! fresh one).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use super::WasmSession;
use super::bindings::exports::gears::function::function::{CallKind, Failure, Request};
use super::bindings::gears::function::types::{Data, Value};
use super::convert;
use super::instance::{Budget, Instance, Stop};
use super::plan::{Role, WasmCallback};
use crate::limits::Breach;
use crate::runtime::{Abort, Callback, Calls, HostApi, Native, Record, ReplyValue, RuntimeError};

/// A generator's state: the callback and the records it yielded that were not read yet
/// (`reader_next` sees the generator by shared reference, hence the cell).
struct Generator {
    id: u32,
    name: String,
    state: RefCell<(VecDeque<Data>, bool)>,
}

/// Calls into one session's guest for one execution.
pub(super) struct WasmCalls<'a> {
    sess: &'a WasmSession,
    api: Arc<dyn HostApi>,
    abort: &'a Abort,
    budget: Budget,
    execution_id: Option<String>,
    instance: Option<Instance>,
    stopped: Option<Breach>,
}

fn native(d: Data) -> Native {
    Native(Box::new(d))
}

fn data(n: &Native) -> &Data {
    n.0.downcast_ref::<Data>()
        .expect("wasm records hold gears data")
}

fn take(n: Native) -> Data {
    match n.0.downcast::<Data>() {
        Ok(d) => *d,
        Err(_) => vec![Value::Null],
    }
}

fn callback(c: &Callback) -> WasmCallback {
    *c.inner
        .downcast_ref::<WasmCallback>()
        .expect("wasm callbacks hold WasmCallback")
}

fn null() -> Data {
    vec![Value::Null]
}

impl<'a> WasmCalls<'a> {
    pub(super) fn new(
        sess: &'a WasmSession,
        api: Arc<dyn HostApi>,
        abort: &'a Abort,
        budget: Budget,
        execution_id: Option<String>,
    ) -> WasmCalls<'a> {
        WasmCalls {
            sess,
            api,
            abort,
            budget,
            execution_id,
            instance: None,
            stopped: None,
        }
    }

    /// Ends the execution: a healthy instance goes back to the pool.
    pub(super) fn finish(&mut self) {
        if let Some(inst) = self.instance.take()
            && self.stopped.is_none()
            && !self.abort.is_aborted()
        {
            self.sess.checkin(inst);
        }
    }

    fn breached(&mut self, b: Breach) -> RuntimeError {
        let text = b.to_string();
        self.stopped = Some(b);
        self.instance = None;
        self.abort.abort_breach(b, &text);
        RuntimeError::Aborted(text)
    }

    fn stop(&mut self, s: Stop, name: &str) -> RuntimeError {
        match s {
            Stop::Breach(b) => self.breached(b),
            Stop::Trap(t) => {
                self.instance = None;
                RuntimeError::Guest(format!("{name}: {t}"))
            }
        }
    }

    /// One request; returns the records of its outcome.
    fn request(
        &mut self,
        id: u32,
        name: &str,
        kind: CallKind,
        args: Vec<Data>,
    ) -> Result<Vec<Data>, RuntimeError> {
        if let Some(b) = self.stopped {
            return Err(RuntimeError::Aborted(b.to_string()));
        }
        if self.abort.is_aborted() {
            let b = self.abort.breach().unwrap_or_else(Breach::abort);
            return Err(self.breached(b));
        }
        let mut inst = match self.instance.take() {
            Some(i) => i,
            None => match self.sess.checkout(&self.api, &mut self.budget) {
                Ok(i) => i,
                Err(s) => return Err(self.stop(s, name)),
            },
        };
        let req = [Request {
            callback: id,
            kind,
            args,
        }];
        let r = inst.call(
            &self.api,
            self.execution_id.as_deref(),
            &req,
            &mut self.budget,
        );
        let mut outcomes = match r {
            Ok(o) => o,
            Err(s) => return Err(self.stop(s, name)),
        };
        self.instance = Some(inst);
        if outcomes.len() != 1 {
            return Err(RuntimeError::Guest(format!(
                "{name}: the guest returned {} outcomes for 1 request",
                outcomes.len()
            )));
        }
        match outcomes.pop() {
            Some(Ok(records)) => {
                for r in &records {
                    convert::check(r).map_err(|e| {
                        RuntimeError::Guest(format!("{name}: invalid record from the guest: {e}"))
                    })?;
                }
                Ok(records)
            }
            Some(Err(Failure::Error(e))) => Err(RuntimeError::Guest(e)),
            Some(Err(Failure::Flat(e))) => Err(RuntimeError::Guest(e)),
            Some(Err(Failure::Pause(e))) => Err(RuntimeError::Pause(if e.starts_with("PAUSE") {
                e
            } else {
                format!("PAUSE {e}")
            })),
            None => Err(RuntimeError::Guest(format!("{name}: no outcome"))),
        }
    }

    /// A request expecting exactly one record.
    fn one(&mut self, c: &Callback, kind: CallKind, args: Vec<Data>) -> Result<Data, RuntimeError> {
        let cb = callback(c);
        let mut out = self.request(cb.id, &c.describe, kind, args)?;
        if out.len() != 1 {
            return Err(RuntimeError::Guest(format!(
                "{}: expected 1 record, the guest returned {}",
                c.describe,
                out.len()
            )));
        }
        Ok(out.pop().unwrap_or_else(null))
    }
}

impl Calls for WasmCalls<'_> {
    fn import(&mut self, r: Record) -> Result<Native, RuntimeError> {
        Ok(native(convert::record(r)))
    }

    fn map(&mut self, c: &Callback, r: Native) -> Result<Native, RuntimeError> {
        self.one(c, CallKind::Map, vec![take(r)]).map(native)
    }

    fn flatmap(&mut self, c: &Callback, r: Native) -> Result<Vec<Native>, RuntimeError> {
        let cb = callback(c);
        let out = self.request(cb.id, &c.describe, CallKind::FlatMap, vec![take(r)])?;
        Ok(out.into_iter().map(native).collect())
    }

    fn filter(&mut self, c: &Callback, r: &Native) -> Result<bool, RuntimeError> {
        let out = self.one(c, CallKind::Filter, vec![data(r).clone()])?;
        Ok(convert::truthy(&out))
    }

    fn foreach(&mut self, c: &Callback, r: &Native) -> Result<(), RuntimeError> {
        let cb = callback(c);
        self.request(cb.id, &c.describe, CallKind::Foreach, vec![data(r).clone()])
            .map(|_| ())
    }

    fn accumulate(
        &mut self,
        c: &Callback,
        acc: Option<Native>,
        r: Native,
    ) -> Result<Native, RuntimeError> {
        let acc = acc.map_or_else(null, take);
        self.one(c, CallKind::Accumulate, vec![acc, take(r)])
            .map(native)
    }

    fn extract_key(&mut self, c: &Callback, r: &Native) -> Result<String, RuntimeError> {
        let out = self.one(c, CallKind::ExtractKey, vec![data(r).clone()])?;
        Ok(convert::key_text(&out))
    }

    fn accumulate_by_key(
        &mut self,
        c: &Callback,
        key: &str,
        acc: Option<Native>,
        r: Native,
    ) -> Result<Native, RuntimeError> {
        let acc = acc.map_or_else(null, take);
        self.one(
            c,
            CallKind::AccumulateByKey,
            vec![vec![Value::Text(key.to_string())], acc, take(r)],
        )
        .map(native)
    }

    fn reduce(
        &mut self,
        c: &Callback,
        key: &str,
        records: Vec<Native>,
    ) -> Result<Native, RuntimeError> {
        let list = convert::list_of(records.into_iter().map(take).collect());
        self.one(
            c,
            CallKind::Reduce,
            vec![vec![Value::Text(key.to_string())], list],
        )
        .map(native)
    }

    fn key_value(&mut self, key: &str, value: Native) -> Result<Native, RuntimeError> {
        Ok(native(convert::key_value(key, take(value))))
    }

    fn reader_start(&mut self, c: &Callback) -> Result<Native, RuntimeError> {
        let cb = callback(c);
        if cb.role == Role::OnRegistered {
            self.request(cb.id, &c.describe, CallKind::OnRegistered, Vec::new())?;
            return Ok(Native(Box::new(Generator {
                id: cb.id,
                name: c.describe.clone(),
                state: RefCell::new((VecDeque::new(), true)),
            })));
        }
        Ok(Native(Box::new(Generator {
            id: cb.id,
            name: c.describe.clone(),
            state: RefCell::new((VecDeque::new(), false)),
        })))
    }

    fn reader_next(&mut self, generator: &Native) -> Result<Option<Native>, RuntimeError> {
        let g = generator
            .0
            .downcast_ref::<Generator>()
            .expect("wasm generators hold Generator");
        loop {
            {
                let mut st = g.state.borrow_mut();
                if let Some(d) = st.0.pop_front() {
                    return Ok(Some(native(d)));
                }
                if st.1 {
                    return Ok(None);
                }
            }
            let out = self.request(g.id, &g.name, CallKind::Generate, Vec::new())?;
            let mut st = g.state.borrow_mut();
            if out.is_empty() {
                st.1 = true;
            }
            st.0.extend(out);
        }
    }

    fn to_reply(&mut self, r: &Native) -> ReplyValue {
        convert::to_reply(data(r))
    }

    fn unlocked(&mut self, f: &mut (dyn FnMut() + Send)) {
        f();
    }
}
