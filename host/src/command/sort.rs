//! SORT and SORT_RO: sort a list, set or sorted set, optionally by external keys or hash
//! fields (`BY`), fetching other keys (`GET`), and storing the result as a list (`STORE`).
//!
//! Follows Redis 7.0's `sort.c`: the same option parsing, LIMIT clamping, `BY <constant>`
//! ("nosort") shortcuts that keep the native order of lists and sorted sets, numeric parsing
//! with `strtod` rules, and ties broken by comparing the elements themselves.

use std::cmp::Ordering;

use super::args::is;
use super::{Args, CmdError, CmdResult, CommandSpec, Ctx, Flags, Reply};
use crate::keyspace::list::ListValue;
use crate::keyspace::string::parse_i64;
use crate::keyspace::zset::ZSetValue;
use crate::keyspace::{DbView, NotifyFlags, Value};

const WD: Flags = Flags::WRITE.union(Flags::DENYOOM);

pub(super) const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sort", -2, WD, sort)
        .keys(1, 1, 1)
        .group("generic")
        .summary("Sort the elements in a list, set or sorted set"),
    CommandSpec::new("sort_ro", -2, Flags::READONLY, sort_ro)
        .keys(1, 1, 1)
        .group("generic")
        .summary("Sort the elements in a list, set or sorted set. Read-only variant of SORT."),
];

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]`: the sorted elements (or GET results), or with STORE the length of
/// the stored list.
fn sort(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    sort_generic(ctx, args, false)
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]`: SORT
/// without STORE.
fn sort_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    sort_generic(ctx, args, true)
}

/// Parsed SORT options.
#[derive(Debug, Default)]
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// `BY` without `*`: nothing to sort by, keep the native order.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
}

