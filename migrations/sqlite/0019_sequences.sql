-- Sequences: named counters per organization (invoice, ticket …) that hand out gapless, unique
-- numbers. `next_value` is the number the next call takes; taking one is a single UPDATE …
-- RETURNING, so concurrent callers on any instance queue on the row and none share or skip a
-- number (a transaction that rolls back gives its number back).
CREATE TABLE sequences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL DEFAULT '',
    padding INTEGER NOT NULL DEFAULT 0,
    next_value INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_sequences__name UNIQUE (organization_id, name)
);
