//! generator: a generator reader (RedisGears' `PythonReader` counterpart). A guest iterator
//! scans the `user:*` keys with SCAN, batch by batch, keeping its cursor in the instance
//! between the host's `generate` calls; the plan reads each user's `age` and averages it.
//!
//! ```sh
//! redis-cli HSET user:1 age 30 ; redis-cli HSET user:2 age 40
//! redis-cli -x RG.WASMEXECUTE < target/guests/generator.wasm      # 1) 1) "35.0"
//! ```
//!
//! The Python equivalent:
//! `GB('KeysOnlyReader').map(lambda k: execute('HGET', k, 'age')).filter(lambda a: a is not None).avg().run('user:*')`.

use std::collections::VecDeque;

use gears_guest::{Error, GearsBuilder, Reply, RunOptions, Value, execute};

/// Key names matching a pattern, fetched lazily with SCAN (like RedisGears' KeysOnlyReader).
pub struct ScanKeys {
    pattern: String,
    /// The next cursor; `None` once SCAN returned cursor 0.
    cursor: Option<String>,
    batch: VecDeque<Value>,
}

impl ScanKeys {
    /// Starts a scan of `pattern`.
    pub fn new(pattern: &str) -> ScanKeys {
        ScanKeys {
            pattern: pattern.to_owned(),
            cursor: Some("0".to_owned()),
            batch: VecDeque::new(),
        }
    }

    fn fetch(&mut self, cursor: &str) -> Result<(), Error> {
        let reply = execute(["SCAN", cursor, "MATCH", &self.pattern, "COUNT", "100"])?;
        let bad = || Error::Host(format!("unexpected SCAN reply {reply:?}"));
        let [next, Reply::Array(keys)] = reply.as_array().ok_or_else(bad)? else {
            return Err(bad());
        };
        let next = next.as_str().ok_or_else(bad)?;
        self.cursor = (next != "0").then(|| next.to_owned());
        self.batch.extend(keys.iter().cloned().map(Value::from));
        Ok(())
    }
}

impl Iterator for ScanKeys {
    type Item = Result<Value, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(k) = self.batch.pop_front() {
                return Some(Ok(k));
            }
            let cursor = self.cursor.take()?;
            if let Err(e) = self.fetch(&cursor) {
                return Some(Err(e));
            }
        }
    }
}

fn init() -> Result<(), Error> {
    GearsBuilder::generator(|| ScanKeys::new("user:*"))
        .map(|k| execute(["HGET", k.to_text().as_str(), "age"]).map(Value::from))
        .filter(|age| !age.is_null())
        .avg()
        .run(RunOptions::new().convert_to_str(true))
}

gears_guest::export!(init);

#[cfg(test)]
mod tests {
    use gears_guest::testing;
    use gears_guest::{Reply, Value};

    #[test]
    fn generator_scans_in_batches_and_averages_ages() {
        let declared = testing::init(super::init).expect("init");
        testing::on_execute(|args| {
            let a: Vec<String> = args
                .iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect();
            match (a[0].as_str(), a[1].as_str()) {
                ("SCAN", "0") => Reply::Array(vec![
                    Reply::Bulk(b"7".to_vec()),
                    Reply::Array(vec![
                        Reply::Bulk(b"user:1".to_vec()),
                        Reply::Bulk(b"user:2".to_vec()),
                    ]),
                ]),
                ("SCAN", "7") => Reply::Array(vec![
                    Reply::Bulk(b"0".to_vec()),
                    Reply::Array(vec![Reply::Bulk(b"user:3".to_vec())]),
                ]),
                ("HGET", "user:1") => Reply::Bulk(b"30".to_vec()),
                ("HGET", "user:2") => Reply::Nil,
                ("HGET", "user:3") => Reply::Bulk(b"41".to_vec()),
                _ => Reply::Error(format!("ERR unexpected {a:?}")),
            }
        });
        let out = testing::run(&declared[0], vec![]);
        assert_eq!(out.errors, Vec::<String>::new());
        assert_eq!(out.results, vec![Value::Text("35.5".into())]);
    }
}
