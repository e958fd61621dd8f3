//! SQL of SIP trunks (each read with its gateways).

use super::gateways;
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::gateways::health::AliveCodes;
use crate::gateways::model::{Direction, TRUNK, Trunk, TrunkName};
use crate::types::column::parse_stored;
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const COLUMNS: &str = "t.id, t.organization_id, o.path AS organization_path, t.name, \
    t.direction, t.max_channels, t.alive_codes, t.failures_to_down, t.successes_to_up, \
    t.created_at, t.updated_at";
const FROM: &str = " FROM sip_trunks t JOIN organizations o ON o.id = t.organization_id";

/// A trunk as stored, before its values are parsed.
#[derive(sqlx::FromRow)]
struct TrunkRow {
    id: i64,
    organization_id: i64,
    organization_path: String,
    name: String,
    direction: String,
    max_channels: i64,
    alive_codes: String,
    failures_to_down: i64,
    successes_to_up: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TrunkRow> for Trunk {
    type Error = sqlx::Error;

    /// Without its gateways (read separately).
    fn try_from(row: TrunkRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            name: parse_stored(TRUNK, row.id, "name", &row.name, TrunkName::parse)?,
            direction: parse_stored(TRUNK, row.id, "direction", &row.direction, Direction::parse)?,
            max_channels: row.max_channels,
            alive_codes: parse_stored(
                TRUNK,
                row.id,
                "alive_codes",
                &row.alive_codes,
                AliveCodes::parse,
            )?,
            failures_to_down: row.failures_to_down,
            successes_to_up: row.successes_to_up,
            created_at: row.created_at,
            updated_at: row.updated_at,
            gateways: Vec::new(),
        })
    }
}

fn parsed(rows: Vec<TrunkRow>) -> sqlx::Result<Vec<Trunk>> {
    rows.into_iter().map(Trunk::try_from).collect()
}

/// Filters of `GET /v1/siptrunks`.
#[derive(Debug, Default)]
pub struct TrunkFilter {
    pub organization_id: Option<i64>,
    pub direction: Option<String>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
}

/// The writable columns of a trunk, validated.
pub struct TrunkFields<'a> {
    pub name: &'a TrunkName,
    pub direction: Direction,
    pub max_channels: i64,
    pub alive_codes: &'a AliveCodes,
    pub failures_to_down: i64,
    pub successes_to_up: i64,
}

const LIST_WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR t.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR t.direction = $3) \
    AND (CAST($4 AS TEXT) IS NULL OR LOWER(t.name) LIKE $4)";

/// A page of the trunks under `scope_like`, each with its gateways (two queries in all).
pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &TrunkFilter,
    page: Page,
) -> sqlx::Result<(Vec<Trunk>, i64)> {
    let list_sql = format!("SELECT {COLUMNS}{FROM}{LIST_WHERE} ORDER BY t.id LIMIT $5 OFFSET $6");
    let count_sql = format!("SELECT COUNT(*){FROM}{LIST_WHERE}");
    let name_like = f.name.as_ref().map(|n| format!("%{}%", n.to_lowercase()));
    let (rows, total): (Vec<TrunkRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.direction).bind(&name_like)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.direction).bind(&name_like)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let mut trunks = parsed(rows)?;
    let ids: Vec<i64> = trunks.iter().map(|t| t.id).collect();
    let mut by_trunk: HashMap<i64, Vec<_>> = HashMap::new();
    for gateway in gateways::of_trunks(db, &ids).await? {
        by_trunk.entry(gateway.trunk_id).or_default().push(gateway);
    }
    for trunk in &mut trunks {
        trunk.gateways = by_trunk.remove(&trunk.id).unwrap_or_default();
    }
    Ok((trunks, total))
}

/// The trunk `id` with its gateways.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Trunk>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE t.id = $1");
    let row: Option<TrunkRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    let Some(mut trunk) = row.map(Trunk::try_from).transpose()? else {
        return Ok(None);
    };
    trunk.gateways = gateways::of_trunks(db, &[id]).await?;
    Ok(Some(trunk))
}

/// Like [`get`], inside a transaction (reads what the transaction wrote).
pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Trunk>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE t.id = $1");
    let row: Option<TrunkRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    let Some(mut trunk) = row.map(Trunk::try_from).transpose()? else {
        return Ok(None);
    };
    trunk.gateways = gateways::of_trunk_in_tx(tx, id).await?;
    Ok(Some(trunk))
}

pub async fn insert(
    tx: &mut Tx,
    organization_id: i64,
    f: &TrunkFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO sip_trunks (organization_id, name, direction, max_channels, alive_codes, \
         failures_to_down, successes_to_up, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id")
        .bind(organization_id).bind(f.name).bind(f.direction.as_str()).bind(f.max_channels)
        .bind(f.alive_codes).bind(f.failures_to_down).bind(f.successes_to_up).bind(now)
        .fetch_one(conn).await)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    f: &TrunkFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE sip_trunks SET name = $2, direction = $3, max_channels = $4, alive_codes = $5, \
         failures_to_down = $6, successes_to_up = $7, updated_at = $8 WHERE id = $1")
        .bind(id).bind(f.name).bind(f.direction.as_str()).bind(f.max_channels)
        .bind(f.alive_codes).bind(f.failures_to_down).bind(f.successes_to_up).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes a trunk; its gateways and IPs go with it (ON DELETE CASCADE).
pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM sip_trunks WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether trunk `id` exists, held against a concurrent delete until `tx` ends.
pub async fn hold(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let sql = format!("SELECT id FROM sip_trunks WHERE id = $1{}", tx.key_share());
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}
