"""The multi-year exercise programme (演练规划) and the month grid of the drill calendar.

A programme covers three years per township (or the county) and plan: which drill in which year and
month, progressing from tabletop to live and from single-function to comprehensive (AQ/T 9007-2019
and the 2009 指南: "先单项后综合、先桌面后实战"). The yearly plan (planned_drills) is drawn from it: each
entry of that year becomes one planned drill, once.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING

from . import audit
from .auth import User, require_write
from .db import first_value, insert_row
from .drills import _insert_planned  # one insert + audit for a planned drill, as the plan form writes it
from .enums import DRILL_CONTENTS, DRILL_FORMS
from .errors import Problem, ValidationError
from .hygiene import clean

if TYPE_CHECKING:
    from .db import Cursor, Database

SPAN_YEARS = 3
# How demanding a drill is: a later year's drill of the same plan should not be easier.
FORM_RANK = {"tabletop": 0, "live": 1}
CONTENT_RANK = {"single": 0, "comprehensive": 1}
DRAW_DAY = 15  # a drawn planned drill falls mid-month; the township moves it when the date is set


def progression_warnings(entries: list[dict]) -> list[str]:
    """Where a programme steps back (pure): a plan's later drill tabletop after live, or single after
    comprehensive, in the same township. Entries: township_name, plan_code, year, month, form, content."""
    warnings = []
    by_subject: dict[tuple, list[dict]] = {}
    for entry in entries:
        by_subject.setdefault((entry.get("township_name") or "全县", entry["plan_code"]), []).append(entry)
    for (town, plan), items in by_subject.items():
        items.sort(key=lambda e: (e["year"], e["month"]))
        for earlier, later in zip(items, items[1:]):
            if FORM_RANK[later["form"]] < FORM_RANK[earlier["form"]]:
                warnings.append(
                    f"{town} {plan}：{later['year']}年{later['month']}月安排桌面演练，"
                    f"而{earlier['year']}年{earlier['month']}月已是实战演练（宜先桌面后实战）"
                )
            if CONTENT_RANK[later["content"]] < CONTENT_RANK[earlier["content"]]:
                warnings.append(
                    f"{town} {plan}：{later['year']}年{later['month']}月安排单项演练，"
                    f"而{earlier['year']}年{earlier['month']}月已是综合演练（宜先单项后综合）"
                )
    return warnings


def entry_problems(db: Database, data: dict, start_year: int) -> list[Problem]:
    problems = []
    if not clean(data.get("title")):
        problems.append(Problem("演练名称", "不能为空"))
    if not db.scalar("SELECT count(*) FROM plans WHERE code = ?", [data.get("plan_code")]):
        problems.append(Problem("演练预案", f"{data.get('plan_code')} 不存在"))
    if data.get("form") not in DRILL_FORMS:
        problems.append(Problem("演练形式", f"必须是 {'、'.join(DRILL_FORMS.values())} 之一"))
    if data.get("content") not in DRILL_CONTENTS:
        problems.append(Problem("演练内容", f"必须是 {'、'.join(DRILL_CONTENTS.values())} 之一"))
    year, month = data.get("year"), data.get("month")
    if not isinstance(year, int) or not start_year <= year < start_year + SPAN_YEARS:
        problems.append(Problem("年度", f"应在 {start_year}–{start_year + SPAN_YEARS - 1} 年之间"))
    if not isinstance(month, int) or not 1 <= month <= 12:
        problems.append(Problem("月份", "应为 1–12"))
    return problems


def add_entry(db: Database, actor: User, data: dict, start_year: int) -> int:
    """One drill in the programme: township (None: county), plan, year, month, form, content, title."""
    township = data.get("township_code")
    require_write(actor, township, "为其他乡镇或县级制定演练规划")
    problems = entry_problems(db, data, start_year)
    if problems:
        raise ValidationError(problems)
    row = {
        "township_code": township,
        "plan_code": data["plan_code"],
        "year": data["year"],
        "month": data["month"],
        "form": data["form"],
        "content": data["content"],
        "title": clean(data["title"]),
    }

    def work(cur: Cursor):
        entry_id = insert_row(cur, "exercise_programme", {**row, "created_by": actor.username})
        audit.record(cur, actor, "create", "exercise_programme", entry_id, None, row)
        return entry_id

    return db.write(work)


def programme(db: Database, start_year: int, township_code: str | None = None, county: bool = False) -> list[dict]:
    """The programme's entries over the three years from start_year, for one township (or the county)."""
    scope = "e.township_code IS NULL" if county else "e.township_code = ?" if township_code else "TRUE"
    params: list = [start_year, start_year + SPAN_YEARS - 1]
    if township_code and not county:
        params.append(township_code)
    return db.query_dicts(
        "SELECT e.*, coalesce(t.name, '全县') AS township_name, p.name AS plan_name, pd.planned_on, pd.status"
        " FROM exercise_programme e LEFT JOIN townships t ON t.code = e.township_code"
        " JOIN plans p ON p.code = e.plan_code LEFT JOIN planned_drills pd ON pd.id = e.planned_drill_id"
        f" WHERE e.year BETWEEN ? AND ? AND {scope} ORDER BY e.year, e.month, t.sort_order NULLS FIRST, e.id",
        params,
    )


