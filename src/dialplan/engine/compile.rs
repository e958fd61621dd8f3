//! Validating and compiling one policy into its immutable, lookup-ready form.
//!
//! Compilation is per policy, so changing one policy recompiles only it (the store keeps the
//! `Arc<CompiledPolicy>` of every other one and [`super::plan::Plan::assemble`] re-links them
//! cheaply). A compiled policy holds:
//! - a digit trie from each rule's destination keys to the rule's index: its `prefixes`, else
//!   the literal head of its `pattern`, else the literal head of its `regex` (the whole regex
//!   when it has a top-level alternative or starts with a wildcard: then at the root), else the
//!   root. Evaluation walks the trie once and tries only the rules on the number's path,
//!   longest prefix first; no per-call scan of all rules, and a regex runs only when the trie
//!   reached its rule;
//! - the rules, 32 bytes each: name, an index into a table of distinct actions (a million rules
//!   routing to a hundred trunks store a hundred actions) and, only when a rule has conditions
//!   beyond its destination prefix, a boxed set of them.
//!
//! Validation collects every problem with its field path (`rules[3].match.pattern`), so the
//! API can answer one 400 naming the field.

use super::classes::ClassSet;
use super::model::{Action, PolicyBody, Rewrite, RouteTarget, Rule, Strategy, TimeWindow};
use super::pattern::Pattern;
use super::trie::Trie;
use regex::Regex;
use std::collections::HashMap;
use std::fmt;

/// Longest prefix (`+` and up to 31 digits, `*`, `#`).
pub const MAX_PREFIX: usize = 32;
/// Most trunks one route action may list.
pub const MAX_ROUTES: usize = 32;
/// Longest regex source accepted, and the compiled program's size limit.
pub const MAX_REGEX: usize = 512;
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Longest rule/policy name or deny reason.
pub const MAX_TEXT: usize = 200;

/// One validation problem: where (`rules[3].match.pattern`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule's index, `None` for a policy-level field such as `name`.
    pub rule: Option<usize>,
    /// Field path from the policy body's root.
    pub field: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What a compiled rule does, deduplicated per policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompiledAction {
    Route {
        strategy: Strategy,
        routes: Box<[RouteTarget]>,
    },
    Translate {
        strip: u32,
        prepend: Box<str>,
        caller_id: Option<Box<str>>,
    },
    Deny {
        sip_code: u16,
        reason: Box<str>,
    },
    Continue {
        group_id: i64,
    },
}

impl CompiledAction {
    pub fn effect(&self) -> &'static str {
        match self {
            CompiledAction::Route { .. } => "route",
            CompiledAction::Translate { .. } => "translate",
            CompiledAction::Deny { .. } => "deny",
            CompiledAction::Continue { .. } => "continue",
        }
    }
}

/// A rule's conditions beyond the destination prefix (absent for a plain prefix rule).
#[derive(Debug, Clone)]
pub struct CompiledConditions {
    pub pattern: Option<Pattern>,
    pub regex: Option<Regex>,
    pub callers: Box<[Box<str>]>,
    pub classes: ClassSet,
    pub time: Box<[TimeWindow]>,
    pub trunks: Box<[i64]>,
    pub organizations: Box<[i64]>,
}

#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub name: Box<str>,
    pub action: u32,
    pub conditions: Option<Box<CompiledConditions>>,
}

/// One policy, validated and ready for lookups. Immutable; shared as `Arc`.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub id: i64,
    pub name: Box<str>,
    pub rules: Box<[CompiledRule]>,
    pub actions: Box<[CompiledAction]>,
    pub trie: Trie,
}

