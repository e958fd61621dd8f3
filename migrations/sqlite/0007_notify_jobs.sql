-- Bulk NOTIFY jobs (resync or reboot of many devices) and their per-device results, kept in the
-- database so any instance can report a job's progress. A job belongs to the organization whose
-- devices it targets and goes with it. Result rows name the device without a foreign key: a
-- device deleted during or after a job leaves its result readable. Timestamps are ISO-8601 UTC
-- text. `heartbeat_at` is refreshed by the instance running the job; a running job whose
-- heartbeat went stale is reported (and stored) as interrupted.
CREATE TABLE notify_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    action TEXT NOT NULL CHECK (action IN ('resync', 'reboot')),
    filter_json TEXT NOT NULL,
    spread_s INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'interrupted')),
    total INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    timed_out INTEGER NOT NULL DEFAULT 0,
    unreachable INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX ix_notify_jobs_org ON notify_jobs (organization_id);

CREATE TABLE notify_job_results (
    job_id INTEGER NOT NULL REFERENCES notify_jobs(id) ON DELETE CASCADE,
    device_id INTEGER NOT NULL,
    mac TEXT NOT NULL,
    target TEXT,
    outcome TEXT CHECK (outcome IN ('ok', 'rejected', 'timeout', 'unreachable')),
    code INTEGER,
    reason TEXT,
    finished_at TEXT,
    CONSTRAINT uq_notify_job_results__device_id PRIMARY KEY (job_id, device_id)
);
