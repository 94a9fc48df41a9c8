-- 014: hazard points in the 叫应 chain of their village (issue 18).
--
-- A hazard point's responsible person and monitor are called with the first step of their
-- village's chain (a point with no village: of its township's). They are not contacts, so their
-- warning_calls rows have no contact_id; this side table names, for each such call, the hazard
-- point(s) and the role (responsible / monitor) the person was called for, so that a recall reaches
-- the phone registered on the point and the record shows why the person was called.
-- A side table rather than a column: warning_calls keeps its shape (existing rows untouched).
CREATE TABLE warning_call_hazards (
    call_id      BIGINT NOT NULL,          -- warning_calls.id
    hazard_id    INTEGER NOT NULL,         -- hazard_points.id
    hazard_role  VARCHAR NOT NULL,         -- responsible / monitor (resources.registry.HAZARD_ROLES)
    PRIMARY KEY (call_id, hazard_id, hazard_role)
);
