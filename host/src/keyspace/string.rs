//! String values: Redis's `int`, `embstr` and `raw` encodings.

use std::borrow::Cow;

/// The largest string Redis allows (`proto-max-bulk-len` default, 512 MB).
pub const MAX_STRING_LEN: usize = 512 * 1024 * 1024;

/// A string value. Integers in canonical form are kept as numbers, as Redis's `int` encoding
/// does, so `INCR` needs no parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    /// Canonical decimal integer (`OBJECT ENCODING` → `int`).
    Int(i64),
    /// Bytes; `raw` is set once modified in place (APPEND, SETRANGE, SETBIT), as Redis's
    /// `embstr` turns `raw` then.
    Bytes {
        /// The bytes.
        data: Vec<u8>,
        /// Whether Redis would report `raw` even for a short string.
        raw: bool,
    },
}

impl StrValue {
    /// Builds a value from bytes, choosing the encoding Redis's `tryObjectEncoding` would.
    pub fn from_bytes(b: &[u8]) -> Self {
        match parse_canonical_i64(b) {
            Some(n) => StrValue::Int(n),
            None => StrValue::Bytes {
                data: b.to_vec(),
                raw: false,
            },
        }
    }

    /// Builds a value from an owned buffer.
    pub fn from_vec(v: Vec<u8>) -> Self {
        match parse_canonical_i64(&v) {
            Some(n) => StrValue::Int(n),
            None => StrValue::Bytes {
                data: v,
                raw: false,
            },
        }
    }

    /// The bytes of the value.
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            StrValue::Int(n) => Cow::Owned(itoa::Buffer::new().format(*n).as_bytes().to_vec()),
            StrValue::Bytes { data, .. } => Cow::Borrowed(data),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => itoa::Buffer::new().format(*n).len(),
            StrValue::Bytes { data, .. } => data.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mutable bytes for in-place edits; the value becomes `raw`.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if let StrValue::Int(n) = *self {
            *self = StrValue::Bytes {
                data: itoa::Buffer::new().format(n).as_bytes().to_vec(),
                raw: true,
            };
        }
        match self {
            StrValue::Bytes { data, raw } => {
                *raw = true;
                data
            }
            StrValue::Int(_) => unreachable!("converted above"),
        }
    }

    /// The value as an integer, if it is one (`INCR`'s parsing rules).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            StrValue::Bytes { data, .. } => parse_i64(data),
        }
    }

    /// The encoding Redis reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Bytes { data, raw } => {
                if !*raw && data.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
        }
    }
}

/// Parses a signed 64-bit integer exactly as Redis's `string2ll`: optional `-`, digits, no
/// leading zeros (except "0"), no spaces, no `+`.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Like [`parse_i64`]; Redis's int encoding uses the same canonical-form test.
pub fn parse_canonical_i64(b: &[u8]) -> Option<i64> {
    parse_i64(b)
}

/// Parses a double as Redis's `string2d`/`getDoubleFromObject` does: no surrounding spaces, no
/// empty string; `inf`, `-inf`, `+inf` accepted; NaN rejected.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    if b.is_empty() || b[0].is_ascii_whitespace() || b[b.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts things strtod does not ("1_0" is rejected by both; "0x10" is accepted
            // by strtod but not by Rust, and Redis rejects hex for doubles in practice because
            // of how its callers check the end pointer only for some forms).
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() { None } else { Some(v) }
}

/// Formats a double the way Redis 7.0 formats INCRBYFLOAT results (`%.17Lf` with trailing
/// zeros removed, never an exponent).
///
/// Redis computes in `long double`, so `1 + 0.1` prints as `1.1` there while the nearest `f64`
/// is `1.1000000000000001`. We print the 15-significant-digit form when it reads back within one
/// ulp of the result (the noise `long double` would not show), else the shortest exact form.
pub fn format_f64_human(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    let short = format!("{:.*e}", 14, v);
    let candidate: f64 = short.parse().unwrap_or(v);
    let chosen = if (candidate - v).abs() <= f64::EPSILON * v.abs() {
        candidate
    } else {
        v
    };
    // `Display` for f64 never uses an exponent and gives the shortest round-trip digits.
    format!("{chosen}")
}

/// Formats a double as Redis's `%.17g` (reply doubles in RESP2: ZSCORE, ZINCRBY, ...).
pub fn format_f64_g17(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // %.17g: 17 significant digits, trailing zeros stripped, exponent form when exp < -4 or
    // exp >= 17.
    let sci = format!("{:.16e}", v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (16 - exp).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, v)).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"1a"), None);
    }

    #[test]
    fn encodings() {
        assert_eq!(StrValue::from_bytes(b"123").encoding(), "int");
        assert_eq!(StrValue::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut v = StrValue::from_bytes(b"12");
        v.make_raw().push(b'3');
        assert_eq!(v.encoding(), "raw");
        assert_eq!(v.as_bytes().as_ref(), b"123");
    }

    #[test]
    fn g17_matches_printf() {
        assert_eq!(format_f64_g17(1.5), "1.5");
        assert_eq!(format_f64_g17(1.1), "1.1000000000000001");
        assert_eq!(format_f64_g17(10.0), "10");
        assert_eq!(format_f64_g17(1e20), "1e+20");
        assert_eq!(format_f64_g17(0.0001), "0.0001");
        assert_eq!(format_f64_g17(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_f64_g17(-2.5), "-2.5");
        assert_eq!(format_f64_g17(f64::INFINITY), "inf");
    }

    #[test]
    fn human_format() {
        assert_eq!(format_f64_human(10.5), "10.5");
        assert_eq!(format_f64_human(1.0 + 0.1), "1.1");
        assert_eq!(format_f64_human(3000.0), "3000");
        assert_eq!(format_f64_human(-0.0), "0");
        assert_eq!(format_f64_human(1e20), "100000000000000000000");
    }

    #[test]
    fn doubles_parse_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
    }
}