def draw_year(db: Database, actor: User, year: int, township_code: str | None = None) -> list[int]:
    """The yearly plan drawn from the programme: each entry of `year` not yet drawn becomes a planned
    drill (mid-month, level county or township). Drawing twice adds nothing."""

    def work(cur: Cursor):
        scope, params = (
            ("township_code IS NULL", [year])
            if township_code is None
            else (
                "township_code = ?",
                [year, township_code],
            )
        )
        require_write(actor, township_code, "为其他乡镇或县级制定演练计划")
        entries = cur.execute(
            "SELECT id, township_code, plan_code, month, form, content, title FROM exercise_programme"
            f" WHERE year = ? AND {scope} AND planned_drill_id IS NULL ORDER BY month, id",
            params,
        ).fetchall()
        created = []
        for entry_id, town, plan_code, month, form, content, title in entries:
            data = {
                "title": title,
                "level": "county" if town is None else "township",
                "township_code": town,
                "plan_code": plan_code,
                "planned_on": date(year, month, DRAW_DAY),
                "note": f"由演练规划生成（{DRILL_FORMS[form]}·{DRILL_CONTENTS[content]}）",
            }
            planned_id = _insert_planned(cur, actor, data, programme_id=entry_id)
            cur.execute("UPDATE exercise_programme SET planned_drill_id = ? WHERE id = ?", [planned_id, entry_id])
            created.append(planned_id)
        return created

    return db.write(work)


def drawn_count(db: Database, year: int) -> int:
    return int(
        first_value(
            db.cursor(),
            "SELECT count(*) FROM exercise_programme WHERE year = ? AND planned_drill_id IS NOT NULL",
            [year],
        )
    )


# The month grid ----------------------------------------------------------------------------------
def month_grid(year: int, month: int, events: list[dict]) -> list[list[dict | None]]:
    """Weeks (Monday first) of the month; each day {"day": date, "events": [...]} or None outside the
    month. `events` carry a "date" key; they are put on their day in the order given (pure)."""
    by_day: dict[date, list[dict]] = {}
    for event in events:
        by_day.setdefault(event["date"], []).append(event)
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append([{"day": d, "events": by_day.get(d, [])} if d.month == month else None for d in week])
    return weeks


def month_events(db: Database, year: int, month: int, today: date, township_code: str | None = None) -> list[dict]:
    """The month's planned drills (title, state) and the drills held per day, as month_grid events."""
    from .rules import planned_status

    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    town = " AND township_code = ?" if township_code else ""
    extra = [township_code] if township_code else []
    from .records import live

    planned = db.query_dicts(
        "SELECT id, title, planned_on, status FROM planned_drills p"
        f" WHERE planned_on BETWEEN ? AND ?{town} AND {live('planned_drills', 'p')} ORDER BY planned_on, id",
        [first, last, *extra],
    )
    held = db.query(
        f"SELECT held_on, count(*) FROM drills d WHERE held_on BETWEEN ? AND ?{town} AND {live('drills', 'd')}"
        " GROUP BY 1 ORDER BY 1",
        [first, last, *extra],
    )
    events = [
        {
            "date": p["planned_on"],
            "kind": "planned",
            "title": p["title"],
            "state": planned_status(p["planned_on"], p["status"], today),
        }
        for p in planned
    ]
    events += [{"date": day, "kind": "held", "count": n} for day, n in held]
    return events
