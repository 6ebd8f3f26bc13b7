//! RedisGears commands (`RG.*`): the only place that parses their arguments and builds their
//! replies. Errors carry RedisGears' texts, which have no `ERR ` prefix; wrong arity names the
//! command as the client sent it, as RedisGears' `RedisModule_WrongArity` does.

use std::sync::Arc;

use super::blocking::deferred;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::config::{GearsSet, GearsValue};
use crate::engine::{
    EngineError, ExecuteReply, ExecuteRequest, Execution, ExecutionId, Outcome, ReaderKind,
    Registration, RuntimeKind, SHARD_ID, Session, TriggerReply,
};
use crate::limits::LimitOverrides;
use crate::runtime::ReplyValue;

/// RedisGears registers every command variadic and checks arguments in the handler.
const RG: Flags = Flags::READONLY.union(Flags::SKIP_SLOWLOG);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("rg.pyexecute", -1, RG, pyexecute)
        .group("gears")
        .summary("Execute a Python function"),
    CommandSpec::new("rg.wasmexecute", -1, RG, wasmexecute)
        .group("gears")
        .summary("Upload a WebAssembly function (component) and run or register it"),
    CommandSpec::new("rg.dumpexecutions", -1, RG, dumpexecutions)
        .group("gears")
        .summary("List executions"),
    CommandSpec::new("rg.getexecution", -1, RG, getexecution)
        .group("gears")
        .summary("Get an execution's plan and profile"),
    CommandSpec::new("rg.getresults", -1, RG, getresults)
        .group("gears")
        .summary("Get a finished execution's results"),
    CommandSpec::new("rg.getresultsblocking", -1, RG, getresultsblocking)
        .group("gears")
        .summary("Wait for an execution's results"),
    CommandSpec::new("rg.dropexecution", -1, RG, dropexecution)
        .group("gears")
        .summary("Remove a finished execution"),
    CommandSpec::new("rg.abortexecution", -1, RG, abortexecution)
        .group("gears")
        .summary("Abort an execution"),
    CommandSpec::new("rg.configget", -1, RG, configget)
        .group("gears")
        .summary("Get RedisGears configuration values"),
    CommandSpec::new("rg.configset", -1, RG, configset)
        .group("gears")
        .summary("Set RedisGears configuration values"),
    CommandSpec::new("rg.pystats", -1, RG, pystats)
        .group("gears")
        .summary("Python allocator statistics"),
    CommandSpec::new("rg.pydumpsessions", -1, RG, pydumpsessions)
        .group("gears")
        .summary("List Python sessions"),
    CommandSpec::new("rg.infocluster", -1, RG, infocluster)
        .group("gears")
        .summary("Cluster topology (stand-alone here)"),
    CommandSpec::new("rg.refreshcluster", -1, RG, refreshcluster)
        .group("gears")
        .summary("Refresh the cluster topology"),
    CommandSpec::new("rg.dumpplugins", -1, RG, dumpplugins)
        .group("gears")
        .summary("List the loaded plugins and their versions"),
    CommandSpec::new("rg.dumpregistrations", -1, RG, dumpregistrations)
        .group("gears")
        .summary("List registrations"),
    CommandSpec::new("rg.unregister", -1, RG, unregister)
        .group("gears")
        .summary("Remove a registration"),
    CommandSpec::new("rg.pauseregistrations", -1, RG, pauseregistrations)
        .group("gears")
        .summary("Pause registrations"),
    CommandSpec::new("rg.unpauseregistrations", -1, RG, unpauseregistrations)
        .group("gears")
        .summary("Resume paused registrations"),
    CommandSpec::new(
        "rg.clearregistrationsstats",
        -1,
        RG,
        clearregistrationsstats,
    )
    .group("gears")
    .summary("Reset registration counters"),
    CommandSpec::new("rg.trigger", -1, RG, trigger)
        .group("gears")
        .summary("Run a CommandReader trigger"),
    CommandSpec::new("rg.triggeronkey", -1, RG, trigger)
        .keys(2, 2, 1)
        .group("gears")
        .summary("Run a CommandReader trigger on a key"),
    CommandSpec::new("rg.pyprofile", -1, RG, pyprofile)
        .group("gears")
        .summary("Profile statistics of a Python session's callbacks"),
    CommandSpec::new("rg.pydumpreqs", -1, RG, pydumpreqs)
        .group("gears")
        .summary("List the Python requirements dictionary"),
    CommandSpec::new("rg.pyexportreq", -1, RG, pyexportreq)
        .group("gears")
        .summary("Export a Python requirement with its wheels"),
    CommandSpec::new("rg.pyimportreq", -1, RG, pyimportreq)
        .group("gears")
        .summary("Import and install an exported Python requirement"),
];

fn arity(args: &Args<'_>) -> CmdError {
    CmdError::Arity(String::from_utf8_lossy(args.name()).into_owned())
}

fn rg_err(msg: impl Into<String>) -> CmdError {
    CmdError::owned(msg.into())
}

/// A reply value as a command reply.
pub fn value_reply(v: &ReplyValue) -> Reply {
    match v {
        ReplyValue::Nil => Reply::Null,
        ReplyValue::Int(n) => Reply::Int(*n),
        ReplyValue::Double(d) => Reply::Double(*d),
        ReplyValue::Bool(b) => Reply::Bool(*b),
        ReplyValue::Status(s) => Reply::Simple(String::from_utf8_lossy(s).into_owned().into()),
        ReplyValue::Bulk(b) => Reply::bulk(b),
        ReplyValue::Error(e) => Reply::Error(e.clone().into()),
        ReplyValue::Array(items) => Reply::Array(items.iter().map(value_reply).collect()),
    }
}

