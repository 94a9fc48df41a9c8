"""Three-level linkage (三级联动, DOMAIN.md section 7): county duty office -> township duty rooms ->
village information officers.

What is recorded: contacts per township and village (township emergency station staff, village
information officers A and B), roll calls from the county duty office to township duty rooms
(called at / answered at / by whom), warnings sent down and their acknowledgements (叫应), with
escalation when nobody answers.

What is computed (pure functions over plain rows, tested table by table without a database):
roll-call answer rate and median answer time, acknowledgement rate and median time, villages with a
current information officer, teams present, drills in the last 12 months, plans evaluated on time;
a green / amber / red status from configurable thresholds (settings key `linkage_thresholds`,
defaults in DEFAULT_THRESHOLDS); and whether a township counted as connected in a year.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import audit, calls, privacy, stale
from .auth import User, require_admin, require_write
from .db import TZ, first_value, put_setting, row_dict
from .db import where as sql_where
from .enums import CONTACT_ROLES
from .errors import Problem, ValidationError
from .hygiene import clean, clean_code
from .records import live, refuse_voided
from .teams import team_active

if TYPE_CHECKING:
    from .db import Cursor, Database

GREEN, AMBER, RED = "green", "amber", "red"
STATUS_LABELS = {GREEN: "正常", AMBER: "需关注", RED: "异常"}
STATUS_COLOURS = {GREEN: "#2e7d32", AMBER: "#f39c12", RED: "#c0392b"}
_RANK = {GREEN: 0, AMBER: 1, RED: 2}

TOWNSHIP_ROLES = ("station_head", "station_staff", "duty_room")
VILLAGE_ROLES = ("info_officer_a", "info_officer_b")
VILLAGE_BOUND_ROLES = (*VILLAGE_ROLES, "village_cadre", "village_head")  # registered for one village
SINGLE_HOLDER_ROLES = (*VILLAGE_ROLES, "station_head", "village_head")  # a new holder replaces the current one
STATION_ROLES = ("station_head", "station_staff")

SETTINGS_KEY = "linkage_thresholds"
# (green, amber): a rate is green at or above the first value, amber at or above the second, else red;
# a time in minutes is green at or below the first, amber at or below the second, else red.
DEFAULT_THRESHOLDS = {
    "period_days": 90,  # the "current period" of roll calls and warnings
    "roll_call_answer_rate": [0.95, 0.80],
    "roll_call_median_minutes": [5, 15],
    "ack_rate": [0.95, 0.80],
    "ack_median_minutes": [30, 60],
    "officer_coverage": [1.0, 0.90],  # share of villages with a current information officer
}
# (No time limit here: a warning's limits are the call chains' steps, calls.py, `limit_minutes`.)
THRESHOLD_LABELS = {
    "period_days": "统计周期（天）",
    "roll_call_answer_rate": "视频点名应答率",
    "roll_call_median_minutes": "点名应答用时中位数（分钟）",
    "ack_rate": "预警叫应率",
    "ack_median_minutes": "叫应用时中位数（分钟）",
    "officer_coverage": "村（社区）灾害信息员在岗率",
}

# "Township connected" in a year (item 6 of issue 14): sustained performance over the year, not a single
# answered call. Every value is configurable (settings key CONNECTED_KEY, admin, audited).
CONNECTED_KEY = "connected_rules"
DEFAULT_CONNECTED_RULES = {
    "roll_call_months_share": 1.0,  # share of the year's months with at least one roll call (1.0: every month)
    "roll_call_answer_rate": 0.9,  # roll calls answered / held
    "ack_within_limit_rate": 0.8,  # township acknowledgements within the step-1 limit / warnings sent (none sent: met)
    "station_staffed_share": 1.0,  # share of the year's days with a station head or staff registered
    "min_drill_records": 1,  # drill records the township reported for the year (its data reported)
}
CONNECTED_RULE_LABELS = {
    "roll_call_months_share": "有视频点名的月份占比",
    "roll_call_answer_rate": "视频点名应答率",
    "ack_within_limit_rate": "预警限时叫应率",
    "station_staffed_share": "应急站有人在岗天数占比",
    "min_drill_records": "本年度报送演练记录（条）",
}


def connected_definition(rules: dict | None = None) -> str:
    """The definition as the page and the report show it, with the configured values."""
    r = {**DEFAULT_CONNECTED_RULES, **(rules or {})}
    months = "每月" if r["roll_call_months_share"] >= 1 else f"{r['roll_call_months_share']:.0%}的月份"
    staffed = "全年" if r["station_staffed_share"] >= 1 else f"{r['station_staffed_share']:.0%}的天数"
    return (
        "某乡镇在某年度（当年为截至今日）计为“互联互通”，须同时满足："
        f"① 县值班室{months}至少对其视频点名一次，且点名应答率不低于 {r['roll_call_answer_rate']:.0%}；"
        f"② 向其发布的预警在叫应链第一步限时内得到乡镇叫应的比例不低于 {r['ack_within_limit_rate']:.0%}（当年无预警视为满足）；"
        f"③ 乡镇应急站{staffed}有在岗人员（负责人或工作人员）登记；"
        f"④ 乡镇报送了本年度的演练记录（至少 {r['min_drill_records']} 条）。"
    )


CONNECTED_DEFINITION = connected_definition()


# Pure rules -------------------------------------------------------------------------------------
def minutes_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 60


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def response_indicators(rows: list[tuple[datetime, datetime | None]]) -> dict:
    """(sent_at, answered_at or None) pairs -> count, answered, rate, median minutes to answer."""
    times = [(answered - sent).total_seconds() / 60 for sent, answered in rows if answered is not None]
    return {
        "count": len(rows),
        "answered": len(times),
        "rate": (len(times) / len(rows)) if rows else None,
        "median_minutes": median(times),
    }


def is_current(active_from: date, active_to: date | None, today: date) -> bool:
    return active_from <= today and (active_to is None or active_to >= today)


def active_during(active_from: date, active_to: date | None, start: date, end: date) -> bool:
    return active_from <= end and (active_to is None or active_to >= start)


def officer_coverage(village_codes: list[str], contacts: list[dict], today: date) -> dict:
    """Villages with a current information officer (A or B) and with both A and B.

    contacts: dicts with village_code, role, active_from, active_to.
    """
    roles: dict[str, set[str]] = {code: set() for code in village_codes}
    for c in contacts:
        if (
            c.get("village_code") in roles
            and c["role"] in VILLAGE_ROLES
            and is_current(c["active_from"], c.get("active_to"), today)
        ):
            roles[c["village_code"]].add(c["role"])
    with_officer = sum(1 for r in roles.values() if r)
    return {
        "villages": len(roles),
        "with_officer": with_officer,
        "with_a_and_b": sum(1 for r in roles.values() if set(VILLAGE_ROLES) <= r),
        "coverage": (with_officer / len(roles)) if roles else None,
    }


def grade_at_least(value: float | None, green: float, amber: float) -> str | None:
    """A rate: green at or above `green`, amber at or above `amber`, else red; None without data."""
    if value is None:
        return None
    return GREEN if value >= green else AMBER if value >= amber else RED


def grade_at_most(value: float | None, green: float, amber: float) -> str | None:
    """A time: green at or below `green`, amber at or below `amber`, else red; None without data."""
    if value is None:
        return None
    return GREEN if value <= green else AMBER if value <= amber else RED


def worst(statuses: Sequence[str | None]) -> str:
    known = [s for s in statuses if s]
    return max(known, key=_RANK.__getitem__) if known else AMBER


def township_status(ind: dict, thresholds: dict = DEFAULT_THRESHOLDS) -> tuple[str, list[str]]:
    """Green / amber / red and the reasons, from a township's indicators (the worst indicator wins).

    ind keys: roll_call_rate, roll_call_median, ack_rate, ack_median, officer_coverage, teams,
    township_drills_12m. A missing roll-call or acknowledgement record (None) counts as amber:
    a chain that was not tested this period is not known to work.
    """
    th = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    grades, reasons = [], []

    def add(grade: str | None, text: str, missing: str | None = None):
        if grade is None and missing:
            grades.append(AMBER)
            reasons.append(missing)
        elif grade:
            grades.append(grade)
            if grade != GREEN:
                reasons.append(text)

    rate = ind.get("roll_call_rate")
    add(grade_at_least(rate, *th["roll_call_answer_rate"]), f"点名应答率 {_pct(rate)}", "本周期无视频点名记录")
    add(
        grade_at_most(ind.get("roll_call_median"), *th["roll_call_median_minutes"]),
        f"点名应答用时中位数 {_num(ind.get('roll_call_median'))} 分钟",
    )
    rate = ind.get("ack_rate")
    add(grade_at_least(rate, *th["ack_rate"]), f"预警叫应率 {_pct(rate)}", "本周期无预警叫应记录")
    add(
        grade_at_most(ind.get("ack_median"), *th["ack_median_minutes"]),
        f"叫应用时中位数 {_num(ind.get('ack_median'))} 分钟",
    )
    coverage = ind.get("officer_coverage")
    add(grade_at_least(coverage, *th["officer_coverage"]), f"灾害信息员在岗率 {_pct(coverage)}")
    add(GREEN if (ind.get("teams") or 0) > 0 else RED, "无在册救援队伍")
    add(GREEN if (ind.get("township_drills_12m") or 0) > 0 else AMBER, "近12个月无乡镇级演练")
    if not ind.get("station_staff"):
        add(RED, "无在岗乡镇应急站人员")
    return worst(grades), reasons


def village_status(ind: dict, thresholds: dict = DEFAULT_THRESHOLDS) -> tuple[str, list[str]]:
    """A village: red without a current information officer; amber without a B officer, with
    acknowledgements below the threshold or without a drill in 12 months; else green."""
    th = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    if not ind.get("officer_a") and not ind.get("officer_b"):
        return RED, ["无在岗灾害信息员"]
    grades, reasons = [GREEN], []
    if not (ind.get("officer_a") and ind.get("officer_b")):
        grades.append(AMBER)
        reasons.append("缺少A/B岗中的一岗")
    ack = grade_at_least(ind.get("ack_rate"), *th["ack_rate"])
    if ack and ack != GREEN:
        grades.append(ack)
        reasons.append(f"预警叫应率 {_pct(ind.get('ack_rate'))}")
    if not ind.get("drills_12m"):
        grades.append(AMBER)
        reasons.append("近12个月无村级演练")
    return worst(grades), reasons


def is_connected(facts: dict, rules: dict | None = None) -> tuple[bool, list[str]]:
    """Whether a township was connected in a year, and the reasons it was not (connected_definition).

    facts: months (of the year, so far), roll_call_months (months with a roll call), roll_calls,
    roll_calls_answered, warnings, acks_within_limit, staffed_days, days, drill_records."""
    r = {**DEFAULT_CONNECTED_RULES, **(rules or {})}
    reasons = []
    months = facts.get("months") or 12
    if facts.get("roll_call_months", 0) / months < r["roll_call_months_share"]:
        reasons.append(f"有视频点名的月份 {min(facts.get('roll_call_months', 0), months)}/{months}")
    calls = facts.get("roll_calls", 0)
    rate = facts.get("roll_calls_answered", 0) / calls if calls else 0.0
    if not calls or rate < r["roll_call_answer_rate"]:
        reasons.append(f"点名应答率 {_pct(rate if calls else None)}")
    warnings = facts.get("warnings", 0)
    if warnings:
        within = facts.get("acks_within_limit", 0) / warnings
        if within < r["ack_within_limit_rate"]:
            reasons.append(f"预警限时叫应率 {_pct(within)}")
    days = facts.get("days") or 365
    if facts.get("staffed_days", 0) / days < r["station_staffed_share"]:
        reasons.append(f"应急站有人在岗 {facts.get('staffed_days', 0)}/{days} 天")
    if facts.get("drill_records", 0) < r["min_drill_records"]:
        reasons.append("未报送本年度演练记录")
    return not reasons, reasons


def staffed_days(intervals: list[tuple[date, date | None]], start: date, end: date) -> int:
    """Days from start to end (inclusive) covered by at least one (active_from, active_to or None)."""
    covered = 0
    spans = sorted((max(a, start), min(b or end, end)) for a, b in intervals if a <= end and (b is None or b >= start))
    current_start: date | None = None
    current_end: date | None = None
    for a, b in spans:
        if current_end is None or a > current_end + timedelta(days=1):
            if current_end is not None and current_start is not None:
                covered += (current_end - current_start).days + 1
            current_start, current_end = a, b
        elif b > current_end:
            current_end = b
    if current_end is not None and current_start is not None:
        covered += (current_end - current_start).days + 1
    return covered


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


# Configuration ---------------------------------------------------------------------------------
def thresholds(db: Database) -> dict:
    stored = db.setting(SETTINGS_KEY, {})
    return {**DEFAULT_THRESHOLDS, **{k: v for k, v in stored.items() if k in DEFAULT_THRESHOLDS}}


def validate_thresholds(values: dict) -> list[Problem]:
    problems = []
    for key, default in DEFAULT_THRESHOLDS.items():
        value = values.get(key, default)
        label = THRESHOLD_LABELS[key]
        if isinstance(default, list):
            if not (
                isinstance(value, (list, tuple))
                and len(value) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value)
            ):
                problems.append(Problem(label, "须为两个非负数（正常、需关注）"))
                continue
            green, amber = value
            if key.endswith("rate") or key == "officer_coverage":
                if not (0 <= amber <= green <= 1):
                    problems.append(Problem(label, "须满足 0 ≤ 需关注线 ≤ 正常线 ≤ 1"))
            elif green > amber:
                problems.append(Problem(label, "正常线（分钟）不能大于需关注线"))
        elif not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            problems.append(Problem(label, "须为正整数"))
    return problems


def set_thresholds(db: Database, actor: User, values: dict) -> None:
    require_admin(actor, "修改三级联动评价阈值")
    new = {**DEFAULT_THRESHOLDS, **{k: v for k, v in values.items() if k in DEFAULT_THRESHOLDS}}
    new = {k: list(v) if isinstance(v, tuple) else v for k, v in new.items()}
    problems = validate_thresholds(new)
    if problems:
        raise ValidationError(problems)
    before = thresholds(db)

    def work(cur: Cursor):
        put_setting(cur, SETTINGS_KEY, new)
        audit.record(cur, actor, "update", "settings", SETTINGS_KEY, *audit.changed(before, new))

    db.write(work)


# Reads ----------------------------------------------------------------------------------------
# The table families (db.FAMILIES) the lists of 三级联动 read (pending acknowledgements, contacts,
# recent warnings and roll calls, a warning's timeline); a cache of them keys on db.generation_of(*these).
CALLS_READS = ("calls", "places", "records")
# What the linkage indicators and rules read (the township and village status, the connected rules):
# not the notifications the scheduler delivers every minute, the accounts or the resources.
STATUS_READS = ("calls", "drills", "places", "plans", "records", "registry", "settings")


def _now() -> datetime:
    return datetime.now(TZ)


STATUS_MINUTES = 10


def status_period(now: datetime) -> datetime:
    """The start of the STATUS_MINUTES period `now` falls in: what a cached status keys on besides the
    data's generations. The indicators move with time only by their windows (days or months counted
    back from now) and their dates; every record that changes them is a write, which is read at once."""
    return now.replace(minute=now.minute - now.minute % STATUS_MINUTES, second=0, microsecond=0)


def township_indicators(db: Database, now: datetime | None = None, th: dict | None = None) -> list[dict]:
    """One dict per township: the indicators of the current period, the status and its reasons."""
    now = now or _now()
    today = now.date()
    th = th or thresholds(db)
    since = now - timedelta(days=int(th["period_days"]))
    towns = db.query_dicts("SELECT code, name, lon, lat FROM townships WHERE is_township ORDER BY sort_order")
    calls: dict[str, list] = {t["code"]: [] for t in towns}
    for code, called, answered in db.query(
        "SELECT township_code, called_at, answered_at FROM roll_calls WHERE called_at > ? AND called_at <= ?",
        [since, now],
    ):
        calls.setdefault(code, []).append((called, answered))
    acks: dict[str, list] = {t["code"]: [] for t in towns}
    for code, issued, acked in db.query(
        "SELECT a.township_code, w.issued_at, a.acknowledged_at FROM warning_acks a"
        " JOIN warnings w ON w.id = a.warning_id"
        " WHERE a.village_code IS NULL AND w.issued_at > ? AND w.issued_at <= ?",
        [since, now],
    ):
        acks.setdefault(code, []).append((issued, acked))
    contacts = db.query_dicts(
        f"SELECT township_code, village_code, role, active_from, active_to FROM contacts c WHERE {live('contacts', 'c')}"
    )
    villages: dict[str, list[str]] = {}
    for code, township in db.query("SELECT code, township_code FROM villages WHERE NOT is_virtual"):
        villages.setdefault(township, []).append(code)
    active, active_params = team_active(today, "x")
    counts = {
        code: (teams, drills, vdrills)
        for code, teams, drills, vdrills in db.query(
            "SELECT t.code,"
            f" (SELECT count(*) FROM teams x WHERE x.township_code = t.code AND {active}),"
            " (SELECT count(*) FROM drills d WHERE d.township_code = t.code AND d.level = 'township'"
            f"   AND d.held_on > CAST(? AS DATE) - INTERVAL 12 MONTH AND d.held_on <= ? AND {live('drills', 'd')}),"
            " (SELECT count(*) FROM drills d WHERE d.township_code = t.code AND d.level = 'village'"
            f"   AND d.held_on > CAST(? AS DATE) - INTERVAL 12 MONTH AND d.held_on <= ? AND {live('drills', 'd')})"
            " FROM townships t WHERE t.is_township",
            [*active_params, *[today] * 4],
        )
    }
    result = []
    for t in towns:
        code = t["code"]
        rc, ak = response_indicators(calls[code]), response_indicators(acks[code])
        own = [c for c in contacts if c["township_code"] == code]
        cover = officer_coverage(villages.get(code, []), own, today)
        station = sum(
            1
            for c in own
            if c["role"] in STATION_ROLES
            and c["village_code"] is None
            and is_current(c["active_from"], c["active_to"], today)
        )
        teams, drills, vdrills = counts.get(code, (0, 0, 0))
        ind = {
            "code": code,
            "name": t["name"],
            "lon": t["lon"],
            "lat": t["lat"],
            "roll_calls": rc["count"],
            "roll_calls_answered": rc["answered"],
            "roll_call_rate": rc["rate"],
            "roll_call_median": rc["median_minutes"],
            "warnings": ak["count"],
            "warnings_acknowledged": ak["answered"],
            "ack_rate": ak["rate"],
            "ack_median": ak["median_minutes"],
            "villages": cover["villages"],
            "villages_with_officer": cover["with_officer"],
            "villages_with_a_and_b": cover["with_a_and_b"],
            "officer_coverage": cover["coverage"],
            "station_staff": station,
            "teams": int(teams),
            "township_drills_12m": int(drills),
            "village_drills_12m": int(vdrills),
        }
        ind["status"], ind["reasons"] = township_status(ind, th)
        result.append(ind)
    return result


def village_indicators(
    db: Database, township_code: str, now: datetime | None = None, th: dict | None = None
) -> list[dict]:
    now = now or _now()
    today = now.date()
    th = th or thresholds(db)
    since = now - timedelta(days=int(th["period_days"]))
    rows = db.query_dicts(
        "SELECT code, name FROM villages WHERE township_code = ? AND NOT is_virtual ORDER BY code", [township_code]
    )
    contacts = db.query_dicts(
        "SELECT village_code, role, name, phone, active_from, active_to FROM contacts c"
        f" WHERE township_code = ? AND village_code IS NOT NULL AND {live('contacts', 'c')}",
        [township_code],
    )
    acks: dict[str, list] = {}
    for code, issued, acked in db.query(
        "SELECT a.village_code, w.issued_at, a.acknowledged_at FROM warning_acks a JOIN warnings w ON w.id = a.warning_id"
        " WHERE a.township_code = ? AND a.village_code IS NOT NULL AND w.issued_at > ? AND w.issued_at <= ?",
        [township_code, since, now],
    ):
        acks.setdefault(code, []).append((issued, acked))
    drills = dict(
        db.query(
            "SELECT village_code, count(*) FROM drills d WHERE township_code = ? AND level = 'village'"
            f" AND held_on > CAST(? AS DATE) - INTERVAL 12 MONTH AND held_on <= ? AND {live('drills', 'd')} GROUP BY 1",
            [township_code, today, today],
        )
    )
    active, active_params = team_active(today, "teams")
    teams = dict(
        db.query(
            "SELECT village_code, count(*) FROM teams WHERE township_code = ? AND village_code IS NOT NULL"
            f" AND {active} GROUP BY 1",
            [township_code, *active_params],
        )
    )
    result = []
    for v in rows:
        current = {
            c["role"]: c
            for c in contacts
            if c["village_code"] == v["code"] and is_current(c["active_from"], c["active_to"], today)
        }
        ak = response_indicators(acks.get(v["code"], []))
        ind = {
            "code": v["code"],
            "name": v["name"],
            "officer_a": current.get("info_officer_a", {}).get("name"),
            "officer_a_phone": current.get("info_officer_a", {}).get("phone"),
            "officer_b": current.get("info_officer_b", {}).get("name"),
            "officer_b_phone": current.get("info_officer_b", {}).get("phone"),
            "warnings": ak["count"],
            "ack_rate": ak["rate"],
            "ack_median": ak["median_minutes"],
            "drills_12m": int(drills.get(v["code"], 0)),
            "teams": int(teams.get(v["code"], 0)),
            "township_code": township_code,
        }
        ind["status"], ind["reasons"] = village_status(ind, th)
        result.append(ind)
    return result


def county_summary(db: Database, today: date, indicators: list[dict]) -> dict:
    """The county row: statuses counted, and the plans evaluated on time (county plans)."""
    from .deadlines import is_late, plan_deadlines

    plans = plan_deadlines(db, today)
    on_time = sum(1 for p in plans if not is_late(p["evaluation_status"]))
    return {
        "townships": len(indicators),
        "green": sum(1 for i in indicators if i["status"] == GREEN),
        "amber": sum(1 for i in indicators if i["status"] == AMBER),
        "red": sum(1 for i in indicators if i["status"] == RED),
        "plans": len(plans),
        "plans_evaluated_on_time": on_time,
        "plans_evaluated_rate": (on_time / len(plans)) if plans else None,
    }


def connected_rules(db: Database) -> dict:
    stored = db.setting(CONNECTED_KEY, {})
    return {**DEFAULT_CONNECTED_RULES, **{k: v for k, v in stored.items() if k in DEFAULT_CONNECTED_RULES}}


def set_connected_rules(db: Database, actor: User, values: dict) -> dict:
    require_admin(actor, "修改互联互通口径")
    new = {**connected_rules(db), **{k: v for k, v in values.items() if k in DEFAULT_CONNECTED_RULES}}
    problems = []
    for key, value in new.items():
        label = CONNECTED_RULE_LABELS[key]
        if key == "min_drill_records":
            if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100):
                problems.append(Problem(label, "必须是 0 到 100 之间的整数"))
        elif not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1):
            problems.append(Problem(label, "必须在 0 到 1 之间（如 0.9 表示 90%）"))
    if problems:
        raise ValidationError(problems)
    before = connected_rules(db)

    def work(cur: Cursor):
        put_setting(cur, CONNECTED_KEY, new)
        audit.record(cur, actor, "update", "settings", CONNECTED_KEY, *audit.changed(before, new))

    db.write(work)
    return new


def connected_detail(db: Database, year: int, today: date | None = None, rules: dict | None = None) -> list[dict]:
    """Per township, the year's facts (up to `today` in the current year) and whether it was connected."""
    today = today or _now().date()
    rules = rules or connected_rules(db)
    start = date(year, 1, 1)
    end = min(date(year, 12, 31), max(today, start))
    start_at, end_at = (
        datetime(year, 1, 1, tzinfo=TZ),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), TZ),
    )
    towns = db.query_dicts("SELECT code, name FROM townships WHERE is_township ORDER BY sort_order")
    roll = {
        code: (int(months), int(held), int(answered))
        for code, months, held, answered in db.query(
            "SELECT township_code, count(DISTINCT month(called_at)), count(*), count(answered_at) FROM roll_calls"
            " WHERE called_at >= ? AND called_at < ? GROUP BY 1",
            [start_at, end_at],
        )
    }
    acks = {
        code: (int(sent), int(within))
        for code, sent, within in db.query(
            "SELECT a.township_code, count(*), count(*) FILTER (WHERE a.acknowledged_at <= w.issued_at"
            "   + to_minutes(coalesce((SELECT min(c.limit_minutes) FROM warning_calls c WHERE c.ack_id = a.id"
            "   AND c.step = 1), ?)))"
            " FROM warning_acks a JOIN warnings w ON w.id = a.warning_id"
            " WHERE a.village_code IS NULL AND w.issued_at >= ? AND w.issued_at < ? GROUP BY 1",
            [calls.DEFAULT_STEP_MINUTES, start_at, end_at],
        )
    }
    stations: dict[str, list] = {}
    for code, active_from, active_to in db.query(
        "SELECT township_code, active_from, active_to FROM contacts c WHERE village_code IS NULL"
        f" AND role IN ('station_head', 'station_staff') AND {live('contacts', 'c')}"
    ):
        stations.setdefault(code, []).append((active_from, active_to))
    drills = dict(
        db.query(
            "SELECT township_code, count(*) FROM drills WHERE township_code IS NOT NULL AND held_on BETWEEN ? AND ?"
            " GROUP BY 1",
            [start, end],
        )
    )
    rows = []
    for t in towns:
        code = t["code"]
        months, held, answered = roll.get(code, (0, 0, 0))
        sent, within = acks.get(code, (0, 0))
        facts = {
            # the current year: the months completed so far (a month just begun is not yet owed a roll call)
            "months": 12 if end == date(year, 12, 31) else max(1, end.month - 1),
            "roll_call_months": months,
            "roll_calls": held,
            "roll_calls_answered": answered,
            "warnings": sent,
            "acks_within_limit": within,
            "staffed_days": staffed_days(stations.get(code, []), start, end),
            "days": (end - start).days + 1,
            "drill_records": int(drills.get(code, 0)),
        }
        connected, reasons = is_connected(facts, rules)
        rows.append({"code": code, "name": t["name"], **facts, "connected": connected, "reasons": reasons})
    return rows


