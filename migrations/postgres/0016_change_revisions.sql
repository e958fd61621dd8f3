-- One row per kind of change (device, trunk, policy …): every publish bumps its revision and
-- leaves the change's subject, so other instances sharing the database notice by polling this
-- small table and refresh their in-memory copies (system::changes).
CREATE TABLE change_revisions (
    kind TEXT PRIMARY KEY,
    revision BIGINT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