/// `[results, errors]`.
fn outcome_reply(o: &Outcome) -> Reply {
    Reply::Array(vec![
        Reply::Array(o.results.iter().map(value_reply).collect()),
        Reply::Array(o.errors.iter().map(Reply::bulk).collect()),
    ])
}

fn execute_reply(r: ExecuteReply) -> Reply {
    match r {
        ExecuteReply::Ok => Reply::Ok,
        ExecuteReply::Error(e) => Reply::Error(e.into()),
        ExecuteReply::Results(o) => outcome_reply(&o),
        ExecuteReply::Id(id) => Reply::bulk(id),
    }
}

fn valid_session_id(id: &[u8]) -> bool {
    id.iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// Parses the value of a limit option (`FUEL`, `MEMORY`, `TIMEOUT`, `MAXBREACHES`) into
/// `limits` when `upper` names one; returns whether it did. `args` is positioned on the option.
fn limit_option(
    upper: &[u8],
    args: &mut Args<'_>,
    limits: &mut LimitOverrides,
) -> Result<bool, CmdError> {
    let name = match upper {
        b"FUEL" => "FUEL",
        b"MEMORY" => "MEMORY",
        b"TIMEOUT" => "TIMEOUT",
        b"MAXBREACHES" => "MAXBREACHES",
        _ => return Ok(false),
    };
    args.next_opt();
    let v = args
        .peek()
        .ok_or_else(|| rg_err(format!("{name} is missing")))?;
    let text = String::from_utf8_lossy(v);
    let n = if name == "MEMORY" {
        crate::config::parse_memory(&text)
    } else {
        text.parse::<u64>().ok()
    };
    let bad = || {
        rg_err(match name {
            "MEMORY" => format!(
                "MEMORY must be a byte count from 0 to {} (0: the maximum)",
                crate::config::MAX_MEMORY_LIMIT
            ),
            "MAXBREACHES" => {
                format!("MAXBREACHES must be an integer from 0 to {}", u32::MAX)
            }
            _ => format!("{name} must be a non-negative integer"),
        })
    };
    let n = n.ok_or_else(bad)?;
    match name {
        "FUEL" => limits.fuel = Some(n),
        "MEMORY" => {
            if n > crate::config::MAX_MEMORY_LIMIT as u64 {
                return Err(bad());
            }
            limits.memory_bytes = Some(n);
        }
        "TIMEOUT" => limits.timeout_ms = Some(n),
        _ => limits.max_breaches = Some(u32::try_from(n).map_err(|_| bad())?),
    }
    Ok(true)
}

/// `RG.PYEXECUTE "<code>" [UNBLOCKING] [ID id] [DESCRIPTION d] [UPGRADE] [REPLACE_WITH id]
/// [FORCE_REINSTALL_REQUIREMENTS] [FUEL n] [MEMORY bytes] [TIMEOUT ms] [MAXBREACHES n]
/// [REQUIREMENTS req ...]`: runs a Python script on an execution thread; the client waits for
/// `OK`, `[results, errors]`, an error, or (UNBLOCKING) the id. TIMEOUT and MEMORY bind Python
/// executions best effort; FUEL is stored and binds once Python runs sandboxed.
fn pyexecute(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if !ctx.may_block() {
        return Err(rg_err(
            "Can not run gears inside a multi exec, lua, or when blocking is not allowed",
        ));
    }
    let Some(code) = args.next_opt() else {
        return Err(arity(&args));
    };
    let mut req = ExecuteRequest {
        code: code.to_vec(),
        ..ExecuteRequest::default()
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    while let Some(opt) = args.peek() {
        let upper = opt.to_ascii_uppercase();
        match upper.as_slice() {
            b"UNBLOCKING" => req.unblocking = true,
            b"UPGRADE" => req.upgrade = true,
            b"FORCE_REINSTALL_REQUIREMENTS" => req.force_reinstall = true,
            b"REPLACE_WITH" => {
                args.next_opt();
                let v = args
                    .peek()
                    .ok_or_else(|| rg_err("REPLACE_WITH is missing"))?;
                req.replace_with = Some(text(v));
                req.upgrade = true;
            }
            b"ID" => {
                args.next_opt();
                let v = args.peek().ok_or_else(|| rg_err("ID is missing"))?;
                if !valid_session_id(v) {
                    return Err(rg_err(
                        "ID must be compose of: ['A'-'Z' | 'a'-'z' | '0' - '9' | '-' | '_']",
                    ));
                }
                req.id = Some(text(v));
            }
            b"DESCRIPTION" => {
                args.next_opt();
                let v = args
                    .peek()
                    .ok_or_else(|| rg_err("DESCRIPTION is missing"))?;
                req.desc = Some(text(v));
            }
            other => {
                if !limit_option(other, &mut args, &mut req.limits)? {
                    break;
                }
            }
        }
        args.next_opt();
    }
    if let Some(tok) = args.next_opt() {
        if !tok.eq_ignore_ascii_case(b"REQUIREMENTS") {
            return Err(rg_err(format!(
                "Unknown arguments were given: {}",
                text(tok)
            )));
        }
        req.requirements = args.rest().iter().map(|r| text(r)).collect();
        args.skip_rest();
    }
    let (reply, tx) = deferred();
    ctx.shared.engine.pyexecute(
        req,
        Box::new(move |r| {
            let _ = tx.send(execute_reply(r));
        }),
    );
    Ok(reply)
}

/// `RG.WASMEXECUTE [ID id] [DESCRIPTION d] [UPGRADE] [UNBLOCKING] [FUEL n] [MEMORY bytes]
/// [TIMEOUT ms] [MAXBREACHES n] [ISOLATE] <module>`: uploads a WebAssembly component (the last
/// argument, so `redis-cli -x RG.WASMEXECUTE ... < fn.wasm` works), compiles it off the serving
/// threads, runs its `init` and then its `run()` or registrations, as RG.PYEXECUTE does.
fn wasmexecute(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !ctx.may_block() {
        return Err(rg_err(
            "Can not run gears inside a multi exec, lua, or when blocking is not allowed",
        ));
    }
    // The module is the last argument; the options come between the name and it.
    let argv = args.argv();
    let (Some((module, head)), false) = (argv.split_last(), args.is_empty()) else {
        return Err(arity(&args));
    };
    let max = ctx.shared.engine.config().max_module_bytes;
    if i64::try_from(module.len()).unwrap_or(i64::MAX) > max {
        return Err(rg_err(format!(
            "module is {} bytes, over the MaxModuleBytes limit of {max} bytes",
            module.len()
        )));
    }
    let mut req = ExecuteRequest {
        runtime: RuntimeKind::Wasm,
        ..ExecuteRequest::default()
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut opts = Args::new(head);
    while let Some(opt) = opts.peek() {
        let upper = opt.to_ascii_uppercase();
        match upper.as_slice() {
            b"UNBLOCKING" => req.unblocking = true,
            b"UPGRADE" => req.upgrade = true,
            b"ISOLATE" => req.isolate = true,
            b"ID" => {
                opts.next_opt();
                let v = opts.peek().ok_or_else(|| rg_err("ID is missing"))?;
                if !valid_session_id(v) {
                    return Err(rg_err(
                        "ID must be compose of: ['A'-'Z' | 'a'-'z' | '0' - '9' | '-' | '_']",
                    ));
                }
                req.id = Some(text(v));
            }
            b"DESCRIPTION" => {
                opts.next_opt();
                let v = opts
                    .peek()
                    .ok_or_else(|| rg_err("DESCRIPTION is missing"))?;
                req.desc = Some(text(v));
            }
            other => {
                if !limit_option(other, &mut opts, &mut req.limits)? {
                    return Err(rg_err(format!(
                        "Unknown arguments were given: {}",
                        text(opt)
                    )));
                }
            }
        }
        opts.next_opt();
    }
    req.code = module.to_vec();
    let (reply, tx) = deferred();
    ctx.shared.engine.execute(
        req,
        Box::new(move |r| {
            let _ = tx.send(execute_reply(r));
        }),
    );
    Ok(reply)
}

fn lookup(ctx: &Ctx<'_>, raw: &[u8], err: EngineError) -> Result<Arc<Execution>, CmdError> {
    ExecutionId::parse(raw)
        .and_then(|id| ctx.shared.engine.execution(id))
        .ok_or_else(|| rg_err(err.to_string()))
}

/// `RG.DUMPEXECUTIONS`: `[executionId, id, status, s, registered, 0|1]` per execution.
fn dumpexecutions(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Array(
        ctx.shared
            .engine
            .executions()
            .iter()
            .map(|e| {
                Reply::Array(vec![
                    Reply::bulk("executionId"),
                    Reply::bulk(e.id.to_string()),
                    Reply::bulk("status"),
                    Reply::bulk(e.status().as_str()),
                    Reply::bulk("registered"),
                    Reply::Int(i64::from(e.registered)),
                ])
            })
            .collect(),
    ))
}

fn ms(d: std::time::Duration) -> Reply {
    Reply::Int(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `RG.GETEXECUTION id [SHARD|CLUSTER]`: the plan, status, counts and per-step profile.
fn getexecution(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.is_empty() || args.len() > 2 {
        return Err(arity(&args));
    }
    let id = args.next_bytes()?;
    let exec = lookup(ctx, id, EngineError::NoSuchPlan)?;
    if let Some(mode) = args.next_opt() {
        if mode.eq_ignore_ascii_case(b"CLUSTER") {
            return Err(rg_err(
                "no cluster detected - use `RG.GETEXECUTION <id> [SHARD]` instead",
            ));
        }
        if !mode.eq_ignore_ascii_case(b"SHARD") {
            return Err(rg_err("unknown subcommand"));
        }
    }
    let st = exec.state.lock();
    let done = st.status.is_finished();
    let steps = st
        .steps
        .iter()
        .rev()
        .map(|s| {
            Reply::Array(vec![
                Reply::bulk("type"),
                Reply::bulk(s.kind),
                Reply::bulk("duration"),
                ms(s.duration),
                Reply::bulk("name"),
                Reply::bulk(s.name),
                Reply::bulk("arg"),
                Reply::bulk(&s.arg),
            ])
        })
        .collect();
    let plan = Reply::Array(vec![
        Reply::bulk("status"),
        Reply::bulk(st.status.as_str()),
        Reply::bulk("shards_received"),
        Reply::Int(0),
        Reply::bulk("shards_completed"),
        Reply::Int(0),
        Reply::bulk("results"),
        Reply::Int(if done {
            i64::try_from(st.outcome.results.len()).unwrap_or(i64::MAX)
        } else {
            -1
        }),
        Reply::bulk("errors"),
        Reply::Array(if done {
            st.outcome.errors.iter().map(Reply::bulk).collect()
        } else {
            Vec::new()
        }),
        Reply::bulk("total_duration"),
        ms(st.total),
        Reply::bulk("read_duration"),
        ms(st.read),
        Reply::bulk("steps"),
        Reply::Array(steps),
    ]);
    Ok(Reply::Array(vec![Reply::Array(vec![
        Reply::bulk("shard_id"),
        Reply::bulk(SHARD_ID),
        Reply::bulk("execution_plan"),
        plan,
    ])]))
}

/// `RG.GETRESULTS id`: `[results, errors]` of a finished execution.
fn getresults(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let Some(id) = args.next_opt() else {
        return Err(arity(&args));
    };
    args.skip_rest();
    let exec = lookup(ctx, id, EngineError::NoSuchPlan)?;
    let st = exec.state.lock();
    if !st.status.is_finished() {
        return Err(rg_err(EngineError::StillRunning.to_string()));
    }
    Ok(outcome_reply(&st.outcome))
}

/// `RG.GETRESULTSBLOCKING id`: waits for the execution, then `[results, errors]`.
fn getresultsblocking(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.len() != 1 {
        return Err(arity(&args));
    }
    let id = args.next_bytes()?;
    let exec = lookup(ctx, id, EngineError::NoSuchPlan)?;
    if exec.status().is_finished() {
        return Ok(outcome_reply(&exec.state.lock().outcome));
    }
    if !ctx.may_block() {
        return Err(rg_err(EngineError::StillRunning.to_string()));
    }
    let (reply, tx) = deferred();
    exec.when_done(Box::new(move |o| {
        let _ = tx.send(outcome_reply(o));
    }));
    Ok(reply)
}

/// `RG.DROPEXECUTION id`.
fn dropexecution(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.len() != 1 {
        return Err(arity(&args));
    }
    let raw = args.next_bytes()?;
    let id = ExecutionId::parse(raw).ok_or_else(|| rg_err(EngineError::NoSuchPlan.to_string()))?;
    ctx.shared
        .engine
        .drop_execution(id)
        .map_err(|e| rg_err(e.to_string()))?;
    Ok(Reply::Ok)
}

/// `RG.ABORTEXECUTION id`: marks the execution aborted and interrupts its code; the client
/// waits until the execution stopped, as in RedisGears (whose abort is an internal execution
/// that keeps interrupting the running code until it is done).
fn abortexecution(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.len() != 1 {
        return Err(arity(&args));
    }
    let raw = args.next_bytes()?;
    let id =
        ExecutionId::parse(raw).ok_or_else(|| rg_err(EngineError::NoSuchExecution.to_string()))?;
    let engine = &ctx.shared.engine;
    engine
        .abort_execution(id)
        .map_err(|e| rg_err(e.to_string()))?;
    let Some(exec) = engine.execution(id) else {
        return Ok(Reply::Ok);
    };
    if exec.status().is_finished() || !ctx.may_block() {
        return Ok(Reply::Ok);
    }
    let (reply, tx) = deferred();
    exec.when_done(Box::new(move |_| {
        let _ = tx.send(Reply::Ok);
    }));
    Ok(reply)
}

fn gears_value(v: GearsValue) -> Reply {
    match v {
        GearsValue::Int(n) => Reply::Int(n),
        GearsValue::Text(t) => Reply::bulk(t),
        GearsValue::List(l) => Reply::bulks(l),
    }
}

/// `RG.CONFIGGET key [key ...]`: one value or error element per key.
fn configget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let config = ctx.shared.engine.config();
    Ok(Reply::Array(
        args.rest()
            .iter()
            .map(|k| match config.get(&String::from_utf8_lossy(k)) {
                Ok(v) => gears_value(v),
                Err(e) => Reply::Error(e.into()),
            })
            .collect(),
    ))
}

/// `RG.CONFIGSET key value [key value ...]`: one element per key processed.
fn configset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let rest = args.rest();
    let mut out = Vec::new();
    let mut config = ctx.shared.engine.config_mut();
    let mut i = 0;
    while i < rest.len() {
        let key = String::from_utf8_lossy(rest[i]).into_owned();
        let value = rest
            .get(i + 1)
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let r = config.set(&key, value.as_deref(), false);
        let stop = value.is_none();
        out.push(match r {
            GearsSet::Ok => Reply::Ok,
            GearsSet::SavedExtra => {
                Reply::simple("OK - value was saved in extra config dictionary")
            }
            GearsSet::Error(e) => Reply::Error(e.into()),
        });
        if stop {
            break;
        }
        i += 2;
    }
    Ok(Reply::Array(out))
}

/// `RG.PYSTATS`: the Python allocator's counters.
fn pystats(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let (total, peak, curr) = python_alloc_stats();
    Ok(Reply::Array(vec![
        Reply::bulk("TotalAllocated"),
        Reply::Int(total),
        Reply::bulk("PeakAllocated"),
        Reply::Int(peak),
        Reply::bulk("CurrAllocated"),
        Reply::Int(curr),
    ]))
}

#[cfg(feature = "python")]
fn python_alloc_stats() -> (i64, i64, i64) {
    crate::runtime::python::alloc_stats()
}

#[cfg(not(feature = "python"))]
fn python_alloc_stats() -> (i64, i64, i64) {
    (0, 0, 0)
}

fn session_entry(s: &Session, verbose: Option<&[Arc<Registration>]>) -> Reply {
    // One lock for both fields: the guard of a temporary lives to the end of the statement, and
    // the mutex is not reentrant.
    let registrations = s.registrations.lock().clone();
    let mut entry = vec![
        Reply::bulk("ID"),
        Reply::bulk(&s.id),
        Reply::bulk("sessionDescription"),
        Reply::bulk_or_null(s.desc.as_deref()),
        Reply::bulk("refCount"),
        Reply::Int(i64::try_from(registrations.len()).unwrap_or(0).max(1)),
        Reply::bulk("linked"),
        Reply::bulk("primary"),
        Reply::bulk("dead"),
        Reply::bulk("false"),
        Reply::bulk("requirementInstallationNeeded"),
        Reply::Int(i64::from(s.requirements_installed)),
        Reply::bulk("requirements"),
        session_requirements(s, verbose.is_some()),
        Reply::bulk("registrations"),
        match verbose {
            // VERBOSE: each registration's dump without `PD`; an id that no longer resolves
            // stays a plain id.
            Some(all) => Reply::Array(
                registrations
                    .iter()
                    .map(|id| match all.iter().find(|r| &r.id == id) {
                        Some(r) => registration_entry(r, false),
                        None => Reply::bulk(id),
                    })
                    .collect(),
            ),
            None => Reply::bulks(registrations.iter()),
        },
    ];
    // gears-host extension, for sessions of other runtimes than Python (RedisGears' 16
    // elements stay as they are for Python sessions).
    if s.runtime.name() != "python" {
        entry.push(Reply::bulk("runtime"));
        entry.push(Reply::bulk(s.runtime.name()));
    }
    Reply::Array(entry)
}

/// `RG.PYDUMPSESSIONS [VERBOSE] [DEAD] [SESSIONS s ...]`.
fn pydumpsessions(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let mut dead = false;
    let mut verbose = false;
    while let Some(opt) = args.peek() {
        if opt.eq_ignore_ascii_case(b"VERBOSE") {
            verbose = true;
        } else if opt.eq_ignore_ascii_case(b"DEAD") {
            dead = true;
        } else {
            break;
        }
        args.next_opt();
    }
    let engine = &ctx.shared.engine;
    let all = verbose.then(|| engine.registrations());
    let all = all.as_deref();
    if let Some(tok) = args.next_opt() {
        if !tok.eq_ignore_ascii_case(b"SESSIONS") {
            return Err(rg_err(format!(
                "Unknown option {}",
                String::from_utf8_lossy(tok)
            )));
        }
        return Ok(Reply::Array(
            args.rest()
                .iter()
                .map(|name| {
                    let name = String::from_utf8_lossy(name);
                    match engine.session(&name) {
                        Some(s) => session_entry(&s, all),
                        None => Reply::bulk(format!("Session {name} does not exists")),
                    }
                })
                .collect(),
        ));
    }
    if dead {
        return Ok(Reply::Array(Vec::new()));
    }
    Ok(Reply::Array(
        engine
            .sessions()
            .iter()
            .map(|s| session_entry(s, all))
            .collect(),
    ))
}

/// `RG.INFOCLUSTER`: a stand-alone server is not a cluster.
fn infocluster(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::bulk("no cluster mode"))
}

/// `RG.REFRESHCLUSTER`.
fn refreshcluster(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Ok)
}

