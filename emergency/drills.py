"""Drill records, their attachments and corrective actions, and the planned drills (annual drill plan).

Scope: a township operator logs and edits drills, actions and planned drills of its own township
only (enterprise and village drills carry their township); county drills (no township) are the
bureau's. Every write checks the actor first, then writes the record and its audit row in one
transaction. A drill whose evaluation found problems with a plan (plan_problems_found) flags those
plans for revision (plans.needs_revision) in the same transaction. Edits read the record inside that
transaction and take the record as the form drew it (`expected`, from drill_record / planned_record /
action_record): a record changed since is refused with StaleRecord (stale.py).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from . import audit, paging, stale
from .archive import KIND_LABELS
from .archive import KINDS as ARCHIVE_KINDS
from .auth import User, require_write
from .db import first_value, insert_row, local_today, row_dict
from .db import where as sql_where
from .enterprises import reference_problems
from .enums import DRILL_CONTENTS, DRILL_FORMS, DRILL_LEVELS, DRILL_PURPOSES
from .errors import Problem, ValidationError
from .hygiene import check_upload, clean
from .records import live, refuse_voided
from .regions import place_problems
from .rules import action_status, planned_status

if TYPE_CHECKING:
    from .db import Cursor, Database

DRILL_FIELDS = (
    "title",
    "level",
    "organiser",
    "township_code",
    "village_code",
    "enterprise_id",
    "held_on",
    "started_at",
    "ended_at",
    "place",
    "form",
    "content",
    "purpose",
    "participants",
    "participating_units",
    "scenario",
    "problems",
    "evaluation",
    "plan_problems_found",
    "lessons",
    "recommendations",
)
TEXT_FIELDS = (
    "title",
    "organiser",
    "place",
    "participating_units",
    "scenario",
    "problems",
    "evaluation",
    "lessons",
    "recommendations",
)
# The quick form's required fields, in the order a township fills them in.
REQUIRED_FIELDS = {
    "title": "演练名称",
    "held_on": "演练日期",
    "plans": "演练预案",
    "participants": "参演人次",
    "form": "演练形式",
    "organiser": "组织单位",
}
ATTACHMENT_KINDS = KIND_LABELS  # the archive's kinds (archive.py: AQ/T 9007 §8.2)
# What a stale-form message calls each field (stale.py).
DRILL_LABELS = {
    "title": "演练名称",
    "level": "演练层级",
    "organiser": "组织单位",
    "township_code": "所属乡镇",
    "village_code": "所属村（社区）",
    "enterprise_id": "企业（编号）",
    "held_on": "演练日期",
    "started_at": "开始时间",
    "ended_at": "结束时间",
    "place": "演练地点",
    "form": "演练形式",
    "content": "演练内容",
    "purpose": "演练目的",
    "participants": "参演人次",
    "participating_units": "参演单位",
    "scenario": "演练科目",
    "problems": "发现的问题及原因",
    "evaluation": "评估意见",
    "plan_problems_found": "发现预案问题",
    "lessons": "经验教训",
    "recommendations": "改进建议",
    "plans": "演练预案",
}
DRILL_ENUMS = {"level": DRILL_LEVELS, "form": DRILL_FORMS, "content": DRILL_CONTENTS, "purpose": DRILL_PURPOSES}
PLANNED_LABELS = {
    "title": "演练名称",
    "level": "演练层级",
    "township_code": "所属乡镇",
    "village_code": "所属村（社区）",
    "enterprise_id": "企业（编号）",
    "plan_code": "演练预案",
    "planned_on": "计划日期",
    "note": "备注",
    "status": "状态",
    "drill_id": "演练记录（编号）",
    "cancel_reason": "取消原因",
}
PLANNED_ENUMS = {"level": DRILL_LEVELS, "status": {"planned": "计划中", "done": "已完成", "cancelled": "已取消"}}
ACTION_LABELS = {
    "description": "整改事项",
    "owner": "责任人",
    "due_on": "整改期限",
    "closed_on": "完成日期",
    "closure_note": "整改情况",
    "evidence": "佐证材料",
    "verified_on": "验收日期",
    "verification_note": "复查意见",
}


def _drill(cur: Cursor, drill_id: int) -> dict:
    row = row_dict(cur, f"SELECT {', '.join(DRILL_FIELDS)} FROM drills WHERE id = ?", [drill_id])
    if not row:
        raise ValueError(f"演练 {drill_id} 不存在")
    return row


def _drill_plans(cur: Cursor, drill_id: int) -> list[str]:
    return [
        c
        for (c,) in cur.execute(
            "SELECT plan_code FROM drill_plans WHERE drill_id = ? ORDER BY 1", [drill_id]
        ).fetchall()
    ]


def _drill_record(cur: Cursor, drill_id: int) -> dict:
    return {"id": drill_id, **_drill(cur, drill_id), "plans": _drill_plans(cur, drill_id)}


def drill_record(db: Database, drill_id: int) -> dict:
    """A drill with the plans it exercised, as its edit forms draw it; passed back as `expected`."""
    return _drill_record(db.cursor(), drill_id)


# Validation --------------------------------------------------------------------------------------
def validate_drill(db: Database, data: dict, plan_codes: list[str], today: date | None = None) -> list[Problem]:
    """Every problem of a drill record, each naming its field in Chinese; [] when acceptable."""
    township = data.get("township_code")
    return [
        *_field_problems(data),
        *_level_problems(data),
        *place_problems(db, township, data.get("village_code")),
        *reference_problems(db, data.get("enterprise_id"), township),
        *_held_on_problems(data.get("held_on"), today or local_today()),
        *_participants_problems(data.get("participants")),
        *_time_problems(data),
        *_plan_code_problems(db, plan_codes),
    ]


def _field_problems(data: dict) -> list[Problem]:
    """Required texts and the enumerated fields."""
    problems = []
    for field, label in (("title", "演练名称"), ("organiser", "组织单位")):
        if not clean(data.get(field)):
            problems.append(Problem(label, "不能为空"))
    for field, label, options in (
        ("level", "演练层级", DRILL_LEVELS),
        ("form", "演练形式", DRILL_FORMS),
        ("content", "演练内容", DRILL_CONTENTS),
        ("purpose", "演练目的", DRILL_PURPOSES),
    ):
        if data.get(field) not in options:
            problems.append(Problem(label, f"必须是 {'、'.join(options.values())} 之一"))
    return problems


def _level_problems(data: dict) -> list[Problem]:
    """What the drill's level asks for: a township below the county, a village or an enterprise."""
    level, township = data.get("level"), data.get("township_code")
    problems = []
    if level == "county" and township:
        problems.append(Problem("所属乡镇", "县级演练不填写乡镇"))
    if level in ("township", "village", "enterprise") and not township:
        problems.append(Problem("所属乡镇", "乡镇级、村级和企业演练必须填写乡镇"))
    if level == "village" and not data.get("village_code"):
        problems.append(Problem("所属村（社区）", "村级演练必须填写村（社区）"))
    if level == "enterprise" and not data.get("enterprise_id"):
        problems.append(Problem("企业（单位）", "企业演练必须选择企业"))
    return problems


