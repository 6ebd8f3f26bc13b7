//! Registrations at work: installing a session's registrations, matching key events, running
//! triggers, consuming streams, and the RG.UNREGISTER / PAUSE / UNPAUSE / CLEARREGISTRATIONSSTATS
//! operations.
//!
//! Modes: `sync` executions run on the thread that produced the event, before the writing
//! command replies (the command layer lets their `execute()` reuse the keyspace it holds);
//! `async` and `async_local` executions go to the registration's serial worker. A registration
//! whose executions keep triggering it is cut off at `MaxTriggerDepth`.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::execution::{Execution, Outcome, Status};
use super::registration::{
    Batch, ExecTemplate, KeyJob, ReaderKind, RegStatus, Registration, StreamState, prefix_matches,
};
use super::session::Session;
use super::{Engine, plan, reader, step};
use crate::keyspace::KeyEvent;
use crate::runtime::plan::{Mode, OnFailed, RegisterSpec};
use crate::runtime::{Record, ReplyValue};

thread_local! {
    /// Trigger depth of the execution running on this thread (0: a client command).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Most key events of one registration one drain runs in one entry into the runtime.
const KEY_BATCH: usize = 128;

/// How long a drainer that ran key events waits for more before it goes idle.
const DRAIN_LINGER: Duration = Duration::from_micros(100);

/// The start of the error a registration cut off at MaxTriggerDepth records.
const DEPTH_ERROR: &str = "maximum trigger depth";

/// The consumer group and consumer StreamReader registrations read with.
pub const STREAM_GROUP: &str = "__gears_consumer_group__";
/// The consumer name.
pub const STREAM_CONSUMER: &str = "__gears_client__";

/// What a registration execution reads.
pub(super) enum Input {
    /// Ready records (CommandReader arguments, a KeysReader record read inline).
    Records(Vec<Record>),
    /// A key event whose key is read when the execution runs.
    Key {
        db: usize,
        event: &'static str,
        key: bytes::Bytes,
    },
    /// The next batch of a stream.
    Stream { key: Vec<u8> },
    /// An input whose execution is tied to a command (a hook, a `commands=` client command).
    Linked(Box<Input>, super::hooks::Link),
}

/// Trigger depth of the execution running on this thread (0: a client command).
pub(super) fn depth() -> u32 {
    DEPTH.get()
}

/// The reply of RG.TRIGGER.
#[derive(Debug, Clone)]
pub enum TriggerReply {
    /// The results.
    Results(Vec<ReplyValue>),
    /// An error (the first error of the execution, or a trigger error).
    Error(String),
}

/// Reads prepared records.
struct VecReader(std::vec::IntoIter<Record>);

impl reader::Reader for VecReader {
    fn next(
        &mut self,
        calls: &mut dyn crate::runtime::Calls,
    ) -> Result<Option<crate::runtime::Native>, crate::runtime::RuntimeError> {
        match self.0.next() {
            Some(r) => calls.import(r).map(Some),
            None => Ok(None),
        }
    }
}

fn set_event(mut r: Record, event: &str) -> Record {
    if let Record::Map(fields) = &mut r
        && let Some((_, v)) = fields.iter_mut().find(|(k, _)| k == "event")
    {
        *v = Record::bytes(event);
    }
    r
}

fn key_type_of(r: &Record) -> String {
    if let Record::Map(fields) = r
        && let Some((_, Record::Bytes(t))) = fields.iter().find(|(k, _)| k == "type")
    {
        return String::from_utf8_lossy(t).into_owned();
    }
    "empty".into()
}

impl Engine {
    /// Whether key events must be captured for KeysReader or StreamReader registrations.
    pub fn wants_key_events(&self) -> bool {
        self.wants_events.load(Ordering::Relaxed)
    }

    fn refresh_wants_events(&self, regs: &indexmap::IndexMap<String, Arc<Registration>>) {
        let want = regs
            .values()
            .any(|r| matches!(r.kind, ReaderKind::Keys | ReaderKind::Stream));
        self.wants_events.store(want, Ordering::Relaxed);
        *self.event_regs.write() = regs
            .values()
            .filter(|r| matches!(r.kind, ReaderKind::Keys | ReaderKind::Stream))
            .cloned()
            .collect();
        self.hooks.rebuild(regs);
    }

    /// Installs a session's registrations (replacing the session it upgrades), after checking
    /// trigger conflicts. Nothing changes on error.
    pub(super) fn register_all(
        self: &Arc<Self>,
        session: &Arc<Session>,
        replaced: Option<&str>,
        regs: &[RegisterSpec],
    ) -> Result<(), String> {
        let mut new_regs = Vec::with_capacity(regs.len());
        {
            let st = self.state.lock();
            let mut names: Vec<&str> = Vec::new();
            for r in regs {
                let kind = ReaderKind::parse(&r.plan.reader).ok_or_else(|| {
                    "given reader does not exists or does not support register".to_string()
                })?;
                self.verify_hook(r, &new_regs, &st.registrations, replaced)?;
                if let Some(t) = &r.trigger {
                    if names.contains(&t.as_str()) {
                        return Err("trigger already registered in this session".into());
                    }
                    if let Some(owner) = st.triggers.get(t) {
                        let from_replaced = st
                            .registrations
                            .get(owner)
                            .is_some_and(|o| Some(o.session.id.as_str()) == replaced);
                        if !from_replaced {
                            return Err("trigger already registered".into());
                        }
                    }
                    names.push(t);
                }
                new_regs.push(Registration::new(kind, r.clone(), session.clone()));
            }
        }
        if let Some(old) = replaced {
            let old_ids: Vec<String> = self
                .session(old)
                .map(|s| s.registrations.lock().clone())
                .unwrap_or_default();
            for id in old_ids {
                let _ = self.unregister(&id, true);
            }
        }
        {
            let mut st = self.state.lock();
            if let Some(old) = replaced {
                st.sessions.remove(old);
            }
            for reg in &new_regs {
                if let Some(t) = &reg.spec.trigger {
                    st.triggers.insert(t.clone(), reg.id.clone());
                }
                session.registrations.lock().push(reg.id.clone());
                st.registrations.insert(reg.id.clone(), reg.clone());
            }
            st.sessions.insert(session.id.clone(), session.clone());
            self.refresh_wants_events(&st.registrations);
        }
        for reg in &new_regs {
            if let Some(cb) = &reg.spec.on_registered {
                self.on_registered(reg, cb);
            }
            if reg.kind == ReaderKind::Stream {
                self.start_streams(reg);
            }
        }
        Ok(())
    }

    fn on_registered(&self, reg: &Arc<Registration>, cb: &crate::runtime::Callback) {
        let Ok(host) = self.host() else { return };
        let api = host.api.clone();
        let abort = crate::runtime::Abort::default();
        let log = host.api.clone();
        let opts = crate::runtime::EnterOptions {
            limits: self.limits_for(&reg.session, Some(&reg.spec.limits)),
            ..crate::runtime::EnterOptions::default()
        };
        reg.session
            .runtime
            .enter_with(&reg.session.state, api, &abort, opts, &mut |calls| {
                let mut g = match calls.reader_start(cb) {
                    Ok(g) => Some(g),
                    Err(e) => {
                        log.log(
                            crate::runtime::LogLevel::Warning,
                            &format!("Error occured on RedisGearsPy_OnRegistered, error='{e}'"),
                        );
                        None
                    }
                };
                // reader_start called the function; drain a generator if one came back.
                if let Some(gen_) = g.take() {
                    while let Ok(Some(_)) = calls.reader_next(&gen_) {}
                }
            });
    }

    /// Every registration, in registration order.
    pub fn registrations(&self) -> Vec<Arc<Registration>> {
        self.state.lock().registrations.values().cloned().collect()
    }

    /// Key events of a command (called by the command layer after each command, with the
    /// keyspace reusable by sync executions on this thread).
    pub fn on_key_events(self: &Arc<Self>, events: &[KeyEvent]) {
        self.on_linked_key_events(events, None);
    }

    /// [`Engine::on_key_events`] for the events of a client command intercepted for KeysReader
    /// `commands=` registrations: theirs get `link`.
    pub fn on_linked_key_events(
        self: &Arc<Self>,
        events: &[KeyEvent],
        link: Option<&Arc<super::hooks::CommandLink>>,
    ) {
        if events.is_empty() || !self.wants_key_events() {
            return;
        }
        let regs = self.event_regs.read().clone();
        let depth = DEPTH.get();
        for ev in events {
            if ev.name == "new" {
                continue;
            }
            for reg in regs.iter() {
                if reg.is_gone() {
                    continue;
                }
                match reg.kind {
                    ReaderKind::Keys => self.key_event(reg, ev, depth, link),
                    ReaderKind::Stream if ev.name == "xadd" && ev.db == 0 => {
                        self.stream_event(reg, &ev.key);
                    }
                    _ => {}
                }
            }
        }
    }

    fn key_event(
        self: &Arc<Self>,
        reg: &Arc<Registration>,
        ev: &KeyEvent,
        depth: u32,
        link: Option<&Arc<super::hooks::CommandLink>>,
    ) {
        if !prefix_matches(&reg.spec.prefix, &ev.key) {
            return;
        }
        let Some(link) = super::hooks::keys_link(reg, link) else {
            return;
        };
        let Ok(host) = self.host() else { return };
        let sync = reg.mode() == Mode::Sync;
        // The key is read now only when something needs it now: a keyTypes filter (its type),
        // or a sync execution (its record). An async execution reads it when it runs.
        let mut record = None;
        if reg.spec.key_types.is_some() {
            let r = host.backend.read_key(ev.db, &ev.key, true);
            if !reg.keys_match(ev.name, &ev.key, &key_type_of(&r)) {
                return;
            }
            record = Some(r);
        } else if !reg.keys_match(ev.name, &ev.key, "") {
            return;
        }
        if !reg.status.lock().is_active() {
            reg.stats.lock().skipped += 1;
            return;
        }
        if sync {
            let record = match record {
                Some(r) if reg.spec.read_value => r,
                _ => host.backend.read_key(ev.db, &ev.key, reg.spec.read_value),
            };
            let record = set_event(record, ev.name);
            let input = super::hooks::linked(Input::Records(vec![record]), link, true);
            self.run_now(reg, input, depth + 1, None);
        } else {
            let input = super::hooks::linked(
                Input::Key {
                    db: ev.db,
                    event: ev.name,
                    key: ev.key.clone(),
                },
                link,
                false,
            );
            match input {
                // A plain event goes to the worker unboxed; it drains a run of them at once.
                Input::Key { db, event, key } => {
                    if reg.worker.push_key(KeyJob {
                        db,
                        event,
                        key,
                        depth: depth + 1,
                    }) {
                        self.start_drainer(reg);
                    }
                }
                input => self.queue(reg, input, depth + 1),
            }
        }
    }

    /// MaxTriggerDepth: the error (counted as a failure of the registration) when an
    /// execution at `depth` must not run.
    fn depth_cut(&self, reg: &Registration, depth: u32, max: i64) -> Option<String> {
        if i64::from(depth) <= max {
            return None;
        }
        let msg = format!(
            "{DEPTH_ERROR} {max} exceeded (MaxTriggerDepth): the registration keeps triggering itself"
        );
        {
            let mut s = reg.stats.lock();
            s.triggered += 1;
            s.failures += 1;
            s.last_error = Some(msg.clone());
        }
        tracing::warn!(registration = %reg.id, depth, "trigger depth exceeded");
        Some(msg)
    }

    /// Creates the execution of a trigger that is about to run and counts it; None (nothing
    /// recorded) once the registration is gone.
    fn begin_registration_execution(&self, reg: &Arc<Registration>) -> Option<Arc<Execution>> {
        let exec = self.create_registration_execution(reg);
        if !reg.start_running(&exec) {
            // Unregistered between queueing and now: the event is dropped, as pending ones are.
            self.forget(exec.id);
            return None;
        }
        reg.stats.lock().triggered += 1;
        Some(exec)
    }

    /// Runs an execution of `reg` on this thread now.
    pub(super) fn run_now(
        self: &Arc<Self>,
        reg: &Arc<Registration>,
        input: Input,
        depth: u32,
        on_done: Option<super::Reply<Outcome>>,
    ) {
        let max = self.config.read().max_trigger_depth;
        if let Some(msg) = self.depth_cut(reg, depth, max) {
            if let Some(f) = on_done {
                f(Outcome {
                    results: Vec::new(),
                    errors: vec![msg],
                });
            }
            return;
        }
        let Some(exec) = self.begin_registration_execution(reg) else {
            return;
        };
        let prev = DEPTH.replace(depth);
        let outcome = self.execute_registration(reg, &exec, input, on_done.is_some());
        DEPTH.set(prev);
        reg.stop_running(&exec);
        if let Some(f) = on_done {
            f(outcome);
        }
    }

    /// Queues an execution of `reg` on its worker.
    fn queue(self: &Arc<Self>, reg: &Arc<Registration>, input: Input, depth: u32) {
        let engine = self.clone();
        let r = reg.clone();
        let job: Box<dyn FnOnce() + Send> = Box::new(move || {
            if r.is_gone() {
                return;
            }
            engine.run_now(&r, input, depth, None);
        });
        self.submit_to(reg, job);
    }

    /// Puts a job on the registration's serial worker, starting a drainer if needed.
    pub(super) fn submit_to(
        self: &Arc<Self>,
        reg: &Arc<Registration>,
        job: Box<dyn FnOnce() + Send>,
    ) {
        if reg.worker.push(job) {
            self.start_drainer(reg);
        }
    }

    /// Starts the thread that drains the registration's queue.
    fn start_drainer(self: &Arc<Self>, reg: &Arc<Registration>) {
        let engine = self.clone();
        let r = reg.clone();
        self.scheduler.submit(move || engine.drain(&r));
    }

    /// Drains the registration's queue in order: jobs one by one, runs of key events with one
    /// entry into the runtime each. After key events the drainer lingers briefly before it
    /// goes idle, so a steady stream of events is picked up in runs instead of waking a thread
    /// per event.
    fn drain(self: &Arc<Self>, reg: &Arc<Registration>) {
        let mut linger = false;
        loop {
            match reg.worker.pop_batch(KEY_BATCH, !linger) {
                Some(Batch::Job(job)) => {
                    job();
                    linger = false;
                }
                Some(Batch::Keys(keys)) => {
                    self.run_key_batch(reg, keys);
                    linger = true;
                }
                None if linger => {
                    std::thread::sleep(DRAIN_LINGER);
                    linger = false;
                }
                None => return,
            }
        }
    }

    /// Runs queued key events of `reg`, one execution each (own id, counters, journal, abort),
    /// in one entry into the runtime.
    fn run_key_batch(self: &Arc<Self>, reg: &Arc<Registration>, keys: Vec<KeyJob>) {
        if reg.is_gone() {
            return;
        }
        let Ok(host) = self.host() else { return };
        let backend = host.backend.clone();
        let (max_depth, profile) = {
            let c = self.config.read();
            (c.max_trigger_depth, c.profile_executions != 0)
        };
        let limits = self.limits_for(&reg.session, Some(&reg.spec.limits));
        let mut jobs = keys.into_iter();
        // The execution `next` started and `run` runs.
        let current: std::cell::RefCell<Option<(Arc<Execution>, KeyJob, Instant)>> =
            std::cell::RefCell::new(None);
        let mut next = || -> Option<(Arc<crate::runtime::Abort>, crate::runtime::EnterOptions)> {
            for job in jobs.by_ref() {
                if reg.is_gone() {
                    return None;
                }
                if self.depth_cut(reg, job.depth, max_depth).is_some() {
                    continue;
                }
                let exec = self.begin_registration_execution(reg)?;
                self.arm_watchdog(&exec, &reg.session, &limits);
                let opts = crate::runtime::EnterOptions {
                    async_allowed: true,
                    limits,
                    execution_id: Some(exec.id.to_wire()),
                };
                let abort = exec.abort.clone();
                *current.borrow_mut() = Some((exec, job, Instant::now()));
                return Some((abort, opts));
            }
            None
        };
        let mut run = |calls: &mut dyn crate::runtime::Calls| {
            let Some((exec, job, started)) = current.borrow_mut().take() else {
                return;
            };
            exec.state.lock().status = Status::Running;
            let prev = DEPTH.replace(job.depth);
            // The keyspace is taken without waiting while the runtime is held (lock order:
            // keyspace, then runtime); when it is busy, the runtime is released around the read.
            let record = match backend.try_read_key(job.db, &job.key, reg.spec.read_value) {
                Some(r) => r,
                None => {
                    let mut record = Record::Null;
                    calls.unlocked(&mut || {
                        record = backend.read_key(job.db, &job.key, reg.spec.read_value);
                    });
                    record
                }
            };
            let record = set_event(record, job.event);
            let active = crate::keyspace::journal::activate(&exec.journal);
            let mut ran = Some(run_plan(reg, calls, vec![record], profile));
            drop(active);
            let mut finish = || {
                if let Some(ran) = ran.take() {
                    self.finish_registration(reg, &exec, ran, started, &limits, false);
                }
            };
            if exec.journal.is_empty() && !exec.abort.is_aborted() {
                finish();
            } else {
                // Rolling back or releasing the journal takes the keyspace: not with the
                // runtime held.
                calls.unlocked(&mut finish);
            }
            DEPTH.set(prev);
            reg.stop_running(&exec);
        };
        reg.session
            .runtime
            .enter_each(&reg.session.state, host.api.clone(), &mut next, &mut run);
    }

    fn create_registration_execution(&self, reg: &Arc<Registration>) -> Arc<Execution> {
        let t = reg.template.get_or_init(|| ExecTemplate {
            steps: Arc::new(plan::expand(&reg.spec.plan).0),
            abort_text: reg
                .session
                .runtime
                .breach_text(&crate::limits::Breach::abort())
                .into(),
        });
        let exec = Execution::new(self.next_execution_id(), true, t.steps.clone());
        exec.set_abort_text(t.abort_text.clone());
        self.track_execution(&exec);
        exec
    }

    /// Runs an execution of a registration to completion and updates its counters. The
    /// outcome is returned when `want_outcome` (someone waits for it), else left empty.
    fn execute_registration(
        self: &Arc<Self>,
        reg: &Arc<Registration>,
        exec: &Arc<Execution>,
        input: Input,
        want_outcome: bool,
    ) -> Outcome {
        let Ok(host) = self.host() else {
            return Outcome::default();
        };
        let (input, link) = match input {
            Input::Linked(input, link) => (*input, Some(link)),
            input => (input, None),
        };
        let backend = host.backend.clone();
        let api = super::hooks::linked_api(host.api.clone(), link.as_ref());
        let started = Instant::now();
        exec.state.lock().status = Status::Running;
        let mut stream = None;
        let records = match input {
            Input::Records(r) => r,
            Input::Key { db, event, key } => {
                vec![set_event(
                    backend.read_key(db, &key, reg.spec.read_value),
                    event,
                )]
            }
            Input::Stream { key } => {
                let batch = reg.spec.batch.max(0);
                let recs = self.read_stream_batch(&key, batch);
                let ids: Vec<String> = recs.iter().filter_map(stream_record_id).collect();
                stream = Some((key, ids));
                recs
            }
            // Unwrapped above.
            Input::Linked(..) => Vec::new(),
        };
        let profile = self.config.read().profile_executions != 0;
        let mut ran = None;
        let mut records = Some(records);
        let limits = self.limits_for(&reg.session, Some(&reg.spec.limits));
        self.arm_watchdog(exec, &reg.session, &limits);
        // A sync execution runs inside the writing command: it may not wait for coroutines.
        let opts = crate::runtime::EnterOptions {
            async_allowed: reg.mode() != Mode::Sync,
            limits,
            execution_id: Some(exec.id.to_wire()),
        };
        let active = crate::keyspace::journal::activate(&exec.journal);
        reg.session
            .runtime
            .enter_with(&reg.session.state, api, &exec.abort, opts, &mut |calls| {
                ran = Some(run_plan(
                    reg,
                    calls,
                    records.take().unwrap_or_default(),
                    profile,
                ));
            });
        drop(active);
        let ran = ran.unwrap_or_default();
        let stream_outcome = stream.as_ref().map(|_| ran.outcome.clone());
        let outcome = self.finish_registration(reg, exec, ran, started, &limits, want_outcome);
        if let (Some((key, ids)), Some(o)) = (stream, stream_outcome) {
            self.finish_stream_batch(reg, &key, &ids, &o);
        }
        // The counters are final: a client waiting for this execution may get its reply.
        drop(link);
        outcome
    }

    /// Ends an execution of a registration that ran: the journal (rolled back when aborted),
    /// the registration's counters, the execution's status and outcome, MaxExecutionsPerRegistration,
    /// and pauses (its own request, or too many limit breaches). Returns the outcome when
    /// `want_outcome`.
    fn finish_registration(
        &self,
        reg: &Arc<Registration>,
        exec: &Arc<Execution>,
        ran: Ran,
        started: Instant,
        limits: &crate::limits::Limits,
        want_outcome: bool,
    ) -> Outcome {
        let Ran {
            mut outcome,
            aborted,
            paused,
        } = ran;
        let mut breach = None;
        let status = if aborted.is_some() || exec.abort.is_aborted() {
            breach = Some(self.finish_aborted(exec, &reg.session, aborted, &mut outcome));
            Status::Aborted
        } else {
            Status::Done
        };
        if let Ok(host) = self.host() {
            super::close_journal(&*host.backend, exec, status);
        }
        let took = started.elapsed();
        exec.state.lock().total = took;
        {
            let mut s = reg.stats.lock();
            s.last_run = took;
            s.total_run += took;
            match status {
                Status::Aborted => {
                    s.aborted += 1;
                    s.last_error = outcome.errors.last().cloned();
                }
                _ if !outcome.errors.is_empty() => {
                    s.failures += 1;
                    s.last_error = outcome.errors.first().cloned();
                }
                _ => {
                    s.success += 1;
                    // RedisGears clears lastError on success; a trigger-depth cut stays visible
                    // (it means the registration loops on its own writes).
                    if !s
                        .last_error
                        .as_deref()
                        .is_some_and(|e| e.starts_with(DEPTH_ERROR))
                    {
                        s.last_error = None;
                    }
                }
            }
        }
        let kept = if want_outcome {
            outcome.clone()
        } else {
            Outcome::default()
        };
        exec.finish(status, outcome);
        self.remember_registration_execution(reg, exec);
        // A guest's pause failure pauses its registration, whatever its reader (StreamReader
        // batches do so in `finish_stream_batch`, through the `PAUSE` error).
        if let Some(reason) = paused
            && reg.kind != ReaderKind::Stream
        {
            let _ = self.pause(&reg.id, &reason);
        }
        let pause = {
            let mut n = reg.breaches.lock();
            crate::limits::after_execution(&mut n, breach.as_ref(), limits.max_breaches)
        };
        if let Some(reason) = pause {
            tracing::warn!(registration = %reg.id, reason = %reason, "registration paused");
            self.breaches.count_pause();
            let _ = self.pause(&reg.id, &reason);
        }
        kept
    }

    /// MaxExecutionsPerRegistration: keeps the newest finished executions of a registration.
    fn remember_registration_execution(&self, reg: &Arc<Registration>, exec: &Arc<Execution>) {
        let max = self.config.read().max_executions_per_registration;
        let mut done = reg.done.lock();
        done.push_back(exec.id);
        if max > 0 {
            while done.len() > usize::try_from(max).unwrap_or(usize::MAX) {
                if let Some(old) = done.pop_front() {
                    self.forget(old);
                }
            }
        }
    }

    /// RG.TRIGGER: runs the trigger's function over `[name, args...]`.
    pub fn trigger(
        self: &Arc<Self>,
        name: &str,
        args: Vec<Vec<u8>>,
        can_block: bool,
        reply: super::Reply<TriggerReply>,
    ) {
        let reg = {
            let st = self.state.lock();
            st.triggers
                .get(name)
                .and_then(|id| st.registrations.get(id))
                .cloned()
        };
        let Some(reg) = reg else {
            return reply(TriggerReply::Error("ERR subcommand not found".into()));
        };
        if !can_block && reg.mode() != Mode::Sync {
            return reply(TriggerReply::Error(
                "ERR can not run a non-sync execution inside a MULTI/LUA (blocking is not allowed) or on loading."
                    .into(),
            ));
        }
        let mut items = vec![Record::bytes(name)];
        items.extend(args.into_iter().map(|a| {
            // Arguments are C strings in RedisGears: a NUL ends them.
            let end = a.iter().position(|&b| b == 0).unwrap_or(a.len());
            Record::Bytes(a[..end].to_vec())
        }));
        let input = Input::Records(vec![Record::List(items)]);
        let depth = DEPTH.get() + 1;
        // Trigger executions are dropped before the client sees the reply, so a following
        // RG.DUMPEXECUTIONS never lists them.
        let (engine, r) = (self.clone(), reg.clone());
        let done: super::Reply<Outcome> = Box::new(move |o: Outcome| {
            engine.drop_trigger_executions(&r);
            reply(match o.errors.first() {
                Some(e) => TriggerReply::Error(e.clone()),
                None => TriggerReply::Results(o.results),
            });
        });
        if reg.mode() == Mode::Sync {
            self.run_now(&reg, input, depth, Some(done));
            return;
        }
        let engine = self.clone();
        let r = reg.clone();
        let job: Box<dyn FnOnce() + Send> = Box::new(move || {
            engine.run_now(&r, input, depth, Some(done));
        });
        if reg.spec.inorder {
            self.submit_to(&reg, job);
        } else {
            self.scheduler.submit(job);
        }
    }

    /// Trigger executions are dropped once they replied.
    pub(super) fn drop_trigger_executions(&self, reg: &Arc<Registration>) {
        let ids: Vec<_> = reg.done.lock().drain(..).collect();
        for id in ids {
            self.forget(id);
        }
    }

    /// RG.UNREGISTER: removes the registration; nothing new starts. Returns the executions
    /// still running, so the caller can wait for them before it replies (after the reply, the
    /// registration writes nothing more).
    ///
    /// # Errors
    /// `execution is not registered` for an unknown id.
    pub fn unregister(&self, id: &str, abort_pending: bool) -> Result<Vec<Arc<Execution>>, String> {
        let reg = {
            let mut st = self.state.lock();
            let Some(reg) = st.registrations.shift_remove(id) else {
                return Err("execution is not registered".into());
            };
            if let Some(t) = &reg.spec.trigger
                && st.triggers.get(t) == Some(&reg.id)
            {
                st.triggers.remove(t);
            }
            let session_empty = {
                let mut regs = reg.session.registrations.lock();
                regs.retain(|r| r != id);
                regs.is_empty()
            };
            if session_empty
                && st
                    .sessions
                    .get(&reg.session.id)
                    .is_some_and(|s| Arc::ptr_eq(s, &reg.session))
            {
                st.sessions.remove(&reg.session.id);
            }
            self.refresh_wants_events(&st.registrations);
            reg
        };
        let running = reg.retire();
        if abort_pending {
            let n = reg.worker.clear() as u64;
            reg.stats.lock().aborted += n;
        }
        let ids: Vec<_> = reg.done.lock().drain(..).collect();
        for id in ids {
            self.forget(id);
        }
        Ok(running)
    }

    /// RG.PAUSEREGISTRATIONS of one id.
    ///
    /// # Errors
    /// RedisGears' text for an unknown id.
    pub fn pause(&self, id: &str, reason: &str) -> Result<(), String> {
        let reg = self.registration(id)?;
        let mut status = reg.status.lock();
        if matches!(*status, RegStatus::Ok | RegStatus::WaitingForRetry) {
            *status = RegStatus::Paused(reason.to_string());
            reg.streams.lock().clear();
        }
        Ok(())
    }

    /// RG.UNPAUSEREGISTRATIONS of one id: always restarts processing.
    ///
    /// # Errors
    /// RedisGears' text for an unknown id.
    pub fn unpause(self: &Arc<Self>, id: &str) -> Result<(), String> {
        let reg = self.registration(id)?;
        *reg.status.lock() = RegStatus::Ok;
        *reg.breaches.lock() = 0;
        if reg.kind == ReaderKind::Stream {
            reg.streams.lock().clear();
            self.start_streams(&reg);
        }
        Ok(())
    }

    fn registration(&self, id: &str) -> Result<Arc<Registration>, String> {
        self.state
            .lock()
            .registrations
            .get(id)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "Execution {id} does not exists on shard {}",
                    super::SHARD_ID
                )
            })
    }

    /// RG.CLEARREGISTRATIONSSTATS.
    pub fn clear_registration_stats(&self) {
        for reg in self.registrations() {
            reg.stats.lock().clear();
        }
    }

    // -- StreamReader ---------------------------------------------------------------------

    /// (Re)starts a StreamReader registration: every existing stream matching its prefix gets a
    /// consumer, whose pending and new entries are processed.
    fn start_streams(self: &Arc<Self>, reg: &Arc<Registration>) {
        let Ok(host) = self.host() else { return };
        let pattern = reg.spec.prefix.as_bytes().to_vec();
        for key in host.backend.stream_keys(&pattern) {
            self.ensure_stream(reg, &key, None);
        }
    }

    fn ensure_stream(
        self: &Arc<Self>,
        reg: &Arc<Registration>,
        key: &[u8],
        arrival: Option<Instant>,
    ) {
        let Ok(host) = self.host() else { return };
        let created = {
            let mut streams = reg.streams.lock();
            if streams.contains_key(key) {
                false
            } else {
                streams.insert(key.to_vec(), StreamState::default());
                true
            }
        };
        if created {
            let _ = host.api.execute(vec![
                b"XGROUP".to_vec(),
                b"CREATE".to_vec(),
                key.to_vec(),
                STREAM_GROUP.as_bytes().to_vec(),
                b"0".to_vec(),
            ]);
            let backlog = match host.api.execute(vec![b"XLEN".to_vec(), key.to_vec()]) {
                ReplyValue::Int(n) => u64::try_from(n).unwrap_or(0),
                _ => 0,
            };
            if let Some(s) = reg.streams.lock().get_mut(key) {
                // Entries that existed before have no arrival time: they run at once.
                s.pending = backlog.max(1);
                s.first_arrival = arrival;
            }
        }
        self.schedule_stream(reg, key);
    }

    fn stream_event(self: &Arc<Self>, reg: &Arc<Registration>, key: &[u8]) {
        if !prefix_matches(&reg.spec.prefix, key) || !reg.status.lock().is_active() {
            return;
        }
        let exists = {
            let mut streams = reg.streams.lock();
            match streams.get_mut(key) {
                Some(s) => {
                    s.pending += 1;
                    if s.first_arrival.is_none() {
                        s.first_arrival = Some(Instant::now());
                    }
                    true
                }
                None => false,
            }
        };
        if exists {
            self.schedule_stream(reg, key);
        } else {
            self.ensure_stream(reg, key, Some(Instant::now()));
        }
    }

    /// Starts the next batch of `key` if one is due (RedisGears' batch/duration rules).
    fn schedule_stream(self: &Arc<Self>, reg: &Arc<Registration>, key: &[u8]) {
        if reg.is_gone() || !reg.status.lock().is_active() {
            return;
        }
        let batch = u64::try_from(reg.spec.batch).unwrap_or(1).max(1);
        let duration = u64::try_from(reg.spec.duration).unwrap_or(0);
        let run = {
            let mut streams = reg.streams.lock();
            let Some(s) = streams.get_mut(key) else {
                return;
            };
            if s.busy || s.pending == 0 {
                false
            } else if s.pending >= batch || s.first_arrival.is_none() {
                s.busy = true;
                s.timer = false;
                true
            } else if duration > 0 {
                let elapsed = s.first_arrival.map_or(Duration::ZERO, |t| t.elapsed());
                if elapsed >= Duration::from_millis(duration) {
                    s.busy = true;
                    s.timer = false;
                    true
                } else {
                    if !s.timer {
                        s.timer = true;
                        let wait = Duration::from_millis(duration) - elapsed;
                        let engine = self.clone();
                        let r = reg.clone();
                        let k = key.to_vec();
                        self.timers.after(wait, move || {
                            if let Some(s) = r.streams.lock().get_mut(&k) {
                                s.timer = false;
                                s.first_arrival = None;
                            }
                            engine.schedule_stream(&r, &k);
                        });
                    }
                    false
                }
            } else {
                false
            }
        };
        if !run {
            return;
        }
        let input = Input::Stream { key: key.to_vec() };
        if reg.mode() == Mode::Sync {
            self.run_now(reg, input, DEPTH.get() + 1, None);
        } else {
            self.queue(reg, input, DEPTH.get() + 1);
        }
    }

    /// XREADGROUP of the next batch: first the entries delivered but not acknowledged (a batch
    /// that failed or was paused), then new ones.
    fn read_stream_batch(&self, key: &[u8], batch: i64) -> Vec<Record> {
        let Ok(host) = self.host() else {
            return Vec::new();
        };
        for id in ["0", ">"] {
            let mut argv = vec![
                b"XREADGROUP".to_vec(),
                b"GROUP".to_vec(),
                STREAM_GROUP.as_bytes().to_vec(),
                STREAM_CONSUMER.as_bytes().to_vec(),
            ];
            if batch > 0 {
                argv.push(b"COUNT".to_vec());
                argv.push(batch.to_string().into_bytes());
            }
            argv.extend([b"STREAMS".to_vec(), key.to_vec(), id.as_bytes().to_vec()]);
            let records = stream_records(key, host.api.execute(argv));
            if !records.is_empty() {
                return records;
            }
        }
        Vec::new()
    }

    /// After a batch: acknowledge (and trim) on success or `continue`, apply the failure policy,
    /// then schedule the next batch.
    fn finish_stream_batch(
        self: &Arc<Self>,
        reg: &Arc<Registration>,
        key: &[u8],
        ids: &[String],
        outcome: &Outcome,
    ) {
        let Ok(host) = self.host() else { return };
        let failed = !outcome.errors.is_empty();
        let first = outcome.errors.first().cloned().unwrap_or_default();
        let pause = failed && first.starts_with("PAUSE");
        let ack = !failed || (!pause && reg.spec.on_failed == OnFailed::Continue);
        if ack && !ids.is_empty() {
            let mut argv = vec![
                b"XACK".to_vec(),
                key.to_vec(),
                STREAM_GROUP.as_bytes().to_vec(),
            ];
            argv.extend(ids.iter().map(|i| i.as_bytes().to_vec()));
            let _ = host.api.execute(argv);
            if reg.spec.trim_stream
                && let Some(last) = ids.last()
                && let Some(next) = next_stream_id(last)
            {
                let _ = host.api.execute(vec![
                    b"XTRIM".to_vec(),
                    key.to_vec(),
                    b"MINID".to_vec(),
                    next.into_bytes(),
                ]);
            }
        }
        {
            let mut streams = reg.streams.lock();
            if let Some(s) = streams.get_mut(key) {
                s.busy = false;
                if ack {
                    if ids.is_empty() {
                        s.pending = 0;
                    } else {
                        s.pending = s.pending.saturating_sub(ids.len() as u64);
                    }
                    if let Some(t) = s.first_arrival.take()
                        && !ids.is_empty()
                    {
                        let lag = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX);
                        let mut st = reg.stats.lock();
                        st.last_lag_ms = lag;
                        st.total_lag_ms += lag;
                    }
                }
            }
        }
        if failed {
            if pause {
                let _ = self.pause(&reg.id, &first);
                return;
            }
            match reg.spec.on_failed {
                OnFailed::Continue => {}
                OnFailed::Abort => {
                    *reg.status.lock() = RegStatus::Aborted;
                    reg.streams.lock().clear();
                    return;
                }
                OnFailed::Retry => {
                    *reg.status.lock() = RegStatus::WaitingForRetry;
                    reg.streams.lock().clear();
                    let engine = self.clone();
                    let r = reg.clone();
                    let secs = u64::try_from(reg.spec.retry_interval).unwrap_or(1);
                    self.timers.after(Duration::from_secs(secs), move || {
                        let mut status = r.status.lock();
                        if *status == RegStatus::WaitingForRetry && !r.is_gone() {
                            *status = RegStatus::Ok;
                            drop(status);
                            engine.start_streams(&r);
                        }
                    });
                    return;
                }
            }
        }
        self.schedule_stream(reg, key);
    }
}

