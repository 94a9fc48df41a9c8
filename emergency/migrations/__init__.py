"""Numbered schema migrations (NNN_name.sql), applied in order and recorded in schema_version.

After the migrations, the reference vocabularies (hazard domains, team kinds, deadline rules)
are brought in line with emergency.enums / emergency.rules, so that code and tables agree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"迁移文件名不合规：{path.name}（应为 001_name.sql）")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise ValueError("迁移文件编号重复")
    return found


def applied_versions(db: Database) -> set[int]:
    db.cursor().execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
    )
    return {row[0] for row in db.query("SELECT version FROM schema_version")}


def migrate(db: Database) -> list[int]:
    """Apply every migration not yet recorded; each in its own transaction. Returns the new ones."""
    done = applied_versions(db)
    new = []
    for version, path in migration_files():
        if version in done:
            continue
        sql = path.read_text(encoding="utf-8")
        with db.transaction() as cur:
            cur.execute(sql)
            cur.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, path.name])
        new.append(version)
    _sync_vocabularies(db)
    return new


def _sync_vocabularies(db: Database) -> None:
    from .. import enums, rules

    with db.transaction() as cur:
        for table, mapping in (("hazard_domains", enums.HAZARD_DOMAINS), ("team_kinds", enums.TEAM_KINDS)):
            existing = {code for (code,) in cur.execute(f"SELECT code FROM {table}").fetchall()}
            for code, name in mapping.items():
                if code in existing:
                    cur.execute(f"UPDATE {table} SET name = ? WHERE code = ? AND name <> ?", [name, code, name])
                else:
                    cur.execute(f"INSERT INTO {table} (code, name) VALUES (?, ?)", [code, name])
        existing = {code for (code,) in cur.execute("SELECT code FROM deadline_rules").fetchall()}
        for rule in rules.DEFAULT_RULES:
            if rule["code"] not in existing:  # rules are configurable data: never overwrite an edit
                cur.execute(
                    "INSERT INTO deadline_rules (code, applies_to, subject, interval_months, due_before_month, label, source)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        rule["code"],
                        rule["applies_to"],
                        rule.get("subject"),
                        rule.get("interval_months"),
                        rule.get("due_before_month"),
                        rule["label"],
                        rule["source"],
                    ],
                )
