//! Active expiry: Redis's `activeExpireCycle`, sampling random volatile keys.

use std::time::{Duration, Instant};

use super::Keyspace;

/// Keys sampled per database per round (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const KEYS_PER_LOOP: usize = 20;
/// Repeat a database while more than this share of the sample was expired.
const ACCEPTABLE_STALE_PERCENT: usize = 10;

impl Keyspace {
    /// Deletes expired keys by sampling, for at most `budget`; returns how many it deleted.
    /// Each deletion emits `expired` like a lazy one.
    pub fn active_expire_cycle(&mut self, budget: Duration) -> usize {
        let start = Instant::now();
        let now = super::unix_ms();
        self.set_now(now);
        let mut deleted = 0;
        for index in 0..self.num_dbs() {
            loop {
                let mut db = self.db(index);
                let volatile = db.raw().volatile_len();
                if volatile == 0 {
                    break;
                }
                let sample = volatile.min(KEYS_PER_LOOP);
                let mut expired = 0;
                for _ in 0..sample {
                    let Some(key) = db.raw().random_volatile().map(Box::<[u8]>::from) else {
                        break;
                    };
                    if db.expire_if_needed(&key) {
                        expired += 1;
                    }
                }
                deleted += expired;
                if start.elapsed() >= budget || expired * 100 <= sample * ACCEPTABLE_STALE_PERCENT {
                    break;
                }
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::string::StrValue;
    use crate::keyspace::value::Value;

    #[test]
    fn cycle_removes_expired_keys_and_keeps_live_ones() {
        let mut ks = Keyspace::new();
        let past = super::super::unix_ms() - 1000;
        {
            let mut db = ks.db(0);
            for i in 0..200 {
                let key = format!("k{i}");
                db.set(key.as_bytes(), Value::Str(StrValue::Int(i)), false);
                if i % 2 == 0 {
                    db.set_expire(key.as_bytes(), past);
                } else {
                    db.set_expire(key.as_bytes(), past + 3_600_000);
                }
            }
        }
        let n = ks.active_expire_cycle(Duration::from_secs(5));
        assert!(n > 0);
        // Keep cycling; sampling converges on all expired keys being gone.
        while ks.active_expire_cycle(Duration::from_secs(5)) > 0 {}
        assert!(ks.db_ref(0).len() >= 100);
        assert!(ks.db_ref(0).len() < 200);
    }
}
