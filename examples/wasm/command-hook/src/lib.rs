//! command-hook: a CommandReader `hook`. `SET` on an `upper:*` key runs this function instead
//! of the command; it calls the command itself (`call_next`) with the value in upper case and
//! replies what the command replied. Other keys are not hooked.
//!
//! ```sh
//! redis-cli -x RG.WASMEXECUTE < target/guests/command_hook.wasm
//! redis-cli SET upper:1 hello     # OK
//! redis-cli GET upper:1           # "HELLO"
//! ```
//!
//! The Python equivalent:
//! `GB('CommandReader').map(lambda a: call_next(a[1], a[2].upper(), *a[3:])).register(hook='set', keyprefix='upper:', mode='sync')`.

use gears_guest::{Error, GearsBuilder, Mode, Reader, RegisterOptions, Value, call_next};

/// `[command, key, value, options...]` → the arguments `call_next` gets (without the command
/// name), the value in upper case.
pub fn upper_args(argv: &Value) -> Result<Vec<Vec<u8>>, Error> {
    let args = argv.as_list().unwrap_or_default();
    let mut out: Vec<Vec<u8>> = args
        .iter()
        .skip(1)
        .map(|a| a.as_bytes().unwrap_or_default().to_vec())
        .collect();
    match out.get_mut(1) {
        Some(value) => value.make_ascii_uppercase(),
        None => return Err(Error::Host("wrong number of arguments for 'set' command".into())),
    }
    Ok(out)
}

fn init() -> Result<(), Error> {
    GearsBuilder::new(Reader::Command)
        .desc("command-hook: SET upper:* stores the value in upper case")
        .map(|argv| -> Result<Value, Error> {
            let reply = call_next(upper_args(&argv)?)?;
            // The command's own error (a syntax error, WRONGTYPE) is the client's error too.
            if let Some(e) = reply.error() {
                return Err(Error::Host(e.to_owned()));
            }
            Ok(Value::from(reply))
        })
        .register(
            RegisterOptions::new()
                .hook("set")
                .key_prefix("upper:")
                .mode(Mode::Sync),
        )
}

gears_guest::export!(init);

#[cfg(test)]
mod tests {
    use gears_guest::Value;

    #[test]
    fn upper_args_drop_the_command_and_upper_case_the_value() {
        let argv = Value::list(["set", "upper:1", "héllo", "EX", "10"]);
        let args = super::upper_args(&argv).expect("args");
        assert_eq!(
            args,
            vec![
                b"upper:1".to_vec(),
                "HéLLO".as_bytes().to_vec(),
                b"EX".to_vec(),
                b"10".to_vec()
            ]
        );
        assert!(super::upper_args(&Value::list(["set", "k"])).is_err());
    }
}
