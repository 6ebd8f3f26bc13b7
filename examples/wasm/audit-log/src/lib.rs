//! audit-log: a keyspace trigger. Every write to an `acct:*` key appends an entry
//! `{key, event}` to the stream `audit:log`, synchronously: the entry is there, in the same
//! atomic step, when the writing client gets its reply.
//!
//! ```sh
//! redis-cli -x RG.WASMEXECUTE < target/guests/audit_log.wasm
//! redis-cli SET acct:1 100
//! redis-cli XRANGE audit:log - +     # 1) 1) "<id>" 2) 1) "key" 2) "acct:1" 3) "event" 4) "set"
//! ```
//!
//! The Python equivalent:
//! `GB().foreach(lambda r: execute('XADD', 'audit:log', '*', 'key', r['key'], 'event', r['event'])).register(prefix='acct:*', mode='sync', readValue=False)`.

use gears_guest::{Error, GearsBuilder, Mode, Reader, RegisterOptions, Value, execute};

/// The stream the entries go to (outside `acct:*`, so the trigger does not fire on itself).
pub const AUDIT_STREAM: &str = "audit:log";

fn audit(r: &Value) -> Result<(), Error> {
    let key = r["key"].as_bytes().unwrap_or_default();
    let event = r["event"].as_bytes().unwrap_or_default();
    execute([
        b"XADD".as_slice(),
        AUDIT_STREAM.as_bytes(),
        b"*",
        b"key",
        key,
        b"event",
        event,
    ])?;
    Ok(())
}

fn init() -> Result<(), Error> {
    GearsBuilder::new(Reader::Keys)
        .desc("audit-log: XADD audit:log key <key> event <event> for every write of acct:*")
        .foreach(audit)
        .register(
            RegisterOptions::new()
                .prefix("acct:*")
                .mode(Mode::Sync)
                .read_value(false),
        )
}

gears_guest::export!(init);

#[cfg(test)]
mod tests {
    use gears_guest::bindings::exports::gears::function::function::CallKind;
    use gears_guest::testing::{self, Declared};
    use gears_guest::{Mode, Reply, Value};

    #[test]
    fn audit_log_registers_sync_trigger_and_appends_entries() {
        let declared = testing::init(super::init).expect("init");
        let Declared::Register(plan, o) = &declared[0] else {
            panic!("a registration")
        };
        assert_eq!(o.prefix.as_deref(), Some("acct:*"));
        assert!(matches!(o.mode, Mode::Sync) && !o.read_value);
        assert_eq!(plan.steps.len(), 2, "foreach + collect");
        testing::on_execute(|_| Reply::Bulk(b"1-0".to_vec()));
        let r = Value::map([("event", "set"), ("key", "acct:1")]);
        assert_eq!(testing::call_one(0, CallKind::Foreach, vec![r]), Ok(vec![]));
        let xadd: Vec<&[u8]> = vec![
            b"XADD",
            b"audit:log",
            b"*",
            b"key",
            b"acct:1",
            b"event",
            b"set",
        ];
        assert_eq!(
            testing::take_executed(),
            vec![xadd.iter().map(|a| a.to_vec()).collect::<Vec<_>>()]
        );
    }
}