/// `RG.DUMPPLUGINS`: `[name, version]` per plugin (the Python plugin, as RedisGears 1.2 reports
/// it).
fn dumpplugins(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Array(vec![Reply::Array(vec![
        Reply::bulk("GearsPythonPlugin"),
        Reply::Int(10000),
    ])]))
}

/// The `PD` string of RG.DUMPREGISTRATIONS: the session rendered as RedisGears 1.2 does.
fn pd_string(s: &Session) -> String {
    let regs = s.registrations.lock();
    let list: Vec<String> = regs.iter().map(|r| format!("'{r}'")).collect();
    format!(
        "{{'sessionName':'{}', 'sessionDescription':'{}', 'refCount': {}, 'linkedTo': primary, 'dead': false, 'isInstallationNeeded':{}, 'registrationsList':[{}], 'depsList':[{}]}}",
        s.id,
        s.desc.as_deref().unwrap_or("null"),
        regs.len().max(1),
        i64::from(s.requirements_installed),
        list.join(","),
        pd_deps(s),
    )
}

fn opt_list(v: &Option<Vec<String>>) -> Reply {
    match v {
        Some(items) => Reply::bulks(items),
        None => Reply::Null,
    }
}

fn registration_data(r: &Registration) -> Reply {
    let s = r.stats.lock().clone();
    let status = r.status.lock().clone();
    let ms = |d: std::time::Duration| Reply::Int(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let int = |n: u64| Reply::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let mut data = vec![
        Reply::bulk("mode"),
        Reply::bulk(r.mode().as_str()),
        Reply::bulk("numTriggered"),
        int(s.triggered),
        Reply::bulk("numSuccess"),
        int(s.success),
        Reply::bulk("numFailures"),
        int(s.failures),
        Reply::bulk("numAborted"),
        int(s.aborted),
        Reply::bulk("lastRunDurationMS"),
        ms(s.last_run),
        Reply::bulk("totalRunDurationMS"),
        ms(s.total_run),
        Reply::bulk("avgRunDurationMS"),
        Reply::Double(s.avg_run_ms()),
    ];
    if r.kind == ReaderKind::Stream {
        data.extend([
            Reply::bulk("lastEstimatedLagMS"),
            int(s.last_lag_ms),
            Reply::bulk("avgEstimatedLagMS"),
            Reply::Double(s.avg_lag_ms()),
        ]);
    }
    data.push(Reply::bulk("lastError"));
    data.push(Reply::bulk_or_null(s.last_error.as_deref()));
    data.push(Reply::bulk("args"));
    let spec = &r.spec;
    data.push(match r.kind {
        ReaderKind::Keys => Reply::Array(vec![
            Reply::bulk("regex"),
            Reply::bulk(&spec.prefix),
            Reply::bulk("eventTypes"),
            opt_list(&spec.event_types),
            Reply::bulk("keyTypes"),
            opt_list(&spec.key_types),
            Reply::bulk("hookCommands"),
            opt_list(&spec.commands),
        ]),
        ReaderKind::Stream => Reply::Array(vec![
            Reply::bulk("batchSize"),
            Reply::Int(spec.batch),
            Reply::bulk("durationMS"),
            Reply::Int(spec.duration),
            Reply::bulk("stream"),
            Reply::bulk(&spec.prefix),
            Reply::bulk("trimStream"),
            Reply::Int(i64::from(spec.trim_stream)),
            Reply::bulk("onFailedPolicy"),
            Reply::bulk(spec.on_failed.as_str()),
            Reply::bulk("retryInterval"),
            Reply::Int(spec.retry_interval),
        ]),
        ReaderKind::Command => Reply::Array(vec![
            Reply::bulk("trigger"),
            Reply::bulk(
                spec.trigger
                    .as_deref()
                    .or(spec.hook.as_deref())
                    .unwrap_or(""),
            ),
            Reply::bulk("inorder"),
            Reply::Int(i64::from(spec.inorder)),
        ]),
    });
    if r.kind == ReaderKind::Stream {
        data.push(Reply::bulk("status"));
        data.push(Reply::bulk(status.as_str()));
    }
    // gears-host extensions, after RedisGears' fields: events skipped while paused, and why a
    // registration is paused.
    data.push(Reply::bulk("numSkipped"));
    data.push(int(s.skipped));
    if let crate::engine::RegStatus::Paused(reason) = &status {
        if r.kind != ReaderKind::Stream {
            data.push(Reply::bulk("status"));
            data.push(Reply::bulk(status.as_str()));
        }
        data.push(Reply::bulk("pauseReason"));
        data.push(Reply::bulk(reason));
    }
    Reply::Array(data)
}

fn registration_entry(r: &Registration, with_pd: bool) -> Reply {
    let mut out = vec![
        Reply::bulk("id"),
        Reply::bulk(&r.id),
        Reply::bulk("reader"),
        Reply::bulk(r.kind.as_str()),
        Reply::bulk("desc"),
        Reply::bulk_or_null(r.spec.plan.desc.as_deref()),
        Reply::bulk("RegistrationData"),
        registration_data(r),
    ];
    if with_pd {
        out.push(Reply::bulk("PD"));
        out.push(Reply::bulk(pd_string(&r.session)));
    }
    out.push(Reply::bulk("ExecutionThreadPool"));
    out.push(Reply::bulk("DefaultPool"));
    Reply::Array(out)
}

/// `RG.DUMPREGISTRATIONS`: every registration with its counters and arguments.
fn dumpregistrations(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Array(
        ctx.shared
            .engine
            .registrations()
            .iter()
            .map(|r| registration_entry(r, true))
            .collect(),
    ))
}