impl CompiledPolicy {
    /// Validates and compiles `body`; every problem found is returned, with its field path.
    pub fn compile(id: i64, body: &PolicyBody) -> Result<Self, Vec<RuleError>> {
        let mut errors = Vec::new();
        if let Err(message) = check_text(&body.name, false) {
            errors.push(RuleError {
                rule: None,
                field: "name".into(),
                message,
            });
        }
        if body.rules.len() > u32::MAX as usize / 2 {
            errors.push(RuleError {
                rule: None,
                field: "rules".into(),
                message: "too many rules".into(),
            });
            return Err(errors);
        }
        let mut keys: Vec<(Box<str>, u32)> = Vec::with_capacity(body.rules.len());
        let mut rules = Vec::with_capacity(body.rules.len());
        let mut actions: Vec<CompiledAction> = Vec::new();
        let mut action_index: HashMap<CompiledAction, u32> = HashMap::new();
        for (i, rule) in body.rules.iter().enumerate() {
            let mut problems = Problems {
                rule: i,
                errors: &mut errors,
            };
            let Some((conditions, rule_keys)) = compile_conditions(rule, &mut problems) else {
                continue;
            };
            let Some(action) = compile_action(&rule.action, &mut problems) else {
                continue;
            };
            if check_text(&rule.name, true).is_err() {
                problems.push(
                    "name",
                    format!("at most {MAX_TEXT} characters, no control characters"),
                );
                continue;
            }
            let next = actions.len() as u32;
            let action = *action_index.entry(action.clone()).or_insert_with(|| {
                actions.push(action);
                next
            });
            for key in rule_keys {
                keys.push((key, i as u32));
            }
            rules.push(CompiledRule {
                name: rule.name.as_str().into(),
                action,
                conditions,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            id,
            name: body.name.as_str().into(),
            rules: rules.into_boxed_slice(),
            actions: actions.into_boxed_slice(),
            trie: Trie::build(keys),
        })
    }

    /// Groups this policy's `continue` actions name.
    pub fn continue_targets(&self) -> impl Iterator<Item = i64> + '_ {
        self.actions.iter().filter_map(|a| match a {
            CompiledAction::Continue { group_id } => Some(*group_id),
            _ => None,
        })
    }

    /// Approximate bytes held: the trie's arrays, the rule and action tables and what they box.
    pub fn memory_bytes(&self) -> usize {
        let rules: usize = self
            .rules
            .iter()
            .map(|r| {
                size_of::<CompiledRule>()
                    + r.name.len()
                    + r.conditions.as_ref().map_or(0, |c| {
                        size_of::<CompiledConditions>()
                            + c.callers.iter().map(|s| 16 + s.len()).sum::<usize>()
                            + c.time.len() * size_of::<TimeWindow>()
                            + (c.trunks.len() + c.organizations.len()) * 8
                            + c.regex.as_ref().map_or(0, |r| r.as_str().len() * 16)
                    })
            })
            .sum();
        let actions: usize = self
            .actions
            .iter()
            .map(|a| {
                size_of::<CompiledAction>()
                    + match a {
                        CompiledAction::Route { routes, .. } => routes
                            .iter()
                            .map(|r| size_of::<RouteTarget>() + r.rewrite.prepend.capacity())
                            .sum(),
                        CompiledAction::Translate {
                            prepend, caller_id, ..
                        } => prepend.len() + caller_id.as_ref().map_or(0, |c| c.len()),
                        CompiledAction::Deny { reason, .. } => reason.len(),
                        CompiledAction::Continue { .. } => 0,
                    }
            })
            .sum();
        size_of::<Self>() + self.name.len() + rules + actions + self.trie.memory_bytes()
    }
}

struct Problems<'e> {
    rule: usize,
    errors: &'e mut Vec<RuleError>,
}

impl Problems<'_> {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(RuleError {
            rule: Some(self.rule),
            field: format!("rules[{}].{field}", self.rule),
            message: message.into(),
        });
    }
}

type Keys = Vec<Box<str>>;

