-- 003: reminders. The notifications, channels, deliveries and delivery_attempts tables are in 001;
-- this adds what the sweep, the inbox and the scheduler need.
--
-- notifications rows are never updated after the sweep inserts them (read state is per user, in
-- notification_reads), so the UNIQUE dedup_key is safe under DuckDB's delete+insert rule. The
-- columns of deliveries that the delivery step updates (status, attempts, next_attempt_at,
-- delivered_at, last_error) carry no index, because delivery_attempts references deliveries; and
-- no UPDATE of deliveries uses RETURNING (DuckDB 2.0.1 turns an UPDATE ... RETURNING into
-- delete + insert, which the foreign key from delivery_attempts refuses).

-- (notifications gets no new column: DuckDB refuses ALTER on a table that others reference. Whether
-- a reminder is urgent follows from its kind, see reminders.URGENT_KINDS.)

-- Per-user read state: every operator of a township (and every admin/viewer for the bureau's
-- messages) has an inbox of their own.
CREATE TABLE notification_reads (
    notification_id  BIGINT NOT NULL REFERENCES notifications(id),
    user_id          INTEGER NOT NULL,   -- no FK: users rows are updated with RETURNING (delete+insert)
    read_at          TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (notification_id, user_id)
);

-- The last run of each scheduled job (one row per job, replaced at each run; nothing references it).
CREATE TABLE job_runs (
    job           VARCHAR PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    ok            BOOLEAN,
    summary       VARCHAR,
    runs          BIGINT NOT NULL DEFAULT 0
);