def roll_call_years(db: Database) -> list[int]:
    """The years with roll calls, latest first (kept until a write to the calls; a copy)."""
    rows = db.memo(
        ("calls",),
        ("roll_call_years",),
        lambda: db.query("SELECT DISTINCT year(called_at) FROM roll_calls ORDER BY 1 DESC"),
    )
    return [int(y) for (y,) in rows]


def connected_townships(db: Database, year: int) -> int:
    """How many of the county's townships were connected in `year` (CONNECTED_DEFINITION)."""
    return sum(1 for row in connected_detail(db, year) if row["connected"])


def pending_acknowledgements(db: Database, township_code: str | None = None, limit: int = 500) -> list[dict]:
    where, params = "", []
    if township_code:
        where, params = " AND a.township_code = ?", [township_code]
    return db.query_dicts(
        "SELECT a.id, w.id AS warning_id, w.level, w.title, w.issued_at, a.township_code, t.name AS township_name,"
        " a.village_code, v.name AS village_name, a.escalated_at FROM warning_acks a"
        " JOIN warnings w ON w.id = a.warning_id JOIN townships t ON t.code = a.township_code"
        " LEFT JOIN villages v ON v.code = a.village_code"
        f" WHERE a.acknowledged_at IS NULL{where} ORDER BY w.issued_at DESC, t.sort_order, a.village_code"
        f" LIMIT {int(limit)}",
        params,
    )


