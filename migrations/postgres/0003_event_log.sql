-- Event log: operational events that are not user edits (gateway down/up, provisioning fetches,
-- NOTIFY results, bulk jobs). Scoped by organization path like audit_log. Timestamps are
-- TIMESTAMPTZ.
CREATE TABLE event_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL,
    organization_path TEXT NOT NULL,
    source TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    event TEXT NOT NULL,
    message TEXT NOT NULL,
    detail_json TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_event_log_path ON event_log (organization_path);
CREATE INDEX ix_event_log_entity ON event_log (entity_type, entity_id);
CREATE INDEX ix_event_log_created ON event_log (created_at);
