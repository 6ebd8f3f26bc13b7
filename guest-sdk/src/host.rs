//! What a running function can ask the server: Redis commands, the log, configuration, the
//! execution id, and the command-hook calls.

use crate::{Error, Reply, Value, sys};

pub use crate::bindings::gears::function::host::LogLevel;

fn to_args<A: AsRef<[u8]>>(args: impl IntoIterator<Item = A>) -> Vec<Vec<u8>> {
    args.into_iter().map(|a| a.as_ref().to_vec()).collect()
}

/// Runs one Redis command as the session's owner: `execute(["SET", key, value])`. An error
/// reply comes back as [`Error::Command`]; errors nested in arrays stay [`Reply::Error`]s.
///
/// Arguments are anything byte-like (`&str`, `String`, `&[u8]`, `Vec<u8>`); for mixed types
/// or numbers use [`cmd!`](crate::cmd): `execute(cmd!["INCRBY", key, 5])`. During `init` the
/// host refuses commands (nothing runs at upload).
pub fn execute<A: AsRef<[u8]>>(args: impl IntoIterator<Item = A>) -> Result<Reply, Error> {
    match Reply::decode(&sys::execute(&to_args(args)))? {
        Reply::Error(e) => Err(Error::Command(e)),
        r => Ok(r),
    }
}

/// Runs several commands as one atomic block (no other client runs in between), like
/// RedisGears' `atomic()`. One reply per command; error replies stay [`Reply::Error`]s.
pub fn execute_atomic<C, A>(commands: impl IntoIterator<Item = C>) -> Result<Vec<Reply>, Error>
where
    C: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let commands: Vec<Vec<Vec<u8>>> = commands.into_iter().map(to_args).collect();
    sys::execute_atomic(&commands)
        .iter()
        .map(|r| Reply::decode(r).map_err(Error::from))
        .collect()
}

/// Logs `message` at `notice` level, tagged with the session id.
pub fn log(message: impl AsRef<str>) {
    sys::log(LogLevel::Notice, message.as_ref());
}

/// Logs `message` at `level`.
pub fn log_at(level: LogLevel, message: impl AsRef<str>) {
    sys::log(level, message.as_ref());
}

/// A RedisGears configuration value (RG.CONFIGGET semantics, including extra keys set with
/// RG.CONFIGSET), or `None`.
pub fn config_get(key: &str) -> Option<String> {
    sys::config_get(key)
}

/// The id of the execution running this callback (`<40 hex>-<n>`); `None` during `init`.
pub fn execution_id() -> Option<String> {
    sys::execution_id()
}

/// In a CommandReader hook: runs the hooked command (or the next hook) with `args` and
/// returns its reply. [`Error::Host`] outside a hook.
pub fn call_next<A: AsRef<[u8]>>(args: impl IntoIterator<Item = A>) -> Result<Reply, Error> {
    let nodes = sys::call_next(&to_args(args)).map_err(Error::Host)?;
    Ok(Reply::decode(&nodes)?)
}

/// In a KeysReader registration with `commands` or a CommandReader hook: the reply the client
/// gets instead of the command's own. [`Error::Host`] elsewhere.
pub fn override_reply(value: impl crate::IntoValue) -> Result<(), Error> {
    sys::override_reply(&value.into_value().encode()).map_err(Error::Host)
}

/// One command argument: byte strings as they are, numbers in decimal (what `redis-cli` sends).
pub trait ToArg {
    /// The argument's bytes.
    fn to_arg(&self) -> Vec<u8>;
}

impl ToArg for str {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl ToArg for String {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl ToArg for [u8] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> ToArg for [u8; N] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl ToArg for Vec<u8> {
    fn to_arg(&self) -> Vec<u8> {
        self.clone()
    }
}

impl ToArg for Value {
    /// Byte strings and text as they are, anything else as Python's `str()`.
    fn to_arg(&self) -> Vec<u8> {
        match self.as_bytes() {
            Some(b) => b.to_vec(),
            None => self.py_str().into_bytes(),
        }
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Vec<u8> {
        (**self).to_arg()
    }
}

macro_rules! num_to_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
        }
    )*};
}
num_to_arg!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

impl ToArg for f64 {
    /// Python's `str(float)` (`1.5`, `2.0`, `1e+16`), which Redis parses back exactly.
    fn to_arg(&self) -> Vec<u8> {
        crate::pyfmt::float_repr(*self).into_bytes()
    }
}

/// Builds a command from arguments of mixed types (anything [`ToArg`]):
/// `execute(cmd!["HINCRBY", key, "n", 1])`.
#[macro_export]
macro_rules! cmd {
    ($($arg:expr),* $(,)?) => {
        ::std::vec![$($crate::ToArg::to_arg(&$arg)),*]
    };
}