def _held_on_problems(held, today: date) -> list[Problem]:
    if not isinstance(held, date) or isinstance(held, datetime):
        return [Problem("演练日期", "必须填写日期")]
    if held > today:
        return [Problem("演练日期", "不能晚于今天（尚未开展的演练请录入演练计划）")]
    return []


def _participants_problems(participants) -> list[Problem]:
    if not isinstance(participants, int) or isinstance(participants, bool) or participants < 0:
        return [Problem("参演人次", "必须是不小于0的整数")]
    return []


def _time_problems(data: dict) -> list[Problem]:
    """Start and end on the drill's day, in order."""
    problems = []
    held, started, ended = data.get("held_on"), data.get("started_at"), data.get("ended_at")
    if started and ended and ended < started:
        problems.append(Problem("结束时间", "不能早于开始时间"))
    if started and isinstance(held, date) and started.date() != held:
        problems.append(Problem("开始时间", "应在演练日期当天"))
    return problems


def _plan_code_problems(db: Database, plan_codes: list[str]) -> list[Problem]:
    if not plan_codes:
        return [Problem("演练预案", "至少选择一项")]
    known = {c for (c,) in db.query("SELECT code FROM plans")}
    unknown = [c for c in plan_codes if c not in known]
    return [Problem("演练预案", "不存在 " + "、".join(unknown))] if unknown else []


def _normalise(data: dict) -> dict:
    data = {k: data.get(k) for k in DRILL_FIELDS}
    for field in TEXT_FIELDS:
        data[field] = clean(data[field]) or None
    data["purpose"] = data["purpose"] or "testing"
    data["content"] = data["content"] or "single"
    data["plan_problems_found"] = bool(data["plan_problems_found"])
    if data["enterprise_id"] is not None:
        data["enterprise_id"] = int(data["enterprise_id"])
    return data


def _flag_plans(cur: Cursor, actor: User, drill_id: int, plan_codes) -> None:
    """A drill found problems with these plans: mark them for revision (audited per plan)."""
    for code in plan_codes:
        was = cur.execute("SELECT needs_revision FROM plans WHERE code = ?", [code]).fetchone()
        if was and not was[0]:
            cur.execute("UPDATE plans SET needs_revision = TRUE WHERE code = ?", [code])
            audit.record(
                cur,
                actor,
                "update",
                "plans",
                code,
                {"needs_revision": False},
                {"needs_revision": True, "by_drill": drill_id},
            )


def _mark_planned_done(cur: Cursor, actor: User, planned_id: int, drill_id: int) -> None:
    """A planned drill carried out by `drill_id` (a new record, or one linked afterwards), audited."""
    cur.execute("UPDATE planned_drills SET status = 'done', drill_id = ? WHERE id = ?", [drill_id, planned_id])
    audit.record(
        cur,
        actor,
        "update",
        "planned_drills",
        planned_id,
        {"status": "planned"},
        {"status": "done", "drill_id": drill_id},
    )


# Near-duplicates ---------------------------------------------------------------------------------
class PossibleDuplicate(ValidationError):
    """A drill of the same township on the same day with the same title or the same plans exists;
    nothing was written. `drills` lists them (id, title, held_on); saved only when confirmed."""

    def __init__(self, found: list[dict]):
        names = "、".join(f"第 {d['id']} 号《{d['title']}》" for d in found)
        super().__init__([Problem("演练记录", f"可能重复，仍要保存？同一乡镇同一天已有{names}")])
        self.drills = found


def possible_duplicates(
    db: Database, data: dict, plan_codes: list[str], *, exclude_id: int | None = None
) -> list[dict]:
    """Live drills of the same township (or the county) on the same day whose title (ignoring spaces
    and case) or set of plans equals this one's: what the log form asks about before saving."""
    return _duplicates(db.cursor(), data, plan_codes, exclude_id)


