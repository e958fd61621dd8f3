//! The field checks conditions and actions share: prefixes, rewrites, free text and time
//! windows. Each returns the message shown after the field's path.

use super::{MAX_PREFIX, MAX_TEXT};
use crate::dialplan::engine::model::{Rewrite, TimeWindow};
use crate::types::text::check_control;

/// A destination or caller prefix: an optional leading `+`, then digits, `*` or `#`.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("must not be empty".into());
    }
    if prefix.len() > MAX_PREFIX {
        return Err(format!("must be at most {MAX_PREFIX} characters"));
    }
    let body = prefix.strip_prefix('+').unwrap_or(prefix);
    match body.chars().find(|c| !matches!(c, '0'..='9' | '*' | '#')) {
        Some(c) => Err(format!(
            "unexpected {c:?}; a prefix is an optional '+' then digits, '*' or '#'"
        )),
        None => Ok(()),
    }
}

pub(super) fn check_rewrite(rewrite: &Rewrite) -> Result<(), (&'static str, String)> {
    if rewrite.strip > MAX_PREFIX as u32 {
        return Err(("strip", format!("must be at most {MAX_PREFIX}")));
    }
    if !rewrite.prepend.is_empty() {
        check_prefix(&rewrite.prepend).map_err(|e| ("prepend", e))?;
    }
    Ok(())
}

/// A policy name, rule name or deny reason (`empty_ok` for rule names). Not trimmed: a deny
/// reason is sent as written.
pub(crate) fn check_text(text: &str, empty_ok: bool) -> Result<(), String> {
    if !empty_ok && text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > MAX_TEXT {
        return Err(format!("must be at most {MAX_TEXT} characters"));
    }
    check_control(text, false).map_err(|e| e.to_string())
}

pub(super) fn check_window(w: &TimeWindow) -> Result<(), (&'static str, String)> {
    if let (Some(from), Some(to)) = (w.from, w.to)
        && from == to
    {
        return Err((
            "to",
            "equals from: an empty window (leave both out for the whole day)".into(),
        ));
    }
    if let (Some(from), Some(to)) = (w.date_from, w.date_to)
        && from > to
    {
        return Err(("date_to", "is before date_from".into()));
    }
    let mut days = w.weekdays.clone();
    days.sort_by_key(|d| d.num_days_from_monday());
    days.dedup();
    if days.len() != w.weekdays.len() {
        return Err(("weekdays", "lists a day twice".into()));
    }
    Ok(())
}