/// `RG.UNREGISTER id [abortpending]`.
fn unregister(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.is_empty() || args.len() > 2 {
        return Err(arity(&args));
    }
    let id = String::from_utf8_lossy(args.next_bytes()?).into_owned();
    let abort_pending = args
        .next_opt()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"abortpending"));
    let running = ctx
        .shared
        .engine
        .unregister(&id, abort_pending)
        .map_err(rg_err)?;
    let running: Vec<_> = running
        .into_iter()
        .filter(|e| !e.status().is_finished())
        .collect();
    // Inside a function (or MULTI) the caller may be the running execution itself: no wait.
    if running.is_empty() || !ctx.may_block() {
        return Ok(Reply::Ok);
    }
    let (reply, tx) = deferred();
    let left = Arc::new(std::sync::atomic::AtomicUsize::new(running.len()));
    let tx = Arc::new(parking_lot::Mutex::new(Some(tx)));
    for exec in running {
        let (left, tx) = (left.clone(), tx.clone());
        exec.when_done(Box::new(move |_| {
            if left.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1
                && let Some(tx) = tx.lock().take()
            {
                let _ = tx.send(Reply::Ok);
            }
        }));
    }
    Ok(reply)
}

/// The ids of a PAUSE/UNPAUSE command: RedisGears 1.2 takes exactly one; several are accepted
/// here too (the documented form), applied atomically: all exist, or nothing changes.
fn pause_ids(ctx: &Ctx<'_>, args: &Args<'_>) -> Result<Vec<String>, CmdError> {
    let ids: Vec<String> = args
        .rest()
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let known = ctx.shared.engine.registrations();
    for id in &ids {
        if !known.iter().any(|r| &r.id == id) {
            return Err(rg_err(format!(
                "Execution {id} does not exists on shard {SHARD_ID}"
            )));
        }
    }
    Ok(ids)
}

