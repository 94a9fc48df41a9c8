"""The law's clocks: when each plan, township and village plan, enterprise and village is next due to
drill, to be evaluated and to be filed (备案), and whether it is on time, due soon or overdue.

Every interval is read from the deadline_rules table (the bureau edits it: `rules set`, the plans
page); a plan file names its rule and may carry an explicit override. One set-based query per kind of
subject reduces the drill history to the one date a clock needs, the last drill (it counts when held
since the clock's start; if it was not, no earlier one does): no list of past drills reaches Python,
so the clocks do not slow down as years of drills pile up. The pure functions of rules.py turn the
dates into due dates and statuses. A clock starts at the subject's start (a plan version's issue,
an enterprise's registration, a village's entry in the system) and counts only completions on or
after it; every row names its legal source.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from . import enums
from .records import live
from .rules import (
    OVERDUE,
    STATUS_LABELS,
    clock_due,
    deadline_status,
    filing_clock,
    last_done,
    parse_month_day,
    season_windows,
    seasonal_status,
    worst_status,
)

if TYPE_CHECKING:
    from .auth import User
    from .db import Cursor, Database

WARN_DAYS = 90
FILING_WARN_DAYS = 10
KINDS = ("plan", "enterprise", "village", "filing", "evaluation")


def csv(text: str | None) -> list[str]:
    """A comma list of rule data ('ZR-01,ZR-05') as a list."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def rule_table(db: Database) -> dict[str, dict]:
    """{code: rule row} of the deadline_rules table."""
    return {r["code"]: r for r in db.query_dicts("SELECT * FROM deadline_rules")}


def _rule_of(rules: dict, code: str) -> dict:
    return rules.get(code) or {"code": code, "label": "", "source": "", "interval_months": None, "certainty": None}


def interval(rule: dict, override: int | None = None) -> int | None:
    """The months of a clock: the subject's explicit override, else its rule's interval."""
    return int(override) if override else (int(rule["interval_months"]) if rule.get("interval_months") else None)


def _dates_by(db: Database, sql: str, params: list) -> dict:
    """{key: [held_on, ...]} from rows (key, held_on)."""
    found: dict = defaultdict(list)
    for key, held in db.query(sql, params):
        found[key].append(held)
    return found


def _filings(db: Database, subject_type: str) -> dict[str, dict]:
    """The latest filing of each subject: {subject_id: {filed_on, filed_with, receipt_no, version}}."""
    rows = db.query_dicts(
        "SELECT subject_id, filed_on, filed_with, receipt_no, version FROM filings WHERE subject_type = ?"
        " QUALIFY row_number() OVER (PARTITION BY subject_id ORDER BY filed_on DESC, id DESC) = 1",
        [subject_type],
    )
    return {r["subject_id"]: r for r in rows}


# County plans --------------------------------------------------------------------------------------
# The table families (db.FAMILIES) the clocks of plans, township plans and villages read (plans and
# their filings, drills, deadline rules, voided records, townships and villages, villages' entries in
# the system); a cache of them keys on db.generation_of(*these).
CLOCK_READS = ("plans", "drills", "records", "places", "calls")
# overdue_list reads these and the enterprises (registry).
OVERDUE_READS = (*CLOCK_READS, "registry")


def plan_deadlines(db: Database, today: date, warn_days: int = WARN_DAYS) -> list[dict]:
    """Every active plan: its three clocks (drill, evaluation, filing) with their rules and sources.

    The version in force was issued on its 印发日期 (plan file) or, when the registry recorded a
    later revision, on that revision's date: every clock starts there. last_drill_on is the last
    drill since then (last_drill_ever: any drill, shown for information).
    """
    # The history is reduced in SQL to two facts per plan, the last drill and how many: the last one
    # counts if it was held since the clock's start, and if it was not, no earlier one does.
    rows = db.query_dicts(
        "SELECT p.code, p.name, p.category, p.lead_department, p.response_levels, p.version, p.revised_on,"
        " p.last_evaluated_on, p.needs_revision, m.plan_type, m.drill_rule, m.evaluation_rule,"
        " m.drill_months_override, m.evaluation_months_override, m.issued_on, m.doc_number,"
        " d.last_held, coalesce(d.drills, 0) AS drills"
        " FROM plans p LEFT JOIN plan_meta m ON m.plan_code = p.code"
        " LEFT JOIN (SELECT dp.plan_code, max(d.held_on) AS last_held, count(*) AS drills"
        "   FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id"
        f"   WHERE d.held_on <= ? AND {live('drills', 'd')} GROUP BY dp.plan_code) d ON d.plan_code = p.code"
        " WHERE p.status = 'active' ORDER BY p.code",
        [today],
    )
    filed = _filings(db, "plan")
    rules = rule_table(db)
    for row in rows:
        history = DrillHistory(row.pop("last_held"), row.pop("drills"))
        plan_clock(row, history, filed.get(row["code"]), rules, today, warn_days)
    return rows


