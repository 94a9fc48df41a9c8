"""Backups of the database file, made inside the process that owns it, and restore.

A backup is a complete DuckDB file: the owning process ATTACHes a new file and runs
`COPY FROM DATABASE <this> TO <new>` (schema, sequences with their current values, and data, read
in one statement's snapshot, so writes that happen meanwhile are either wholly in it or not at
all), CHECKPOINTs it and renames it into place. Nothing outside the process has to read the live
file, which DuckDB would refuse anyway.

Files: <backup dir>/<db name>-YYYYmmdd-HHMMSS.duckdb; the directory is `backups/` beside the
database file. Backups older than `backup_keep_days` (reminder settings, default 14) are deleted
after each nightly backup, never the newest one.

Restore (server stopped): `python -m emergency restore FILE [--db PATH]`. It refuses with the lock
message while the server holds the file; otherwise it checks the backup opens, keeps the current
file as <file>.before-restore-<time>, copies the backup in place and runs the migrations on it.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from .db import TZ, first_value
from .notify.reminders import get_settings, local

if TYPE_CHECKING:
    from .db import Database

_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6})\.duckdb$")


def backup_dir(db: Database) -> Path:
    return Path(db.path).resolve().parent / "backups"


def make_backup(db: Database, now: datetime | None = None, directory: Path | None = None) -> Path:
    now = local(now or datetime.now(TZ))
    directory = Path(directory or backup_dir(db))
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{Path(db.path).stem}-{now:%Y%m%d-%H%M%S}.duckdb"
    part = final.with_name(final.name + ".part")
    part.unlink(missing_ok=True)
    alias = f"backup_{uuid.uuid4().hex[:12]}"
    cur = db.cursor()
    source = first_value(cur, "SELECT current_database()")
    cur.execute(f"ATTACH '{_sql_path(part)}' AS {alias}")
    try:
        cur.execute(f'COPY FROM DATABASE "{source}" TO {alias}')
        cur.execute(f"CHECKPOINT {alias}")
    finally:
        cur.execute(f"DETACH {alias}")
    os.replace(part, final)
    return final


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def list_backups(directory: Path, stem: str | None = None) -> list[dict]:
    """Backups in a directory, newest first: path, taken_at, size."""
    found = []
    for path in Path(directory).glob("*.duckdb"):
        match = _NAME.match(path.name)
        if not match or (stem and match.group("stem") != stem):
            continue
        taken = datetime.strptime(match.group("stamp"), "%Y%m%d-%H%M%S").replace(tzinfo=TZ)
        found.append({"path": path, "taken_at": taken, "size": path.stat().st_size})
    return sorted(found, key=lambda b: b["taken_at"], reverse=True)


def prune(directory: Path, stem: str, keep_days: int, now: datetime) -> list[Path]:
    """Delete backups taken more than keep_days before now; the newest one is always kept."""
    backups = list_backups(directory, stem)
    cutoff = local(now) - timedelta(days=keep_days)
    removed = []
    for b in backups[1:]:
        if b["taken_at"] < cutoff:
            b["path"].unlink()
            removed.append(b["path"])
    return removed


def nightly(db: Database, now: datetime | None = None) -> dict:
    """The scheduler's job: a backup, then the old ones pruned."""
    now = local(now or datetime.now(TZ))
    path = make_backup(db, now)
    removed = prune(path.parent, Path(db.path).stem, get_settings(db)["backup_keep_days"], now)
    return {"path": path, "removed": removed}


def check_backup(path: Path) -> int:
    """The schema version of a backup file, or ValueError if it is not a usable backup."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"备份文件不存在：{path}")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ValueError(f"不是可用的数据库备份：{path}（{exc}）") from None
    try:
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        if row is None or row[0] is None:
            raise ValueError(f"不是可用的数据库备份：{path}（没有结构版本记录）")
        return int(row[0])
    except duckdb.Error:
        raise ValueError(f"不是本系统的数据库备份（缺少 schema_version）：{path}") from None
    finally:
        con.close()


def restore(db: Database, backup_file: Path, now: datetime | None = None) -> dict:
    """Replace the (open, so not held by anyone else) database `db` with a backup. Closes `db`."""
    from .db import Database

    now = local(now or datetime.now(TZ))
    backup_file = Path(backup_file).resolve()
    target = Path(db.path).resolve()
    if backup_file == target:
        raise ValueError("备份文件不能是当前数据库文件本身")
    version = check_backup(backup_file)
    db.close()
    kept = target.with_name(f"{target.stem}.before-restore-{now:%Y%m%d-%H%M%S}{target.suffix}")
    if target.exists():
        os.replace(target, kept)
    wal = target.with_name(target.name + ".wal")
    if wal.exists():
        os.replace(wal, kept.with_name(kept.name + ".wal"))
    part = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup_file, part)
    os.replace(part, target)
    restored = Database(target)  # applies any migration newer than the backup
    try:
        counts = {
            t: restored.scalar(f"SELECT count(*) FROM {t}") for t in ("teams", "members", "drills", "notifications")
        }
    finally:
        restored.close()
    return {"kept": kept if kept.exists() else None, "schema_version": version, "counts": counts}
