"""The law's clocks: when each plan, enterprise and village is next due to drill (and each plan to
be evaluated), and whether it is on time, due soon or overdue.

One set-based query per subject finds the last date; the pure functions of rules.py turn it into a
due date and a status. Intervals are data: plans carry their own (plans/*.md), enterprises and
villages take theirs from the deadline_rules table; every row names its legal source.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from . import enums
from .records import live
from .rules import NEVER, OVERDUE, STATUS_LABELS, deadline_status, due_date, seasonal_status, worst_status

if TYPE_CHECKING:
    from .db import Database

WARN_DAYS = 90


def _rules(db: Database) -> dict[str, dict]:
    return {r["code"]: r for r in db.query_dicts("SELECT * FROM deadline_rules")}


def _plan_rule(rules: dict, plan_code: str, applies_to: str) -> dict:
    specific = [r for r in rules.values() if r["applies_to"] == applies_to and r["subject"] == plan_code]
    default = [r for r in rules.values() if r["applies_to"] == applies_to and not r["subject"]]
    return (specific or default or [{"label": "", "source": ""}])[0]


def plan_deadlines(db: Database, today: date, warn_days: int = WARN_DAYS) -> list[dict]:
    """Every active plan: last drill and evaluation, their due dates and statuses, with the rule's source.

    The evaluation clock runs from the later of the last evaluation and the last revision.
    """
    rows = db.query_dicts(
        "SELECT p.code, p.name, p.category, p.lead_department, p.drill_every_months, p.review_every_months,"
        " p.version, p.revised_on, p.last_evaluated_on, p.needs_revision,"
        " (SELECT max(d.held_on) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id"
        f"   WHERE dp.plan_code = p.code AND d.held_on <= ? AND {live('drills', 'd')}) AS last_drill_on,"
        " (SELECT count(*) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id WHERE dp.plan_code = p.code"
        f"   AND d.held_on <= ? AND {live('drills', 'd')}) AS drill_count"
        " FROM plans p WHERE p.status = 'active' ORDER BY p.code",
        [today, today],
    )
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
        row["evaluation_rule"], row["evaluation_source"] = eval_rule["label"], eval_rule["source"]
        # The plan's overall status: the worse of its two clocks (a never-drilled plan shows 从未开展).
        row["status"] = worst_status(row["drill_status"], row["evaluation_status"])
        row["status_label"] = STATUS_LABELS[row["status"]]
    return rows


def enterprise_interval(rules: dict, sector: str) -> tuple[int, dict]:
    """Months between drills for a sector: half-yearly for the sectors of 条例 Art. 8, else yearly."""
    half_yearly = enums.ENTERPRISE_SECTORS.get(sector, ("", False))[1]
    rule = rules["enterprise_half_yearly" if half_yearly else "enterprise_yearly"]
    return int(rule["interval_months"]), rule


def enterprise_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    params: list = [today]
    where = f"WHERE e.closed_on IS NULL AND {live('enterprises', 'e')}"
    if township_code:
        where += " AND e.township_code = ?"
        params.append(township_code)
    rows = db.query_dicts(
        "SELECT e.id, e.name, e.sector, e.township_code, t.name AS township_name, d.last_drill_on, d.drills_12m"
        " FROM enterprises e JOIN townships t ON t.code = e.township_code"
        " LEFT JOIN (SELECT enterprise_id, max(held_on) AS last_drill_on,"
        "   count(*) FILTER (WHERE held_on > CAST(? AS DATE) - INTERVAL 12 MONTH) AS drills_12m"
        "   FROM drills dx WHERE enterprise_id IS NOT NULL AND held_on <= CAST(? AS DATE)"
        f"   AND {live('drills', 'dx')} GROUP BY enterprise_id) d"
        "   ON d.enterprise_id = e.id"
        f" {where} ORDER BY t.sort_order, e.name",
        [today, *params],
    )
    rules = _rules(db)
    for row in rows:
        months, rule = enterprise_interval(rules, row["sector"])
        row["interval_months"], row["rule"], row["source"] = months, rule["label"], rule["source"]
        row["due_on"] = due_date(row["last_drill_on"], months)
        row["status"] = deadline_status(row["due_on"], today, warn_days)
        row["drills_12m"] = row["drills_12m"] or 0
    return rows


def village_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    params: list = [today]
    where = "WHERE NOT v.is_virtual"
    if township_code:
        where += " AND v.township_code = ?"
        params.append(township_code)
    rows = db.query_dicts(
        "SELECT v.code, v.name, v.township_code, t.name AS township_name, d.last_drill_on"
        " FROM villages v JOIN townships t ON t.code = v.township_code"
        " LEFT JOIN (SELECT village_code, max(held_on) AS last_drill_on FROM drills dx"
        f"   WHERE village_code IS NOT NULL AND held_on <= ? AND {live('drills', 'dx')} GROUP BY village_code) d"
        "   ON d.village_code = v.code"
        f" {where} ORDER BY t.sort_order, v.code",
        params,
    )
    rule = _rules(db)["village_yearly"]
    for row in rows:
        row["interval_months"], row["rule"], row["source"] = rule["interval_months"], rule["label"], rule["source"]
        row["due_on"] = due_date(row["last_drill_on"], rule["interval_months"])
        row["status"] = deadline_status(row["due_on"], today, warn_days)
    return rows


def is_late(status: str) -> bool:
    """Overdue, or never done at all: both count as not compliant."""
    return status in (OVERDUE, NEVER)


def season_rules(db: Database) -> list[dict]:
    """The seasonal rules (drill ahead of the flood / forest-fire season), each with its plan and source."""
    return db.query_dicts(
        "SELECT * FROM deadline_rules WHERE applies_to = 'season' AND due_before_month IS NOT NULL"
        " ORDER BY due_before_month, code"
    )


def _township_plan_dates(db: Database, plan_codes: list[str], today: date, township_code: str | None) -> dict:
    """{(township_code, plan_code): [held_on, ...]} of township- and village-level drills of those plans."""
    if not plan_codes:
        return {}
    params: list = [*plan_codes, today]
    extra = ""
    if township_code:
        extra = " AND d.township_code = ?"
        params.append(township_code)
    found: dict = {}
    for town, plan, held in db.query(
        "SELECT d.township_code, dp.plan_code, d.held_on FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id"
        f" WHERE dp.plan_code IN ({', '.join('?' * len(plan_codes))}) AND d.held_on <= ?"
        f" AND d.level IN ('township', 'village') AND d.township_code IS NOT NULL AND {live('drills', 'd')}{extra}",
        params,
    ):
        found.setdefault((town, plan), []).append(held)
    return found


def _townships(db: Database, township_code: str | None) -> list[dict]:
    params, where = [], "WHERE is_township"
    if township_code:
        where += " AND code = ?"
        params.append(township_code)
    return db.query_dicts(f"SELECT code, name FROM townships {where} ORDER BY sort_order", params)


def season_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """Per township and seasonal rule: the drill held before this season (or the next), its due date and status.

    A township's drill counts when it is a township- or village-level drill in that township of the
    rule's plan (flood: ZR-01, forest fire: ZR-03).
    """
    rules = season_rules(db)
    dates = _township_plan_dates(db, [r["subject"] for r in rules if r["subject"]], today, township_code)
    rows = []
    for town in _townships(db, township_code):
        for rule in rules:
            result = seasonal_status(
                dates.get((town["code"], rule["subject"]), []), rule["due_before_month"], today, warn_days
            )
            rows.append(
                {
                    "township_code": town["code"],
                    "township_name": town["name"],
                    "rule_code": rule["code"],
                    "plan_code": rule["subject"],
                    "rule": rule["label"],
                    "source": rule["source"],
                    "due_before_month": rule["due_before_month"],
                    **result,
                }
            )
    return rows


def township_plan_deadlines(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """Per township: the interval rules on a township government's own plan drills (SG-01 every 2 years)."""
    rules = db.query_dicts("SELECT * FROM deadline_rules WHERE applies_to = 'township_plan' ORDER BY code")
    dates = _township_plan_dates(db, [r["subject"] for r in rules if r["subject"]], today, township_code)
    rows = []
    for town in _townships(db, township_code):
        for rule in rules:
            held = [d for d in dates.get((town["code"], rule["subject"]), [])]
            last = max(held) if held else None
            due = due_date(last, rule["interval_months"])
            rows.append(
                {
                    "township_code": town["code"],
                    "township_name": town["name"],
                    "rule_code": rule["code"],
                    "plan_code": rule["subject"],
                    "rule": rule["label"],
                    "source": rule["source"],
                    "interval_months": rule["interval_months"],
                    "last_drill_on": last,
                    "due_on": due,
                    "status": deadline_status(due, today, warn_days),
                }
            )
    return rows