def title_key(title) -> str:
    """A drill's title as the duplicate rules compare it: spaces and case do not matter."""
    return "".join(clean(title).split()).lower()


def _duplicates(cur: Cursor, data: dict, plan_codes: list[str], exclude_id: int | None = None) -> list[dict]:
    title = title_key(data.get("title"))
    plans = sorted(set(plan_codes or []))
    rows = cur.execute(
        "SELECT d.id, d.title, d.held_on,"
        " (SELECT list(dp.plan_code ORDER BY dp.plan_code) FROM drill_plans dp WHERE dp.drill_id = d.id) AS plans"
        " FROM drills d WHERE d.held_on = ? AND d.township_code IS NOT DISTINCT FROM ? AND d.id <> ?"
        f" AND {live('drills', 'd')} ORDER BY d.id",
        [data.get("held_on"), data.get("township_code"), exclude_id or -1],
    ).fetchall()
    return [
        {"id": i, "title": t, "held_on": h}
        for i, t, h, p in rows
        if title_key(t) == title or (plans and sorted(p or []) == plans)
    ]


# Drill records -----------------------------------------------------------------------------------
def create_drill(
    db: Database,
    actor: User,
    data: dict,
    plan_codes: list[str],
    *,
    today: date | None = None,
    planned_id: int | None = None,
    duplicate_ok: bool = True,
) -> int:
    """Record a drill; with planned_id, the planned drill it carries out is marked done and linked.
    duplicate_ok=False (the log form, until the user confirms) refuses a near-duplicate with
    PossibleDuplicate (possible_duplicates), checked inside the write."""
    data = _normalise(data)
    plan_codes = list(dict.fromkeys(plan_codes or []))
    require_write(actor, data["township_code"], "为其他乡镇或县级登记演练")
    problems = validate_drill(db, data, plan_codes, today)
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        if planned_id is not None:  # still open and in scope, checked inside the write
            _open_planned(cur, actor, planned_id, "完成其他乡镇的演练计划")
        if not duplicate_ok and (found := _duplicates(cur, data, plan_codes)):
            raise PossibleDuplicate(found)
        drill_id = insert_row(cur, "drills", {**data, "created_by": actor.username})
        for code in plan_codes:
            cur.execute("INSERT INTO drill_plans VALUES (?, ?)", [drill_id, code])
        audit.record(cur, actor, "create", "drills", drill_id, None, {**data, "plans": plan_codes})
        if data["plan_problems_found"]:
            _flag_plans(cur, actor, drill_id, plan_codes)
        if planned_id is not None:
            _mark_planned_done(cur, actor, planned_id, drill_id)
        return drill_id

    return db.write(work, serial=not duplicate_ok)  # the check sees a drill saved at the same moment


def update_drill(
    db: Database,
    actor: User,
    drill_id: int,
    changes: dict,
    plan_codes: list[str] | None = None,
    *,
    today: date | None = None,
    expected: dict | None = None,
) -> dict:
    """Edit a drill (and, when plan_codes is given, the plans it exercised); returns it as saved."""

    def work(cur: Cursor):
        before = _drill(cur, drill_id)
        old_plans = _drill_plans(cur, drill_id)
        require_write(actor, before["township_code"], "修改其他乡镇或县级的演练")
        refuse_voided(cur, "drills", drill_id)
        stale.check_fresh(
            {"id": drill_id, **before, "plans": old_plans},
            expected,
            table="drills",
            record_id=drill_id,
            labels=DRILL_LABELS,
            viewer=actor,
            enums=DRILL_ENUMS,
        )
        after = _normalise({**before, **{k: v for k, v in changes.items() if k in DRILL_FIELDS}})
        require_write(actor, after["township_code"], "把演练改到其他乡镇")
        new_plans = list(dict.fromkeys(plan_codes)) if plan_codes is not None else old_plans
        problems = validate_drill(db, after, new_plans, today)
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed(before, after)
        removed = [c for c in old_plans if c not in new_plans]
        added = [c for c in new_plans if c not in old_plans]
        if new:
            cur.execute(
                f"UPDATE drills SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?", [*new.values(), drill_id]
            )
        for code in removed:  # only what changed: DuckDB may refuse delete + re-insert of one key
            cur.execute("DELETE FROM drill_plans WHERE drill_id = ? AND plan_code = ?", [drill_id, code])
        for code in added:
            cur.execute("INSERT INTO drill_plans VALUES (?, ?)", [drill_id, code])
        if removed or added:
            old["plans"], new["plans"] = old_plans, new_plans
        if new:
            audit.record(cur, actor, "update", "drills", drill_id, old, new)
        if after["plan_problems_found"] and (not before["plan_problems_found"] or added):
            _flag_plans(cur, actor, drill_id, new_plans if not before["plan_problems_found"] else added)
        return _drill_record(cur, drill_id)

    return db.write(work)


