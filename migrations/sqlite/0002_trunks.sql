-- SIP trunks, their gateways (pinged with OPTIONS) and allowed source IPs. Timestamps are
-- ISO-8601 UTC text. An organization with trunks cannot be deleted (no cascade from it); a
-- trunk's gateways and IPs go with the trunk.
CREATE TABLE sip_trunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'both')),
    max_channels INTEGER NOT NULL CHECK (max_channels BETWEEN 1 AND 100000),
    alive_codes TEXT NOT NULL,
    failures_to_down INTEGER NOT NULL CHECK (failures_to_down BETWEEN 1 AND 100),
    successes_to_up INTEGER NOT NULL CHECK (successes_to_up BETWEEN 1 AND 100),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_sip_trunks__name UNIQUE (organization_id, name)
);
CREATE INDEX ix_sip_trunks_org ON sip_trunks (organization_id);

CREATE TABLE sip_gateways (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trunk_id INTEGER NOT NULL REFERENCES sip_trunks(id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    ping_interval_s INTEGER CHECK (ping_interval_s BETWEEN 1 AND 3600),
    down_ping_interval_s INTEGER CHECK (down_ping_interval_s BETWEEN 1 AND 3600),
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_sip_gateways__uri UNIQUE (trunk_id, uri)
);
CREATE INDEX ix_sip_gateways_trunk ON sip_gateways (trunk_id, position);

CREATE TABLE sip_trunk_ips (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trunk_id INTEGER NOT NULL REFERENCES sip_trunks(id) ON DELETE CASCADE,
    cidr TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_sip_trunk_ips__cidr UNIQUE (trunk_id, cidr)
);
