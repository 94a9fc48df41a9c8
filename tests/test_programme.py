"""The three-year exercise programme (progression, drawing the yearly plan) and the month grid."""

import json
from datetime import date

import pytest

from emergency import auth, programme
from emergency.errors import ValidationError
from tests.helpers import user_row


def entry(year, month, form, content, plan="ZR-01", town="城关镇"):
    return {"township_name": town, "plan_code": plan, "year": year, "month": month, "form": form, "content": content}


@pytest.mark.parametrize(
    ("entries", "warned"),
    [
        (
            [
                entry(2026, 5, "tabletop", "single"),
                entry(2027, 5, "live", "single"),
                entry(2028, 5, "live", "comprehensive"),
            ],
            0,
        ),
        ([entry(2026, 5, "live", "single"), entry(2027, 5, "tabletop", "single")], 1),
        ([entry(2026, 5, "tabletop", "comprehensive"), entry(2026, 9, "tabletop", "single")], 1),
        (
            [entry(2027, 5, "tabletop", "single"), entry(2026, 5, "live", "comprehensive")],
            2,
        ),  # order by date, not input
        ([entry(2026, 5, "live", "single"), entry(2027, 5, "tabletop", "single", plan="ZR-02")], 0),  # another plan
        ([entry(2026, 5, "live", "single"), entry(2027, 5, "tabletop", "single", town="田湖镇")], 0),
    ],
)
def test_progression_warnings(entries, warned):
    warnings = programme.progression_warnings(entries)
    assert len(warnings) == warned, warnings
    if warned:
        assert "宜先" in warnings[0]


def test_month_grid_starts_on_monday_and_places_events():
    events = [{"date": date(2026, 12, 1), "kind": "planned"}, {"date": date(2026, 12, 31), "kind": "held", "count": 2}]
    weeks = programme.month_grid(2026, 12, events)
    assert weeks[0][0] is None and weeks[0][1]["day"] == date(2026, 12, 1)  # 2026-12-01 is a Tuesday
    assert weeks[0][1]["events"] == [events[0]]
    days = [c["day"] for week in weeks for c in week if c]
    assert days[0] == date(2026, 12, 1) and days[-1] == date(2026, 12, 31) and len(days) == 31
    assert all(len(week) == 7 for week in weeks)
    feb = programme.month_grid(2027, 2, [])
    assert len(feb) == 4 and feb[0][0]["day"] == date(2027, 2, 1)  # 2027-02-01 is a Monday: four full weeks
    assert sum(1 for week in programme.month_grid(2028, 2, []) for c in week if c) == 29  # leap year


def test_the_yearly_plan_is_drawn_from_the_programme_once(scratch_db):
    town = user_row(scratch_db, "town100")
    base = {"township_code": "410325100", "plan_code": "ZR-01", "form": "tabletop", "content": "single"}
    scratch_db.write(lambda cur: cur.execute("DELETE FROM exercise_programme"))  # the demo's own programme
    first = programme.add_entry(
        scratch_db, town, {**base, "year": 2027, "month": 4, "title": "城关镇防汛桌面推演"}, 2027
    )
    programme.add_entry(
        scratch_db, town, {**base, "year": 2028, "month": 5, "form": "live", "title": "城关镇防汛实战演练"}, 2027
    )
    with pytest.raises(ValidationError) as refused:
        programme.add_entry(scratch_db, town, {**base, "year": 2031, "month": 13, "title": " ", "form": "x"}, 2027)
    assert {p.field for p in refused.value.problems} == {"年度", "月份", "演练名称", "演练形式"}
    with pytest.raises(auth.PermissionDenied):
        programme.add_entry(
            scratch_db, user_row(scratch_db, "town101"), {**base, "year": 2027, "month": 4, "title": "x"}, 2027
        )
    created = programme.draw_year(scratch_db, town, 2027, "410325100")
    assert len(created) == 1
    planned = scratch_db.query_dicts("SELECT * FROM planned_drills WHERE id = ?", [created[0]])[0]
    assert (planned["title"], planned["planned_on"], planned["plan_code"], planned["level"]) == (
        "城关镇防汛桌面推演",
        date(2027, 4, 15),
        "ZR-01",
        "township",
    )
    assert planned["created_by"] == town.username
    audit = scratch_db.query_dicts(
        "SELECT username, action, after FROM audit_log WHERE table_name = 'planned_drills' AND record_id = ?",
        [str(created[0])],
    )
    assert [(a["username"], a["action"]) for a in audit] == [(town.username, "create")]
    assert json.loads(audit[0]["after"])["programme_id"] == first  # the entry it was drawn from
    assert programme.draw_year(scratch_db, town, 2027, "410325100") == []  # drawn once
    rows = programme.programme(scratch_db, 2027, "410325100")
    assert [(r["id"] == first, r["planned_on"]) for r in rows] == [(True, date(2027, 4, 15)), (False, None)]


def test_calendar_page_programme_view_adds_and_draws(app, scratch_db):
    at = app("emergency/ui/calendar_page.py", as_user="town100", db=scratch_db)
    next(r for r in at.radio if r.label == "查看方式").set_value("三年演练规划").run()
    assert not at.exception
    next(n for n in at.number_input if n.label == "规划起始年度").set_value(2027).run()
    next(s for s in at.selectbox if s.key == "prog_year").set_value(2027)
    next(s for s in at.selectbox if s.key == "prog_month").set_value(6)
    next(t for t in at.text_input if t.key == "prog_title").input("城关镇山洪灾害桌面推演")
    next(b for b in at.button if b.label == "保存规划项目").click().run()
    assert not at.exception and any("已新增规划项目" in s.value for s in at.success), [e.value for e in at.error]
    next(s for s in at.selectbox if s.key == "draw_year").set_value(2027)
    next(b for b in at.button if b.label == "由规划生成年度演练计划").click().run()
    assert not at.exception
    assert (
        scratch_db.scalar(
            "SELECT count(*) FROM planned_drills WHERE title = '城关镇山洪灾害桌面推演' AND planned_on = DATE '2027-06-15'"
        )
        == 1
    )


def test_calendar_page_month_grid(app):
    at = app("emergency/ui/calendar_page.py", as_user="admin")
    next(r for r in at.radio if r.label == "查看方式").set_value("月历").run()
    assert not at.exception
    html = at.get("html")[0].proto.body
    assert html.count("<tr>") >= 5 and "周一" in html


def test_the_demo_programme_progresses_and_is_not_drawn(demo_db):
    rows = programme.programme(demo_db, 2026)
    assert len({r["township_code"] for r in rows}) == 16
    assert programme.progression_warnings(rows) == []
    assert all(r["planned_drill_id"] is None for r in rows)
