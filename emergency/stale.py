"""Optimistic concurrency for edit forms: refuse a save made on a record that changed since the form
was drawn, instead of overwriting the other user's change (a lost update).

An edit form keeps the record as it drew it and passes it to the service as `expected`. The service
reads the record inside its write transaction (`Database.write`'s `work(cur)`), and `check_fresh`
compares the two: any field that differs means someone else saved in between, and StaleRecord
says which fields, what the user saw and what is there now. The record's own fields are its
version: DuckDB 2.0.1 refuses ALTER TABLE on a table with dependents ("Dependency Error" on teams,
members, certificates, enterprises and drills of the demo database), so no version column can be
added; comparing the fields needs none, works on every table and names what changed.

Reading inside the transaction is what makes the check hold under concurrency: two saves that read
the same row both hold a snapshot, DuckDB refuses the second write ("Conflict on update"), and
db.write's retry reads again and finds the first save.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from . import privacy

PHONE_FIELDS = {"phone", "duty_phone", "contact_phone"}
MAX_SHOWN = 20  # characters of a long text shown in the message


class StaleRecord(ValueError):
    """The record changed since the form was drawn; nothing was written.

    `changes` lists (field, value the user saw, current value) for every field that differs.
    """

    def __init__(self, table: str, record_id, changes: list[tuple[str, object, object]], message: str):
        super().__init__(message)
        self.table, self.record_id, self.changes = table, record_id, changes


def _comparable(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return sorted(value, key=str)
    return value


def changed_fields(current: dict, expected: dict) -> list[tuple[str, object, object]]:
    """(field, expected, current) for each field both have whose value differs, in `current`'s order."""
    return [
        (k, expected[k], current[k])
        for k in current
        if k in expected and _comparable(expected[k]) != _comparable(current[k])
    ]


def shown(field: str, value, *, full_phone: bool, mapping: dict | None = None) -> str:
    """A value as the message shows it: labels for codes, phones masked unless the viewer sees them."""
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(shown(field, v, full_phone=full_phone, mapping=mapping) for v in value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if field in PHONE_FIELDS and not full_phone:
        return privacy.mask_phone(str(value))
    if mapping and value in mapping:
        value = mapping[value]
        value = value[0] if isinstance(value, tuple) else value  # ENTERPRISE_SECTORS: (label, flag)
    text = str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def message(
    changes: list[tuple[str, object, object]],
    labels: dict[str, str],
    *,
    full_phone: bool,
    enums: dict[str, dict] | None = None,
) -> str:
    """该记录已被其他用户修改（字段：手机号 138****1234 → 139****5678；…），请刷新后重试。"""
    enums = enums or {}
    parts = [
        f"{labels[f]} {shown(f, seen, full_phone=full_phone, mapping=enums.get(f))} → "
        f"{shown(f, now, full_phone=full_phone, mapping=enums.get(f))}"
        for f, seen, now in changes
        if f in labels
    ]
    return "该记录已被其他用户修改" + (f"（字段：{'；'.join(parts)}）" if parts else "") + "，请刷新后重试。"


def check_fresh(
    current: dict,
    expected: dict | None,
    *,
    table: str,
    record_id,
    labels: dict[str, str],
    viewer,
    enums: dict[str, dict] | None = None,
) -> None:
    """Raise StaleRecord when `expected` (the record as the form drew it) differs from `current` (read
    inside the write transaction). No `expected` (scripts, imports, the CLI): no check. Only fields
    both have are compared; fields without a label count but are not shown (ID hashes)."""
    if expected is None:
        return
    for key in ("id", "code"):  # the form was drawn for another record (its picker fell back to this one)
        if key in current and key in expected and expected[key] != current[key]:
            raise StaleRecord(
                table,
                record_id,
                [(key, expected[key], current[key])],
                "该记录已被其他用户修改，表单对应的记录已不在列表中，请刷新后重试。",
            )
    changes = changed_fields(current, expected)
    if changes:
        full_phone = viewer.sees_full_phone(current.get("township_code"))
        raise StaleRecord(table, record_id, changes, message(changes, labels, full_phone=full_phone, enums=enums))
