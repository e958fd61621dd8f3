//! Creating a bulk NOTIFY job: the request checked, the devices selected and addressed, the job,
//! its pending results and its queued sender recorded in one transaction.

use super::super::store::{self as store, Counts, Finished, NewJob};
use super::super::target::{self, Action, Addressing, Outcome};
use super::super::{self as notify, NotifyResult};
use super::{BulkRequest, JobView, KIND, bounded, progress_of};
use crate::auth::{Caller, Permission};
use crate::devices::validate;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::audit::{self, Change};
use crate::system::events;
use crate::system::jobs::queue;
use crate::types::{Mac, Vendor};
use chrono::Utc;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Checks the request, records the job with a pending result per device (devices without an
/// address are settled at once as unreachable), an audit record and the queued job that sends
/// (`system::jobs::queue`, kind [`KIND`]), all in one transaction.
pub async fn start(state: &AppState, caller: &Caller, request: BulkRequest) -> Result<JobView> {
    caller.require(Permission::OrganizationsWrite)?;
    let config = &state.config.notify;
    let organization_id = request.organization_id.unwrap_or(caller.organization_id);
    let org =
        crate::orgs::visible_field(&state.db, caller, "organization_id", organization_id).await?;
    let spread_s = bounded(
        "spread_s",
        request.spread_s.unwrap_or(config.spread_s),
        0,
        config.max_spread_s,
        "max_spread_s",
    )?;
    let concurrency = bounded(
        "concurrency",
        request.concurrency.unwrap_or(config.concurrency as u64),
        1,
        config.max_concurrency as u64,
        "max_concurrency",
    )?;
    let model = request.model.as_deref().map(validate::model).transpose()?;
    let vendor = request.vendor.map(Vendor::as_str);
    let limit = config.max_job_devices as i64;
    let rows = store::targets(
        &state.db,
        &format!("{}%", org.path),
        vendor,
        model.as_deref(),
        limit + 1,
    )
    .await?;
    if rows.len() as i64 > limit {
        return Err(Error::bad_request(format!(
            "the filter matches more than {limit} devices (notify.max_job_devices): narrow it \
             by organization_id, vendor or model"
        )));
    }

    let action = request.action;
    let mut events_by_vendor: HashMap<Vendor, Arc<str>> = HashMap::new();
    let mut addressed = 0usize;
    let mut unaddressed = Vec::new();
    let mut pending: Vec<(i64, Mac, Option<String>)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let vendor = row.vendor;
        let event = events_by_vendor
            .entry(vendor)
            .or_insert_with(|| notify::event_for(state, vendor, action).into())
            .clone();
        let addressing = Addressing {
            contact: row.contact.as_deref(),
            last_provisioned_ip: row.last_provisioned_ip.as_deref(),
            first_line_user: row.first_user.as_deref(),
        };
        match target::target(addressing) {
            Ok(target) => {
                addressed += 1;
                pending.push((row.id, row.mac, Some(target.to_string())));
            }
            Err(why) => {
                pending.push((row.id, row.mac, None));
                unaddressed.push((row, event, why));
            }
        }
    }

    let filter = json!({
        "organization_id": organization_id,
        "vendor": vendor,
        "model": model,
    });
    let filter_json = filter.to_string();
    let now = Utc::now();
    let actor = caller.actor();
    let mut tx = state.db.begin().await?;
    let job_id = store::insert_job(
        &mut tx,
        &NewJob {
            organization_id,
            action: action.as_str(),
            filter_json: &filter_json,
            spread_s: spread_s as i64,
            concurrency: concurrency as i64,
            total: rows.len() as i64,
            created_by: &actor.username,
        },
        now,
    )
    .await?;
    let pending_rows: Vec<(i64, Mac, Option<&str>)> = pending
        .iter()
        .map(|(id, mac, target)| (*id, *mac, target.as_deref()))
        .collect();
    store::insert_pending(&mut tx, job_id, &pending_rows).await?;
    if !unaddressed.is_empty() {
        let finished: Vec<Finished> = unaddressed
            .iter()
            .map(|(row, _, why)| Finished {
                device_id: row.id,
                outcome: Outcome::Unreachable.as_str(),
                code: None,
                reason: why,
            })
            .collect();
        let counts = Counts {
            unreachable: unaddressed.len() as i64,
            ..Counts::default()
        };
        store::record_finished(&mut tx, job_id, &finished, counts, now).await?;
        let results: Vec<NotifyResult> = unaddressed
            .iter()
            .map(|(row, event, why)| NotifyResult {
                device_id: row.id,
                action,
                event: event.to_string(),
                target: None,
                proxy: None,
                outcome: Outcome::Unreachable,
                code: None,
                reason: why.clone(),
                elapsed_ms: None,
            })
            .collect();
        let new_events: Vec<_> = unaddressed
            .iter()
            .zip(&results)
            .map(|((row, _, _), result)| {
                notify::event(
                    row.organization_id,
                    &row.organization_path,
                    result,
                    Some(job_id),
                )
            })
            .collect();
        events::record_many_in(&mut tx, &new_events).await?;
    }
    audit::record(
        &mut tx,
        &actor,
        Change {
            organization_id,
            organization_path: &org.path,
            action: match action {
                Action::Resync => "notify.bulk_resync",
                Action::Reboot => "notify.bulk_reboot",
            },
            entity_type: "notify_job",
            entity_id: job_id.to_string(),
            before: None,
            after: Some(json!({
                "filter": filter,
                "spread_s": spread_s,
                "concurrency": concurrency,
                "total": rows.len(),
            })),
        },
    )
    .await?;
    queue::enqueue(
        &mut tx,
        &queue::NewJob {
            kind: KIND,
            organization_id,
            payload: &json!({ "notify_job_id": job_id }),
            // A second attempt would NOTIFY devices twice; unreached ones stay pending.
            max_attempts: 1,
            created_by: &actor.username,
        },
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("notify_jobs_total", "action" => action.as_str()).increment(1);
    if addressed == 0 {
        store::finish(&state.db, job_id, "done", Utc::now()).await?;
    }
    state.jobs.wake();
    progress_of(state, job_id).await
}
