-- Sequences: named counters per organization (invoice, ticket …) that hand out gapless, unique
-- numbers. `next_value` is the number the next call takes; taking one is a single UPDATE …
-- RETURNING, so concurrent callers on any instance queue on the row and none share or skip a
-- number (a transaction that rolls back gives its number back).
CREATE TABLE sequences (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL DEFAULT '',
    padding INTEGER NOT NULL DEFAULT 0,
    next_value BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_sequences__name UNIQUE (organization_id, name)
);
