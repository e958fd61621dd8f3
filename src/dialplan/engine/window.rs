//! Whether an instant falls in a rule's time window, read on the organization's wall clock.
//!
//! Windows are wall-clock times: `09:00–17:00` means what the office clock shows, whatever the
//! UTC offset that day. Consequences on DST change days (tested below):
//! - spring forward: local times in the gap never occur, so a window `01:30–02:30` on a day the
//!   clock jumps 02:00 → 03:00 holds only from 01:30 to 02:00 local, and one entirely inside
//!   the gap (`02:10–02:50`) does not happen that day;
//! - fall back: the repeated hour occurs twice, so `01:30–02:30` on a day the clock goes back
//!   02:00 → 01:00 holds for both passes through 01:30–02:00 (90 minutes of real time).
//!
//! A window whose `to` is earlier than its `from` spans midnight; its weekday and date limits
//! apply to the day it *started* (Friday 22:00–06:00 includes Saturday 03:00).

use super::model::TimeWindow;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

/// Whether `at` falls in any of `windows` on `tz`'s wall clock (no windows: always).
pub fn any_holds(windows: &[TimeWindow], at: DateTime<Utc>, tz: Tz) -> bool {
    if windows.is_empty() {
        return true;
    }
    let local = at.with_timezone(&tz).naive_local();
    windows.iter().any(|w| holds(w, local))
}

/// Whether the local wall-clock time `local` falls in `window`.
pub fn holds(window: &TimeWindow, local: NaiveDateTime) -> bool {
    let time = local.time();
    let today = local.date();
    let from = window.from.unwrap_or(NaiveTime::MIN);
    match window.to {
        Some(to) if to <= from => {
            // Spans midnight: the evening part belongs to today, the morning part to yesterday.
            if time >= from {
                day_allowed(window, today)
            } else if time < to {
                today
                    .checked_sub_days(Days::new(1))
                    .is_some_and(|yesterday| day_allowed(window, yesterday))
            } else {
                false
            }
        }
        Some(to) => time >= from && time < to && day_allowed(window, today),
        None => time >= from && day_allowed(window, today),
    }
}

fn day_allowed(window: &TimeWindow, day: NaiveDate) -> bool {
    (window.weekdays.is_empty() || window.weekdays.contains(&day.weekday()))
        && window.date_from.is_none_or(|d| day >= d)
        && window.date_to.is_none_or(|d| day <= d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Weekday};

    fn window(from: &str, to: &str) -> TimeWindow {
        TimeWindow {
            weekdays: vec![],
            from: Some(NaiveTime::parse_from_str(from, "%H:%M").unwrap()),
            to: Some(NaiveTime::parse_from_str(to, "%H:%M").unwrap()),
            date_from: None,
            date_to: None,
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap())
    }

    const NY: Tz = chrono_tz::America::New_York;

    #[test]
    fn office_hours_in_the_organization_zone() {
        let w = [window("09:00", "17:00")];
        // 2026-07-15 13:30 UTC is 09:30 EDT.
        assert!(any_holds(&w, utc("2026-07-15 13:30"), NY));
        assert!(!any_holds(&w, utc("2026-07-15 12:30"), NY), "08:30 EDT");
        assert!(
            !any_holds(&w, utc("2026-07-15 21:00"), NY),
            "17:00 EDT, end exclusive"
        );
        assert!(
            any_holds(&w, utc("2026-01-15 14:00"), NY),
            "09:00 EST, start inclusive"
        );
        assert!(
            any_holds(&[], utc("2026-01-15 03:00"), NY),
            "no window: always"
        );
    }

    #[test]
    fn across_midnight_the_start_day_counts() {
        let mut w = window("22:00", "06:00");
        w.weekdays = vec![Weekday::Fri];
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        // 2026-11-20 is a Friday.
        assert!(holds(&w, at("2026-11-20 23:00")));
        assert!(
            holds(&w, at("2026-11-21 03:00")),
            "Saturday morning of Friday's night"
        );
        assert!(!holds(&w, at("2026-11-21 06:00")), "end exclusive");
        assert!(
            !holds(&w, at("2026-11-20 03:00")),
            "Friday morning belongs to Thursday"
        );
        assert!(!holds(&w, at("2026-11-21 23:00")), "Saturday night");
        w.date_to = NaiveDate::from_ymd_opt(2026, 11, 20);
        assert!(
            holds(&w, at("2026-11-21 03:00")),
            "date limit applies to the start day"
        );
    }

    #[test]
    fn spring_forward_shortens_a_window_that_straddles_the_gap() {
        // New York 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        let w = [window("01:30", "02:30")];
        assert!(any_holds(&w, utc("2026-03-08 06:30"), NY), "01:30 EST");
        assert!(any_holds(&w, utc("2026-03-08 06:59"), NY), "01:59 EST");
        assert!(
            !any_holds(&w, utc("2026-03-08 07:00"), NY),
            "03:00 EDT: past the window"
        );
        let gap = [window("02:10", "02:50")];
        let mut minute = utc("2026-03-08 05:00");
        while minute < utc("2026-03-08 09:00") {
            assert!(
                !any_holds(&gap, minute, NY),
                "never on the wall clock at {minute}"
            );
            minute += chrono::Duration::minutes(1);
        }
    }

    #[test]
    fn fall_back_repeats_the_hour() {
        // New York 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00 UTC).
        let w = [window("01:30", "02:30")];
        let mut minutes = 0;
        let mut at = utc("2026-11-01 04:00");
        while at < utc("2026-11-01 09:00") {
            minutes += i32::from(any_holds(&w, at, NY));
            at += chrono::Duration::minutes(1);
        }
        assert_eq!(minutes, 90, "01:30–02:00 twice, then 02:00–02:30 once");
        assert!(any_holds(&w, utc("2026-11-01 05:45"), NY), "01:45 EDT");
        assert!(any_holds(&w, utc("2026-11-01 06:45"), NY), "01:45 EST");
    }

    #[test]
    fn london_summer_time() {
        let london = chrono_tz::Europe::London;
        let w = [window("08:00", "18:00")];
        assert!(any_holds(&w, utc("2026-06-01 07:30"), london), "08:30 BST");
        assert!(!any_holds(&w, utc("2026-12-01 07:30"), london), "07:30 GMT");
    }

    #[test]
    fn open_ended_windows_and_date_ranges() {
        let mut w = window("18:00", "00:00");
        w.to = None;
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert!(holds(&w, at("2026-12-24 19:00")));
        assert!(!holds(&w, at("2026-12-24 17:59")));
        let christmas = TimeWindow {
            weekdays: vec![],
            from: None,
            to: None,
            date_from: NaiveDate::from_ymd_opt(2026, 12, 25),
            date_to: NaiveDate::from_ymd_opt(2026, 12, 26),
        };
        assert!(holds(&christmas, at("2026-12-25 00:00")));
        assert!(holds(&christmas, at("2026-12-26 23:59")));
        assert!(!holds(&christmas, at("2026-12-27 00:00")));
        let midnight_to = window("22:00", "00:00");
        assert!(
            holds(&midnight_to, at("2026-12-24 23:59")),
            "to 00:00 runs to midnight"
        );
        assert!(!holds(&midnight_to, at("2026-12-25 00:00")));
    }
}
