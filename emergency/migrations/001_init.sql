-- 001: the core entities. Dates are DATE, instants TIMESTAMPTZ (county time zone Asia/Shanghai).
-- Standard SQL where it costs nothing, so that a PostgreSQL backend needs new connection code only.
-- DuckDB turns an UPDATE of an indexed column (a UNIQUE, an index, or a FOREIGN KEY column) into
-- delete + insert, which its foreign-key check refuses when another table references the row
-- (measured with 2.0.1). So a table that others reference (teams, members, enterprises, drills,
-- channels) declares no foreign keys and no secondary indexes on its editable columns; those
-- references are checked by the service functions that write them. Leaf tables keep their keys.

CREATE SEQUENCE seq_teams START 1;
CREATE SEQUENCE seq_members START 1;
CREATE SEQUENCE seq_certificates START 1;
CREATE SEQUENCE seq_enterprises START 1;
CREATE SEQUENCE seq_drills START 1;
CREATE SEQUENCE seq_planned_drills START 1;
CREATE SEQUENCE seq_attachments START 1;
CREATE SEQUENCE seq_corrective_actions START 1;
CREATE SEQUENCE seq_contacts START 1;
CREATE SEQUENCE seq_roll_calls START 1;
CREATE SEQUENCE seq_warnings START 1;
CREATE SEQUENCE seq_warning_acks START 1;
CREATE SEQUENCE seq_notifications START 1;
CREATE SEQUENCE seq_deliveries START 1;
CREATE SEQUENCE seq_delivery_attempts START 1;
CREATE SEQUENCE seq_channels START 1;
CREATE SEQUENCE seq_users START 1;
CREATE SEQUENCE seq_audit START 1;
CREATE SEQUENCE seq_plan_revisions START 1;

-- Places -------------------------------------------------------------------------------------
-- code is the NBS statistical division code (villages join on it); mca_code is kept for reference.
CREATE TABLE townships (
    code          VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,            -- not UNIQUE: a rename (何村乡 -> 何村镇) must stay possible
    kind          VARCHAR NOT NULL CHECK (kind IN ('镇', '乡', '林场')),
    is_township   BOOLEAN NOT NULL,            -- forest farms are listed but are not townships
    mca_code      VARCHAR,
    mca_name      VARCHAR,
    lon           DOUBLE,                      -- WGS-84; NULL when no source has it (never guessed)
    lat           DOUBLE,
    coord_source  VARCHAR,
    coord_note    VARCHAR,
    sort_order    INTEGER NOT NULL
);

CREATE TABLE villages (
    code           VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    township_code  VARCHAR NOT NULL REFERENCES townships(code),
    kind           VARCHAR NOT NULL,           -- 村委会 / 社区/居委会 / 林场虚拟单位
    is_virtual     BOOLEAN NOT NULL,           -- forest-farm virtual units are not villages
    lon            DOUBLE,
    lat            DOUBLE
);

-- Reference vocabularies ---------------------------------------------------------------------
CREATE TABLE hazard_domains (
    code  VARCHAR PRIMARY KEY,
    name  VARCHAR NOT NULL
);

CREATE TABLE team_kinds (
    code  VARCHAR PRIMARY KEY,
    name  VARCHAR NOT NULL
);

-- Users and audit ----------------------------------------------------------------------------
CREATE TABLE users (
    id              INTEGER PRIMARY KEY DEFAULT nextval('seq_users'),
    username        VARCHAR NOT NULL UNIQUE,
    display_name    VARCHAR NOT NULL,
    role            VARCHAR NOT NULL CHECK (role IN ('admin', 'township', 'viewer')),
    township_code   VARCHAR REFERENCES townships(code),
    password_hash   VARCHAR NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    is_demo         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    CHECK (role <> 'township' OR township_code IS NOT NULL)
);

CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY DEFAULT nextval('seq_audit'),
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    username    VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,              -- create / update / delete / reveal / login ...
    table_name  VARCHAR NOT NULL,
    record_id   VARCHAR,
    before      JSON,
    after       JSON
);

-- Teams and members --------------------------------------------------------------------------
CREATE TABLE enterprises (
    id              INTEGER PRIMARY KEY DEFAULT nextval('seq_enterprises'),
    name            VARCHAR NOT NULL,
    sector          VARCHAR NOT NULL,
    township_code   VARCHAR NOT NULL,
    village_code    VARCHAR,
    address         VARCHAR,
    contact_name    VARCHAR,
    contact_phone   VARCHAR,
    registered_on   DATE,
    closed_on       DATE,
    is_demo         BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE teams (
    id              INTEGER PRIMARY KEY DEFAULT nextval('seq_teams'),
    name            VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    level           VARCHAR NOT NULL CHECK (level IN ('county', 'township', 'village', 'enterprise', 'civil')),
    township_code   VARCHAR,  -- NULL for a county-level team (serves all)
    village_code    VARCHAR,
    enterprise_id   INTEGER,
    leader_name     VARCHAR,
    duty_phone      VARCHAR,
    equipment       VARCHAR,
    established_on  DATE NOT NULL,
    disbanded_on    DATE,                                 -- kept in history, never deleted
    disband_reason  VARCHAR,
    is_demo         BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE team_domains (
    team_id      INTEGER NOT NULL REFERENCES teams(id),
    domain_code  VARCHAR NOT NULL REFERENCES hazard_domains(code),
    PRIMARY KEY (team_id, domain_code)
);

-- ID numbers are personal information: only an HMAC (to find the same person twice), an
-- encrypted copy (key outside data/) and the masked form (first six, last four) are kept.
CREATE TABLE members (
    id                INTEGER PRIMARY KEY DEFAULT nextval('seq_members'),
    team_id           INTEGER NOT NULL,
    name              VARCHAR NOT NULL,
    gender            VARCHAR CHECK (gender IN ('男', '女')),
    birth_date        DATE,
    phone             VARCHAR,
    id_hmac           VARCHAR,
    id_cipher         VARCHAR,
    id_masked         VARCHAR,                  -- 410325********1234
    role_in_team      VARCHAR NOT NULL DEFAULT 'member' CHECK (role_in_team IN ('leader', 'deputy', 'member')),
    specialty         VARCHAR,
    training_passed   BOOLEAN NOT NULL DEFAULT FALSE,
    training_on       DATE,
    insurance_until   DATE,
    joined_on         DATE NOT NULL,
    left_on           DATE,
    is_demo           BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE certificates (
    id          INTEGER PRIMARY KEY DEFAULT nextval('seq_certificates'),
    member_id   INTEGER NOT NULL REFERENCES members(id),
    name        VARCHAR NOT NULL,
    number      VARCHAR,
    issued_on   DATE,
    expires_on  DATE
);
CREATE INDEX certificates_member ON certificates(member_id);

-- Plans ---------------------------------------------------------------------------------------
CREATE TABLE plans (
    code                  VARCHAR PRIMARY KEY,
    name                  VARCHAR NOT NULL,
    category              VARCHAR NOT NULL CHECK (category IN ('自然灾害', '事故灾难', '公共卫生事件', '社会安全事件')),
    lead_department       VARCHAR NOT NULL,
    response_levels       INTEGER NOT NULL CHECK (response_levels BETWEEN 1 AND 4),
    drill_every_months    INTEGER NOT NULL CHECK (drill_every_months > 0),
    review_every_months   INTEGER NOT NULL CHECK (review_every_months > 0),
    version               VARCHAR,
    revised_on            DATE,
    last_evaluated_on     DATE,
    needs_revision        BOOLEAN NOT NULL DEFAULT FALSE,
    status                VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    is_template           BOOLEAN NOT NULL DEFAULT TRUE,
    source_file           VARCHAR,
    body                  VARCHAR
);

CREATE TABLE plan_domains (
    plan_code    VARCHAR NOT NULL REFERENCES plans(code),
    domain_code  VARCHAR NOT NULL REFERENCES hazard_domains(code),
    PRIMARY KEY (plan_code, domain_code)
);

CREATE TABLE plan_revisions (
    id          INTEGER PRIMARY KEY DEFAULT nextval('seq_plan_revisions'),
    plan_code   VARCHAR NOT NULL REFERENCES plans(code),
    version     VARCHAR NOT NULL,
    revised_on  DATE NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('revision', 'evaluation')),
    note        VARCHAR
);

-- Drills --------------------------------------------------------------------------------------
CREATE TABLE drills (
    id                   INTEGER PRIMARY KEY DEFAULT nextval('seq_drills'),
    title                VARCHAR NOT NULL,
    level                VARCHAR NOT NULL CHECK (level IN ('county', 'township', 'village', 'enterprise')),
    organiser            VARCHAR NOT NULL,
    township_code        VARCHAR,   -- NULL for a county drill
    village_code         VARCHAR,
    enterprise_id        INTEGER,
    held_on              DATE NOT NULL,
    started_at           TIMESTAMPTZ,
    ended_at             TIMESTAMPTZ,
    place                VARCHAR,
    form                 VARCHAR NOT NULL CHECK (form IN ('tabletop', 'live')),
    content              VARCHAR NOT NULL CHECK (content IN ('single', 'comprehensive')),
    purpose              VARCHAR NOT NULL DEFAULT 'testing' CHECK (purpose IN ('testing', 'demonstration', 'research')),
    participants         INTEGER NOT NULL CHECK (participants >= 0),   -- person-times (人次)
    participating_units  VARCHAR,
    scenario             VARCHAR,
    problems             VARCHAR,
    evaluation           VARCHAR,
    plan_problems_found  BOOLEAN NOT NULL DEFAULT FALSE,
    is_demo              BOOLEAN NOT NULL DEFAULT FALSE,
    created_by           VARCHAR,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at)
);

CREATE TABLE drill_plans (
    drill_id   INTEGER NOT NULL REFERENCES drills(id),
    plan_code  VARCHAR NOT NULL REFERENCES plans(code),
    PRIMARY KEY (drill_id, plan_code)
);

CREATE TABLE drill_attachments (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_attachments'),
    drill_id      INTEGER NOT NULL REFERENCES drills(id),
    kind          VARCHAR NOT NULL,            -- photo / pdf / scheme / evaluation / summary
    original_name VARCHAR NOT NULL,
    stored_path   VARCHAR NOT NULL,            -- relative to data/, a generated safe name
    size_bytes    BIGINT NOT NULL,
    uploaded_by   VARCHAR,
    uploaded_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE planned_drills (
    id              INTEGER PRIMARY KEY DEFAULT nextval('seq_planned_drills'),
    title           VARCHAR NOT NULL,
    level           VARCHAR NOT NULL CHECK (level IN ('county', 'township', 'village', 'enterprise')),
    township_code   VARCHAR REFERENCES townships(code),
    village_code    VARCHAR REFERENCES villages(code),
    enterprise_id   INTEGER REFERENCES enterprises(id),
    plan_code       VARCHAR REFERENCES plans(code),
    planned_on      DATE NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'done', 'cancelled')),
    drill_id        INTEGER REFERENCES drills(id),
    cancel_reason   VARCHAR,
    is_demo         BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (status <> 'cancelled' OR cancel_reason IS NOT NULL)
);

