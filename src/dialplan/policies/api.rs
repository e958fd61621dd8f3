//! `/v1/dialplans` routes: policies, their history, diff and restore, policy groups, and the
//! shipped templates an organization instantiates.

use super::diff::Diff;
use super::groups::{self, Group, GroupInput};
use super::model::{Policy, PolicyDescription, PolicyName, PolicyVersion};
use super::read::{self, Search};
use super::write::{self, NewPolicy, PolicyUpdate};
use super::{archive, instantiate};
use crate::auth::Caller;
use crate::dialplan::engine::model::Rule;
use crate::dialplan::engine::templates::{self, TemplateInfo};
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{JsonBody, JsonEdit, ReadOnlyFields, STORED};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(list_templates))
        .routes(routes!(instantiate_template))
        .routes(routes!(get_policy, update_policy, delete_policy))
        .routes(routes!(policy_history))
        .routes(routes!(policy_version))
        .routes(routes!(policy_diff))
        .routes(routes!(restore_policy))
}

fn policy_id(text: &str) -> Result<i64> {
    path::id(text, "dial plan policy")
}

fn group_id(text: &str) -> Result<i64> {
    path::id(text, "policy group")
}

// ---------------------------------------------------------------------------------------------
// Policies.

/// Dial plan policies of the caller's subtree.
#[utoipa::path(get, path = "/v1/dialplans", tag = "dialplans",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's policies"),
        ("name" = Option<String>, Query, description = "Case-insensitive substring of the name"),
        ("q" = Option<String>, Query, description = "Case-insensitive substring of the rules or description"),
        ("prefix" = inline(Option<PrefixFilter>), Query, description = "Policies with a rule whose destination prefix or pattern overlaps these digits")),
    responses((status = 200, body = Vec<Policy>), (status = 400)), security(("bearer" = [])))]
async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Policy>> {
    let page = params.page()?;
    let search = Search {
        organization_id: params.i64("organization_id")?,
        name: params.str("name").map(str::to_string),
        q: params.str("q").map(str::to_string),
        prefix: params.str("prefix").map(str::to_string),
    };
    let (rows, total) = read::list(&state, &caller, &search, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// The `prefix` filter of the list (documentation only: the list reads it as text): digits,
/// optionally after `+`; blank reads as absent.
struct PrefixFilter;

impl utoipa::PartialSchema for PrefixFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ws = crate::types::schema::WHITE_SPACE;
        crate::types::schema::string(
            "Digits, optionally after `+` (blank: any)",
            Some(&format!("^{ws}*\\+*[0-9]*{ws}*$")),
            (None, None),
            None,
        )
    }
}

impl ToSchema for PrefixFilter {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePolicy {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Unique within the organization.
    #[schema(value_type = PolicyName)]
    name: String,
    #[serde(default)]
    #[schema(value_type = PolicyDescription)]
    description: String,
    /// In order; see the policy semantics in the README.
    #[schema(max_items = 1000)]
    rules: Vec<Rule>,
}

/// Create a policy (version 1). Refused with 400 naming the rule field if it does not compile,
/// 404 naming it if it names a trunk or group the organization cannot use.
#[utoipa::path(post, path = "/v1/dialplans", tag = "dialplans", request_body = CreatePolicy,
    responses((status = 201, body = Policy), (status = 400, description = "Invalid field"),
              (status = 404, description = "The organization, or a trunk or group a rule names, not found"),
              (status = 409, description = "Name taken in this organization, or a route lists a trunk twice")),
    security(("bearer" = [])))]
async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreatePolicy>,
) -> Result<Envelope<Policy>> {
    let policy = write::create(
        &state,
        &caller,
        NewPolicy {
            organization_id: body.organization_id,
            name: body.name,
            description: body.description,
            rules: body.rules,
        },
    )
    .await?;
    Ok(Envelope::created(policy))
}

#[utoipa::path(get, path = "/v1/dialplans/{id}", tag = "dialplans", params(("id" = i64, Path)),
    responses((status = 200, body = Policy), (status = 404)), security(("bearer" = [])))]
async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Policy>> {
    let id = policy_id(&id)?;
    Ok(Envelope::ok(read::visible(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
    #[schema(value_type = Option<PolicyName>)]
    name: Option<String>,
    #[schema(value_type = Option<PolicyDescription>)]
    description: Option<String>,
    /// The whole new list.
    #[schema(max_items = 1000)]
    rules: Option<Vec<Rule>>,
}

impl ReadOnlyFields for UpdatePolicy {
    const READ_ONLY: &'static [&'static str] = &["id", "version", "created_at", "updated_at"];
}

/// Change a policy: a new version; the one before is archived.
#[utoipa::path(put, path = "/v1/dialplans/{id}", tag = "dialplans", params(("id" = i64, Path)),
    request_body = UpdatePolicy,
    responses((status = 200, body = Policy), (status = 400),
              (status = 404, description = "The policy, or a trunk or group a rule names, not found"),
              (status = 409, description = "Name taken, a route lists a trunk twice, or `organization_id` cannot be changed")),
    security(("bearer" = [])))]