/// `RG.PAUSEREGISTRATIONS [ABORTPENDING] id [id ...]`.
fn pauseregistrations(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.is_empty() {
        return Err(arity(&args));
    }
    if args
        .peek()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"ABORTPENDING"))
    {
        args.next_opt();
        if args.is_empty() {
            return Err(rg_err("ERR no registration to pause"));
        }
    }
    let ids = pause_ids(ctx, &args)?;
    for id in ids {
        ctx.shared
            .engine
            .pause(&id, "paused by RG.PAUSEREGISTRATIONS")
            .map_err(rg_err)?;
    }
    Ok(Reply::Ok)
}

/// `RG.UNPAUSEREGISTRATIONS id [id ...]`.
fn unpauseregistrations(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.is_empty() {
        return Err(arity(&args));
    }
    let ids = pause_ids(ctx, &args)?;
    let engine = ctx.shared.engine.clone();
    // Unpausing a stream registration rescans the keyspace this command already holds.
    super::host::with_borrowed_store(ctx.store, || {
        ids.iter()
            .try_for_each(|id| engine.unpause(id).map_err(rg_err))
    })?;
    Ok(Reply::Ok)
}

/// `RG.CLEARREGISTRATIONSSTATS`.
fn clearregistrationsstats(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !args.is_empty() {
        return Err(arity(&args));
    }
    ctx.shared.engine.clear_registration_stats();
    Ok(Reply::Ok)
}