@dataclass(frozen=True)
class DrillHistory:
    """What a plan's clocks need of its past drills (up to today): the last one and how many."""

    last: date | None = None
    count: int = 0


def plan_clock(row: dict, drills: DrillHistory, filing: dict | None, rules: dict, today: date, warn_days: int) -> dict:
    """Fill one plan row (from plan_deadlines' query) with its clocks; pure."""
    start = version_issued_on(row["issued_on"], row["revised_on"])
    row["clock_start"] = start
    drill_rule = _rule_of(rules, row.get("drill_rule") or "plan_drill_default")
    months = interval(drill_rule, row.get("drill_months_override"))
    row["drill_rule_code"], row["drill_interval_months"] = drill_rule["code"], months
    row["drill_override"] = bool(row.get("drill_months_override"))
    row["drill_rule"], row["drill_source"] = drill_rule["label"], drill_rule["source"]
    row["last_drill_ever"] = drills.last
    row["last_drill_on"] = last_done([drills.last], start, today)
    row["drill_count"] = drills.count
    row["drill_due_on"] = clock_due(row["last_drill_on"], start, months) if months else None
    row["drill_status"] = deadline_status(row["drill_due_on"], today, warn_days)
    eval_rule = _rule_of(rules, row.get("evaluation_rule") or "plan_evaluation")
    eval_months = interval(eval_rule, row.get("evaluation_months_override"))
    row["evaluation_rule_code"], row["evaluation_interval_months"] = eval_rule["code"], eval_months
    row["evaluation_rule"], row["evaluation_source"] = eval_rule["label"], eval_rule["source"]
    evaluated = last_done([row["last_evaluated_on"]], start, today)
    row["evaluation_clock_from"] = evaluated or start
    row["evaluation_due_on"] = clock_due(evaluated, start, eval_months) if eval_months else None
    row["evaluation_status"] = deadline_status(row["evaluation_due_on"], today, warn_days)
    filing_rule = _rule_of(rules, "plan_filing")
    clock = filing_clock(start, (filing or {}).get("filed_on"), today, int(filing_rule.get("working_days") or 20))
    row["filing_rule"], row["filing_source"] = filing_rule["label"], filing_rule["source"]
    row["filing_due_on"], row["filed_on"], row["filing_status"] = clock["due_on"], clock["filed_on"], clock["status"]
    row["filed_late"] = clock["filed_late"]
    row["filed_with"] = (filing or {}).get("filed_with") if clock["filed_on"] else None
    row["receipt_no"] = (filing or {}).get("receipt_no") if clock["filed_on"] else None
    # The plan's overall status: the worst of its clocks.
    row["status"] = worst_status(row["drill_status"], row["evaluation_status"], row["filing_status"])
    row["status_label"] = STATUS_LABELS[row["status"]]
    return row


def version_issued_on(issued_on: date | None, revised_on: date | None) -> date | None:
    """When the version in force was issued: the file's 印发日期, unless a later revision was recorded."""
    dates = [d for d in (issued_on, revised_on) if d]
    if issued_on and revised_on and issued_on >= revised_on:
        return issued_on
    return max(dates, default=None)


# Seasons -------------------------------------------------------------------------------------------
def season_rules(db: Database) -> list[dict]:
    """The seasonal rules (flood season, forest-fire period), each with the plans it covers and its source."""
    rules = db.query_dicts(
        "SELECT * FROM deadline_rules WHERE applies_to = 'season' AND season_start IS NOT NULL ORDER BY code"
    )
    domains = _dates_by(db, "SELECT domain_code, plan_code FROM plan_domains", [])
    for rule in rules:
        plans = set(csv(rule["subject"]))
        for domain in csv(rule["domains"]):
            plans |= set(domains.get(domain, []))
        rule["plans"] = sorted(plans)
    return rules


