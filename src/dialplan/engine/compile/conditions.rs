//! A rule's `match`: every condition checked (with its field path), the destination keys the rule
//! sits under in the trie, and the boxed conditions beyond a plain prefix.

use super::checks::{check_prefix, check_window};
use super::regexes::{compile_regex, regex_literal_prefix};
use super::{CompiledConditions, Keys, Problems};
use crate::dialplan::engine::classes::ClassSet;
use crate::dialplan::engine::model::Rule;
use crate::dialplan::engine::pattern::Pattern;

pub(super) fn compile_conditions(
    rule: &Rule,
    problems: &mut Problems,
) -> Option<(Option<Box<CompiledConditions>>, Keys)> {
    let c = &rule.conditions;
    let before = problems.errors.len();
    for (i, prefix) in c.prefixes.iter().enumerate() {
        if let Err(e) = check_prefix(prefix) {
            problems.push(&format!("match.prefixes[{i}]"), e);
        }
    }
    for (i, prefix) in c.caller_prefixes.iter().enumerate() {
        if let Err(e) = check_prefix(prefix) {
            problems.push(&format!("match.caller_prefixes[{i}]"), e);
        }
    }
    let pattern = c.pattern.as_ref().and_then(|p| {
        Pattern::parse(p)
            .map_err(|e| problems.push("match.pattern", e))
            .ok()
    });
    let regex = c.regex.as_ref().and_then(|r| {
        compile_regex(r)
            .map_err(|e| problems.push("match.regex", e))
            .ok()
    });
    for (i, window) in c.time.iter().enumerate() {
        if let Err((field, e)) = check_window(window) {
            problems.push(&format!("match.time[{i}].{field}"), e);
        }
    }
    for (i, id) in c.trunks.iter().enumerate() {
        if *id <= 0 {
            problems.push(
                &format!("match.trunks[{i}]"),
                "must be a trunk id (positive)",
            );
        }
    }
    for (i, id) in c.organizations.iter().enumerate() {
        if *id <= 0 {
            problems.push(
                &format!("match.organizations[{i}]"),
                "must be an organization id (positive)",
            );
        }
    }
    if problems.errors.len() > before {
        return None;
    }
    let keys: Keys = if !c.prefixes.is_empty() {
        c.prefixes.iter().map(|p| p.as_str().into()).collect()
    } else if let Some(pattern) = &pattern {
        vec![pattern.literal_prefix().into()]
    } else if let Some(source) = &c.regex {
        vec![regex_literal_prefix(source).into()]
    } else {
        vec!["".into()]
    };
    let plain = pattern.is_none()
        && regex.is_none()
        && c.caller_prefixes.is_empty()
        && c.classes.is_empty()
        && c.time.is_empty()
        && c.trunks.is_empty()
        && c.organizations.is_empty();
    let conditions = (!plain).then(|| {
        Box::new(CompiledConditions {
            pattern,
            regex,
            callers: c
                .caller_prefixes
                .iter()
                .map(|p| p.as_str().into())
                .collect(),
            classes: ClassSet::of(&c.classes),
            time: c.time.clone().into_boxed_slice(),
            trunks: c.trunks.clone().into_boxed_slice(),
            organizations: c.organizations.clone().into_boxed_slice(),
        })
    });
    Some((conditions, keys))
}
