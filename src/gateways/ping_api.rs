//! `GET /v1/sipgwping/{entity}`: the live health the pinger keeps, for one gateway, all gateways of
//! a trunk, or every gateway in the caller's scope.

use super::service::tenancy;
use super::views::{HealthView, health_view};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::ListEnvelope;
use crate::state::AppState;
use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sipgwping))
}

/// What `{entity}` names.
#[derive(Debug, PartialEq, Eq)]
enum Entity {
    All,
    Gateway(i64),
    Trunk(i64),
    /// A bare number: a gateway id if one is visible, else a trunk id.
    Either(i64),
}

fn parse_entity(text: &str) -> Option<Entity> {
    let id = |t: &str| t.parse::<i64>().ok().filter(|id| *id > 0);
    if text.eq_ignore_ascii_case("all") {
        return Some(Entity::All);
    }
    if let Some(rest) = text.strip_prefix("gateway:") {
        return id(rest).map(Entity::Gateway);
    }
    if let Some(rest) = text.strip_prefix("trunk:") {
        return id(rest).map(Entity::Trunk);
    }
    id(text).map(Entity::Either)
}

/// Live gateway health: `all` (the caller's scope), a gateway id, a trunk id (all its gateways),
/// or explicitly `gateway:<id>` / `trunk:<id>`. A bare id is tried as a gateway first.
#[utoipa::path(get, path = "/v1/sipgwping/{entity}", tag = "telephony",
    params(("entity" = String, Path, description = "all, <id>, gateway:<id> or trunk:<id>")),
    responses((status = 200, body = Vec<HealthView>), (status = 404, description = "Not in scope")),
    security(("bearer" = [])))]
async fn sipgwping(
    State(state): State<AppState>,
    caller: Caller,
    Path(entity): Path<String>,
) -> Result<ListEnvelope<HealthView>> {
    let entity = parse_entity(&entity).ok_or_else(|| Error::not_found("gateway or trunk"))?;
    let registry = &state.gateway_health;
    let gateway = |id: i64| {
        let state = state.clone();
        let caller = caller.clone();
        async move {
            let (gateway, _) = tenancy::visible_gateway(&state.db, &caller, id).await?;
            Ok::<_, Error>(vec![health_view(
                &state.gateway_health,
                gateway.id,
                &gateway.uri,
                true,
            )])
        }
    };
    let trunk = |id: i64| {
        let state = state.clone();
        let caller = caller.clone();
        async move {
            let trunk = tenancy::visible_trunk(&state.db, &caller, id).await?;
            Ok::<_, Error>(
                trunk
                    .gateways
                    .iter()
                    .map(|g| health_view(&state.gateway_health, g.id, &g.uri, false))
                    .collect(),
            )
        }
    };
    let views = match entity {
        Entity::All => tenancy::gateways_in_scope(&state.db, &caller)
            .await?
            .into_iter()
            .map(|(id, uri, _)| health_view(registry, id, &uri, false))
            .collect(),
        Entity::Gateway(id) => gateway(id).await?,
        Entity::Trunk(id) => trunk(id).await?,
        Entity::Either(id) => match gateway(id).await {
            Ok(views) => views,
            Err(Error::NotFound(_)) => trunk(id)
                .await
                .map_err(|_| Error::not_found("gateway or trunk"))?,
            Err(e) => return Err(e),
        },
    };
    Ok(ListEnvelope::all(views))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_forms() {
        assert_eq!(parse_entity("all"), Some(Entity::All));
        assert_eq!(parse_entity("ALL"), Some(Entity::All));
        assert_eq!(parse_entity("7"), Some(Entity::Either(7)));
        assert_eq!(parse_entity("gateway:7"), Some(Entity::Gateway(7)));
        assert_eq!(parse_entity("trunk:3"), Some(Entity::Trunk(3)));
        for bad in ["", "0", "-1", "x", "trunk:", "gateway:x", "trunk:-2"] {
            assert_eq!(parse_entity(bad), None, "{bad}");
        }
    }
}
