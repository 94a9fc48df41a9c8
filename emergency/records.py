"""Voiding (作废), restoring and deleting records a user entered by mistake.

A voided record disappears from every list and statistic but stays in the database, in the audit
trail and in the "已作废" list (`voided_list`), with its reason; an administrator can restore it.
The record stays in its table and a row in `voided_records` (migration 008) marks it: DuckDB 2.0.1
cannot ALTER the referenced tables, nor delete a row and the rows referencing it in one transaction.
Every read that lists or counts records adds `live(table, alias)` (teams and members through
`teams.team_active` / `member_active`).

- void: whoever may edit the record (its township's operator, or an admin), with a reason; a team
  takes its members along, a drill its corrective actions (restored with it); an enterprise that
  live teams, drills or planned drills still name is refused (correct or void those first).
- restore: administrators only.
- delete (hard): administrators only, of a record created within the last 24 hours (its 'create'
  audit row; imported and demo rows have none and are voided instead), audited with
  the whole record. Rows the record owns (a drill's plans, attachments and corrective actions, a
  team's domains, a member's certificates) go with it; a record others still name is refused. Since
  DuckDB refuses a parent's delete in the transaction that deleted its children, the children go in
  a first transaction that also voids the record (so nothing half-deleted is ever counted) and the
  record in a second; should the second fail, the record stays voided and a new delete finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import audit
from .auth import User, require_admin, require_write
from .db import TZ, row_dict
from .errors import ValidationError
from .hygiene import clean

if TYPE_CHECKING:
    from .db import Cursor, Database

DELETE_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Kind:
    label: str  # what the record is called on screen
    sql: str  # one row: township_code, name (what the 已作废 list shows) for id = ?
    owned: tuple[tuple[str, str], ...] = ()  # (table, column naming this record) deleted with it
    named_by: tuple[tuple[str, str, str], ...] = ()  # (table, column, label) whose live rows block


KINDS: dict[str, Kind] = {
    "drills": Kind(
        "演练记录",
        "SELECT township_code, title AS name, held_on AS day FROM drills WHERE id = ?",
        owned=(
            ("drill_plans", "drill_id"),
            ("drill_attachments", "drill_id"),
            ("corrective_actions", "drill_id"),
            ("drill_evaluation_items", "drill_id"),
            ("drill_objective_results", "drill_id"),
            ("drill_evaluations", "drill_id"),
            ("drill_objectives", "drill_id"),
            ("drill_organisation", "drill_id"),
            ("drill_teams", "drill_id"),
            ("drill_notes", "drill_id"),
        ),
        named_by=(("planned_drills", "drill_id", "演练计划"),),
    ),
    "teams": Kind(
        "队伍",
        "SELECT township_code, name, established_on AS day FROM teams WHERE id = ?",
        owned=(("team_domains", "team_id"),),
        named_by=(("members", "team_id", "队员"),),
    ),
    "members": Kind(
        "队员",
        "SELECT t.township_code, m.name || '（' || t.name || '）' AS name, m.joined_on AS day"
        " FROM members m JOIN teams t ON t.id = m.team_id WHERE m.id = ?",
        owned=(("certificates", "member_id"), ("member_phones", "member_id")),
    ),
    "enterprises": Kind(
        "企业（单位）",
        "SELECT township_code, name, registered_on AS day FROM enterprises WHERE id = ?",
        named_by=(
            ("teams", "enterprise_id", "队伍"),
            ("drills", "enterprise_id", "演练记录"),
            ("planned_drills", "enterprise_id", "演练计划"),
        ),
    ),
    "contacts": Kind(
        "联络人",
        "SELECT township_code, name || '（' || role || '）' AS name, active_from AS day FROM contacts WHERE id = ?",
    ),
    "planned_drills": Kind(
        "演练计划", "SELECT township_code, title AS name, planned_on AS day FROM planned_drills WHERE id = ?"
    ),
    "corrective_actions": Kind(
        "整改事项",
        "SELECT d.township_code, a.description AS name, a.due_on AS day FROM corrective_actions a"
        " JOIN drills d ON d.id = a.drill_id WHERE a.id = ?",
    ),
    # a voided hazard point leaves the lists, the map, the coverage figures and the 叫应 chain
    "hazard_points": Kind(
        "隐患点",
        "SELECT township_code, code || ' ' || name AS name, CAST(NULL AS DATE) AS day FROM hazard_points WHERE id = ?",
        owned=(("hazard_drills", "hazard_id"),),
    ),
}
# A void takes these along (restored with it): (table, column naming the voided record).
CASCADES = {"teams": ("members", "team_id"), "drills": ("corrective_actions", "drill_id")}


def live(table: str, alias: str) -> str:
    """SQL condition: the row `alias` of `table` is not voided (every list and statistic adds it)."""
    if table not in KINDS:
        raise ValueError(f"不能作废的数据表：{table}")
    return f"NOT EXISTS (SELECT 1 FROM voided_records vr WHERE vr.table_name = '{table}' AND vr.record_id = {alias}.id)"


def _kind(table: str) -> Kind:
    if table not in KINDS:
        raise ValueError(f"不能作废的数据表：{table}")
    return KINDS[table]


def _subject(cur: Cursor, table: str, record_id: int) -> dict:
    row = row_dict(cur, _kind(table).sql, [record_id])
    if not row:
        raise ValueError(f"{_kind(table).label} {record_id} 不存在")
    return row


def _voided(cur: Cursor, table: str, record_id: int) -> dict | None:
    return row_dict(cur, "SELECT * FROM voided_records WHERE table_name = ? AND record_id = ?", [table, int(record_id)])


def is_voided(db: Database, table: str, record_id: int) -> bool:
    return _voided(db.cursor(), table, record_id) is not None


def voided_record(db: Database, table: str, record_id: int) -> dict | None:
    """The voided_records row of a record (reason, who, when), or None when it is live."""
    return _voided(db.cursor(), table, record_id)


def refuse_voided(cur: Cursor, table: str, record_id: int) -> None:
    """Inside an edit's transaction: a voided record is not edited (restore it first)."""
    if _voided(cur, table, record_id):
        raise ValidationError.single(_kind(table).label, f"第 {int(record_id)} 号已作废，不能修改（管理员可先恢复）")