fn trigger_reply(r: TriggerReply) -> Reply {
    match r {
        TriggerReply::Results(v) => Reply::Array(v.iter().map(value_reply).collect()),
        TriggerReply::Error(e) => Reply::Error(e.into()),
    }
}

/// `RG.TRIGGER name [arg ...]` / `RG.TRIGGERONKEY name key [arg ...]`: runs the trigger's
/// function over `[name, args...]` and replies with its results.
fn trigger(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let Some(name) = args.next_opt() else {
        return Err(arity(&args));
    };
    let name = String::from_utf8_lossy(name).into_owned();
    let rest: Vec<Vec<u8>> = args.rest().iter().map(|a| a.to_vec()).collect();
    let can_block = ctx.may_block();
    let engine = ctx.shared.engine.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let (deferred_reply, deferred_tx) = deferred();
    let deferred_tx = std::sync::Mutex::new(Some(deferred_tx));
    let on_thread = std::thread::current().id();
    super::host::with_borrowed_store(ctx.store, || {
        engine.trigger(
            &name,
            rest,
            can_block,
            Box::new(move |r| {
                if std::thread::current().id() == on_thread {
                    let _ = tx.send(r);
                } else if let Ok(mut g) = deferred_tx.lock()
                    && let Some(d) = g.take()
                {
                    let _ = d.send(trigger_reply(r));
                }
            }),
        );
    });
    // A sync trigger (or an immediate error) replied on this thread; otherwise wait.
    match rx.try_recv() {
        Ok(r) => Ok(trigger_reply(r)),
        Err(_) => Ok(deferred_reply),
    }
}