def _drill_filter(
    year: int | None = None,
    township_code: str | None = None,
    level: str | None = None,
    plan_code: str | None = None,
    search: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> tuple[str, list]:
    """The one WHERE of the drill list, its count and its picker (live drills only)."""
    text = clean(search) or None
    return sql_where(
        ("year(d.held_on) = ?", year),
        ("d.township_code = ?", township_code),
        ("d.level = ?", level),
        ("d.id IN (SELECT drill_id FROM drill_plans WHERE plan_code = ?)", plan_code),
        (live("drills", "d"), True),
        ("(position(? IN d.title) > 0 OR position(? IN d.organiser) > 0)", text),
        ("d.held_on >= ?", since),
        ("d.held_on <= ?", until),
    )


def drill_list(db: Database, *, limit: int | None = None, offset: int = 0, **filters):
    """The drills matching every filter given: year, township, level, a plan drilled, text in the title
    or the organiser (`search`), held on or after `since` and on or before `until`. Newest first.
    limit/offset give one page (drill_page); without a limit, the whole filtered list (exports)."""
    where, params = _drill_filter(**filters)
    return db.frame(
        "SELECT d.id, d.held_on, d.title, d.level, coalesce(t.name, '全县') AS township_name, d.organiser,"
        " d.form, d.participants,"
        " (SELECT string_agg(dp.plan_code, '、' ORDER BY dp.plan_code) FROM drill_plans dp WHERE dp.drill_id = d.id)"
        " AS plans, d.township_code, d.plan_problems_found,"
        " (SELECT count(*) FROM corrective_actions a WHERE a.drill_id = d.id AND a.closed_on IS NULL"
        f" AND {live('corrective_actions', 'a')}) AS open_actions"
        f" FROM drills d LEFT JOIN townships t ON t.code = d.township_code {where} ORDER BY d.held_on DESC, d.id DESC"
        + paging.limit_clause(limit, offset),
        params,
    )


def drill_summary(db: Database, **filters) -> dict:
    """{drills, participants} of the whole filtered list (drill_list's WHERE)."""
    where, params = _drill_filter(**filters)
    return db.query_dicts(
        f"SELECT count(*) AS drills, coalesce(sum(d.participants), 0) AS participants FROM drills d {where}", params
    )[0]


def drill_page(db: Database, *, page: int = 1, page_size: int | None = None, **filters) -> paging.Page:
    """One page of drill_list, with the total of the whole filtered list."""
    return paging.fetch(
        lambda: drill_summary(db, **filters)["drills"],
        lambda limit, offset: drill_list(db, limit=limit, offset=offset, **filters),
        page,
        page_size,
    )


def drill_choices(db: Database, text: str | None, *, limit: int = paging.PICK_LIMIT, **filters) -> dict[int, str]:
    """{id: "2024-05-01 title（township）"} of at most `limit` live drills whose title, organiser or
    number matches `text` (a searchable picker), newest first."""
    text = clean(text) or ""
    where, params = _drill_filter(**filters)
    if text:
        where += (" AND " if where else "WHERE ") + "(position(? IN d.title) > 0 OR position(? IN d.organiser) > 0"
        where += " OR CAST(d.id AS VARCHAR) = ?)"
        params += [text, text, text]
    rows = db.query(
        f"SELECT d.id, d.held_on, d.title, coalesce(t.name, '全县') FROM drills d"
        f" LEFT JOIN townships t ON t.code = d.township_code {where}"
        f" ORDER BY d.held_on DESC, d.id DESC LIMIT {int(limit)}",
        params,
    )
    return {int(i): f"{held} {title}（{town}）" for i, held, title, town in rows}


def drill_years(db: Database) -> list[int]:
    return [
        int(y)
        for (y,) in db.query(f"SELECT DISTINCT year(held_on) FROM drills d WHERE {live('drills', 'd')} ORDER BY 1 DESC")
    ]


def drill_exists(db: Database, drill_id: int) -> bool:
    return bool(db.scalar("SELECT count(*) FROM drills WHERE id = ?", [drill_id]))


def monthly_by_level(db: Database, year: int):
    """The year's drills per (month, level): a frame of month (1-12), level, drills."""
    return db.frame(
        "SELECT month(held_on) AS month, level, count(*) AS drills FROM drills d WHERE year(held_on) = ?"
        f" AND {live('drills', 'd')} GROUP BY 1, 2 ORDER BY 1, 2",
        [year],
    )


def drill_detail(db: Database, drill_id: int) -> dict:
    """The whole record: fields, names of its places, plans, attachments, corrective actions, planned drill."""
    rows = db.query_dicts(
        "SELECT d.*, t.name AS township_name, v.name AS village_name, e.name AS enterprise_name"
        " FROM drills d LEFT JOIN townships t ON t.code = d.township_code"
        " LEFT JOIN villages v ON v.code = d.village_code LEFT JOIN enterprises e ON e.id = d.enterprise_id"
        " WHERE d.id = ?",
        [drill_id],
    )
    if not rows:
        raise ValueError(f"演练 {drill_id} 不存在")
    detail = rows[0]
    detail["plans"] = db.query_dicts(
        "SELECT p.code, p.name, p.needs_revision FROM drill_plans dp"
        " JOIN plans p ON p.code = dp.plan_code WHERE dp.drill_id = ? ORDER BY p.code",
        [drill_id],
    )
    detail["attachments"] = db.query_dicts("SELECT * FROM drill_attachments WHERE drill_id = ? ORDER BY id", [drill_id])
    detail["actions"] = db.query_dicts(
        f"SELECT * FROM corrective_actions a WHERE drill_id = ? AND {live('corrective_actions', 'a')}"
        " ORDER BY due_on, id",
        [drill_id],
    )
    detail["planned"] = db.query_dicts(
        "SELECT id, title, planned_on FROM planned_drills WHERE drill_id = ?", [drill_id]
    )
    detail["note"] = db.scalar("SELECT note FROM drill_notes WHERE drill_id = ?", [drill_id])  # an import's 备注
    return detail


def by_level_and_sector(db: Database, year: int) -> tuple[list[dict], list[dict]]:
    """The year's drills and person-times by level, and the enterprise drills by sector."""
    levels = db.query_dicts(
        "SELECT level, count(*) AS drills, coalesce(sum(participants), 0) AS participants FROM drills d"
        f" WHERE year(held_on) = ? AND {live('drills', 'd')} GROUP BY level",
        [year],
    )
    sectors = db.query_dicts(
        "SELECT e.sector, count(*) AS drills, coalesce(sum(d.participants), 0) AS participants,"
        " count(DISTINCT e.id) AS enterprises FROM drills d JOIN enterprises e ON e.id = d.enterprise_id"
        f" WHERE d.level = 'enterprise' AND year(d.held_on) = ? AND {live('drills', 'd')} GROUP BY e.sector",
        [year],
    )
    order = list(DRILL_LEVELS)
    levels.sort(key=lambda r: order.index(r["level"]) if r["level"] in order else 99)
    from .enums import ENTERPRISE_SECTORS

    sector_order = list(ENTERPRISE_SECTORS)
    sectors.sort(key=lambda r: sector_order.index(r["sector"]) if r["sector"] in sector_order else 99)
    return levels, sectors


# Attachments -------------------------------------------------------------------------------------
def attachments_dir(db: Database) -> Path:
    """Attachments live beside the database file (data/attachments/ for the app's default file)."""
    return Path(db.path).resolve().parent / "attachments"


def add_attachment(db: Database, actor: User, drill_id: int, name: str, data: bytes, kind: str = "pdf") -> int:
    """Check the file (type by extension and content, size), store it under a generated name, record it."""
    drill = _drill(db.cursor(), drill_id)
    require_write(actor, drill["township_code"], "为其他乡镇或县级的演练上传附件")
    if kind not in ATTACHMENT_KINDS:
        raise ValidationError.single("附件类别", f"必须是 {'、'.join(ATTACHMENT_KINDS.values())} 之一")
    _, purpose, max_mb = ARCHIVE_KINDS[kind]
    problem = check_upload(name, data, purpose, max_mb * 1024 * 1024)
    if problem:
        raise ValidationError.single(f"附件 {clean(name)}", problem)
    suffix = PurePath(name).suffix.lower()
    relative = PurePath("attachments", str(int(drill_id)), f"{secrets.token_hex(12)}{suffix}")
    target = attachments_dir(db).parent / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)

    def work(cur: Cursor):
        attachment_id = first_value(
            cur,
            "INSERT INTO drill_attachments (drill_id, kind, original_name, stored_path, size_bytes, uploaded_by)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [drill_id, kind, clean(name)[:200], relative.as_posix(), len(data), actor.username],
        )
        audit.record(
            cur,
            actor,
            "create",
            "drill_attachments",
            attachment_id,
            None,
            {"drill_id": drill_id, "kind": kind, "original_name": clean(name), "size_bytes": len(data)},
        )
        return attachment_id

    try:
        return db.write(work)
    except BaseException:
        target.unlink(missing_ok=True)  # nothing half-written: no file without its row
        raise


