"""The law's clocks: when each plan, enterprise and village is next due to drill (and each plan to
be evaluated), and whether it is on time, due soon or overdue.

One set-based query per subject finds the last date; the pure functions of rules.py turn it into a
due date and a status. Intervals are data: plans carry their own (plans/*.md), enterprises and
villages take theirs from the deadline_rules table; every row names its legal source.
"""
from __future__ import annotations

from datetime import date

from . import enums
from .rules import NEVER, OVERDUE, deadline_status, due_date

WARN_DAYS = 90


def _rules(db) -> dict[str, dict]:
    return {r["code"]: r for r in db.query_dicts("SELECT * FROM deadline_rules")}


def _plan_rule(rules: dict, plan_code: str, applies_to: str) -> dict:
    specific = [r for r in rules.values() if r["applies_to"] == applies_to and r["subject"] == plan_code]
    default = [r for r in rules.values() if r["applies_to"] == applies_to and not r["subject"]]
    return (specific or default or [{"label": "", "source": ""}])[0]


def plan_deadlines(db, today: date, warn_days: int = WARN_DAYS) -> list[dict]:
    """Every active plan: last drill and evaluation, their due dates and statuses, with the rule's source.

    The evaluation clock runs from the later of the last evaluation and the last revision.
    """
    rows = db.query_dicts(
        "SELECT p.code, p.name, p.category, p.lead_department, p.drill_every_months, p.review_every_months,"
        " p.version, p.revised_on, p.last_evaluated_on, p.needs_revision,"
        " (SELECT max(d.held_on) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id"
        "   WHERE dp.plan_code = p.code AND d.held_on <= ?) AS last_drill_on,"
        " (SELECT count(*) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id WHERE dp.plan_code = p.code"
        "   AND d.held_on <= ?) AS drill_count"
        " FROM plans p WHERE p.status = 'active' ORDER BY p.code", [today, today])
    rules = _rules(db)
    for row in rows:
        row["drill_due_on"] = due_date(row["last_drill_on"], row["drill_every_months"])
        row["drill_status"] = deadline_status(row["drill_due_on"], today, warn_days)
        drill_rule = _plan_rule(rules, row["code"], "plan")
        row["drill_rule"], row["drill_source"] = drill_rule["label"], drill_rule["source"]
        clock = max([d for d in (row["last_evaluated_on"], row["revised_on"]) if d], default=None)
        row["evaluation_clock_from"] = clock
        row["evaluation_due_on"] = due_date(clock, row["review_every_months"])
        row["evaluation_status"] = deadline_status(row["evaluation_due_on"], today, warn_days)
        eval_rule = _plan_rule(rules, row["code"], "plan_evaluation")
        row["evaluation_source"] = eval_rule["source"]
    return rows


def enterprise_interval(rules: dict, sector: str) -> tuple[int, dict]:
    """Months between drills for a sector: half-yearly for the sectors of 条例 Art. 8, else yearly."""
    half_yearly = enums.ENTERPRISE_SECTORS.get(sector, ("", False))[1]
    rule = rules.get("enterprise_half_yearly" if half_yearly else "enterprise_yearly")
    return int(rule["interval_months"]), rule


def enterprise_deadlines(db, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None) -> list[dict]:
    params: list = [today]
    where = "WHERE e.closed_on IS NULL"
    if township_code:
        where += " AND e.township_code = ?"
        params.append(township_code)
    rows = db.query_dicts(
        "SELECT e.id, e.name, e.sector, e.township_code, t.name AS township_name, d.last_drill_on, d.drills_12m"
        " FROM enterprises e JOIN townships t ON t.code = e.township_code"
        " LEFT JOIN (SELECT enterprise_id, max(held_on) AS last_drill_on,"
        "   count(*) FILTER (WHERE held_on > CAST(? AS DATE) - INTERVAL 12 MONTH) AS drills_12m"
        "   FROM drills WHERE enterprise_id IS NOT NULL AND held_on <= CAST(? AS DATE) GROUP BY enterprise_id) d"
        "   ON d.enterprise_id = e.id"
        f" {where} ORDER BY t.sort_order, e.name", [today, *params])
    rules = _rules(db)
    for row in rows:
        months, rule = enterprise_interval(rules, row["sector"])
        row["interval_months"], row["rule"], row["source"] = months, rule["label"], rule["source"]
        row["due_on"] = due_date(row["last_drill_on"], months)
        row["status"] = deadline_status(row["due_on"], today, warn_days)
        row["drills_12m"] = row["drills_12m"] or 0
    return rows


def village_deadlines(db, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None) -> list[dict]:
    params: list = [today]
    where = "WHERE NOT v.is_virtual"
    if township_code:
        where += " AND v.township_code = ?"
        params.append(township_code)
    rows = db.query_dicts(
        "SELECT v.code, v.name, v.township_code, t.name AS township_name, d.last_drill_on"
        " FROM villages v JOIN townships t ON t.code = v.township_code"
        " LEFT JOIN (SELECT village_code, max(held_on) AS last_drill_on FROM drills"
        "   WHERE village_code IS NOT NULL AND held_on <= ? GROUP BY village_code) d ON d.village_code = v.code"
        f" {where} ORDER BY t.sort_order, v.code", params)
    rule = _rules(db)["village_yearly"]
    for row in rows:
        row["interval_months"], row["rule"], row["source"] = rule["interval_months"], rule["label"], rule["source"]
        row["due_on"] = due_date(row["last_drill_on"], rule["interval_months"])
        row["status"] = deadline_status(row["due_on"], today, warn_days)
    return rows


def is_late(status: str) -> bool:
    """Overdue, or never done at all: both count as not compliant."""
    return status in (OVERDUE, NEVER)