/// What running a registration's plan over its records gave.
#[derive(Default)]
struct Ran {
    outcome: Outcome,
    aborted: Option<String>,
    paused: Option<String>,
}

/// Runs `reg`'s plan over `records` inside the runtime.
fn run_plan(
    reg: &Registration,
    calls: &mut dyn crate::runtime::Calls,
    records: Vec<Record>,
    profile: bool,
) -> Ran {
    let mut ran = Ran::default();
    let executor = match step::Executor::new(&reg.spec.plan, profile) {
        Ok(e) => e,
        Err(e) => {
            ran.outcome.errors.push(e);
            return ran;
        }
    };
    let mut r = VecReader(records.into_iter());
    let produced = executor.run(&mut r, calls);
    ran.outcome.results = produced.results.iter().map(|n| calls.to_reply(n)).collect();
    ran.outcome.errors = produced.errors;
    ran.aborted = produced.aborted;
    ran.paused = produced.pause;
    ran
}

fn stream_record_id(r: &Record) -> Option<String> {
    if let Record::Map(fields) = r
        && let Some((_, Record::Bytes(id))) = fields.iter().find(|(k, _)| k == "id")
    {
        return Some(String::from_utf8_lossy(id).into_owned());
    }
    None
}

/// The id right after `id` (`ms-seq+1`), for trimming everything up to `id`.
fn next_stream_id(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    let seq: u64 = seq.parse().ok()?;
    let ms: u64 = ms.parse().ok()?;
    Some(match seq.checked_add(1) {
        Some(s) => format!("{ms}-{s}"),
        None => format!("{}-0", ms.checked_add(1)?),
    })
}

