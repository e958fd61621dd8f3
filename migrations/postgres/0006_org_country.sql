-- Each organization's country (ISO 3166-1 alpha-2): national number formats and the number
-- classes of dial plans depend on it. Existing organizations become US; children inherit the
-- parent's country when created.
ALTER TABLE organizations ADD COLUMN country TEXT NOT NULL DEFAULT 'US';