def recent_roll_calls(db: Database, township_code: str | None = None, limit: int = 200):
    where, params = "", []
    if township_code:
        where, params = "WHERE r.township_code = ?", [township_code]
    return db.frame(
        "SELECT r.id, r.called_at, t.name AS township_name, r.answered_at, r.answered_by, r.called_by, r.note,"
        " date_diff('second', r.called_at, r.answered_at) / 60.0 AS minutes"
        f" FROM roll_calls r JOIN townships t ON t.code = r.township_code {where}"
        f" ORDER BY r.called_at DESC LIMIT {int(limit)}",
        params,
    )


def warning_list(db: Database, township_code: str | None = None, limit: int = 2000):
    """Warnings as each township received them, newest first: level, title, when issued, when and by
    whom the township acknowledged (叫应), the minutes it took, and whether it was escalated."""
    where, params = sql_where(("a.township_code = ?", township_code))
    return db.frame(
        "SELECT w.id, w.issued_at, w.level, w.title, t.name AS township_name, a.acknowledged_at,"
        " a.acknowledged_by, date_diff('second', w.issued_at, a.acknowledged_at) / 60.0 AS minutes,"
        " a.escalated_at, a.township_code FROM warnings w JOIN warning_acks a ON a.warning_id = w.id"
        f" AND a.village_code IS NULL JOIN townships t ON t.code = a.township_code {where}"
        f" ORDER BY w.issued_at DESC, t.sort_order LIMIT {int(limit)}",
        params,
    )


