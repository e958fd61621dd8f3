//! Retention decisions, pure: how long an organization keeps a kind given the platform default
//! and the overrides of its chain of organizations (root first), whether an override respects
//! the legal minimums above it, and which spans of time a purge may remove once legal holds
//! are taken out. No I/O and no clock: `now` and the cutoff are passed in.

use chrono::{DateTime, TimeZone, Utc};

/// Longest retention or minimum, in days (a hundred years).
pub const DAYS_MAX: u32 = 36_500;

/// One organization's override of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Level {
    pub organization_id: i64,
    pub days: Option<u32>,
    pub minimum_days: Option<u32>,
}

/// Where a value came from: the platform's configuration or an organization's override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Platform,
    Organization(i64),
}

/// The retention in force for one kind of one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// What the purge keeps: the nearest `days` set (or the default), raised to the minimum.
    pub days: u32,
    pub days_from: Source,
    /// The highest legal minimum along the chain (0: none).
    pub minimum_days: u32,
    pub minimum_from: Source,
}

/// The highest minimum along `chain` and who set it.
fn minimum(chain: &[Level]) -> (u32, Source) {
    chain
        .iter()
        .filter_map(|l| {
            l.minimum_days
                .map(|m| (m, Source::Organization(l.organization_id)))
        })
        .fold((0, Source::Platform), |best, next| {
            if next.0 > best.0 { next } else { best }
        })
}

/// The retention of an organization whose chain (root first, the organization last) has the
/// overrides `chain`, under the platform default `default_days`.
pub fn resolve(default_days: u32, chain: &[Level]) -> Resolved {
    let (days, days_from) = chain
        .iter()
        .rev()
        .find_map(|l| l.days.map(|d| (d, Source::Organization(l.organization_id))))
        .unwrap_or((default_days, Source::Platform));
    let (minimum_days, minimum_from) = minimum(chain);
    if minimum_days > days {
        return Resolved {
            days: minimum_days,
            days_from: minimum_from,
            minimum_days,
            minimum_from,
        };
    }
    Resolved {
        days,
        days_from,
        minimum_days,
        minimum_from,
    }
}

/// Why an override cannot be set: a value out of range (bad input), or one under a legal
/// minimum (a conflict with the minimums in force).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Range(&'static str, String),
    BelowMinimum(&'static str, String),
}

impl Refusal {
    pub fn field(&self) -> &'static str {
        match self {
            Refusal::Range(f, _) | Refusal::BelowMinimum(f, _) => f,
        }
    }
}

/// Why an override of `days` / `minimum_days` cannot be set on an organization whose
/// ancestors (root first, without the organization) have the overrides `ancestors`: each must
/// be at least the ancestors' minimum, and `days` at least the organization's own minimum.
pub fn check(
    ancestors: &[Level],
    days: Option<u32>,
    minimum_days: Option<u32>,
) -> Result<(), Refusal> {
    for (field, value) in [("days", days), ("minimum_days", minimum_days)] {
        match value {
            Some(v) if v == 0 || v > DAYS_MAX => {
                return Err(Refusal::Range(
                    field,
                    format!("must be between 1 and {DAYS_MAX}"),
                ));
            }
            _ => {}
        }
    }
    let (floor, from) = minimum(ancestors);
    for (field, value) in [("days", days), ("minimum_days", minimum_days)] {
        if let Some(v) = value
            && v < floor
        {
            let by = match from {
                Source::Organization(id) => format!("organization {id}"),
                Source::Platform => "the platform".into(),
            };
            return Err(Refusal::BelowMinimum(
                field,
                format!("{v} days is shorter than the legal minimum of {floor} days set by {by}"),
            ));
        }
    }
    if let (Some(d), Some(m)) = (days, minimum_days)
        && d < m
    {
        return Err(Refusal::BelowMinimum(
            "days",
            format!("{d} days is shorter than this organization's own minimum_days ({m})"),
        ));
    }
    Ok(())
}

/// The start of time, for spans without a lower bound (stored timestamps compare after it on
/// both databases).
pub fn beginning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The cutoff of a retention of `days` at `now`: what was created (or finished) before it goes.
pub fn cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(days))
}

