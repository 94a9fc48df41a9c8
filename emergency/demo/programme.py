"""Demo extension: a three-year exercise programme (2026–2028) per township, progressing as the
guidance asks (tabletop, then live; single-function, then comprehensive), not yet drawn into yearly
plans, so that the 三年演练规划 view and its 由规划生成 button have something to show and do."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ..db import insert_frame
from ..regions import read_townships
from .generator import TOWNSHIP_DRILL_PLANS

if TYPE_CHECKING:
    from ..db import Database

START_YEAR = 2026
# (year offset, form, content): the progression every township follows for each of its plans.
STEPS = [(0, "tabletop", "single"), (1, "live", "single"), (2, "live", "comprehensive")]
STEP_WORDS = {"tabletop": "桌面推演", "live": "实战演练"}


def extend(db: Database, scale: int, rng: random.Random) -> dict:
    names = dict(db.query("SELECT code, name FROM plans"))
    rows = []
    for township in (t for t in read_townships() if t["is_township"]):
        for plan in rng.sample(TOWNSHIP_DRILL_PLANS, 2):
            month = rng.randint(3, 10)
            for offset, form, content in STEPS:
                title = f"{township['name']}{names[plan].removesuffix('应急预案')}{STEP_WORDS[form]}"
                if content == "comprehensive":
                    title += "（综合）"
                rows.append(
                    {
                        "township_code": township["code"],
                        "plan_code": plan,
                        "year": START_YEAR + offset,
                        "month": month,
                        "form": form,
                        "content": content,
                        "title": title,
                        "created_by": "demo",
                    }
                )
    db.write(lambda cur: insert_frame(cur, "exercise_programme", rows))
    return {"exercise_programme": len(rows)}
