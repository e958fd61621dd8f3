//! SQL of organizations and their client-access settings.

use super::model::{OrgName, OrgStatus, OrgType, Organization};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::types::column::parse_stored;
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str =
    "id, name, type, parent_id, status, timezone, country, path, created_at, updated_at";

/// An `organizations` row as stored.
#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    name: String,
    #[sqlx(rename = "type")]
    org_type: String,
    parent_id: Option<i64>,
    status: String,
    timezone: String,
    country: String,
    path: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<OrgRow> for Organization {
    type Error = sqlx::Error;

    /// A stored name, type or status that does not parse is an error naming the organization,
    /// never a default (a corrupt type must not read as a tenant, nor as a platform).
    fn try_from(row: OrgRow) -> sqlx::Result<Self> {
        const ROW: &str = "organization";
        Ok(Self {
            name: parse_stored(ROW, row.id, "name", &row.name, OrgName::parse)?,
            org_type: parse_stored(ROW, row.id, "type", &row.org_type, OrgType::parse_stored)?,
            status: parse_stored(ROW, row.id, "status", &row.status, OrgStatus::parse_stored)?,
            id: row.id,
            parent_id: row.parent_id,
            timezone: row.timezone,
            country: row.country,
            path: row.path,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Filters of `GET /v1/organizations`.
#[derive(Debug, Default)]
pub struct OrgFilter {
    pub org_type: Option<String>,
    pub status: Option<String>,
    pub parent_id: Option<i64>,
    pub name: Option<String>,
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Organization>> {
    let sql = format!("SELECT {COLUMNS} FROM organizations WHERE id = $1");
    let row: Option<OrgRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    row.map(Organization::try_from).transpose()
}

pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Organization>> {
    let sql = format!("SELECT {COLUMNS} FROM organizations WHERE id = $1");
    let row: Option<OrgRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    row.map(Organization::try_from).transpose()
}

/// (id, path) of every organization: the SIP redirect listener's org table.
pub async fn all_paths(db: &Db) -> sqlx::Result<Vec<(i64, String)>> {
    on_db!(db, pool => sqlx::query_as("SELECT id, path FROM organizations ORDER BY id")
        .fetch_all(pool).await)
}

const WHERE: &str = " WHERE path LIKE $1 \
    AND (CAST($2 AS TEXT) IS NULL OR type = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR status = $3) \
    AND (CAST($4 AS BIGINT) IS NULL OR parent_id = $4) \
    AND (CAST($5 AS TEXT) IS NULL OR LOWER(name) LIKE $5)";

pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &OrgFilter,
    page: Page,
) -> sqlx::Result<(Vec<Organization>, i64)> {
    let list_sql =
        format!("SELECT {COLUMNS} FROM organizations{WHERE} ORDER BY id LIMIT $6 OFFSET $7");
    let count_sql = format!("SELECT COUNT(*) FROM organizations{WHERE}");
    let name_like = f.name.as_ref().map(|n| format!("%{}%", n.to_lowercase()));
    let (rows, total): (Vec<OrgRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(&f.org_type).bind(&f.status).bind(f.parent_id).bind(&name_like)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(&f.org_type).bind(&f.status).bind(f.parent_id).bind(&name_like)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let orgs = rows
        .into_iter()
        .map(Organization::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((orgs, total))
}

/// Where an organization is: its IANA time zone and ISO country code.
pub struct Locale<'a> {
    pub timezone: &'a str,
    pub country: &'a str,
}

/// Inserts an organization and sets its materialized path (`<parent path><id>/`).
pub async fn insert(
    tx: &mut Tx,
    parent: Option<&Organization>,
    org_type: OrgType,
    name: &OrgName,
    status: OrgStatus,
    locale: Locale<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<Organization> {
    let parent_id = parent.map(|p| p.id);
    let parent_path = parent.map_or("/", |p| p.path.as_str());
    let (id,): (i64,) = on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO organizations (parent_id, path, type, name, status, timezone, country, created_at, updated_at) \
         VALUES ($1, '', $2, $3, $4, $5, $6, $7, $7) RETURNING id")
        .bind(parent_id).bind(org_type.as_str()).bind(name).bind(status.as_str()).bind(locale.timezone).bind(locale.country).bind(now)
        .fetch_one(conn).await)?;
    let path = format!("{parent_path}{id}/");
    on_tx!(tx, conn => sqlx::query("UPDATE organizations SET path = $1 WHERE id = $2")
        .bind(&path).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    get_in_tx(tx, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    name: &OrgName,
    status: OrgStatus,
    timezone: &str,
    country: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Organization> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE organizations SET name = $1, status = $2, timezone = $3, country = $4, updated_at = $5 \
         WHERE id = $6")
        .bind(name).bind(status.as_str()).bind(timezone).bind(country).bind(now).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    get_in_tx(tx, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Counts of what still hangs off an organization (children, users) before a delete.
pub async fn dependents(tx: &mut Tx, id: i64) -> sqlx::Result<(i64, i64)> {
    on_tx!(tx, conn => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM organizations WHERE parent_id = $1), \
                (SELECT COUNT(*) FROM users WHERE organization_id = $1)")
        .bind(id).fetch_one(conn).await)
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn platform_exists(tx: &mut Tx) -> sqlx::Result<Option<i64>> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT id FROM organizations WHERE type = 'platform'")
        .fetch_optional(conn).await)
}

/// Client-access settings of one organization (defaults when never set).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct ClientAccess {
    pub organization_id: i64,
    /// Users of this organization may use the API at all.
    pub api_enabled: bool,
    /// Users of this organization may use the API only from the organization's IPs (orgips).
    pub restrict_to_orgips: bool,
}

pub async fn client_access(db: &Db, org_id: i64) -> sqlx::Result<ClientAccess> {
    let row: Option<ClientAccess> = on_db!(db, pool => sqlx::query_as(
        "SELECT organization_id, api_enabled, restrict_to_orgips FROM organization_client_access \
         WHERE organization_id = $1").bind(org_id).fetch_optional(pool).await)?;
    Ok(row.unwrap_or(ClientAccess {
        organization_id: org_id,
        api_enabled: true,
        restrict_to_orgips: false,
    }))
}

pub async fn set_client_access(
    tx: &mut Tx,
    access: &ClientAccess,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO organization_client_access (organization_id, api_enabled, restrict_to_orgips, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (organization_id) DO UPDATE SET \
         api_enabled = excluded.api_enabled, restrict_to_orgips = excluded.restrict_to_orgips, \
         updated_at = excluded.updated_at")
        .bind(access.organization_id).bind(access.api_enabled).bind(access.restrict_to_orgips).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
