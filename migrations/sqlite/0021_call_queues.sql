-- PBX call queues as the PBX reports them (POST /v1/queues/{name}/stats): one row per queue and
-- organization with the latest figures, and the time series of every report. Samples are kept
-- per the `queue_stats` retention kind (the retention purge deletes older ones).
CREATE TABLE call_queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    waiting INTEGER NOT NULL,
    longest_wait_s INTEGER NOT NULL,
    agents_logged_in INTEGER NOT NULL,
    agents_available INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    abandoned INTEGER NOT NULL,
    reported_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT uq_call_queues__name UNIQUE (organization_id, name)
);

CREATE TABLE call_queue_samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id INTEGER NOT NULL REFERENCES call_queues(id) ON DELETE CASCADE,
    waiting INTEGER NOT NULL,
    longest_wait_s INTEGER NOT NULL,
    agents_logged_in INTEGER NOT NULL,
    agents_available INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    abandoned INTEGER NOT NULL,
    reported_at TEXT NOT NULL
);
CREATE INDEX ix_call_queue_samples__queue_time ON call_queue_samples (queue_id, reported_at);
CREATE INDEX ix_call_queue_samples__time ON call_queue_samples (reported_at);
