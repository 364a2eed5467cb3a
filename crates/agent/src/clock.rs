//! The working-time clock: `maxDuration` counts only time the agent works (spec §3 "Clocks").

use std::time::{Duration, Instant};

/// Accumulates working time; pausing stops it.
#[derive(Debug)]
pub struct WorkClock {
    budget: Duration,
    used: Duration,
    running_since: Option<Instant>,
}

impl WorkClock {
    /// A running clock with `budget` of working time.
    pub fn start(budget: Duration) -> WorkClock {
        WorkClock {
            budget,
            used: Duration::ZERO,
            running_since: Some(Instant::now()),
        }
    }

    /// Working time so far.
    pub fn used(&self) -> Duration {
        self.used + self.running_since.map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Working time left (zero when spent).
    pub fn remaining(&self) -> Duration {
        self.budget.saturating_sub(self.used())
    }

    /// Stops counting (paused, takeover, waiting on a human).
    pub fn pause(&mut self) {
        if let Some(since) = self.running_since.take() {
            self.used += since.elapsed();
        }
    }

    /// Counts again.
    pub fn resume(&mut self) {
        if self.running_since.is_none() {
            self.running_since = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_time_is_not_counted() {
        let mut clock = WorkClock::start(Duration::from_secs(10));
        clock.pause();
        let used = clock.used();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(clock.used(), used, "a paused clock must not advance");
        clock.resume();
        std::thread::sleep(Duration::from_millis(5));
        assert!(clock.used() > used);
        assert!(clock.remaining() < Duration::from_secs(10));
    }
}
