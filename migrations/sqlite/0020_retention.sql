-- Retention and legal holds. `retention_policies` holds an organization's overrides of the
-- platform's default retention per data kind (events, audit, jobs, deliveries, cdrs, sms,
-- voicemail, files): `days` (NULL: inherited) and `minimum_days`, the legal minimum its subtree
-- may not go below (NULL: none set here). A legal hold keeps an organization's subtree's data of
-- some kinds (optionally only within [from_time, until_time)) from the purge and from deletion
-- until it is released; a released hold stays as the record of what was held.
CREATE TABLE retention_policies (
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    days INTEGER,
    minimum_days INTEGER,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, kind)
);

CREATE TABLE legal_holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- Comma-separated kinds.
    kinds TEXT NOT NULL,
    from_time TEXT,
    until_time TEXT,
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    released_by TEXT,
    released_at TEXT
);
CREATE INDEX ix_legal_holds_org ON legal_holds (organization_id);

-- The purge looks for old rows by time.
CREATE INDEX ix_audit_log_created ON audit_log (created_at);
CREATE INDEX ix_jobs_finished ON jobs (finished_at);
