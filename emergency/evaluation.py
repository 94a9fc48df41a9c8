"""A drill's objectives and its structured evaluation (AQ/T 9009-2015), and corrective actions to closure.

An evaluation records who evaluated and how, a score per item of the standard's evaluation tables,
whether each objective was achieved, the five dimensions of the 2024 办法 (Art. 33) and an overall
grade. What it finds opens corrective actions in the same transaction: one per unmet objective, per
item scored 差, and per plan found to need revision (that action is closed only by the plan's recorded
revision, plans.record_revision). An action is closed with evidence and then verified (复查 / 验收) by
someone other than its owner and other than whoever closed it; a failed check reopens it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from . import audit, stale
from .auth import User, require_write
from .db import first_value, local_today, row_dict
from .errors import Problem, ValidationError
from .hygiene import clean
from .records import live

if TYPE_CHECKING:
    from .db import Cursor, Database

# [M] AQ/T 9009-2015 appendices (演练评估表): the items a drill is scored on. Data, in the tables' order.
ITEMS = {
    "warning": "预警与信息报告",
    "mobilisation": "紧急动员",
    "monitoring": "事故监测与研判",
    "command": "指挥和协调",
    "handling": "事故处置",
    "resources": "应急资源管理",
    "communication": "应急通信",
    "information": "信息公开",
    "protection": "人员保护",
    "cordon": "警戒与管制",
    "medical": "医疗救护",
    "recovery": "现场控制及恢复",
}
# [I] A four-step scale per item; "not exercised" is recorded by leaving the item out.
SCORES = {"excellent": "优", "good": "良", "fair": "中", "poor": "差"}
GRADES = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
METHODS = {"onsite_review": "现场点评", "self_assessment": "参演人员自评", "evaluation_team": "评估组评估"}
# 突发事件应急预案管理办法（国办发〔2024〕5号）Art. 33: what the evaluation of a drill covers.
DIMENSIONS = {
    "execution": "预案执行情况",
    "plan_fitness": "预案的合理性与可操作性",
    "command": "指挥协调和应急联动情况",
    "handling": "应急人员的处置情况",
    "equipment": "演练所用设备装备的适用性",
}
VERIFICATIONS = {"review": "复查", "acceptance": "验收"}
ORIGINS = {"objective": "演练目标未达成", "item": "评估项目为差", "plan": "预案需修订"}
ACTION_DAYS = 30  # [I] default deadline of an action opened by an evaluation (setting action_default_days)
SOURCE = "AQ/T 9009-2015《生产安全事故应急演练评估规范》；《突发事件应急预案管理办法》（国办发〔2024〕5号）第三十三条"


# Objectives ------------------------------------------------------------------------------------------
def objectives(db: Database, drill_id: int) -> list[dict]:
    return _objectives(db.cursor(), drill_id)


def _drill(cur: Cursor, drill_id: int) -> dict:
    """The drill as drills.py reads it for its own writes (imported here: drills -> archive -> this module)."""
    from .drills import _drill as drill_row

    return drill_row(cur, drill_id)


def _objectives(cur: Cursor, drill_id: int) -> list[dict]:
    """The drill's current objectives (not removed), in their order."""
    rows = cur.execute(
        "SELECT id, position, objective FROM drill_objectives WHERE drill_id = ? AND NOT removed ORDER BY position",
        [drill_id],
    ).fetchall()
    return [{"id": i, "position": p, "objective": o} for i, p, o in rows]


