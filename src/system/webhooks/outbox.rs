//! The outbox: deliveries written in the transaction of the event they carry, read in order by
//! the delivery job, and their log.

use super::model::{Delivery, DeliveryState};
use crate::db::{Db, Page, Tx};
use crate::{on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const ROW: &str = "webhook delivery";

/// One delivery to write.
pub struct NewDelivery<'a> {
    pub endpoint_id: i64,
    pub event_id: Option<i64>,
    pub message_id: &'a str,
    pub event: &'a str,
    pub payload: &'a str,
}

/// Rows per multi-row INSERT: 7 parameters each plus the shared timestamp.
const INSERT_CHUNK: usize = 500;

/// Writes `deliveries` inside `tx`, all created (and due) `now`.
pub async fn insert(
    tx: &mut Tx,
    deliveries: &[NewDelivery<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let size = |d: &NewDelivery<'_>| 48 + d.message_id.len() + d.event.len() + d.payload.len();
    for chunk in crate::db::chunks(deliveries, INSERT_CHUNK, size) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 5 * i + 2;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, 'pending', 0, $1, $1)",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, message_id, event, payload, \
             state, attempts, next_attempt_at, created_at) VALUES {}",
            values.join(", ")
        );
        on_tx!(tx, conn => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
            for d in chunk {
                query = query.bind(d.endpoint_id).bind(d.event_id).bind(d.message_id)
                    .bind(d.event).bind(d.payload);
            }
            query.execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Writes one delivery and returns its id.
pub async fn insert_one(tx: &mut Tx, d: &NewDelivery<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let (id,): (i64,) = on_tx!(tx, conn => sqlx::query_as(
        "INSERT INTO webhook_deliveries (endpoint_id, event_id, message_id, event, payload, \
         state, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) RETURNING id")
        .bind(d.endpoint_id).bind(d.event_id).bind(d.message_id).bind(d.event).bind(d.payload)
        .bind(now).fetch_one(conn).await)?;
    Ok(id)
}

const COLUMNS: &str = "id, endpoint_id, message_id, event_id, event, state, attempts, \
    next_attempt_at, last_attempt_at, response_status, response_excerpt, latency_ms, error, \
    created_at, delivered_at, payload";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    endpoint_id: i64,
    message_id: String,
    event_id: Option<i64>,
    event: String,
    state: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    response_status: Option<i32>,
    response_excerpt: Option<String>,
    latency_ms: Option<i64>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    payload: String,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = sqlx::Error;

    fn try_from(row: DeliveryRow) -> sqlx::Result<Self> {
        let state = crate::types::column::parse_stored(ROW, row.id, "state", &row.state, |s| {
            DeliveryState::parse(s).ok_or("unknown state")
        })?;
        let payload =
            crate::types::column::parse_stored(ROW, row.id, "payload", &row.payload, |p| {
                serde_json::from_str(p)
            })?;
        Ok(Self {
            id: row.id,
            endpoint_id: row.endpoint_id,
            message_id: row.message_id,
            event_id: row.event_id,
            event: row.event,
            next_attempt_at: (state == DeliveryState::Pending).then_some(row.next_attempt_at),
            state,
            attempts: row.attempts.into(),
            last_attempt_at: row.last_attempt_at,
            response_status: row.response_status.map(i64::from),
            response_excerpt: row.response_excerpt,
            latency_ms: row.latency_ms,
            error: row.error,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
            payload,
        })
    }
}

/// A page of an endpoint's deliveries, newest first, optionally in one state.
pub async fn list(
    db: &Db,
    endpoint_id: i64,
    state: Option<DeliveryState>,
    page: Page,
) -> sqlx::Result<(Vec<Delivery>, i64)> {
    const WHERE: &str = " WHERE endpoint_id = $1 AND (CAST($2 AS TEXT) IS NULL OR state = $2)";
    let list_sql = format!(
        "SELECT {COLUMNS} FROM webhook_deliveries{WHERE} ORDER BY id DESC LIMIT $3 OFFSET $4"
    );
    let count_sql = format!("SELECT COUNT(*) FROM webhook_deliveries{WHERE}");
    let state = state.map(DeliveryState::as_str);
    let (rows, total): (Vec<DeliveryRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(endpoint_id).bind(state).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(endpoint_id).bind(state).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let list = rows
        .into_iter()
        .map(Delivery::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((list, total))
}

/// Delivery `id` of endpoint `endpoint_id`.
pub async fn get(db: &Db, endpoint_id: i64, id: i64) -> sqlx::Result<Option<Delivery>> {
    let sql =
        format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2");
    let row: Option<DeliveryRow> = crate::on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(id).bind(endpoint_id)
            .fetch_optional(pool).await)?;
    row.map(Delivery::try_from).transpose()
}

pub async fn get_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Delivery> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1");
    let row: DeliveryRow = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(conn).await)?;
    Delivery::try_from(row)
}

/// A waiting delivery as the sender needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Waiting {
    pub id: i64,
    pub message_id: String,
    pub payload: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
}

/// The endpoint's oldest waiting deliveries, in order (the first may not be due yet).
pub async fn waiting(db: &Db, endpoint_id: i64, limit: i64) -> sqlx::Result<Vec<Waiting>> {
    crate::on_read!(db, pool => sqlx::query_as(
        "SELECT id, message_id, payload, attempts, next_attempt_at FROM webhook_deliveries \
         WHERE endpoint_id = $1 AND state = 'pending' ORDER BY id LIMIT $2")
        .bind(endpoint_id).bind(limit).fetch_all(pool).await)
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub excerpt: Option<String>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// Where the delivery goes next: delivered, retried at, or failed.
    pub outcome: AttemptEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// Stores the attempts of one run (one statement each, in the caller's transaction).
pub async fn record(tx: &mut Tx, attempts: &[Attempt]) -> sqlx::Result<()> {
    for a in attempts {
        let (state, next, delivered_at) = match a.outcome {
            AttemptEnd::Delivered => ("delivered", None, Some(a.at)),
            AttemptEnd::RetryAt(at) => ("pending", Some(at), None),
            AttemptEnd::Failed => ("failed", None, None),
        };
        let status = a.status.map(i32::from);
        on_tx!(tx, conn => sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, \
             next_attempt_at = COALESCE($3, next_attempt_at), last_attempt_at = $4, \
             response_status = $5, response_excerpt = $6, latency_ms = $7, error = $8, \
             delivered_at = $9 WHERE id = $1 AND state = 'pending'")
            .bind(a.id).bind(state).bind(next).bind(a.at).bind(status).bind(&a.excerpt)
            .bind(a.latency_ms).bind(&a.error).bind(delivered_at)
            .execute(&mut *conn).await.map(|_| ()))?;
    }
    Ok(())
}