def _blockers(cur: Cursor, table: str, record_id: int, *, voided_too: bool = False) -> list[str]:
    """'3 条演练记录' for every kind of live record (or any row, voided_too) that still names this one."""
    found = []
    for other, column, label in _kind(table).named_by:
        condition = live(other, "x") if other in KINDS and not voided_too else "TRUE"
        count = cur.execute(
            f"SELECT count(*) FROM {other} x WHERE x.{column} = ? AND {condition}", [record_id]
        ).fetchone()
        if count and count[0]:
            found.append(f"{count[0]} 条{label}")
    return found


def void(db: Database, actor: User, table: str, record_id: int, reason: str) -> dict:
    """Void a record (作废) with a reason; returns its voided_records row. Audited ('void')."""
    record_id = int(record_id)
    kind = _kind(table)

    def work(cur: Cursor):
        subject = _subject(cur, table, record_id)
        require_write(actor, subject["township_code"], f"作废其他乡镇或县级的{kind.label}")
        if _voided(cur, table, record_id):
            raise ValidationError.single(kind.label, f"第 {record_id} 号已作废")
        if not clean(reason):
            raise ValidationError.single("作废原因", "不能为空")
        if table == "enterprises" and (blocking := _blockers(cur, table, record_id)):
            raise ValidationError.single(kind.label, f"仍有{'、'.join(blocking)}属于该企业，请先改正或作废这些记录")
        _mark(cur, actor, table, record_id, clean(reason), None)
        cascaded = []
        if table in CASCADES:
            child, column = CASCADES[table]
            for (child_id,) in cur.execute(
                f"SELECT x.id FROM {child} x WHERE x.{column} = ? AND {live(child, 'x')} ORDER BY x.id", [record_id]
            ).fetchall():
                _mark(cur, actor, child, child_id, clean(reason), f"{table}:{record_id}")
                cascaded.append(child_id)
        audit.record(
            cur,
            actor,
            "void",
            table,
            record_id,
            None,
            {"reason": clean(reason), "name": subject["name"], **({"cascaded": cascaded} if cascaded else {})},
        )
        return _voided(cur, table, record_id)

    return db.write(work)


def _mark(cur: Cursor, actor: User, table: str, record_id: int, reason: str, cascade_of: str | None) -> None:
    cur.execute(
        "INSERT INTO voided_records (table_name, record_id, reason, voided_by, cascade_of) VALUES (?, ?, ?, ?, ?)",
        [table, record_id, reason, actor.username, cascade_of],
    )


def restore(db: Database, actor: User, table: str, record_id: int) -> None:
    """Restore a voided record (and what its void took along); administrators only. Audited ('restore')."""
    require_admin(actor, "恢复已作废的记录")
    record_id = int(record_id)
    kind = _kind(table)

    def work(cur: Cursor):
        row = _voided(cur, table, record_id)
        if not row:
            raise ValidationError.single(kind.label, f"第 {record_id} 号未作废")
        if row["cascade_of"]:
            parent_table, parent_id = row["cascade_of"].split(":")
            if _voided(cur, parent_table, int(parent_id)):
                raise ValidationError.single(
                    kind.label,
                    f"随{_kind(parent_table).label} {parent_id} 一同作废，请先恢复该{_kind(parent_table).label}",
                )
        key = f"{table}:{record_id}"
        along = [
            r for (r,) in cur.execute("SELECT record_id FROM voided_records WHERE cascade_of = ?", [key]).fetchall()
        ]
        cur.execute("DELETE FROM voided_records WHERE table_name = ? AND record_id = ?", [table, record_id])
        cur.execute("DELETE FROM voided_records WHERE cascade_of = ?", [key])
        audit.record(
            cur,
            actor,
            "restore",
            table,
            record_id,
            {"reason": row["reason"], "voided_by": row["voided_by"]},
            {"restored": True, **({"cascaded": along} if along else {})},
        )

    db.write(work)


