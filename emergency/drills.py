"""Drill records: the scoped, audited write paths and the lists.

A township operator logs and edits drills of its own township only; county drills (no township)
are the bureau's.
"""
from __future__ import annotations

from datetime import date

from . import audit
from .auth import User, require_write
from .enums import DRILL_CONTENTS, DRILL_FORMS, DRILL_LEVELS, DRILL_PURPOSES
from .hygiene import clean

DRILL_FIELDS = ("title", "level", "organiser", "township_code", "village_code", "enterprise_id", "held_on",
                "started_at", "ended_at", "place", "form", "content", "purpose", "participants",
                "participating_units", "scenario", "problems", "evaluation", "plan_problems_found")


def validate_drill(db, data: dict, plan_codes: list[str]) -> list[str]:
    problems = []
    for field, label in (("title", "演练名称"), ("organiser", "组织单位")):
        if not clean(data.get(field)):
            problems.append(f"{label}：不能为空")
    for field, label, options in (("level", "演练层级", DRILL_LEVELS), ("form", "演练形式", DRILL_FORMS),
                                  ("content", "演练内容", DRILL_CONTENTS), ("purpose", "演练目的", DRILL_PURPOSES)):
        if data.get(field) not in options:
            problems.append(f"{label}：必须是 {'、'.join(options.values())} 之一")
    if data.get("level") == "county" and data.get("township_code"):
        problems.append("所属乡镇：县级演练不填写乡镇")
    if data.get("level") in ("township", "village") and not data.get("township_code"):
        problems.append("所属乡镇：乡镇级、村级演练必须填写乡镇")
    if data.get("level") == "village" and not data.get("village_code"):
        problems.append("所属村（社区）：村级演练必须填写村（社区）")
    if data.get("level") == "enterprise" and not data.get("enterprise_id"):
        problems.append("企业（单位）：企业演练必须选择企业")
    township = data.get("township_code")
    if township and not db.scalar("SELECT count(*) FROM townships WHERE code = ?", [township]):
        problems.append(f"所属乡镇：{township} 不存在")
    held = data.get("held_on")
    if not isinstance(held, date):
        problems.append("演练日期：必须填写日期")
    elif held > date.today():
        problems.append("演练日期：不能晚于今天（尚未开展的演练请录入演练计划）")
    participants = data.get("participants")
    if not isinstance(participants, int) or isinstance(participants, bool) or participants < 0:
        problems.append("参演人次：必须是不小于0的整数")
    if data.get("started_at") and data.get("ended_at") and data["ended_at"] < data["started_at"]:
        problems.append("结束时间：不能早于开始时间")
    if not plan_codes:
        problems.append("演练预案：至少选择一项")
    else:
        known = {c for (c,) in db.query("SELECT code FROM plans")}
        unknown = [c for c in plan_codes if c not in known]
        if unknown:
            problems.append("演练预案：不存在 " + "、".join(unknown))
    return problems


def create_drill(db, actor: User, data: dict, plan_codes: list[str]) -> int:
    data = {k: data.get(k) for k in DRILL_FIELDS}
    data["title"], data["organiser"] = clean(data["title"]), clean(data["organiser"])
    data["purpose"] = data["purpose"] or "testing"
    data["plan_problems_found"] = bool(data["plan_problems_found"])
    require_write(actor, data["township_code"], "为其他乡镇或县级登记演练")
    problems = validate_drill(db, data, plan_codes)
    if problems:
        raise ValueError("；".join(problems))

    def work(cur):
        cols = list(data)
        drill_id = cur.execute(
            f"INSERT INTO drills ({', '.join(cols)}, created_by) VALUES ({', '.join('?' * len(cols))}, ?) RETURNING id",
            [data[c] for c in cols] + [actor.username]).fetchone()[0]
        for code in dict.fromkeys(plan_codes):
            cur.execute("INSERT INTO drill_plans VALUES (?, ?)", [drill_id, code])
        audit.record(cur, actor, "create", "drills", drill_id, None, {**data, "plans": list(plan_codes)})
        return drill_id

    return db.write(work)


def update_drill(db, actor: User, drill_id: int, changes: dict) -> None:
    rows = db.query_dicts(f"SELECT {', '.join(DRILL_FIELDS)} FROM drills WHERE id = ?", [drill_id])
    if not rows:
        raise ValueError(f"演练 {drill_id} 不存在")
    before = rows[0]
    require_write(actor, before["township_code"], "修改其他乡镇或县级的演练")
    after = {**before, **{k: v for k, v in changes.items() if k in DRILL_FIELDS}}
    require_write(actor, after["township_code"], "把演练改到其他乡镇")
    plans = [c for (c,) in db.query("SELECT plan_code FROM drill_plans WHERE drill_id = ?", [drill_id])]
    problems = validate_drill(db, after, plans)
    if problems:
        raise ValueError("；".join(problems))
    old, new = audit.changed(before, after)
    if not new:
        return

    def work(cur):
        cur.execute(f"UPDATE drills SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?", [*new.values(), drill_id])
        audit.record(cur, actor, "update", "drills", drill_id, old, new)

    db.write(work)


def drill_list(db, *, year: int | None = None, township_code: str | None = None, level: str | None = None):
    clauses, params = [], []
    if year:
        clauses.append("year(d.held_on) = ?")
        params.append(year)
    if township_code:
        clauses.append("d.township_code = ?")
        params.append(township_code)
    if level:
        clauses.append("d.level = ?")
        params.append(level)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return db.frame(
        "SELECT d.id, d.held_on, d.title, d.level, coalesce(t.name, '全县') AS township_name, d.organiser,"
        " d.form, d.participants,"
        " (SELECT string_agg(dp.plan_code, '、' ORDER BY dp.plan_code) FROM drill_plans dp WHERE dp.drill_id = d.id)"
        " AS plans, d.township_code"
        f" FROM drills d LEFT JOIN townships t ON t.code = d.township_code {where} ORDER BY d.held_on DESC, d.id DESC",
        params,
    )
