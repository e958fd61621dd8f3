//! SQL of numbers and their history.

use super::model::{Assignment, AssignmentType, HistoryEntry, Number, tags_from_column};
use super::pattern::Pattern;
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::system::audit::Actor;
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

const COLUMNS: &str = "n.id, n.organization_id, o.path AS organization_path, n.number, n.state, \
    n.assignment_type, n.assignment_id, n.assignment_line, n.channel_limit, n.tags, \
    n.created_at, n.updated_at";
const FROM: &str = " FROM numbers n JOIN organizations o ON o.id = n.organization_id";
/// Rows per multi-row INSERT of an import: 500 × 8 values stays far below both backends'
/// limits on bound parameters.
const CHUNK: usize = 500;

#[derive(sqlx::FromRow)]
struct NumberRow {
    id: i64,
    organization_id: i64,
    organization_path: String,
    number: String,
    state: String,
    assignment_type: Option<String>,
    assignment_id: Option<i64>,
    assignment_line: Option<i64>,
    channel_limit: Option<i64>,
    tags: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<NumberRow> for Number {
    fn from(row: NumberRow) -> Self {
        let assignment = match (
            row.assignment_type
                .as_deref()
                .and_then(AssignmentType::parse),
            row.assignment_id,
        ) {
            (Some(kind), Some(id)) => Some(Assignment {
                kind,
                id,
                line: row.assignment_line,
            }),
            _ => None,
        };
        Self {
            id: row.id,
            number: row.number,
            state: row.state,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            assignment,
            channel_limit: row.channel_limit,
            tags: tags_from_column(&row.tags),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Filters of the list and the search. All given ones must hold.
#[derive(Debug, Default)]
pub struct NumberFilter {
    /// Exactly this organization.
    pub organization_id: Option<i64>,
    /// This organization and its descendants (its path).
    pub subtree_path: Option<String>,
    pub state: Option<String>,
    /// A valid tag (`[a-z0-9_-]`).
    pub tag: Option<String>,
    /// Canonical `+digits`.
    pub prefix: Option<String>,
    pub pattern: Option<Pattern>,
}

const WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR n.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR o.path LIKE $3) \
    AND (CAST($4 AS TEXT) IS NULL OR n.state = $4) \
    AND (CAST($5 AS TEXT) IS NULL OR n.tags LIKE $5 ESCAPE '\\') \
    AND (CAST($6 AS TEXT) IS NULL OR n.number LIKE $6) \
    AND (CAST($7 AS TEXT) IS NULL OR n.number LIKE $7)";

/// The `SUBSTR` conditions of a pattern's `n`/`z` positions; positions and digits come from a
/// parsed [`Pattern`], never from request text.
fn range_conditions(pattern: Option<&Pattern>) -> String {
    let mut sql = String::new();
    for r in pattern.map(Pattern::ranges).unwrap_or_default() {
        sql.push_str(&format!(
            " AND SUBSTR(n.number, {}, 1) BETWEEN '{}' AND '{}'",
            r.position, r.low, r.high
        ));
    }
    sql
}

/// A page of the numbers under `scope_like` that pass `f`, in number order, and their count.
pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &NumberFilter,
    page: Page,
) -> sqlx::Result<(Vec<Number>, i64)> {
    let ranges = range_conditions(f.pattern.as_ref());
    let list_sql =
        format!("SELECT {COLUMNS}{FROM}{WHERE}{ranges} ORDER BY n.number LIMIT $8 OFFSET $9");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}{ranges}");
    let subtree = f.subtree_path.as_ref().map(|p| format!("{p}%"));
    let tag = f
        .tag
        .as_ref()
        .map(|t| format!("%,{},%", t.replace('_', "\\_")));
    let prefix = f.prefix.as_ref().map(|p| format!("{p}%"));
    let pattern = f.pattern.as_ref().map(Pattern::like);
    let (rows, total): (Vec<NumberRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&subtree).bind(&f.state)
            .bind(&tag).bind(&prefix).bind(&pattern)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&subtree).bind(&f.state)
            .bind(&tag).bind(&prefix).bind(&pattern)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(Number::from).collect(), total))
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Number>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE n.id = $1");
    let row: Option<NumberRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    Ok(row.map(Number::from))
}

/// Like [`get`], inside a transaction (reads what it wrote).
pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Number>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE n.id = $1");
    let row: Option<NumberRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    Ok(row.map(Number::from))
}

/// The writable columns of a number, validated.
pub struct NumberFields<'a> {
    pub organization_id: i64,
    pub number: &'a str,
    pub state: &'a str,
    pub assignment: Option<Assignment>,
    pub channel_limit: Option<i64>,
    /// As stored (`,a,b,`).
    pub tags: &'a str,
}

pub async fn insert(tx: &mut Tx, f: &NumberFields<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let (kind, id, line) = assignment_columns(f.assignment);
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO numbers (organization_id, number, state, assignment_type, assignment_id, \
         assignment_line, channel_limit, tags, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id")
        .bind(f.organization_id).bind(f.number).bind(f.state).bind(kind).bind(id).bind(line)
        .bind(f.channel_limit).bind(f.tags).bind(now)
        .fetch_one(conn).await)
}

