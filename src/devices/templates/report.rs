//! How reloads are told to operators: success at INFO; a failure (the previous templates stay
//! in force) at WARN and as a `templates.reload_failed` event of the platform organization, so
//! it shows in the event log and not only in the journal.

use crate::db::Db;
use crate::system::events::{self, NewEvent, Severity};

/// Logs the outcome of a reload of `templates` (`trigger`: `poll` or `SIGHUP`) and files
/// failures.
pub async fn reload_outcome(
    db: &Db,
    templates: &super::Templates,
    trigger: &str,
    outcome: Result<(), String>,
) {
    let generation = templates.current().generation();
    match outcome {
        Ok(()) => tracing::info!(trigger, generation, "provisioning templates reloaded"),
        Err(error) => {
            tracing::warn!(
                trigger,
                error = %error,
                "provisioning templates not reloaded; the previous ones stay in force"
            );
            record_failure(db, trigger, &error).await;
        }
    }
}

async fn record_failure(db: &Db, trigger: &str, error: &str) {
    let platform = match crate::orgs::platform(db).await {
        Ok(Some(platform)) => platform,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot find the platform organization for a template event");
            return;
        }
    };
    let event = NewEvent {
        organization_id: platform.id,
        organization_path: &platform.path,
        source: "provisioning",
        severity: Severity::Warning,
        entity_type: "templates",
        entity_id: String::new(),
        event: "templates.reload_failed",
        message: format!(
            "Provisioning templates not reloaded ({trigger}); the previous ones stay: {error}"
        ),
        detail: Some(serde_json::json!({ "trigger": trigger, "error": error })),
    };
    if let Err(e) = events::record(db, event).await {
        tracing::warn!(error = %e, "cannot record the template reload failure");
    }
}
