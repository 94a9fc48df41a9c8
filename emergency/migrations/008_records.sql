-- 008 (records): voiding (作废). DuckDB 2.0.1 cannot ALTER a table that others reference (drills,
-- teams, members, enterprises), so a voided record is a row here, not a column there; lists and
-- statistics leave out every (table, id) found here (records.live). cascade_of names the record
-- whose void took this one along ('teams:12' for its members, 'drills:7' for its corrective
-- actions): restoring that record restores these too.
CREATE TABLE voided_records (
    table_name  VARCHAR NOT NULL,
    record_id   INTEGER NOT NULL,
    reason      VARCHAR NOT NULL,
    voided_by   VARCHAR NOT NULL,
    voided_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    cascade_of  VARCHAR,
    PRIMARY KEY (table_name, record_id)
);
