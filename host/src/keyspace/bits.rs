//! Bit operations over string values, with Redis's bit order: bit 0 is the most significant
//! bit of the first byte (as SETBIT, BITCOUNT, BITPOS and BITFIELD number them).
//!
//! Everything here works on plain byte slices; the command layer parses arguments and chooses
//! ranges. Reads past the end of a string see zero bits, as Redis does.

/// A BITOP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// Bitwise AND of every source.
    And,
    /// Bitwise OR of every source.
    Or,
    /// Bitwise XOR of every source.
    Xor,
    /// Bitwise NOT of a single source.
    Not,
}

/// Number of set bits in `bytes`.
///
/// Counts 32 bytes per step in four independent `u64` popcounts (the compiler uses the
/// `popcnt` instruction where the target has it), then the tail byte-wise.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(32);
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for chunk in &mut chunks {
        let w = |i: usize| {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(&chunk[i * 8..i * 8 + 8]);
            u64::from_ne_bytes(buf)
        };
        a += u64::from(w(0).count_ones());
        b += u64::from(w(1).count_ones());
        c += u64::from(w(2).count_ones());
        d += u64::from(w(3).count_ones());
    }
    let tail: u64 = chunks
        .remainder()
        .iter()
        .map(|x| u64::from(x.count_ones()))
        .sum();
    a + b + c + d + tail
}

