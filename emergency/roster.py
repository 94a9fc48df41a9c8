"""Coverage (township x hazard domain) and roster health, computed set-wise in SQL.

Who counts, on a given day `today`:
- a team is active when established_on <= today and it is not disbanded (disbanded_on IS NULL or
  later than today); a member is current when joined_on <= today, not left by today, in an active team
  (both rules written once, teams.team_active and teams.member_active);
- a team serves its own township; a team without a township (county-level teams and county-wide
  civil-society teams) serves every township (teams.serves);
- a cell (township, domain) is a gap when no active team serving that township covers that domain.

Roster health limits are configuration, kept in the `settings` table under the key
"roster.health" (JSON) with DEFAULTS below; no national minimum team size or age limit was found
(DOMAIN.md section 6), so these are the bureau's choice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from . import audit, paging
from .auth import User, require_admin
from .db import put_setting
from .enums import HAZARD_DOMAINS
from .errors import Problem, ValidationError
from .teams import mask_personal, member_active, team_active

if TYPE_CHECKING:
    from .db import Cursor, Database

SETTINGS_KEY = "roster.health"
DEFAULTS = {"expiry_window_days": 30, "min_age": 18, "max_age": 60, "min_team_size": 5}
SETTING_LABELS = {
    "expiry_window_days": "证书/保险到期预警天数",
    "min_age": "最低年龄（岁）",
    "max_age": "最高年龄（岁）",
    "min_team_size": "队伍最少人数",
}
MOBILE_PATTERN = "^1[3-9][0-9]{9}$"


# Settings -----------------------------------------------------------------------------------
def settings_problems(values: dict) -> list[Problem]:
    problems = []
    for key, label in SETTING_LABELS.items():
        value = values.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(Problem(label, "应为非负整数"))
    if not problems:
        if values["min_age"] >= values["max_age"]:
            problems.append(Problem("最高年龄（岁）", "必须大于最低年龄"))
        if values["expiry_window_days"] > 3650:
            problems.append(Problem("证书/保险到期预警天数", "最多3650天"))
    return problems


def health_settings(db: Database) -> dict:
    """DEFAULTS overlaid with what the bureau saved."""
    saved = db.setting(SETTINGS_KEY, {})
    return {k: int(saved.get(k, v)) for k, v in DEFAULTS.items()}


def save_health_settings(db: Database, actor: User, values: dict) -> None:
    require_admin(actor, "修改队伍健康检查的参数")
    values = {k: values.get(k, DEFAULTS[k]) for k in DEFAULTS}
    problems = settings_problems(values)
    if problems:
        raise ValidationError(problems)
    before = health_settings(db)

    def work(cur: Cursor):
        put_setting(cur, SETTINGS_KEY, values)
        audit.record(cur, actor, "update", "settings", SETTINGS_KEY, before, values)

    db.write(work)


# Shared pieces of SQL ------------------------------------------------------------------------
def _active(today: date) -> tuple[str, list]:
    """The CTEs active_teams and active_members on `today` (teams.team_active / member_active)."""
    team, team_params = team_active(today, "teams")
    member, member_params = member_active(today, "m", team=None)
    sql = f"""
