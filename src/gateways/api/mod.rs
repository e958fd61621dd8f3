//! `/v1/siptrunks` routes: trunks, their gateways and allowed source IPs (the platform API's
//! "Telephony" section). The service publishes every change for the pinger, the dial plan
//! and the redirect listener.

mod gateways;
mod ips;
mod schemas;
mod trunks;

use crate::error::Result;
use crate::http::path;
use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trunks::list_siptrunks, trunks::create_siptrunk))
        .routes(routes!(
            trunks::get_siptrunk,
            trunks::update_siptrunk,
            trunks::delete_siptrunk
        ))
        .routes(routes!(gateways::add_gateway))
        .routes(routes!(
            gateways::get_gateway,
            gateways::update_gateway,
            gateways::delete_gateway
        ))
        .routes(routes!(ips::list_trunk_ips, ips::add_trunk_ip))
        .routes(routes!(ips::delete_trunk_ip))
}

fn trunk_id(text: &str) -> Result<i64> {
    path::id(text, "SIP trunk")
}

fn gateway_id(text: &str) -> Result<i64> {
    path::id(text, "gateway")
}
