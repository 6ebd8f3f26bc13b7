//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::is;
use super::client::{Protocol, ReplyMode};
use super::introspect::REDIS_VERSION;
use super::keys::db_index;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply, now_ms as unix_ms};

const ADM: Flags = Flags::ADMIN
    .union(Flags::NOSCRIPT)
    .union(Flags::LOADING)
    .union(Flags::STALE);
const CONN: Flags = Flags::NOSCRIPT.union(Flags::LOADING).union(Flags::STALE);
const FAST_CONN: Flags = Flags::FAST.union(Flags::LOADING).union(Flags::STALE);
pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, FAST_CONN, ping)
        .group("connection")
        .summary("Ping the server"),
    CommandSpec::new("echo", 2, FAST_CONN, echo)
        .group("connection")
        .summary("Echo the given string"),
    CommandSpec::new(
        "quit",
        -1,
        CONN.union(Flags::FAST)
            .union(Flags::NO_AUTH)
            .union(Flags::ALLOW_BUSY),
        quit,
    )
    .group("connection")
    .summary("Close the connection"),
    CommandSpec::new(
        "reset",
        1,
        CONN.union(Flags::FAST)
            .union(Flags::NO_AUTH)
            .union(Flags::ALLOW_BUSY),
        reset,
    )
    .group("connection")
    .summary("Reset the connection"),
    CommandSpec::new(
        "hello",
        -1,
        CONN.union(Flags::FAST)
            .union(Flags::NO_AUTH)
            .union(Flags::ALLOW_BUSY),
        hello,
    )
    .group("connection")
    .summary("Handshake with Redis"),
    CommandSpec::new(
        "auth",
        -2,
        CONN.union(Flags::FAST)
            .union(Flags::NO_AUTH)
            .union(Flags::ALLOW_BUSY),
        auth,
    )
    .group("connection")
    .summary("Authenticate to the server"),
    CommandSpec::new("select", 2, FAST_CONN, select)
        .group("connection")
        .summary("Change the selected database for the current connection"),
    CommandSpec::container("client", -2, Flags::empty(), CLIENT_SUBCOMMANDS)
        .group("connection")
        .summary("A container for client connection commands"),
];

const CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("id", 2, CONN, client_id),
    CommandSpec::new("setname", 3, CONN, client_setname),
    CommandSpec::new("getname", 2, CONN, client_getname),
    CommandSpec::new("list", -2, ADM, client_list),
    CommandSpec::new("info", 2, CONN, client_info),
    CommandSpec::new("kill", -3, ADM, client_kill),
    CommandSpec::new("reply", 3, CONN, client_reply),
    CommandSpec::new("unblock", -3, ADM, client_unblock),
    CommandSpec::new("no-evict", 3, ADM, client_noop_flag),
    CommandSpec::new("no-touch", 3, CONN, client_noop_flag),
    CommandSpec::new("setinfo", 4, CONN, client_setinfo),
    CommandSpec::new("help", 2, Flags::LOADING.union(Flags::STALE), client_help),
];

fn ping(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 1 {
        return Err(CmdError::Arity("ping".into()));
    }
    let msg = args.peek();
    if ctx.client.in_subscribe_mode() {
        return Ok(Reply::Array(vec![
            Reply::bulk("pong"),
            Reply::bulk(msg.unwrap_or(b"")),
        ]));
    }
    Ok(match msg {
        Some(m) => Reply::bulk(m),
        None => Reply::simple("PONG"),
    })
}

/// `ECHO message`.
fn echo(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    Ok(Reply::bulk(args.next_bytes()?))
}

/// `QUIT`: OK, then the connection closes.
fn quit(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.client.close_after_reply = true;
    Ok(Reply::Ok)
}

