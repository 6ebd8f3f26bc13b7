//! stream-consumer: a StreamReader registration. Every entry `player <name> score <n>` added to
//! a `scores:*` stream adds `n` to `<name>`'s score in the sorted set `leaderboard` and counts
//! the entry in the hash `stats:scores` (field `entries`, and one field per stream).
//!
//! ```sh
//! redis-cli -x RG.WASMEXECUTE < target/guests/stream_consumer.wasm
//! redis-cli XADD scores:game1 '*' player alice score 10
//! redis-cli ZRANGE leaderboard 0 -1 WITHSCORES      # alice 10
//! ```
//!
//! An entry without a numeric score fails (the registration's `lastError` shows why) and the
//! stream goes on (`onFailedPolicy` continue). The Python equivalent:
//! `GB('StreamReader').foreach(lambda r: (execute('ZINCRBY', 'leaderboard', r['value']['score'], r['value']['player']), ...)).register(prefix='scores:*')`.

use gears_guest::{Error, GearsBuilder, OnFailed, Reader, RegisterOptions, Value, cmd, execute};

fn consume(r: &Value) -> Result<(), Error> {
    let stream = r["key"].to_text();
    let entry = &r["value"];
    let player = entry["player"]
        .as_bytes()
        .ok_or_else(|| Error::Host(format!("entry {} of {stream} has no player", r["id"])))?;
    let score = entry["score"].as_f64().ok_or_else(|| {
        Error::Host(format!(
            "entry {} of {stream} has no numeric score",
            r["id"]
        ))
    })?;
    execute(cmd!["ZINCRBY", "leaderboard", score, player])?;
    execute(cmd!["HINCRBY", "stats:scores", "entries", 1])?;
    execute(cmd!["HINCRBY", "stats:scores", stream, 1])?;
    Ok(())
}

fn init() -> Result<(), Error> {
    GearsBuilder::new(Reader::Stream)
        .desc("stream-consumer: scores:* entries into the leaderboard sorted set")
        .foreach(consume)
        .register(
            RegisterOptions::new()
                .prefix("scores:*")
                .batch(1)
                .on_failed(OnFailed::Continue),
        )
}

gears_guest::export!(init);

#[cfg(test)]
mod tests {
    use gears_guest::bindings::exports::gears::function::function::CallKind;
    use gears_guest::testing::{self, Declared, wit};
    use gears_guest::{Failure, Reply, Value};

    fn entry(fields: &[(&str, &str)]) -> Value {
        Value::map([
            ("key", Value::Bytes(b"scores:g1".to_vec())),
            ("id", Value::Text("1-0".into())),
            (
                "value",
                Value::map(
                    fields
                        .iter()
                        .map(|(k, v)| (*k, Value::Bytes(v.as_bytes().to_vec()))),
                ),
            ),
        ])
    }

    #[test]
    fn stream_consumer_increments_leaderboard_and_stats() {
        let declared = testing::init(super::init).expect("init");
        let Declared::Register(plan, o) = &declared[0] else {
            panic!("a registration")
        };
        assert!(matches!(plan.reader, wit::ReaderKind::StreamReader));
        assert_eq!((o.prefix.as_deref(), o.batch), (Some("scores:*"), Some(1)));
        testing::on_execute(|_| Reply::Int(1));
        let ok = testing::call_one(
            0,
            CallKind::Foreach,
            vec![entry(&[("player", "alice"), ("score", "2.5")])],
        );
        assert_eq!(ok, Ok(vec![]));
        let cmds: Vec<String> = testing::take_executed()
            .iter()
            .map(|c| {
                c.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            cmds,
            [
                "ZINCRBY leaderboard 2.5 alice",
                "HINCRBY stats:scores entries 1",
                "HINCRBY stats:scores scores:g1 1"
            ]
        );
        let bad = testing::call_one(
            0,
            CallKind::Foreach,
            vec![entry(&[("player", "bob"), ("score", "x")])],
        );
        assert_eq!(
            bad,
            Err(Failure::Error(
                "entry 1-0 of scores:g1 has no numeric score".into()
            ))
        );
    }
}
