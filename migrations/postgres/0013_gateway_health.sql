-- The pinger's verdict per gateway, written by the instance that holds the pinger lease on each
-- state change, read by the other instances so their route evaluation skips the same gateways.
CREATE TABLE gateway_health (
    gateway_id BIGINT PRIMARY KEY REFERENCES sip_gateways(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('unknown', 'up', 'down')),
    since TIMESTAMPTZ NOT NULL,
    reason TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
