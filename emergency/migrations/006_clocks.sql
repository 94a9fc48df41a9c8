-- 006 (the law's clocks): every interval from deadline_rules; seasons as data; plan issue (印发) and
-- filing (备案); township and village plans; enterprise plans by type; when a village entered the system.
--
-- deadline_rules is referenced by nothing, so it is ALTERed; plans, drills, villages and enterprises
-- are referenced by other tables (DuckDB refuses ALTER on them), so what they lack lives in side tables.

ALTER TABLE deadline_rules ADD COLUMN season_start VARCHAR;   -- 'MM-DD'
ALTER TABLE deadline_rules ADD COLUMN season_end VARCHAR;     -- 'MM-DD'; before the start = next year
ALTER TABLE deadline_rules ADD COLUMN due_at VARCHAR;         -- 'start': drill before the season; 'end': before or in it
ALTER TABLE deadline_rules ADD COLUMN domains VARCHAR;        -- hazard domains a season covers (comma list)
ALTER TABLE deadline_rules ADD COLUMN working_days INTEGER;   -- filing: within N working days
ALTER TABLE deadline_rules ADD COLUMN certainty VARCHAR;      -- R / M / I (DOMAIN.md)

-- The texts of a rule (label, source, certainty, what it applies to) follow rules.DEFAULT_RULES at
-- every start; what the bureau edits (intervals, season dates, working days) is only filled when empty.
ALTER TABLE deadline_rules DROP COLUMN due_before_month;   -- replaced by season_start / season_end

-- What a plan file says beyond the plans table: its rules, an explicit override, its issue.
CREATE TABLE plan_meta (
    plan_code                 VARCHAR PRIMARY KEY REFERENCES plans(code),
    plan_type                 VARCHAR NOT NULL DEFAULT '专项',   -- 专项 / 保障 (support) / 部门
    drill_rule                VARCHAR NOT NULL,
    evaluation_rule           VARCHAR NOT NULL,
    drill_months_override     INTEGER,                           -- visible override of the rule's interval
    evaluation_months_override INTEGER,
    issued_on                 DATE,                               -- 印发日期 of the file's version
    doc_number                VARCHAR                             -- 文号
);

-- 备案 of a plan version: county plans (subject_type 'plan', subject_id = plan code), township and
-- village plans ('local_plan', id), enterprise plans ('enterprise_plan', id). One row per filing.
CREATE SEQUENCE seq_filings START 1;
CREATE TABLE filings (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_filings'),
    subject_type  VARCHAR NOT NULL CHECK (subject_type IN ('plan', 'local_plan', 'enterprise_plan')),
    subject_id    VARCHAR NOT NULL,
    version       VARCHAR,
    filed_with    VARCHAR NOT NULL,        -- 备案单位 (to whom)
    filed_on      DATE NOT NULL,
    receipt_no    VARCHAR,                 -- 备案回执/编号
    recorded_by   VARCHAR,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    is_demo       BOOLEAN NOT NULL DEFAULT FALSE
);

-- Township plans (总体应急预案 and special plans) and village (community) plans.
CREATE SEQUENCE seq_local_plans START 1;
CREATE TABLE local_plans (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_local_plans'),
    level          VARCHAR NOT NULL CHECK (level IN ('township', 'village')),
    township_code  VARCHAR NOT NULL REFERENCES townships(code),
    village_code   VARCHAR REFERENCES villages(code),
    name           VARCHAR NOT NULL,
    plan_code      VARCHAR,                -- the county plan it follows (SG-01, ZR-01 ...); NULL for 总体
    drill_rule     VARCHAR NOT NULL,
    version        VARCHAR,
    issued_on      DATE,
    doc_number     VARCHAR,
    is_demo        BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (level = 'township' OR village_code IS NOT NULL)
);

-- Enterprise plans by type (生产安全事故应急预案管理办法: 综合 / 专项 / 现场处置方案).
CREATE SEQUENCE seq_enterprise_plans START 1;
CREATE TABLE enterprise_plans (
    id                 INTEGER PRIMARY KEY DEFAULT nextval('seq_enterprise_plans'),
    enterprise_id      INTEGER NOT NULL,   -- no FK: enterprises stay editable (see 001)
    plan_type          VARCHAR NOT NULL CHECK (plan_type IN ('comprehensive', 'special', 'onsite')),
    name               VARCHAR NOT NULL,
    issued_on          DATE,
    last_evaluated_on  DATE,
    is_demo            BOOLEAN NOT NULL DEFAULT FALSE
);

-- An enterprise drill: which type of its plans it exercised and when it was reported to the regulator.
CREATE TABLE drill_reports (
    drill_id     INTEGER PRIMARY KEY,      -- no FK: drills stay editable (see 001)
    plan_type    VARCHAR CHECK (plan_type IN ('comprehensive', 'special', 'onsite')),
    reported_to  VARCHAR,
    reported_on  DATE
);

-- When a village entered the system (its drill clock starts there). Villages loaded before this
-- migration entered today.
CREATE TABLE village_entries (
    village_code  VARCHAR PRIMARY KEY REFERENCES villages(code),
    entered_on    DATE NOT NULL
);
INSERT INTO village_entries SELECT code, current_date FROM villages;
