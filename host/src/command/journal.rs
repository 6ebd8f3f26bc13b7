//! Which keys a write command may change, so the execution journal (`keyspace::journal`) can
//! record their pre-images before user code's `execute()` runs it.
//!
//! Most commands name their written keys by position (the table's first/last/step, over-covering
//! sources such as BITOP's, which is harmless: an unchanged key restores to itself). The others
//! are listed here by name: destinations behind options (SORT ... STORE, COPY ... DB, MOVE),
//! `numkeys` forms (LMPOP, ZMPOP and their blocking forms), XREADGROUP's streams, and the
//! database-wide FLUSHDB, FLUSHALL and SWAPDB.

use super::introspect::key_positions;
use super::{CmdRef, Flags, Store};

/// Records, in every journal active on this thread, the pre-image of each key `argv` (a command
/// run by user code on database `db`) may change. Does nothing for read-only commands.
pub fn record_writes(store: &mut Store, cmd: CmdRef, db: usize, argv: &[&[u8]]) {
    let top = cmd.parent.unwrap_or(cmd.spec);
    if !top.flags.contains(Flags::WRITE) && !cmd.spec.flags.contains(Flags::WRITE) {
        return;
    }
    let ks = &mut store.ks;
    let arg = |i: usize| argv.get(i).copied();
    let num = |i: usize| {
        arg(i)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|s| s.parse::<usize>().ok())
    };
    let db_arg = |i: usize| num(i).filter(|&d| d < crate::keyspace::NUM_DBS);
    let mut keys: Vec<(usize, &[u8])> = key_positions(cmd.spec, argv.len())
        .into_iter()
        .filter_map(|i| arg(i).map(|k| (db, k)))
        .collect();
    match cmd.full_name {
        "flushdb" => ks.journal_db(db, None),
        "flushall" => {
            for d in 0..ks.num_dbs() {
                ks.journal_db(d, None);
            }
        }
        "swapdb" => {
            if let (Some(a), Some(b)) = (num(1), num(2)) {
                ks.journal_db(a, Some(b));
                ks.journal_db(b, Some(a));
            }
        }
        "move" => {
            if let (Some(k), Some(d)) = (arg(1), db_arg(2)) {
                keys.push((d, k));
            }
        }
        "copy" => {
            let target = argv
                .iter()
                .position(|a| a.eq_ignore_ascii_case(b"db"))
                .and_then(|i| db_arg(i + 1));
            if let (Some(dst), Some(d)) = (arg(2), target) {
                keys.push((d, dst));
            }
        }
        "sort" => {
            if let Some(i) = argv.iter().position(|a| a.eq_ignore_ascii_case(b"store"))
                && let Some(dst) = arg(i + 1)
            {
                keys.push((db, dst));
            }
        }
        "lmpop" | "zmpop" | "blmpop" | "bzmpop" => {
            let at = if cmd.full_name.starts_with('b') { 2 } else { 1 };
            if let Some(n) = num(at) {
                keys.extend(argv.iter().skip(at + 1).take(n).map(|k| (db, *k)));
            }
        }
        "xreadgroup" => {
            if let Some(i) = argv.iter().position(|a| a.eq_ignore_ascii_case(b"streams")) {
                let rest = &argv[i + 1..];
                keys.extend(rest.iter().take(rest.len() / 2).map(|k| (db, *k)));
            }
        }
        _ => {}
    }
    for (d, k) in keys {
        ks.journal_key(d, k);
    }
}
