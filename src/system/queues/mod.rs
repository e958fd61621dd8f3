//! PBX call-queue monitoring: a PBX reports each queue's state (`POST /v1/queues/{name}/stats`),
//! the daemon keeps the latest figures and their time series per organization, shows them, and
//! exports the latest to `/metrics`. Reports are telemetry, not configuration: a queue's first
//! report (which creates it) and its deletion are audited, the reports themselves are not.

pub mod api;
pub mod model;
mod store;

pub use model::{Queue, QueueFigures, QueueName, QueueSample};

use crate::auth::{Caller, Permission};
use crate::db::{Db, Page};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use chrono::{DateTime, Utc};

fn gone() -> Error {
    Error::not_found("queue")
}

/// The organization a queue route means: `organization_id`, or the caller's.
async fn organization_of(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
) -> Result<crate::orgs::Organization> {
    let org_id = organization_id.unwrap_or(caller.organization_id);
    crate::orgs::visible_field(db, caller, "organization_id", org_id).await
}

/// Records a report of queue `name` of the organization (default the caller's); the queue is
/// created by its first report. Answers the queue with these figures as its latest.
pub async fn report(
    db: &Db,
    caller: &Caller,
    name: &QueueName,
    organization_id: Option<i64>,
    figures: QueueFigures,
) -> Result<Queue> {
    caller.require(Permission::QueuesWrite)?;
    figures.check()?;
    let org = organization_of(db, caller, organization_id).await?;
    let mut tx = db.begin().await?;
    let (id, created) = store::report(&mut tx, org.id, name.as_str(), &figures, Utc::now()).await?;
    let queue = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    if created {
        audit::record(
            &mut tx,
            &caller.actor(),
            Change::of(&queue, "create", None, Some(&queue)),
        )
        .await?;
    }
    tx.commit().await?;
    metrics::counter!("queue_reports_total").increment(1);
    Ok(queue)
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
    page: Page,
) -> Result<(Vec<Queue>, i64)> {
    caller.require(Permission::QueuesRead)?;
    Ok(store::list(db, &caller.scope().like(), organization_id, page).await?)
}

/// Queue `name` of the organization (default the caller's); 404 when it never reported.
pub async fn get(
    db: &Db,
    caller: &Caller,
    name: &str,
    organization_id: Option<i64>,
) -> Result<Queue> {
    caller.require(Permission::QueuesRead)?;
    let org = organization_of(db, caller, organization_id).await?;
    let name = QueueName::parse(name).map_err(|_| gone())?;
    store::find(db, org.id, name.as_str())
        .await?
        .ok_or_else(gone)
}

/// Queue `name`'s reports since `since`, newest first.
pub async fn samples(
    db: &Db,
    caller: &Caller,
    name: &str,
    organization_id: Option<i64>,
    since: Option<DateTime<Utc>>,
    page: Page,
) -> Result<(Vec<QueueSample>, i64)> {
    let queue = get(db, caller, name, organization_id).await?;
    Ok(store::samples(db, queue.id, since, page).await?)
}

/// Deletes queue `name` and its time series (a queue removed from the PBX).
pub async fn delete(
    db: &Db,
    caller: &Caller,
    name: &str,
    organization_id: Option<i64>,
) -> Result<()> {
    let queue = get(db, caller, name, organization_id).await?;
    caller.require(Permission::QueuesWrite)?;
    let mut tx = db.begin().await?;
    if !store::delete(&mut tx, queue.id).await? {
        return Err(gone());
    }
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&queue, "delete", Some(&queue), None),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The latest figures of every queue in Prometheus text format: one gauge per figure,
/// `dialtone_queue_<figure>{organization_id, queue}`, and the report's age in seconds. Read
/// from the database at scrape time, so every instance exports the same, newest report.
pub async fn exposition(db: &Db) -> Result<String> {
    use std::fmt::Write;
    let queues = store::all_latest(db).await?;
    let mut text = String::new();
    if queues.is_empty() {
        return Ok(text);
    }
    let now = Utc::now();
    let stems = queues[0].latest.named().map(|(name, _)| name);
    for (i, stem) in stems.iter().enumerate() {
        let _ = writeln!(
            text,
            "# HELP dialtone_queue_{stem} PBX call queue: {stem} (latest report)\n\
             # TYPE dialtone_queue_{stem} gauge"
        );
        for q in &queues {
            let value = q.latest.named()[i].1;
            let _ = writeln!(
                text,
                "dialtone_queue_{stem}{{organization_id=\"{}\",queue=\"{}\"}} {value}",
                q.organization_id,
                q.name.as_str()
            );
        }
    }
    let _ = writeln!(
        text,
        "# HELP dialtone_queue_report_age_seconds Seconds since the queue's latest report\n\
         # TYPE dialtone_queue_report_age_seconds gauge"
    );
    for q in &queues {
        let age = (now - q.reported_at).num_milliseconds() as f64 / 1000.0;
        let _ = writeln!(
            text,
            "dialtone_queue_report_age_seconds{{organization_id=\"{}\",queue=\"{}\"}} {age}",
            q.organization_id,
            q.name.as_str()
        );
    }
    Ok(text)
}