def set_objectives(db: Database, actor: User, drill_id: int, texts: list[str]) -> list[int]:
    """Replace the drill's objectives (kept ones keep their id, so past evaluations still name them)."""
    wanted = [clean(t) for t in texts if clean(t)]
    if len(set(wanted)) != len(wanted):
        raise ValidationError.single("演练目标", "有重复的目标")
    if any(len(t) > 200 for t in wanted):
        raise ValidationError.single("演练目标", "每条不超过 200 字")

    def work(cur: Cursor):
        drill = _drill(cur, drill_id)
        require_write(actor, drill["township_code"], "修改其他乡镇或县级演练的演练目标")
        current = {o["objective"]: o["id"] for o in _objectives(cur, drill_id)}
        for text, objective_id in current.items():
            if text not in wanted:
                cur.execute("UPDATE drill_objectives SET removed = TRUE WHERE id = ?", [objective_id])
        ids = []
        for position, text in enumerate(wanted, 1):
            if text in current:
                cur.execute("UPDATE drill_objectives SET position = ? WHERE id = ?", [position, current[text]])
                ids.append(current[text])
            else:
                ids.append(
                    first_value(
                        cur,
                        "INSERT INTO drill_objectives (drill_id, position, objective) VALUES (?, ?, ?) RETURNING id",
                        [drill_id, position, text],
                    )
                )
        audit.record(
            cur, actor, "update", "drill_objectives", drill_id, {"objectives": list(current)}, {"objectives": wanted}
        )
        return ids

    return db.write(work)


# Evaluation ------------------------------------------------------------------------------------------
def evaluation_problems(form: dict, objective_ids: set[int], held_on: date, today: date) -> list[Problem]:
    """What is wrong with an evaluation form (pure): every problem, each naming its field."""
    problems = []
    if form.get("method") not in METHODS:
        problems.append(Problem("评估方式", f"必须是 {'、'.join(METHODS.values())} 之一"))
    if not clean(form.get("evaluators")):
        problems.append(Problem("评估人员", "不能为空"))
    if form.get("grade") not in GRADES:
        problems.append(Problem("总体评价", f"必须是 {'、'.join(GRADES.values())} 之一"))
    evaluated_on = form.get("evaluated_on")
    if not isinstance(evaluated_on, date):
        problems.append(Problem("评估日期", "必须填写日期"))
    elif not held_on <= evaluated_on <= today:
        problems.append(Problem("评估日期", "应在演练日期与今天之间"))
    for item, score in (form.get("scores") or {}).items():
        if item not in ITEMS:
            problems.append(Problem("评估项目", f"未知项目 {item}"))
        elif score not in SCORES:
            problems.append(Problem(ITEMS[item], f"评分必须是 {'、'.join(SCORES.values())} 之一"))
    if not form.get("scores"):
        problems.append(Problem("评估项目", "至少对一个项目评分"))
    results = form.get("objectives") or {}
    unknown = set(results) - objective_ids
    if unknown:
        problems.append(Problem("演练目标", "有目标不属于本次演练"))
    missing = objective_ids - set(results)
    if missing:
        problems.append(Problem("演练目标", f"还有 {len(missing)} 个目标未判断是否达成"))
    return problems


def actions_from_findings(form: dict, objective_texts: dict[int, str], plans: list[dict]) -> list[dict]:
    """The corrective actions an evaluation opens (pure): unmet objectives, items scored 差, plans to revise."""
    actions = []
    for objective_id, achieved in (form.get("objectives") or {}).items():
        if not achieved:
            text = objective_texts[objective_id]
            actions.append({"origin": "objective", "description": f"演练目标未达成：{text}", "plan_code": None})
    for item, score in (form.get("scores") or {}).items():
        if score == "poor":
            actions.append(
                {"origin": "item", "description": f"评估项目“{ITEMS[item]}”评为差，需整改", "plan_code": None}
            )
    if form.get("plan_needs_revision"):
        for plan in plans:
            actions.append(
                {"origin": "plan", "description": f"修订预案 {plan['code']} {plan['name']}", "plan_code": plan["code"]}
            )
    return actions


