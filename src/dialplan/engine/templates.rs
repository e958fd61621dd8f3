//! The shipped dial-plan templates (`dialplans/*.toml`, embedded at build time): the countries
//! they cover, their number classes, and the policy groups an organization gets by
//! instantiating one. How a country's numbers are written (trunk and international prefixes,
//! lengths) is not here but in the one numbering table, `types::e164`.
//!
//! Templates cannot know trunk ids, so a route target names a variable instead,
//! `trunk_id = "$outbound"`; [`instantiate`] binds every variable the template declares under
//! `[variables]` to a trunk id and refuses unbound or undeclared ones. Whatever an organization
//! changes afterwards is its own copy: templates are a starting point, not a live link.

use super::compile::CompiledPolicy;
use super::model::{NumberClass, PolicyBody};
use crate::types::text::quote_prefix;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use utoipa::ToSchema;

const SHIPPED: [(&str, &str); 3] = [
    (
        "emergency-first",
        include_str!("../../../dialplans/emergency-first.toml"),
    ),
    ("nanp", include_str!("../../../dialplans/nanp.toml")),
    ("uk", include_str!("../../../dialplans/uk.toml")),
];

/// One template file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    pub name: String,
    pub description: String,
    /// ISO 3166-1 alpha-2 countries whose numbering this template describes (none for a
    /// country-independent template such as emergency-first).
    #[serde(default)]
    pub countries: Vec<String>,
    /// Where the numbering facts come from.
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub classes: BTreeMap<NumberClass, Vec<String>>,
    /// Trunk variables the instantiating organization binds, with what each is for.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub groups: Vec<GroupFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Evaluated before the ordinary groups of the organization and all its descendants.
    #[serde(default)]
    pub enforced: bool,
    /// Policies with their rules as in the REST body, trunk ids possibly `"$variable"`.
    pub policies: Vec<toml::Value>,
}

/// A parsed shipped template.
#[derive(Debug, Clone)]
pub struct Template {
    pub file: TemplateFile,
}

static PARSED: LazyLock<Vec<Template>> = LazyLock::new(|| {
    SHIPPED
        .iter()
        // A unit test proves every shipped file parses, so nothing is dropped in practice.
        .filter_map(|(_, text)| toml::from_str::<TemplateFile>(text).ok())
        .map(|file| Template { file })
        .collect()
});

/// Every shipped template that parsed.
pub fn shipped() -> &'static [Template] {
    &PARSED
}

/// A template as `GET /v1/dialplans/templates` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateInfo {
    pub name: String,
    pub description: String,
    pub countries: Vec<String>,
    pub sources: Vec<String>,
    /// Variable name → what trunk it stands for; all must be bound when instantiating.
    pub variables: BTreeMap<String, String>,
    /// Class → prefixes and patterns.
    #[schema(value_type = Object)]
    pub classes: BTreeMap<NumberClass, Vec<String>>,
    pub groups: Vec<TemplateGroupInfo>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateGroupInfo {
    pub name: String,
    pub description: String,
    pub enforced: bool,
    /// Policies as written, trunk ids still `"$variable"`.
    #[schema(value_type = Vec<Object>)]
    pub policies: Vec<serde_json::Value>,
}

/// The shipped templates, in file order.
pub fn all() -> Vec<TemplateInfo> {
    shipped().iter().map(info).collect()
}

/// One shipped template by name.
pub fn get(name: &str) -> Option<TemplateInfo> {
    shipped().iter().find(|t| t.file.name == name).map(info)
}

fn info(template: &Template) -> TemplateInfo {
    let f = &template.file;
    TemplateInfo {
        name: f.name.clone(),
        description: f.description.clone(),
        countries: f.countries.clone(),
        sources: f.sources.clone(),
        variables: f.variables.clone(),
        classes: f.classes.clone(),
        groups: f
            .groups
            .iter()
            .map(|g| TemplateGroupInfo {
                name: g.name.clone(),
                description: g.description.clone(),
                enforced: g.enforced,
                policies: g
                    .policies
                    .iter()
                    .map(|p| serde_json::to_value(p).unwrap_or(serde_json::Value::Null))
                    .collect(),
            })
            .collect(),
    }
}

/// A policy group ready to be stored for the instantiating organization.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantiatedGroup {
    pub name: String,
    pub description: String,
    pub enforced: bool,
    pub policies: Vec<PolicyBody>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown template {}", quote_prefix(.0))]
    UnknownTemplate(String),
    #[error("variable {} is not bound (give it a trunk id)", quote_prefix(.0))]
    Unbound(String),
    #[error(
        "template {} has no variable {}",
        quote_prefix(.template),
        quote_prefix(.variable)
    )]
    UndeclaredVariable { template: String, variable: String },
    #[error("template policy {policy}: {message}")]
    Invalid { policy: String, message: String },
}

