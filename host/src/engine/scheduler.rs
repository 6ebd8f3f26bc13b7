//! The execution threads (`ExecutionThreads`): user code never runs on the server's I/O thread.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of named threads running jobs in submission order.
pub struct Scheduler {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler")
    }
}

impl Scheduler {
    /// Starts `n` threads.
    pub fn new(n: usize) -> Scheduler {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..n.max(1))
            .filter_map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("gears-exec-{i}"))
                    .spawn(move || {
                        below_serving();
                        loop {
                            let job = rx.lock().recv();
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    })
                    .ok()
            })
            .collect();
        Scheduler {
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
        }
    }

    /// Queues a job; false if the scheduler stopped.
    pub fn submit(&self, job: impl FnOnce() + Send + 'static) -> bool {
        match self.tx.lock().as_ref() {
            Some(tx) => tx.send(Box::new(job)).is_ok(),
            None => false,
        }
    }

    /// Stops accepting jobs and lets the threads finish what is queued.
    pub fn shutdown(&self) {
        self.tx.lock().take();
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Runs jobs after a delay on one timer thread (StreamReader durations and retries).
pub struct Timers {
    tx: Mutex<Option<mpsc::Sender<(std::time::Instant, Job)>>>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timers")
    }
}

impl Default for Timers {
    fn default() -> Self {
        Self::new()
    }
}

impl Timers {
    /// Starts the timer thread.
    pub fn new() -> Timers {
        let (tx, rx) = mpsc::channel::<(std::time::Instant, Job)>();
        let _ = std::thread::Builder::new()
            .name("gears-timers".into())
            .spawn(move || {
                let mut due: Vec<(std::time::Instant, Job)> = Vec::new();
                loop {
                    let now = std::time::Instant::now();
                    let mut i = 0;
                    while i < due.len() {
                        if due[i].0 <= now {
                            let (_, job) = due.swap_remove(i);
                            job();
                        } else {
                            i += 1;
                        }
                    }
                    let wait = due
                        .iter()
                        .map(|(t, _)| t.saturating_duration_since(now))
                        .min()
                        .unwrap_or(std::time::Duration::from_secs(3600));
                    match rx.recv_timeout(wait) {
                        Ok(item) => due.push(item),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            });
        Timers {
            tx: Mutex::new(Some(tx)),
        }
    }

    /// Runs `job` after `delay`.
    pub fn after(&self, delay: std::time::Duration, job: impl FnOnce() + Send + 'static) {
        if let Some(tx) = self.tx.lock().as_ref() {
            let _ = tx.send((std::time::Instant::now() + delay, Box::new(job)));
        }
    }

    /// Stops the timer thread (pending timers are dropped).
    pub fn shutdown(&self) {
        self.tx.lock().take();
    }
}

/// How much lower than the serving threads user code runs (Linux nice value, per thread).
const USER_CODE_NICE: i32 = 10;

/// Lowers the calling thread below the serving threads, so that user functions spinning on
/// every core (a loop until its fuel or timeout runs out, a module compiling) delay clients by
/// less than a scheduler time slice: the kernel prefers a waking serving thread. Best effort:
/// a failure is logged and changes nothing else.
pub fn below_serving() {
    #[cfg(target_os = "linux")]
    {
        #[allow(
            unsafe_code,
            reason = "gettid(2) and setpriority(2) on the calling thread: no memory is shared"
        )]
        // SAFETY: both calls only read or set the scheduling priority of this thread.
        let rc = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, USER_CODE_NICE)
        };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "could not lower a user-code thread's priority");
        }
    }
}
