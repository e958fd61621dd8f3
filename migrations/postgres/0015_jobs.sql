-- The job queue: long work a request starts (a bulk NOTIFY, a numbers import) is a row any
-- instance's worker may claim. A claim is a lease: `claimed_by` runs it until `claimed_until`,
-- extended while it runs; a running job whose claim lapsed (its instance crashed) is claimed
-- again. A failed attempt goes back to `queued` with `run_after` pushed out, until
-- `max_attempts`. The payload and the result are JSON text. A job belongs to an organization
-- (for scoping) and goes with it.
CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL CHECK (max_attempts >= 1),
    run_after TIMESTAMPTZ NOT NULL,
    claimed_by TEXT,
    claimed_until TIMESTAMPTZ,
    progress_done BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT,
    result TEXT,
    error TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);
CREATE INDEX ix_jobs_claim ON jobs (state, run_after);
CREATE INDEX ix_jobs_org ON jobs (organization_id);
