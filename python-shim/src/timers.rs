//! Time events (`registerTE(seconds, callback[, keyName])`, RedisGears 1.2 §6.6).
//!
//! One timer thread (`gears-timer`, started on first use) serves every timer of the process:
//! it sleeps until the earliest deadline, then calls that timer's `callback()` with the GIL, in
//! a context of the session that registered it (so `execute`, `atomic`, `GB().run()` work; the
//! callback is not a step). The first call comes `seconds` after registration, the next
//! `seconds` after the previous call returned. A callback that raises is logged
//! (`Error occured on TimeEvent_Callback, error=...`) and its timer stops; so does every timer
//! of a server that stopped.
//!
//! With `keyName` RedisGears stores the timer in that key (a module type, `rg_timeev`) and
//! `DEL` cancels it. Here the key is a string holding a per-timer token, created with
//! `SET keyName <token> NX` (so an existing key makes `registerTE` return False); before each
//! call the timer checks that the key still holds its token, and stops when it was deleted or
//! overwritten. The key's type is therefore `string`, and timers are not persisted.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;

use crate::context::{self, HostReply};
use crate::error::format_error;
use crate::module::{ExecutionSession, gears_error};

/// One registered timer.
struct Timer {
    /// `None`: a negative period, never fires (as RedisGears' unsigned wrap-around).
    period: Option<Duration>,
    callback: Py<PyAny>,
    session: ExecutionSession,
    /// `(keyName, token)`.
    key: Option<(Vec<u8>, Vec<u8>)>,
}

#[derive(Default)]
struct Queue {
    due: BinaryHeap<Reverse<(Instant, u64)>>,
    timers: HashMap<u64, Timer>,
}

struct Service {
    queue: Mutex<Queue>,
    wake: Condvar,
}

static SERVICE: OnceLock<Option<Arc<Service>>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn service() -> Option<&'static Arc<Service>> {
    SERVICE
        .get_or_init(|| {
            let s = Arc::new(Service {
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
            });
            let run = s.clone();
            std::thread::Builder::new()
                .name("gears-timer".into())
                .spawn(move || run.run())
                .ok()
                .map(|_| s)
        })
        .as_ref()
}

/// Registers a timer for `session`; with `key`, only if no key of that name exists.
///
/// # Errors
/// If the timer thread cannot start.
pub(crate) fn register(
    py: Python<'_>,
    session: ExecutionSession,
    seconds: i64,
    callback: Py<PyAny>,
    key: Option<Vec<u8>>,
) -> PyResult<bool> {
    let svc = service().ok_or_else(|| gears_error("could not start the timer thread"))?;
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let key = match key {
        None => None,
        Some(key) => {
            let token = format!("rg_timeev:{}:{id}", std::process::id()).into_bytes();
            let argv = vec![b"SET".to_vec(), key.clone(), token.clone(), b"NX".to_vec()];
            let host = session.host.clone();
            // Lock order: keyspace, then GIL.
            match py.detach(|| host.execute(argv)) {
                HostReply::Status(_) => Some((key, token)),
                HostReply::Error(e) => return Err(gears_error(&e)),
                _ => return Ok(false),
            }
        }
    };
    let period = u64::try_from(seconds).ok().map(Duration::from_secs);
    let timer = Timer {
        period,
        callback,
        session,
        key,
    };
    let mut q = svc.queue.lock();
    if let Some(p) = period {
        q.due.push(Reverse((Instant::now() + p, id)));
    }
    q.timers.insert(id, timer);
    drop(q);
    svc.wake.notify_all();
    Ok(true)
}

impl Service {
    fn run(&self) {
        loop {
            let (id, timer) = self.next_due();
            if self.fire(&timer) {
                let mut q = self.queue.lock();
                if let Some(p) = timer.period {
                    q.due.push(Reverse((Instant::now() + p, id)));
                }
                q.timers.insert(id, timer);
            } else {
                Python::attach(|_| drop(timer));
            }
        }
    }

