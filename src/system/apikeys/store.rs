//! The SQL of API keys: the keys, their secrets' hashes (the current one and, for an overlap
//! after a rotation, the one it replaced), the lookup a request makes, and the usage flush.

use super::grant::Grant;
use super::model::{ApiKey, ApiKeyName};
use crate::auth::{Permission, Role};
use crate::db::{Db, Page, Tx};
use crate::orgs::OrgType;
use crate::types::Cidr;
use crate::types::column::parse_stored;
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// How a corrupt row is named.
const ROW: &str = "API key";

const COLUMNS: &str = "k.id, k.organization_id, o.path AS organization_path, k.name, k.role, \
    k.permissions, k.prefix, k.expires_at, k.source_cidrs, k.created_by, k.created_at, \
    k.updated_at, k.rotated_at, k.previous_expires_at, k.last_used_at, k.last_used_ip";
const FROM: &str = " FROM api_keys k JOIN organizations o ON o.id = k.organization_id";

/// An `api_keys` row as stored.
#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    organization_id: i64,
    organization_path: String,
    name: String,
    role: Option<String>,
    permissions: Option<String>,
    prefix: String,
    expires_at: Option<DateTime<Utc>>,
    source_cidrs: String,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    previous_expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    last_used_ip: Option<String>,
}

fn parse_permissions(text: &str) -> Result<Vec<Permission>, String> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| Permission::parse(p).ok_or_else(|| format!("unknown permission {p:?}")))
        .collect()
}

fn parse_cidrs(text: &str) -> Result<Vec<Cidr>, String> {
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| Cidr::parse(c).map_err(|e| e.to_string()))
        .collect()
}

/// The stored grant of a row: exactly one of role and permissions.
fn grant(id: i64, role: Option<&str>, permissions: Option<&str>) -> sqlx::Result<Grant> {
    match (role, permissions) {
        (Some(role), None) => Ok(Grant::Role(parse_stored(
            ROW,
            id,
            "role",
            role,
            Role::parse_stored,
        )?)),
        (None, Some(list)) => Ok(Grant::Permissions(parse_stored(
            ROW,
            id,
            "permissions",
            list,
            parse_permissions,
        )?)),
        _ => parse_stored(ROW, id, "role", role.unwrap_or_default(), |_| {
            Err::<Grant, _>("a key has a role or permissions, not both or neither")
        }),
    }
}