active_teams AS (SELECT * FROM teams WHERE {team}),
active_members AS (SELECT m.* FROM members m JOIN active_teams t ON t.id = m.team_id WHERE {member})"""
    return sql, team_params + member_params


# Coverage -------------------------------------------------------------------------------------
def coverage(db: Database, today: date) -> pd.DataFrame:
    """One row per (township, domain): local and county-wide teams and members serving it."""
    active, active_params = _active(today)
    return db.frame(
        f"""
        WITH {active},
        sizes AS (SELECT team_id, count(*) AS n FROM active_members GROUP BY team_id),
        team_cover AS (
            SELECT t.id, t.township_code, d.domain_code, coalesce(s.n, 0) AS members
            FROM active_teams t JOIN team_domains d ON d.team_id = t.id LEFT JOIN sizes s ON s.team_id = t.id
        ),
        local AS (
            SELECT township_code, domain_code, count(*) AS teams, sum(members) AS members
            FROM team_cover WHERE township_code IS NOT NULL GROUP BY ALL
        ),
        countywide AS (
            SELECT domain_code, count(*) AS teams, sum(members) AS members
            FROM team_cover WHERE township_code IS NULL GROUP BY ALL
        )
        SELECT tw.code AS township_code, tw.name AS township_name, h.code AS domain_code, h.name AS domain_name,
               coalesce(l.teams, 0) AS local_teams, coalesce(l.members, 0)::BIGINT AS local_members,
               coalesce(c.teams, 0) AS county_teams, coalesce(c.members, 0)::BIGINT AS county_members,
               coalesce(l.teams, 0) + coalesce(c.teams, 0) AS teams,
               (coalesce(l.members, 0) + coalesce(c.members, 0))::BIGINT AS members,
               tw.sort_order
        FROM townships tw CROSS JOIN hazard_domains h
        LEFT JOIN local l ON l.township_code = tw.code AND l.domain_code = h.code
        LEFT JOIN countywide c ON c.domain_code = h.code
        WHERE tw.is_township
        ORDER BY tw.sort_order, h.code""",
        active_params,
    )


def domain_order() -> list[str]:
    return list(HAZARD_DOMAINS)


def coverage_matrix(cells: pd.DataFrame, value: str = "teams") -> pd.DataFrame:
    """Townships as rows, domains (Chinese names, enums order) as columns, `value` in the cells."""
    matrix = cells.pivot(index="township_name", columns="domain_code", values=value)
    order = cells.drop_duplicates("township_name").sort_values("sort_order")["township_name"]
    matrix = matrix.reindex(index=list(order), columns=[c for c in domain_order() if c in matrix.columns])
    matrix.columns = [HAZARD_DOMAINS[c] for c in matrix.columns]
    matrix.index.name = "乡镇"
    return matrix


def gaps(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells no team serves, and cells served only by county-wide teams (no local team)."""
    found = cells[cells["teams"] == 0][["township_code", "township_name", "domain_code", "domain_name"]].copy()
    found["kind"] = "无任何队伍"
    local = cells[(cells["teams"] > 0) & (cells["local_teams"] == 0)][
        ["township_code", "township_name", "domain_code", "domain_name"]
    ].copy()
    local["kind"] = "仅有县级/全县性队伍"
    return pd.concat([found, local], ignore_index=True)


def teams_serving(db: Database, viewer: User, township_code: str, domain_code: str, today: date) -> pd.DataFrame:
    """The drill-down: the teams counted in one cell (own township's and county-wide), phones masked."""
    active, active_params = _active(today)
    frame = db.frame(
        f"""
        WITH {active},
        sizes AS (SELECT team_id, count(*) AS n FROM active_members GROUP BY team_id)
        SELECT t.id, t.name, t.kind, t.level, t.township_code,
               CASE WHEN t.township_code IS NULL THEN '全县各乡镇' ELSE tw.name END AS service_area,
               t.leader_name, t.duty_phone, coalesce(s.n, 0) AS member_count
        FROM active_teams t JOIN team_domains d ON d.team_id = t.id AND d.domain_code = ?
        LEFT JOIN townships tw ON tw.code = t.township_code LEFT JOIN sizes s ON s.team_id = t.id
        WHERE t.township_code IS NULL OR t.township_code = ?
        ORDER BY t.township_code NULLS LAST, t.level, t.name""",
        [*active_params, domain_code, township_code],
    )
    return mask_personal(frame, viewer, "duty_phone")


# Roster health --------------------------------------------------------------------------------
# Each check is one SQL list over the current members (or their certificates, or the active teams)
# of a scope, in a total order; its condition is written once (the *_condition functions below) and
# used both by the list and by health_summary's one pass that counts every check. The page shows
# each check's count and one page of one check (health_page: the list with LIMIT/OFFSET); the whole
# list (check_findings, roster_health) is for the exports and the tests.
def _scope(township_code: str | None, alias: str = "t") -> tuple[str, list]:
    if township_code:
        return f" AND {alias}.township_code = ?", [township_code]
    return "", []


def _age_sql() -> str:
    """The age in whole years on the day bound three times (today), from m.birth_date."""
    return (
        "(year(?::DATE) - year(m.birth_date) - CASE WHEN month(?::DATE) * 100 + day(?::DATE)"
        " < month(m.birth_date) * 100 + day(m.birth_date) THEN 1 ELSE 0 END)"
    )


def _certificate_condition(today: date, window_days: int) -> tuple[str, list]:
    return "c.expires_on IS NOT NULL AND c.expires_on <= ?::DATE + ?::INTEGER", [today, window_days]


def _insurance_condition(today: date, window_days: int) -> tuple[str, list]:
    return "m.insurance_until IS NULL OR m.insurance_until <= ?::DATE + ?::INTEGER", [today, window_days]


def _untrained_condition() -> tuple[str, list]:
    return "NOT m.training_passed", []


