-- SIP trunks, their gateways (pinged with OPTIONS) and allowed source IPs. Timestamps are
-- TIMESTAMPTZ. An organization with trunks cannot be deleted (no cascade from it); a
-- trunk's gateways and IPs go with the trunk.
CREATE TABLE sip_trunks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'both')),
    max_channels BIGINT NOT NULL CHECK (max_channels BETWEEN 1 AND 100000),
    alive_codes TEXT NOT NULL,
    failures_to_down BIGINT NOT NULL CHECK (failures_to_down BETWEEN 1 AND 100),
    successes_to_up BIGINT NOT NULL CHECK (successes_to_up BETWEEN 1 AND 100),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_sip_trunks__name UNIQUE (organization_id, name)
);
CREATE INDEX ix_sip_trunks_org ON sip_trunks (organization_id);

CREATE TABLE sip_gateways (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trunk_id BIGINT NOT NULL REFERENCES sip_trunks(id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    ping_interval_s BIGINT CHECK (ping_interval_s BETWEEN 1 AND 3600),
    down_ping_interval_s BIGINT CHECK (down_ping_interval_s BETWEEN 1 AND 3600),
    position BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_sip_gateways__uri UNIQUE (trunk_id, uri)
);
CREATE INDEX ix_sip_gateways_trunk ON sip_gateways (trunk_id, position);

CREATE TABLE sip_trunk_ips (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trunk_id BIGINT NOT NULL REFERENCES sip_trunks(id) ON DELETE CASCADE,
    cidr TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_sip_trunk_ips__cidr UNIQUE (trunk_id, cidr)
);