async fn update_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdatePolicy>,
) -> Result<Envelope<Policy>> {
    let id = policy_id(&id)?;
    let policy = write::update(
        &state,
        &caller,
        id,
        PolicyUpdate {
            organization_id: body.organization_id,
            name: body.name,
            description: body.description,
            rules: body.rules,
        },
    )
    .await?;
    Ok(Envelope::ok(policy))
}

/// Delete a policy (409 while a group lists it); its history stays readable.
#[utoipa::path(delete, path = "/v1/dialplans/{id}", tag = "dialplans", params(("id" = i64, Path)),
    responses((status = 200), (status = 404),
              (status = 409, description = "Still in a policy group or assigned to numbers")),
    security(("bearer" = [])))]
async fn delete_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = policy_id(&id)?;
    write::delete(&state, &caller, id).await?;
    Ok(done())
}

/// A policy's versions, newest first.
#[utoipa::path(get, path = "/v1/dialplans/{id}/history", tag = "dialplans",
    params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Vec<PolicyVersion>), (status = 404)), security(("bearer" = [])))]
async fn policy_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<ListEnvelope<PolicyVersion>> {
    let id = policy_id(&id)?;
    let page = params.page()?;
    let (rows, total) = archive::history(&state, &caller, id, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[utoipa::path(get, path = "/v1/dialplans/{id}/history/{version}", tag = "dialplans",
    params(("id" = i64, Path), ("version" = i64, Path)),
    responses((status = 200, body = PolicyVersion), (status = 404)), security(("bearer" = [])))]
async fn policy_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Result<Envelope<PolicyVersion>> {
    let id = policy_id(&id)?;
    let version = path::id(&version, "policy version")?;
    Ok(Envelope::ok(
        archive::version(&state, &caller, id, version).await?,
    ))
}

/// What changed between two versions (`to` defaults to the latest, `from` to the version
/// before `to`): fields, and rules added, removed or changed by index.
#[utoipa::path(get, path = "/v1/dialplans/{id}/diff", tag = "dialplans",
    params(("id" = i64, Path), ("from" = Option<i64>, Query), ("to" = Option<i64>, Query)),
    responses((status = 200, body = Diff), (status = 400), (status = 404)), security(("bearer" = [])))]
async fn policy_diff(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Envelope<Diff>> {
    let id = policy_id(&id)?;
    let from = params.i64("from")?;
    let to = params.i64("to")?;
    Ok(Envelope::ok(
        archive::diff(&state, &caller, id, from, to).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// The archived version whose content becomes current (as a new version).
    version: i64,
}

#[utoipa::path(post, path = "/v1/dialplans/{id}/restore", tag = "dialplans",
    params(("id" = i64, Path)), request_body = RestoreBody,
    responses((status = 200, body = Policy), (status = 400), (status = 404)),
    security(("bearer" = [])))]
async fn restore_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RestoreBody>,
) -> Result<Envelope<Policy>> {
    let id = policy_id(&id)?;
    Ok(Envelope::ok(
        write::restore(&state, &caller, id, body.version).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Groups.

#[utoipa::path(get, path = "/v1/dialplans/groups", tag = "dialplans",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's groups")),
    responses((status = 200, body = Vec<Group>), (status = 400)), security(("bearer" = [])))]
async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Group>> {
    let page = params.page()?;
    let (rows, total) = groups::list(&state, &caller, params.i64("organization_id")?, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    /// Defaults to the caller's organization; on a PUT accepted only when unchanged.
    organization_id: Option<i64>,
    #[schema(value_type = Option<PolicyName>)]
    name: Option<String>,
    #[schema(value_type = Option<PolicyDescription>)]
    description: Option<String>,
    /// Only platform, distributor and partner organizations may enforce a group (a tenant: 409).
    enforced: Option<bool>,
    /// -1000 to 1000, lower first among the organization's groups (default 0).
    #[schema(minimum = -1000, maximum = 1000)]
    priority: Option<i64>,
    /// Policies of the organization, in evaluation order, each once (twice is a 409).
    policy_ids: Option<Vec<i64>>,
    /// Groups of the organization or a parent evaluated before this one, each once (twice is a
    /// 409); no cycles.
    depends_on: Option<Vec<i64>>,
}

impl ReadOnlyFields for GroupBody {
    const READ_ONLY: &'static [&'static str] = &STORED;
}

impl From<GroupBody> for GroupInput {
    fn from(body: GroupBody) -> Self {
        GroupInput {
            organization_id: body.organization_id,
            name: body.name,
            description: body.description,
            enforced: body.enforced,
            priority: body.priority,
            policy_ids: body.policy_ids,
            depends_on: body.depends_on,
        }
    }
}

/// A new group: as [`GroupBody`], with `name` required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Unique within the organization.
    #[schema(value_type = PolicyName)]
    name: String,
    #[schema(value_type = Option<PolicyDescription>)]
    description: Option<String>,
    /// Only platform, distributor and partner organizations may enforce a group (a tenant: 409).
    enforced: Option<bool>,
    /// -1000 to 1000, lower first among the organization's groups (default 0).
    #[schema(minimum = -1000, maximum = 1000)]
    priority: Option<i64>,
    /// Policies of the organization, in evaluation order, each once (twice is a 409).
    policy_ids: Option<Vec<i64>>,
    /// Groups of the organization or a parent evaluated before this one, each once (twice is a
    /// 409); no cycles.
    depends_on: Option<Vec<i64>>,
}