def _phone_condition() -> tuple[str, list]:
    return "m.phone IS NULL OR trim(m.phone) = '' OR NOT regexp_full_match(m.phone, ?)", [MOBILE_PATTERN]


def _age_condition(today: date, min_age: int, max_age: int) -> tuple[str, list]:
    age = _age_sql()
    return f"m.birth_date IS NOT NULL AND ({age} < ? OR {age} > ?)", [today] * 3 + [min_age] + [today] * 3 + [max_age]


def _small_team_condition(min_size: int) -> tuple[str, list]:
    return "coalesce(s.n, 0) < ?", [min_size]


def _member_sql(
    today: date,
    condition: tuple[str, list],
    township_code: str | None,
    extra_columns: str = "",
    extra_params: list | None = None,
) -> tuple[str, list]:
    """Current members matching `condition` (placeholders in SELECT first, then WHERE, then scope)."""
    scope, scope_params = _scope(township_code)
    active, active_params = _active(today)
    where, params = condition
    return (
        f"""
        WITH {active}
        SELECT m.id, m.name, m.phone, m.id_masked, m.birth_date, m.training_passed, m.insurance_until,
               t.id AS team_id, t.name AS team_name, t.township_code, coalesce(tw.name, '全县') AS township_name
               {extra_columns}
        FROM active_members m JOIN active_teams t ON t.id = m.team_id LEFT JOIN townships tw ON tw.code = t.township_code
        WHERE ({where}) {scope}
        ORDER BY tw.sort_order NULLS FIRST, t.name, m.id""",
        [*active_params, *(extra_params or []), *params, *scope_params],
    )


def _in_scope(alias: str, township_code: str | None) -> str:
    """WHERE: the person `alias`.id_hmac has a current membership in the scope (its parameter is the
    scope's, _scope); without a township every person of the duplicates has one (no condition)."""
    if not township_code:
        return ""
    return (
        f"WHERE {alias}.id_hmac IN (SELECT m2.id_hmac FROM active_members m2 JOIN active_teams t ON t.id = m2.team_id"
        " WHERE m2.id_hmac IS NOT NULL AND t.township_code = ?)"
    )


# The persons (ID-number HMAC) with more than one current membership: a CTE after _active's.
_DUPLICATES = """dup AS (SELECT id_hmac, count(*) AS memberships FROM active_members
                WHERE id_hmac IS NOT NULL GROUP BY id_hmac HAVING count(*) > 1)"""


def _duplicates_sql(today: date, township_code: str | None) -> tuple[str, list]:
    """Every current membership of a person (same ID-number HMAC) who is in more than one and has a
    membership in the scope (the memberships elsewhere are listed too)."""
    _, scope_params = _scope(township_code)
    active, active_params = _active(today)
    return (
        f"""
        WITH {active}, {_DUPLICATES}
        SELECT dense_rank() OVER (ORDER BY d.id_hmac) AS person, d.memberships, m.id, m.name, m.id_masked, m.phone,
               t.id AS team_id, t.name AS team_name, t.township_code, coalesce(tw.name, '全县') AS township_name
        FROM active_members m JOIN dup d ON d.id_hmac = m.id_hmac JOIN active_teams t ON t.id = m.team_id
        LEFT JOIN townships tw ON tw.code = t.township_code
        {_in_scope("m", township_code)}
        ORDER BY person, m.id""",
        [*active_params, *scope_params],
    )


def _persons_sql(today: date, township_code: str | None) -> tuple[str, list]:
    """The persons of _duplicates_sql's list in its order (id_hmac), each with `person` (their
    number), `memberships` and `before` (how many rows of the list come before theirs)."""
    _, scope_params = _scope(township_code)
    active, active_params = _active(today)
    return (
        f"""
        WITH {active}, {_DUPLICATES}
        SELECT d.id_hmac, row_number() OVER (ORDER BY d.id_hmac) AS person, d.memberships,
               sum(d.memberships) OVER (ORDER BY d.id_hmac ROWS UNBOUNDED PRECEDING) - d.memberships AS before
        FROM dup d
        {_in_scope("d", township_code)}
        ORDER BY d.id_hmac""",
        [*active_params, *scope_params],
    )


