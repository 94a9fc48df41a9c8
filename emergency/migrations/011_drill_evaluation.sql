-- Drill objectives, structured evaluation (AQ/T 9009-2015) and corrective actions to closure.
-- drills is referenced by other tables, so DuckDB cannot ALTER it: what a drill gains lives in side tables.
CREATE SEQUENCE seq_drill_objectives START 1;
CREATE SEQUENCE seq_drill_evaluations START 1;

-- 演练目标: what the drill sets out to show, in order.
CREATE TABLE drill_objectives (
    id         INTEGER PRIMARY KEY DEFAULT nextval('seq_drill_objectives'),
    drill_id   INTEGER NOT NULL REFERENCES drills(id),
    position   INTEGER NOT NULL,
    objective  VARCHAR NOT NULL,
    removed    BOOLEAN NOT NULL DEFAULT FALSE   -- an edited list keeps the old rows (evaluations refer to them)
);

-- One row per evaluation; a re-evaluation adds a row, the latest is the drill's evaluation.
CREATE TABLE drill_evaluations (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_drill_evaluations'),
    drill_id      INTEGER NOT NULL REFERENCES drills(id),
    method        VARCHAR NOT NULL,              -- onsite_review / self_assessment / evaluation_team
    evaluators    VARCHAR NOT NULL,
    evaluated_on  DATE NOT NULL,
    grade         VARCHAR NOT NULL,              -- excellent / good / pass / fail
    execution     VARCHAR,                       -- the five dimensions of the 2024 办法 Art. 33
    plan_fitness  VARCHAR,
    command       VARCHAR,
    handling      VARCHAR,
    equipment     VARCHAR,
    plan_needs_revision BOOLEAN NOT NULL DEFAULT FALSE,
    evaluated_by  VARCHAR NOT NULL,
    evaluated_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Items and objective results name their drill too, and reference nothing but it: a drill deleted by
-- mistake takes all its rows in one transaction (DuckDB refuses a parent deleted with its children).
CREATE TABLE drill_evaluation_items (
    drill_id      INTEGER NOT NULL REFERENCES drills(id),
    evaluation_id INTEGER NOT NULL,              -- drill_evaluations.id
    item          VARCHAR NOT NULL,              -- evaluation.ITEMS
    score         VARCHAR NOT NULL,              -- evaluation.SCORES
    note          VARCHAR,
    PRIMARY KEY (evaluation_id, item)
);

CREATE TABLE drill_objective_results (
    drill_id      INTEGER NOT NULL REFERENCES drills(id),
    evaluation_id INTEGER NOT NULL,              -- drill_evaluations.id
    objective_id  INTEGER NOT NULL,              -- drill_objectives.id
    achieved      BOOLEAN NOT NULL,
    note          VARCHAR,
    PRIMARY KEY (evaluation_id, objective_id)
);

-- Corrective actions to closure: evidence of completion, verification by someone other than the owner,
-- and what opened the action (an unmet objective, a poorly scored item, a plan to revise).
ALTER TABLE corrective_actions ADD COLUMN evidence VARCHAR;
ALTER TABLE corrective_actions ADD COLUMN origin VARCHAR;          -- NULL (typed in) / objective / item / plan
ALTER TABLE corrective_actions ADD COLUMN plan_code VARCHAR;       -- origin plan: closed by the plan's revision
ALTER TABLE corrective_actions ADD COLUMN evaluation_id INTEGER;
ALTER TABLE corrective_actions ADD COLUMN verified_on DATE;
ALTER TABLE corrective_actions ADD COLUMN verified_by VARCHAR;
ALTER TABLE corrective_actions ADD COLUMN verification VARCHAR;    -- review (复查) / acceptance (验收)
ALTER TABLE corrective_actions ADD COLUMN verification_note VARCHAR;

-- Drill planning and organisation (AQ/T 9007-2019 §5): who led it, its groups, the teams and equipment,
-- observers, safety measures, and whether it was announced. One row per drill, updated in place.
CREATE TABLE drill_organisation (
    drill_id          INTEGER NOT NULL REFERENCES drills(id),
    commander         VARCHAR,           -- 总指挥
    planning_group    VARCHAR,           -- 策划组
    support_group     VARCHAR,           -- 保障组
    evaluation_group  VARCHAR,           -- 评估组
    observers         VARCHAR,           -- 观摩人员
    safety_measures   VARCHAR,           -- 安全保障措施
    equipment         VARCHAR,           -- 使用的装备物资
    notice            VARCHAR NOT NULL DEFAULT 'announced',  -- announced / unannounced (双盲) / no_script (无脚本)
    updated_by        VARCHAR,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- The registry's teams that took part (besides the free-text participating units).
CREATE TABLE drill_teams (
    drill_id  INTEGER NOT NULL REFERENCES drills(id),
    team_id   INTEGER NOT NULL   -- teams.id; no FOREIGN KEY, so that teams stays alterable (DuckDB)
);

-- The multi-year exercise programme (演练规划): per township (NULL: county) and plan, which drill in
-- which year and month, progressing 桌面 -> 实战 and 单项 -> 综合; the yearly plans are drawn from it.
CREATE SEQUENCE seq_exercise_programme START 1;
CREATE TABLE exercise_programme (
    id                INTEGER PRIMARY KEY DEFAULT nextval('seq_exercise_programme'),
    township_code     VARCHAR REFERENCES townships(code),
    plan_code         VARCHAR NOT NULL REFERENCES plans(code),
    year              INTEGER NOT NULL,
    month             INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
    form              VARCHAR NOT NULL,     -- tabletop / live
    content           VARCHAR NOT NULL,     -- single / comprehensive
    title             VARCHAR NOT NULL,
    planned_drill_id  INTEGER,              -- the planned drill drawn from it (no FOREIGN KEY: planned_drills stays alterable)
    created_by        VARCHAR NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
