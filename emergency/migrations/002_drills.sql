-- 002 (drills): the fields of a full drill record that 001 lacked (DOMAIN.md section 5: lessons and
-- recommendations), who recorded plan revisions / planned drills / corrective actions, and why an
-- enterprise was closed. Only ADD COLUMN: no keys or indexes on editable columns (see 001's note).
ALTER TABLE drills ADD COLUMN lessons VARCHAR;
ALTER TABLE drills ADD COLUMN recommendations VARCHAR;
ALTER TABLE enterprises ADD COLUMN close_reason VARCHAR;
ALTER TABLE plan_revisions ADD COLUMN recorded_by VARCHAR;
ALTER TABLE planned_drills ADD COLUMN created_by VARCHAR;
ALTER TABLE planned_drills ADD COLUMN note VARCHAR;
ALTER TABLE corrective_actions ADD COLUMN created_by VARCHAR;
ALTER TABLE corrective_actions ADD COLUMN closed_by VARCHAR;
