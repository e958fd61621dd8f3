//! The SQL of webhook endpoints: the rows, their encrypted secrets, and the claim of an
//! endpoint's one delivery job.

use super::model::Endpoint;
use super::pattern::EventPattern;
use super::target::WebhookUrl;
use crate::db::{Db, Page, Tx};
use crate::types::column::parse_stored;
use crate::{on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const ROW: &str = "webhook endpoint";

const COLUMNS: &str = "e.id, e.organization_id, o.path AS organization_path, e.url, e.events, \
    e.description, e.active, e.disabled_reason, e.failing_since, e.previous_secret_until, \
    e.created_by, e.created_at, e.updated_at";
const FROM: &str = " FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id";

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: i64,
    organization_id: i64,
    organization_path: String,
    url: String,
    events: String,
    description: String,
    active: bool,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    previous_secret_until: Option<DateTime<Utc>>,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The stored form of a list of patterns.
pub fn events_text(events: &[EventPattern]) -> String {
    events
        .iter()
        .map(EventPattern::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn parse_events(text: &str) -> Result<Vec<EventPattern>, String> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(EventPattern::parse)
        .collect()
}

impl TryFrom<EndpointRow> for Endpoint {
    type Error = sqlx::Error;

    fn try_from(row: EndpointRow) -> sqlx::Result<Self> {
        Ok(Self {
            url: parse_stored(ROW, row.id, "url", &row.url, WebhookUrl::parse)?,
            events: parse_stored(ROW, row.id, "events", &row.events, parse_events)?,
            description: parse_stored(
                ROW,
                row.id,
                "description",
                &row.description,
                crate::types::Description::parse,
            )?,
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            active: row.active,
            disabled_reason: row.disabled_reason,
            failing_since: row.failing_since,
            previous_secret_expires_at: row.previous_secret_until,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A page of the endpoints under `like`, optionally of one organization or activity.
pub async fn list(
    db: &Db,
    like: &str,
    organization_id: Option<i64>,
    active: Option<bool>,
    page: Page,
) -> sqlx::Result<(Vec<Endpoint>, i64)> {
    const WHERE: &str = " WHERE o.path LIKE $1 \
        AND (CAST($2 AS BIGINT) IS NULL OR e.organization_id = $2) \
        AND (CAST($3 AS BOOLEAN) IS NULL OR e.active = $3)";
    let list_sql = format!("SELECT {COLUMNS}{FROM}{WHERE} ORDER BY e.id LIMIT $4 OFFSET $5");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    let (rows, total): (Vec<EndpointRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(like).bind(organization_id).bind(active).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(like).bind(organization_id).bind(active).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let endpoints = rows
        .into_iter()
        .map(Endpoint::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((endpoints, total))
}

pub async fn fetch(db: &Db, id: i64) -> sqlx::Result<Option<Endpoint>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE e.id = $1");
    let row: Option<EndpointRow> = crate::on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(id).fetch_optional(pool).await)?;
    row.map(Endpoint::try_from).transpose()
}

/// Endpoint `id` as `tx` sees it (after its own writes).
pub async fn fetch_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Endpoint>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE e.id = $1");
    let row: Option<EndpointRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    row.map(Endpoint::try_from).transpose()
}

/// What a new endpoint is stored with (`secret` already encrypted).
pub struct NewEndpoint<'a> {
    pub organization_id: i64,
    pub url: &'a WebhookUrl,
    pub events: &'a [EventPattern],
    pub description: &'a str,
    pub active: bool,
    pub secret: &'a str,
    pub created_by: &'a str,
}

pub async fn insert(tx: &mut Tx, e: &NewEndpoint<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let events = events_text(e.events);
    let (id,): (i64,) = on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO webhook_endpoints (organization_id, url, events, description, active, \
         secret, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id")
        .bind(e.organization_id).bind(e.url.as_str()).bind(&events).bind(e.description)
        .bind(e.active).bind(e.secret).bind(e.created_by).bind(now)
        .fetch_one(conn).await)?;
    Ok(id)
}

/// What an update sets. Turning an endpoint on clears why it was turned off and the failure
/// that led there, so its waiting deliveries go out at once.
pub struct EndpointUpdate<'a> {
    pub url: &'a WebhookUrl,
    pub events: &'a [EventPattern],
    pub description: &'a str,
    pub active: bool,
}

/// Changes an endpoint; false when it is gone.
pub async fn update(
    tx: &mut Tx,
    id: i64,
    e: &EndpointUpdate<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let events = events_text(e.events);
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET url = $2, events = $3, description = $4, \
         disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
         failing_since = CASE WHEN $5 AND NOT active THEN NULL ELSE failing_since END, \
         retry_at = CASE WHEN $5 AND NOT active THEN NULL ELSE retry_at END, \
         active = $5, updated_at = $6 WHERE id = $1")
        .bind(id).bind(e.url.as_str()).bind(&events).bind(e.description).bind(e.active)
        .bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Replaces the secret (both encrypted); the current one keeps signing until `overlap_until`.
pub async fn rotate(
    tx: &mut Tx,
    id: i64,
    secret: &str,
    overlap_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET \
         previous_secret = CASE WHEN CAST($3 AS TIMESTAMPTZ) IS NULL THEN NULL ELSE secret END, \
         previous_secret_until = $3, secret = $2, updated_at = $4 WHERE id = $1")
        .bind(id).bind(secret).bind(overlap_until).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// What delivery needs of an endpoint: where, and the secrets in force (encrypted).
#[derive(Debug, sqlx::FromRow)]
pub struct Sending {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub url: String,
    pub active: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
}

pub async fn sending(db: &Db, id: i64) -> sqlx::Result<Option<Sending>> {
    crate::on_read!(db, pool => sqlx::query_as(
        "SELECT e.id, e.organization_id, o.path AS organization_path, e.url, e.active, e.secret, \
         e.previous_secret, e.previous_secret_until, e.failing_since \
         FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id \
         WHERE e.id = $1")
        .bind(id).fetch_optional(pool).await)
}

/// An active endpoint whose subtree covers an event: its id and patterns.
#[derive(Debug, sqlx::FromRow)]
pub struct Listener {
    pub id: i64,
    pub events: String,
}

/// The active endpoints of the organizations on `path` (the event's organization and its
/// ancestors), as `tx` sees them.
pub async fn listeners(tx: &mut Tx, path: &str) -> sqlx::Result<Vec<Listener>> {
    on_tx!(tx, conn => sqlx::query_as(
        "SELECT e.id, e.events FROM webhook_endpoints e \
         JOIN organizations o ON o.id = e.organization_id \
         WHERE e.active AND $1 LIKE o.path || '%' ORDER BY e.id")
        .bind(path).fetch_all(conn).await)
}

/// An endpoint with deliveries waiting that no queued or running job is sending.
#[derive(Debug, sqlx::FromRow)]
pub struct Idle {
    pub id: i64,
    pub organization_id: i64,
    pub job_id: Option<i64>,
}

pub async fn idle_with_work(db: &Db, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<Idle>> {
    crate::on_read!(db, pool => sqlx::query_as(
        "SELECT e.id, e.organization_id, e.job_id FROM webhook_endpoints e \
         WHERE e.active AND (e.retry_at IS NULL OR e.retry_at <= $1) \
         AND EXISTS (SELECT 1 FROM webhook_deliveries d \
                     WHERE d.endpoint_id = e.id AND d.state = 'pending') \
         AND (e.job_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs j \
              WHERE j.id = e.job_id AND j.state IN ('queued', 'running'))) \
         ORDER BY e.id LIMIT $2")
        .bind(now).bind(limit).fetch_all(pool).await)
}

/// Makes `job` the endpoint's delivery job if its job is still `previous`; false when another
/// instance got there first.
pub async fn claim_job(
    tx: &mut Tx,
    id: i64,
    previous: Option<i64>,
    job: i64,
) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET job_id = $3 WHERE id = $1 \
         AND ((job_id IS NULL AND CAST($2 AS BIGINT) IS NULL) OR job_id = $2)")
        .bind(id).bind(previous).bind(job).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// The endpoint's failure bookkeeping after a delivery run: `failing_since` (kept from the
/// first failure, cleared by a success) and when its oldest waiting delivery is due.
pub async fn set_failing(
    tx: &mut Tx,
    id: i64,
    failing_since: Option<DateTime<Utc>>,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = $2, retry_at = $3 WHERE id = $1")
        .bind(id).bind(failing_since).bind(retry_at).execute(conn).await.map(|_| ()))
}

/// Turns the endpoint off with `reason`; false when it was off already (or is gone).
pub async fn disable(tx: &mut Tx, id: i64, reason: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET active = FALSE, disabled_reason = $2, retry_at = NULL, \
         updated_at = $3 WHERE id = $1 AND active")
        .bind(id).bind(reason).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
