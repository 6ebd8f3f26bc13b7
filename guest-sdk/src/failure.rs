//! Errors: [`Error`] (what the SDK's calls return) and [`Failure`] (why a callback failed),
//! and the traits that let callbacks return plain values or `Result`s.

use std::fmt;

use crate::value::{IntoValue, Value};

/// An error of an SDK call: a command's error reply, a host refusal, a malformed tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The command replied with an error (`ERR ...`, `WRONGTYPE ...`), full text.
    Command(String),
    /// The host refused the call (`run`/`register` outside `init`, `call_next` outside a hook).
    Host(String),
    /// The host sent a malformed tree.
    Decode(crate::DecodeError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Command(e) | Error::Host(e) => f.write_str(e),
            Error::Decode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::DecodeError> for Error {
    fn from(e: crate::DecodeError) -> Error {
        Error::Decode(e)
    }
}

/// Why a callback failed: the three outcomes RedisGears gives a Python callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// An error: the record becomes this error text (like a Python exception).
    Error(String),
    /// RedisGears' `flatError`: the text exactly as given.
    Flat(String),
    /// Pauses the registration running this callback.
    Pause(String),
}

impl Failure {
    /// An error with this text.
    pub fn error(msg: impl Into<String>) -> Failure {
        Failure::Error(msg.into())
    }

    /// A flat error (`flatError(msg)`).
    pub fn flat(msg: impl Into<String>) -> Failure {
        Failure::Flat(msg.into())
    }

    /// Pauses the registration (`flatError('PAUSE ...')`).
    pub fn pause(msg: impl Into<String>) -> Failure {
        Failure::Pause(msg.into())
    }

    /// The text, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            Failure::Error(m) | Failure::Flat(m) | Failure::Pause(m) => m,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Error(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Failure {
        Failure::Error(e)
    }
}

impl From<&str> for Failure {
    fn from(e: &str) -> Failure {
        Failure::Error(e.to_owned())
    }
}

/// What a callback's error type may be: a [`Failure`] (keeps its kind), or anything
/// printable (an [`Error`], `String`, `ParseIntError`, `Box<dyn Error>`...), which becomes
/// [`Failure::Error`] with its text.
pub trait IntoFailure {
    /// The failure.
    fn into_failure(self) -> Failure;
}

impl IntoFailure for Failure {
    fn into_failure(self) -> Failure {
        self
    }
}

impl<E: fmt::Display> IntoFailure for E {
    fn into_failure(self) -> Failure {
        Failure::Error(self.to_string())
    }
}

/// What a callback may return: `T` itself, or a `Result` of it whose error is
/// [`IntoFailure`]. For records `T` is [`Value`] and any [`IntoValue`] works
/// (`String`, `i64`, `Vec<..>`, `Option<..>`...); for filters it is `bool`; for foreach `()`.
pub trait Outcome<T> {
    /// The value, or why the callback failed.
    fn into_outcome(self) -> Result<T, Failure>;
}

impl<T: IntoValue> Outcome<Value> for T {
    fn into_outcome(self) -> Result<Value, Failure> {
        Ok(self.into_value())
    }
}

impl<T: IntoValue, E: IntoFailure> Outcome<Value> for Result<T, E> {
    fn into_outcome(self) -> Result<Value, Failure> {
        self.map(IntoValue::into_value)
            .map_err(IntoFailure::into_failure)
    }
}

impl<E: IntoFailure> Outcome<bool> for Result<bool, E> {
    fn into_outcome(self) -> Result<bool, Failure> {
        self.map_err(IntoFailure::into_failure)
    }
}

impl Outcome<bool> for bool {
    fn into_outcome(self) -> Result<bool, Failure> {
        Ok(self)
    }
}

impl Outcome<()> for () {
    fn into_outcome(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl<E: IntoFailure> Outcome<()> for Result<(), E> {
    fn into_outcome(self) -> Result<(), Failure> {
        self.map_err(IntoFailure::into_failure)
    }
}