/// The groups of template `name` with every `"$variable"` trunk replaced by its binding.
pub fn instantiate(
    name: &str,
    bindings: &BTreeMap<String, i64>,
) -> Result<Vec<InstantiatedGroup>, TemplateError> {
    let template = shipped()
        .iter()
        .find(|t| t.file.name == name)
        .ok_or_else(|| TemplateError::UnknownTemplate(name.to_string()))?;
    if let Some(variable) = bindings
        .keys()
        .find(|k| !template.file.variables.contains_key(*k))
    {
        return Err(TemplateError::UndeclaredVariable {
            template: name.to_string(),
            variable: variable.clone(),
        });
    }
    let mut groups = Vec::with_capacity(template.file.groups.len());
    for group in &template.file.groups {
        let mut policies = Vec::with_capacity(group.policies.len());
        for (i, raw) in group.policies.iter().enumerate() {
            let mut value = raw.clone();
            bind(&mut value, bindings)?;
            let label = raw
                .get("name")
                .and_then(toml::Value::as_str)
                .map_or_else(|| format!("#{i}"), str::to_string);
            let policy: PolicyBody =
                value
                    .try_into()
                    .map_err(|e: toml::de::Error| TemplateError::Invalid {
                        policy: label.clone(),
                        message: e.message().to_string(),
                    })?;
            CompiledPolicy::compile(0, &policy).map_err(|errors| TemplateError::Invalid {
                policy: label.clone(),
                message: errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            })?;
            policies.push(policy);
        }
        groups.push(InstantiatedGroup {
            name: group.name.clone(),
            description: group.description.clone(),
            enforced: group.enforced,
            policies,
        });
    }
    Ok(groups)
}

/// Replaces `trunk_id = "$name"` anywhere in `value` with the bound id.
fn bind(value: &mut toml::Value, bindings: &BTreeMap<String, i64>) -> Result<(), TemplateError> {
    match value {
        toml::Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                if key == "trunk_id"
                    && let toml::Value::String(text) = item
                    && let Some(variable) = text.strip_prefix('$')
                {
                    let id = bindings
                        .get(variable)
                        .ok_or_else(|| TemplateError::Unbound(variable.to_string()))?;
                    *item = toml::Value::Integer(*id);
                } else {
                    bind(item, bindings)?;
                }
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                bind(item, bindings)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::engine::classes::ClassTable;

    #[test]
    fn every_shipped_template_parses_and_its_classes_compile() {
        for (name, text) in SHIPPED {
            let file: TemplateFile =
                toml::from_str(text).unwrap_or_else(|e| panic!("{name}.toml: {e}"));
            assert_eq!(file.name, name, "file name and template name agree");
            ClassTable::new(&file.classes).unwrap_or_else(|e| panic!("{name}.toml: {e}"));
            assert!(
                !file.sources.is_empty() || file.countries.is_empty(),
                "{name}: cite sources"
            );
        }
        assert_eq!(shipped().len(), SHIPPED.len());
    }

    #[test]
    fn every_template_instantiates_with_all_variables_bound() {
        for template in all() {
            let bindings: BTreeMap<String, i64> = template
                .variables
                .keys()
                .enumerate()
                .map(|(i, k)| (k.clone(), 100 + i as i64))
                .collect();
            let groups = instantiate(&template.name, &bindings)
                .unwrap_or_else(|e| panic!("{}: {e}", template.name));
            assert!(!groups.is_empty(), "{} has groups", template.name);
            let text = serde_json::to_string(&groups[0].policies).unwrap();
            assert!(!text.contains('$'), "every variable replaced: {text}");
        }
    }

    #[test]
    fn unbound_and_undeclared_variables_are_refused() {
        assert_eq!(
            instantiate("emergency-first", &BTreeMap::new()),
            Err(TemplateError::Unbound("emergency".into()))
        );
        let err = instantiate(
            "emergency-first",
            &BTreeMap::from([("emergency".into(), 1), ("bogus".into(), 2)]),
        )
        .unwrap_err();
        assert!(
            matches!(err, TemplateError::UndeclaredVariable { ref variable, .. } if variable == "bogus")
        );
        assert_eq!(
            instantiate("mars", &BTreeMap::new()),
            Err(TemplateError::UnknownTemplate("mars".into()))
        );
    }

    #[test]
    fn the_list_shows_countries_and_variables() {
        let list = all();
        let names: Vec<_> = list.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["emergency-first", "nanp", "uk"]);
        let uk = get("uk").unwrap();
        assert_eq!(uk.countries[0], "GB");
        assert!(uk.variables.contains_key("outbound"));
        let json = serde_json::to_value(&uk).unwrap();
        assert!(json["classes"]["toll-free"].is_array(), "{json}");
    }
}