def contact_list(db: Database, viewer: User, township_code: str | None = None, today: date | None = None):
    """Current contacts with phones masked unless the viewer may see them."""
    from .teams import mask_personal

    today = today or _now().date()
    where = ""
    params: list[date | str] = [today, today]
    if township_code:
        where, params = " AND c.township_code = ?", [today, today, township_code]
    frame = db.frame(
        "SELECT c.id, t.name AS township_name, v.name AS village_name, c.role, c.name, c.phone, c.active_from,"
        " c.township_code FROM contacts c JOIN townships t ON t.code = c.township_code"
        " LEFT JOIN villages v ON v.code = c.village_code"
        f" WHERE c.active_from <= ? AND (c.active_to IS NULL OR c.active_to >= ?) AND {live('contacts', 'c')}{where}"
        " ORDER BY t.sort_order, c.village_code NULLS FIRST, c.role",
        params,
    )
    return mask_personal(frame, viewer, "phone")


# Writes ---------------------------------------------------------------------------------------
def _check_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    if phone.startswith("0379") and phone.isdigit() and len(phone) in (11, 12):
        return None
    return privacy.validate_mobile(phone)


def add_contact(db: Database, actor: User, data: dict) -> int:
    """A township or village contact. A township operator adds its own township's contacts."""
    row: dict[str, Any] = {
        "township_code": data.get("township_code"),
        "village_code": data.get("village_code") or None,
        "role": data.get("role"),
        "name": clean(data.get("name")),
        "phone": clean_code(data.get("phone")) or None,
        "email": clean(data.get("email")) or None,
        "active_from": data.get("active_from"),
    }
    require_write(actor, row["township_code"], "登记其他乡镇的联络人")
    problems = []
    if not db.scalar("SELECT count(*) FROM townships WHERE code = ? AND is_township", [row["township_code"]]):
        problems.append(Problem("乡镇", f"{row['township_code']} 不存在"))
    if row["role"] not in CONTACT_ROLES:
        problems.append(Problem("岗位", f"必须是 {'、'.join(CONTACT_ROLES.values())} 之一"))
    elif row["role"] in VILLAGE_BOUND_ROLES:
        if not row["village_code"] or not db.scalar(
            "SELECT count(*) FROM villages WHERE code = ? AND township_code = ?",
            [row["village_code"], row["township_code"]],
        ):
            problems.append(Problem("村（社区）", f"{CONTACT_ROLES[row['role']]}必须属于所选乡镇的一个村（社区）"))
    elif row["village_code"]:
        problems.append(Problem("村（社区）", "乡镇级岗位（应急站、值班室、党政主要负责人）不填写村（社区）"))
    if not row["name"]:
        problems.append(Problem("姓名", "不能为空"))
    phone_problem = _check_phone(row["phone"])
    if phone_problem:
        problems.append(Problem("电话", phone_problem))
    if row["email"] and ("@" not in row["email"] or " " in row["email"] or row["email"].startswith("@")):
        problems.append(Problem("电子邮箱", "电子邮件地址格式不正确"))
    if not isinstance(row["active_from"], date):
        problems.append(Problem("到岗日期", "必须填写日期"))
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        # A new officer for a post replaces the current holder of that post.
        if row["role"] in SINGLE_HOLDER_ROLES:
            ended = cur.execute(
                "UPDATE contacts SET active_to = ? WHERE township_code = ? AND village_code IS NOT DISTINCT FROM ?"
                " AND role = ? AND active_to IS NULL AND active_from < ? RETURNING id",
                [
                    row["active_from"] - timedelta(days=1),
                    row["township_code"],
                    row["village_code"],
                    row["role"],
                    row["active_from"],
                ],
            ).fetchall()
            for (old_id,) in ended:
                audit.record(
                    cur,
                    actor,
                    "update",
                    "contacts",
                    old_id,
                    None,
                    {"active_to": row["active_from"] - timedelta(days=1)},
                )
        new_id = first_value(
            cur,
            "INSERT INTO contacts (township_code, village_code, role, name, phone, email, active_from)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [row[k] for k in ("township_code", "village_code", "role", "name", "phone", "email", "active_from")],
        )
        audit.record(cur, actor, "create", "contacts", new_id, None, row)
        return new_id

    return db.write(work)