def attachment_exists(db: Database, attachment: dict) -> bool:
    """Whether the stored file of an attachment row is on disk (a copied database may lack its files)."""
    return (attachments_dir(db).parent / attachment["stored_path"]).is_file()


def attachment_bytes(db: Database, attachment_id: int) -> tuple[str, bytes]:
    """(original name, content) of a stored attachment."""
    rows = db.query_dicts("SELECT original_name, stored_path FROM drill_attachments WHERE id = ?", [attachment_id])
    if not rows:
        raise ValueError(f"附件 {attachment_id} 不存在")
    path = (attachments_dir(db).parent / rows[0]["stored_path"]).resolve()
    if attachments_dir(db).resolve() not in path.parents:
        raise ValueError("附件路径不合规")
    return rows[0]["original_name"], path.read_bytes()


# Corrective actions ------------------------------------------------------------------------------
def add_action(db: Database, actor: User, drill_id: int, description: str, owner: str, due_on: date) -> int:
    drill = _drill(db.cursor(), drill_id)
    require_write(actor, drill["township_code"], "为其他乡镇或县级的演练登记整改")
    problems = []
    if not clean(description):
        problems.append(Problem("整改事项", "不能为空"))
    if not clean(owner):
        problems.append(Problem("责任人", "不能为空"))
    if not isinstance(due_on, date):
        problems.append(Problem("整改期限", "必须填写日期"))
    elif due_on < drill["held_on"]:
        problems.append(Problem("整改期限", "不能早于演练日期"))
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        action_id = first_value(
            cur,
            "INSERT INTO corrective_actions (drill_id, description, owner, due_on, created_by) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            [drill_id, clean(description), clean(owner), due_on, actor.username],
        )
        audit.record(
            cur,
            actor,
            "create",
            "corrective_actions",
            action_id,
            None,
            {"drill_id": drill_id, "description": clean(description), "owner": clean(owner), "due_on": due_on},
        )
        return action_id

    return db.write(work)


def _action(cur: Cursor, action_id: int) -> dict:
    row = row_dict(
        cur,
        "SELECT a.*, d.township_code, d.held_on FROM corrective_actions a"
        " JOIN drills d ON d.id = a.drill_id WHERE a.id = ?",
        [action_id],
    )
    if not row:
        raise ValueError(f"整改事项 {action_id} 不存在")
    return row


def action_record(db: Database, action_id: int) -> dict:
    """A corrective action (with its drill's township and date) as the closing form draws it."""
    return _action(db.cursor(), action_id)