/// `RG.PYPROFILE STATS <session id> [<order by>]` | `RG.PYPROFILE RESET <session id>`: the
/// cProfile report of a linked session's callbacks (collected while ProfileExecutions is on),
/// or a fresh profiler. As in RedisGears the order argument is accepted but the report is
/// always ordered by `tottime`.
fn pyprofile(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let Some(sub) = args.next_opt() else {
        return Err(arity(&args));
    };
    let stats = sub.eq_ignore_ascii_case(b"STATS");
    if !stats && !sub.eq_ignore_ascii_case(b"RESET") {
        return Err(rg_err("Wrong subcommand given to RG.PYPROFILE"));
    }
    let rest = args.rest();
    let bad_arity = if stats {
        rest.is_empty() || rest.len() > 2
    } else {
        rest.len() != 1
    };
    let Some(id) = rest.first().filter(|_| !bad_arity) else {
        return Err(arity(&args));
    };
    let id = String::from_utf8_lossy(id).into_owned();
    args.skip_rest();
    let engine = &ctx.shared.engine;
    let session = engine
        .session(&id)
        .ok_or_else(|| rg_err("session does not exists"))?;
    // Taking the GIL while this thread holds the keyspace could deadlock with a thread that
    // holds the GIL and waits for the keyspace: the report is built on a thread of its own.
    if !ctx.may_block() {
        return Err(rg_err(
            "Can not run gears inside a multi exec, lua, or when blocking is not allowed",
        ));
    }
    let traceback = engine.config().python_attempt_traceback != 0;
    let (reply, tx) = deferred();
    let work = move || {
        let r = if stats {
            session
                .runtime
                .profile_stats(&session.state, "tottime", traceback)
                .map(Reply::bulk)
        } else {
            session
                .runtime
                .profile_reset(&session.state)
                .map(|()| Reply::Ok)
        };
        let _ = tx.send(r.unwrap_or_else(|e| Reply::Error(e.into())));
    };
    std::thread::Builder::new()
        .name("gears-pyprofile".into())
        .spawn(work)
        .map_err(|e| rg_err(format!("could not read the profile: {e}")))?;
    Ok(reply)
}

