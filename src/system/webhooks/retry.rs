//! When a failed delivery is tried again: the configured schedule of waits, one per retry;
//! past its end the delivery has failed for good and its endpoint is disabled.

use chrono::{DateTime, Duration, Utc};

/// What follows the `attempts`-th failed attempt (1 for the first) at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    RetryAt(DateTime<Utc>),
    GiveUp,
}

pub fn after_failure(schedule_s: &[u64], attempts: i64, now: DateTime<Utc>) -> Next {
    let index = usize::try_from(attempts.max(1) - 1).unwrap_or(usize::MAX);
    match schedule_s.get(index) {
        Some(wait) => Next::RetryAt(
            now + Duration::seconds(
                i64::try_from(*wait)
                    .unwrap_or(i64::MAX / 4)
                    .min(i64::MAX / 4),
            ),
        ),
        None => Next::GiveUp,
    }
}

/// How long the whole schedule retries, in seconds.
pub fn span_s(schedule_s: &[u64]) -> u64 {
    schedule_s
        .iter()
        .fold(0u64, |sum, s| sum.saturating_add(*s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_give_up() {
        let now = Utc::now();
        let schedule = [5, 300, 1800];
        assert_eq!(
            after_failure(&schedule, 1, now),
            Next::RetryAt(now + Duration::seconds(5))
        );
        assert_eq!(
            after_failure(&schedule, 3, now),
            Next::RetryAt(now + Duration::seconds(1800))
        );
        assert_eq!(after_failure(&schedule, 4, now), Next::GiveUp);
        assert_eq!(after_failure(&[], 1, now), Next::GiveUp);
    }

    #[test]
    fn the_default_schedule_retries_for_about_a_day() {
        let default = crate::config::WebhooksConfig::default().retry_schedule_s;
        let hours = span_s(&default) as f64 / 3600.0;
        assert!((24.0..30.0).contains(&hours), "{hours} h");
    }
}
