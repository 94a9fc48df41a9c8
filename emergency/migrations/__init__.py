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
        _sync_rules(cur, rules.DEFAULT_RULES)


# What the bureau may edit in a rule; everything else in a rule row follows the code.
EDITABLE_RULE_COLUMNS = ("interval_months", "season_start", "season_end", "working_days")
RULE_TEXT_COLUMNS = ("applies_to", "subject", "domains", "due_at", "label", "source", "certainty")


def _sync_rules(cur, defaults: list[dict]) -> None:
    """Insert missing rules; bring each rule's texts (label, source, certainty, ...) in line with the
    code; fill an editable value only where it is empty, so an edit by the bureau is never overwritten."""
    existing = {code for (code,) in cur.execute("SELECT code FROM deadline_rules").fetchall()}
    for rule in defaults:
        texts = [rule.get(c) for c in RULE_TEXT_COLUMNS]
        values = [rule.get(c) for c in EDITABLE_RULE_COLUMNS]
        if rule["code"] not in existing:
            columns = ("code", *RULE_TEXT_COLUMNS, *EDITABLE_RULE_COLUMNS)
            cur.execute(
                f"INSERT INTO deadline_rules ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [rule["code"], *texts, *values],
            )
            continue
        cur.execute(
            f"UPDATE deadline_rules SET {', '.join(f'{c} = ?' for c in RULE_TEXT_COLUMNS)},"
            f" {', '.join(f'{c} = coalesce({c}, ?)' for c in EDITABLE_RULE_COLUMNS)} WHERE code = ?",
            [*texts, *values, rule["code"]],
        )
