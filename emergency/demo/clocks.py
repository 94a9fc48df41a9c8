"""Demo extension: the law's clocks (issue 13).

- every plan revised in 2024 (修订完善四类40项): a plan whose file version is older gets that version
  as an earlier revision in its history and a 2024 revision (version 2024版); a plan whose file is
  already of 2024 gets that revision in its history. An earlier year counts only the plans revised in it;
- the 备案 of most plan versions (a few late, two not filed: the filing clock shows them);
- each township's plans (总体应急预案, 生产安全事故, 防汛) and each village's plan, most filed;
- villages entered the system on DEMO_GO_LIVE;
- enterprise plans by type (a comprehensive plan each, a 现场处置方案 for about half), filed; each
  enterprise drill says which type of plan it exercised and, for the sectors of 条例 Art. 8, when it
  was reported to the regulator.

Runs after the main generator (its own random stream), so the 2024 report's figures are untouched.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .. import enums
from ..db import insert_frame
from ..rules import add_working_days
from .generator import random_day

if TYPE_CHECKING:
    from ..db import Cursor, Database

REVISION_YEAR = 2024
DEMO_GO_LIVE = date(2021, 1, 1)
UNFILED_PLANS = ("AQ-05", "ZR-08")  # two county plans whose 2024 version was never filed
COUNTY = "嵩县人民政府"


def extend(db: Database, scale: int, rng: random.Random) -> dict:
    """Rows written per table; the steps draw from `rng` in a fixed order."""
    revisions, updates = _revisions(db, rng)
    filings = _plan_filings(db, updates, rng)
    local, local_filings = _local_plans(db, rng)
    eplans, eplan_filings = _enterprise_plans(db, rng)
    reports = _drill_reports(db, eplans, rng)

    def work(cur: Cursor):
        insert_frame(cur, "plan_revisions", revisions)
        for code, (revised_on, clear) in updates.items():
            cur.execute(
                "UPDATE plans SET version = ?, revised_on = ?, needs_revision = needs_revision AND NOT ?"
                " WHERE code = ?",
                [f"{REVISION_YEAR}版", revised_on, clear, code],
            )
        insert_frame(cur, "local_plans", local)
        insert_frame(cur, "enterprise_plans", eplans)
        insert_frame(cur, "filings", filings + local_filings + eplan_filings)
        if reports:
            insert_frame(cur, "drill_reports", reports)
        cur.execute("UPDATE village_entries SET entered_on = ?", [DEMO_GO_LIVE])

    db.write(work)
    return {
        "plan_revisions_2024": len(revisions),
        "filings": len(filings) + len(local_filings) + len(eplan_filings),
        "local_plans": len(local),
        "enterprise_plans": len(eplans),
        "drill_reports": len(reports),
    }


def _revisions(db: Database, rng: random.Random) -> tuple[list[dict], dict[str, tuple[date, bool]]]:
    """History rows and {code: (2024 revision day, clears the revision flag)} of every active plan."""
    plans = db.query_dicts("SELECT code, version, revised_on FROM plans WHERE status = 'active' ORDER BY code")
    problems = dict(
        db.query(
            "SELECT dp.plan_code, max(d.held_on) FROM drills d JOIN drill_plans dp ON dp.drill_id = d.id"
            " WHERE d.plan_problems_found GROUP BY 1"
        )
    )
    rows: list[dict] = []
    updates: dict[str, tuple[date, bool]] = {}
    for plan in plans:
        rows.append(_revision(plan["code"], plan["version"], plan["revised_on"], "预案修订（演示：预案文件所载版本）"))
        if plan["revised_on"].year < REVISION_YEAR:
            day = random_day(rng, date(REVISION_YEAR, 2, 1), date(REVISION_YEAR, 12, 15))
            rows.append(_revision(plan["code"], f"{REVISION_YEAR}版", day, f"{REVISION_YEAR}年修订完善（演示）"))
            last_problem = problems.get(plan["code"])
            updates[plan["code"]] = (day, last_problem is None or last_problem < day)
    return rows, updates


def _revision(code: str, version: str, day: date, note: str) -> dict:
    return {
        "plan_code": code,
        "version": version,
        "revised_on": day,
        "kind": "revision",
        "note": note,
        "recorded_by": "demo",
    }


def _filed(rng: random.Random, issued: date, late_share: float = 0.1) -> date:
    """A filing day: within 20 working days of the issue, now and then a little late."""
    days = rng.randint(3, 19) if rng.random() >= late_share else rng.randint(21, 30)
    return add_working_days(issued, days)


def _plan_filings(db: Database, updates: dict[str, tuple[date, bool]], rng: random.Random) -> list[dict]:
    rows: list[dict] = []
    meta = db.query_dicts(
        "SELECT p.code, p.version, m.issued_on, p.revised_on FROM plans p JOIN plan_meta m ON m.plan_code = p.code"
        " WHERE p.status = 'active' ORDER BY p.code"
    )
    for plan in meta:
        if plan["code"] in updates:
            version, issued = f"{REVISION_YEAR}版", updates[plan["code"]][0]
        else:
            version, issued = plan["version"], max(plan["issued_on"], plan["revised_on"])
        if plan["code"] in UNFILED_PLANS:
            continue
        rows.append(_filing("plan", plan["code"], version, COUNTY, _filed(rng, issued), len(rows)))
    return rows


def _filing(subject_type: str, subject_id: str, version: str | None, to: str, day: date, n: int) -> dict:
    return {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "version": version,
        "filed_with": to,
        "filed_on": day,
        "receipt_no": f"备{day.year}-{subject_type[:1].upper()}{n + 1:04d}",
        "recorded_by": "demo",
        "is_demo": True,
    }


TOWNSHIP_PLANS = (
    (None, "总体应急预案", "township_plan_default"),
    ("SG-01", "生产安全事故应急预案", "township_production_safety"),
    ("ZR-01", "防汛应急预案", "township_plan_default"),
)


def _local_plans(db: Database, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Township and village plans (ids assigned here, past those in the table) and their filings."""
    start = int(db.scalar("SELECT coalesce(max(id), 0) FROM local_plans")) + 1
    plans: list[dict] = []
    filings: list[dict] = []
    for town_code, town_name in db.query("SELECT code, name FROM townships WHERE is_township ORDER BY sort_order"):
        for plan_code, name, rule in TOWNSHIP_PLANS:
            issued = random_day(rng, date(2023, 3, 1), date(2025, 6, 30))
            plans.append(
                _local(
                    start + len(plans),
                    "township",
                    town_code,
                    None,
                    f"{town_name}{name}",
                    plan_code,
                    rule,
                    issued,
                    f"{town_name[:2]}政〔{issued.year}〕{len(plans) % 30 + 1}号",
                )
            )
            if rng.random() < 0.9:
                filings.append(
                    _filing("local_plan", str(plans[-1]["id"]), None, COUNTY, _filed(rng, issued), len(filings))
                )
    villages = db.query(
        "SELECT v.code, v.name, v.township_code, t.name FROM villages v JOIN townships t ON t.code = v.township_code"
        " WHERE NOT v.is_virtual ORDER BY v.code"
    )
    for code, name, town_code, town_name in villages:
        issued = random_day(rng, date(2023, 1, 1), date(2025, 12, 31))
        plans.append(
            _local(
                start + len(plans), "village", town_code, code, f"{name}应急预案", None, "village_yearly", issued, None
            )
        )
        if rng.random() < 0.85:
            filings.append(
                _filing(
                    "local_plan",
                    str(plans[-1]["id"]),
                    None,
                    f"{town_name}人民政府",
                    _filed(rng, issued, 0.2),
                    len(filings),
                )
            )
    return plans, filings