CONTACT_LABELS = {
    "township_code": "乡镇",
    "village_code": "村（社区）",
    "role": "岗位",
    "name": "姓名",
    "phone": "电话",
    "active_from": "到岗日期",
    "active_to": "离岗日期",
}


def _contact(cur: Cursor, contact_id: int) -> dict:
    row = row_dict(
        cur,
        "SELECT id, township_code, village_code, role, name, phone, active_from, active_to FROM contacts WHERE id = ?",
        [contact_id],
    )
    if not row:
        raise ValueError(f"联络人 {contact_id} 不存在")
    return row


def contact_record(db: Database, contact_id: int) -> dict:
    """A contact as an edit form draws it; passed back as `expected` when it saves."""
    return _contact(db.cursor(), contact_id)


def update_contact(db: Database, actor: User, contact_id: int, changes: dict, *, expected: dict | None = None) -> dict:
    """Correct a contact's name, phone or start date (a new holder of the post is add_contact)."""

    def work(cur: Cursor):
        before = _contact(cur, contact_id)
        require_write(actor, before["township_code"], "修改其他乡镇的联络人")
        refuse_voided(cur, "contacts", contact_id)
        stale.check_fresh(
            before,
            expected,
            table="contacts",
            record_id=contact_id,
            labels=CONTACT_LABELS,
            viewer=actor,
            enums={"role": CONTACT_ROLES},
        )
        fields = ("name", "phone", "active_from")
        after = {k: before[k] for k in fields}
        after.update({k: v for k, v in changes.items() if k in fields})
        after["name"], after["phone"] = clean(after["name"]), clean_code(after["phone"]) or None
        problems = []
        if not after["name"]:
            problems.append(Problem("姓名", "不能为空"))
        if phone_problem := _check_phone(after["phone"]):
            problems.append(Problem("电话", phone_problem))
        if not isinstance(after["active_from"], date):
            problems.append(Problem("到岗日期", "必须填写日期"))
        elif before["active_to"] is not None and after["active_from"] > before["active_to"]:
            problems.append(Problem("到岗日期", "不能晚于离岗日期"))
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed({k: before[k] for k in fields}, after)
        if new:
            cur.execute(
                f"UPDATE contacts SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?", [*new.values(), contact_id]
            )
            audit.record(cur, actor, "update", "contacts", contact_id, old, new)
        return _contact(cur, contact_id)

    return db.write(work)