/// A held span `[from, until)`; `None` on either side: unbounded.
pub type Held = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The spans `[start, end)` before `cutoff` the purge may remove: everything from the
/// beginning up to `cutoff`, minus every held span. Sorted, disjoint, none empty.
pub fn deletable(cutoff: DateTime<Utc>, holds: &[Held]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let start = beginning();
    let mut held: Vec<(DateTime<Utc>, DateTime<Utc>)> = holds
        .iter()
        .map(|(from, until)| {
            (
                from.unwrap_or(start),
                until.unwrap_or(DateTime::<Utc>::MAX_UTC),
            )
        })
        .filter(|(from, until)| from < until)
        .collect();
    held.sort();
    let mut spans = Vec::new();
    let mut at = start;
    for (from, until) in held {
        if at >= cutoff {
            break;
        }
        if from > at {
            spans.push((at, from.min(cutoff)));
        }
        at = at.max(until);
    }
    if at < cutoff {
        spans.push((at, cutoff));
    }
    spans
}

/// The organization ids of a materialized path (`/1/7/9/` → 1, 7, 9), root first.
pub fn chain_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|p| p.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(id: i64, days: Option<u32>, minimum: Option<u32>) -> Level {
        Level {
            organization_id: id,
            days,
            minimum_days: minimum,
        }
    }

    #[test]
    fn the_nearest_days_win_raised_to_the_highest_minimum() {
        let r = resolve(90, &[]);
        assert_eq!(
            (r.days, r.days_from, r.minimum_days),
            (90, Source::Platform, 0)
        );
        let chain = [
            level(1, Some(30), Some(20)),
            level(7, None, None),
            level(9, Some(60), None),
        ];
        let r = resolve(90, &chain);
        assert_eq!(r.days, 60);
        assert_eq!(r.days_from, Source::Organization(9));
        assert_eq!(
            (r.minimum_days, r.minimum_from),
            (20, Source::Organization(1))
        );
        // A parent raising its minimum above a child's days raises the child's retention.
        let chain = [level(1, None, Some(100)), level(9, Some(60), None)];
        let r = resolve(90, &chain);
        assert_eq!((r.days, r.days_from), (100, Source::Organization(1)));
    }

    #[test]
    fn an_override_may_not_go_below_a_parents_minimum() {
        let ancestors = [level(1, None, Some(30)), level(7, None, Some(60))];
        assert!(check(&ancestors, Some(60), None).is_ok());
        assert!(check(&ancestors, Some(365), Some(90)).is_ok());
        let refusal = check(&ancestors, Some(45), None).unwrap_err();
        let Refusal::BelowMinimum(field, message) = refusal else {
            panic!("{refusal:?}")
        };
        assert_eq!(field, "days");
        assert!(
            message.contains("60 days set by organization 7"),
            "{message}"
        );
        assert_eq!(
            check(&ancestors, None, Some(10)).unwrap_err().field(),
            "minimum_days"
        );
        assert_eq!(check(&[], Some(10), Some(20)).unwrap_err().field(), "days");
        assert_eq!(check(&[], Some(0), None).unwrap_err().field(), "days");
        assert_eq!(
            check(&[], None, Some(DAYS_MAX + 1)).unwrap_err().field(),
            "minimum_days"
        );
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn holds_cut_spans_out_of_what_may_go() {
        let cut = at(20);
        assert_eq!(deletable(cut, &[]), vec![(beginning(), cut)]);
        assert!(deletable(cut, &[(None, None)]).is_empty());
        assert_eq!(
            deletable(cut, &[(Some(at(5)), Some(at(10)))]),
            vec![(beginning(), at(5)), (at(10), cut)]
        );
        // Overlapping holds, one reaching past the cutoff.
        assert_eq!(
            deletable(
                cut,
                &[(Some(at(8)), Some(at(25))), (Some(at(5)), Some(at(10)))]
            ),
            vec![(beginning(), at(5))]
        );
        assert_eq!(deletable(cut, &[(None, Some(at(3)))]), vec![(at(3), cut)]);
        assert_eq!(
            deletable(cut, &[(Some(at(21)), None)]),
            vec![(beginning(), cut)]
        );
    }

    #[test]
    fn a_path_gives_its_chain() {
        assert_eq!(chain_ids("/1/7/9/"), vec![1, 7, 9]);
        assert_eq!(chain_ids("/1/"), vec![1]);
    }
}
