//! The dial plan's vocabulary as stored (JSON), as templates declare it (TOML) and as the
//! compiler reads it: rules with their matches and actions, policies and policy groups.
//!
//! Semantics (the contract the compiler, the evaluator, the store and the API share):
//! - A **policy** is an ordered list of rules. Within one policy the rule with the *longest
//!   matching destination prefix* wins; rules of equal prefix length are tried in list order and
//!   the first whose other conditions all hold wins. A rule without `prefixes` matches any
//!   destination with prefix length 0. A `pattern` rule ranks by the literal digits before its
//!   first wildcard.
//! - A **policy group** is an ordered list of policies of one organization; the first policy
//!   with a winning rule decides for the group, unless that rule's action is `translate`, which
//!   rewrites the number and moves on to the next policy.
//! - An organization's **effective plan** for a call: first every `enforced` group of the
//!   organization's ancestors and its own, from the platform down (the platform's emergency
//!   group comes first of all, so nobody below can override it; a partner's enforced `deny`
//!   forbids a class for all its tenants), then its ordinary groups, its own first and then its
//!   parents' (nearest first), so a child overrides a parent's defaults. The first `route` or
//!   `deny` ends the evaluation; nothing matching at all is a `deny` 404.
//! - `continue` evaluates the named group in place and, when that group decides nothing,
//!   carries on after the rule. Group references (through `continue` and `depends_on`) must not
//!   form a cycle; writes that would are refused.

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The classes a country's numbering plan sorts destinations into (see `dialplans/*.toml`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum NumberClass {
    Emergency,
    Premium,
    International,
    National,
    Local,
    TollFree,
    Mobile,
}

/// One dial plan rule: when every given condition holds, `action` applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Free text shown in evaluation trails ("UK premium block").
    #[serde(default)]
    #[schema(schema_with = super::schema::rule_name)]
    pub name: String,
    #[serde(default, rename = "match")]
    pub conditions: Conditions,
    pub action: Action,
}

/// What a rule matches on. Every condition that is given must hold (AND); within a list, any
/// element may match (OR). Destination and caller numbers are compared in E.164 (`+` and
/// digits) after the organization's national format has been normalised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Destination prefixes such as `+44`, `+1900`; longest match wins within a policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = super::schema::prefixes)]
    pub prefixes: Vec<String>,
    /// Destination pattern: `+` and digits with `x` (any digit), `n` (2–9), `z` (1–9) and a
    /// trailing `.` (one or more of anything), e.g. `+1415555xxxx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::schema::dial_pattern)]
    pub pattern: Option<String>,
    /// Destination regular expression (anchored), for what a pattern cannot say. Compiled
    /// once; only tried for rules the prefix trie already selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::schema::regex)]
    pub regex: Option<String>,
    /// Caller numbers or prefixes (`+1415`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = super::schema::caller_prefixes)]
    pub caller_prefixes: Vec<String>,
    /// Number classes of the destination in the organization's country.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<NumberClass>,
    /// Time windows in the organization's time zone; any may match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time: Vec<TimeWindow>,
    /// The trunk the call arrived on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = super::schema::trunks)]
    pub trunks: Vec<i64>,
    /// The calling organization (useful in a parent's group that applies to some children).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = super::schema::organizations)]
    pub organizations: Vec<i64>,
}

/// A weekday as `weekdays` reads it (documentation only): its first three letters, any case,
/// then anything (`mon`, `Monday`).
pub struct WeekdayName;

impl utoipa::PartialSchema for WeekdayName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::string(
            "`mon` … `sun` (any case; longer names such as `monday` too)",
            Some(
                "^(?:[Mm][Oo][Nn]|[Tt][Uu][Ee]|[Ww][Ee][Dd]|[Tt][Hh][Uu]|[Ff][Rr][Ii]|[Ss][Aa][Tt]|[Ss][Uu][Nn])",
            ),
            (None, None),
            None,
        )
    }
}

impl ToSchema for WeekdayName {}

/// A recurring window of local time, optionally limited to weekdays and a date range.
/// `to` earlier than `from` spans midnight (22:00–06:00); the weekday is that of the window's
/// start. Both ends absent means the whole day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    /// `mon` … `sun`; empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "weekdays")]
    #[schema(value_type = Vec<WeekdayName>)]
    pub weekdays: Vec<Weekday>,
    /// `HH:MM` (or `HH:MM:SS`), inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hhmm")]
    #[schema(value_type = Option<String>, pattern = "^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$")]
    pub from: Option<NaiveTime>,
    /// `HH:MM` (or `HH:MM:SS`), exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hhmm")]
    #[schema(value_type = Option<String>, pattern = "^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$")]
    pub to: Option<NaiveTime>,
    /// First local date the window applies (inclusive), `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_from: Option<NaiveDate>,
    /// Last local date the window applies (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_to: Option<NaiveDate>,
}

/// What a matching rule does (its document schema is written in [`super::schema`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Send the call to these trunks: in order (failover) or spread by weight.
    Route {
        #[serde(default)]
        strategy: Strategy,
        routes: Vec<RouteTarget>,
    },
    /// Rewrite the destination (and optionally the caller id), then go on with the next policy.
    Translate {
        #[serde(default)]
        strip: u32,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        prepend: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller_id: Option<String>,
    },
    /// Refuse the call with this SIP code (400–699) and reason.
    Deny { sip_code: u16, reason: String },
    /// Evaluate another policy group (by id) here.
    Continue { group_id: i64 },
}

