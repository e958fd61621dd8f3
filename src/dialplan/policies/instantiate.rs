//! Instantiating a shipped template for an organization: its groups and policies created in one
//! transaction, each policy archived as version 1, checked and compiled like any other write.

use super::checks::{self, check_references};
use super::commit::commit_and_swap;
use super::groups::{self, Checked, Group};
use super::model::rules_json;
use super::write::insert_in_tx;
use crate::auth::{Caller, Permission};
use crate::dialplan::engine::templates::{self, TemplateError};
use crate::error::{Error, Result};
use crate::orgs::OrgType;
use crate::state::AppState;
use std::collections::BTreeMap;

fn template_error(error: TemplateError) -> Error {
    match &error {
        TemplateError::UnknownTemplate(_) => Error::not_found("dial plan template"),
        TemplateError::Unbound(variable) => Error::field(&format!("bindings.{variable}"), &error),
        TemplateError::UndeclaredVariable { variable, .. } => {
            Error::field(&format!("bindings.{variable}"), &error)
        }
        TemplateError::Invalid { .. } => Error::bad_request(error.to_string()),
    }
}

/// Creates template `name`'s groups (priority in file order) and their policies for the
/// organization; returns the groups. A name already taken in the organization is a 409.
pub async fn instantiate(
    state: &AppState,
    caller: &Caller,
    name: &str,
    organization_id: Option<i64>,
    bindings: &BTreeMap<String, i64>,
) -> Result<Vec<Group>> {
    let organization_id = organization_id.unwrap_or(caller.organization_id);
    let org =
        crate::orgs::visible_field(&state.db, caller, "organization_id", organization_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let template_groups = templates::instantiate(name, bindings).map_err(template_error)?;
    for (variable, trunk_id) in bindings {
        let usable = crate::gateways::trunk(&state.db, *trunk_id)
            .await?
            .is_some_and(|t| org.path.starts_with(&t.organization_path));
        if !usable {
            return Err(Error::missing(
                &format!("bindings.{variable}"),
                format!("SIP trunk {trunk_id} (of the organization or one of its parents)"),
            ));
        }
    }
    let mut tx = state.db.begin().await?;
    let mut created = Vec::with_capacity(template_groups.len());
    for (position, group) in template_groups.into_iter().enumerate() {
        let mut policy_ids = Vec::with_capacity(group.policies.len());
        for policy in &group.policies {
            // The bindings were looked up above; this holds the trunks against a delete.
            check_references(state, &mut tx, &org.path, &policy.rules).await?;
            // A unit test proves every shipped name and description fits; this never refuses.
            let name = checks::name(&policy.name)?;
            let description = checks::description(&policy.description)?;
            let json = rules_json(&policy.rules)?;
            let stored = insert_in_tx(&mut tx, caller, org.id, &name, &description, &json).await?;
            policy_ids.push(stored.id);
        }
        // An enforced template group at a tenant would bind nobody below it: plain there.
        let enforced = group.enforced && org.kind() != OrgType::Tenant;
        let checked = Checked {
            name: checks::name(&group.name)?,
            description: checks::description(&group.description)?,
            enforced,
            priority: position as i64,
            policy_ids,
            depends_on: Vec::new(),
        };
        created.push(groups::insert_in_tx(&mut tx, caller, &org, &checked).await?);
    }
    commit_and_swap(state, tx).await?;
    Ok(created)
}

/// The `name` of a shipped template (documentation only: the path reads it as text).
pub(super) struct TemplateName;

impl utoipa::PartialSchema for TemplateName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<&str> = templates::shipped()
            .iter()
            .map(|t| t.file.name.as_str())
            .collect();
        crate::types::schema::one_of("A shipped template", &names)
    }
}

impl utoipa::ToSchema for TemplateName {}

/// The bindings of one of the shipped templates: each template's variables, all required (a
/// template's bindings given for another is a 400 naming the variable; which template the path
/// names is a relation a body schema cannot state).
pub(super) fn bindings_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{
        AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    let mut sets: Vec<Vec<&str>> = Vec::new();
    for template in templates::shipped() {
        let set: Vec<&str> = template.file.variables.keys().map(String::as_str).collect();
        if !sets.contains(&set) {
            sets.push(set);
        }
    }
    let mut one_of = OneOfBuilder::new().description(Some(
        "Trunk ids for the template's `$variables`: emergency-first takes `emergency`; nanp and \
         uk take `outbound` and `international`. A trunk the organization cannot use: 404.",
    ));
    for set in sets {
        let mut object =
            ObjectBuilder::new()
                .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        for variable in set {
            let trunk = ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(1))
                .description(Some(
                    templates::shipped()
                        .iter()
                        .find_map(|t| t.file.variables.get(variable))
                        .map_or("A trunk id", String::as_str),
                ));
            object = object.property(variable, trunk).required(variable);
        }
        one_of = one_of.item(object);
    }
    one_of.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names and descriptions are stored as the API would store them: every shipped one is
    /// already a valid, trimmed policy or group name and description.
    #[test]
    fn shipped_names_and_descriptions_fit() {
        for template in templates::shipped() {
            let bindings: BTreeMap<String, i64> = (template.file.variables.keys())
                .map(|k| (k.clone(), 1))
                .collect();
            let groups = templates::instantiate(&template.file.name, &bindings).unwrap();
            let policies = groups.iter().flat_map(|g| g.policies.iter());
            let texts = groups
                .iter()
                .map(|g| (&g.name, &g.description))
                .chain(policies.map(|p| (&p.name, &p.description)));
            for (name, description) in texts {
                assert_eq!(checks::name(name).unwrap().as_str(), name);
                assert_eq!(
                    checks::description(description).unwrap().as_str(),
                    description
                );
            }
        }
    }
}