def season_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """Per seasonal rule: the county's row (any drill of the rule's plans, every level) and one row per
    township (drills in that township of those plans, county drills held there included)."""
    rules = season_rules(db)
    places = [({"code": None, "name": "全县"})] if township_code is None else []
    places += _townships(db, township_code)
    rows = []
    for rule in rules:
        held = _season_drills(db, rule, today, township_code)
        for place in places:
            result = seasonal_status(
                held.get(place["code"], []),
                rule["season_start"],
                rule["season_end"],
                rule["due_at"] or "start",
                today,
                warn_days,
            )
            rows.append(
                {
                    "township_code": place["code"],
                    "township_name": place["name"],
                    "rule_code": rule["code"],
                    "plan_code": ",".join(rule["plans"]),
                    "rule": rule["label"],
                    "source": rule["source"],
                    "season_start": rule["season_start"],
                    "season_end": rule["season_end"],
                    **result,
                }
            )
    return rows


def _season_drills(db: Database, rule: dict, today: date, township_code: str | None) -> dict[str | None, list]:
    """{township code (None: the county): drill dates} for a seasonal rule, reduced to what
    rules.seasonal_status reads: the last drill of the rule's plans (held by today) in the current
    season's window and the last in the previous season's window, per township and for the whole
    county (county drills held in no township count for the county only). One aggregate in SQL,
    instead of every drill in Python (at 100 times the county, 2.4 s a view)."""
    if not rule["plans"]:
        return {}
    _, (start, due), (prev_start, prev_due) = season_windows(
        rule["season_start"], rule["season_end"], rule["due_at"] or "start", today
    )
    scope, params = ("", []) if township_code is None else (" AND d.township_code = ?", [township_code])
    found = db.query(
        "SELECT GROUPING(d.township_code) AS county, d.township_code,"
        " max(d.held_on) FILTER (WHERE d.held_on BETWEEN ? AND ?), max(d.held_on) FILTER (WHERE d.held_on BETWEEN ? AND ?)"
        " FROM drills d WHERE d.held_on <= ? AND d.id IN (SELECT drill_id FROM drill_plans"
        f" WHERE plan_code IN ({', '.join('?' * len(rule['plans']))})) AND {live('drills', 'd')}{scope}"
        " GROUP BY GROUPING SETS ((d.township_code), ())",
        [start, due, prev_start, prev_due, today, *rule["plans"], *params],
    )
    held: dict[str | None, list] = {}
    for county, town, last, previous in found:
        if county or town is not None:  # a township's row, or the county's (all drills)
            held[None if county else town] = [d for d in (last, previous) if d is not None]
    return held


def _townships(db: Database, township_code: str | None) -> list[dict]:
    params, where = [], "WHERE is_township"
    if township_code:
        where += " AND code = ?"
        params.append(township_code)
    return db.query_dicts(f"SELECT code, name FROM townships {where} ORDER BY sort_order", params)


# Township and village plans ------------------------------------------------------------------------
def township_plan_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """Each township plan (总体应急预案 and special plans): its drill clock (its rule; from its issue)
    and its filing with the county. A drill counts when it is a township- or village-level drill in
    that township of the plan's county counterpart (for the 总体 plan: any comprehensive township drill)."""
    params: list = []
    extra = ""
    if township_code:
        extra, params = " AND l.township_code = ?", [township_code]
    # The last drill, found in SQL: a township or village drill of the plan's county counterpart in
    # that township (the 总体 plan: a comprehensive township drill); the clock counts it from the issue.
    rows = db.query_dicts(
        "SELECT l.id, l.name, l.township_code, t.name AS township_name, l.plan_code, l.drill_rule, l.version,"
        " l.issued_on, l.doc_number, CASE WHEN l.plan_code IS NULL THEN"
        "   (SELECT max(d.held_on) FROM drills d WHERE d.level = 'township' AND d.content = 'comprehensive'"
        f"     AND d.township_code = l.township_code AND d.held_on <= ? AND {live('drills', 'd')})"
        " ELSE (SELECT max(d.held_on) FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id"
        "   WHERE d.level IN ('township', 'village') AND d.township_code = l.township_code"
        f"   AND dp.plan_code = l.plan_code AND d.held_on <= ? AND {live('drills', 'd')}) END AS last_held"
        " FROM local_plans l JOIN townships t ON t.code = l.township_code"
        f" WHERE l.level = 'township'{extra} ORDER BY t.sort_order, l.plan_code NULLS FIRST, l.id",
        [today, today, *params],
    )
    filed = _filings(db, "local_plan")
    rules = rule_table(db)
    for row in rows:
        rule = _rule_of(rules, row["drill_rule"])
        _interval_clock(row, rule, [row.pop("last_held")], row["issued_on"], today, warn_days)
        row["rule_code"] = rule["code"]
        _filing(row, rules, filed.get(str(row["id"])), today)
    return rows


