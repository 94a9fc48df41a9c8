"""Bringing a database file to a usable state: schema, places, plans, and (for the app) the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import demo, plans, regions

if TYPE_CHECKING:
    from .db import Database


def initialise(db: Database) -> dict[str, int]:
    """Migrations run when the Database opens; this loads places and the plans/ directory."""
    new_townships, new_villages = regions.load_places(db)
    parsed = plans.load_plan_dir(plans.PLANS_DIR)
    inserted, updated = plans.sync_plans(db.cursor(), parsed)  # one transaction of its own
    db.generation += 1
    return {"townships": new_townships, "villages": new_villages, "plans_inserted": inserted, "plans_updated": updated}


def ensure_ready_with_demo(db: Database) -> bool:
    """The app's first start: initialise, and fill an empty database with the demo. True if filled."""
    initialise(db)
    if demo.has_data(db):
        return False
    demo.generate(db)
    return True
