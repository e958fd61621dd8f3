//! A legal hold as the API shows it.

use crate::system::audit::Audited;
use crate::system::retention::Kind;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Longest reason, in characters.
pub const REASON_MAX: usize = 500;

/// Keeps an organization's subtree's data of some kinds, created (for jobs: finished) in
/// `[from, until)` or at any time, from the purge and from deletion through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LegalHold {
    pub id: i64,
    /// The organization whose subtree is held.
    pub organization_id: i64,
    pub kinds: Vec<Kind>,
    /// Held from this instant (null: from the beginning).
    pub from: Option<DateTime<Utc>>,
    /// Held until this instant, exclusive (null: without end).
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
    /// Who placed it (the user or API key).
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    /// False once released.
    pub active: bool,
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub organization_path: String,
}

impl LegalHold {
    /// Whether it holds data of `kind` of the organization at `path`.
    pub fn covers(&self, path: &str, kind: Kind) -> bool {
        self.active && path.starts_with(&self.organization_path) && self.kinds.contains(&kind)
    }

    /// "legal hold 3 (reason)", as refusals name it.
    pub fn name(&self) -> String {
        format!("legal hold {} ({})", self.id, self.reason)
    }
}

impl Audited for LegalHold {
    const ENTITY_TYPE: &'static str = "legal_hold";

    fn audit_id(&self) -> i64 {
        self.id
    }

    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct HoldRow {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub kinds: String,
    pub from_time: Option<DateTime<Utc>>,
    pub until_time: Option<DateTime<Utc>>,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
}

impl TryFrom<HoldRow> for LegalHold {
    type Error = sqlx::Error;

    fn try_from(row: HoldRow) -> sqlx::Result<Self> {
        let kinds = row
            .kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| {
                Kind::parse(k)
                    .ok_or_else(|| sqlx::Error::Decode(format!("legal hold kind {k:?}").into()))
            })
            .collect::<sqlx::Result<_>>()?;
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            kinds,
            from: row.from_time,
            until: row.until_time,
            reason: row.reason,
            placed_by: row.placed_by,
            placed_at: row.placed_at,
            active: row.released_at.is_none(),
            released_by: row.released_by,
            released_at: row.released_at,
            organization_path: row.organization_path,
        })
    }
}