def _interval_clock(
    row: dict, rule: dict, held: list, start: date | None, today: date, warn_days: int, months: int | None = None
) -> dict:
    months = months or interval(rule)
    row["clock_start"] = start
    row["interval_months"], row["rule"], row["source"] = months, rule["label"], rule["source"]
    row["last_drill_on"] = last_done(held, start, today)
    row["due_on"] = clock_due(row["last_drill_on"], start, months) if months else None
    row["status"] = deadline_status(row["due_on"], today, warn_days)
    return row


def _filing(row: dict, rules: dict, filing: dict | None, today: date, rule_code: str = "plan_filing") -> dict:
    rule = _rule_of(rules, rule_code)
    clock = filing_clock(row["issued_on"], (filing or {}).get("filed_on"), today, int(rule.get("working_days") or 20))
    row["filing_due_on"], row["filed_on"], row["filing_status"] = clock["due_on"], clock["filed_on"], clock["status"]
    row["filed_with"] = (filing or {}).get("filed_with") if clock["filed_on"] else None
    row["filing_rule"], row["filing_source"] = rule["label"], rule["source"]
    return row


def village_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """Each village (community): its yearly drill, from its entry in the system or its plan's issue
    (the later), and its plan's filing with the township."""
    params: list = [today]
    where = "WHERE NOT v.is_virtual"
    if township_code:
        where += " AND v.township_code = ?"
        params.append(township_code)
    rows = db.query_dicts(
        "SELECT v.code, v.name, v.township_code, t.name AS township_name, e.entered_on, l.id AS plan_id,"
        " l.name AS plan_name, l.issued_on, l.drill_rule,"
        " d.last_held FROM villages v JOIN townships t ON t.code = v.township_code"
        " LEFT JOIN village_entries e ON e.village_code = v.code"
        " LEFT JOIN (SELECT * FROM local_plans WHERE level = 'village'"
        "   QUALIFY row_number() OVER (PARTITION BY village_code ORDER BY issued_on DESC NULLS LAST, id DESC) = 1) l"
        "   ON l.village_code = v.code"
        " LEFT JOIN (SELECT village_code, max(held_on) AS last_held FROM drills dx"
        f"   WHERE village_code IS NOT NULL AND held_on <= ? AND {live('drills', 'dx')}"
        "   GROUP BY village_code) d ON d.village_code = v.code"
        f" {where} ORDER BY t.sort_order, v.code",
        params,
    )
    rules = rule_table(db)
    filed = _filings(db, "local_plan")
    for row in rows:
        rule = _rule_of(rules, row.pop("drill_rule") or "village_yearly")
        start = max([d for d in (row["entered_on"], row["issued_on"]) if d], default=None)
        _interval_clock(row, rule, [row.pop("last_held")], start, today, warn_days)
        row["rule_code"] = rule["code"]
        if row["plan_id"] is not None:
            _filing(row, rules, filed.get(str(row["plan_id"])), today)
    return rows


# Enterprises ---------------------------------------------------------------------------------------
def enterprise_rule(rules: dict, sector: str) -> dict:
    """The drill rule of a sector: the enterprise_sector rule listing it, else the one for 'other'."""
    candidates = [r for r in rules.values() if r["applies_to"] == "enterprise_sector"]
    return next(
        (r for r in candidates if sector in csv(r["subject"])),
        next((r for r in candidates if "other" in csv(r["subject"])), _rule_of(rules, "enterprise_yearly")),
    )


def enterprise_interval(rules: dict, sector: str) -> tuple[int, dict]:
    """Months between drills for a sector (half-yearly for the sectors of 条例 Art. 8, else yearly)."""
    rule = enterprise_rule(rules, sector)
    return int(rule["interval_months"]), rule


