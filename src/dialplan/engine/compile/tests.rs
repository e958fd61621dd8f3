//! Compiling whole policies: every problem with its field path, shared actions, `continue`
//! targets.

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
