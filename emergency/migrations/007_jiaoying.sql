-- 007: 叫应 that really calls (emergency/calls.py). Warnings pushed to people down a call chain,
-- acknowledged by the person through a personal link, escalated within minutes.
--
-- No foreign keys here: warnings and contacts must stay editable (DuckDB 2.0.1 refuses to ALTER a
-- referenced table and turns some UPDATEs of it into delete + insert), so calls.py checks the
-- references itself. Nothing references these tables either.

-- A contact's personal e-mail (the phone is already there): where a personal call is sent.
-- (contacts is referenced by nothing, so it can still be altered.)
ALTER TABLE contacts ADD COLUMN email VARCHAR;

-- The call chain of a township (village_code NULL) or of one village: ordered steps, each naming
-- the contact roles called at that step and its time limit. A place without rows uses the default
-- chain of calls.DEFAULT_TOWNSHIP_CHAIN / DEFAULT_VILLAGE_CHAIN; after the last step the county duty
-- office is told.
CREATE SEQUENCE seq_call_chain_steps START 1;
CREATE TABLE call_chain_steps (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_call_chain_steps'),
    township_code  VARCHAR NOT NULL,
    village_code   VARCHAR,
    step           INTEGER NOT NULL CHECK (step >= 1),
    roles          VARCHAR NOT NULL,              -- contact roles, comma-separated
    limit_minutes  INTEGER NOT NULL CHECK (limit_minutes >= 1)
);

-- What the warnings table (referenced by warning_acks, so not alterable) does not hold.
CREATE TABLE warning_details (
    warning_id  INTEGER PRIMARY KEY,
    hazard      VARCHAR NOT NULL                  -- 暴雨, 山洪, 地质灾害, 森林火险, ...
);

-- One row per person called (or the county duty office told) for a warning: step, attempt (2 = called
-- again once), when, the step's limit as it was, the personal link's token hash and expiry, and the
-- answer (at, how: link / cli / phone, by, action taken).
CREATE SEQUENCE seq_warning_calls START 1;
CREATE TABLE warning_calls (
    id             BIGINT PRIMARY KEY DEFAULT nextval('seq_warning_calls'),
    warning_id     INTEGER NOT NULL,
    ack_id         INTEGER,                       -- warning_acks row of the place (NULL: county duty office)
    township_code  VARCHAR,
    village_code   VARCHAR,
    contact_id     INTEGER,                       -- NULL: the county duty office
    name           VARCHAR NOT NULL,
    role           VARCHAR NOT NULL,
    step           INTEGER NOT NULL,
    attempt        INTEGER NOT NULL DEFAULT 1,
    called_at      TIMESTAMPTZ NOT NULL,
    limit_minutes  INTEGER,                       -- NULL: no answer expected (the county duty office)
    token_hash     VARCHAR,                       -- SHA-256 of the personal token; the token is never stored
    expires_at     TIMESTAMPTZ,
    answered_at    TIMESTAMPTZ,
    answered_via   VARCHAR,                       -- link / cli / phone
    answered_by    VARCHAR,
    action         VARCHAR,
    is_demo        BOOLEAN NOT NULL DEFAULT FALSE
);

-- Personal messages of a call (e-mail, SMS, voice), each with its own delivery state. The text holds
-- the personal link, so it is kept only AES-GCM encrypted (privacy.py, key outside data/) and only
-- until the message is sent or has failed for good.
CREATE SEQUENCE seq_call_messages START 1;
CREATE TABLE call_messages (
    id               BIGINT PRIMARY KEY DEFAULT nextval('seq_call_messages'),
    call_id          BIGINT NOT NULL,
    channel          VARCHAR NOT NULL,            -- email / sms / voice
    address          VARCHAR NOT NULL,            -- e-mail address or phone number
    body_cipher      VARCHAR,                     -- the text, encrypted; NULL once sent or failed
    status           VARCHAR NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    last_error       VARCHAR
);

-- SMS / voice gateways, configured by URL (the county's own; channels' kinds are fixed by a CHECK
-- in 001 and the table cannot be altered).
CREATE SEQUENCE seq_call_gateways START 1;
CREATE TABLE call_gateways (
    id         INTEGER PRIMARY KEY DEFAULT nextval('seq_call_gateways'),
    kind       VARCHAR NOT NULL CHECK (kind IN ('sms', 'voice')),
    url        VARCHAR NOT NULL,
    is_active  BOOLEAN NOT NULL DEFAULT TRUE
);

-- Each message posted to a group robot (one row per HTTP post, a digest being one): the per-robot
-- rate limit counts these; and a robot that answered "too fast" is left alone until `until`.
CREATE TABLE robot_sends (
    channel_id  INTEGER NOT NULL,
    sent_at     TIMESTAMPTZ NOT NULL,
    urgent      BOOLEAN NOT NULL
);
CREATE TABLE robot_backoff (
    channel_id  INTEGER PRIMARY KEY,
    until       TIMESTAMPTZ NOT NULL,
    reason      VARCHAR
);