impl<'a> Options<'a> {
    fn parse(args: &mut Args<'a>, read_only: bool) -> Result<Self, CmdError> {
        let mut o = Options {
            limit_count: -1,
            ..Options::default()
        };
        while let Some(opt) = args.next_opt() {
            let left = args.len();
            if is(opt, "ASC") {
                o.desc = false;
            } else if is(opt, "DESC") {
                o.desc = true;
            } else if is(opt, "ALPHA") {
                o.alpha = true;
            } else if is(opt, "LIMIT") && left >= 2 {
                o.limit_start = args.next_i64()?;
                o.limit_count = args.next_i64()?;
            } else if !read_only && is(opt, "STORE") && left >= 1 {
                o.store = Some(args.next_bytes()?);
            } else if is(opt, "BY") && left >= 1 {
                let pattern = args.next_bytes()?;
                if !pattern.contains(&b'*') {
                    o.dontsort = true;
                }
                o.by = Some(pattern);
            } else if is(opt, "GET") && left >= 1 {
                o.gets.push(args.next_bytes()?);
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(o)
    }
}

/// One element being sorted, with what it sorts by.
#[derive(Debug)]
struct Item {
    obj: Box<[u8]>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

impl Item {
    fn new(obj: &[u8]) -> Item {
        Item {
            obj: obj.into(),
            score: 0.0,
            cmp: None,
        }
    }
}

fn sort_generic(ctx: &mut Ctx<'_>, mut args: Args<'_>, read_only: bool) -> CmdResult {
    let key = args.next_bytes()?;
    let mut o = Options::parse(&mut args, read_only)?;
    let mut db = ctx.db();
    let (mut items, start, end) = load(&mut db, key, &mut o)?;

    let mut bad_score = false;
    if !o.dontsort {
        for item in &mut items {
            let by_value = match o.by {
                Some(pattern) => match lookup_by_pattern(&mut db, pattern, &item.obj) {
                    Some(v) => v,
                    None => continue,
                },
                None => item.obj.to_vec(),
            };
            if o.alpha {
                if o.by.is_some() {
                    item.cmp = Some(by_value);
                }
            } else {
                match strtod(&by_value) {
                    Some(score) => item.score = score,
                    None => bad_score = true,
                }
            }
        }
        // A failed conversion discards the result: skip sorting (NaN is not an order).
        if !bad_score {
            let (alpha, by, desc) = (o.alpha, o.by.is_some(), o.desc);
            items.sort_by(|a, b| {
                let c = compare(a, b, alpha, by);
                if desc { c.reverse() } else { c }
            });
        }
    }
    if bad_score {
        return Err(CmdError::msg(
            "ERR One or more scores can't be converted into double",
        ));
    }

    let range: &[Item] = if start <= end {
        items.get(start as usize..=end as usize).unwrap_or(&[])
    } else {
        &[]
    };
    let Some(dest) = o.store else {
        let mut out = Vec::with_capacity(range.len() * o.gets.len().max(1));
        for item in range {
            if o.gets.is_empty() {
                out.push(Reply::bulk(&item.obj));
            }
            for pattern in &o.gets {
                out.push(Reply::bulk_or_null(lookup_by_pattern(
                    &mut db, pattern, &item.obj,
                )));
            }
        }
        return Ok(Reply::Array(out));
    };
    let mut list = ListValue::default();
    for item in range {
        if o.gets.is_empty() {
            list.items.push_back(item.obj.clone());
        }
        for pattern in &o.gets {
            let v = lookup_by_pattern(&mut db, pattern, &item.obj).unwrap_or_default();
            list.items.push_back(v.into());
        }
    }
    let stored = list.len();
    if stored > 0 {
        db.set(dest, Value::List(list), false);
        db.emit(NotifyFlags::LIST, "sortstore", dest);
        ctx.dirty(stored as u64);
    } else if db.remove(dest).is_some() {
        db.emit(NotifyFlags::GENERIC, "del", dest);
        ctx.dirty(1);
    }
    Ok(Reply::from(stored))
}

/// Looks up the value to sort and loads the vector as Redis does, applying LIMIT directly when
/// the native order is kept. Returns the items and the inclusive output range within them
/// (`start > end` when empty).
fn load(
    db: &mut DbView<'_>,
    key: &[u8],
    o: &mut Options<'_>,
) -> Result<(Vec<Item>, i64, i64), CmdError> {
    let value = match db.read(key) {
        None => None,
        Some(v @ (Value::List(_) | Value::Set(_) | Value::ZSet(_))) => Some(v),
        Some(_) => return Err(CmdError::WrongType),
    };
    // A set has no native order: with STORE, sort it anyway so the stored list is
    // deterministic.
    if o.dontsort && o.store.is_some() && matches!(value, Some(Value::Set(_))) {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = match value {
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => z.len(),
        _ => 0,
    } as i64;
    let mut start = o.limit_start.max(0).min(len);
    let count = o.limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let items = match value {
        Some(Value::List(l)) if o.dontsort => {
            let mut items = Vec::new();
            if end >= start {
                let n = (end - start + 1) as usize;
                if o.desc {
                    let skip = start as usize;
                    items.extend(
                        l.items
                            .iter()
                            .rev()
                            .skip(skip)
                            .take(n)
                            .map(|e| Item::new(e)),
                    );
                } else {
                    items.extend(
                        l.items
                            .iter()
                            .skip(start as usize)
                            .take(n)
                            .map(|e| Item::new(e)),
                    );
                }
                end -= start;
                start = 0;
            }
            items
        }
        Some(Value::ZSet(z)) if o.dontsort => {
            let n = (end - start + 1).max(0) as usize;
            let skip = start.max(0) as usize;
            let ordered = zset_in_order(z);
            let items: Vec<Item> = if o.desc {
                let it = ordered.iter().rev().skip(skip).take(n);
                it.map(|(m, _)| Item::new(m)).collect()
            } else {
                let it = ordered.iter().skip(skip).take(n);
                it.map(|(m, _)| Item::new(m)).collect()
            };
            end -= start;
            start = 0;
            items
        }
        Some(Value::List(l)) => l.items.iter().map(|e| Item::new(e)).collect(),
        Some(Value::ZSet(z)) => z.slots().map(|(m, _)| Item::new(m)).collect(),
        Some(Value::Set(s)) => {
            let mut items: Vec<Item> = s.members.iter().map(|m| Item::new(m)).collect();
            if o.dontsort && !s.big {
                // Redis keeps small integer sets as a sorted intset: that is their order.
                items.sort_by_key(|i| parse_i64(&i.obj).unwrap_or(0));
            }
            items
        }
        _ => Vec::new(),
    };
    Ok((items, start, end))
}

/// The members of a sorted set in its native order: by score, ties by member bytes.
fn zset_in_order(z: &ZSetValue) -> Vec<(&[u8], f64)> {
    let mut v: Vec<(&[u8], f64)> = z.slots().collect();
    v.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.0.cmp(b.0))
    });
    v
}

/// Redis's `sortCompare` before DESC is applied.
fn compare(a: &Item, b: &Item, alpha: bool, by: bool) -> Ordering {
    if !alpha {
        match a.score.partial_cmp(&b.score) {
            Some(Ordering::Equal) | None => a.obj.cmp(&b.obj),
            Some(c) => c,
        }
    } else if by {
        match (&a.cmp, &b.cmp) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        }
    } else {
        a.obj.cmp(&b.obj)
    }
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` of the
/// pattern is replaced by the element and the resulting string key is read, or with
/// `key*->field` the field of the resulting hash. `None` when there is no `*`, the key is
/// missing or of another type, or the field is missing.
fn lookup_by_pattern(db: &mut DbView<'_>, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(subst.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let (prefix, after) = (&pattern[..star], &pattern[star + 1..]);
    let (postfix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(i) if i + 2 < after.len() => (&after[..i], Some(&after[i + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(prefix.len() + subst.len() + postfix.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(subst);
    key.extend_from_slice(postfix);
    match (db.read(&key)?, field) {
        (Value::Str(s), None) => Some(s.as_bytes().into_owned()),
        (Value::Hash(h), Some(f)) => h.map.get(f).map(|v| v.to_vec()),
        _ => None,
    }
}

/// Parses a score as SORT does with C's `strtod`: leading white space is skipped, the rest must
/// be a complete decimal or hexadecimal number or infinity (the empty string is 0). `None` for
/// trailing garbage, NaN, or a value out of the double range (overflow or underflow).
fn strtod(b: &[u8]) -> Option<f64> {
    // C strings end at the first NUL.
    let b = b.split(|&c| c == 0).next().unwrap_or(b);
    if b.is_empty() {
        return Some(0.0);
    }
    let s = b.trim_ascii_start();
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == b"inf" || lower == b"infinity" {
        f64::INFINITY
    } else if let Some(hex) = lower.strip_prefix(b"0x") {
        parse_hex_float(hex)?
    } else {
        if !is_decimal(&lower) {
            return None;
        }
        let text = std::str::from_utf8(&lower).ok()?;
        let v: f64 = text.parse().ok()?;
        let mantissa_nonzero = lower
            .iter()
            .take_while(|&&c| c != b'e')
            .any(|c| (b'1'..=b'9').contains(c));
        // ERANGE: overflow to infinity, or underflow to zero or a subnormal.
        if v.is_infinite() || (mantissa_nonzero && v.abs() < f64::MIN_POSITIVE) {
            return None;
        }
        v
    };
    Some(if neg { -v } else { v })
}

/// `digits [. digits] [e [sign] digits]` with at least one mantissa digit.
fn is_decimal(s: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let from = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let mut n = digits(&mut i);
    if s.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if s.get(i) == Some(&b'e') {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == s.len()
}

/// The part of a C hexadecimal float after `0x`: `hexdigits [. hexdigits] [p [sign] digits]`.
fn parse_hex_float(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    let mut mantissa = 0f64;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut frac = false;
    while let Some(&c) = s.get(i) {
        if c == b'.' && !frac {
            frac = true;
        } else if let Some(d) = char::from(c).to_digit(16) {
            mantissa = mantissa * 16.0 + f64::from(d);
            digits += 1;
            if frac {
                exp -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if s.get(i) == Some(&b'p') {
        i += 1;
        let (sign, from) = match s.get(i) {
            Some(b'-') => (-1, i + 1),
            Some(b'+') => (1, i + 1),
            _ => (1, i),
        };
        let e =
            parse_i64(s.get(from..)?).filter(|_| s.get(from).is_some_and(u8::is_ascii_digit))?;
        exp = exp.checked_add(sign * e)?;
        i = s.len();
    }
    if i != s.len() {
        return None;
    }
    let v = mantissa * 2f64.powi(i32::try_from(exp).ok()?);
    if v.is_infinite() || (mantissa != 0.0 && v.abs() < f64::MIN_POSITIVE) {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::strtod;

    #[test]
    fn strtod_accepts_what_c_accepts_completely() {
        assert_eq!(strtod(b"1.5"), Some(1.5));
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b"  3"), Some(3.0));
        assert_eq!(strtod(b"+2"), Some(2.0));
        assert_eq!(strtod(b"-.5"), Some(-0.5));
        assert_eq!(strtod(b"1."), Some(1.0));
        assert_eq!(strtod(b"1e3"), Some(1000.0));
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"0x1p-2"), Some(0.25));
        assert_eq!(strtod(b"0e999"), Some(0.0));
        assert_eq!(strtod(b"7\0garbage"), Some(7.0));
    }

    #[test]
    fn strtod_rejects_garbage_nan_and_range_errors() {
        for bad in [
            &b"3 "[..],
            b" ",
            b"abc",
            b"1e",
            b"1x",
            b".",
            b"nan",
            b"-nan",
            b"1e400",
            b"1e-400",
            b"0x",
            b"0x1p",
            b"--1",
        ] {
            assert_eq!(strtod(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
