-- 013 (drill import, issue 17): a drill's remark (备注), which township drill logs carry in a column of
-- their own. drills is referenced by other tables, so DuckDB cannot ALTER it: the remark lives in this
-- side table, one row per drill. No FOREIGN KEY to drills (it would block later ALTERs, see 001).
CREATE TABLE drill_notes (
    drill_id    INTEGER PRIMARY KEY,
    note        VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