fn permissions_text(list: &[Permission]) -> String {
    list.iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn cidrs_text(cidrs: &[Cidr]) -> String {
    cidrs
        .iter()
        .map(Cidr::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = sqlx::Error;

    /// A stored value that does not parse is an error naming the row.
    fn try_from(row: KeyRow) -> sqlx::Result<Self> {
        let (role, permissions) =
            match grant(row.id, row.role.as_deref(), row.permissions.as_deref())? {
                Grant::Role(role) => (Some(role), None),
                Grant::Permissions(list) => (None, Some(list)),
            };
        Ok(Self {
            name: parse_stored(ROW, row.id, "name", &row.name, ApiKeyName::parse)?,
            source_cidrs: parse_stored(
                ROW,
                row.id,
                "source_cidrs",
                &row.source_cidrs,
                parse_cidrs,
            )?,
            role,
            permissions,
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            prefix: row.prefix,
            expires_at: row.expires_at,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            rotated_at: row.rotated_at,
            previous_secret_expires_at: row.previous_expires_at,
            last_used_at: row.last_used_at,
            last_used_ip: row.last_used_ip,
        })
    }
}

/// A page of the keys under `like` (a path prefix pattern), optionally of one organization,
/// and how many there are.
pub async fn list(
    db: &Db,
    like: &str,
    organization_id: Option<i64>,
    page: Page,
) -> sqlx::Result<(Vec<ApiKey>, i64)> {
    const WHERE: &str =
        " WHERE o.path LIKE $1 AND (CAST($2 AS BIGINT) IS NULL OR k.organization_id = $2)";
    let list_sql = format!("SELECT {COLUMNS}{FROM}{WHERE} ORDER BY k.id LIMIT $3 OFFSET $4");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    let (rows, total): (Vec<KeyRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(like).bind(organization_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(like).bind(organization_id).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let keys = rows
        .into_iter()
        .map(ApiKey::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((keys, total))
}

pub async fn fetch(db: &Db, id: i64) -> sqlx::Result<Option<ApiKey>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE k.id = $1");
    let row: Option<KeyRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    row.map(ApiKey::try_from).transpose()
}

/// Key `id` as `tx` sees it (after its own writes).
pub async fn fetch_tx(tx: &mut Tx, id: i64) -> sqlx::Result<ApiKey> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE k.id = $1");
    let row: KeyRow = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(conn).await)?;
    ApiKey::try_from(row)
}

/// What a new key is stored with.
pub struct NewKey<'a> {
    pub organization_id: i64,
    pub name: &'a ApiKeyName,
    pub grant: &'a Grant,
    pub expires_at: Option<DateTime<Utc>>,
    pub source_cidrs: &'a [Cidr],
    pub prefix: &'a str,
    pub created_by: &'a str,
}

fn grant_columns(grant: &Grant) -> (Option<&'static str>, Option<String>) {
    match grant {
        Grant::Role(role) => (Some(role.as_str()), None),
        Grant::Permissions(list) => (None, Some(permissions_text(list))),
    }
}

/// Inserts a key and the hash of its first secret; returns its id.
pub async fn insert(
    tx: &mut Tx,
    key: &NewKey<'_>,
    secret_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let (role, permissions) = grant_columns(key.grant);
    let cidrs = cidrs_text(key.source_cidrs);
    let (id,): (i64,) = on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO api_keys (organization_id, name, role, permissions, expires_at, source_cidrs, \
         prefix, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         RETURNING id")
        .bind(key.organization_id).bind(key.name).bind(role).bind(&permissions)
        .bind(key.expires_at).bind(&cidrs).bind(key.prefix).bind(key.created_by).bind(now)
        .fetch_one(&mut *conn).await)?;
    insert_secret(tx, id, secret_hash, now).await?;
    Ok(id)
}

async fn insert_secret(
    tx: &mut Tx,
    key_id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO api_key_secrets (api_key_id, secret_hash, created_at) VALUES ($1, $2, $3)")
        .bind(key_id).bind(hash).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// What an update sets.
pub struct KeyUpdate<'a> {
    pub name: &'a ApiKeyName,
    pub grant: &'a Grant,
    pub expires_at: Option<DateTime<Utc>>,
    pub source_cidrs: &'a [Cidr],
}

/// Changes a key; false when it is gone (revoked meanwhile).
pub async fn update(
    tx: &mut Tx,
    id: i64,
    key: &KeyUpdate<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let (role, permissions) = grant_columns(key.grant);
    let cidrs = cidrs_text(key.source_cidrs);
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE api_keys SET name = $2, role = $3, permissions = $4, expires_at = $5, \
         source_cidrs = $6, updated_at = $7 WHERE id = $1")
        .bind(id).bind(key.name).bind(role).bind(&permissions).bind(key.expires_at).bind(&cidrs)
        .bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Replaces the secret of a key: the current one keeps working until `overlap_until`, any
/// older one stops now. False when the key is gone (revoked meanwhile).
pub async fn rotate(
    tx: &mut Tx,
    id: i64,
    secret_hash: &str,
    prefix: &str,
    overlap_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    // The key's row first: it serializes a rotation against a concurrent revocation.
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE api_keys SET prefix = $2, rotated_at = $3, previous_expires_at = $4, updated_at = $3 \
         WHERE id = $1")
        .bind(id).bind(prefix).bind(now).bind(overlap_until).execute(conn).await
        .map(|r| r.rows_affected()))?;
    if done != 1 {
        return Ok(false);
    }
    on_tx!(tx, conn => sqlx::query(
        "DELETE FROM api_key_secrets WHERE api_key_id = $1 AND expires_at IS NOT NULL")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, conn => sqlx::query(
        "UPDATE api_key_secrets SET expires_at = $2 WHERE api_key_id = $1 AND expires_at IS NULL")
        .bind(id).bind(overlap_until).execute(conn).await.map(|r| r.rows_affected()))?;
    insert_secret(tx, id, secret_hash, now).await?;
    Ok(true)
}

/// Deletes a key and (by cascade) its secrets' hashes; false when it was already gone.
pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query("DELETE FROM api_keys WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// A key found by the hash of a presented secret, with its organization's access state.
#[derive(Debug)]
pub struct Credential {
    pub id: i64,
    pub name: String,
    pub organization_id: i64,
    pub organization_path: String,
    pub organization_type: OrgType,
    pub grant: Grant,
    pub expires_at: Option<DateTime<Utc>>,
    pub source_cidrs: Vec<Cidr>,
    /// When this secret stops working (set once it was replaced by a rotation).
    pub secret_expires_at: Option<DateTime<Utc>>,
    pub api_enabled: bool,
    pub restrict_to_orgips: bool,
    pub suspended_orgs: i64,
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: i64,
    name: String,
    organization_id: i64,
    organization_path: String,
    organization_type: String,
    role: Option<String>,
    permissions: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    source_cidrs: String,
    secret_expires_at: Option<DateTime<Utc>>,
    api_enabled: bool,
    restrict_to_orgips: bool,
    suspended_orgs: i64,
}

/// The key whose secret hashes to `secret_hash`: one lookup on a unique index, so a revocation
/// or a rotation's end on any instance holds on the next request everywhere.
pub async fn credential(db: &Db, secret_hash: &str) -> sqlx::Result<Option<Credential>> {
    let sql = format!(
        "SELECT k.id, k.name, k.organization_id, o.path AS organization_path, \
         o.type AS organization_type, k.role, k.permissions, k.expires_at, k.source_cidrs, \
         s.expires_at AS secret_expires_at, {} \
         FROM api_key_secrets s JOIN api_keys k ON k.id = s.api_key_id \
         JOIN organizations o ON o.id = k.organization_id \
         LEFT JOIN organization_client_access ca ON ca.organization_id = o.id \
         WHERE s.secret_hash = $1",
        crate::auth::ORG_STATE
    );
    let row: Option<CredentialRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(secret_hash).fetch_optional(pool).await)?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Credential {
        grant: grant(row.id, row.role.as_deref(), row.permissions.as_deref())?,
        organization_type: parse_stored(
            "organization",
            row.organization_id,
            "type",
            &row.organization_type,
            OrgType::parse_stored,
        )?,
        source_cidrs: parse_stored(ROW, row.id, "source_cidrs", &row.source_cidrs, parse_cidrs)?,
        id: row.id,
        name: row.name,
        organization_id: row.organization_id,
        organization_path: row.organization_path,
        expires_at: row.expires_at,
        secret_expires_at: row.secret_expires_at,
        api_enabled: row.api_enabled,
        restrict_to_orgips: row.restrict_to_orgips,
        suspended_orgs: row.suspended_orgs,
    }))
}

/// Writes the last uses of keys (whole seconds, so stored times compare as text on SQLite
/// too); an older use never overwrites a newer one another instance wrote.
pub async fn record_usage(
    db: &Db,
    uses: &[(i64, DateTime<Utc>, Option<IpAddr>)],
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for (id, at, ip) in uses {
        let ip = ip.map(|ip| ip.to_string());
        on_tx!(&mut tx, conn => sqlx::query(
            "UPDATE api_keys SET last_used_at = $2, last_used_ip = $3 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)")
            .bind(id).bind(at).bind(&ip).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await
}
