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
//! API can answer one 400 naming the field. The conditions ([`conditions`]), the actions
//! ([`action`]), operator regexes ([`regexes`]) and the field checks they share ([`checks`]) are
//! compiled in their own files.

mod action;
pub(crate) mod checks;
mod conditions;
mod regexes;
#[cfg(test)]
mod tests;

use self::action::compile_action;
use self::checks::check_text;
use self::conditions::compile_conditions;
use super::classes::ClassSet;
use super::model::{PolicyBody, RouteTarget, Strategy, TimeWindow};
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
    /// A conflict with the rest of the request rather than a malformed field (a trunk listed
    /// twice): the API answers 409 for it when nothing else is wrong.
    pub conflict: bool,
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
                conflict: false,
            });
        }
        if body.rules.len() > u32::MAX as usize / 2 {
            errors.push(RuleError {
                rule: None,
                field: "rules".into(),
                message: "too many rules".into(),
                conflict: false,
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
        self.record(field, message.into(), false);
    }

    /// A problem with how a field relates to the others (see [`RuleError::conflict`]).
    fn conflict(&mut self, field: &str, message: impl Into<String>) {
        self.record(field, message.into(), true);
    }

    fn record(&mut self, field: &str, message: String, conflict: bool) {
        self.errors.push(RuleError {
            rule: Some(self.rule),
            field: format!("rules[{}].{field}", self.rule),
            message,
            conflict,
        });
    }
}

/// The destination keys a rule sits under in the trie.
type Keys = Vec<Box<str>>;