impl ReadOnlyFields for CreateGroup {
    const READ_ONLY: &'static [&'static str] = &STORED;
}

impl From<CreateGroup> for GroupBody {
    fn from(body: CreateGroup) -> Self {
        GroupBody {
            organization_id: body.organization_id,
            name: Some(body.name),
            description: body.description,
            enforced: body.enforced,
            priority: body.priority,
            policy_ids: body.policy_ids,
            depends_on: body.depends_on,
        }
    }
}

#[utoipa::path(post, path = "/v1/dialplans/groups", tag = "dialplans", request_body = CreateGroup,
    responses((status = 201, body = Group), (status = 400),
              (status = 404, description = "A listed policy or group not found"),
              (status = 409, description = "Name taken, a dependency cycle, an id listed twice, or a tenant enforcing")),
    security(("bearer" = [])))]
async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    JsonEdit(body): JsonEdit<CreateGroup>,
) -> Result<Envelope<Group>> {
    let body = GroupBody::from(body);
    Ok(Envelope::created(
        groups::create(&state, &caller, body.into()).await?,
    ))
}

#[utoipa::path(get, path = "/v1/dialplans/groups/{id}", tag = "dialplans",
    params(("id" = i64, Path)),
    responses((status = 200, body = Group), (status = 404)), security(("bearer" = [])))]
async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Group>> {
    let id = group_id(&id)?;
    Ok(Envelope::ok(groups::visible(&state, &caller, id).await?))
}

/// Change a group (only the fields given; lists replace the old ones).
#[utoipa::path(put, path = "/v1/dialplans/groups/{id}", tag = "dialplans",
    params(("id" = i64, Path)), request_body = GroupBody,
    responses((status = 200, body = Group), (status = 400), (status = 404),
              (status = 404, description = "The group, or a listed policy or group, not found"),
              (status = 409, description = "Name taken, a dependency cycle, an id listed twice, a tenant enforcing, or `organization_id` cannot be changed")),
    security(("bearer" = [])))]
async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<GroupBody>,
) -> Result<Envelope<Group>> {
    let id = group_id(&id)?;
    Ok(Envelope::ok(
        groups::update(&state, &caller, id, body.into()).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/dialplans/groups/{id}", tag = "dialplans",
    params(("id" = i64, Path)),
    responses((status = 200), (status = 404), (status = 409)), security(("bearer" = [])))]
async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = group_id(&id)?;
    groups::delete(&state, &caller, id).await?;
    Ok(done())
}

// ---------------------------------------------------------------------------------------------
// Templates.

/// The shipped dial plan templates (`dialplans/*.toml`).
#[utoipa::path(get, path = "/v1/dialplans/templates", tag = "dialplans",
    responses((status = 200, body = Vec<TemplateInfo>)), security(("bearer" = [])))]
async fn list_templates(_caller: Caller) -> Result<ListEnvelope<TemplateInfo>> {
    Ok(ListEnvelope::all(templates::all()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstantiateBody {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Trunk ids for the template's `$variables`: every one it declares, no other.
    #[schema(schema_with = instantiate::bindings_schema)]
    bindings: BTreeMap<String, i64>,
}

/// Create the template's groups and policies for an organization, in one transaction.
#[utoipa::path(post, path = "/v1/dialplans/templates/{name}/instantiate", tag = "dialplans",
    params(("name" = inline(instantiate::TemplateName), Path)), request_body = InstantiateBody,
    responses((status = 201, body = Vec<Group>),
              (status = 400, description = "A variable of the template not bound, or one it does not declare"),
              (status = 404, description = "The template, the organization or a bound trunk not found"),
              (status = 409, description = "A name the template creates is taken in the organization")),
    security(("bearer" = [])))]
async fn instantiate_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<InstantiateBody>,
) -> Result<ListEnvelope<Group>> {
    let groups =
        instantiate::instantiate(&state, &caller, &name, body.organization_id, &body.bindings)
            .await?;
    Ok(ListEnvelope::created(groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::schema::check::{Allows, texts};
    use utoipa::PartialSchema;

    /// The prefix filter's pattern takes what the list takes: blank (absent) or digits after
    /// optional `+`.
    #[test]
    fn the_prefix_filter_pattern_agrees_with_the_check() {
        let allows = Allows::new(&PrefixFilter::schema());
        let takes = |t: &str| t.trim().is_empty() || read::valid_prefix(t.trim());
        for text in [
            "", " ", "+1415", "1415", "+", "++1", " +44 ", "1+1", "x", "+1 415",
        ] {
            assert_eq!(allows.allows(text), takes(text), "{text:?}");
        }
        for text in texts(&["+", "1", "0", " ", "x", "\u{a0}", "-"], 6, 5000) {
            assert_eq!(allows.allows(&text), takes(&text), "{text:?}");
        }
    }
}