def _duplicates_page(db: Database, today: date, persons: pd.DataFrame, limit: int, offset: int) -> pd.DataFrame:
    """Rows offset..offset+limit of _duplicates_sql's list, from its persons (_persons_sql): the
    memberships of the persons on the page only, instead of ranking and joining every membership."""
    before, memberships = persons["before"], persons["memberships"]
    shown = persons[(before < offset + limit) & (before + memberships > offset)]
    active, active_params = _active(today)
    return db.frame(
        f"""
        WITH {active},
        shown AS (SELECT unnest(?::VARCHAR[]) AS id_hmac, unnest(?::BIGINT[]) AS person,
                         unnest(?::BIGINT[]) AS memberships, unnest(?::BIGINT[]) AS before)
        SELECT p.person, p.memberships, m.id, m.name, m.id_masked, m.phone,
               t.id AS team_id, t.name AS team_name, t.township_code, coalesce(tw.name, '全县') AS township_name
        FROM shown p JOIN active_members m ON m.id_hmac = p.id_hmac JOIN active_teams t ON t.id = m.team_id
        LEFT JOIN townships tw ON tw.code = t.township_code
        QUALIFY p.before + row_number() OVER (PARTITION BY p.person ORDER BY m.id) - 1 BETWEEN ?::BIGINT AND ?::BIGINT
        ORDER BY p.person, m.id""",
        [
            *active_params,
            shown["id_hmac"].tolist(),
            [int(v) for v in shown["person"]],
            [int(v) for v in shown["memberships"]],
            [int(v) for v in shown["before"]],
            offset,
            offset + limit - 1,
        ],
    )


def _certificates_sql(today: date, window_days: int, township_code: str | None) -> tuple[str, list]:
    scope, scope_params = _scope(township_code)
    active, active_params = _active(today)
    where, params = _certificate_condition(today, window_days)
    return (
        f"""
        WITH {active}
        SELECT c.id AS certificate_id, c.name AS certificate, c.number, c.expires_on,
               CASE WHEN c.expires_on < ? THEN '已过期' ELSE '即将到期' END AS status,
               (c.expires_on - ?::DATE) AS days_left,
               m.id, m.name, m.phone, t.name AS team_name, t.township_code, coalesce(tw.name, '全县') AS township_name
        FROM certificates c JOIN active_members m ON m.id = c.member_id JOIN active_teams t ON t.id = m.team_id
        LEFT JOIN townships tw ON tw.code = t.township_code
        WHERE {where} {scope}
        ORDER BY c.expires_on, m.id, c.id""",
        [*active_params, today, today, *params, *scope_params],
    )


def _insurance_sql(today: date, window_days: int, township_code: str | None) -> tuple[str, list]:
    scope, scope_params = _scope(township_code)
    active, active_params = _active(today)
    where, params = _insurance_condition(today, window_days)
    return (
        f"""
        WITH {active}
        SELECT m.id, m.name, m.phone, m.insurance_until,
               CASE WHEN m.insurance_until IS NULL THEN '未登记保险'
                    WHEN m.insurance_until < ? THEN '已过期' ELSE '即将到期' END AS status,
               t.name AS team_name, t.township_code, coalesce(tw.name, '全县') AS township_name
        FROM active_members m JOIN active_teams t ON t.id = m.team_id LEFT JOIN townships tw ON tw.code = t.township_code
        WHERE ({where}) {scope}
        ORDER BY m.insurance_until NULLS FIRST, m.id""",
        [*active_params, today, *params, *scope_params],
    )


def _small_teams_sql(today: date, min_size: int, township_code: str | None) -> tuple[str, list]:
    scope, scope_params = _scope(township_code)
    active, active_params = _active(today)
    where, params = _small_team_condition(min_size)
    return (
        f"""
        WITH {active},
        sizes AS (SELECT team_id, count(*) AS n FROM active_members GROUP BY team_id)
        SELECT t.id, t.name, t.kind, t.level, t.township_code, coalesce(tw.name, '全县') AS township_name,
               t.leader_name, t.duty_phone, coalesce(s.n, 0) AS member_count
        FROM active_teams t LEFT JOIN sizes s ON s.team_id = t.id LEFT JOIN townships tw ON tw.code = t.township_code
        WHERE {where} {scope}
        ORDER BY member_count, t.name, t.id""",
        [*active_params, *params, *scope_params],
    )