/// The value of bit `offset` (false past the end).
pub fn get_bit(bytes: &[u8], offset: u64) -> bool {
    let Ok(byte) = usize::try_from(offset >> 3) else {
        return false;
    };
    bytes
        .get(byte)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Sets or clears bit `offset`, growing `bytes` with zeros as needed; returns the old value.
pub fn set_bit(bytes: &mut Vec<u8>, offset: u64, on: bool) -> bool {
    let byte = usize::try_from(offset >> 3).expect("offset checked against the size limit");
    if bytes.len() <= byte {
        bytes.resize(byte + 1, 0);
    }
    let mask = 0x80u8 >> (offset & 7);
    let old = bytes[byte] & mask != 0;
    if on {
        bytes[byte] |= mask;
    } else {
        bytes[byte] &= !mask;
    }
    old
}

/// Position of the first bit equal to `bit` in `bytes`, as Redis's `redisBitpos`: when looking
/// for a set bit and there is none, `-1`; when looking for a clear bit and there is none, the
/// bit just past the end (`len * 8`), as if the string were zero-padded on the right.
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    // Skip whole words of the value we are not looking for, then finish byte-wise.
    let mut i = 0;
    let mut words = bytes.chunks_exact(8);
    let skip_word = if bit { 0u64 } else { u64::MAX };
    for w in &mut words {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(w);
        if u64::from_ne_bytes(buf) != skip_word {
            break;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b != skip {
            let within = if bit {
                b.leading_zeros()
            } else {
                b.leading_ones()
            };
            return (i as i64) * 8 + i64::from(within);
        }
        i += 1;
    }
    if bit { -1 } else { (bytes.len() as i64) * 8 }
}

/// BITCOUNT over a range: `start..=end` are byte indices, or bit indices when `bit_unit`,
/// possibly negative (from the end); out-of-range indices are clamped as Redis does.
pub fn count_range(bytes: &[u8], start: i64, end: i64, bit_unit: bool) -> u64 {
    if start < 0 && end < 0 && start > end {
        return 0;
    }
    let Some((first, last, first_mask, last_mask)) = resolve(bytes.len(), start, end, bit_unit)
    else {
        return 0;
    };
    let mut count = popcount(&bytes[first..=last]);
    // Bits of the edge bytes outside a bit range were counted: subtract them.
    count -= u64::from((bytes[first] & first_mask).count_ones());
    count -= u64::from((bytes[last] & last_mask).count_ones());
    count
}

/// BITPOS over a range, as Redis's `bitposCommand` after the key lookup: `range` is
/// `(start, end)` with `end` absent when not given; `None` for the whole string.
pub fn pos_range(
    bytes: &[u8],
    bit: bool,
    range: Option<(i64, Option<i64>)>,
    bit_unit: bool,
) -> i64 {
    let Some((start, end)) = range else {
        // The whole string; an empty one has no bit at all.
        return if bytes.is_empty() {
            -1
        } else {
            first_bit(bytes, bit)
        };
    };
    let len = bytes.len() as i64;
    let end_given = end.is_some();
    let end = end.unwrap_or(if bit_unit { len * 8 + 7 } else { len - 1 });
    let Some((first, last, first_mask, last_mask)) = resolve(bytes.len(), start, end, bit_unit)
    else {
        return -1;
    };
    // Mask the bits outside the range so they never match: set them when looking for a
    // clear bit, clear them when looking for a set bit.
    let masked = |i: usize| -> u8 {
        let mut b = bytes[i];
        let mut outside = 0u8;
        if i == first {
            outside |= first_mask;
        }
        if i == last {
            outside |= last_mask;
        }
        if bit {
            b &= !outside;
        } else {
            b |= outside;
        }
        b
    };
    let scan_byte = |i: usize| -> Option<i64> {
        let p = first_bit(&[masked(i)], bit);
        (p != -1 && p != 8).then_some((i as i64) * 8 + p)
    };
    if let Some(p) = scan_byte(first) {
        return p;
    }
    if last > first {
        // Edge bytes are handled with their masks, the middle with the fast scan.
        let middle = &bytes[first + 1..last];
        let p = first_bit(middle, bit);
        if p != -1 && p != (middle.len() as i64) * 8 {
            return ((first + 1) as i64) * 8 + p;
        }
        if let Some(p) = scan_byte(last) {
            return p;
        }
    }
    if bit {
        return -1;
    }
    // Looking for a clear bit and every bit of the range is set: without an explicit end the
    // string counts as zero-padded, so the answer is the first bit after the range.
    if end_given { -1 } else { (last as i64 + 1) * 8 }
}

/// Resolves Redis's inclusive range over a string of `len` bytes to byte indices plus masks of
/// the bits outside a bit range in the first and last byte; `None` when the range is empty.
fn resolve(len: usize, start: i64, end: i64, bit_unit: bool) -> Option<(usize, usize, u8, u8)> {
    let mut total = len as i64;
    if bit_unit {
        total <<= 3;
    }
    let mut start = if start < 0 { total + start } else { start };
    let mut end = if end < 0 { total + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if bit_unit {
        first_mask = !(0xffu8 >> (start & 7));
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Some((start as usize, end as usize, first_mask, last_mask))
}

/// BITOP over `sources` (missing keys are empty slices): the result has the length of the
/// longest source, shorter ones count as zero-padded. Empty when every source is empty.
pub fn bitop(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    let maxlen = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    if maxlen == 0 {
        return Vec::new();
    }
    let mut out = vec![0u8; maxlen];
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    out[..first.len()].copy_from_slice(first);
    match op {
        BitOp::Not => out.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for s in rest {
                for (o, b) in out.iter_mut().zip(s.iter()) {
                    *o &= b;
                }
                // Bytes past a shorter source AND with zero.
                if s.len() < maxlen {
                    out[s.len()..].fill(0);
                }
            }
        }
        BitOp::Or => {
            for s in rest {
                for (o, b) in out.iter_mut().zip(s.iter()) {
                    *o |= b;
                }
            }
        }
        BitOp::Xor => {
            for s in rest {
                for (o, b) in out.iter_mut().zip(s.iter()) {
                    *o ^= b;
                }
            }
        }
    }
    out
}

/// How BITFIELD SET and INCRBY handle values that do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wrap around (modular arithmetic; signed values wrap to the most negative).
    Wrap,
    /// Saturate at the minimum or maximum.
    Sat,
    /// Do nothing and reply nil.
    Fail,
}

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    /// Signed.
    pub signed: bool,
    /// Width in bits.
    pub bits: u32,
}

impl FieldType {
    /// Parses `i<n>` / `u<n>` as Redis does (`u64` is not supported, `i64` is).
    pub fn parse(a: &[u8]) -> Option<FieldType> {
        let (&sign, digits) = a.split_first()?;
        let signed = match sign {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = super::string::parse_i64(digits)?;
        let max = if signed { 64 } else { 63 };
        if !(1..=max).contains(&bits) {
            return None;
        }
        Some(FieldType {
            signed,
            bits: bits as u32,
        })
    }
}

/// Reads `bits` bits at bit `offset` as an unsigned integer (zero past the end).
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for j in 0..u64::from(bits) {
        v = (v << 1) | u64::from(get_bit(bytes, offset + j));
    }
    v
}

