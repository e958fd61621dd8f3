//! Retention as the API shows it: an organization's overrides, and the effective view of every
//! kind with where each value came from.

use super::kind::Kind;
use super::rules::{Resolved, Source};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// One organization's override of one kind, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RetentionOverride {
    pub organization_id: i64,
    pub kind: Kind,
    /// Days this organization's subtree keeps the kind (null: inherited).
    pub days: Option<u32>,
    /// The legal minimum this organization's subtree may not go below (null: none set here).
    pub minimum_days: Option<u32>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(super) struct OverrideRow {
    pub organization_id: i64,
    pub kind: String,
    pub days: Option<i32>,
    pub minimum_days: Option<i32>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<OverrideRow> for RetentionOverride {
    type Error = sqlx::Error;

    fn try_from(row: OverrideRow) -> sqlx::Result<Self> {
        let kind = Kind::parse(&row.kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("retention kind {:?}", row.kind).into()))?;
        let days = |v: Option<i32>| v.and_then(|d| u32::try_from(d).ok());
        Ok(Self {
            organization_id: row.organization_id,
            kind,
            days: days(row.days),
            minimum_days: days(row.minimum_days),
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        })
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The platform's configuration (`systemd/dialtone.toml`).
    Platform,
    /// An organization's override (`*_organization_id` names it).
    Organization,
}

/// The retention in force for one kind of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EffectiveRetention {
    pub kind: Kind,
    /// Days the kind is kept: the nearest override (or the platform default), raised to the
    /// legal minimum.
    pub days: u32,
    pub days_source: SourceKind,
    /// The organization whose override set `days` (null: the platform).
    pub days_organization_id: Option<i64>,
    /// The highest legal minimum of the organization and its parents (0: none).
    pub minimum_days: u32,
    pub minimum_source: SourceKind,
    pub minimum_organization_id: Option<i64>,
    /// Whether the purge removes this kind today (cdrs, sms, voicemail and files are stored for
    /// the rooms that add them).
    pub purged: bool,
}

impl EffectiveRetention {
    pub fn new(kind: Kind, resolved: Resolved) -> Self {
        let split = |s: Source| match s {
            Source::Platform => (SourceKind::Platform, None),
            Source::Organization(id) => (SourceKind::Organization, Some(id)),
        };
        let (days_source, days_organization_id) = split(resolved.days_from);
        let (minimum_source, minimum_organization_id) = split(resolved.minimum_from);
        Self {
            kind,
            days: resolved.days,
            days_source,
            days_organization_id,
            minimum_days: resolved.minimum_days,
            minimum_source,
            minimum_organization_id,
            purged: kind.purged(),
        }
    }
}

/// An organization's retention: every kind in force, and the overrides set on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RetentionView {
    pub organization_id: i64,
    pub effective: Vec<EffectiveRetention>,
    /// The overrides set on this organization itself.
    pub overrides: Vec<RetentionOverride>,
}