def record_evaluation(db: Database, actor: User, drill_id: int, form: dict, *, today: date | None = None) -> int:
    """Record an evaluation; open the actions its findings call for and flag plans, all in one transaction."""
    today = today or local_today()

    def work(cur: Cursor):
        drill = _drill(cur, drill_id)
        require_write(actor, drill["township_code"], "评估其他乡镇或县级的演练")
        current = {o["id"]: o["objective"] for o in _objectives(cur, drill_id)}
        problems = evaluation_problems(form, set(current), drill["held_on"], today)
        if problems:
            raise ValidationError(problems)
        dims = {k: clean(form.get(k)) or None for k in DIMENSIONS}
        evaluation_id = first_value(
            cur,
            "INSERT INTO drill_evaluations (drill_id, method, evaluators, evaluated_on, grade, execution, plan_fitness,"
            " command, handling, equipment, plan_needs_revision, evaluated_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                drill_id,
                form["method"],
                clean(form["evaluators"]),
                form["evaluated_on"],
                form["grade"],
                *dims.values(),
                bool(form.get("plan_needs_revision")),
                actor.username,
            ],
        )
        for item, score in form["scores"].items():
            note = clean((form.get("item_notes") or {}).get(item)) or None
            cur.execute(
                "INSERT INTO drill_evaluation_items (drill_id, evaluation_id, item, score, note) VALUES (?, ?, ?, ?, ?)",
                [drill_id, evaluation_id, item, score, note],
            )
        for objective_id, achieved in (form.get("objectives") or {}).items():
            cur.execute(
                "INSERT INTO drill_objective_results (drill_id, evaluation_id, objective_id, achieved) VALUES (?, ?, ?, ?)",
                [drill_id, evaluation_id, objective_id, bool(achieved)],
            )
        plans = [
            {"code": r[0], "name": r[1]}
            for r in cur.execute(
                "SELECT p.code, p.name FROM drill_plans dp JOIN plans p ON p.code = dp.plan_code"
                " WHERE dp.drill_id = ? ORDER BY p.code",
                [drill_id],
            ).fetchall()
        ]
        days = int(db.setting("action_default_days", ACTION_DAYS) or ACTION_DAYS)
        opened = []
        for action in actions_from_findings(form, current, plans):
            open_revision = action["plan_code"] and first_value(
                cur,
                "SELECT count(*) FROM corrective_actions a WHERE plan_code = ? AND origin = 'plan' AND closed_on IS NULL"
                f" AND {live('corrective_actions', 'a')}",
                [action["plan_code"]],
            )
            if open_revision:  # one open revision action per plan, however many drills find it
                continue
            action_id = first_value(
                cur,
                "INSERT INTO corrective_actions (drill_id, description, owner, due_on, created_by, origin, plan_code,"
                " evaluation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [
                    drill_id,
                    action["description"],
                    drill["organiser"] or "组织单位",
                    form["evaluated_on"] + timedelta(days=days),
                    actor.username,
                    action["origin"],
                    action["plan_code"],
                    evaluation_id,
                ],
            )
            audit.record(
                cur, actor, "create", "corrective_actions", action_id, None, {**action, "evaluation_id": evaluation_id}
            )
            opened.append(action_id)
        if form.get("plan_needs_revision"):
            for plan in plans:
                cur.execute("UPDATE plans SET needs_revision = TRUE WHERE code = ?", [plan["code"]])
        audit.record(
            cur,
            actor,
            "create",
            "drill_evaluations",
            evaluation_id,
            None,
            {
                "drill_id": drill_id,
                "grade": form["grade"],
                "method": form["method"],
                "scores": form["scores"],
                "objectives": {str(k): v for k, v in (form.get("objectives") or {}).items()},
                "actions": opened,
            },
        )
        return evaluation_id

    return db.write(work)


def latest_evaluation(db: Database, drill_id: int) -> dict | None:
    """The drill's latest evaluation with its scores and objective results, or None."""
    rows = db.query_dicts(
        "SELECT * FROM drill_evaluations WHERE drill_id = ? ORDER BY evaluated_at DESC, id DESC LIMIT 1", [drill_id]
    )
    if not rows:
        return None
    evaluation = rows[0]
    evaluation["scores"] = {
        r["item"]: r
        for r in db.query_dicts("SELECT * FROM drill_evaluation_items WHERE evaluation_id = ?", [evaluation["id"]])
    }
    evaluation["objectives"] = db.query_dicts(
        "SELECT o.objective, r.achieved FROM drill_objective_results r JOIN drill_objectives o ON o.id = r.objective_id"
        " WHERE r.evaluation_id = ? ORDER BY o.position",
        [evaluation["id"]],
    )
    return evaluation


