//! The numbers import as a queued job (`system::jobs::queue`, kind [`KIND`]): the request
//! queues the file with who sent it, any instance's worker imports it (its progress readable at
//! `/v1/jobs/{id}`), and the request waits for the job and answers as a synchronous import
//! would, with the job's id added.

use super::{ImportSummary, import_reporting};
use crate::auth::{Caller, KeyGrant, Permission, Role, TokenKind};
use crate::error::{Error, Result};
use crate::orgs::OrgType;
use crate::state::AppState;
use crate::system::jobs::queue::{self, failure};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;

/// The queue's kind of a numbers import.
pub const KIND: &str = "numbers.import";
/// Attempts of one import: it is one transaction, so an attempt cut short by a crash or a
/// database failure left nothing behind and may run again.
const MAX_ATTEMPTS: i64 = 3;

/// What a queued import carries: the file and the caller it runs as.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    csv: String,
    caller: Principal,
}

/// The parts of a [`Caller`] an import reads (permissions, scope, the audit's actor).
#[derive(Debug, Serialize, Deserialize)]
struct Principal {
    user_id: i64,
    username: String,
    role: Role,
    organization_id: i64,
    organization_path: String,
    organization_type: OrgType,
    session_id: String,
    token_kind: String,
    request_id: Option<String>,
    client_ip: Option<IpAddr>,
    /// The API key the import was sent with: its limits hold in the job too.
    #[serde(default)]
    api_key: Option<KeyGrant>,
}

impl From<&Caller> for Principal {
    fn from(caller: &Caller) -> Self {
        Self {
            user_id: caller.user_id,
            username: caller.username.clone(),
            role: caller.role,
            organization_id: caller.organization_id,
            organization_path: caller.organization_path.clone(),
            organization_type: caller.organization_type,
            session_id: caller.session_id.clone(),
            token_kind: caller.token_kind.as_str().to_string(),
            request_id: caller.request_id.clone(),
            client_ip: caller.client_ip,
            api_key: caller.api_key.clone(),
        }
    }
}

impl Principal {
    fn into_caller(self) -> Result<Caller> {
        let token_kind = TokenKind::parse(&self.token_kind)
            .ok_or_else(|| Error::Internal(format!("token kind {:?}", self.token_kind)))?;
        Ok(Caller {
            user_id: self.user_id,
            username: self.username,
            role: self.role,
            organization_id: self.organization_id,
            organization_path: self.organization_path,
            organization_type: self.organization_type,
            session_id: self.session_id,
            token_kind,
            request_id: self.request_id,
            client_ip: self.client_ip,
            api_key: self.api_key,
        })
    }
}

/// Makes the queue's workers run numbers imports.
pub fn register(state: &AppState) {
    let state = state.clone();
    state
        .jobs
        .clone()
        .handle(KIND, move |context| Box::pin(run(state.clone(), context)));
}

async fn run(state: AppState, context: queue::Context) -> Result<Value> {
    let payload: Payload = serde_json::from_value(context.payload.clone())
        .map_err(|e| Error::Internal(format!("import job {}: payload: {e}", context.id)))?;
    let caller = payload.caller.into_caller()?;
    let summary = import_reporting(&state.db, &caller, &payload.csv, Some(&context)).await?;
    serde_json::to_value(summary).map_err(|e| Error::Internal(e.to_string()))
}

/// Queues the import of `text` for `caller`, waits for it and answers with its summary or
/// the error it ended with. A caller without the permission is refused before anything is
/// queued.
pub async fn import_queued(state: &AppState, caller: &Caller, text: &str) -> Result<ImportSummary> {
    caller.require(Permission::OrganizationsWrite)?;
    let payload = serde_json::to_value(Payload {
        csv: text.to_string(),
        caller: Principal::from(caller),
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    let mut tx = state.db.begin().await?;
    let id = queue::enqueue(
        &mut tx,
        &queue::NewJob {
            kind: KIND,
            organization_id: caller.organization_id,
            payload: &payload,
            max_attempts: MAX_ATTEMPTS,
            created_by: &caller.username,
        },
    )
    .await?;
    tx.commit().await?;
    state.jobs.wake();
    let row = state
        .jobs
        .wait(&state.db, id)
        .await?
        .ok_or_else(|| Error::Internal(format!("import job {id} vanished")))?;
    let result: Option<Value> = row
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    if row.state != "done" {
        return Err(failure::from_json(result.as_ref(), row.error.as_deref()));
    }
    let mut summary: ImportSummary = result
        .and_then(|r| serde_json::from_value(r).ok())
        .ok_or_else(|| Error::Internal(format!("import job {id}: no summary")))?;
    summary.job_id = Some(id);
    Ok(summary)
}
