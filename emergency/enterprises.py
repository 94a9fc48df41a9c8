"""Regulated enterprises (非煤矿山、尾矿库、危化品、建筑施工、人员密集场所、旅游景区 ...): the registry.

Each enterprise has a township and a sector (enums.ENTERPRISE_SECTORS); the sector decides its drill
rule (half-yearly for the sectors of 生产安全事故应急条例 Art. 8, else yearly; see deadlines.py).
Writes are scoped to the actor's township and audited; an enterprise is closed, never deleted, so
that its drills stay in the statistics of their year. Edits read the enterprise inside their write
transaction and refuse a form drawn from an older state (`expected`, StaleRecord; see stale.py).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from . import audit, paging, privacy, stale
from .auth import User, require_write
from .db import first_value, insert_row, local_today, row_dict
from .db import where as sql_where
from .enums import ENTERPRISE_PLAN_TYPES, ENTERPRISE_SECTORS
from .errors import Problem, ValidationError
from .hygiene import clean, clean_code
from .records import live, refuse_voided

if TYPE_CHECKING:
    from .db import Cursor, Database

FIELDS = (
    "name",
    "sector",
    "township_code",
    "village_code",
    "address",
    "contact_name",
    "contact_phone",
    "registered_on",
)
LABELS = {
    "name": "企业名称",
    "sector": "行业领域",
    "township_code": "所属乡镇",
    "village_code": "所属村（社区）",
    "address": "地址",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "registered_on": "登记日期",
    "closed_on": "关闭日期",
    "close_reason": "关闭原因",
}


def sector_label(code: str) -> str:
    return ENTERPRISE_SECTORS.get(code, (code, False))[0]


def _enterprise(cur: Cursor, enterprise_id: int) -> dict:
    row = row_dict(
        cur, f"SELECT id, {', '.join(FIELDS)}, closed_on, close_reason FROM enterprises WHERE id = ?", [enterprise_id]
    )
    if not row:
        raise ValueError(f"企业 {enterprise_id} 不存在")
    return row


def enterprise_record(db: Database, enterprise_id: int) -> dict:
    """An enterprise as its edit forms draw it; passed back as `expected` when they save."""
    return _enterprise(db.cursor(), enterprise_id)


def _check(cur: Cursor, actor: User, enterprise_id: int, expected: dict | None, what: str) -> dict:
    """Inside the write: the enterprise as it is now, in the actor's scope and unchanged since the form."""
    before = _enterprise(cur, enterprise_id)
    require_write(actor, before["township_code"], what)
    refuse_voided(cur, "enterprises", enterprise_id)
    stale.check_fresh(
        before,
        expected,
        table="enterprises",
        record_id=enterprise_id,
        labels=LABELS,
        viewer=actor,
        enums={"sector": ENTERPRISE_SECTORS},
    )
    return before


def reference_problems(db: Database, enterprise_id, township_code: str | None) -> list[Problem]:
    """A record (team, drill, planned drill) that names an enterprise: it exists, is open, and lies in
    the record's township, so that no township links its record to another township's enterprise."""
    if enterprise_id is None:
        return []
    try:
        enterprise_id = int(enterprise_id)
    except (TypeError, ValueError):
        return [Problem("企业（单位）", f"编号 {enterprise_id} 无效")]
    row = db.query(
        f"SELECT township_code, closed_on FROM enterprises e WHERE id = ? AND {live('enterprises', 'e')}",
        [enterprise_id],
    )
    if not row:
        return [Problem("企业（单位）", f"编号 {enterprise_id} 不存在或已作废")]
    if row[0][0] != township_code:
        return [Problem("企业（单位）", f"编号 {enterprise_id} 不在所选乡镇")]
    return []


def _normalise(data: dict) -> dict:
    data = {k: data.get(k) for k in FIELDS}
    for field in ("name", "address", "contact_name"):
        data[field] = clean(data[field]) or None
    data["contact_phone"] = clean_code(data["contact_phone"]) or None
    data["village_code"] = data["village_code"] or None
    return data


def validate(db: Database, data: dict, enterprise_id: int | None = None) -> list[Problem]:
    problems = []
    if not data.get("name"):
        problems.append(Problem("企业名称", "不能为空"))
    elif db.scalar(
        "SELECT count(*) FROM enterprises WHERE name = ? AND closed_on IS NULL AND id <> ?",
        [data["name"], enterprise_id or -1],
    ):
        problems.append(Problem("企业名称", f"{data['name']} 已登记"))
    if data.get("sector") not in ENTERPRISE_SECTORS:
        problems.append(Problem("行业领域", f"必须是 {'、'.join(v[0] for v in ENTERPRISE_SECTORS.values())} 之一"))
    township = data.get("township_code")
    if not township or not db.scalar("SELECT count(*) FROM townships WHERE code = ?", [township]):
        problems.append(Problem("所属乡镇", "必须选择一个乡镇"))
    village = data.get("village_code")
    if village and not db.scalar(
        "SELECT count(*) FROM villages WHERE code = ? AND township_code = ?", [village, township]
    ):
        problems.append(Problem("所属村（社区）", f"{village} 不属于所选乡镇"))
    phone = data.get("contact_phone")
    if phone and privacy.validate_mobile(phone) and not phone.startswith("0379"):
        problems.append(Problem("联系电话", "应为11位手机号或 0379 开头的固话"))
    registered = data.get("registered_on")
    if registered is not None and not isinstance(registered, date):
        problems.append(Problem("登记日期", "必须是日期"))
    return problems


