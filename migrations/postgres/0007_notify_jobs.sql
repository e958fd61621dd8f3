-- Bulk NOTIFY jobs (resync or reboot of many devices) and their per-device results, kept in the
-- database so any instance can report a job's progress. A job belongs to the organization whose
-- devices it targets and goes with it. Result rows name the device without a foreign key: a
-- device deleted during or after a job leaves its result readable. `heartbeat_at` is refreshed
-- by the instance running the job; a running job whose heartbeat went stale is reported (and
-- stored) as interrupted.
CREATE TABLE notify_jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    action TEXT NOT NULL CHECK (action IN ('resync', 'reboot')),
    filter_json TEXT NOT NULL,
    spread_s BIGINT NOT NULL,
    concurrency BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'interrupted')),
    total BIGINT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0,
    ok BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    timed_out BIGINT NOT NULL DEFAULT 0,
    unreachable BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX ix_notify_jobs_org ON notify_jobs (organization_id);

CREATE TABLE notify_job_results (
    job_id BIGINT NOT NULL REFERENCES notify_jobs(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL,
    mac TEXT NOT NULL,
    target TEXT,
    outcome TEXT CHECK (outcome IN ('ok', 'rejected', 'timeout', 'unreachable')),
    code BIGINT,
    reason TEXT,
    finished_at TIMESTAMPTZ,
    CONSTRAINT uq_notify_job_results__device_id PRIMARY KEY (job_id, device_id)
);