/// How a route action orders its trunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The list order is the failover order.
    #[default]
    Ordered,
    /// The first choice is drawn by weight; the rest follow by descending weight.
    Weighted,
}

/// Digits to strip from the front of the number, then digits to put in front.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rewrite {
    #[serde(default)]
    pub strip: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prepend: String,
}

/// One trunk a route action may use, with its own number rewrite (kept under load balancing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteTarget {
    pub trunk_id: i64,
    /// Only with `strategy = "weighted"`; 1–1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub rewrite: Rewrite,
}

fn is_default(rewrite: &Rewrite) -> bool {
    rewrite == &Rewrite::default()
}

/// A named, ordered list of rules owned by an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub rules: Vec<Rule>,
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(time: &Option<NaiveTime>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(t) => s.serialize_str(&t.format("%H:%M").to_string()),
            None => s.serialize_none(),
        }
    }

    /// null reads as absent, as for every other optional field (the document says nullable).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        NaiveTime::parse_from_str(&text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M:%S"))
            .map(Some)
            .map_err(|_| {
                D::Error::custom(format!(
                    "expected a time HH:MM, got {}",
                    crate::types::text::quote_prefix(&text)
                ))
            })
    }
}

mod weekdays {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(days.len()))?;
        for day in days {
            seq.serialize_element(NAMES[day.num_days_from_monday() as usize])?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|name| {
                let lower = name.to_ascii_lowercase();
                NAMES
                    .iter()
                    .position(|n| lower.starts_with(n) && lower.len() >= 3)
                    .and_then(|i| Weekday::try_from(i as u8).ok())
                    .ok_or_else(|| {
                        D::Error::custom(format!(
                            "unknown weekday {}; use mon … sun",
                            crate::types::text::quote_prefix(name)
                        ))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    /// The weekday pattern takes what `weekdays` reads.
    #[test]
    fn the_weekday_pattern_agrees_with_the_parser() {
        use crate::types::schema::check::Allows;
        use utoipa::PartialSchema;
        let allows = Allows::new(&WeekdayName::schema());
        let parses = |t: &str| {
            serde_json::from_value::<TimeWindow>(serde_json::json!({ "weekdays": [t] })).is_ok()
        };
        for text in [
            "mon", "Sunday", "THU", "", "mo", "xmon", "mön", "frix", "sat\n",
        ] {
            assert_eq!(allows.allows(text), parses(text), "{text:?}");
        }
    }

    /// The document's time pattern takes only what `hhmm` parses, and null is absent.
    #[test]
    fn the_time_pattern_agrees_with_the_parser() {
        use crate::types::schema::check::Allows;
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(TimeWindow::schema()).unwrap();
        let from: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> =
            serde_json::from_value(schema["properties"]["from"].clone()).unwrap();
        let allows = Allows::new(&from);
        let parses = |t: &str| {
            serde_json::from_value::<TimeWindow>(serde_json::json!({ "from": t })).is_ok()
        };
        for h in 0..30 {
            for m in [0, 5, 59, 60, 99] {
                for text in [format!("{h:02}:{m:02}"), format!("{h:02}:{m:02}:{m:02}")] {
                    if allows.allows(&text) {
                        assert!(parses(&text), "{text:?}");
                    }
                }
            }
        }
        assert!(allows.allows("22:00") && allows.allows("06:30:15"));
        // chrono also takes `7:00`; the document offers two digits only.
        assert!(!allows.allows("7:00"));
        for text in ["24:00", "12:60", "", "noon"] {
            assert!(!allows.allows(text), "{text:?}");
            assert!(!parses(text), "{text:?}");
        }
        let window: TimeWindow =
            serde_json::from_value(serde_json::json!({ "from": null, "to": null })).unwrap();
        assert_eq!((window.from, window.to), (None, None));
    }

    use super::*;

    #[test]
    fn a_rule_reads_from_json_and_back() {
        let json = serde_json::json!({
            "name": "UK premium block",
            "match": {"prefixes": ["+449"], "classes": ["premium"],
                      "time": [{"weekdays": ["sat", "sun"], "from": "22:00", "to": "06:00"}]},
            "action": {"type": "deny", "sip_code": 403, "reason": "Premium numbers are barred"}
        });
        let rule: Rule = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            rule.conditions.time[0].weekdays,
            vec![Weekday::Sat, Weekday::Sun]
        );
        assert_eq!(serde_json::to_value(&rule).unwrap(), json);
    }

    #[test]
    fn route_and_translate_actions() {
        let route: Action = serde_json::from_value(serde_json::json!({
            "type": "route", "strategy": "weighted",
            "routes": [{"trunk_id": 3, "weight": 70, "rewrite": {"strip": 1}}, {"trunk_id": 4, "weight": 30}]
        }))
        .unwrap();
        assert!(
            matches!(route, Action::Route { strategy: Strategy::Weighted, ref routes } if routes.len() == 2)
        );
        let translate: Action = serde_json::from_value(serde_json::json!({
            "type": "translate", "strip": 1, "prepend": "+44"
        }))
        .unwrap();
        assert_eq!(
            translate,
            Action::Translate {
                strip: 1,
                prepend: "+44".into(),
                caller_id: None
            }
        );
        assert!(
            serde_json::from_value::<Rule>(serde_json::json!({
                "action": {"type": "deny", "sip_code": 403, "reason": "x"}, "bogus": 1
            }))
            .is_err()
        );
    }
}