/// Reads `bits` bits at bit `offset` as a two's complement signed integer.
pub fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned(bytes, offset, bits);
    if bits < 64 && u & (1u64 << (bits - 1)) != 0 {
        (u | (u64::MAX << bits)) as i64
    } else {
        u as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; `bytes` must be long enough.
pub fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let on = value & (1u64 << (u64::from(bits) - 1 - j)) != 0;
        let pos = offset + j;
        let byte = usize::try_from(pos >> 3).expect("offset checked against the size limit");
        let mask = 0x80u8 >> (pos & 7);
        if on {
            bytes[byte] |= mask;
        } else {
            bytes[byte] &= !mask;
        }
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: whether `value + incr` overflows a `bits`-bit
/// unsigned integer (1 up, -1 down, 0 fits) and the value to store for WRAP or SAT.
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i8, u64) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        };
        (1, limit)
    } else if incr < 0 && incr < minincr {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat | Overflow::Fail => 0,
        };
        (-1, limit)
    } else {
        (0, value.wrapping_add(incr as u64))
    }
}

/// Redis's `checkSignedBitfieldOverflow`: whether `value + incr` overflows a `bits`-bit signed
/// integer (1 up, -1 down, 0 fits) and the value to store for WRAP or SAT.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i8, i64) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        };
        (1, limit)
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => min,
            Overflow::Fail => 0,
        };
        (-1, limit)
    } else {
        (0, value.wrapping_add(incr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_count(b: &[u8]) -> u64 {
        b.iter().map(|x| u64::from(x.count_ones())).sum()
    }

    /// Bit `i` of `b` as a string of '0'/'1' for reference implementations.
    fn bits_of(b: &[u8]) -> Vec<bool> {
        (0..b.len() as u64 * 8).map(|i| get_bit(b, i)).collect()
    }

    #[test]
    fn popcount_matches_naive_on_all_lengths() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8).collect();
        for start in 0..9 {
            for len in 0..(data.len() - start) {
                let s = &data[start..start + len];
                assert_eq!(popcount(s), naive_count(s), "start {start} len {len}");
            }
        }
    }

    #[test]
    fn setbit_grows_and_returns_old() {
        let mut v = Vec::new();
        assert!(!set_bit(&mut v, 7, true));
        assert_eq!(v, vec![0x01]);
        assert!(set_bit(&mut v, 7, false));
        assert!(!set_bit(&mut v, 17, true));
        assert_eq!(v, vec![0x00, 0x00, 0x40]);
        assert!(get_bit(&v, 17));
        assert!(!get_bit(&v, 1000));
    }

    #[test]
    fn first_bit_special_cases() {
        assert_eq!(first_bit(b"", true), -1);
        assert_eq!(first_bit(b"", false), 0);
        assert_eq!(first_bit(&[0xff; 20], false), 160);
        assert_eq!(first_bit(&[0; 20], true), -1);
        let mut v = vec![0u8; 20];
        v[13] = 0x10;
        assert_eq!(first_bit(&v, true), 13 * 8 + 3);
        let mut v = vec![0xffu8; 20];
        v[17] = 0xfe;
        assert_eq!(first_bit(&v, false), 17 * 8 + 7);
    }

    #[test]
    fn count_range_matches_reference() {
        let data: Vec<u8> = (0..40u32).map(|i| (i * 91 + 5) as u8).collect();
        let bits = bits_of(&data);
        let n = bits.len() as i64;
        for s in -n - 3..n + 3 {
            for e in -n - 3..n + 3 {
                let (rs, re) = (if s < 0 { n + s } else { s }, if e < 0 { n + e } else { e });
                let expect = if s < 0 && e < 0 && s > e {
                    0
                } else {
                    let (rs, re) = (rs.max(0), re.max(0).min(n - 1));
                    if rs > re {
                        0
                    } else {
                        bits[rs as usize..=re as usize]
                            .iter()
                            .filter(|b| **b)
                            .count() as u64
                    }
                };
                assert_eq!(count_range(&data, s, e, true), expect, "{s} {e}");
            }
        }
        assert_eq!(count_range(b"foobar", 1, -2, false), naive_count(b"ooba"));
        assert_eq!(count_range(b"foobar", -2, 1, false), 0);
    }

    #[test]
    fn pos_range_bit_unit_matches_reference() {
        let data = [0xf0u8, 0x0f, 0xff, 0x00, 0x81];
        let bits = bits_of(&data);
        let n = bits.len() as i64;
        for want in [false, true] {
            for s in -n - 2..n + 2 {
                for e in -n - 2..n + 2 {
                    let (rs, re) = (if s < 0 { n + s } else { s }, if e < 0 { n + e } else { e });
                    let (rs, re) = (rs.max(0), re.max(0).min(n - 1));
                    let expect = if rs > re {
                        -1
                    } else {
                        (rs..=re).find(|&i| bits[i as usize] == want).unwrap_or(-1)
                    };
                    assert_eq!(pos_range(&data, want, Some((s, Some(e))), true), expect);
                }
            }
        }
    }

    #[test]
    fn pos_range_clear_bit_padding_rules() {
        let all = [0xffu8; 3];
        assert_eq!(pos_range(&all, false, None, false), 24);
        assert_eq!(pos_range(&all, false, Some((0, None)), false), 24);
        assert_eq!(pos_range(&all, false, Some((0, Some(-1))), false), -1);
        assert_eq!(pos_range(&all, false, Some((1, None)), true), 24);
        assert_eq!(
            pos_range(b"\x00\xff\xf0", true, Some((2, Some(-1))), false),
            16
        );
        assert_eq!(
            pos_range(b"\x00\xff\xf0", true, Some((3, Some(-1))), false),
            -1
        );
    }

    #[test]
    fn bitop_pads_shorter_sources() {
        assert_eq!(bitop(BitOp::And, &[b"\xff\xff", b"\x0f"]), b"\x0f\x00");
        assert_eq!(bitop(BitOp::Or, &[b"\x01", b"\x10\x20"]), b"\x11\x20");
        assert_eq!(bitop(BitOp::Xor, &[b"\xff", b"\x0f", b""]), b"\xf0");
        assert_eq!(bitop(BitOp::Not, &[b"\x0f"]), b"\xf0");
        assert_eq!(bitop(BitOp::And, &[b"", b""]), b"");
        assert_eq!(bitop(BitOp::And, &[b"", b"\xff"]), b"\x00");
    }

    #[test]
    fn field_types_parse_like_redis() {
        assert_eq!(
            FieldType::parse(b"i64"),
            Some(FieldType {
                signed: true,
                bits: 64
            })
        );
        assert!(FieldType::parse(b"u64").is_none());
        assert!(FieldType::parse(b"u63").is_some());
        assert!(FieldType::parse(b"i0").is_none());
        assert!(FieldType::parse(b"x8").is_none());
        assert!(FieldType::parse(b"i").is_none());
        assert!(FieldType::parse(b"").is_none());
    }

    #[test]
    fn fields_roundtrip_unaligned() {
        let mut v = vec![0u8; 3];
        set_field(&mut v, 7, 5, 23);
        assert_eq!(v, vec![0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(get_unsigned(&v, 7, 5), 23);
        set_field(&mut v, 0, 8, (-2i64) as u64);
        assert_eq!(get_signed(&v, 0, 8), -2);
        assert_eq!(
            get_signed(&v, 0, 64),
            get_signed(&[0xfe, 0x70, 0, 0, 0, 0, 0, 0], 0, 64)
        );
    }

    #[test]
    fn overflow_semantics() {
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Wrap), (1, 0));
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Sat), (1, 255));
        assert_eq!(unsigned_overflow(0, -1, 8, Overflow::Wrap), (-1, 255));
        assert_eq!(unsigned_overflow(0, -1, 8, Overflow::Sat), (-1, 0));
        assert_eq!(unsigned_overflow(10, -3, 8, Overflow::Fail), (0, 7));
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), (1, -128));
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Sat), (1, 127));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Wrap), (-1, 127));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Sat), (-1, -128));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            (1, i64::MIN)
        );
        assert_eq!(
            signed_overflow(i64::MIN, -1, 64, Overflow::Sat),
            (-1, i64::MIN)
        );
        assert_eq!(signed_overflow(5, 0, 64, Overflow::Fail), (0, 5));
    }
}
