//! When a job runs next, as pure arithmetic: an interval with jitter for scheduled jobs, an
//! exponential backoff for restarts and retries. Randomness comes in as a number in `[0, 1)`
//! so every schedule is tested exactly.

use std::time::Duration;

/// Every `period`, give or take up to `jitter` either way, so instances started together (or
/// jobs of one instance) do not all hit the database in the same second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Every {
    pub period: Duration,
    pub jitter: Duration,
}

impl Every {
    pub fn new(period: Duration, jitter: Duration) -> Self {
        Self { period, jitter }
    }

    /// The wait before the next run; `unit` is a random draw in `[0, 1)`.
    pub fn next_delay(&self, unit: f64) -> Duration {
        let jitter = self.jitter.min(self.period).as_secs_f64();
        let offset = (unit.clamp(0.0, 1.0) * 2.0 - 1.0) * jitter;
        Duration::from_secs_f64((self.period.as_secs_f64() + offset).max(0.0))
    }
}

/// Exponential backoff: `base`, then doubling, capped at `max`, each wait drawn between half and
/// all of that step ("equal jitter"), so restarts of many failing jobs spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The wait after the `failures`-th failure in a row (1 for the first); `unit` in `[0, 1)`.
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(32);
        let step = self
            .base
            .checked_mul(1u32 << exponent.min(31))
            .unwrap_or(self.max)
            .min(self.max);
        let half = step / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::{Backoff, Every};
    use std::time::Duration;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn an_interval_without_jitter_is_the_period() {
        let every = Every::new(S(3600), Duration::ZERO);
        assert_eq!(every.next_delay(0.0), S(3600));
        assert_eq!(every.next_delay(0.99), S(3600));
    }

    #[test]
    fn jitter_spreads_the_run_either_side_of_the_period() {
        let every = Every::new(S(3600), S(60));
        assert_eq!(every.next_delay(0.0), S(3540));
        assert_eq!(every.next_delay(0.5), S(3600));
        assert_eq!(every.next_delay(0.75), S(3630));
        assert!(every.next_delay(0.999_999) <= S(3660));
    }

    #[test]
    fn jitter_larger_than_the_period_never_goes_below_zero() {
        let every = Every::new(S(10), S(60));
        assert_eq!(every.next_delay(0.0), Duration::ZERO);
        assert_eq!(every.next_delay(0.5), S(10));
    }

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let backoff = Backoff::new(S(1), S(60));
        // unit 1.0 (clamped) gives the whole step: the upper bound of each wait.
        let top: Vec<u64> = (1..=8).map(|n| backoff.delay(n, 1.0).as_secs()).collect();
        assert_eq!(top, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff.delay(3, 0.0), S(2));
        assert_eq!(backoff.delay(u32::MAX, 0.0), S(30));
    }

    #[test]
    fn the_first_failure_counts_like_zero() {
        let backoff = Backoff::new(Duration::from_millis(200), S(30));
        assert_eq!(backoff.delay(0, 1.0), backoff.delay(1, 1.0));
        assert_eq!(backoff.delay(1, 0.5), Duration::from_millis(150));
    }
}
