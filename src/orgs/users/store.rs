//! SQL of users and their foreign ids.

use super::{ForeignId, User};
use crate::auth::Role;
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::types::column::parse_stored;
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "u.id, u.organization_id, u.username, u.role, u.email, \
    u.totp_enabled AS twofactor_enabled, u.created_at, u.updated_at, o.path AS organization_path";
const FROM: &str = " FROM users u JOIN organizations o ON o.id = u.organization_id";

/// A `users` row (with its organization's path) as stored.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    organization_id: i64,
    username: String,
    role: String,
    email: Option<String>,
    twofactor_enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    organization_path: String,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;

    /// A stored role that does not parse is an error naming the user, never a default role.
    fn try_from(row: UserRow) -> sqlx::Result<Self> {
        Ok(Self {
            role: parse_stored("user", row.id, "role", &row.role, Role::parse_stored)?,
            id: row.id,
            organization_id: row.organization_id,
            username: row.username,
            email: row.email,
            twofactor_enabled: row.twofactor_enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
            organization_path: row.organization_path,
        })
    }
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE u.id = $1");
    let row: Option<UserRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    row.map(User::try_from).transpose()
}

async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<User> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE u.id = $1");
    let row: UserRow = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(conn).await)?;
    User::try_from(row)
}

/// Filters of `GET /v1/users`.
#[derive(Debug, Default)]
pub struct UserFilter {
    pub organization_id: Option<i64>,
    pub role: Option<String>,
    pub username: Option<String>,
}

pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &UserFilter,
    page: Page,
) -> sqlx::Result<(Vec<User>, i64)> {
    const WHERE: &str = " WHERE o.path LIKE $1 \
        AND (CAST($2 AS BIGINT) IS NULL OR u.organization_id = $2) \
        AND (CAST($3 AS TEXT) IS NULL OR u.role = $3) \
        AND (CAST($4 AS TEXT) IS NULL OR u.username LIKE $4)";
    let list_sql = format!("SELECT {COLUMNS}{FROM}{WHERE} ORDER BY u.id LIMIT $5 OFFSET $6");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    let name_like = f
        .username
        .as_ref()
        .map(|n| format!("%{}%", n.to_lowercase()));
    let (rows, total): (Vec<UserRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.role).bind(&name_like)
            .bind(page.limit).bind(page.offset).fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.role).bind(&name_like)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let users = rows
        .into_iter()
        .map(User::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((users, total))
}

pub async fn insert(
    tx: &mut Tx,
    organization_id: i64,
    username: &str,
    password_hash: &str,
    role: Role,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<User> {
    let (id,): (i64,) = on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO users (organization_id, username, password_hash, role, email, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id")
        .bind(organization_id).bind(username).bind(password_hash).bind(role.as_str()).bind(email).bind(now)
        .fetch_one(conn).await)?;
    get_in_tx(tx, id).await
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    role: Role,
    email: Option<&str>,
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<User> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET role = $1, email = $2, password_hash = COALESCE($3, password_hash), \
         updated_at = $4 WHERE id = $5")
        .bind(role.as_str()).bind(email).bind(password_hash).bind(now).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    get_in_tx(tx, id).await
}

pub async fn password_hash(db: &Db, id: i64) -> sqlx::Result<Option<String>> {
    on_db!(db, pool => sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id).fetch_optional(pool).await)
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn foreign_ids(db: &Db, user_id: i64) -> sqlx::Result<Vec<ForeignId>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, user_id, source, foreign_id, created_at FROM user_foreign_ids \
         WHERE user_id = $1 ORDER BY source")
        .bind(user_id).fetch_all(pool).await)
}

pub async fn insert_foreign_id(
    tx: &mut Tx,
    user_id: i64,
    source: &str,
    foreign_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<ForeignId> {
    on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO user_foreign_ids (user_id, source, foreign_id, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, user_id, source, foreign_id, created_at")
        .bind(user_id).bind(source).bind(foreign_id).bind(now).fetch_one(conn).await)
}

pub async fn delete_foreign_id(
    tx: &mut Tx,
    user_id: i64,
    id: i64,
) -> sqlx::Result<Option<ForeignId>> {
    on_tx!(tx, conn => sqlx::query_as(
        "DELETE FROM user_foreign_ids WHERE id = $1 AND user_id = $2 \
         RETURNING id, user_id, source, foreign_id, created_at")
        .bind(id).bind(user_id).fetch_optional(conn).await)
}

/// Whether user `id` exists, held against a concurrent delete until `tx` ends.
pub async fn hold(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let sql = format!("SELECT id FROM users WHERE id = $1{}", tx.key_share());
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}
