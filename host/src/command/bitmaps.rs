//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! Bitmaps are string values; the bit arithmetic lives in [`crate::keyspace::bits`], this file
//! parses arguments, looks keys up and replies, following Redis 7.0's `bitops.c`.

use super::args::is;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::keyspace::bits::{self, BitOp, FieldType, Overflow};
use crate::keyspace::string::{StrValue, parse_i64};
use crate::keyspace::{DbView, NotifyFlags, Value};

const R: Flags = Flags::READONLY;
const RF: Flags = R.union(Flags::FAST);
const WD: Flags = Flags::WRITE.union(Flags::DENYOOM);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("setbit", 4, WD, setbit)
        .keys(1, 1, 1)
        .group("bitmap")
        .summary("Sets or clears the bit at offset in the string value stored at key"),
    CommandSpec::new("getbit", 3, RF, getbit)
        .keys(1, 1, 1)
        .group("bitmap")
        .summary("Returns the bit value at offset in the string value stored at key"),
    CommandSpec::new("bitcount", -2, R, bitcount)
        .keys(1, 1, 1)
        .group("bitmap")
        .summary("Count set bits in a string"),
    CommandSpec::new("bitpos", -3, R, bitpos)
        .keys(1, 1, 1)
        .group("bitmap")
        .summary("Find first bit set or clear in a string"),
    CommandSpec::new("bitop", -4, WD, bitop)
        .keys(2, -1, 1)
        .group("bitmap")
        .summary("Perform bitwise operations between strings"),
    CommandSpec::new("bitfield", -2, WD, bitfield)
        .keys(1, 1, 1)
        .group("bitmap")
        .summary("Perform arbitrary bitfield integer operations on strings"),
    CommandSpec::new("bitfield_ro", -2, RF, bitfield_ro)
        .keys(1, 1, 1)
        .group("bitmap")
        .summary("Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"),
];

const OFFSET_ERR: CmdError = CmdError::msg("ERR bit offset is not an integer or out of range");
const BIT_ERR: CmdError = CmdError::msg("ERR bit is not an integer or out of range");
const TYPE_ERR: CmdError = CmdError::msg(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);

/// Parses a bit offset as Redis's `getBitOffsetFromArgument`: non-negative and addressing a
/// byte below `proto-max-bulk-len`. With `field` set, `#n` means `n * field.bits`.
fn bit_offset(ctx: &Ctx<'_>, a: &[u8], field: Option<FieldType>) -> Result<u64, CmdError> {
    let (digits, mul) = match (a.split_first(), field) {
        (Some((b'#', rest)), Some(t)) => (rest, i64::from(t.bits)),
        _ => (a, 1),
    };
    let n = parse_i64(digits)
        .and_then(|n| n.checked_mul(mul))
        .ok_or(OFFSET_ERR)?;
    let max = ctx.store.config.get_i64("proto-max-bulk-len").max(0);
    if n < 0 || (n >> 3) >= max {
        return Err(OFFSET_ERR);
    }
    Ok(n as u64)
}

/// Redis's `lookupStringForBitCommand`: the string at `key` as mutable `raw` bytes, created or
/// zero-padded so that bit `max_bit` exists. Returns whether it was created or grown.
fn string_for_bits<'d>(
    db: &'d mut DbView<'_>,
    key: &[u8],
    max_bit: u64,
) -> Result<(&'d mut Vec<u8>, bool), CmdError> {
    let need = usize::try_from(max_bit >> 3).expect("offset checked against the size limit") + 1;
    let exists = match db.lookup_write(key) {
        None => false,
        Some(Value::Str(_)) => true,
        Some(_) => return Err(CmdError::WrongType),
    };
    if !exists {
        db.add(
            key,
            Value::Str(StrValue::Bytes {
                data: vec![0; need],
                raw: true,
            }),
        );
    }
    let v = db.write_str(key)?.ok_or(CmdError::NoSuchKey)?;
    let data = v.make_raw();
    let mut grown = !exists;
    if data.len() < need {
        data.resize(need, 0);
        grown = true;
    }
    Ok((data, grown))
}

/// `SETBIT key offset value`: the bit's previous value.
fn setbit(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let offset = bit_offset(ctx, args.next_bytes()?, None)?;
    let on = match parse_i64(args.next_bytes()?) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(BIT_ERR),
    };
    let mut db = ctx.db();
    let (data, grown) = string_for_bits(&mut db, key, offset)?;
    let old = bits::get_bit(data, offset);
    if grown || old != on {
        bits::set_bit(data, offset, on);
        db.notify(NotifyFlags::STRING, "setbit", key);
        ctx.dirty(1);
    }
    Ok(Reply::Int(i64::from(old)))
}