fn assignment_columns(a: Option<Assignment>) -> (Option<&'static str>, Option<i64>, Option<i64>) {
    match a {
        Some(a) => (Some(a.kind.as_str()), Some(a.id), a.line),
        None => (None, None, None),
    }
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    f: &NumberFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (kind, assigned, line) = assignment_columns(f.assignment);
    on_tx!(tx, conn => sqlx::query(
        "UPDATE numbers SET organization_id = $2, number = $3, state = $4, assignment_type = $5, \
         assignment_id = $6, assignment_line = $7, channel_limit = $8, tags = $9, updated_at = $10 \
         WHERE id = $1")
        .bind(id).bind(f.organization_id).bind(f.number).bind(f.state).bind(kind).bind(assigned)
        .bind(line).bind(f.channel_limit).bind(f.tags).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM numbers WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Which of the canonical numbers `numbers` are already stored.
pub async fn existing(db: &Db, numbers: &[String]) -> sqlx::Result<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in numbers.chunks(CHUNK) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT number FROM numbers WHERE number IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<String> = on_db!(db, pool => {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for n in chunk {
                query = query.bind(n);
            }
            query.fetch_all(pool).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Inserts many numbers with multi-row INSERTs and returns their ids by number.
pub async fn insert_many(
    tx: &mut Tx,
    rows: &[NumberFields<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<String, i64>> {
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $1, $1)",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO numbers (organization_id, number, state, assignment_type, assignment_id, \
             assignment_line, channel_limit, tags, created_at, updated_at) VALUES {} \
             RETURNING id, number",
            values.join(", ")
        );
        let inserted: Vec<(i64, String)> = on_tx!(tx, conn => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now);
            for f in chunk {
                let (kind, id, line) = assignment_columns(f.assignment);
                query = query.bind(f.organization_id).bind(f.number).bind(f.state).bind(kind)
                    .bind(id).bind(line).bind(f.channel_limit).bind(f.tags);
            }
            query.fetch_all(conn).await
        })?;
        ids.extend(inserted.into_iter().map(|(id, number)| (number, id)));
    }
    Ok(ids)
}

/// One history entry to write.
pub struct NewHistory<'a> {
    pub number_id: i64,
    pub organization_id: i64,
    pub action: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Writes history entries (multi-row INSERTs) by `actor` at `now`.
pub async fn insert_history(
    tx: &mut Tx,
    actor: &Actor,
    entries: &[NewHistory<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    for chunk in entries.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "(${}, ${}, ${}, $1, $2, ${}, ${}, $3)",
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO number_history (number_id, organization_id, action, actor_user_id, \
             actor_username, before_json, after_json, created_at) VALUES {}",
            values.join(", ")
        );
        on_tx!(tx, conn => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(actor.user_id).bind(&actor.username).bind(now);
            for e in chunk {
                query = query.bind(e.number_id).bind(e.organization_id).bind(e.action)
                    .bind(&e.before).bind(&e.after);
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    id: i64,
    number_id: i64,
    action: String,
    actor_user_id: Option<i64>,
    actor_username: String,
    before_json: Option<String>,
    after_json: Option<String>,
    created_at: DateTime<Utc>,
}

fn parse_json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// A page of a number's history, oldest first, and its length.
pub async fn history(
    db: &Db,
    number_id: i64,
    page: Page,
) -> sqlx::Result<(Vec<HistoryEntry>, i64)> {
    let (rows, total): (Vec<HistoryRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(
            "SELECT id, number_id, action, actor_user_id, actor_username, before_json, \
             after_json, created_at FROM number_history WHERE number_id = $1 ORDER BY id \
             LIMIT $2 OFFSET $3")
            .bind(number_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM number_history WHERE number_id = $1")
            .bind(number_id).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let entries = rows
        .into_iter()
        .map(|r| HistoryEntry {
            id: r.id,
            number_id: r.number_id,
            action: r.action,
            actor_user_id: r.actor_user_id,
            actor_username: r.actor_username,
            before: parse_json(r.before_json),
            after: parse_json(r.after_json),
            created_at: r.created_at,
        })
        .collect();
    Ok((entries, total))
}

/// The id of the mobile whose MSISDN the number is, if any.
pub async fn mobile_of(tx: &mut Tx, number_id: i64) -> sqlx::Result<Option<i64>> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT id FROM mobiles WHERE msisdn_number_id = $1")
        .bind(number_id).fetch_optional(conn).await)
}

/// Numbers assigned to `kind` `id` that are not released, as `tx` sees them: the first
/// `limit` (id, number, line) in number order, and how many there are.
pub async fn assigned_to(
    tx: &mut Tx,
    kind: &str,
    id: i64,
    first_line: Option<i64>,
    limit: i64,
) -> sqlx::Result<(Vec<(i64, String, Option<i64>)>, i64)> {
    const WHERE: &str = " FROM numbers WHERE assignment_type = $1 AND assignment_id = $2 \
        AND state <> 'released' AND (CAST($3 AS BIGINT) IS NULL OR assignment_line >= $3)";
    let list_sql = format!("SELECT id, number, assignment_line{WHERE} ORDER BY number LIMIT $4");
    let count_sql = format!("SELECT COUNT(*){WHERE}");
    on_tx!(tx, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(list_sql))
            .bind(kind).bind(id).bind(first_line).bind(limit).fetch_all(&mut *conn).await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
            .bind(kind).bind(id).bind(first_line).fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}
