//! Redis's glob matching (`stringmatchlen` in `util.c`), on raw bytes.
//!
//! KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET and the gears KeysReader all mean this by a pattern:
//! `*`, `?`, `[...]` classes with `^` negation and `a-z` ranges (reversed ranges allowed), and `\`
//! escapes. It is ported line by line rather than taken from a crate because no crate reproduces
//! Redis's corner cases (unterminated classes, signed-char ranges, the nesting cap of 1000 and the
//! "skip longer matches" cut-off that keeps `*a*a*a*...b` linear).

/// Whether `string` matches the glob `pattern`.
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip = false;
    match_impl(pattern, string, false, &mut skip, 0)
}

/// Whether `string` matches `pattern`, ignoring ASCII case (CONFIG GET, COMMAND LIST).
pub fn matches_nocase(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip = false;
    match_impl(pattern, string, true, &mut skip, 0)
}

/// `C`'s `char` is signed here, so ranges compare bytes above 0x7f as negative numbers.
#[inline]
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

#[inline]
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

#[inline]
fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(mut p: &[u8], mut s: &[u8], nocase: bool, skip: &mut bool, nesting: u32) -> bool {
    // Protection against abusive patterns, as in Redis.
    if nesting > 1000 {
        return false;
    }
    let at = |p: &[u8], i: usize| p.get(i).copied().unwrap_or(0);
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_impl(&p[1..], s, nocase, skip, nesting + 1) {
                        return true;
                    }
                    if *skip {
                        return false;
                    }
                    s = &s[1..];
                }
                // No match for the rest of the pattern anywhere in the rest of the string: an
                // earlier `*` matching more cannot help either.
                *skip = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = at(p, 0) == b'^';
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if at(p, 0) == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if at(p, 0) == b']' {
                        break;
                    } else if p.is_empty() {
                        // Unterminated class: Redis steps back so the outer advance lands on
                        // the end of the pattern.
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (signed(p[0]), signed(p[2]));
                        let mut c = signed(s[0]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            c = lower(c);
                        }
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if eq(p[0], s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                // `p` points at `]` (or is empty for an unterminated class); the common advance
                // below steps over the `]`.
                if p.is_empty() {
                    // Redis's `pattern--; patternLen++` followed by the advance: nothing left.
                    return s.is_empty();
                }
            }
            b'\\' => {
                if p.len() >= 2 {
                    p = &p[1..];
                }
                if !eq(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while at(p, 0) == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        // Redis quirk kept on purpose: the loop never runs for an empty string, so `*` does not
        // match "" (KEYS and SCAN special-case the pattern `*` instead).
        assert!(!matches(b"*", b""));
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"h?llo", b"hello"));
        assert!(!matches(b"h?llo", b"hllo"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h[ae]llo", b"hallo"));
        assert!(!matches(b"h[ae]llo", b"hillo"));
        assert!(matches(b"h[^e]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(
            matches(b"h[b-a]llo", b"hallo"),
            "reversed ranges are allowed"
        );
        assert!(matches(b"user.*", b"user.1"));
        assert!(!matches(b"user.*", b"userX1"));
        assert!(matches(b"a\\*b", b"a*b"));
        assert!(!matches(b"a\\*b", b"aXb"));
        assert!(matches(b"foo*", b"foo"));
        assert!(matches(b"*bar", b"foobar"));
        assert!(!matches(b"", b"a"));
        assert!(matches(b"", b""));
    }

    #[test]
    fn classes_with_escapes_and_unterminated() {
        assert!(matches(b"[\\]]", b"]"));
        assert!(matches(b"a[bc", b"ab"));
        assert!(!matches(b"a[bc", b"abc"));
        // `a-]` is read as the range `]`..`a`, leaving the class unterminated.
        assert!(matches(b"[a-]", b"^"));
        assert!(!matches(b"[a-]", b"-"));
    }

    #[test]
    fn nocase() {
        assert!(matches_nocase(b"MAXMEMORY*", b"maxmemory-policy"));
        assert!(matches_nocase(b"[A-Z]x", b"qX"));
        assert!(!matches(b"A", b"a"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b".to_vec();
        let s = vec![b'a'; 10_000];
        assert!(!matches(&pattern, &s));
        let deep = b"*a".repeat(2000);
        assert!(!matches(&deep, &s), "the nesting cap ends deep patterns");
    }
}