def create_enterprise(db: Database, actor: User, data: dict) -> int:
    data = _normalise(data)
    require_write(actor, data["township_code"], "登记其他乡镇的企业")
    problems = validate(db, data)
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        eid = insert_row(cur, "enterprises", data)
        audit.record(cur, actor, "create", "enterprises", eid, None, data)
        return eid

    return db.write(work)


def update_enterprise(
    db: Database, actor: User, enterprise_id: int, changes: dict, *, expected: dict | None = None
) -> dict:
    def work(cur: Cursor):
        before = _check(cur, actor, enterprise_id, expected, "修改其他乡镇的企业")
        after = _normalise({**before, **{k: v for k, v in changes.items() if k in FIELDS}})
        require_write(actor, after["township_code"], "把企业转到其他乡镇")
        problems = validate(db, after, enterprise_id)
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed({k: before[k] for k in FIELDS}, after)
        if new:
            cur.execute(
                f"UPDATE enterprises SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?",
                [*new.values(), enterprise_id],
            )
            audit.record(cur, actor, "update", "enterprises", enterprise_id, old, new)
        return _enterprise(cur, enterprise_id)

    return db.write(work)


def close_enterprise(
    db: Database, actor: User, enterprise_id: int, on: date, reason: str, *, expected: dict | None = None
) -> dict:
    """Closed (关闭/注销): off the compliance list from then on, its drills kept in history."""

    def work(cur: Cursor):
        before = _check(cur, actor, enterprise_id, expected, "关闭其他乡镇的企业")
        if before["closed_on"]:
            raise ValueError(f"企业已于 {before['closed_on']} 关闭")
        if not clean(reason):
            raise ValidationError.single("关闭原因", "不能为空")
        if not isinstance(on, date):
            raise ValidationError.single("关闭日期", "必须填写日期")
        cur.execute(
            "UPDATE enterprises SET closed_on = ?, close_reason = ? WHERE id = ?", [on, clean(reason), enterprise_id]
        )
        audit.record(
            cur,
            actor,
            "close",
            "enterprises",
            enterprise_id,
            {"closed_on": None},
            {"closed_on": on, "close_reason": clean(reason)},
        )
        return _enterprise(cur, enterprise_id)

    return db.write(work)


def _enterprise_filter(
    township_code: str | None = None,
    sector: str | None = None,
    include_closed: bool = False,
    search: str | None = None,
) -> tuple[str, list]:
    """The one WHERE of the enterprise list, its count and its picker (live enterprises only)."""
    text = clean(search) or None
    return sql_where(
        ("(position(? IN e.name) > 0 OR position(? IN coalesce(e.address, '')) > 0)", text),
        ("e.township_code = ?", township_code),
        ("e.sector = ?", sector),
        ("e.closed_on IS NULL", not include_closed),
        (live("enterprises", "e"), True),
    )


def enterprise_list(db: Database, *, limit: int | None = None, offset: int = 0, **filters):
    """Enterprises matching every filter given; `search` finds text in the name or the address.
    limit/offset give one page (enterprise_page); without a limit, the whole filtered list."""
    where, params = _enterprise_filter(**filters)
    return db.frame(
        "SELECT e.id, e.name, e.sector, e.township_code, t.name AS township_name, v.name AS village_name,"
        " e.address, e.contact_name, e.contact_phone, e.registered_on, e.closed_on, e.close_reason"
        " FROM enterprises e JOIN townships t ON t.code = e.township_code LEFT JOIN villages v ON v.code = e.village_code"
        f" {where} ORDER BY t.sort_order, e.sector, e.name, e.id" + paging.limit_clause(limit, offset),
        params,
    )


def enterprise_count(db: Database, **filters) -> int:
    where, params = _enterprise_filter(**filters)
    return int(db.scalar(f"SELECT count(*) FROM enterprises e {where}", params))


def enterprise_page(db: Database, *, page: int = 1, page_size: int | None = None, **filters) -> paging.Page:
    """One page of enterprise_list, with the total of the whole filtered list."""
    return paging.fetch(
        lambda: enterprise_count(db, **filters),
        lambda limit, offset: enterprise_list(db, limit=limit, offset=offset, **filters),
        page,
        page_size,
    )


