-- The pinger's verdict per gateway, written by the instance that holds the pinger lease on each
-- state change, read by the other instances so their route evaluation skips the same gateways.
CREATE TABLE gateway_health (
    gateway_id INTEGER PRIMARY KEY REFERENCES sip_gateways(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('unknown', 'up', 'down')),
    since TEXT NOT NULL,
    reason TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
