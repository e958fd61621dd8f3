//! The archive of every policy's versions: one written with each change (kept after a delete),
//! read back as the history, one version, or the difference between two.

use super::diff::{self, Diff, Side};
use super::model::{POLICY, Policy, PolicyVersion, rules_json};
use super::store::{self, versions::NewVersion};
use crate::auth::Caller;
use crate::db::{Page, Tx};
use crate::error::{Error, Result};
use crate::state::AppState;

const VERSION: &str = "policy version";

/// Archives `policy` as it now is, as a change of `kind` by `caller`.
pub(super) async fn archive(
    tx: &mut Tx,
    caller: &Caller,
    policy: &Policy,
    kind: &str,
) -> Result<()> {
    store::versions::insert_version(
        tx,
        &NewVersion {
            policy_id: policy.id,
            organization_id: policy.organization_id,
            version: policy.version,
            name: &policy.name,
            description: &policy.description,
            rules_json: &rules_json(&policy.rules)?,
            change_kind: kind,
            changed_by: &caller.username,
            changed_at: policy.updated_at,
        },
    )
    .await?;
    Ok(())
}

/// Like [`super::read::visible`], but also finds a deleted policy through its archive (history
/// stays readable after a delete).
async fn visible_archive(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    match store::versions::archived_policy_path(&state.db, id).await? {
        Some(path) if caller.scope().contains(&path) => Ok(()),
        _ => Err(Error::not_found(POLICY)),
    }
}

/// Version `version` of policy `id`, if archived.
pub(super) async fn stored_version(
    state: &AppState,
    id: i64,
    version: i64,
) -> Result<Option<PolicyVersion>> {
    match store::versions::version(&state.db, id, version).await? {
        Some(row) => Ok(Some(row.try_into()?)),
        None => Ok(None),
    }
}

pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: i64,
    page: Page,
) -> Result<(Vec<PolicyVersion>, i64)> {
    visible_archive(state, caller, id).await?;
    let (rows, total) = store::versions::versions(&state.db, id, page).await?;
    let versions = rows.into_iter().map(PolicyVersion::try_from);
    Ok((versions.collect::<sqlx::Result<_>>()?, total))
}

pub async fn version(
    state: &AppState,
    caller: &Caller,
    id: i64,
    version: i64,
) -> Result<PolicyVersion> {
    visible_archive(state, caller, id).await?;
    stored_version(state, id, version)
        .await?
        .ok_or_else(|| Error::not_found(VERSION))
}

/// The difference between versions `from` and `to` (`to` defaults to the latest, `from` to
/// the version before `to`).
pub async fn diff(
    state: &AppState,
    caller: &Caller,
    id: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Diff> {
    visible_archive(state, caller, id).await?;
    let to = match to {
        Some(v) => v,
        None => {
            let page = Page {
                limit: 1,
                offset: 0,
            };
            let (latest, _) = store::versions::versions(&state.db, id, page).await?;
            latest.first().map_or(0, |v| v.version)
        }
    };
    let from = from.unwrap_or(to.saturating_sub(1).max(1));
    let a = stored_version(state, id, from)
        .await?
        .ok_or_else(|| Error::missing("from", format_args!("version {from}")))?;
    let b = stored_version(state, id, to)
        .await?
        .ok_or_else(|| Error::missing("to", format_args!("version {to}")))?;
    Ok(diff::diff(
        &Side {
            version: a.version,
            name: a.name.as_str(),
            description: a.description.as_str(),
            rules: &a.rules,
        },
        &Side {
            version: b.version,
            name: b.name.as_str(),
            description: b.description.as_str(),
            rules: &b.rules,
        },
    ))
}
