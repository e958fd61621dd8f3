-- API keys: long-lived credentials of an organization for automation (CDR uploads, directory
-- fetches, provisioning scripts). A key carries either a role or a list of permissions; its
-- secret is stored only as a SHA-256 hash, in `api_key_secrets` so that a rotation can keep the
-- replaced secret working for an overlap (`expires_at`). Lists, CIDRs and permissions are
-- comma-separated canonical text; timestamps are TIMESTAMPTZ.
-- Revoking a key deletes it (and its secrets); the key goes with its organization.
CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT CHECK (role IN ('admin', 'user', 'readonly')),
    permissions TEXT,
    expires_at TIMESTAMPTZ,
    source_cidrs TEXT NOT NULL DEFAULT '',
    prefix TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ,
    previous_expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    last_used_ip TEXT,
    CONSTRAINT ck_api_keys__grant CHECK ((role IS NULL) <> (permissions IS NULL))
);
CREATE INDEX ix_api_keys_org ON api_keys (organization_id);

CREATE TABLE api_key_secrets (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_key_id BIGINT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ
);
CREATE INDEX ix_api_key_secrets_key ON api_key_secrets (api_key_id);
