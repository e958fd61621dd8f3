//! The SQL of organization domains.

use super::Domain;
use crate::db::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

pub async fn list(db: &Db, organization_id: i64) -> sqlx::Result<Vec<Domain>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, organization_id, domain, created_at FROM organization_domains \
         WHERE organization_id = $1 ORDER BY domain")
        .bind(organization_id).fetch_all(pool).await)
}

pub async fn insert(
    tx: &mut Tx,
    organization_id: i64,
    domain: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Domain> {
    on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO organization_domains (organization_id, domain, created_at) VALUES ($1, $2, $3) \
         RETURNING id, organization_id, domain, created_at")
        .bind(organization_id).bind(domain).bind(now).fetch_one(conn).await)
}

/// Deletes the domain `id` of `organization_id`; the row it was, if there was one.
pub async fn delete(tx: &mut Tx, organization_id: i64, id: i64) -> sqlx::Result<Option<Domain>> {
    on_tx!(tx, conn => sqlx::query_as(
        "DELETE FROM organization_domains WHERE id = $1 AND organization_id = $2 \
         RETURNING id, organization_id, domain, created_at")
        .bind(id).bind(organization_id).fetch_optional(conn).await)
}