def township_compliance(
    db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None
) -> list[dict]:
    """One row per township: how many of its villages and enterprises are late, its seasonal and
    production-safety statuses, open overdue corrective actions, and its overall (worst) status."""
    villages = village_deadlines(db, today, warn_days, township_code)
    enterprises = enterprise_deadlines(db, today, warn_days, township_code)
    seasons = season_deadlines(db, today, warn_days, township_code)
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
            "overdue_actions": int(overdue_actions.get(code, 0)),
        }
        for rule_code, s in ss.items():
            row[f"{rule_code}_status"] = s["status"]
        for p in ps:
            row[f"{p['rule_code']}_status"] = p["status"]
        row["status"] = worst_status(
            *(s["status"] for s in ss.values()),
            *(p["status"] for p in ps),
            OVERDUE if row["villages_late"] or row["enterprises_late"] or row["overdue_actions"] else None,
        )
        rows.append(row)
    return rows


def overdue_list(db: Database, today: date, warn_days: int = WARN_DAYS, township_code: str | None = None) -> list[dict]:
    """Everything that is late today, one row each: {kind, subject, township_name, last_on, due_on, status, rule, source}.

    Plans (drill or evaluation) are county business and listed only when no township is asked for.
    """

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

    out: list[dict] = []
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
            "汛前/防火期前演练",
            s["township_name"],
            s["township_name"],
            s["done_on"],
            s["due_on"],
            s["status"],
            s["rule"],
            s["source"],
        )
    for p in township_plan_deadlines(db, today, warn_days, township_code):
        late(
            "乡镇预案演练",
            p["township_name"],
            p["township_name"],
            p["last_drill_on"],
            p["due_on"],
            p["status"],
            p["rule"],
            p["source"],
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


def all_rules(db: Database) -> list[dict]:
    """The deadline_rules table (what the bureau may edit), for the pages that show each rule's source."""
    return db.query_dicts(
        "SELECT code, applies_to, subject, interval_months, due_before_month, label, source"
        " FROM deadline_rules ORDER BY applies_to, code"
    )