/// `GETBIT key offset`: 0 past the end or for a missing key.
fn getbit(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let offset = bit_offset(ctx, args.next_bytes()?, None)?;
    let bit = match ctx.db().read_str(key)? {
        Some(v) => bits::get_bit(&v.as_bytes(), offset),
        None => false,
    };
    Ok(Reply::Int(i64::from(bit)))
}

/// Parses the optional `BYTE|BIT` unit argument.
fn unit(a: Option<&[u8]>) -> Result<bool, CmdError> {
    match a {
        None => Ok(false),
        Some(a) if is(a, "BIT") => Ok(true),
        Some(a) if is(a, "BYTE") => Ok(false),
        Some(_) => Err(CmdError::Syntax),
    }
}

/// `BITCOUNT key [start end [BYTE|BIT]]`: the number of set bits in the range.
fn bitcount(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let rest = args.rest();
    let mut db = ctx.db();
    // Redis looks the key up before it parses the range: a missing key is 0 whatever follows.
    let Some(v) = db.read_str(key)? else {
        return Ok(Reply::Int(0));
    };
    let bytes = v.as_bytes();
    let count = match rest {
        [] => bits::popcount(&bytes),
        [start, end, unit_arg @ ..] if unit_arg.len() <= 1 => {
            let start = parse_i64(start).ok_or(CmdError::NotInteger)?;
            let end = parse_i64(end).ok_or(CmdError::NotInteger)?;
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            let bit_unit = unit(unit_arg.first().copied())?;
            bits::count_range(&bytes, start, end, bit_unit)
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok(Reply::Int(i64::try_from(count).unwrap_or(i64::MAX)))
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`: the first bit set to `bit`, or -1.
fn bitpos(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let key = args.next_bytes()?;
    let bit = match parse_i64(args.next_bytes()?) {
        Some(0) => false,
        Some(1) => true,
        Some(_) => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
        None => return Err(CmdError::NotInteger),
    };
    let rest = args.rest();
    let mut db = ctx.db();
    // A missing key is an infinite run of zeros.
    let Some(v) = db.read_str(key)? else {
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    let bytes = v.as_bytes();
    let pos = match rest {
        [] => bits::pos_range(&bytes, bit, None, false),
        [start, more @ ..] if more.len() <= 2 => {
            let start = parse_i64(start).ok_or(CmdError::NotInteger)?;
            let bit_unit = unit(more.get(1).copied())?;
            let end = match more.first() {
                Some(e) => Some(parse_i64(e).ok_or(CmdError::NotInteger)?),
                None => None,
            };
            bits::pos_range(&bytes, bit, Some((start, end)), bit_unit)
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok(Reply::Int(pos))
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`: the length of the stored result.
fn bitop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> CmdResult {
    let op_name = args.next_bytes()?;
    let op = if is(op_name, "AND") {
        BitOp::And
    } else if is(op_name, "OR") {
        BitOp::Or
    } else if is(op_name, "XOR") {
        BitOp::Xor
    } else if is(op_name, "NOT") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    let dest = args.next_bytes()?;
    let keys = args.rest();
    if op == BitOp::Not && keys.len() != 1 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut db = ctx.db();
    let mut sources = Vec::with_capacity(keys.len());
    for k in keys {
        sources.push(match db.read_str(k)? {
            Some(v) => v.as_bytes().into_owned(),
            None => Vec::new(),
        });
    }
    let refs: Vec<&[u8]> = sources.iter().map(Vec::as_slice).collect();
    let result = bits::bitop(op, &refs);
    let len = result.len();
    if len > 0 {
        db.set(
            dest,
            Value::Str(StrValue::Bytes {
                data: result,
                raw: true,
            }),
            false,
        );
        db.emit(NotifyFlags::STRING, "set", dest);
        ctx.dirty(1);
    } else if db.remove(dest).is_some() {
        db.emit(NotifyFlags::GENERIC, "del", dest);
        ctx.dirty(1);
    }
    Ok(Reply::from(len))
}

/// One parsed BITFIELD operation.
#[derive(Debug, Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// `BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...`: one reply per GET/SET/INCRBY, nil when OVERFLOW FAIL
/// prevented a write.
fn bitfield(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

/// `BITFIELD_RO key [GET type offset ...]`: the read-only variant.
fn bitfield_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, mut args: Args<'_>, read_only: bool) -> CmdResult {
    let key = args.next_bytes()?;
    let mut ops: Vec<(FieldOp, FieldType, u64, Overflow)> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest_write: Option<u64> = None;
    while let Some(sub) = args.next_opt() {
        let left = args.len();
        let op = if is(sub, "GET") && left >= 2 {
            FieldOp::Get
        } else if is(sub, "SET") && left >= 3 {
            FieldOp::Set(0)
        } else if is(sub, "INCRBY") && left >= 3 {
            FieldOp::IncrBy(0)
        } else if is(sub, "OVERFLOW") && left >= 1 {
            let kind = args.next_bytes()?;
            overflow = if is(kind, "WRAP") {
                Overflow::Wrap
            } else if is(kind, "SAT") {
                Overflow::Sat
            } else if is(kind, "FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let ty = FieldType::parse(args.next_bytes()?).ok_or(TYPE_ERR)?;
        let offset = bit_offset(ctx, args.next_bytes()?, Some(ty))?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) | FieldOp::IncrBy(_) => {
                let last = offset + u64::from(ty.bits) - 1;
                highest_write = Some(highest_write.map_or(last, |h| h.max(last)));
                let n = args.next_i64()?;
                if matches!(op, FieldOp::Set(_)) {
                    FieldOp::Set(n)
                } else {
                    FieldOp::IncrBy(n)
                }
            }
        };
        ops.push((op, ty, offset, overflow));
    }
    let mut db = ctx.db();
    let Some(max_bit) = highest_write else {
        // Only reads: a missing key reads as zeros.
        let bytes = match db.read_str(key)? {
            Some(v) => v.as_bytes().into_owned(),
            None => Vec::new(),
        };
        return Ok(Reply::Array(
            ops.iter()
                .map(|&(_, ty, offset, _)| Reply::Int(read_field(&bytes, ty, offset)))
                .collect(),
        ));
    };
    if read_only {
        return Err(CmdError::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let (data, grown) = string_for_bits(&mut db, key, max_bit)?;
    let mut changes = 0u64;
    let mut out = Vec::with_capacity(ops.len());
    for (op, ty, offset, ow) in ops {
        let (arg, is_set) = match op {
            FieldOp::Get => {
                out.push(Reply::Int(read_field(data, ty, offset)));
                continue;
            }
            FieldOp::Set(v) => (v, true),
            FieldOp::IncrBy(v) => (v, false),
        };
        let written = if ty.signed {
            let old = bits::get_signed(data, offset, ty.bits);
            let (of, new, reply) = if is_set {
                let (of, wrapped) = bits::signed_overflow(arg, 0, ty.bits, ow);
                (of, if of != 0 { wrapped } else { arg }, old)
            } else {
                let (of, wrapped) = bits::signed_overflow(old, arg, ty.bits, ow);
                let new = if of != 0 {
                    wrapped
                } else {
                    old.wrapping_add(arg)
                };
                (of, new, new)
            };
            (of == 0 || ow != Overflow::Fail).then(|| {
                bits::set_field(data, offset, ty.bits, new as u64);
                (reply, old != new)
            })
        } else {
            let old = bits::get_unsigned(data, offset, ty.bits);
            let (of, new, reply) = if is_set {
                let (of, wrapped) = bits::unsigned_overflow(arg as u64, 0, ty.bits, ow);
                (of, if of != 0 { wrapped } else { arg as u64 }, old)
            } else {
                let (of, wrapped) = bits::unsigned_overflow(old, arg, ty.bits, ow);
                let new = if of != 0 {
                    wrapped
                } else {
                    old.wrapping_add(arg as u64)
                };
                (of, new, new)
            };
            (of == 0 || ow != Overflow::Fail).then(|| {
                bits::set_field(data, offset, ty.bits, new);
                (reply as i64, old != new)
            })
        };
        match written {
            Some((reply, changed)) => {
                if grown || changed {
                    changes += 1;
                }
                out.push(Reply::Int(reply));
            }
            None => out.push(Reply::Null),
        }
    }
    if changes > 0 {
        db.notify(NotifyFlags::STRING, "setbit", key);
        ctx.dirty(changes);
    }
    Ok(Reply::Array(out))
}

/// A BITFIELD GET: the field's value, zero-padded past the end of the string.
fn read_field(bytes: &[u8], ty: FieldType, offset: u64) -> i64 {
    if ty.signed {
        bits::get_signed(bytes, offset, ty.bits)
    } else {
        bits::get_unsigned(bytes, offset, ty.bits) as i64
    }
}
