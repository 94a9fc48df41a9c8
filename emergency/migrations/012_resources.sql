-- 012: emergency resources (issue 18): supply depots and their stock, stock movements, team bases
-- and itemised team equipment, shelters, hazard points, experts.
--
-- No foreign keys point at teams, drills or any other existing table (DuckDB 2.0.1 cannot ALTER a
-- table that others reference, and those tables are still evolving): emergency/resources/ checks
-- every reference in code. The new tables reference nothing either, so that they stay editable and
-- alterable; depots, stock rows and hazard points are checked by the service functions.
-- Coordinates are WGS-84, NULL when unknown (never guessed). Item, level, kind and status codes
-- are those of emergency/enums.py.

CREATE SEQUENCE seq_depots START 1;
CREATE SEQUENCE seq_stock START 1;
CREATE SEQUENCE seq_stock_movements START 1;
CREATE SEQUENCE seq_team_equipment START 1;
CREATE SEQUENCE seq_shelters START 1;
CREATE SEQUENCE seq_hazard_points START 1;
CREATE SEQUENCE seq_experts START 1;

-- 应急物资储备库 (county / township / village / enterprise / agreement supplier)
CREATE TABLE depots (
    id               INTEGER PRIMARY KEY DEFAULT nextval('seq_depots'),
    name             VARCHAR NOT NULL,
    level            VARCHAR NOT NULL,      -- enums.DEPOT_LEVELS
    township_code    VARCHAR,               -- NULL for a county depot or a county agreement supplier
    village_code     VARCHAR,
    address          VARCHAR,
    lon              DOUBLE,
    lat              DOUBLE,
    custodian_name   VARCHAR,
    custodian_phone  VARCHAR,
    is_demo          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- One row per (depot, item, batch); quantity never negative (the movements keep it so).
CREATE TABLE stock (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_stock'),
    depot_id      INTEGER NOT NULL,
    item_code     VARCHAR NOT NULL,        -- enums.RESOURCE_ITEMS
    batch         VARCHAR NOT NULL DEFAULT '',
    quantity      INTEGER NOT NULL CHECK (quantity >= 0),
    expires_on    DATE,                    -- 有效期 (food, medicine, extinguishers)
    maintain_on   DATE                     -- next maintenance (pumps, generators)
);

-- The minimum a depot keeps of an item (below it: a reminder).
CREATE TABLE stock_minimums (
    depot_id      INTEGER NOT NULL,
    item_code     VARCHAR NOT NULL,
    min_quantity  INTEGER NOT NULL CHECK (min_quantity >= 0),
    PRIMARY KEY (depot_id, item_code)
);

-- 入库 / 出库: who, when, for which event or drill.
CREATE TABLE stock_movements (
    id            INTEGER PRIMARY KEY DEFAULT nextval('seq_stock_movements'),
    depot_id      INTEGER NOT NULL,
    item_code     VARCHAR NOT NULL,
    batch         VARCHAR NOT NULL DEFAULT '',
    direction     VARCHAR NOT NULL CHECK (direction IN ('in', 'out')),
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    moved_on      DATE NOT NULL,
    handled_by    VARCHAR NOT NULL,        -- the person who received / issued
    purpose       VARCHAR,                 -- the event (e.g. 2026-07 暴雨抢险) or note
    drill_id      INTEGER,                 -- the drill it was issued for (checked in code)
    recorded_by   VARCHAR NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- A team's base and readiness: a side table, since teams cannot be ALTERed (members reference it).
CREATE TABLE team_bases (
    team_id           INTEGER PRIMARY KEY,
    address           VARCHAR,
    lon               DOUBLE,
    lat               DOUBLE,
    staffing          VARCHAR,             -- enums.TEAM_STAFFING: full / part
    supervising_unit  VARCHAR,
    readiness         VARCHAR,             -- enums.TEAM_READINESS
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- A team's itemised equipment and vehicles, from the same catalogue.
CREATE TABLE team_equipment (
    id         INTEGER PRIMARY KEY DEFAULT nextval('seq_team_equipment'),
    team_id    INTEGER NOT NULL,
    item_code  VARCHAR NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity >= 0),
    note       VARCHAR
);

-- 应急避难场所
CREATE TABLE shelters (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_shelters'),
    name           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,       -- enums.SHELTER_KINDS
    township_code  VARCHAR NOT NULL,
    village_code   VARCHAR,
    address        VARCHAR,
    lon            DOUBLE,
    lat            DOUBLE,
    capacity       INTEGER NOT NULL CHECK (capacity >= 0),   -- people
    area_m2        DOUBLE,
    facilities     VARCHAR,
    manager_name   VARCHAR,
    manager_phone  VARCHAR,
    is_open        BOOLEAN NOT NULL DEFAULT TRUE,
    is_demo        BOOLEAN NOT NULL DEFAULT FALSE
);

-- 地质灾害隐患点 / 山洪危险区 / 重大危险源 / 易涝点. The responsible person and the monitor are
-- the people the village's 叫应 chain calls (resources.hazard_contacts).
CREATE TABLE hazard_points (
    id                  INTEGER PRIMARY KEY DEFAULT nextval('seq_hazard_points'),
    code                VARCHAR NOT NULL,  -- the point's number in the survey (unique, checked in code)
    name                VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL,  -- enums.HAZARD_POINT_KINDS
    township_code       VARCHAR NOT NULL,
    village_code        VARCHAR,
    lon                 DOUBLE,
    lat                 DOUBLE,
    people_threatened   INTEGER NOT NULL DEFAULT 0 CHECK (people_threatened >= 0),
    households          INTEGER NOT NULL DEFAULT 0 CHECK (households >= 0),
    responsible_name    VARCHAR,
    responsible_phone   VARCHAR,
    monitor_name        VARCHAR,
    monitor_phone       VARCHAR,
    shelter_id          INTEGER,           -- where its people go (checked in code)
    evacuation_route    VARCHAR,
    is_demo             BOOLEAN NOT NULL DEFAULT FALSE
);

-- Drills held for a hazard point (drills cannot take a column: it is referenced).
CREATE TABLE hazard_drills (
    hazard_id  INTEGER NOT NULL,
    drill_id   INTEGER NOT NULL,
    PRIMARY KEY (hazard_id, drill_id)
);

-- 专家库
CREATE TABLE experts (
    id             INTEGER PRIMARY KEY DEFAULT nextval('seq_experts'),
    name           VARCHAR NOT NULL,
    field          VARCHAR NOT NULL,       -- enums.HAZARD_DOMAINS
    unit           VARCHAR,
    title          VARCHAR,
    phone          VARCHAR,
    township_code  VARCHAR,                -- NULL: the county's pool
    availability   VARCHAR NOT NULL DEFAULT 'available',  -- enums.EXPERT_AVAILABILITY
    is_demo        BOOLEAN NOT NULL DEFAULT FALSE
);
