//! SQL of numbers and their history.

mod bulk;
mod history;

pub use bulk::{existing, insert_many};
pub use history::{NewHistory, history, insert_history};

use super::model::{Assignment, AssignmentType, Number, NumberState, tags_from_column};
use super::pattern::Pattern;
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::types::E164;
use crate::types::column::{Corrupt, parse_stored};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

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

impl TryFrom<NumberRow> for Number {
    type Error = sqlx::Error;

    /// A stored value that does not parse is an error naming the row, never a default.
    fn try_from(row: NumberRow) -> sqlx::Result<Self> {
        let kind = match &row.assignment_type {
            Some(text) => Some(AssignmentType::parse(text).ok_or_else(|| {
                Corrupt::value("assignment_type", text, "not a known assignment type")
                    .row("number", row.id)
                    .into_sqlx()
            })?),
            None => None,
        };
        let assignment = match (kind, row.assignment_id) {
            (Some(kind), Some(id)) => Some(Assignment {
                kind,
                id,
                line: row.assignment_line,
            }),
            _ => None,
        };
        Ok(Self {
            id: row.id,
            number: parse_stored("number", row.id, "number", &row.number, E164::canonical)?,
            state: parse_stored(
                "number",
                row.id,
                "state",
                &row.state,
                NumberState::parse_stored,
            )?,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            assignment,
            channel_limit: row.channel_limit,
            tags: tags_from_column(&row.tags),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
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
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&subtree).bind(&f.state)
            .bind(&tag).bind(&prefix).bind(&pattern)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&subtree).bind(&f.state)
            .bind(&tag).bind(&prefix).bind(&pattern)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let numbers = rows
        .into_iter()
        .map(Number::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((numbers, total))
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Number>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE n.id = $1");
    let row: Option<NumberRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    row.map(Number::try_from).transpose()
}

/// Like [`get`], inside a transaction (reads what it wrote).
pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Number>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE n.id = $1");
    let row: Option<NumberRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    row.map(Number::try_from).transpose()
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
