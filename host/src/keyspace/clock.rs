//! The process-wide TSC clock (quanta, calibrated once): command statistics and execution
//! timings read it, since `Instant::now()` (clock_gettime) costs several times more per call.

use std::sync::LazyLock;

/// The clock.
pub fn clock() -> &'static quanta::Clock {
    static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);
    &CLOCK
}
