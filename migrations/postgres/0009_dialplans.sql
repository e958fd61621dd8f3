-- Dial plans: policies (ordered rules as JSON) with an archive of every version, policy groups
-- (ordered policies, dependencies on other groups) and a revision counter that tells other
-- instances sharing the database to recompile. Timestamps are TIMESTAMPTZ.
CREATE TABLE dialplan_policies (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rules_json TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_dialplan_policies__name UNIQUE (organization_id, name)
);
CREATE INDEX ix_dialplan_policies_org ON dialplan_policies (organization_id);

-- The archive: one row per version of a policy, kept after the policy is deleted (so neither
-- column references the live tables; an organization can still be deleted).
CREATE TABLE dialplan_policy_versions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy_id BIGINT NOT NULL,
    organization_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    rules_json TEXT NOT NULL,
    change_kind TEXT NOT NULL CHECK (change_kind IN ('create', 'update', 'restore', 'delete')),
    changed_by TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_dialplan_policy_versions__version UNIQUE (policy_id, version)
);

CREATE TABLE dialplan_groups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enforced BOOLEAN NOT NULL DEFAULT FALSE,
    priority BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_dialplan_groups__name UNIQUE (organization_id, name)
);
CREATE INDEX ix_dialplan_groups_org ON dialplan_groups (organization_id);

CREATE TABLE dialplan_group_policies (
    group_id BIGINT NOT NULL REFERENCES dialplan_groups(id) ON DELETE CASCADE,
    policy_id BIGINT NOT NULL REFERENCES dialplan_policies(id),
    position BIGINT NOT NULL,
    PRIMARY KEY (group_id, position),
    CONSTRAINT uq_dialplan_group_policies__policy_id UNIQUE (group_id, policy_id)
);
CREATE INDEX ix_dialplan_group_policies_policy ON dialplan_group_policies (policy_id);

CREATE TABLE dialplan_group_dependencies (
    group_id BIGINT NOT NULL REFERENCES dialplan_groups(id) ON DELETE CASCADE,
    depends_on_id BIGINT NOT NULL REFERENCES dialplan_groups(id),
    position BIGINT NOT NULL,
    PRIMARY KEY (group_id, depends_on_id)
);
CREATE INDEX ix_dialplan_group_dependencies_on ON dialplan_group_dependencies (depends_on_id);

-- Bumped by every dial plan write; instances poll it and recompile when it moved.
CREATE TABLE dialplan_revision (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO dialplan_revision (id, revision) VALUES (1, 0);
