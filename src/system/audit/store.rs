//! SQL of the audit log.

use super::{Actor, AuditRecord, Change};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// Optional filters of `GET /v1/auditlog`.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub organization_id: Option<i64>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub actor_user_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    actor_user_id: Option<i64>,
    actor_username: String,
    action: String,
    entity_type: String,
    entity_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
    request_id: Option<String>,
    client_ip: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Row> for AuditRecord {
    fn from(row: Row) -> Self {
        let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Self {
            id: row.id,
            organization_id: row.organization_id,
            actor_user_id: row.actor_user_id,
            actor_username: row.actor_username,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            before: parse(row.before_json),
            after: parse(row.after_json),
            request_id: row.request_id,
            client_ip: row.client_ip,
            created_at: row.created_at,
        }
    }
}

pub async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    change: &Change<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO audit_log (organization_id, organization_path, actor_user_id, \
        actor_username, action, entity_type, entity_id, before_json, after_json, request_id, \
        client_ip, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    let before = change.before.as_ref().map(|v| v.to_string());
    let after = change.after.as_ref().map(|v| v.to_string());
    let ip = actor.client_ip.map(|ip| ip.to_string());
    on_tx!(tx, conn => sqlx::query(SQL)
        .bind(change.organization_id)
        .bind(change.organization_path)
        .bind(actor.user_id)
        .bind(&actor.username)
        .bind(change.action)
        .bind(change.entity_type)
        .bind(&change.entity_id)
        .bind(&before)
        .bind(&after)
        .bind(&actor.request_id)
        .bind(&ip)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

const COLUMNS: &str = "id, organization_id, actor_user_id, actor_username, action, entity_type, \
    entity_id, before_json, after_json, request_id, client_ip, created_at";

const WHERE: &str = " WHERE organization_path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR entity_type = $3) \
    AND (CAST($4 AS TEXT) IS NULL OR entity_id = $4) \
    AND (CAST($5 AS TEXT) IS NULL OR action = $5) \
    AND (CAST($6 AS BIGINT) IS NULL OR actor_user_id = $6)";

pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &AuditFilter,
    page: Page,
) -> sqlx::Result<(Vec<AuditRecord>, i64)> {
    let list_sql =
        format!("SELECT {COLUMNS} FROM audit_log{WHERE} ORDER BY id DESC LIMIT $7 OFFSET $8");
    let count_sql = format!("SELECT COUNT(*) FROM audit_log{WHERE}");
    on_snapshot!(db, conn => {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.entity_type)
            .bind(&f.entity_id).bind(&f.action).bind(f.actor_user_id)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.entity_type)
            .bind(&f.entity_id).bind(&f.action).bind(f.actor_user_id)
            .fetch_one(&mut *conn).await?;
        Ok((rows.into_iter().map(AuditRecord::from).collect(), total))
    })
}

pub async fn get(db: &Db, scope_like: &str, id: i64) -> sqlx::Result<Option<AuditRecord>> {
    let sql =
        format!("SELECT {COLUMNS} FROM audit_log WHERE organization_path LIKE $1 AND id = $2");
    on_db!(db, pool => {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope_like).bind(id).fetch_optional(pool).await?;
        Ok(row.map(AuditRecord::from))
    })
}
