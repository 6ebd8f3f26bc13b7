//! A fake [`Host`] for unit tests: a tiny string keyspace (`set`/`get`/`del`/`incr`, any
//! case), recorded commands and logs, and nested runs that finish at once with fixed results.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::plan::{PlanSpec, RunArgs};
use crate::{Host, HostReply, LogLevel, RunDone, ScriptOutcome, Session};

#[derive(Default)]
pub struct FakeHost {
    ids: AtomicU64,
    pub logs: Mutex<Vec<String>>,
    pub commands: Mutex<Vec<Vec<Vec<u8>>>>,
    pub keys: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    pub atomic: AtomicUsize,
    pub runs: AtomicUsize,
}

impl FakeHost {
    /// The value of `key` in the fake keyspace.
    pub fn get(&self, key: &str) -> Option<String> {
        self.keys
            .lock()
            .unwrap()
            .get(key.as_bytes())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

impl Host for FakeHost {
    fn execute(&self, argv: Vec<Vec<u8>>) -> HostReply {
        self.commands.lock().unwrap().push(argv.clone());
        let mut keys = self.keys.lock().unwrap();
        let arg = |i: usize| argv.get(i).cloned().unwrap_or_default();
        match argv[0].to_ascii_lowercase().as_slice() {
            b"get" => keys
                .get(&arg(1))
                .map_or(HostReply::Nil, |v| HostReply::Bulk(v.clone())),
            b"set" => {
                let nx = argv.len() > 3;
                if nx && keys.contains_key(&arg(1)) {
                    return HostReply::Nil;
                }
                keys.insert(arg(1), arg(2));
                HostReply::Status(b"OK".to_vec())
            }
            b"del" => HostReply::Int(i64::from(keys.remove(&arg(1)).is_some())),
            b"incr" => {
                let v = keys
                    .get(&arg(1))
                    .and_then(|v| String::from_utf8_lossy(v).parse::<i64>().ok())
                    .unwrap_or(0)
                    + 1;
                keys.insert(arg(1), v.to_string().into_bytes());
                HostReply::Int(v)
            }
            b"bad" => HostReply::Error("ERR nope".into()),
            _ => HostReply::Array(vec![HostReply::Int(1), HostReply::Nil]),
        }
    }
    fn log(&self, _level: LogLevel, msg: &str) {
        self.logs.lock().unwrap().push(msg.to_string());
    }
    fn config_get(&self, key: &str) -> Option<String> {
        (key == "k").then(|| "v".to_string())
    }
    fn attempt_traceback(&self) -> bool {
        true
    }
    fn next_plan_id(&self) -> String {
        format!(
            "{}-{}",
            "0".repeat(40),
            self.ids.fetch_add(1, Ordering::SeqCst)
        )
    }
    fn atomic_enter(&self) {
        self.atomic.fetch_add(1, Ordering::SeqCst);
    }
    fn atomic_exit(&self) {
        self.atomic.fetch_sub(1, Ordering::SeqCst);
    }
    fn start_run(&self, plan: PlanSpec, _args: RunArgs, done: RunDone) -> Result<(), String> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let reader = plan.reader.clone();
        std::thread::spawn(move || {
            let results = Python::attach(|py| {
                vec![pyo3::types::PyString::new(py, &reader).into_any().unbind()]
            });
            done(results, vec!["an error".to_string()]);
            Python::attach(|_| drop(plan));
        });
        Ok(())
    }
}

/// A fresh session and host.
pub fn setup() -> (Arc<FakeHost>, Session) {
    crate::init().expect("python starts");
    let host = Arc::new(FakeHost::default());
    let session = Session::new("s").expect("session");
    (host, session)
}

/// Runs a top-level script in `session`.
pub fn script(
    host: &Arc<FakeHost>,
    session: &Session,
    code: &str,
) -> Result<ScriptOutcome, String> {
    crate::run_script(host.clone(), session, code.as_bytes())
}
