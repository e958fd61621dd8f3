//! Each hand-written pattern against the checker it describes: a text the document allows is
//! one the compiler takes, and the refusals it can tell it refuses.

use super::*;
use crate::dialplan::engine::compile::checks::{check_prefix, check_text};
use crate::dialplan::engine::pattern::Pattern;
use crate::types::schema::check::{Allows, texts};
use utoipa::PartialSchema;

fn agree(schema: RefOr<Schema>, takes: impl Fn(&str) -> bool, samples: &[&str], pieces: &[&str]) {
    let allows = Allows::new(&schema);
    for text in samples {
        assert_eq!(allows.allows(text), takes(text), "{text:?}");
    }
    for text in texts(pieces, 40, 5000) {
        assert_eq!(allows.allows(&text), takes(&text), "{text:?}");
    }
}

#[test]
fn the_prefix_pattern_agrees_with_check_prefix() {
    let long = format!("+{}", "1".repeat(31));
    let longer = "1".repeat(33);
    agree(
        prefix(""),
        |t| check_prefix(t).is_ok(),
        &[
            "+", "+44", "*21#", "", "++1", "1+", "x", &long, &longer, "+4\n", "٣",
        ],
        &["+", "1", "0", "*", "#", "x", " ", "\u{663}", "11111111"],
    );
}

#[test]
fn the_prepend_pattern_agrees_with_the_rewrite_check() {
    let takes = |t: &str| t.is_empty() || check_prefix(t).is_ok();
    agree(
        prepend(),
        takes,
        &["", "+", "0044", "+4x", &"9".repeat(32), &"9".repeat(33)],
        &["+", "1", "#", "a", "99999999"],
    );
}

#[test]
fn the_dial_pattern_agrees_with_the_parser() {
    let takes = |t: &str| Pattern::parse(t).is_ok();
    let schema = dial_pattern();
    agree(
        schema,
        takes,
        &[
            "+1415555xxxx",
            "+.",
            "+",
            ".",
            "",
            "NXX.",
            "1.2",
            "+1+",
            "x..",
            &"x".repeat(33),
        ],
        &["+", "1", "x", "N", "z", ".", "*", "a", "xxxxxxxx"],
    );
}

#[test]
fn rule_names_and_reasons_agree_with_check_text() {
    let samples = [
        "",
        " ",
        "UK premium",
        " padded ",
        "tab\there",
        "bell\u{7}",
        "\u{85}",
        "\u{a0}x",
        "é",
        "\u{2028}",
    ];
    let pieces = [
        "a",
        " ",
        "\u{a0}",
        "\u{85}",
        "\t",
        "é",
        "\u{3000}",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
    ];
    agree(
        rule_name(),
        |t| check_text(t, true).is_ok(),
        &samples,
        &pieces,
    );
    let reason = || {
        let schema = serde_json::to_value(deny()).unwrap();
        serde_json::from_value::<RefOr<Schema>>(schema["properties"]["reason"].clone()).unwrap()
    };
    agree(
        reason(),
        |t| check_text(t, false).is_ok(),
        &samples,
        &pieces,
    );
}

/// The action's bounds are the compiler's: the codes, weights and lengths it checks.
#[test]
fn the_action_schema_states_the_compilers_bounds() {
    let doc = serde_json::to_value(Action::schema()).unwrap();
    let branches = doc["oneOf"].as_array().unwrap();
    let [ordered, weighted, translate, deny, cont] = branches.as_slice() else {
        panic!("five branches: {doc}");
    };
    assert_eq!(deny["properties"]["sip_code"]["minimum"], 400);
    assert_eq!(deny["properties"]["sip_code"]["maximum"], 699);
    assert_eq!(deny["properties"]["reason"]["maxLength"], MAX_TEXT);
    let target = &weighted["properties"]["routes"]["items"];
    assert_eq!(target["properties"]["weight"]["maximum"], 1000);
    assert_eq!(
        target["required"],
        serde_json::json!(["trunk_id", "weight"])
    );
    assert_eq!(weighted["properties"]["routes"]["maxItems"], MAX_ROUTES);
    assert_eq!(ordered["properties"]["routes"]["minItems"], 1);
    assert_eq!(
        ordered["properties"]["routes"]["items"]["properties"]["weight"]["type"],
        "null"
    );
    assert_eq!(
        translate["allOf"][0]["properties"]["strip"]["maximum"],
        MAX_PREFIX
    );
    assert_eq!(translate["allOf"][1]["anyOf"].as_array().unwrap().len(), 3);
    assert_eq!(cont["properties"]["group_id"]["minimum"], 1);
}
