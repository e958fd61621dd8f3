//! Retention: how long each kind of data is kept. The platform's defaults come from the
//! configuration (`[events] retention_days`, `[webhooks] log_retention_days`, `[retention]`);
//! an organization overrides them for its subtree, and may set a legal minimum (`minimum_days`)
//! below which nothing under it may go. A child may keep longer, never shorter: an override
//! under a parent's minimum is refused, and a minimum raised later raises what the subtree
//! keeps (`rules::resolve`). The purge (`purge`) applies it; legal holds
//! (`system::legalholds`) keep data from it.

pub mod api;
pub mod kind;
pub mod model;
pub mod purge;
pub mod rules;
mod store;

pub use kind::Kind;
pub use model::{EffectiveRetention, RetentionOverride, RetentionView};

use crate::auth::{Caller, Permission};
use crate::config::Config;
use crate::db::{Db, Page};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use chrono::Utc;
use rules::Level;
use std::collections::HashMap;

/// The platform's default retention of `kind`, in days.
pub fn default_days(config: &Config, kind: Kind) -> u32 {
    let r = &config.retention;
    match kind {
        Kind::Events => config.events.retention_days,
        Kind::Deliveries => config.webhooks.log_retention_days,
        Kind::Audit => r.audit_days,
        Kind::Jobs => r.jobs_days,
        Kind::Cdrs => r.cdrs_days,
        Kind::Sms => r.sms_days,
        Kind::Voicemail => r.voicemail_days,
        Kind::Files => r.files_days,
        Kind::QueueStats => r.queue_stats_days,
    }
}

/// Overrides by organization, for one kind: what [`rules::resolve`] reads along a chain.
#[derive(Debug, Default)]
pub struct Overrides(HashMap<i64, Level>);

impl Overrides {
    fn of(list: &[RetentionOverride], kind: Kind) -> Self {
        Self(
            list.iter()
                .filter(|o| o.kind == kind)
                .map(|o| {
                    let level = Level {
                        organization_id: o.organization_id,
                        days: o.days,
                        minimum_days: o.minimum_days,
                    };
                    (o.organization_id, level)
                })
                .collect(),
        )
    }

    /// The levels of the chain `ids` (root first); organizations without an override count as
    /// setting nothing.
    pub fn chain(&self, ids: &[i64]) -> Vec<Level> {
        ids.iter()
            .map(|id| {
                self.0.get(id).copied().unwrap_or(Level {
                    organization_id: *id,
                    ..Level::default()
                })
            })
            .collect()
    }

    /// The shortest `days` any organization sets (the purge need not look at anything newer
    /// than the shortest retention in force).
    pub fn shortest_days(&self) -> Option<u32> {
        self.0.values().filter_map(|l| l.days).min()
    }
}

/// Every override of `kind` (for the purge).
pub async fn overrides_of_kind(db: &Db, kind: Kind) -> Result<Overrides> {
    let list = store::of_kind(db, kind.as_str()).await?;
    Ok(Overrides::of(&list, kind))
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
    kind: Option<Kind>,
    page: Page,
) -> Result<(Vec<RetentionOverride>, i64)> {
    caller.require(Permission::RetentionRead)?;
    let kind = kind.map(Kind::as_str);
    Ok(store::list(db, &caller.scope().like(), organization_id, kind, page).await?)
}

/// The effective retention of organization `id` (in the caller's scope).
pub async fn view(db: &Db, config: &Config, caller: &Caller, id: i64) -> Result<RetentionView> {
    caller.require(Permission::RetentionRead)?;
    let org = crate::orgs::visible(db, caller, id).await?;
    view_of(db, config, id, &org.path).await
}

async fn view_of(db: &Db, config: &Config, id: i64, path: &str) -> Result<RetentionView> {
    let ids = rules::chain_ids(path);
    let list = store::of_organizations(db, &ids).await?;
    let effective = Kind::ALL
        .into_iter()
        .map(|kind| {
            let chain = Overrides::of(&list, kind).chain(&ids);
            EffectiveRetention::new(kind, rules::resolve(default_days(config, kind), &chain))
        })
        .collect();
    let overrides = list
        .into_iter()
        .filter(|o| o.organization_id == id)
        .collect();
    Ok(RetentionView {
        organization_id: id,
        effective,
        overrides,
    })
}

/// One kind's new override: both `None` removes it.
#[derive(Debug, Clone, Copy)]
pub struct NewOverride {
    pub kind: Kind,
    pub days: Option<u32>,
    pub minimum_days: Option<u32>,
}

/// Sets the overrides `changes` on organization `id`, all or none. Each must respect the legal
/// minimums of the organization's parents; a minimum set on an organization is the parents'
/// to change, so a caller cannot lower or remove its own organization's (the platform's
/// administrators, who have no parent, excepted).
pub async fn set(
    db: &Db,
    config: &Config,
    caller: &Caller,
    id: i64,
    changes: &[NewOverride],
) -> Result<RetentionView> {
    let org = crate::orgs::visible(db, caller, id).await?;
    caller.require(Permission::RetentionWrite)?;
    let ids = rules::chain_ids(&org.path);
    let before = view_of(db, config, id, &org.path).await?;
    if changes.is_empty() {
        // Nothing to change: nothing written, nothing audited.
        return Ok(before);
    }
    let list = store::of_organizations(db, &ids).await?;
    let parents = &ids[..ids.len().saturating_sub(1)];
    for change in changes {
        let ancestors = Overrides::of(&list, change.kind).chain(parents);
        rules::check(&ancestors, change.days, change.minimum_days).map_err(|r| {
            let kind = change.kind.as_str();
            match r {
                rules::Refusal::Range(field, e) => Error::field(&format!("{kind}.{field}"), e),
                rules::Refusal::BelowMinimum(field, e) => {
                    Error::Conflict(format!("{kind}.{field}: {e}"))
                }
            }
        })?;
        let own = before.overrides.iter().find(|o| o.kind == change.kind);
        let own_minimum = own.and_then(|o| o.minimum_days);
        if id == caller.organization_id
            && org.parent_id.is_some()
            && change.minimum_days < own_minimum
        {
            return Err(Error::Conflict(format!(
                "{}.minimum_days: the legal minimum of {} days was set for your organization by a \
                 parent; only a parent organization may lower or remove it",
                change.kind.as_str(),
                own_minimum.unwrap_or_default()
            )));
        }
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    for change in changes {
        store::set(
            &mut tx,
            id,
            change.kind.as_str(),
            change.days,
            change.minimum_days,
            &caller.username,
            now,
        )
        .await?;
    }
    let after_overrides = store::of_organization_tx(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            organization_id: id,
            organization_path: &org.path,
            action: "update",
            entity_type: "retention",
            entity_id: id.to_string(),
            before: audit::snapshot(Some(&before.overrides)),
            after: audit::snapshot(Some(&after_overrides)),
        },
    )
    .await?;
    tx.commit().await?;
    view_of(db, config, id, &org.path).await
}
