"""The audit trail: who, when, which record, the values before and after. Written in the same
transaction as the change it describes, so a change never lands without its audit row.

One masking rule for every row (`masked`): the audit log is for administrators, but a log is copied
and exported, so phone numbers, ID numbers and secrets are never written into it in full, whichever
write path records them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .db import Cursor, Database

ACTION_LABELS = {
    "create": "新增",
    "update": "修改",
    "disband": "撤销",
    "leave": "离队",
    "reveal": "查看完整身份证号",
    "export": "导出",
    "login": "登录",
    "login_failed": "登录失败",
    "login_locked": "账号锁定",
    "close": "关闭",
    "import": "导入",
    "revise": "修订",
    "evaluate": "评估",
    "cancel": "取消",
    "void": "作废",
    "restore": "恢复",
    "delete": "彻底删除",
}


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _mask_phone(value):
    from .privacy import mask_phone

    return None if value is None else mask_phone(value)


def _mask_id(value):
    from .privacy import mask_id

    return None if value is None else mask_id(value)


def _hidden(value):
    return None if value is None else "（已隐藏）"


# Field names that hold personal data or secrets, in any table, and how each is written to the log.
SENSITIVE_FIELDS = {
    "phone": _mask_phone,
    "duty_phone": _mask_phone,
    "second_phone": _mask_phone,
    "contact_phone": _mask_phone,
    "mobile": _mask_phone,
    "custodian_phone": _mask_phone,  # emergency resources (resources/): depot, shelter, hazard point
    "manager_phone": _mask_phone,
    "responsible_phone": _mask_phone,
    "monitor_phone": _mask_phone,
    "id_number": _mask_id,
    "id_cipher": _hidden,
    "id_hmac": _hidden,
    "password": _hidden,
    "password_hash": _hidden,
    "secret": _hidden,
    "token": _hidden,
    "token_hash": _hidden,
}


def masked(values: dict | None) -> dict | None:
    """The values as the audit log keeps them: sensitive fields masked (see SENSITIVE_FIELDS)."""
    if values is None:
        return None
    return {k: SENSITIVE_FIELDS[k](v) if k in SENSITIVE_FIELDS else v for k, v in values.items()}


def to_json(values: dict | None) -> str | None:
    if values is None:
        return None
    return json.dumps({k: _plain(v) for k, v in values.items()}, ensure_ascii=False, sort_keys=True)


def record(cur: Cursor, actor, action: str, table: str, record_id, before: dict | None, after: dict | None) -> None:
    cur.execute(
        "INSERT INTO audit_log (username, action, table_name, record_id, before, after) VALUES (?, ?, ?, ?, ?, ?)",
        [
            actor.username,
            action,
            table,
            None if record_id is None else str(record_id),
            to_json(masked(before)),
            to_json(masked(after)),
        ],
    )


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that differ, before and after."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def usernames(db: Database) -> list[str]:
    """Everyone who appears in the audit trail (the audit page's filter)."""
    return [u for (u,) in db.query("SELECT DISTINCT username FROM audit_log ORDER BY 1")]


def table_names(db: Database) -> list[str]:
    """Every table the audit trail has rows for."""
    return [t for (t,) in db.query("SELECT DISTINCT table_name FROM audit_log ORDER BY 1")]


def _search_filter(
    username: str | None = None,
    table: str | None = None,
    action: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> tuple[str, list]:
    from .db import where as sql_where

    return sql_where(
        ("username = ?", username),
        ("table_name = ?", table),
        ("action = ?", action),
        ("CAST(occurred_at AS DATE) >= ?", since),
        ("CAST(occurred_at AS DATE) <= ?", until),
    )


def search(db: Database, *, limit: int | None = None, offset: int = 0, **filters):
    """The audit rows matching every filter given (user, table, action, date range), newest first;
    limit/offset give one page (search_page), without a limit the whole filtered trail (export)."""
    from . import paging

    where, params = _search_filter(**filters)
    return db.frame(
        f"SELECT occurred_at AS 时间, username AS 用户, action AS 操作, table_name AS 数据表, record_id AS 记录,"
        f" CAST(before AS VARCHAR) AS 修改前, CAST(after AS VARCHAR) AS 修改后 FROM audit_log {where}"
        " ORDER BY id DESC" + paging.limit_clause(limit, offset),
        params,
    )


def search_count(db: Database, **filters) -> int:
    where, params = _search_filter(**filters)
    return int(db.scalar(f"SELECT count(*) FROM audit_log {where}", params))


def search_page(db: Database, *, page: int = 1, page_size: int | None = None, **filters):
    """One page of search, with the total of the whole filtered trail."""
    from . import paging

    return paging.fetch(
        lambda: search_count(db, **filters),
        lambda limit, offset: search(db, limit=limit, offset=offset, **filters),
        page,
        page_size,
    )
