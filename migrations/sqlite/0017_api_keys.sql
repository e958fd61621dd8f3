-- API keys: long-lived credentials of an organization for automation (CDR uploads, directory
-- fetches, provisioning scripts). A key carries either a role or a list of permissions; its
-- secret is stored only as a SHA-256 hash, in `api_key_secrets` so that a rotation can keep the
-- replaced secret working for an overlap (`expires_at`). Lists, CIDRs and permissions are
-- comma-separated canonical text. Revoking a key deletes it (and its secrets); a key goes with
-- its organization.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT CHECK (role IN ('admin', 'user', 'readonly')),
    permissions TEXT,
    expires_at TEXT,
    source_cidrs TEXT NOT NULL DEFAULT '',
    prefix TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rotated_at TEXT,
    previous_expires_at TEXT,
    last_used_at TEXT,
    last_used_ip TEXT,
    CONSTRAINT ck_api_keys__grant CHECK ((role IS NULL) <> (permissions IS NULL))
);
CREATE INDEX ix_api_keys_org ON api_keys (organization_id);

CREATE TABLE api_key_secrets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    api_key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT
);
CREATE INDEX ix_api_key_secrets_key ON api_key_secrets (api_key_id);
