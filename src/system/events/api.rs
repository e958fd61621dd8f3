//! `GET /v1/eventlog/{orgId}` and `GET /v1/eventlog/{orgId}/{id}`: events of an organization in
//! the caller's scope and of its descendants.

use super::{EventFilter, EventRecord, Severity};
use crate::auth::{Caller, Permission};
use crate::error::{Error, Result};
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::pagination::{PageParams, Params};
use crate::state::AppState;
use crate::types::text::quote_prefix;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(get_event))
}

/// Events of the organization and its descendants, newest first.
#[utoipa::path(get, path = "/v1/eventlog/{orgId}", tag = "events",
    params(("orgId" = i64, Path, description = "Organization id (must be in the caller's scope)"),
        PageParams,
        ("entity_type" = Option<String>, Query, description = "gateway, device, …"),
        ("entity_id" = Option<String>, Query, description = "Only this object"),
        ("event" = Option<String>, Query, description = "Short event name, e.g. gateway.down"),
        ("severity" = Option<Severity>, Query, description = "info, warning or error"),
        ("since" = Option<DateTime<Utc>>, Query,
            description = "RFC 3339 time; events at or after it (encode `+` as %2B or use Z)"),
        ("until" = Option<DateTime<Utc>>, Query,
            description = "RFC 3339 time, not before `since`; events before it (encode `+` as %2B or use Z)")),
    responses((status = 200, body = Vec<EventRecord>),
        (status = 400, description = "A parameter is invalid; the message names it"),
        (status = 404, description = "Organization not in scope")),
    security(("bearer" = [])))]
async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<String>,
    params: Params,
) -> Result<ListEnvelope<EventRecord>> {
    caller.require(Permission::AuditRead)?;
    let org_id = crate::http::path::id(&org_id, "organization")?;
    let page = params.page()?;
    let filter = filter(&params)?;
    let org = crate::orgs::visible(&state.db, &caller, org_id).await?;
    let scope = crate::auth::Scope::new(&org.path).like();
    let (rows, total) = super::list(&state.db, &scope, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// One event of the organization or of one of its descendants.
#[utoipa::path(get, path = "/v1/eventlog/{orgId}/{id}", tag = "events",
    params(("orgId" = i64, Path, description = "Organization id (must be in the caller's scope)"),
        ("id" = i64, Path, description = "Event id")),
    responses((status = 200, body = EventRecord),
        (status = 404, description = "Not under that organization, or not in scope")),
    security(("bearer" = [])))]
async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id)): Path<(String, String)>,
) -> Result<Envelope<EventRecord>> {
    caller.require(Permission::AuditRead)?;
    let org_id = crate::http::path::id(&org_id, "organization")?;
    let id = crate::http::path::id(&id, "event")?;
    let org = crate::orgs::visible(&state.db, &caller, org_id).await?;
    let scope = crate::auth::Scope::new(&org.path).like();
    super::get(&state.db, &scope, id)
        .await?
        .map(Envelope::ok)
        .ok_or_else(|| Error::not_found("event"))
}

/// The list filters from the query string; every error names its parameter.
fn filter(params: &Params) -> Result<EventFilter> {
    let severity = params
        .one_of("severity", &Severity::NAMES)?
        .and_then(|s| Severity::parse(&s));
    let since = time(params, "since")?;
    let until = time(params, "until")?;
    if let (Some(since), Some(until)) = (since, until)
        && until < since
    {
        return Err(Error::field("until", "must not be before since"));
    }
    Ok(EventFilter {
        entity_type: params.str("entity_type").map(str::to_string),
        entity_id: params.str("entity_id").map(str::to_string),
        event: params.str("event").map(str::to_string),
        severity,
        since,
        until,
    })
}

/// An RFC 3339 time parameter. A space where the offset's `+` belongs is read as `+`, since an
/// unencoded `+` in a query string arrives as a space.
pub(crate) fn time(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>> {
    let Some(text) = params.str(name) else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(text)
        .or_else(|e| match text.rfind(' ') {
            Some(i) if i > 10 => {
                DateTime::parse_from_rfc3339(&format!("{}+{}", &text[..i], &text[i + 1..]))
            }
            _ => Err(e),
        })
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            Error::field(
                name,
                format!(
                    "must be an RFC 3339 time such as 2025-01-31T12:00:00Z, got {}",
                    quote_prefix(text)
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn times_parse_or_name_the_parameter() {
        let t = time(&params(&[("since", "2025-01-31T12:00:00Z")]), "since").unwrap();
        assert_eq!(t.unwrap().to_rfc3339(), "2025-01-31T12:00:00+00:00");
        let t = time(&params(&[("since", "2025-01-31T14:00:00+02:00")]), "since").unwrap();
        assert_eq!(t.unwrap().to_rfc3339(), "2025-01-31T12:00:00+00:00");
        let t = time(&params(&[("since", "2025-01-31T14:00:00 02:00")]), "since").unwrap();
        assert_eq!(
            t.unwrap().to_rfc3339(),
            "2025-01-31T12:00:00+00:00",
            "unencoded +"
        );
        assert_eq!(time(&params(&[]), "since").unwrap(), None);
        for bad in ["yesterday", "2025-01-31", "2025-13-01T00:00:00Z", "1 2"] {
            let err = time(&params(&[("until", bad)]), "until").unwrap_err();
            assert!(err.to_string().starts_with("until:"), "{bad}: {err}");
        }
    }

    /// The document says `format: date-time`: every time of RFC 3339's grammar (§5.6), any
    /// date, offset and fraction, is one the parameter takes.
    #[test]
    fn every_rfc_3339_date_time_is_taken() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261202);
        for _ in 0..2000 {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(rng.random_range(1..3_652_059))
                .unwrap();
            let fraction = match rng.random_range(0..7) {
                0 => String::new(),
                n => format!(".{:0n$}", rng.random_range(0..10u64.pow(n as u32))),
            };
            let offset = match rng.random_range(0..3) {
                0 => "Z".to_string(),
                _ => format!(
                    "{}{:02}:{:02}",
                    if rng.random_bool(0.5) { '+' } else { '-' },
                    rng.random_range(0..24),
                    rng.random_range(0..60)
                ),
            };
            let text = format!(
                "{}T{:02}:{:02}:{:02}{fraction}{offset}",
                date.format("%Y-%m-%d"),
                rng.random_range(0..24),
                rng.random_range(0..60),
                rng.random_range(0..60),
            );
            assert!(
                time(&params(&[("since", &text)]), "since").is_ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn filter_validates_severity_and_order() {
        let f = filter(&params(&[("severity", "error"), ("event", "gateway.down")])).unwrap();
        assert_eq!(f.severity, Some(Severity::Error));
        assert_eq!(f.event.as_deref(), Some("gateway.down"));
        let err = filter(&params(&[("severity", "fatal")])).unwrap_err();
        assert!(err.to_string().starts_with("severity:"), "{err}");
        let err = filter(&params(&[
            ("since", "2025-02-01T00:00:00Z"),
            ("until", "2025-01-01T00:00:00Z"),
        ]))
        .unwrap_err();
        assert!(err.to_string().starts_with("until:"), "{err}");
    }
}
