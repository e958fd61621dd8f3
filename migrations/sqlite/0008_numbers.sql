-- Numbers (E.164 inventory), their history, and mobile (SIM) records. Timestamps are ISO-8601
-- UTC text. A number belongs to exactly one organization (which then cannot be deleted while it
-- owns numbers or SIMs). Tags are stored as `,a,b,` (empty for none) so a tag filter is one
-- LIKE. A number's history goes with it; the audit log keeps the record of its deletion.
CREATE TABLE numbers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    number TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('available', 'reserved', 'active', 'suspended', 'porting', 'released')),
    assignment_type TEXT CHECK (assignment_type IN ('trunk', 'user', 'device_line', 'dialplan')),
    assignment_id INTEGER,
    assignment_line INTEGER,
    channel_limit INTEGER CHECK (channel_limit BETWEEN 0 AND 10000),
    tags TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_numbers__number UNIQUE (number)
);
CREATE INDEX ix_numbers_org ON numbers (organization_id);
CREATE INDEX ix_numbers_state ON numbers (state);

CREATE TABLE number_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number_id INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor_user_id INTEGER,
    actor_username TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_number_history_number ON number_history (number_id, id);

CREATE TABLE mobiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    iccid TEXT NOT NULL,
    imsi TEXT,
    msisdn_number_id INTEGER REFERENCES numbers(id),
    state TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'inactive')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_mobiles__iccid UNIQUE (iccid),
    CONSTRAINT uq_mobiles__imsi UNIQUE (imsi),
    CONSTRAINT uq_mobiles__msisdn_number_id UNIQUE (msisdn_number_id)
);
CREATE INDEX ix_mobiles_org ON mobiles (organization_id);