def close_action(
    db: Database,
    actor: User,
    action_id: int,
    closed_on: date,
    note: str,
    *,
    today: date | None = None,
    expected: dict | None = None,
    evidence: str | None = None,
) -> dict:
    """Mark an action done with what was done and the evidence (佐证材料) its verification will check.
    An action to revise a plan is closed by the plan's recorded revision, not here."""

    def work(cur: Cursor):
        row = _action(cur, action_id)
        require_write(actor, row["township_code"], "关闭其他乡镇或县级的整改事项")
        stale.check_fresh(
            row, expected, table="corrective_actions", record_id=action_id, labels=ACTION_LABELS, viewer=actor
        )
        problems = []
        if row["closed_on"] is not None:
            problems.append(Problem("整改事项", f"已于 {row['closed_on']} 关闭"))
        if row.get("origin") == "plan":
            problems.append(
                Problem("整改事项", f"须在“专项应急预案”页登记预案 {row['plan_code']} 的修订，修订后自动完成")
            )
        if not clean(note):
            problems.append(Problem("整改情况说明", "不能为空"))
        if not isinstance(closed_on, date):
            problems.append(Problem("完成日期", "必须填写日期"))
        elif closed_on > (today or local_today()) or closed_on < row["held_on"]:
            problems.append(Problem("完成日期", "应在演练日期与今天之间"))
        if problems:
            raise ValidationError(problems)
        cur.execute(
            "UPDATE corrective_actions SET closed_on = ?, closure_note = ?, closed_by = ?, evidence = ? WHERE id = ?",
            [closed_on, clean(note), actor.username, clean(evidence) or None, action_id],
        )
        audit.record(
            cur,
            actor,
            "close",
            "corrective_actions",
            action_id,
            {"closed_on": None},
            {"closed_on": closed_on, "closure_note": clean(note), "evidence": clean(evidence) or None},
        )
        return _action(cur, action_id)

    return db.write(work)


ACTION_FIELDS = ("description", "owner", "due_on", "closure_note")


def update_action(db: Database, actor: User, action_id: int, changes: dict, *, expected: dict | None = None) -> dict:
    """Correct a corrective action (what, who, due date; the closing note once closed)."""

    def work(cur: Cursor):
        before = _action(cur, action_id)
        require_write(actor, before["township_code"], "修改其他乡镇或县级的整改事项")
        refuse_voided(cur, "corrective_actions", action_id)
        stale.check_fresh(
            before, expected, table="corrective_actions", record_id=action_id, labels=ACTION_LABELS, viewer=actor
        )
        after = {k: before[k] for k in ACTION_FIELDS}
        after.update({k: v for k, v in changes.items() if k in ACTION_FIELDS})
        for field in ("description", "owner", "closure_note"):
            after[field] = clean(after[field]) or None
        problems = []
        if not after["description"]:
            problems.append(Problem("整改事项", "不能为空"))
        if not after["owner"]:
            problems.append(Problem("责任人", "不能为空"))
        if not isinstance(after["due_on"], date):
            problems.append(Problem("整改期限", "必须填写日期"))
        elif after["due_on"] < before["held_on"]:
            problems.append(Problem("整改期限", "不能早于演练日期"))
        if before["closed_on"] is not None and not after["closure_note"]:
            problems.append(Problem("整改情况", "已完成的整改事项必须填写整改情况"))
        if before["closed_on"] is None and after["closure_note"]:
            problems.append(Problem("整改情况", "整改完成时再填写（请用关闭整改）"))
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed({k: before[k] for k in ACTION_FIELDS}, after)
        if new:
            cur.execute(
                f"UPDATE corrective_actions SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?",
                [*new.values(), action_id],
            )
            audit.record(cur, actor, "update", "corrective_actions", action_id, old, new)
        return _action(cur, action_id)

    return db.write(work)


def _action_filter(township_code: str | None = None, only_open: bool = False) -> tuple[str, list]:
    """The one WHERE of the corrective-action list, its page and its counts (live actions of live drills)."""
    return sql_where(
        ("d.township_code = ?", township_code),
        ("a.closed_on IS NULL", only_open),
        (live("corrective_actions", "a"), True),
        (live("drills", "d"), True),
    )


ACTION_COLUMNS = (
    "SELECT a.id, a.drill_id, a.description, a.owner, a.due_on, a.closed_on, a.closure_note, a.evidence,"
    " a.closed_by, a.origin, a.plan_code, a.verified_on, a.verification, a.verification_note, d.title AS drill_title,"
    " d.held_on, d.township_code, coalesce(t.name, '全县') AS township_name"
    " FROM corrective_actions a JOIN drills d ON d.id = a.drill_id LEFT JOIN townships t ON t.code = d.township_code"
)
# rules.action_status in SQL, as its rank in the list (overdue first): pinned by tests/test_paging.py
ACTION_STATUS_SQL = (
    "CASE WHEN a.closed_on IS NOT NULL THEN CASE WHEN a.verified_on IS NOT NULL THEN 'verified' ELSE 'closed' END"
    " WHEN a.due_on < ? THEN 'overdue' WHEN a.due_on <= ? + INTERVAL 7 DAY THEN 'due_soon' ELSE 'open' END"
)
ACTION_ORDER = {"overdue": 0, "due_soon": 1, "open": 2, "closed": 3, "verified": 4}


def _with_status(rows: list[dict], today: date) -> list[dict]:
    for row in rows:
        row["status"] = action_status(row["due_on"], row["closed_on"], today, verified_on=row["verified_on"])
        row["days_overdue"] = (today - row["due_on"]).days if row["status"] == "overdue" else 0
    return rows