CREATE TABLE corrective_actions (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_corrective_actions'),
    drill_id      INTEGER NOT NULL REFERENCES drills(id),
    description   VARCHAR NOT NULL,
    owner         VARCHAR NOT NULL,
    due_on        DATE NOT NULL,
    closed_on     DATE,
    closure_note  VARCHAR
);

-- Deadline rules are data, each with its legal source (DOMAIN.md section 4).
CREATE TABLE deadline_rules (
    code             VARCHAR PRIMARY KEY,
    applies_to       VARCHAR NOT NULL,         -- plan / enterprise_sector / village / season
    subject          VARCHAR,                  -- plan code, sector code or NULL for all
    interval_months  INTEGER,
    due_before_month INTEGER,                  -- seasonal: drill before this month starts
    label            VARCHAR NOT NULL,
    source           VARCHAR NOT NULL
);

-- Three-level linkage ---------------------------------------------------------------------------
CREATE TABLE contacts (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_contacts'),
    township_code  VARCHAR NOT NULL REFERENCES townships(code),
    village_code   VARCHAR REFERENCES villages(code),
    role           VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    phone          VARCHAR,
    active_from    DATE NOT NULL,
    active_to      DATE,
    is_demo        BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE roll_calls (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_roll_calls'),
    township_code  VARCHAR NOT NULL REFERENCES townships(code),
    called_at      TIMESTAMPTZ NOT NULL,
    answered_at    TIMESTAMPTZ,
    answered_by    VARCHAR,
    called_by      VARCHAR,
    note           VARCHAR,
    is_demo        BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE warnings (
    id         INTEGER PRIMARY KEY DEFAULT nextval('seq_warnings'),
    level      INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
    title      VARCHAR NOT NULL,
    issued_at  TIMESTAMPTZ NOT NULL,
    issued_by  VARCHAR,
    is_demo    BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE warning_acks (
    id               INTEGER PRIMARY KEY DEFAULT nextval('seq_warning_acks'),
    warning_id       INTEGER NOT NULL REFERENCES warnings(id),
    township_code    VARCHAR NOT NULL REFERENCES townships(code),
    village_code     VARCHAR REFERENCES villages(code),
    acknowledged_at  TIMESTAMPTZ,
    acknowledged_by  VARCHAR,
    escalated_at     TIMESTAMPTZ
);

-- Reminders -------------------------------------------------------------------------------------
-- One notification per (kind, subject, due date, recipient): the unique key makes the sweep idempotent.
CREATE TABLE notifications (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_notifications'),
    dedup_key     VARCHAR NOT NULL UNIQUE,
    kind          VARCHAR NOT NULL,
    subject_type  VARCHAR NOT NULL,
    subject_id    VARCHAR NOT NULL,
    due_on        DATE,
    township_code VARCHAR REFERENCES townships(code),   -- NULL: addressed to the county bureau
    title         VARCHAR NOT NULL,
    body          VARCHAR,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    read_at       TIMESTAMPTZ
);

CREATE TABLE channels (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_channels'),
    township_code  VARCHAR,  -- NULL: the county bureau's own channel
    kind           VARCHAR NOT NULL CHECK (kind IN ('email', 'wecom', 'dingtalk')),
    address        VARCHAR NOT NULL,                    -- e-mail address or webhook URL
    secret         VARCHAR,                             -- DingTalk signing secret
    is_active      BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE deliveries (
    id               BIGINT PRIMARY KEY DEFAULT nextval('seq_deliveries'),
    notification_id  BIGINT NOT NULL REFERENCES notifications(id),
    channel_id       INTEGER NOT NULL REFERENCES channels(id),
    status           VARCHAR NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    last_error       VARCHAR,
    UNIQUE (notification_id, channel_id)
);

CREATE TABLE delivery_attempts (
    id           BIGINT PRIMARY KEY DEFAULT nextval('seq_delivery_attempts'),
    delivery_id  BIGINT NOT NULL REFERENCES deliveries(id),
    attempted_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    ok           BOOLEAN NOT NULL,
    error        VARCHAR
);

CREATE TABLE settings (
    key    VARCHAR PRIMARY KEY,
    value  JSON NOT NULL
);
