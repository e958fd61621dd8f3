-- Deleting a trunk, user, device or dial plan policy first asks which numbers are still
-- assigned to it; without an index that question scans the whole number inventory.
CREATE INDEX ix_numbers_assignment ON numbers (assignment_type, assignment_id);