def _local(pid, level, town, village, name, plan_code, rule, issued, doc) -> dict:
    return {
        "id": pid,
        "level": level,
        "township_code": town,
        "village_code": village,
        "name": name,
        "plan_code": plan_code,
        "drill_rule": rule,
        "version": f"{issued.year}版",
        "issued_on": issued,
        "doc_number": doc,
        "is_demo": True,
    }


def _enterprise_plans(db: Database, rng: random.Random) -> tuple[list[dict], list[dict]]:
    start = int(db.scalar("SELECT coalesce(max(id), 0) FROM enterprise_plans")) + 1
    plans: list[dict] = []
    filings: list[dict] = []
    enterprises = db.query("SELECT id, name, registered_on FROM enterprises WHERE closed_on IS NULL ORDER BY id")
    for eid, name, registered in enterprises:
        types = ["comprehensive"] + (["onsite"] if rng.random() < 0.5 else [])
        for plan_type in types:
            issued = random_day(rng, max(registered or date(2021, 1, 1), date(2022, 1, 1)), date(2025, 12, 31))
            plans.append(
                {
                    "id": start + len(plans),
                    "enterprise_id": eid,
                    "plan_type": plan_type,
                    "name": f"{name}{'生产安全事故综合应急预案' if plan_type == 'comprehensive' else '现场处置方案'}",
                    "issued_on": issued,
                    "last_evaluated_on": None,
                    "is_demo": True,
                }
            )
            if rng.random() < 0.85:
                filings.append(
                    _filing(
                        "enterprise_plan",
                        str(plans[-1]["id"]),
                        None,
                        "嵩县应急管理局",
                        _filed(rng, issued),
                        len(filings),
                    )
                )
    return plans, filings


def _drill_reports(db: Database, eplans: list[dict], rng: random.Random) -> list[dict]:
    """Which plan type each enterprise drill exercised; reported to the regulator (Art. 8 sectors, mostly)."""
    onsite = {p["enterprise_id"] for p in eplans if p["plan_type"] == "onsite"}
    rows: list[dict] = []
    for did, eid, sector, held in db.query(
        "SELECT d.id, d.enterprise_id, e.sector, d.held_on FROM drills d JOIN enterprises e ON e.id = d.enterprise_id"
        " ORDER BY d.id"
    ):
        plan_type = "onsite" if eid in onsite and rng.random() < 0.5 else rng.choice(("comprehensive", "special"))
        reported = enums.ENTERPRISE_SECTORS.get(sector, ("", False))[1] and rng.random() < 0.9
        rows.append(
            {
                "drill_id": did,
                "plan_type": plan_type,
                "reported_to": "嵩县应急管理局" if reported else None,
                "reported_on": held + timedelta(days=rng.randint(1, 10)) if reported else None,
            }
        )
    return rows