def created_at(db: Database, table: str, record_id: int) -> datetime | None:
    """When the record was created in the app: its 'create' row in the audit trail (None for rows
    written in bulk: the demo and imports, which are voided instead)."""
    return db.scalar(
        "SELECT min(occurred_at) FROM audit_log WHERE action = 'create' AND table_name = ? AND record_id = ?",
        [table, str(int(record_id))],
    )


def deletable(db: Database, actor: User, table: str, record_id: int, now: datetime | None = None) -> bool:
    """Whether `delete` would be allowed (the page shows the button only then)."""
    if not actor.is_admin:
        return False
    made = created_at(db, table, record_id)
    return made is not None and (now or datetime.now(TZ)) - made <= DELETE_WITHIN


def delete(db: Database, actor: User, table: str, record_id: int, *, now: datetime | None = None) -> None:
    """Delete a record created by mistake within the last 24 hours, with what it owns; admins only."""
    require_admin(actor, "彻底删除记录")
    record_id = int(record_id)
    kind = _kind(table)
    made = created_at(db, table, record_id)
    if made is None or (now or datetime.now(TZ)) - made > DELETE_WITHIN:
        raise ValidationError.single(
            kind.label, "只能彻底删除24小时内逐条新建的记录；更早的或批量导入的记录请作废（作废后仍可恢复）"
        )

    def first(cur: Cursor):
        subject = _subject(cur, table, record_id)
        blocking = _blockers(cur, table, record_id, voided_too=True)
        if blocking:
            raise ValidationError.single(kind.label, f"仍有{'、'.join(blocking)}引用该记录（含已作废的），不能删除")
        whole = row_dict(cur, f"SELECT * FROM {table} WHERE id = ?", [record_id]) or {}
        removed = {}
        for owned, column in kind.owned:
            if owned == "corrective_actions":
                ids = [i for (i,) in cur.execute(f"SELECT id FROM {owned} WHERE {column} = ?", [record_id]).fetchall()]
                cur.execute(
                    "DELETE FROM voided_records WHERE table_name = 'corrective_actions' AND list_contains(?, record_id)",
                    [ids],
                )
            count = cur.execute(f"SELECT count(*) FROM {owned} WHERE {column} = ?", [record_id]).fetchone()
            if count and count[0]:
                removed[owned] = count[0]
                cur.execute(f"DELETE FROM {owned} WHERE {column} = ?", [record_id])
        if not _voided(cur, table, record_id):
            _mark(cur, actor, table, record_id, "彻底删除中", None)
        audit.record(cur, actor, "delete", table, record_id, whole, {"name": subject["name"], "removed": removed})

    def second(cur: Cursor):
        cur.execute(f"DELETE FROM {table} WHERE id = ?", [record_id])
        cur.execute("DELETE FROM voided_records WHERE table_name = ? AND record_id = ?", [table, record_id])

    files = []
    if table == "drills":  # the stored attachment files go with their rows
        from .drills import attachments_dir

        base = attachments_dir(db).parent
        files = [
            base / p for (p,) in db.query("SELECT stored_path FROM drill_attachments WHERE drill_id = ?", [record_id])
        ]
    db.write(first)
    db.write(second)
    for path in files:
        path.unlink(missing_ok=True)


def voided_list(db: Database, *, table: str | None = None, township_code: str | None = None) -> list[dict]:
    """The 已作废 view: every voided record with its kind, name, township, reason, who and when."""
    from .db import where as sql_where

    where, params = sql_where(("table_name = ?", table))
    rows = db.query_dicts(
        f"SELECT table_name, record_id, reason, voided_by, voided_at, cascade_of FROM voided_records {where}"
        " ORDER BY voided_at DESC, table_name, record_id",
        params,
    )
    cur = db.cursor()
    shown = []
    for row in rows:
        subject = (
            row_dict(cur, KINDS[row["table_name"]].sql, [row["record_id"]]) if row["table_name"] in KINDS else None
        )
        if subject is None:
            continue
        if township_code is not None and subject["township_code"] != township_code:
            continue
        shown.append({**row, "kind": KINDS[row["table_name"]].label, **subject})
    return shown