# Corrective actions to closure --------------------------------------------------------------------
def verification_problems(action: dict, actor: User, evidence_required: bool = True) -> list[Problem]:
    """Why `actor` may not verify `action` (pure): not closed, no evidence, the owner or the closer."""
    problems = []
    if action["closed_on"] is None:
        problems.append(Problem("整改事项", "尚未完成整改，不能复查或验收"))
    elif action.get("verified_on") is not None:
        problems.append(Problem("整改事项", f"已于 {action['verified_on']} 验证"))
    if evidence_required and action["closed_on"] is not None and not clean(action.get("evidence")):
        problems.append(Problem("佐证材料", "整改完成时未提交佐证材料，不能验收"))
    owner = clean(action.get("owner"))
    if owner and owner in {clean(actor.username), clean(actor.display_name)}:
        problems.append(Problem("复查人", "责任人不能复查或验收自己的整改事项"))
    if action.get("closed_by") and action["closed_by"] == actor.username:
        problems.append(Problem("复查人", "登记整改完成的人不能自己复查或验收"))
    return problems


def verify_action(
    db: Database,
    actor: User,
    action_id: int,
    kind: str,
    passed: bool,
    note: str,
    *,
    on: date | None = None,
    expected: dict | None = None,
) -> dict:
    """复查 / 验收 a closed action: passed records the verification; not passed reopens the action."""
    from .drills import ACTION_LABELS, _action

    on = on or local_today()

    def work(cur: Cursor):
        action = _action(cur, action_id)
        require_write(actor, action["township_code"], "验收其他乡镇或县级的整改事项")
        stale.check_fresh(
            action, expected, table="corrective_actions", record_id=action_id, labels=ACTION_LABELS, viewer=actor
        )
        problems = verification_problems(action, actor)
        if kind not in VERIFICATIONS:
            problems.append(Problem("验证方式", f"必须是 {'、'.join(VERIFICATIONS.values())} 之一"))
        if not clean(note):
            problems.append(Problem("复查意见", "不能为空"))
        if action["closed_on"] is not None and on < action["closed_on"]:
            problems.append(Problem("复查日期", "不能早于整改完成日期"))
        if problems:
            raise ValidationError(problems)
        before = {k: action[k] for k in ("closed_on", "verified_on", "verification_note")}
        if passed:
            cur.execute(
                "UPDATE corrective_actions SET verified_on = ?, verified_by = ?, verification = ?, verification_note = ?"
                " WHERE id = ?",
                [on, actor.username, kind, clean(note), action_id],
            )
        else:  # not passed: back to open, the failed check kept as the latest note (and in the audit)
            cur.execute(
                "UPDATE corrective_actions SET closed_on = NULL, closed_by = NULL, verification = ?,"
                " verification_note = ? WHERE id = ?",
                [kind, f"{VERIFICATIONS[kind]}未通过：{clean(note)}", action_id],
            )
        audit.record(
            cur,
            actor,
            "verify" if passed else "reopen",
            "corrective_actions",
            action_id,
            before,
            {"verification": kind, "passed": passed, "note": clean(note), "on": on},
        )
        return _action(cur, action_id)

    return db.write(work)


def close_revision_actions(cur: Cursor, actor: User, plan_code: str, revised_on: date, version: str) -> list[int]:
    """Inside plans.record_revision: the plan's open revision actions are done, the revision their evidence."""
    ids = [
        r[0]
        for r in cur.execute(
            "SELECT id FROM corrective_actions a WHERE plan_code = ? AND origin = 'plan' AND closed_on IS NULL"
            f" AND {live('corrective_actions', 'a')}",
            [plan_code],
        ).fetchall()
    ]
    for action_id in ids:
        evidence = f"预案 {plan_code} 已修订为 {version}（{revised_on}）"
        cur.execute(
            "UPDATE corrective_actions SET closed_on = ?, closure_note = ?, evidence = ?, closed_by = ? WHERE id = ?",
            [revised_on, "预案已修订", evidence, actor.username, action_id],
        )
        audit.record(
            cur,
            actor,
            "close",
            "corrective_actions",
            action_id,
            {"closed_on": None},
            {"closed_on": revised_on, "evidence": evidence},
        )
    return ids