/// The `{'key', 'id', 'value'}` records of an XREAD or XREADGROUP reply (anything else: none).
pub fn stream_records(key: &[u8], reply: ReplyValue) -> Vec<Record> {
    let ReplyValue::Array(streams) = reply else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in streams {
        let ReplyValue::Array(mut kv) = s else {
            continue;
        };
        let Some(ReplyValue::Array(entries)) = kv.pop() else {
            continue;
        };
        for e in entries {
            let ReplyValue::Array(parts) = e else {
                continue;
            };
            let mut parts = parts.into_iter();
            let (Some(ReplyValue::Bulk(id)), Some(ReplyValue::Array(fv))) =
                (parts.next(), parts.next())
            else {
                continue;
            };
            let mut value = Vec::with_capacity(fv.len() / 2);
            let mut it = fv.into_iter();
            while let (Some(ReplyValue::Bulk(f)), Some(ReplyValue::Bulk(v))) =
                (it.next(), it.next())
            {
                value.push((String::from_utf8_lossy(&f).into_owned(), Record::Bytes(v)));
            }
            out.push(Record::Map(vec![
                ("key".to_string(), Record::bytes(key)),
                ("id".to_string(), Record::Bytes(id)),
                ("value".to_string(), Record::Map(value)),
            ]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::next_stream_id;

    #[test]
    fn next_ids() {
        assert_eq!(next_stream_id("5-3").as_deref(), Some("5-4"));
        assert_eq!(
            next_stream_id(&format!("5-{}", u64::MAX)).as_deref(),
            Some("6-0")
        );
        assert_eq!(next_stream_id("x"), None);
    }
}
