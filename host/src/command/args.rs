//! [`Args`]: a cursor over a command's arguments, with Redis's parsing rules and error texts.

use super::error::CmdError;
use crate::keyspace::string::{parse_f64, parse_i64};

/// The arguments of one command (`argv[0]` is the command name), read front to back.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    argv: &'a [&'a [u8]],
    pos: usize,
}

impl<'a> Args<'a> {
    /// Wraps a full argv (name first); the cursor starts after the name.
    pub fn new(argv: &'a [&'a [u8]]) -> Self {
        Args { argv, pos: 1 }
    }

    /// The full argv, name included.
    pub fn argv(&self) -> &'a [&'a [u8]] {
        self.argv
    }

    /// The command name as sent.
    pub fn name(&self) -> &'a [u8] {
        self.argv.first().copied().unwrap_or(b"")
    }

    /// Arguments not read yet.
    pub fn len(&self) -> usize {
        self.argv.len() - self.pos
    }

    /// Whether every argument was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unread arguments.
    pub fn rest(&self) -> &'a [&'a [u8]] {
        &self.argv[self.pos..]
    }

    /// Marks every argument as read.
    pub fn skip_rest(&mut self) {
        self.pos = self.argv.len();
    }

    /// The next argument without consuming it.
    pub fn peek(&self) -> Option<&'a [u8]> {
        self.argv.get(self.pos).copied()
    }

    /// The next argument.
    ///
    /// # Errors
    /// `ERR syntax error` if there is none.
    pub fn next_bytes(&mut self) -> Result<&'a [u8], CmdError> {
        let a = self.argv.get(self.pos).copied().ok_or(CmdError::Syntax)?;
        self.pos += 1;
        Ok(a)
    }

    /// The next argument, if any.
    pub fn next_opt(&mut self) -> Option<&'a [u8]> {
        let a = self.argv.get(self.pos).copied()?;
        self.pos += 1;
        Some(a)
    }

    /// The next argument as a signed integer (Redis's `string2ll` rules).
    ///
    /// # Errors
    /// `ERR value is not an integer or out of range`.
    pub fn next_i64(&mut self) -> Result<i64, CmdError> {
        parse_i64(self.next_bytes()?).ok_or(CmdError::NotInteger)
    }

    /// The next argument as a double.
    ///
    /// # Errors
    /// `ERR value is not a valid float`.
    pub fn next_f64(&mut self) -> Result<f64, CmdError> {
        parse_f64(self.next_bytes()?).ok_or(CmdError::NotFloat)
    }

    /// Consumes the next argument if it equals `word`, ignoring ASCII case.
    pub fn eat(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(a) if a.eq_ignore_ascii_case(word.as_bytes()) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }
}

/// Parses a canonical decimal integer (`string2ll`), `None` if it is not one.
pub fn parse_int(a: &[u8]) -> Option<i64> {
    parse_i64(a)
}

/// Parses an integer argument (`string2ll`).
///
/// # Errors
/// `ERR value is not an integer or out of range`.
pub fn int(a: &[u8]) -> Result<i64, CmdError> {
    parse_i64(a).ok_or(CmdError::NotInteger)
}

/// Parses a double argument.
///
/// # Errors
/// `ERR value is not a valid float`.
pub fn float(a: &[u8]) -> Result<f64, CmdError> {
    parse_f64(a).ok_or(CmdError::NotFloat)
}

/// Whether `a` equals `word` ignoring ASCII case.
pub fn is(a: &[u8], word: &str) -> bool {
    a.eq_ignore_ascii_case(word.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_reads_in_order() {
        let argv: Vec<&[u8]> = vec![b"set", b"k", b"10", b"nx"];
        let mut a = Args::new(&argv);
        assert_eq!(a.name(), b"set");
        assert_eq!(a.next_bytes().unwrap(), b"k");
        assert_eq!(a.next_i64().unwrap(), 10);
        assert!(!a.eat("XX"));
        assert!(a.eat("NX"));
        assert!(a.is_empty());
        assert_eq!(a.next_bytes(), Err(CmdError::Syntax));
    }
}
