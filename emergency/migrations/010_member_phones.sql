-- A member's second phone (issue 16): township rosters often hold two numbers in one cell
-- ("13812345678 / 0379-6123456"), a mobile and a landline or a second mobile. members is referenced by
-- other tables, so DuckDB cannot ALTER it: the second number lives in this side table, one row per member.
CREATE TABLE member_phones (
    member_id     INTEGER PRIMARY KEY REFERENCES members(id),
    second_phone  VARCHAR NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
