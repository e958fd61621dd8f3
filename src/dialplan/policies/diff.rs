//! The structured difference between two versions of a policy: fields that changed and rules
//! added, removed or changed, by index. Pure.

use crate::dialplan::engine::model::Rule;
use serde::Serialize;
use utoipa::ToSchema;

/// One version's content as the diff compares it.
pub struct Side<'a> {
    pub version: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub rules: &'a [Rule],
}

/// A top-level field whose value differs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// A rule position whose content differs. `from` is absent for an added rule, `to` for a
/// removed one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RuleChange {
    pub index: usize,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Rule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Rule>,
}

/// `GET /v1/dialplans/{id}/diff`: what changed from one version to another.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Diff {
    pub from_version: i64,
    pub to_version: i64,
    pub fields: Vec<FieldChange>,
    pub rules: Vec<RuleChange>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.rules.is_empty()
    }
}

/// Compares rule by rule at the same index: a rule inserted at the front shows as every later
/// rule changed plus one added at the end, which is what an ordered list's evaluation means.
pub fn diff(from: &Side<'_>, to: &Side<'_>) -> Diff {
    let mut fields = Vec::new();
    for (field, a, b) in [
        ("name", from.name, to.name),
        ("description", from.description, to.description),
    ] {
        if a != b {
            fields.push(FieldChange {
                field: field.to_string(),
                from: a.to_string(),
                to: b.to_string(),
            });
        }
    }
    let mut rules = Vec::new();
    for index in 0..from.rules.len().max(to.rules.len()) {
        let change = match (from.rules.get(index), to.rules.get(index)) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => RuleChange {
                index,
                change: "changed",
                from: Some(a.clone()),
                to: Some(b.clone()),
            },
            (Some(a), None) => RuleChange {
                index,
                change: "removed",
                from: Some(a.clone()),
                to: None,
            },
            (None, Some(b)) => RuleChange {
                index,
                change: "added",
                from: None,
                to: Some(b.clone()),
            },
            (None, None) => continue,
        };
        rules.push(change);
    }
    Diff {
        from_version: from.version,
        to_version: to.version,
        fields,
        rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::engine::model::Action;

    fn deny(code: u16) -> Rule {
        Rule {
            name: format!("deny {code}"),
            conditions: Default::default(),
            action: Action::Deny {
                sip_code: code,
                reason: "no".into(),
            },
        }
    }

    #[test]
    fn rules_added_removed_and_changed_by_index() {
        let a = [deny(403), deny(404)];
        let b = [deny(403), deny(486), deny(603)];
        let d = diff(
            &Side {
                version: 1,
                name: "p",
                description: "",
                rules: &a,
            },
            &Side {
                version: 2,
                name: "q",
                description: "",
                rules: &b,
            },
        );
        assert_eq!(d.fields.len(), 1);
        assert_eq!(d.fields[0].field, "name");
        let kinds: Vec<(usize, &str)> = d.rules.iter().map(|r| (r.index, r.change)).collect();
        assert_eq!(kinds, vec![(1, "changed"), (2, "added")]);
        let back = diff(
            &Side {
                version: 2,
                name: "q",
                description: "",
                rules: &b,
            },
            &Side {
                version: 1,
                name: "q",
                description: "",
                rules: &a,
            },
        );
        assert_eq!(back.rules[1].change, "removed");
        assert!(back.rules[1].to.is_none());
        let same = Side {
            version: 1,
            name: "p",
            description: "",
            rules: &a,
        };
        assert!(diff(&same, &same).is_empty());
    }
}