// ---- Python requirements (RG.PYDUMPREQS, RG.PYEXPORTREQ, RG.PYIMPORTREQ) ----

use crate::engine::requirements::{self, RequirementInfo};

/// A session's `requirements`: names, or with VERBOSE each requirement's RG.PYDUMPREQS entry.
fn session_requirements(s: &Session, verbose: bool) -> Reply {
    if !verbose {
        return Reply::bulks(&s.requirements);
    }
    Reply::Array(
        s.requirement_refs
            .iter()
            .map(|r| requirement_reply(&r.requirement().info()))
            .collect(),
    )
}

fn yes_no(b: bool) -> Reply {
    Reply::bulk(if b { "yes" } else { "no" })
}

/// The 18-element metadata array of one requirement (RG.PYDUMPREQS, RG.PYEXPORTREQ).
fn requirement_reply(r: &RequirementInfo) -> Reply {
    Reply::Array(vec![
        Reply::bulk("GearReqVersion"),
        Reply::Int(requirements::REQ_VERSION),
        Reply::bulk("Name"),
        Reply::bulk(&r.name),
        Reply::bulk("IsDownloaded"),
        yes_no(r.downloaded),
        Reply::bulk("IsInstalled"),
        yes_no(r.installed),
        Reply::bulk("CompiledOs"),
        Reply::bulk(requirements::compiled_os()),
        Reply::bulk("Wheels"),
        match &r.wheels {
            Some(w) => Reply::bulks(w),
            None => Reply::bulk("Requirement was not yet downloaded so wheels are not available"),
        },
        Reply::bulk("Path"),
        Reply::bulk(&r.path),
        Reply::bulk("RefCount"),
        Reply::Int(i64::try_from(r.ref_count).unwrap_or(i64::MAX)),
        Reply::bulk("IsInReqDictionary"),
        yes_no(r.in_dict),
    ])
}

/// `RG.PYDUMPREQS`: the requirements dictionary, one 18-element entry per requirement.
fn pydumpreqs(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Array(
        ctx.shared
            .engine
            .dump_requirements()
            .iter()
            .map(requirement_reply)
            .collect(),
    ))
}

/// `[metadata, [chunk ...]]`: the blob in chunks of at most 10 MiB.
fn export_reply(r: Result<(RequirementInfo, bytes::Bytes), String>) -> Reply {
    match r {
        Ok((info, blob)) => {
            let mut chunks = Vec::with_capacity(blob.len() / requirements::EXPORT_CHUNK + 1);
            let mut at = 0;
            while at < blob.len() {
                let end = (at + requirements::EXPORT_CHUNK).min(blob.len());
                chunks.push(Reply::Bulk(blob.slice(at..end)));
                at = end;
            }
            Reply::Array(vec![requirement_reply(&info), Reply::Array(chunks)])
        }
        Err(e) => Reply::Error(e.into()),
    }
}

/// `RG.PYEXPORTREQ <name>`: the requirement's metadata and its serialised wheels (read on an
/// execution thread).
fn pyexportreq(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.len() != 1 {
        return Err(arity(&args));
    }
    let name = String::from_utf8_lossy(args.next_bytes()?).into_owned();
    if !ctx.may_block() {
        return Ok(export_reply(
            ctx.shared.engine.export_requirement_now(&name),
        ));
    }
    let (reply, tx) = deferred();
    ctx.shared.engine.export_requirement(
        name,
        Box::new(move |r| {
            let _ = tx.send(export_reply(r));
        }),
    );
    Ok(reply)
}

/// `RG.PYIMPORTREQ <chunk> [<chunk> ...]`: decodes the concatenated chunks as one requirement,
/// then writes and installs it on an execution thread; replies the bulk string `OK`.
fn pyimportreq(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let blob: Vec<u8> = args.rest().concat();
    let req = requirements::decode_blob(&blob).map_err(|e| rg_err(e.to_string()))?;
    drop(blob);
    let done = |r: Result<(), String>| match r {
        Ok(()) => Reply::bulk("OK"),
        Err(e) => Reply::Error(e.into()),
    };
    if !ctx.may_block() {
        // RedisGears cannot block here either: the import goes on, the client gets the error.
        ctx.shared.engine.import_requirement(req, Box::new(|_| {}));
        return Err(rg_err("Blocking module command called from transaction"));
    }
    let (reply, tx) = deferred();
    ctx.shared.engine.import_requirement(
        req,
        Box::new(move |r| {
            let _ = tx.send(done(r));
        }),
    );
    Ok(reply)
}

/// The `depsList` elements of a session's PD string:
/// `{'name':'<name>', 'basePath':'<dir>', 'wheels':['a.whl','b.whl']}` joined by `,`.
fn pd_deps(s: &Session) -> String {
    s.requirement_refs
        .iter()
        .map(|r| {
            let info = r.requirement().info();
            let wheels: Vec<String> = info
                .wheels
                .unwrap_or_default()
                .iter()
                .map(|w| format!("'{w}'"))
                .collect();
            format!(
                "{{'name':'{}', 'basePath':'{}', 'wheels':[{}]}}",
                info.name,
                info.path,
                wheels.join(",")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}
