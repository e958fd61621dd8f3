-- Foundation: organizations, users, tokens, audit. Timestamps are ISO-8601 UTC text.
CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES organizations(id),
    path TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('platform', 'distributor', 'partner', 'tenant')),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    timezone TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_organizations__name UNIQUE (parent_id, name)
);
CREATE UNIQUE INDEX uq_organizations__platform ON organizations (type) WHERE type = 'platform';
CREATE INDEX ix_organizations_path ON organizations (path);
CREATE INDEX ix_organizations_parent ON organizations (parent_id);

CREATE TABLE organization_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    domain TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_organization_domains_org ON organization_domains (organization_id);

CREATE TABLE organization_ips (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    cidr TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_organization_ips__cidr UNIQUE (organization_id, cidr)
);

CREATE TABLE organization_client_access (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    api_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    restrict_to_orgips BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user', 'readonly')),
    email TEXT,
    totp_secret TEXT,
    totp_pending_secret TEXT,
    totp_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_users_org ON users (organization_id);

CREATE TABLE user_foreign_ids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    foreign_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT uq_user_foreign_ids__foreign_id UNIQUE (source, foreign_id),
    CONSTRAINT uq_user_foreign_ids__source UNIQUE (user_id, source)
);

CREATE TABLE auth_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh', 'temp')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX ix_auth_tokens_session ON auth_tokens (session_id);
CREATE INDEX ix_auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL,
    organization_path TEXT NOT NULL,
    actor_user_id INTEGER,
    actor_username TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    request_id TEXT,
    client_ip TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_audit_log_path ON audit_log (organization_path);
CREATE INDEX ix_audit_log_entity ON audit_log (entity_type, entity_id);