def enterprise_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """Each open enterprise: its comprehensive-or-special drill clock by sector (from registration),
    whether its last drill was reported to the regulator, and drills in the last 12 months."""
    params: list = [today, today]
    where = f"WHERE e.closed_on IS NULL AND {live('enterprises', 'e')}"
    if township_code:
        where += " AND e.township_code = ?"
        params.append(township_code)
    rows = db.query_dicts(
        "SELECT e.id, e.name, e.sector, e.township_code, t.name AS township_name, e.registered_on, d.last_held,"
        " d.drills_12m, d.reported FROM enterprises e JOIN townships t ON t.code = e.township_code"
        " LEFT JOIN (SELECT dr.enterprise_id,"
        "   max(dr.held_on) AS last_held,"
        "   count(*) FILTER (WHERE dr.held_on > CAST(? AS DATE) - INTERVAL 12 MONTH) AS drills_12m,"
        "   max(r.reported_on) AS reported"
        "   FROM drills dr LEFT JOIN drill_reports r ON r.drill_id = dr.id"
        "   WHERE dr.enterprise_id IS NOT NULL AND dr.held_on <= CAST(? AS DATE)"
        f"   AND {live('drills', 'dr')} GROUP BY dr.enterprise_id) d"
        "   ON d.enterprise_id = e.id"
        f" {where} ORDER BY t.sort_order, e.name",
        params,
    )
    rules = rule_table(db)
    by_sector: dict[str, dict] = {}  # a handful of sectors, thousands of enterprises
    for row in rows:
        if row["sector"] not in by_sector:
            by_sector[row["sector"]] = enterprise_rule(rules, row["sector"])
        rule = by_sector[row["sector"]]
        _interval_clock(row, rule, [row.pop("last_held")], row["registered_on"], today, warn_days)
        row["rule_code"] = rule["code"]
        row["drills_12m"] = row["drills_12m"] or 0
        row["last_reported_on"] = row.pop("reported")
        row["must_report"] = enums.ENTERPRISE_SECTORS.get(row["sector"], ("", False))[1]
    return rows


def enterprise_plan_deadlines(db: Database, today: date, warn_days: int = WARN_DAYS) -> list[dict]:
    """Each enterprise plan (综合 / 专项 / 现场处置方案): its filing clock (20 working days from issue),
    for a 现场处置方案 its half-yearly drill, for a comprehensive plan of a high-risk unit its
    3-yearly evaluation. Keys: the plan's, plus drill_* / evaluation_* where the clock applies."""
    rows = db.query_dicts(
        "SELECT p.id, p.enterprise_id, e.name AS enterprise_name, e.sector, e.township_code, e.registered_on,"
        " p.plan_type, p.name, p.issued_on, p.last_evaluated_on FROM enterprise_plans p"
        " JOIN enterprises e ON e.id = p.enterprise_id WHERE e.closed_on IS NULL ORDER BY p.enterprise_id, p.id"
    )
    onsite = _dates_by(
        db,
        "SELECT d.enterprise_id, d.held_on FROM drills d JOIN drill_reports r ON r.drill_id = d.id"
        f" WHERE r.plan_type = 'onsite' AND d.held_on <= ? AND {live('drills', 'd')}",
        [today],
    )
    filed = _filings(db, "enterprise_plan")
    rules = rule_table(db)
    evaluation = _rule_of(rules, "enterprise_evaluation")
    for row in rows:
        _filing(row, rules, filed.get(str(row["id"])), today, "enterprise_filing")
        row["drill_status"] = row["evaluation_status"] = None
        start = max([d for d in (row["registered_on"], row["issued_on"]) if d], default=None)
        if row["plan_type"] == "onsite":
            drill = _interval_clock(
                {}, _rule_of(rules, "enterprise_onsite"), onsite.get(row["enterprise_id"], []), start, today, warn_days
            )
            row.update({f"drill_{k}": v for k, v in drill.items()})
            row["drill_status"] = drill["status"]
        if row["plan_type"] == "comprehensive" and row["sector"] in csv(evaluation["subject"]):
            months = interval(evaluation)
            done = last_done([row["last_evaluated_on"]], row["issued_on"], today)
            row["evaluation_last_on"], row["evaluation_interval_months"] = done, months
            row["evaluation_due_on"] = clock_due(done, row["issued_on"], months) if months else None
            row["evaluation_status"] = deadline_status(row["evaluation_due_on"], today, warn_days)
            row["evaluation_rule"], row["evaluation_source"] = evaluation["label"], evaluation["source"]
    return rows


# Every clock, one shape (the `deadlines` command) -----------------------------------------------------
def _clock(kind, code, name, rule, months, last, start, due, status, source, **extra) -> dict:
    return {
        "kind": kind,
        "code": code,
        "name": name,
        "rule": rule,
        "interval_months": months,
        "last_done": last,
        "clock_start": start,
        "due_on": due,
        "status": status,
        "source": source,
        **extra,
    }


