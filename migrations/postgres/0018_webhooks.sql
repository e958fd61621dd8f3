-- Webhooks: endpoints an organization registers to receive the events of its subtree, and the
-- outbox of deliveries. A delivery is written in the same transaction as the event it carries
-- (so a committed event is never lost, even to a kill -9) and sent, in order per endpoint, by a
-- `webhooks.deliver` job of the job queue. `job_id` is the endpoint's one active delivery job;
-- `retry_at` holds back the next job while the endpoint's oldest delivery waits for a retry.
-- Secrets are encrypted at rest (system::secrets); the one replaced by a rotation keeps
-- signing, beside the new one, until `previous_secret_until`.
CREATE TABLE webhook_endpoints (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- The events it wants, comma-separated: names (`gateway.down`), families (`number.*`), `*`.
    events TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMPTZ,
    disabled_reason TEXT,
    failing_since TIMESTAMPTZ,
    retry_at TIMESTAMPTZ,
    job_id BIGINT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_webhook_endpoints_org ON webhook_endpoints (organization_id);


CREATE TABLE webhook_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id BIGINT,
    message_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_attempt_at TIMESTAMPTZ,
    response_status INTEGER,
    response_excerpt TEXT,
    latency_ms BIGINT,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, state, id);
CREATE INDEX ix_webhook_deliveries_pending ON webhook_deliveries (state, endpoint_id)
    WHERE state = 'pending';
CREATE INDEX ix_webhook_deliveries_created ON webhook_deliveries (created_at);
