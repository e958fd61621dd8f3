-- Devices (desk phones), their SIP lines, and per-organization provisioning settings.
-- Timestamps are ISO-8601 UTC text. Passwords are stored encrypted (`v1:` values, see
-- src/system/secrets.rs), never in clear. JSON objects are stored as text. An organization with
-- devices cannot be deleted (no cascade from it); a device's lines go with the device; a deleted
-- user leaves its devices unassigned.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    mac TEXT NOT NULL,
    vendor TEXT NOT NULL
        CHECK (vendor IN ('yealink', 'polycom', 'grandstream', 'cisco', 'snom', 'fanvil')),
    model TEXT NOT NULL,
    variables_json TEXT NOT NULL DEFAULT '{}',
    contact TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    provisioning_username TEXT NOT NULL,
    provisioning_password TEXT NOT NULL,
    previous_provisioning_password TEXT,
    previous_password_valid_until TEXT,
    last_provisioned_at TEXT,
    last_provisioned_ip TEXT,
    last_user_agent TEXT,
    firmware TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_devices__mac UNIQUE (mac)
);
CREATE INDEX ix_devices_org ON devices (organization_id);
CREATE INDEX ix_devices_user ON devices (user_id);

CREATE TABLE device_lines (
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 15),
    username TEXT NOT NULL,
    auth_user TEXT NOT NULL,
    password TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    registrar TEXT NOT NULL,
    proxy TEXT,
    transport TEXT NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls')),
    CONSTRAINT uq_device_lines__position PRIMARY KEY (device_id, position)
);

CREATE TABLE organization_provisioning (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    timezone TEXT,
    ntp_server TEXT,
    language TEXT,
    firmware_url TEXT,
    registrar TEXT,
    outbound_proxy TEXT,
    variables_json TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);