fn compile_conditions(
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

fn compile_action(action: &Action, problems: &mut Problems) -> Option<CompiledAction> {
    let before = problems.errors.len();
    let compiled = match action {
        Action::Route { strategy, routes } => {
            if routes.is_empty() {
                problems.push("action.routes", "must list at least one trunk");
            }
            if routes.len() > MAX_ROUTES {
                problems.push("action.routes", format!("at most {MAX_ROUTES} trunks"));
            }
            for (i, target) in routes.iter().enumerate() {
                let at = |f: &str| format!("action.routes[{i}].{f}");
                if target.trunk_id <= 0 {
                    problems.push(&at("trunk_id"), "must be a trunk id (positive)");
                }
                if routes[..i].iter().any(|r| r.trunk_id == target.trunk_id) {
                    problems.push(&at("trunk_id"), "trunk listed twice");
                }
                match (strategy, target.weight) {
                    (Strategy::Ordered, Some(_)) => problems.push(
                        &at("weight"),
                        "weights need strategy \"weighted\"; ordered routes fail over in list order",
                    ),
                    (Strategy::Weighted, None) => {
                        problems.push(&at("weight"), "required with strategy \"weighted\" (1-1000)")
                    }
                    (Strategy::Weighted, Some(w)) if !(1..=1000).contains(&w) => {
                        problems.push(&at("weight"), "must be 1-1000")
                    }
                    _ => {}
                }
                if let Err(e) = check_rewrite(&target.rewrite) {
                    problems.push(&at(&format!("rewrite.{}", e.0)), e.1);
                }
            }
            CompiledAction::Route {
                strategy: *strategy,
                routes: routes.clone().into_boxed_slice(),
            }
        }
        Action::Translate {
            strip,
            prepend,
            caller_id,
        } => {
            if let Err(e) = check_rewrite(&Rewrite {
                strip: *strip,
                prepend: prepend.clone(),
            }) {
                problems.push(&format!("action.{}", e.0), e.1);
            }
            if let Some(id) = caller_id
                && let Err(e) = check_prefix(id)
            {
                problems.push("action.caller_id", e);
            }
            if *strip == 0 && prepend.is_empty() && caller_id.is_none() {
                problems.push(
                    "action",
                    "a translate action must strip, prepend or set caller_id",
                );
            }
            CompiledAction::Translate {
                strip: *strip,
                prepend: prepend.as_str().into(),
                caller_id: caller_id.as_deref().map(Into::into),
            }
        }
        Action::Deny { sip_code, reason } => {
            if !(400..=699).contains(sip_code) {
                problems.push("action.sip_code", "must be a SIP failure code (400-699)");
            }
            if let Err(e) = check_text(reason, false) {
                problems.push("action.reason", e);
            }
            CompiledAction::Deny {
                sip_code: *sip_code,
                reason: reason.as_str().into(),
            }
        }
        Action::Continue { group_id } => {
            if *group_id <= 0 {
                problems.push("action.group_id", "must be a policy group id (positive)");
            }
            CompiledAction::Continue {
                group_id: *group_id,
            }
        }
    };
    (problems.errors.len() == before).then_some(compiled)
}

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

fn check_rewrite(rewrite: &Rewrite) -> Result<(), (&'static str, String)> {
    if rewrite.strip > MAX_PREFIX as u32 {
        return Err(("strip", format!("must be at most {MAX_PREFIX}")));
    }
    if !rewrite.prepend.is_empty() {
        check_prefix(&rewrite.prepend).map_err(|e| ("prepend", e))?;
    }
    Ok(())
}

fn check_text(text: &str, empty_ok: bool) -> Result<(), String> {
    if !empty_ok && text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > MAX_TEXT {
        return Err(format!("must be at most {MAX_TEXT} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

fn check_window(w: &TimeWindow) -> Result<(), (&'static str, String)> {
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

/// Compiles an operator's regex anchored at both ends, with a bounded program size.
fn compile_regex(source: &str) -> Result<Regex, String> {
    if source.is_empty() {
        return Err("must not be empty".into());
    }
    if source.len() > MAX_REGEX {
        return Err(format!("must be at most {MAX_REGEX} characters"));
    }
    regex::RegexBuilder::new(&format!("^(?:{source})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "is too complex".to_string(),
            other => format!(
                "does not compile: {}",
                other.to_string().lines().last().unwrap_or("")
            ),
        })
}

/// The literal `+`/digit head every match of `source` starts with, so the rule can sit deeper
/// in the trie; empty (the root) whenever that is not certain.
fn regex_literal_prefix(source: &str) -> String {
    let body = source.strip_prefix('^').unwrap_or(source);
    if has_top_level_alternative(body) {
        return String::new();
    }
    let mut prefix = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' if chars.peek() == Some(&'+') => {
                chars.next();
                '+'
            }
            '0'..='9' => c,
            _ => break,
        };
        if matches!(chars.peek(), Some('?' | '*' | '{')) {
            break; // the character may be absent or repeated: not a certain prefix
        }
        prefix.push(literal);
    }
    prefix
}

/// Whether `source` has a `|` outside any group or class (`a|b`, not `a(b|c)`).
fn has_top_level_alternative(source: &str) -> bool {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(rules: serde_json::Value) -> PolicyBody {
        serde_json::from_value(json!({"name": "p", "rules": rules})).unwrap()
    }

    fn fields(result: Result<CompiledPolicy, Vec<RuleError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    const ROUTE: &str = r#"{"type": "route", "routes": [{"trunk_id": 1}]}"#;

    fn route() -> serde_json::Value {
        serde_json::from_str(ROUTE).unwrap()
    }

    #[test]
    fn problems_are_reported_with_their_field_paths() {
        let body = policy(json!([
            {"match": {"prefixes": ["+44", "+4a"]}, "action": route()},
            {"match": {"pattern": "+1nxx.x"}, "action": route()},
            {"match": {"regex": "(+"}, "action": route()},
            {"action": {"type": "deny", "sip_code": 200, "reason": ""}},
            {"action": {"type": "route", "routes": [{"trunk_id": 1, "weight": 5}]}},
            {"action": {"type": "route", "strategy": "weighted", "routes": [{"trunk_id": 1}, {"trunk_id": 2, "weight": 0}]}},
            {"match": {"time": [{"from": "10:00", "to": "10:00"}]}, "action": route()},
            {"action": {"type": "translate"}},
            {"action": {"type": "deny", "sip_code": 403, "reason": "no\r\nInjected: header"}}
        ]));
        assert_eq!(
            fields(CompiledPolicy::compile(1, &body)),
            [
                "rules[0].match.prefixes[1]",
                "rules[1].match.pattern",
                "rules[2].match.regex",
                "rules[3].action.sip_code",
                "rules[3].action.reason",
                "rules[4].action.routes[0].weight",
                "rules[5].action.routes[0].weight",
                "rules[5].action.routes[1].weight",
                "rules[6].match.time[0].to",
                "rules[7].action",
                "rules[8].action.reason",
            ]
        );
        let errors = CompiledPolicy::compile(1, &body).unwrap_err();
        assert_eq!(errors[0].rule, Some(0));
        assert!(errors[0].to_string().contains("'a'"), "{}", errors[0]);
    }

    #[test]
    fn an_empty_name_is_a_policy_level_error() {
        let body = PolicyBody {
            name: " ".into(),
            description: String::new(),
            rules: vec![],
        };
        let errors = CompiledPolicy::compile(1, &body).unwrap_err();
        assert_eq!(errors[0].rule, None);
        assert_eq!(errors[0].field, "name");
    }

    #[test]
    fn regexes_are_anchored_and_bounded() {
        let re = compile_regex(r"\+1(800|888)\d{7}").unwrap();
        assert!(re.is_match("+18005550199"));
        assert!(!re.is_match("x+18005550199"), "anchored at the start");
        assert!(!re.is_match("+180055501990"), "anchored at the end");
        assert!(compile_regex(&"a".repeat(MAX_REGEX + 1)).is_err());
        assert_eq!(
            compile_regex(r"\d{1000}{1000}").unwrap_err(),
            "is too complex"
        );
    }

    #[test]
    fn regex_literal_heads() {
        assert_eq!(regex_literal_prefix(r"\+1800\d+"), "+1800");
        assert_eq!(regex_literal_prefix(r"^\+44(7|8)\d+"), "+44");
        assert_eq!(regex_literal_prefix(r"\+441?2"), "+44");
        assert_eq!(regex_literal_prefix(r"\+1800|\+1888"), "");
        assert_eq!(regex_literal_prefix(r"\+1[8|9]00|x"), "");
        assert_eq!(regex_literal_prefix(r"\+1(8|9)00"), "+1");
        assert_eq!(regex_literal_prefix(r"\d+"), "");
    }

    #[test]
    fn identical_actions_are_stored_once() {
        let rules: Vec<_> = (0..1000)
            .map(|i| {
                json!({"match": {"prefixes": [format!("+1{i}")]},
                "action": {"type": "route", "routes": [{"trunk_id": 1 + i % 3}]}})
            })
            .collect();
        let compiled = CompiledPolicy::compile(7, &policy(json!(rules))).unwrap();
        assert_eq!(compiled.rules.len(), 1000);
        assert_eq!(compiled.actions.len(), 3);
        assert!(compiled.rules.iter().all(|r| r.conditions.is_none()));
        assert!(compiled.memory_bytes() > 1000 * size_of::<CompiledRule>());
    }

    #[test]
    fn continue_targets_are_listed() {
        let body = policy(json!([
            {"action": {"type": "continue", "group_id": 4}},
            {"match": {"prefixes": ["+1"]}, "action": {"type": "continue", "group_id": 9}},
            {"match": {"prefixes": ["+2"]}, "action": route()}
        ]));
        let compiled = CompiledPolicy::compile(1, &body).unwrap();
        let mut targets: Vec<_> = compiled.continue_targets().collect();
        targets.sort();
        assert_eq!(targets, [4, 9]);
    }
}
