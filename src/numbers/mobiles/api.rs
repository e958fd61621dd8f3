//! `/v1/mobiles` routes: SIM records (ICCID, IMSI, MSISDN number, state).

use super::model::{MOBILE_STATES, Mobile, MobileState};
use super::store::MobileFilter;
use super::{self as mobiles, MobileUpdate, NewMobile};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{JsonBody, JsonEdit, ReadOnlyFields};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use crate::types::iccid::{Iccid, Imsi};
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mobiles, create_mobile))
        .routes(routes!(get_mobile, update_mobile, delete_mobile))
}

fn mobile_id(text: &str) -> Result<i64> {
    path::id(text, "mobile")
}

/// SIM records of the caller's subtree.
#[utoipa::path(get, path = "/v1/mobiles", tag = "mobiles",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's SIMs"),
        ("state" = Option<MobileState>, Query, description = "active, suspended or inactive"),
        ("iccid" = Option<Iccid>, Query, description = "Exact ICCID"),
        ("msisdn_number_id" = Option<i64>, Query, description = "The SIM of this number")),
    responses((status = 200, body = Vec<Mobile>), (status = 400)), security(("bearer" = [])))]
async fn list_mobiles(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Mobile>> {
    let page = params.page()?;
    let iccid = params
        .str("iccid")
        .map(|i| Iccid::parse(i).map_err(|e| Error::field("iccid", e)))
        .transpose()?;
    let filter = MobileFilter {
        organization_id: params.i64("organization_id")?,
        state: params.one_of("state", &MOBILE_STATES)?,
        iccid,
        msisdn_number_id: params.i64("msisdn_number_id")?,
    };
    let (rows, total) = mobiles::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMobile {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// 19-20 digits starting 89, with a valid Luhn check digit (spaces allowed); unique.
    #[schema(value_type = Iccid)]
    iccid: String,
    /// 15 digits (MCC 2xx-7xx or the test network 001); unique.
    #[schema(value_type = Option<Imsi>)]
    imsi: Option<String>,
    /// Id of a number of the same organization, the SIM's MSISDN (one SIM per number).
    msisdn_number_id: Option<i64>,
    /// Default inactive.
    state: Option<MobileState>,
}

/// Register a SIM.
#[utoipa::path(post, path = "/v1/mobiles", tag = "mobiles", request_body = CreateMobile,
    responses((status = 201, body = Mobile), (status = 400, description = "Invalid field"),
              (status = 409, description = "iccid, imsi or msisdn_number_id: already exists; msisdn_number_id: a number of another organization")),
    security(("bearer" = [])))]
async fn create_mobile(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateMobile>,
) -> Result<Envelope<Mobile>> {
    let mobile = mobiles::create(
        &state.db,
        &caller,
        NewMobile {
            organization_id: body.organization_id,
            iccid: body.iccid,
            imsi: body.imsi,
            msisdn_number_id: body.msisdn_number_id,
            state: body.state,
        },
    )
    .await?;
    Ok(Envelope::created(mobile))
}

/// A SIM record.
#[utoipa::path(get, path = "/v1/mobiles/{id}", tag = "mobiles", params(("id" = i64, Path)),
    responses((status = 200, body = Mobile), (status = 404)), security(("bearer" = [])))]
async fn get_mobile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Mobile>> {
    let id = mobile_id(&id)?;
    Ok(Envelope::ok(
        mobiles::visible(&state.db, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMobile {
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
    #[schema(value_type = Option<Iccid>)]
    iccid: Option<String>,
    /// null removes it.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<Imsi>)]
    imsi: Option<Option<String>>,
    /// null unlinks the number.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    msisdn_number_id: Option<Option<i64>>,
    state: Option<MobileState>,
}

impl ReadOnlyFields for UpdateMobile {
    const READ_ONLY: &'static [&'static str] = &["id", "msisdn", "created_at", "updated_at"];
}

/// Change a SIM record (only the fields given).
#[utoipa::path(put, path = "/v1/mobiles/{id}", tag = "mobiles", params(("id" = i64, Path)),
    request_body = UpdateMobile,
    responses((status = 200, body = Mobile), (status = 400), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn update_mobile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateMobile>,
) -> Result<Envelope<Mobile>> {
    let id = mobile_id(&id)?;
    let mobile = mobiles::update(
        &state.db,
        &caller,
        id,
        MobileUpdate {
            organization_id: body.organization_id,
            iccid: body.iccid,
            imsi: body.imsi,
            msisdn_number_id: body.msisdn_number_id,
            state: body.state,
        },
    )
    .await?;
    Ok(Envelope::ok(mobile))
}

/// Delete a SIM record (its number stays).
#[utoipa::path(delete, path = "/v1/mobiles/{id}", tag = "mobiles", params(("id" = i64, Path)),
    responses((status = 200), (status = 404)), security(("bearer" = [])))]
async fn delete_mobile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = mobile_id(&id)?;
    mobiles::delete(&state.db, &caller, id).await?;
    Ok(done())
}