def _check_sql(key: str, today: date, township_code: str | None, s: dict) -> tuple[str, list, str]:
    """The check `key`'s whole list as (sql, params, the phone column its viewer's mask applies to)."""
    window = s["expiry_window_days"]
    if key == "duplicates":
        return (*_duplicates_sql(today, township_code), "phone")
    if key == "certificates":
        return (*_certificates_sql(today, window, township_code), "phone")
    if key == "insurance":
        return (*_insurance_sql(today, window, township_code), "phone")
    if key == "untrained":
        return (*_member_sql(today, _untrained_condition(), township_code), "phone")
    if key == "phones":
        problem = ", CASE WHEN m.phone IS NULL OR trim(m.phone) = '' THEN '未填写' ELSE '格式错误' END AS problem"
        return (*_member_sql(today, _phone_condition(), township_code, problem), "phone")
    if key == "ages":
        condition = _age_condition(today, s["min_age"], s["max_age"])
        return (*_member_sql(today, condition, township_code, f", {_age_sql()} AS age", [today] * 3), "phone")
    if key == "small_teams":
        return (*_small_teams_sql(today, s["min_team_size"], township_code), "duty_phone")
    raise ValueError(f"没有这项检查：{key}")


def _check_frame(
    db: Database,
    viewer: User,
    key: str,
    today: date,
    township_code: str | None,
    s: dict,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    sql, params, phone = _check_sql(key, today, township_code, s)
    return mask_personal(db.frame(sql + paging.limit_clause(limit, offset), params), viewer, phone)


def duplicate_persons(db: Database, viewer: User, today: date, township_code: str | None = None) -> pd.DataFrame:
    """Every current membership of a person (same ID-number HMAC) who is in more than one."""
    return _check_frame(db, viewer, "duplicates", today, township_code, DEFAULTS)


def expiring_certificates(
    db: Database, viewer: User, today: date, window_days: int, township_code: str | None = None
) -> pd.DataFrame:
    return _check_frame(
        db, viewer, "certificates", today, township_code, {**DEFAULTS, "expiry_window_days": window_days}
    )


def insurance_problems(
    db: Database, viewer: User, today: date, window_days: int, township_code: str | None = None
) -> pd.DataFrame:
    return _check_frame(db, viewer, "insurance", today, township_code, {**DEFAULTS, "expiry_window_days": window_days})


def untrained(db: Database, viewer: User, today: date, township_code: str | None = None) -> pd.DataFrame:
    return _check_frame(db, viewer, "untrained", today, township_code, DEFAULTS)


def phone_problems(db: Database, viewer: User, today: date, township_code: str | None = None) -> pd.DataFrame:
    return _check_frame(db, viewer, "phones", today, township_code, DEFAULTS)


def age_problems(
    db: Database, viewer: User, today: date, min_age: int, max_age: int, township_code: str | None = None
) -> pd.DataFrame:
    """Members younger than min_age or older than max_age on `today` (from the birth date)."""
    return _check_frame(db, viewer, "ages", today, township_code, {**DEFAULTS, "min_age": min_age, "max_age": max_age})


def small_teams(
    db: Database, viewer: User, today: date, min_size: int, township_code: str | None = None
) -> pd.DataFrame:
    return _check_frame(db, viewer, "small_teams", today, township_code, {**DEFAULTS, "min_team_size": min_size})


HEALTH_CHECKS = {
    "duplicates": "重复登记人员",
    "certificates": "证书过期或即将到期",
    "insurance": "保险过期、即将到期或未登记",
    "untrained": "未通过培训",
    "phones": "手机号缺失或格式错误",
    "ages": "年龄超出范围",
    "small_teams": "人数不足的队伍",
}


# The table families (db.FAMILIES) coverage reads: teams and their domains, townships and domains,
# voided records; a cache of it keys on db.generation_of(*these).
COVERAGE_READS = ("registry", "places", "records")

# The table families (db.FAMILIES) roster_health reads: members, teams and certificates, the
# townships' names, voided records and the settings; a cache of it keys on db.generation_of(*these).
HEALTH_READS = ("registry", "places", "records", "settings")


def roster_health(
    db: Database, viewer: User, today: date, township_code: str | None = None, settings: dict | None = None
) -> dict[str, pd.DataFrame]:
    """Every check's whole list (frames keyed as HEALTH_CHECKS), with the settings used: for the
    exports and the tests; the page reads health_summary and health_page."""
    s = settings or health_settings(db)
    return {key: _check_frame(db, viewer, key, today, township_code, s) for key in HEALTH_CHECKS}


def check_findings(
    db: Database, viewer: User, today: date, key: str, township_code: str | None = None, settings: dict | None = None
) -> pd.DataFrame:
    """One check's whole list (what its 导出 Excel writes)."""
    return _check_frame(db, viewer, key, today, township_code, settings or health_settings(db))


def health_counts(findings: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How many findings per check; duplicates counted as persons, not memberships."""
    counts = {k: len(v) for k, v in findings.items()}
    dup = findings["duplicates"]
    counts["duplicates"] = int(dup["person"].nunique()) if len(dup) else 0
    return counts


@dataclass(frozen=True)
class HealthSummary:
    """What the checks find, counted: `counts` as health_counts gives them (duplicates as persons),
    `rows` the length of each check's list (duplicates as memberships: what its pages hold), and the
    persons of the duplicates (_persons_sql), from which health_page finds a page's memberships."""

    counts: dict[str, int]
    rows: dict[str, int]
    persons: pd.DataFrame


def health_summary(
    db: Database, today: date, township_code: str | None = None, settings: dict | None = None
) -> HealthSummary:
    """Every check counted over the same conditions as the lists, in two statements (no finding
    leaves the database but the duplicates' persons: at 100 times the county the lists are hundreds
    of thousands of rows). Counts do not depend on the viewer (masking changes what is shown, not
    what is found)."""
    s = settings or health_settings(db)
    window = s["expiry_window_days"]
    scope, scope_params = _scope(township_code)
    active, active_params = _active(today)
    member_checks = {
        "insurance": _insurance_condition(today, window),
        "untrained": _untrained_condition(),
        "phones": _phone_condition(),
        "ages": _age_condition(today, s["min_age"], s["max_age"]),
    }
    certificate, certificate_params = _certificate_condition(today, window)
    small, small_params = _small_team_condition(s["min_team_size"])
    counted = ", ".join(f"count_if({where}) AS {key}" for key, (where, _) in member_checks.items())
    row = db.query_dicts(
        f"""
        WITH {active},
        sizes AS (SELECT team_id, count(*) AS n FROM active_members GROUP BY team_id)
        SELECT * FROM
            (SELECT {counted} FROM active_members m JOIN active_teams t ON t.id = m.team_id WHERE TRUE {scope}) AS mc,
            (SELECT count(*) AS certificates FROM certificates c JOIN active_members m ON m.id = c.member_id
             JOIN active_teams t ON t.id = m.team_id WHERE {certificate} {scope}) AS cc,
            (SELECT count(*) AS small_teams FROM active_teams t LEFT JOIN sizes s ON s.team_id = t.id
             WHERE {small} {scope}) AS tc""",
        [
            *active_params,
            *(p for _, params in member_checks.values() for p in params),
            *scope_params,
            *certificate_params,
            *scope_params,
            *small_params,
            *scope_params,
        ],
    )[0]
    persons = db.frame(*_persons_sql(today, township_code))
    counts = {**{key: int(row[key]) for key in HEALTH_CHECKS if key != "duplicates"}, "duplicates": len(persons)}
    rows = {**counts, "duplicates": int(persons["memberships"].sum())}
    return HealthSummary({key: counts[key] for key in HEALTH_CHECKS}, rows, persons)


def health_summary_kept(db: Database, today: date, township_code: str | None, settings: dict) -> HealthSummary:
    """health_summary kept (db.memo) until a committed write touches what the checks read
    (HEALTH_READS; the scheduler's bookkeeping does not), per day, township and settings: what
    队伍健康检查 counts first, and what the server computes at start (ui/state.warm_caches) for the
    county's view, 0.7 s of CPU at 100 times the county. Read-only: shared by sessions."""
    key = ("health_summary", today, township_code, json.dumps(settings, sort_keys=True, default=str))
    return db.memo(HEALTH_READS, key, lambda: health_summary(db, today, township_code, settings))


def health_page(
    db: Database,
    viewer: User,
    today: date,
    key: str,
    township_code: str | None = None,
    settings: dict | None = None,
    *,
    page: int = 1,
    summary: HealthSummary | None = None,
    page_size: int | None = None,
) -> paging.Page[pd.DataFrame]:
    """Page `page` of check `key`'s list: the rows check_findings would give there (with LIMIT/OFFSET;
    the duplicates from their persons). `summary` is health_summary's for the same day, scope and
    settings, when the caller has it."""
    s = settings or health_settings(db)
    counted = summary or health_summary(db, today, township_code, s)

    def rows(limit: int, offset: int) -> pd.DataFrame:
        if key == "duplicates":
            return mask_personal(_duplicates_page(db, today, counted.persons, limit, offset), viewer, "phone")
        return _check_frame(db, viewer, key, today, township_code, s, limit, offset)

    return paging.fetch(lambda: counted.rows[key], rows, page, page_size)