def action_list(
    db: Database,
    today: date,
    *,
    township_code: str | None = None,
    only_open: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """Corrective actions with their drill and status (closed / overdue / due_soon / open), overdue first,
    then by due date. limit/offset give one page (action_page); without a limit, the whole list."""
    where, params = _action_filter(township_code, only_open)
    rank = " ".join(f"WHEN '{code}' THEN {n}" for code, n in ACTION_ORDER.items())
    rows = db.query_dicts(
        f"{ACTION_COLUMNS} {where} ORDER BY CASE {ACTION_STATUS_SQL} {rank} END, a.due_on, a.id"
        + paging.limit_clause(limit, offset),
        [*params, today, today],
    )
    return _with_status(rows, today)


def action_status_counts(db: Database, today: date, *, township_code: str | None = None, only_open: bool = False):
    """{status: count} of the whole filtered list (action_list's WHERE)."""
    where, params = _action_filter(township_code, only_open)
    return {
        status: int(n)
        for status, n in db.query(
            f"SELECT {ACTION_STATUS_SQL} AS status, count(*) FROM corrective_actions a JOIN drills d"
            f" ON d.id = a.drill_id {where} GROUP BY status",
            [today, today, *params],
        )
    }


def action_page(
    db: Database,
    today: date,
    *,
    page: int = 1,
    page_size: int | None = None,
    counts: dict[str, int] | None = None,
    **filters,
) -> paging.Page[list[dict]]:
    """One page of action_list, with the total of the whole filtered list (from `counts`,
    action_status_counts of the same filters, when the caller has them)."""
    return paging.fetch(
        lambda: sum((action_status_counts(db, today, **filters) if counts is None else counts).values()),
        lambda limit, offset: action_list(db, today, limit=limit, offset=offset, **filters),
        page,
        page_size,
    )


def action_counts(db: Database, today: date) -> dict:
    """Open corrective actions, and how many of them are past their due date on `today`."""
    return db.query_dicts(
        "SELECT count(*) AS open, count(*) FILTER (WHERE due_on < ?) AS overdue"
        f" FROM corrective_actions a WHERE closed_on IS NULL AND {live('corrective_actions', 'a')}"
        f" AND a.drill_id IN (SELECT d.id FROM drills d WHERE {live('drills', 'd')})",
        [today],
    )[0]


# Planned drills ----------------------------------------------------------------------------------
PLANNED_FIELDS = ("title", "level", "township_code", "village_code", "enterprise_id", "plan_code", "planned_on", "note")


def _planned(cur: Cursor, planned_id: int) -> dict:
    row = row_dict(cur, "SELECT * FROM planned_drills WHERE id = ?", [planned_id])
    if not row:
        raise ValueError(f"演练计划 {planned_id} 不存在")
    return row


def planned_record(db: Database, planned_id: int) -> dict:
    """A planned drill as the complete / cancel forms draw it; passed back as `expected`."""
    return _planned(db.cursor(), planned_id)


def _open_planned(cur: Cursor, actor: User, planned_id: int, what: str, expected: dict | None = None) -> dict:
    """Inside the write: the planned drill, in scope, unchanged since the form, and still open."""
    planned = _planned(cur, planned_id)
    require_write(actor, planned["township_code"], what)
    stale.check_fresh(
        planned,
        expected,
        table="planned_drills",
        record_id=planned_id,
        labels=PLANNED_LABELS,
        viewer=actor,
        enums=PLANNED_ENUMS,
    )
    if planned["status"] != "planned":
        raise ValidationError.single(
            "演练计划", f"第 {planned_id} 号计划已{'完成' if planned['status'] == 'done' else '取消'}"
        )
    return planned


def create_planned(db: Database, actor: User, data: dict) -> int:
    """A drill in the annual plan: title, level, township, the plan it will exercise, planned date."""
    data = _planned_data(data)
    require_write(actor, data["township_code"], "为其他乡镇或县级制定演练计划")
    problems = planned_problems(db, data)
    if problems:
        raise ValidationError(problems)

    return db.write(lambda cur: _insert_planned(cur, actor, data))


def _insert_planned(cur: Cursor, actor: User, data: dict, **audited) -> int:
    """Inside a write: one planned drill and its audit row (`audited`: what else the audit row records,
    e.g. the programme entry it was drawn from). The caller has checked scope and validity."""
    planned_id = insert_row(cur, "planned_drills", {**data, "created_by": actor.username})
    audit.record(cur, actor, "create", "planned_drills", planned_id, None, {**data, **audited})
    return planned_id


def _planned_data(data: dict) -> dict:
    data = {k: data.get(k) for k in PLANNED_FIELDS}
    data["title"], data["note"] = clean(data["title"]), clean(data["note"]) or None
    data["village_code"] = data["village_code"] or None
    if data["enterprise_id"] is not None:
        data["enterprise_id"] = int(data["enterprise_id"])
    return data


def planned_problems(db: Database, data: dict) -> list[Problem]:
    """Every problem of a planned drill (title, level and its places, plan, date); [] when acceptable."""
    problems = []
    if not data["title"]:
        problems.append(Problem("演练名称", "不能为空"))
    if data["level"] not in DRILL_LEVELS:
        problems.append(Problem("演练层级", f"必须是 {'、'.join(DRILL_LEVELS.values())} 之一"))
    if data["level"] == "county" and data["township_code"]:
        problems.append(Problem("所属乡镇", "县级演练不填写乡镇"))
    if data["level"] in ("township", "village", "enterprise") and not data["township_code"]:
        problems.append(Problem("所属乡镇", "必须填写"))
    problems += place_problems(db, data["township_code"], data["village_code"])
    problems += reference_problems(db, data["enterprise_id"], data["township_code"])
    if data["plan_code"] and not db.scalar("SELECT count(*) FROM plans WHERE code = ?", [data["plan_code"]]):
        problems.append(Problem("演练预案", f"{data['plan_code']} 不存在"))
    if not isinstance(data["planned_on"], date):
        problems.append(Problem("计划日期", "必须填写日期"))
    return problems


def update_planned(db: Database, actor: User, planned_id: int, changes: dict, *, expected: dict | None = None) -> dict:
    """Correct a planned drill (title, level, places, plan, date, note); returns it as saved."""

    def work(cur: Cursor):
        before = _planned(cur, planned_id)
        require_write(actor, before["township_code"], "修改其他乡镇或县级的演练计划")
        refuse_voided(cur, "planned_drills", planned_id)
        stale.check_fresh(
            before,
            expected,
            table="planned_drills",
            record_id=planned_id,
            labels=PLANNED_LABELS,
            viewer=actor,
            enums=PLANNED_ENUMS,
        )
        after = _planned_data({**before, **{k: v for k, v in changes.items() if k in PLANNED_FIELDS}})
        require_write(actor, after["township_code"], "把演练计划改到其他乡镇")
        problems = planned_problems(db, after)
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed({k: before[k] for k in PLANNED_FIELDS}, after)
        if new:
            cur.execute(
                f"UPDATE planned_drills SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?",
                [*new.values(), planned_id],
            )
            audit.record(cur, actor, "update", "planned_drills", planned_id, old, new)
        return _planned(cur, planned_id)

    return db.write(work)


def cancel_planned(db: Database, actor: User, planned_id: int, reason: str, *, expected: dict | None = None) -> dict:
    def work(cur: Cursor):
        _open_planned(cur, actor, planned_id, "取消其他乡镇或县级的演练计划", expected)
        if not clean(reason):
            raise ValidationError.single("取消原因", "不能为空")
        cur.execute(
            "UPDATE planned_drills SET status = 'cancelled', cancel_reason = ? WHERE id = ?",
            [clean(reason), planned_id],
        )
        audit.record(
            cur,
            actor,
            "update",
            "planned_drills",
            planned_id,
            {"status": "planned"},
            {"status": "cancelled", "cancel_reason": clean(reason)},
        )
        return _planned(cur, planned_id)

    return db.write(work)


def link_planned(db: Database, actor: User, planned_id: int, drill_id: int, *, expected: dict | None = None) -> dict:
    """A planned drill carried out by an already recorded drill of the same township."""

    def work(cur: Cursor):
        planned = _open_planned(cur, actor, planned_id, "完成其他乡镇的演练计划", expected)
        if _drill(cur, drill_id)["township_code"] != planned["township_code"]:
            raise ValidationError.single("演练记录", "与演练计划不属于同一乡镇")
        _mark_planned_done(cur, actor, planned_id, drill_id)
        return _planned(cur, planned_id)

    return db.write(work)


def planned_list(db: Database, today: date, *, year: int | None = None, township_code: str | None = None) -> list[dict]:
    where, params = sql_where(
        ("year(p.planned_on) = ?", year), ("p.township_code = ?", township_code), (live("planned_drills", "p"), True)
    )
    rows = db.query_dicts(
        "SELECT p.*, coalesce(t.name, '全县') AS township_name, pl.name AS plan_name, d.held_on AS done_on"
        " FROM planned_drills p LEFT JOIN townships t ON t.code = p.township_code"
        " LEFT JOIN plans pl ON pl.code = p.plan_code LEFT JOIN drills d ON d.id = p.drill_id"
        f" {where} ORDER BY p.planned_on, t.sort_order, p.id",
        params,
    )
    for row in rows:
        row["state"] = planned_status(row["planned_on"], row["status"], today)
    return rows


def open_planned_choices(db: Database, township_code: str | None) -> dict[str, int]:
    """{"2026-05-12 title": id} of the planned drills still open (status planned) of one township, or
    of the county itself when township_code is None: what a drill being logged may carry out. Filtered
    in SQL (planned_list reads a whole county's plans)."""
    rows = db.query(
        "SELECT p.planned_on, p.title, p.id FROM planned_drills p LEFT JOIN townships t ON t.code = p.township_code"
        f" WHERE p.status = 'planned' AND p.township_code IS NOT DISTINCT FROM ? AND {live('planned_drills', 'p')}"
        " ORDER BY p.planned_on, t.sort_order, p.id",
        [township_code],
    )
    return {f"{planned_on} {title}": int(i) for planned_on, title, i in rows}


def planned_years(db: Database) -> list[int]:
    """The years with planned drills, earliest first."""
    return [
        int(y)
        for (y,) in db.query(
            f"SELECT DISTINCT year(planned_on) FROM planned_drills p WHERE {live('planned_drills', 'p')} ORDER BY 1"
        )
    ]


def by_month(rows: list[dict], key: str = "planned_on") -> dict[str, list[dict]]:
    """Rows grouped by 'YYYY年M月' in date order (the calendar's list by month)."""
    grouped: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r[key]):
        grouped.setdefault(f"{row[key].year}年{row[key].month}月", []).append(row)
    return grouped
