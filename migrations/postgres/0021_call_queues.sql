-- PBX call queues as the PBX reports them (POST /v1/queues/{name}/stats): one row per queue and
-- organization with the latest figures, and the time series of every report. Samples are kept
-- per the `queue_stats` retention kind (the retention purge deletes older ones).
CREATE TABLE call_queues (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    waiting BIGINT NOT NULL,
    longest_wait_s BIGINT NOT NULL,
    agents_logged_in BIGINT NOT NULL,
    agents_available BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_call_queues__name UNIQUE (organization_id, name)
);

CREATE TABLE call_queue_samples (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_id BIGINT NOT NULL REFERENCES call_queues(id) ON DELETE CASCADE,
    waiting BIGINT NOT NULL,
    longest_wait_s BIGINT NOT NULL,
    agents_logged_in BIGINT NOT NULL,
    agents_available BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_call_queue_samples__queue_time ON call_queue_samples (queue_id, reported_at);
CREATE INDEX ix_call_queue_samples__time ON call_queue_samples (reported_at);