def end_contact(db: Database, actor: User, contact_id: int, on: date, *, expected: dict | None = None) -> dict:
    def work(cur: Cursor):
        before = _contact(cur, contact_id)
        require_write(actor, before["township_code"], "修改其他乡镇的联络人")
        stale.check_fresh(
            before,
            expected,
            table="contacts",
            record_id=contact_id,
            labels=CONTACT_LABELS,
            viewer=actor,
            enums={"role": CONTACT_ROLES},
        )
        if not isinstance(on, date) or on < before["active_from"]:
            raise ValidationError.single("离岗日期", "不能早于到岗日期")
        cur.execute("UPDATE contacts SET active_to = ? WHERE id = ?", [on, contact_id])
        audit.record(
            cur, actor, "update", "contacts", contact_id, {"active_to": before["active_to"]}, {"active_to": on}
        )
        return _contact(cur, contact_id)

    return db.write(work)


def log_roll_call(
    db: Database,
    actor: User,
    township_code: str,
    called_at: datetime,
    answered_at: datetime | None = None,
    answered_by: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> int:
    """A video roll call from the county duty office (admin) to a township duty room."""
    require_admin(actor, "登记县值班室视频点名")
    now = now or _now()
    answered_by, note = clean(answered_by) or None, clean(note) or None
    problems = []
    if not db.scalar("SELECT count(*) FROM townships WHERE code = ? AND is_township", [township_code]):
        problems.append(Problem("乡镇", f"{township_code} 不存在"))
    if not isinstance(called_at, datetime) or called_at.tzinfo is None:
        problems.append(Problem("点名时间", "必须填写（含时区）"))
    elif called_at > now + timedelta(minutes=5):
        problems.append(Problem("点名时间", "不能晚于当前时间"))
    if answered_at is not None:
        if isinstance(called_at, datetime) and called_at.tzinfo and answered_at < called_at:
            problems.append(Problem("应答时间", "不能早于点名时间"))
        if not answered_by:
            problems.append(Problem("应答人", "已应答的点名须填写应答人"))
    elif answered_by:
        problems.append(Problem("应答时间", "填写了应答人时须填写应答时间"))
    if problems:
        raise ValidationError(problems)
    values = {
        "township_code": township_code,
        "called_at": called_at,
        "answered_at": answered_at,
        "answered_by": answered_by,
        "called_by": actor.username,
        "note": note,
    }

    def work(cur: Cursor):
        new_id = first_value(
            cur,
            "INSERT INTO roll_calls (township_code, called_at, answered_at, answered_by, called_by, note)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            list(values.values()),
        )
        audit.record(cur, actor, "create", "roll_calls", new_id, None, values)
        return new_id

    return db.write(work)


def acknowledge(
    db: Database, actor: User, ack_id: int, acknowledged_at: datetime, acknowledged_by: str, now: datetime | None = None
) -> None:
    """A township (or one of its villages) acknowledges a warning: the township's operator or an admin.
    Read inside the write, so that two acknowledgements at once cannot both pass the "not yet" check."""
    now = now or _now()
    acknowledged_by = clean(acknowledged_by)

    def work(cur: Cursor):
        row = row_dict(
            cur,
            "SELECT a.township_code, a.village_code, a.acknowledged_at, w.issued_at"
            " FROM warning_acks a JOIN warnings w ON w.id = a.warning_id WHERE a.id = ?",
            [ack_id],
        )
        if not row:
            raise ValueError(f"叫应记录 {ack_id} 不存在")
        require_write(actor, row["township_code"], "为其他乡镇登记叫应")
        problems = []
        if row["acknowledged_at"] is not None:
            problems.append(Problem("", "该预警已叫应，不能重复登记"))
        if not isinstance(acknowledged_at, datetime) or acknowledged_at.tzinfo is None:
            problems.append(Problem("叫应时间", "必须填写（含时区）"))
        else:
            if acknowledged_at < row["issued_at"]:
                problems.append(Problem("叫应时间", "不能早于预警发布时间"))
            if acknowledged_at > now + timedelta(minutes=5):
                problems.append(Problem("叫应时间", "不能晚于当前时间"))
        if not acknowledged_by:
            problems.append(Problem("叫应人", "不能为空"))
        if problems:
            raise ValidationError(problems)
        cur.execute(
            "UPDATE warning_acks SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
            [acknowledged_at, acknowledged_by, ack_id],
        )
        # the place answered by phone: its calls stop escalating (emergency/calls.py)
        calls.record_phone_answer(cur, ack_id, acknowledged_at, f"{acknowledged_by}（电话，{actor.username}登记）")
        audit.record(
            cur,
            actor,
            "update",
            "warning_acks",
            ack_id,
            {"acknowledged_at": None},
            {"acknowledged_at": acknowledged_at, "acknowledged_by": acknowledged_by},
        )

    db.write(work)