    /// Sleeps until a timer is due and takes it out of the queue.
    fn next_due(&self) -> (u64, Timer) {
        let mut q = self.queue.lock();
        loop {
            match q.due.peek().map(|Reverse(d)| *d) {
                None => {
                    self.wake.wait(&mut q);
                }
                Some((at, id)) if at <= Instant::now() => {
                    q.due.pop();
                    if let Some(t) = q.timers.remove(&id) {
                        return (id, t);
                    }
                }
                Some((at, _)) => {
                    self.wake.wait_until(&mut q, at);
                }
            }
        }
    }

    /// Calls the timer's callback; false when the timer must stop.
    fn fire(&self, timer: &Timer) -> bool {
        let host = &timer.session.host;
        if !host.alive() {
            return false;
        }
        if let Some((key, token)) = &timer.key {
            match host.execute(vec![b"GET".to_vec(), key.clone()]) {
                HostReply::Bulk(v) if v == *token => {}
                _ => return false,
            }
        }
        Python::attach(|py| {
            let ctx = timer.session.context(py);
            let (res, ctx) = context::enter(ctx, || timer.callback.call0(py));
            if ctx.atomic_depth > 0 {
                ctx.host.atomic_exit();
            }
            match res {
                Ok(_) => true,
                Err(e) => {
                    let error = format_error(py, &e, host.attempt_traceback());
                    tracing::warn!("Error occured on TimeEvent_Callback, error={error}");
                    false
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::testing::{script, setup};

    fn count(v: Option<String>) -> i64 {
        v.and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    fn wait_for(what: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if what() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn timer_calls_its_callback_every_period() {
        let (host, session) = setup();
        script(
            &host,
            &session,
            "n = 0\ndef tick():\n    global n\n    n += 1\n    execute('incr', 'ticks')\n    assert not isAsyncAllow()\nassert registerTE(1, tick) is True",
        )
        .expect("script");
        assert_eq!(
            host.get("ticks"),
            None,
            "the first call comes after a period"
        );
        assert!(wait_for(|| count(host.get("ticks")) >= 2));
    }

    #[test]
    fn timer_with_a_key_exists_once_and_stops_when_the_key_goes() {
        let (host, session) = setup();
        let out = script(
            &host,
            &session,
            "def tick():\n    execute('incr', 'kticks')\nassert registerTE(1, tick, 'te') is True\nassert registerTE(1, tick, 'te') is False",
        );
        out.expect("script");
        assert!(host.get("te").is_some_and(|v| v.starts_with("rg_timeev")));
        assert!(wait_for(|| count(host.get("kticks")) >= 1));
        host.keys.lock().unwrap().remove(b"te".as_slice());
        let seen = count(host.get("kticks"));
        std::thread::sleep(Duration::from_millis(2200));
        assert!(count(host.get("kticks")) <= seen + 1, "the timer stopped");
    }

    #[test]
    fn timer_that_raises_stops() {
        let (host, session) = setup();
        script(
            &host,
            &session,
            "def tick():\n    execute('incr', 'failing')\n    raise Exception('boom')\nregisterTE(1, tick)",
        )
        .expect("script");
        assert!(wait_for(|| count(host.get("failing")) == 1));
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(count(host.get("failing")), 1);
    }

    #[test]
    fn timer_arguments_are_checked() {
        let (host, session) = setup();
        for (code, err) in [
            ("registerTE(2, 2)", "callback must be a function"),
            ("registerTE('2', lambda: 1)", "time argument must be a long"),
            ("registerTE(2)", "not enough arguments for time event"),
            (
                "import threading\nerr = []\ndef t():\n    try:\n        registerTE(1, lambda: 1)\n    except Exception as e:\n        err.append(str(e))\nth = threading.Thread(target=t)\nth.start()\nth.join()\nraise Exception(err[0])",
                "can not create time event on a python created thread",
            ),
        ] {
            let e = script(&host, &session, code).err().expect("error");
            assert!(e.contains(err), "{code}: {e}");
        }
    }
}
