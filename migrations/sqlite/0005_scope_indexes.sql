-- Scope filters are `path LIKE '/1/7/%'`. SQLite's LIKE is case-insensitive, so only a NOCASE
-- index serves a prefix match; the suspended-ancestor check reads only suspended rows.
CREATE INDEX ix_organizations_path_nocase ON organizations (path COLLATE NOCASE);
CREATE INDEX ix_audit_log_path_nocase ON audit_log (organization_path COLLATE NOCASE);
CREATE INDEX ix_event_log_path_nocase ON event_log (organization_path COLLATE NOCASE);
CREATE INDEX ix_organizations_suspended ON organizations (path) WHERE status = 'suspended';