# Planning and organisation (AQ/T 9007-2019 §5) ---------------------------------------------------
NOTICES = {"announced": "提前通知", "unannounced": "双盲（不预先通知）", "no_script": "无脚本"}
ORGANISATION_FIELDS = {
    "commander": "总指挥",
    "planning_group": "策划组",
    "support_group": "保障组",
    "evaluation_group": "评估组",
    "observers": "观摩人员",
    "safety_measures": "安全保障措施",
    "equipment": "使用的装备物资",
}


def organisation(db: Database, drill_id: int) -> dict:
    """The drill's organisation (every field, None where not recorded) and its registry teams."""
    rows = db.query_dicts("SELECT * FROM drill_organisation WHERE drill_id = ?", [drill_id])
    record = rows[0] if rows else {**dict.fromkeys(ORGANISATION_FIELDS), "notice": "announced"}
    record["teams"] = db.query_dicts(
        "SELECT t.id, t.name FROM drill_teams dt JOIN teams t ON t.id = dt.team_id WHERE dt.drill_id = ?"
        " ORDER BY t.name",
        [drill_id],
    )
    return record


def team_choices(db: Database, township_code: str | None) -> dict[int, str]:
    """Teams a drill of `township_code` may name: the township's own and the county-level ones, active."""
    return dict(
        db.query(
            "SELECT id, name FROM teams WHERE disbanded_on IS NULL AND (township_code IS NULL OR township_code = ?)"
            " ORDER BY township_code NULLS FIRST, name",
            [township_code],
        )
    )


def set_organisation(db: Database, actor: User, drill_id: int, fields: dict, team_ids: list[int]) -> dict:
    """Record who led the drill, its groups, teams and equipment, observers, safety measures, notice."""
    values = {k: clean(fields.get(k))[:500] or None for k in ORGANISATION_FIELDS}
    notice = fields.get("notice", "announced")
    problems = []
    if notice not in NOTICES:
        problems.append(Problem("通知方式", f"必须是 {'、'.join(NOTICES.values())} 之一"))

    def work(cur: Cursor):
        drill = _drill(cur, drill_id)
        require_write(actor, drill["township_code"], "修改其他乡镇或县级演练的组织情况")
        known = {
            r[0]
            for r in cur.execute(
                "SELECT id FROM teams WHERE disbanded_on IS NULL AND (township_code IS NULL OR township_code = ?)",
                [drill["township_code"]],
            ).fetchall()
        }
        wanted = list(dict.fromkeys(int(t) for t in team_ids))
        if set(wanted) - known:
            problems.append(Problem("参演队伍", "只能选择本乡镇或县级的在册队伍"))
        if problems:
            raise ValidationError(problems)
        before = row_dict(cur, "SELECT * FROM drill_organisation WHERE drill_id = ?", [drill_id])
        before_teams = [
            r[0] for r in cur.execute("SELECT team_id FROM drill_teams WHERE drill_id = ?", [drill_id]).fetchall()
        ]
        columns = [*values, "notice", "updated_by"]
        params = [*values.values(), notice, actor.username]
        if before:
            assignments = ", ".join(f"{c} = ?" for c in columns)
            cur.execute(
                f"UPDATE drill_organisation SET {assignments}, updated_at = current_timestamp WHERE drill_id = ?",
                [*params, drill_id],
            )
        else:
            cur.execute(
                f"INSERT INTO drill_organisation (drill_id, {', '.join(columns)}) VALUES (?{', ?' * len(columns)})",
                [drill_id, *params],
            )
        cur.execute("DELETE FROM drill_teams WHERE drill_id = ?", [drill_id])
        for team_id in wanted:
            cur.execute("INSERT INTO drill_teams (drill_id, team_id) VALUES (?, ?)", [drill_id, team_id])
        after = {**values, "notice": notice, "teams": wanted}
        old = {k: before.get(k) for k in [*values, "notice"]} if before else None
        audit.record(
            cur, actor, "update", "drill_organisation", drill_id, old and {**old, "teams": before_teams}, after
        )
        return after

    return db.write(work)
