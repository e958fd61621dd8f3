//! A webhook endpoint and a delivery as the API shows them (never a secret), and the one answer
//! that carries the secret: a create or a rotation.

use super::pattern::EventPattern;
use super::target::WebhookUrl;
use crate::types::Description;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// What operators write about an endpoint.
pub type EndpointDescription = Description<500>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Endpoint {
    pub id: i64,
    /// The endpoint receives the events of this organization and its descendants.
    pub organization_id: i64,
    pub url: WebhookUrl,
    /// The events it receives: names, families (`number.*`) or `*`.
    pub events: Vec<EventPattern>,
    pub description: EndpointDescription,
    /// Off: no new deliveries are made for it, and waiting ones wait (they go out, in order,
    /// once it is on again).
    pub active: bool,
    /// Why the daemon turned it off (its deliveries failed for the whole retry schedule).
    pub disabled_reason: Option<String>,
    /// Since when its oldest waiting delivery has been failing.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation still signs, beside the new one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub organization_path: String,
}

impl crate::system::audit::Audited for Endpoint {
    const ENTITY_TYPE: &'static str = "webhook";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

/// An endpoint with its secret: the only answers the secret is ever in.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedEndpoint {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The signing secret (`whsec_…`): verify `webhook-signature` with it as the Standard
    /// Webhooks spec says. Shown only now; store it safely.
    pub secret: String,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not sent yet, or waiting for a retry.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every retry failed (or the endpoint was deleted meanwhile).
    Failed,
}

impl DeliveryState {
    pub const NAMES: [&'static str; 3] = ["pending", "delivered", "failed"];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One message to one endpoint and how its last attempt went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    /// The `webhook-id` header: the same for a redelivery of the same message, so receivers
    /// can drop duplicates.
    pub message_id: String,
    /// The event-log event it carries (`null` for a test message).
    pub event_id: Option<i64>,
    /// The event's name (`gateway.down`, `webhook.test`).
    pub event: String,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: i64,
    /// When the next attempt is due (while `pending`).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer; `null` when none came (timeout, refused).
    pub response_status: Option<i64>,
    /// The first bytes (at most 1 KiB) of the last answer's body.
    pub response_excerpt: Option<String>,
    /// How long the last attempt took, in milliseconds.
    pub latency_ms: Option<i64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The body sent (JSON).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}
