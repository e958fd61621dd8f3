//! The SQL of sequences.

use super::model::{Sequence, SequenceRow};
use crate::db::{Db, Page, Tx};
use crate::{on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "s.id, s.organization_id, o.path AS organization_path, s.name, s.prefix, \
    s.padding, s.next_value, s.created_at, s.updated_at";
const FROM: &str = " FROM sequences s JOIN organizations o ON o.id = s.organization_id";

pub async fn list(
    db: &Db,
    like: &str,
    organization_id: Option<i64>,
    page: Page,
) -> sqlx::Result<(Vec<Sequence>, i64)> {
    const WHERE: &str =
        " WHERE o.path LIKE $1 AND (CAST($2 AS BIGINT) IS NULL OR s.organization_id = $2)";
    let list_sql = format!("SELECT {COLUMNS}{FROM}{WHERE} ORDER BY s.id LIMIT $3 OFFSET $4");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    let (rows, total): (Vec<SequenceRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(like).bind(organization_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(like).bind(organization_id).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let list = rows
        .into_iter()
        .map(Sequence::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((list, total))
}

pub async fn fetch(db: &Db, id: i64) -> sqlx::Result<Option<Sequence>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE s.id = $1");
    let row: Option<SequenceRow> = crate::on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(id).fetch_optional(pool).await)?;
    row.map(Sequence::try_from).transpose()
}

pub async fn fetch_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Sequence>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE s.id = $1");
    let row: Option<SequenceRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    row.map(Sequence::try_from).transpose()
}

pub async fn insert(
    tx: &mut Tx,
    organization_id: i64,
    name: &str,
    prefix: &str,
    padding: u32,
    start: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let padding = i32::try_from(padding).unwrap_or(0);
    let (id,): (i64,) = on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO sequences (organization_id, name, prefix, padding, next_value, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id")
        .bind(organization_id).bind(name).bind(prefix).bind(padding).bind(start).bind(now)
        .fetch_one(conn).await)?;
    Ok(id)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    prefix: &str,
    padding: u32,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let padding = i32::try_from(padding).unwrap_or(0);
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE sequences SET prefix = $2, padding = $3, updated_at = $4 WHERE id = $1")
        .bind(id).bind(prefix).bind(padding).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query("DELETE FROM sequences WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// The id of sequence `name` of `organization_id`.
pub async fn find(db: &Db, organization_id: i64, name: &str) -> sqlx::Result<Option<i64>> {
    crate::on_read!(db, pool => sqlx::query_scalar(
        "SELECT id FROM sequences WHERE organization_id = $1 AND name = $2")
        .bind(organization_id).bind(name).fetch_optional(pool).await)
}

/// Takes the next number of sequence `id` inside `tx`: one UPDATE … RETURNING, which holds
/// the row until `tx` ends, so concurrent takers queue and each gets its own number; a
/// rollback gives the number back. `None` when the sequence is gone.
pub async fn take(
    tx: &mut Tx,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<(i64, String, i32)>> {
    on_tx!(tx, conn => sqlx::query_as(
        "UPDATE sequences SET next_value = next_value + 1, updated_at = $2 WHERE id = $1 \
         RETURNING next_value - 1, prefix, padding")
        .bind(id).bind(now).fetch_optional(conn).await)
}
