//! [`CmdError`]: a command's failure. `Display` is the exact wire text, compared byte for byte
//! with real Redis in tests.

use std::borrow::Cow;

use crate::keyspace::KeyspaceError;

/// A command error; its `Display` is the error line Redis sends (without the leading `-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    /// `WRONGTYPE`.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// Integer argument or value not parseable.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// Float argument or value not parseable.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// Generic syntax error.
    #[error("ERR syntax error")]
    Syntax,
    /// Missing key where one is required.
    #[error("ERR no such key")]
    NoSuchKey,
    /// Integer overflow in INCR family.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// Wrong number of arguments.
    #[error("ERR wrong number of arguments for '{0}' command")]
    Arity(String),
    /// Unknown command.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand {
        /// The command name as sent (truncated).
        name: String,
        /// The first arguments, quoted as Redis does.
        args: String,
    },
    /// Unknown subcommand.
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand {
        /// The subcommand as sent.
        sub: String,
        /// The container command, upper-case.
        cmd: String,
    },
    /// DB index out of range.
    #[error("ERR DB index is out of range")]
    DbIndex,
    /// Timeout argument invalid.
    #[error("ERR timeout is not a float or out of range")]
    TimeoutNotFloat,
    /// Negative timeout.
    #[error("ERR timeout is negative")]
    TimeoutNegative,
    /// Any other error, with its full text (`ERR ...`, `NOGROUP ...`, `BUSYGROUP ...`).
    #[error("{0}")]
    Other(Cow<'static, str>),
}

impl CmdError {
    /// An error with a fixed text.
    pub const fn msg(s: &'static str) -> CmdError {
        CmdError::Other(Cow::Borrowed(s))
    }

    /// An error with a formatted text; it must start with an error code such as `ERR`.
    pub fn owned(s: String) -> CmdError {
        CmdError::Other(Cow::Owned(s))
    }

    /// `ERR <text>` with a formatted text.
    pub fn err(s: impl std::fmt::Display) -> CmdError {
        CmdError::Other(Cow::Owned(format!("ERR {s}")))
    }
}

impl From<KeyspaceError> for CmdError {
    fn from(e: KeyspaceError) -> Self {
        match e {
            KeyspaceError::WrongType => CmdError::WrongType,
            KeyspaceError::DbIndexOutOfRange => CmdError::DbIndex,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_wire_text() {
        assert_eq!(
            CmdError::WrongType.to_string(),
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(
            CmdError::Arity("get".into()).to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
    }
}
