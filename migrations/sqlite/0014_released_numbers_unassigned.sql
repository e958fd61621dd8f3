-- A released number routes nowhere: releasing now clears the assignment; numbers released
-- before that rule lose theirs here, so none points at a target deleted since.
UPDATE numbers SET assignment_type = NULL, assignment_id = NULL, assignment_line = NULL
WHERE state = 'released';
