//! The revision table's SQL: one row per change kind.

use crate::db::Db;
use crate::on_db;

/// Moves `kind`'s revision on, leaving `detail`; returns the new revision.
pub async fn bump(db: &Db, kind: &str, detail: &str) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO change_revisions (kind, revision, detail) VALUES ($1, 1, $2) \
        ON CONFLICT (kind) DO UPDATE SET revision = change_revisions.revision + 1, \
        detail = excluded.detail RETURNING revision";
    on_db!(db, pool => sqlx::query_scalar(SQL).bind(kind).bind(detail).fetch_one(pool).await)
}

/// Every kind's revision and last detail (a handful of rows).
pub async fn all(db: &Db) -> sqlx::Result<Vec<(String, i64, String)>> {
    const SQL: &str = "SELECT kind, revision, detail FROM change_revisions";
    on_db!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}