/// `RESET`: back to a fresh connection's state.
fn reset(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.client.multi = None;
    let watched = std::mem::take(&mut ctx.client.watched);
    ctx.store.ks.signals.unwatch(ctx.client.id, &watched);
    ctx.store.pubsub.remove_client(ctx.client);
    ctx.client.db = 0;
    ctx.client.protocol = Protocol::Resp2;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.user = "default".into();
    ctx.client.authenticated = !ctx.shared.limits.requires_auth.load(Ordering::Relaxed);
    if let Some(info) = &ctx.client.info {
        *info.name.lock() = None;
        info.resp.store(2, Ordering::Relaxed);
        info.multi.store(-1, Ordering::Relaxed);
    }
    ctx.store.monitors.retain(|m| m.id != ctx.client.id);
    Ok(Reply::simple("RESET"))
}

fn check_password(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let required = ctx.store.config.get("requirepass").unwrap_or("");
    if user != b"default" || required.as_bytes() != pass {
        return Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    Ok(())
}

/// `AUTH [username] password`.
fn auth(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let rest = args.rest();
    let (user, pass): (&[u8], &[u8]) = match rest {
        [p] => (b"default", p),
        [u, p] => (u, p),
        _ => return Err(CmdError::Syntax),
    };
    if rest.len() == 1 && ctx.store.config.get("requirepass").unwrap_or("").is_empty() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    check_password(ctx, user, pass)?;
    ctx.client.authenticated = true;
    Ok(Reply::Ok)
}

/// `HELLO [protover [AUTH username password] [SETNAME name]]`: switches protocol and answers
/// the server's properties.
fn hello(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let mut proto = ctx.client.protocol;
    if let Some(v) = args.next_opt() {
        let n = super::args::int(v)
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        proto = match n {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        };
    }
    let mut setname = None;
    while let Some(opt) = args.next_opt() {
        if is(opt, "AUTH") && args.len() >= 2 {
            let user = args.next_bytes()?;
            let pass = args.next_bytes()?;
            check_password(ctx, user, pass)?;
            ctx.client.authenticated = true;
        } else if is(opt, "SETNAME") && !args.is_empty() {
            let name = args.next_bytes()?;
            validate_name(name)?;
            setname = Some(name);
        } else {
            return Err(CmdError::owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = setname {
        set_name(ctx, name);
    }
    ctx.client.protocol = proto;
    if let Some(info) = &ctx.client.info {
        info.resp.store(
            if proto == Protocol::Resp3 { 3 } else { 2 },
            Ordering::Relaxed,
        );
    }
    Ok(Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (
            Reply::bulk("proto"),
            Reply::Int(if proto == Protocol::Resp3 { 3 } else { 2 }),
        ),
        (Reply::bulk("id"), Reply::Int(ctx.client.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

/// `SELECT index`.
fn select(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let idx = db_index(ctx, args.next_bytes()?)?;
    ctx.client.db = idx;
    Ok(Reply::Ok)
}

// ---------------------------------------------------------------------------------------------
// CLIENT

fn validate_name(name: &[u8]) -> Result<(), CmdError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) {
    if let Some(info) = &ctx.client.info {
        *info.name.lock() = if name.is_empty() {
            None
        } else {
            Some(Bytes::copy_from_slice(name))
        };
    }
}

/// `CLIENT ID`.
fn client_id(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(ctx.client.id as i64))
}

/// `CLIENT SETNAME name`.
fn client_setname(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let name = args.next_bytes()?;
    validate_name(name)?;
    set_name(ctx, name);
    Ok(Reply::Ok)
}

/// `CLIENT GETNAME`.
fn client_getname(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(
        match ctx.client.info.as_ref().and_then(|i| i.name.lock().clone()) {
            Some(n) => Reply::Bulk(n),
            None => Reply::Null,
        },
    )
}

fn client_line(ctx: &Ctx<'_>, info: &super::ClientInfo) -> String {
    let now = unix_ms();
    let is_self = info.id == ctx.client.id;
    let (db, multi, cmd) = if is_self {
        (
            ctx.client.db,
            ctx.client
                .multi
                .as_ref()
                .map_or(-1, |m| m.queued.len() as i64),
            ctx.client.last_cmd,
        )
    } else {
        (
            info.db.load(Ordering::Relaxed),
            info.multi.load(Ordering::Relaxed),
            *info.last_cmd.lock(),
        )
    };
    let blocked = ctx.store.blocked.waiter_of(info.id).is_some();
    let subs = info.sub.load(Ordering::Relaxed);
    let psubs = info.psub.load(Ordering::Relaxed);
    let mut flags = String::new();
    if blocked {
        flags.push('b');
    }
    if subs + psubs > 0 {
        flags.push('P');
    }
    if multi >= 0 {
        flags.push('x');
    }
    if ctx.store.monitors.iter().any(|m| m.id == info.id) {
        flags.push('O');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = info
        .name
        .lock()
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let (lib, ver) = info.lib.lock().clone();
    format!(
        "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.laddr,
        name,
        info.created.elapsed().as_secs(),
        ((now - info.last_interaction.load(Ordering::Relaxed)).max(0)) / 1000,
        flags,
        db,
        subs,
        psubs,
        multi,
        info.pending_out.load(Ordering::Relaxed),
        cmd,
        if is_self {
            if ctx.client.protocol == Protocol::Resp3 {
                3
            } else {
                2
            }
        } else {
            info.resp.load(Ordering::Relaxed)
        },
        lib,
        ver,
    )
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]`.
fn client_list(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let mut ids: Option<Vec<u64>> = None;
    let mut type_filter: Option<Vec<u8>> = None;
    while let Some(opt) = args.next_opt() {
        if is(opt, "TYPE") {
            let t = args.next_bytes()?.to_ascii_lowercase();
            if !matches!(
                t.as_slice(),
                b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
            ) {
                return Err(CmdError::owned(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(&t)
                )));
            }
            type_filter = Some(t);
        } else if is(opt, "ID") {
            let mut v = Vec::new();
            for a in args.rest() {
                let id = super::args::int(a)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(CmdError::msg("ERR Invalid client ID"))?;
                v.push(id as u64);
            }
            args.skip_rest();
            ids = Some(v);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut out = String::new();
    for info in ctx.shared.clients.all() {
        if let Some(ids) = &ids
            && !ids.contains(&info.id)
        {
            continue;
        }
        if let Some(t) = &type_filter {
            let pubsub = info.sub.load(Ordering::Relaxed) + info.psub.load(Ordering::Relaxed) > 0;
            let matches = match t.as_slice() {
                b"pubsub" => pubsub,
                b"normal" => !pubsub,
                _ => false,
            };
            if !matches {
                continue;
            }
        }
        out.push_str(&client_line(ctx, &info));
        out.push('\n');
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

/// `CLIENT INFO`.
fn client_info(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let Some(info) = ctx.client.info.clone() else {
        return Ok(Reply::Verbatim("txt", Bytes::new()));
    };
    let mut line = client_line(ctx, &info);
    line.push('\n');
    Ok(Reply::Verbatim("txt", Bytes::from(line)))
}

/// `CLIENT KILL addr` or `CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [TYPE t] [USER u]
/// [SKIPME yes|no] [MAXAGE secs]`.
fn client_kill(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let rest = args.rest();
    let clients = ctx.shared.clients.all();
    if rest.len() == 1 {
        let addr = rest[0];
        let Some(target) = clients.iter().find(|c| c.addr.as_bytes() == addr) else {
            return Err(CmdError::msg("ERR No such client"));
        };
        kill(ctx, target);
        return Ok(Reply::Ok);
    }
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut id = None;
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut ctype: Option<Vec<u8>> = None;
    let mut skipme = true;
    let mut maxage: Option<u64> = None;
    for kv in rest.chunks_exact(2) {
        let (k, v) = (kv[0], kv[1]);
        if is(k, "ID") {
            id = Some(
                super::args::int(v)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(CmdError::msg("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if is(k, "ADDR") {
            addr = Some(v);
        } else if is(k, "LADDR") {
            laddr = Some(v);
        } else if is(k, "TYPE") {
            let t = v.to_ascii_lowercase();
            if !matches!(
                t.as_slice(),
                b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
            ) {
                return Err(CmdError::owned(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
            ctype = Some(t);
        } else if is(k, "USER") {
            if v != b"default" {
                return Err(CmdError::owned(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
        } else if is(k, "SKIPME") {
            skipme = if is(v, "yes") {
                true
            } else if is(v, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else if is(k, "MAXAGE") {
            maxage = Some(super::args::int(v)?.max(0) as u64);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut killed = 0;
    for c in &clients {
        if id.is_some_and(|i| i != c.id)
            || addr.is_some_and(|a| a != c.addr.as_bytes())
            || laddr.is_some_and(|a| a != c.laddr.as_bytes())
            || maxage.is_some_and(|m| c.created.elapsed().as_secs() < m)
            || (skipme && c.id == ctx.client.id)
        {
            continue;
        }
        if let Some(t) = &ctype {
            let pubsub = c.sub.load(Ordering::Relaxed) + c.psub.load(Ordering::Relaxed) > 0;
            let ok = match t.as_slice() {
                b"pubsub" => pubsub,
                b"normal" => !pubsub,
                _ => false,
            };
            if !ok {
                continue;
            }
        }
        kill(ctx, c);
        killed += 1;
    }
    Ok(Reply::Int(killed))
}

fn kill(ctx: &mut Ctx<'_>, target: &super::ClientInfo) {
    if target.id == ctx.client.id {
        ctx.client.close_after_reply = true;
    } else {
        target.kill();
    }
}

/// `CLIENT REPLY ON|OFF|SKIP`.
fn client_reply(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let mode = args.next_bytes()?;
    if is(mode, "ON") {
        ctx.client.reply_mode = ReplyMode::On;
        Ok(Reply::Ok)
    } else if is(mode, "OFF") {
        ctx.client.reply_mode = ReplyMode::Off;
        Ok(Reply::NoReply)
    } else if is(mode, "SKIP") {
        ctx.client.reply_mode = ReplyMode::Skip;
        Ok(Reply::NoReply)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `CLIENT UNBLOCK client-id [TIMEOUT|ERROR]`: 1 if the client was blocked.
fn client_unblock(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let id = args.next_i64()?;
    let error = match args.next_opt() {
        None => false,
        Some(m) if is(m, "TIMEOUT") => false,
        Some(m) if is(m, "ERROR") => true,
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    };
    let unblocked = super::blocking::unblock_client(ctx.store, id as u64, error);
    Ok(Reply::from(unblocked))
}

/// `CLIENT NO-EVICT on|off`, `CLIENT NO-TOUCH on|off`: accepted; nothing is evicted here.
fn client_noop_flag(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let v = args.next_bytes()?;
    if is(v, "ON") || is(v, "OFF") {
        Ok(Reply::Ok)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value`.
fn client_setinfo(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    args.next_bytes()?;
    let attr = args.next_bytes()?;
    let value = String::from_utf8_lossy(args.next_bytes()?).into_owned();
    if value.contains(' ') || value.contains('\n') {
        return Err(CmdError::msg(
            "ERR lib-name cannot contain spaces, newlines or special characters.",
        ));
    }
    let Some(info) = &ctx.client.info else {
        return Ok(Reply::Ok);
    };
    let mut lib = info.lib.lock();
    if is(attr, "LIB-NAME") {
        lib.0 = value;
    } else if is(attr, "LIB-VER") {
        lib.1 = value;
    } else {
        return Err(CmdError::owned(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    }
    Ok(Reply::Ok)
}

/// `CLIENT HELP`.
fn client_help(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Ok(super::help_reply(
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME, MAXAGE.",
            "LIST [options ...]",
            "    Return information about client connections.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
        ],
    ))
}
