//! RedisGears commands (`RG.*`): the only place that parses their arguments and builds their
//! replies. Errors carry RedisGears' texts, which have no `ERR ` prefix; wrong arity names the
//! command as the client sent it, as RedisGears' `RedisModule_WrongArity` does.

use std::sync::Arc;

use super::blocking::deferred;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::config::{GearsSet, GearsValue};
use crate::engine::{
    EngineError, ExecuteReply, ExecuteRequest, Execution, ExecutionId, Outcome, SHARD_ID, Session,
};
use crate::runtime::ReplyValue;

/// RedisGears registers every command variadic and checks arguments in the handler.
const RG: Flags = Flags::READONLY.union(Flags::SKIP_SLOWLOG);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("rg.pyexecute", -1, RG, pyexecute)
        .group("gears")
        .summary("Execute a Python function"),
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
    CommandSpec::new("rg.pyprofile", -1, RG, pyprofile)
        .group("gears")
        .summary("Profile statistics of a Python session's callbacks"),
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

/// `RG.PYEXECUTE "<code>" [UNBLOCKING] [ID id] [DESCRIPTION d] [UPGRADE] [REPLACE_WITH id]
/// [FORCE_REINSTALL_REQUIREMENTS] [REQUIREMENTS req ...]`: runs a Python script on an execution
/// thread; the client waits for `OK`, `[results, errors]`, an error, or (UNBLOCKING) the id.
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
            _ => break,
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

/// `RG.ABORTEXECUTION id`: marks the execution aborted and interrupts its code.
fn abortexecution(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    if args.len() != 1 {
        return Err(arity(&args));
    }
    let raw = args.next_bytes()?;
    let id =
        ExecutionId::parse(raw).ok_or_else(|| rg_err(EngineError::NoSuchExecution.to_string()))?;
    ctx.shared
        .engine
        .abort_execution(id)
        .map_err(|e| rg_err(e.to_string()))?;
    Ok(Reply::Ok)
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

fn session_entry(s: &Session) -> Reply {
    Reply::Array(vec![
        Reply::bulk("ID"),
        Reply::bulk(&s.id),
        Reply::bulk("sessionDescription"),
        Reply::bulk_or_null(s.desc.as_deref()),
        Reply::bulk("refCount"),
        Reply::Int(
            i64::try_from(s.registrations.lock().len())
                .unwrap_or(0)
                .max(1),
        ),
        Reply::bulk("linked"),
        Reply::bulk("primary"),
        Reply::bulk("dead"),
        Reply::bulk("false"),
        Reply::bulk("requirementInstallationNeeded"),
        Reply::Int(i64::from(s.requirements_installed)),
        Reply::bulk("requirements"),
        Reply::bulks(&s.requirements),
        Reply::bulk("registrations"),
        Reply::bulks(s.registrations.lock().iter()),
    ])
}

/// `RG.PYDUMPSESSIONS [VERBOSE] [DEAD] [SESSIONS s ...]`.
fn pydumpsessions(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let mut dead = false;
    while let Some(opt) = args.peek() {
        if opt.eq_ignore_ascii_case(b"VERBOSE") {
        } else if opt.eq_ignore_ascii_case(b"DEAD") {
            dead = true;
        } else {
            break;
        }
        args.next_opt();
    }
    let engine = &ctx.shared.engine;
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
                        Some(s) => session_entry(&s),
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
        engine.sessions().iter().map(|s| session_entry(s)).collect(),
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