def all_clocks(db: Database, today: date, kind: str | None = None, warn_days: int = WARN_DAYS) -> list[dict]:
    """Every clock of the registry as one flat list of {kind, code, name, rule, interval_months,
    last_done, clock_start, due_on, status, source, township} (kind: plan, enterprise, village,
    filing, evaluation); seasonal rows are plan clocks with interval_months None and a season."""
    want = (lambda k: True) if kind is None else (lambda k: k == kind)
    out: list[dict] = []
    plans: list[dict] = []
    local: list[dict] = []
    villages: list[dict] = []
    eplans: list[dict] = []
    if want("plan") or want("filing") or want("evaluation"):
        plans = plan_deadlines(db, today, warn_days)
        local = township_plan_deadlines(db, today, warn_days)
    if want("plan"):
        for p in plans:
            out.append(
                _clock(
                    "plan",
                    p["code"],
                    p["name"],
                    p["drill_rule_code"],
                    p["drill_interval_months"],
                    p["last_drill_on"],
                    p["clock_start"],
                    p["drill_due_on"],
                    p["drill_status"],
                    p["drill_source"],
                    township="全县",
                    override=p["drill_override"],
                )
            )
        for s in season_deadlines(db, today, warn_days):
            out.append(
                _clock(
                    "plan",
                    f"{s['township_code'] or 'county'}:{s['rule_code']}",
                    f"{s['township_name']}{s['rule']}",
                    s["rule_code"],
                    None,
                    s["done_on"],
                    None,
                    s["due_on"],
                    s["status"],
                    s["source"],
                    township=s["township_name"],
                    season_start=s["season_start"],
                    season_end=s["season_end"],
                )
            )
        for t in local:
            out.append(
                _clock(
                    "plan",
                    f"{t['township_code']}:{t['plan_code'] or '总体'}",
                    f"{t['township_name']}{t['name']}",
                    t["rule_code"],
                    t["interval_months"],
                    t["last_drill_on"],
                    t["clock_start"],
                    t["due_on"],
                    t["status"],
                    t["source"],
                    township=t["township_name"],
                )
            )
    if want("enterprise"):
        for e in enterprise_deadlines(db, today, warn_days):
            out.append(
                _clock(
                    "enterprise",
                    str(e["id"]),
                    e["name"],
                    e["rule_code"],
                    e["interval_months"],
                    e["last_drill_on"],
                    e["clock_start"],
                    e["due_on"],
                    e["status"],
                    e["source"],
                    township=e["township_name"],
                    last_reported_on=e["last_reported_on"],
                )
            )
        for p in enterprise_plan_deadlines(db, today, warn_days):
            if p["drill_status"]:
                out.append(
                    _clock(
                        "enterprise",
                        f"{p['enterprise_id']}:onsite:{p['id']}",
                        f"{p['enterprise_name']}{p['name']}",
                        "enterprise_onsite",
                        p["drill_interval_months"],
                        p["drill_last_drill_on"],
                        p["drill_clock_start"],
                        p["drill_due_on"],
                        p["drill_status"],
                        p["drill_source"],
                    )
                )
    if want("village"):
        for v in village_deadlines(db, today, warn_days):
            out.append(
                _clock(
                    "village",
                    v["code"],
                    v["name"],
                    v["rule_code"],
                    v["interval_months"],
                    v["last_drill_on"],
                    v["clock_start"],
                    v["due_on"],
                    v["status"],
                    v["source"],
                    township=v["township_name"],
                )
            )
    if want("filing") or want("evaluation"):
        villages = village_deadlines(db, today, warn_days) if want("filing") else []
        eplans = enterprise_plan_deadlines(db, today, warn_days)
    if want("filing"):
        for p in plans:
            out.append(
                _clock(
                    "filing",
                    p["code"],
                    p["name"],
                    "plan_filing",
                    None,
                    p["filed_on"],
                    p["clock_start"],
                    p["filing_due_on"],
                    p["filing_status"],
                    p["filing_source"],
                    township="全县",
                    filed_with=p["filed_with"],
                )
            )
        for t in local:
            out.append(
                _clock(
                    "filing",
                    f"local:{t['id']}",
                    f"{t['township_name']}{t['name']}",
                    "plan_filing",
                    None,
                    t["filed_on"],
                    t["issued_on"],
                    t["filing_due_on"],
                    t["filing_status"],
                    t["filing_source"],
                    township=t["township_name"],
                    filed_with=t["filed_with"],
                )
            )
        for v in villages:
            if v["plan_id"] is not None:
                out.append(
                    _clock(
                        "filing",
                        f"local:{v['plan_id']}",
                        f"{v['name']}{v['plan_name']}",
                        "plan_filing",
                        None,
                        v["filed_on"],
                        v["issued_on"],
                        v["filing_due_on"],
                        v["filing_status"],
                        v["filing_source"],
                        township=v["township_name"],
                        filed_with=v["filed_with"],
                    )
                )
        for p in eplans:
            out.append(
                _clock(
                    "filing",
                    f"enterprise_plan:{p['id']}",
                    f"{p['enterprise_name']}{p['name']}",
                    "enterprise_filing",
                    None,
                    p["filed_on"],
                    p["issued_on"],
                    p["filing_due_on"],
                    p["filing_status"],
                    p["filing_source"],
                    filed_with=p["filed_with"],
                )
            )
    if want("evaluation"):
        for p in plans:
            out.append(
                _clock(
                    "evaluation",
                    p["code"],
                    p["name"],
                    p["evaluation_rule_code"],
                    p["evaluation_interval_months"],
                    p["last_evaluated_on"] if p["evaluation_clock_from"] != p["clock_start"] else None,
                    p["clock_start"],
                    p["evaluation_due_on"],
                    p["evaluation_status"],
                    p["evaluation_source"],
                    township="全县",
                )
            )
        for p in eplans:
            if p["evaluation_status"]:
                out.append(
                    _clock(
                        "evaluation",
                        f"enterprise_plan:{p['id']}",
                        f"{p['enterprise_name']}{p['name']}",
                        "enterprise_evaluation",
                        p["evaluation_interval_months"],
                        p["evaluation_last_on"],
                        p["issued_on"],
                        p["evaluation_due_on"],
                        p["evaluation_status"],
                        p["evaluation_source"],
                    )
                )
    return out