def enterprise_choices(
    db: Database, text: str | None, township_code: str | None = None, *, limit: int = paging.PICK_LIMIT
) -> dict[str, int]:
    """{label: id} of at most `limit` open enterprises whose name, address or number matches `text`
    (enterprise_options as a searchable picker: the drill forms)."""
    text = clean(text) or ""
    where, params = _enterprise_filter(township_code=township_code)
    if text:
        where += " AND (position(? IN e.name) > 0 OR position(? IN coalesce(e.address, '')) > 0"
        where += " OR CAST(e.id AS VARCHAR) = ?)"
        params += [text, text, text]
    return {
        f"{name}（{sector_label(sector)}）": eid
        for eid, name, sector in db.query(
            f"SELECT id, name, sector FROM enterprises e {where} ORDER BY name, id LIMIT {int(limit)}", params
        )
    }


def enterprise_options(db: Database, township_code: str | None = None) -> dict[str, int]:
    """{label: id} of open enterprises (for drill forms)."""
    params, where = [], f"WHERE closed_on IS NULL AND {live('enterprises', 'e')}"
    if township_code:
        where += " AND township_code = ?"
        params.append(township_code)
    return {
        f"{name}（{sector_label(sector)}）": eid
        for eid, name, sector in db.query(f"SELECT id, name, sector FROM enterprises e {where} ORDER BY name", params)
    }


# Enterprise plans by type and the drill's report to the regulator (the law's clocks) ---------------


def add_enterprise_plan(
    db: Database, actor: User, enterprise_id: int, plan_type: str, name: str, issued_on, *, today=None
) -> int:
    """Register one of an enterprise's plans (综合 / 专项 / 现场处置方案) with its publication date, from
    which its 20-working-day filing clock (and for a 现场处置方案 its half-yearly drill) runs. Scoped
    to the enterprise's township; audited."""
    name, today = clean(name), today or local_today()

    def work(cur: Cursor) -> int:
        _check(cur, actor, enterprise_id, None, "登记企业预案")
        problems = []
        if plan_type not in ENTERPRISE_PLAN_TYPES:
            problems.append(Problem("预案类型", f"必须是 {'、'.join(ENTERPRISE_PLAN_TYPES.values())} 之一"))
        if not name:
            problems.append(Problem("预案名称", "不能为空"))
        if not isinstance(issued_on, date) or issued_on > today:
            problems.append(Problem("公布日期", "必须填写，且不能晚于今天"))
        if problems:
            raise ValidationError(problems)
        values = {"enterprise_id": enterprise_id, "plan_type": plan_type, "name": name, "issued_on": issued_on}
        pid = first_value(
            cur,
            "INSERT INTO enterprise_plans (enterprise_id, plan_type, name, issued_on) VALUES (?, ?, ?, ?) RETURNING id",
            list(values.values()),
        )
        audit.record(cur, actor, "insert", "enterprise_plans", pid, None, values)
        return pid

    return db.write(work)


def record_drill_report(
    db: Database, actor: User, drill_id: int, plan_type: str | None, reported_to: str, reported_on, *, today=None
) -> None:
    """An enterprise drill: which type of its plans it exercised, and its report to the regulator
    (报送负有安全生产监督管理职责的部门, 条例 Art. 8). Scoped to the drill's township; audited."""
    reported_to, today = clean(reported_to), today or local_today()

    def work(cur: Cursor) -> None:
        drill = row_dict(cur, "SELECT township_code, enterprise_id, held_on FROM drills WHERE id = ?", [drill_id])
        if not drill or drill["enterprise_id"] is None:
            raise ValidationError.single("演练", f"企业演练 {drill_id} 不存在")
        require_write(actor, drill["township_code"], "登记演练报送")
        problems = []
        if plan_type is not None and plan_type not in ENTERPRISE_PLAN_TYPES:
            problems.append(Problem("预案类型", f"必须是 {'、'.join(ENTERPRISE_PLAN_TYPES.values())} 之一"))
        if reported_on is not None and (
            not isinstance(reported_on, date) or reported_on > today or reported_on < drill["held_on"]
        ):
            problems.append(Problem("报送日期", "不能早于演练日期，也不能晚于今天"))
        if reported_on is not None and not reported_to:
            problems.append(Problem("报送单位", "不能为空"))
        if problems:
            raise ValidationError(problems)
        before = row_dict(
            cur, "SELECT plan_type, reported_to, reported_on FROM drill_reports WHERE drill_id = ?", [drill_id]
        )
        after = {"plan_type": plan_type, "reported_to": reported_to or None, "reported_on": reported_on}
        if before:  # a leaf table, its key not updated: an UPDATE in place
            cur.execute(
                "UPDATE drill_reports SET plan_type = ?, reported_to = ?, reported_on = ? WHERE drill_id = ?",
                [*after.values(), drill_id],
            )
        else:
            cur.execute(
                "INSERT INTO drill_reports (drill_id, plan_type, reported_to, reported_on) VALUES (?, ?, ?, ?)",
                [drill_id, *after.values()],
            )
        audit.record(cur, actor, "update" if before else "insert", "drill_reports", drill_id, before or None, after)

    db.write(work)
