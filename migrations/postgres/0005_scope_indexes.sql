-- Scope filters are `path LIKE '/1/7/%'`; only a text_pattern_ops index serves a prefix LIKE
-- under a non-C collation. The suspended-ancestor check reads only suspended rows.
CREATE INDEX ix_organizations_path_prefix ON organizations (path text_pattern_ops);
CREATE INDEX ix_audit_log_path_prefix ON audit_log (organization_path text_pattern_ops);
CREATE INDEX ix_event_log_path_prefix ON event_log (organization_path text_pattern_ops);
CREATE INDEX ix_organizations_suspended ON organizations (path) WHERE status = 'suspended';