# Compliance summaries --------------------------------------------------------------------------------
def is_late(status: str | None) -> bool:
    """Overdue (a subject never done is late only once its first interval has passed)."""
    return status == OVERDUE


def township_compliance(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """One row per township: how many of its villages and enterprises are late, its seasonal and own
    plans' statuses, open overdue corrective actions, and its overall (worst) status."""
    villages = village_deadlines(db, today, warn_days, township_code)
    enterprises = enterprise_deadlines(db, today, warn_days, township_code)
    seasons = [s for s in season_deadlines(db, today, warn_days, township_code) if s["township_code"]]
    own_plans = township_plan_deadlines(db, today, warn_days, township_code)
    overdue_actions = dict(
        db.query(
            "SELECT d.township_code, count(*) FROM corrective_actions a JOIN drills d ON d.id = a.drill_id"
            " WHERE a.closed_on IS NULL AND a.due_on < ? AND d.township_code IS NOT NULL"
            f" AND {live('drills', 'd')} AND {live('corrective_actions', 'a')} GROUP BY 1",
            [today],
        )
    )
    rows = []
    for town in _townships(db, township_code):
        code = town["code"]
        vs = [v for v in villages if v["township_code"] == code]
        es = [e for e in enterprises if e["township_code"] == code]
        ss = {s["rule_code"]: s for s in seasons if s["township_code"] == code}
        ps = [p for p in own_plans if p["township_code"] == code]
        row = {
            "township_code": code,
            "township_name": town["name"],
            "villages": len(vs),
            "villages_late": sum(is_late(v["status"]) for v in vs),
            "enterprises": len(es),
            "enterprises_late": sum(is_late(e["status"]) for e in es),
            "plans": len(ps),
            "plans_late": sum(is_late(p["status"]) or is_late(p["filing_status"]) for p in ps),
            "overdue_actions": int(overdue_actions.get(code, 0)),
        }
        for rule_code, s in ss.items():
            row[f"{rule_code}_status"] = s["status"]
        row["status"] = worst_status(
            *(s["status"] for s in ss.values()),
            OVERDUE
            if row["villages_late"] or row["enterprises_late"] or row["overdue_actions"] or row["plans_late"]
            else None,
        )
        rows.append(row)
    return rows


def overdue_list(db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None) -> list[dict]:
    """Everything that is late today, one row each: {kind, subject, township_name, last_on, due_on, status, rule, source}.

    County plans (drill, evaluation, filing) and the county's seasons are listed only when no
    township is asked for.
    """
    out: list[dict] = []

    def late(kind, subject, township_name, last_on, due_on, status, rule, source):
        if is_late(status):
            out.append(
                {
                    "kind": kind,
                    "subject": subject,
                    "township_name": township_name,
                    "last_on": last_on,
                    "due_on": due_on,
                    "status": status,
                    "rule": rule,
                    "source": source,
                }
            )

    if township_code is None:
        for p in plan_deadlines(db, today, warn_days):
            subject = f"{p['code']} {p['name']}"
            late(
                "预案演练",
                subject,
                "全县",
                p["last_drill_on"],
                p["drill_due_on"],
                p["drill_status"],
                p["drill_rule"],
                p["drill_source"],
            )
            late(
                "预案评估",
                subject,
                "全县",
                p["evaluation_clock_from"],
                p["evaluation_due_on"],
                p["evaluation_status"],
                p["evaluation_rule"],
                p["evaluation_source"],
            )
            late(
                "预案备案",
                subject,
                "全县",
                p["clock_start"],
                p["filing_due_on"],
                p["filing_status"],
                p["filing_rule"],
                p["filing_source"],
            )
    for e in enterprise_deadlines(db, today, warn_days, township_code):
        late(
            "企业演练",
            e["name"],
            e["township_name"],
            e["last_drill_on"],
            e["due_on"],
            e["status"],
            e["rule"],
            e["source"],
        )
    for s in season_deadlines(db, today, warn_days, township_code):
        late(
            "汛前/防火期演练",
            s["township_name"],
            s["township_name"],
            s["done_on"],
            s["due_on"],
            s["status"],
            s["rule"],
            s["source"],
        )
    for p in township_plan_deadlines(db, today, warn_days, township_code):
        subject = f"{p['township_name']}{p['name']}"
        late(
            "乡镇预案演练",
            subject,
            p["township_name"],
            p["last_drill_on"],
            p["due_on"],
            p["status"],
            p["rule"],
            p["source"],
        )
        late(
            "乡镇预案备案",
            subject,
            p["township_name"],
            p["issued_on"],
            p["filing_due_on"],
            p["filing_status"],
            p["filing_rule"],
            p["filing_source"],
        )
    for v in village_deadlines(db, today, warn_days, township_code):
        late(
            "村（社区）演练",
            v["name"],
            v["township_name"],
            v["last_drill_on"],
            v["due_on"],
            v["status"],
            v["rule"],
            v["source"],
        )
    for row in out:
        row["status_label"] = STATUS_LABELS[row["status"]]
    return out


# The rule table: read and edit (admin, audited) ------------------------------------------------------
RULE_COLUMNS = (
    "code, applies_to, subject, domains, interval_months, season_start, season_end, due_at, working_days,"
    " label, source, certainty"
)


def all_rules(db: Database) -> list[dict]:
    """The deadline_rules table (what the bureau may edit), for the pages and `rules list`."""
    return db.query_dicts(f"SELECT {RULE_COLUMNS} FROM deadline_rules ORDER BY applies_to, code")


def set_rule(
    db: Database,
    actor: User,
    code: str,
    *,
    months: int | None = None,
    season_start: str | None = None,
    season_end: str | None = None,
) -> dict:
    """Change a rule's interval (months) or season (MM-DD start/end): admin only, audited, one
    transaction. Every subject under the rule is recomputed at its next read. Returns the new row."""
    from . import audit
    from .auth import require_admin
    from .db import row_dict
    from .errors import Problem, ValidationError

    require_admin(actor, "修改期限规则")

    def work(cur: Cursor) -> dict:
        before = row_dict(cur, f"SELECT {RULE_COLUMNS} FROM deadline_rules WHERE code = ?", [code])
        if not before:
            raise ValidationError.single("规则", f"期限规则 {code} 不存在")
        problems: list = []
        after: dict[str, object] = {}
        if months is not None:
            if before["applies_to"] in ("season", "plan_filing", "enterprise_filing"):
                problems.append(Problem("间隔（月）", f"规则 {code} 不按月计算，不能设置间隔"))
            elif isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
                problems.append(Problem("间隔（月）", f"必须是 1 到 120 之间的整数（当前：{months}）"))
            else:
                after["interval_months"] = months
        for field, value, label in (("season_start", season_start, "开始"), ("season_end", season_end, "结束")):
            if value is None:
                continue
            if before["applies_to"] != "season":
                problems.append(Problem(f"季节{label}", f"规则 {code} 不是季节性规则"))
                continue
            try:
                after[field] = parse_month_day(value)
            except ValueError as exc:
                problems.append(Problem(f"季节{label}", str(exc)))
        if not problems and not after:
            problems.append(Problem("规则", "没有要修改的内容（--months 或季节起止）"))
        if problems:
            raise ValidationError(problems)
        cur.execute(
            f"UPDATE deadline_rules SET {', '.join(f'{k} = ?' for k in after)} WHERE code = ?", [*after.values(), code]
        )
        audit.record(cur, actor, "update", "deadline_rules", code, {k: before[k] for k in after}, after)
        return {**before, **after}

    return db.write(work)
