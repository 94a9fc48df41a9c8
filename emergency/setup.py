"""Bringing a database file to a usable state: schema, places, plans, and (for the app) the demo.

A database is either a demo or real. `python -m emergency init` (and `user`, which creates real
accounts) marks a file as real (the `database_kind` setting); a real database is never filled with
demo data, by the server or by `demo`. The server fills only a database made for the demo: one with
no teams, drills or real accounts that nobody marked as real (the default file on a fresh clone).
A database that holds a real account (a user not flagged is_demo) counts as real even without the
mark, so that files made before the mark existed stay real.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import demo, plans, regions
from .db import put_setting

if TYPE_CHECKING:
    from .db import Database

KIND_SETTING = "database_kind"
REAL, DEMO = "real", "demo"


def initialise(db: Database) -> dict[str, int]:
    """Migrations run when the Database opens; this loads places and the plans/ directory."""
    new_townships, new_villages = regions.load_places(db)
    parsed = plans.load_plan_dir(plans.PLANS_DIR)
    inserted, updated = plans.sync_plans(db.cursor(), parsed)  # one transaction of its own
    db.touch()
    return {"townships": new_townships, "villages": new_villages, "plans_inserted": inserted, "plans_updated": updated}


def database_kind(db: Database) -> str | None:
    """'real', 'demo' or None (not decided yet: a new, empty file)."""
    kind = db.setting(KIND_SETTING)
    if kind in (REAL, DEMO):
        return kind
    if db.scalar("SELECT count(*) FROM users WHERE NOT is_demo"):
        return REAL
    if db.setting("demo") is not None:
        return DEMO
    return None


def is_real(db: Database) -> bool:
    return database_kind(db) == REAL


def mark_real(db: Database) -> bool:
    """Mark the database as real (never filled with demo data). False if it already holds the demo,
    which stays a demo: a mark cannot make its synthetic people real."""
    if database_kind(db) == DEMO:
        return False
    db.write(lambda cur: put_setting(cur, KIND_SETTING, REAL))
    return True


def may_fill_with_demo(db: Database) -> bool:
    """The demo goes only into a database made for it: not real, and without teams or drills."""
    return not is_real(db) and not demo.has_data(db)


def fill_with_demo(db: Database, scale: int = 1) -> dict[str, int]:
    """Write the demo and mark the database as a demo (refused on a real database)."""
    if is_real(db):
        raise ValueError("该数据库已标记为正式数据库（执行过 init 或已有正式账号），不能写入演示数据。")
    written = demo.generate(db, scale=scale)
    db.write(lambda cur: put_setting(cur, KIND_SETTING, DEMO))
    return written


def ensure_ready_with_demo(db: Database) -> bool:
    """The app's start: initialise, and fill a database made for the demo. True if filled; a real
    database (see the module's docstring) is never filled."""
    initialise(db)
    if not may_fill_with_demo(db):
        return False
    fill_with_demo(db)
    return True
