"""Find and take away: search in the lists (filtered in SQL), an Excel export of every list (masked,
audited), the printable drill record; and on every page its "如何使用" help and the one default year."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from emergency import drills, enterprises, exports, linkage, teams
from emergency.db import local_today
from emergency.ui import nav
from emergency.ui.help import HELP
from emergency.ui.widgets import default_year, table_frame
from tests.helpers import user_row

THIS_YEAR = local_today().year
# page -> the export buttons (keys) it offers to every role
EXPORTS = {
    "emergency/ui/drills_page.py": {"export_drills"},
    "emergency/ui/plans_page.py": {"export_plans"},
    "emergency/ui/calendar_page.py": {"export_planned"},
    "emergency/ui/enterprises_page.py": {"export_enterprises"},
    "emergency/ui/linkage_page.py": {"export_contacts", "export_roll_calls", "export_warnings"},
    "emergency/ui/teams_page.py": {"export_teams"},
    "emergency/ui/members_page.py": {"export_members"},
}
YEAR_PICKERS = {  # page -> (label, default)
    "emergency/ui/overview.py": ("统计年度", THIS_YEAR),
    "emergency/ui/drills_page.py": ("年度", THIS_YEAR),
    "emergency/ui/calendar_page.py": ("年度", THIS_YEAR),
    "emergency/ui/linkage_page.py": ("互联互通统计年度", THIS_YEAR),
    "emergency/ui/report_page.py": ("报告年度", THIS_YEAR - 1),
}


def test_default_year_rule():
    assert default_year(today=date(2026, 12, 1)) == 2026
    assert default_year(today=date(2026, 12, 1), report=True) == 2025
    assert default_year(today=date(2027, 1, 1), report=True) == 2026


def test_every_page_has_help_one_default_year_and_its_exports(app):
    """Every page as the admin: its help text, its year picker on the default year, its export buttons."""
    assert set(HELP) == {spec.url_path for spec in nav.PAGES}
    at = app()
    for spec in nav.PAGES:
        at.switch_page(spec.path).run()
        assert not at.exception, (spec.path, at.exception)
        helps = [e for e in at.expander if e.label == "如何使用"]
        assert len(helps) == 1, spec.path
        assert HELP[spec.url_path].splitlines()[0] in helps[0].markdown[0].value, spec.path
        if spec.path in YEAR_PICKERS:
            label, year = YEAR_PICKERS[spec.path]
            picker = next(s for s in at.selectbox if s.label == label)
            assert picker.value == year, spec.path
        keys = {b.key for b in at.get("download_button")}
        assert EXPORTS.get(spec.path, set()) <= keys, (spec.path, keys)


def test_drill_list_filters_in_sql(demo_db):
    every = drills.drill_list(demo_db, year=2024)
    title = every["title"].iloc[0]
    word = title[2:6]
    found = drills.drill_list(demo_db, year=2024, search=word)
    assert 0 < len(found) < len(every)
    assert (found["title"].str.contains(word, regex=False) | found["organiser"].str.contains(word, regex=False)).all()
    spring = drills.drill_list(demo_db, since=date(2024, 3, 1), until=date(2024, 3, 31))
    assert len(spring) and spring["held_on"].dt.date.between(date(2024, 3, 1), date(2024, 3, 31)).all()
    code = "ZR-01"
    planned = drills.drill_list(demo_db, year=2024, plan_code=code)
    assert len(planned) and planned["plans"].str.contains(code).all()
    town = drills.drill_list(demo_db, year=2024, township_code="410325100", search="演练")
    assert len(town) and set(town["township_code"]) == {"410325100"}
    assert drills.drill_list(demo_db, search="%").empty  # text, not a LIKE pattern


def test_team_and_enterprise_search_in_sql(demo_db):
    every = teams.team_list(demo_db)
    name = every["name"].iloc[5]
    found = teams.team_list(demo_db, search=name)
    assert name in found["name"].tolist() and len(found) < len(every)
    firms = enterprises.enterprise_list(demo_db)
    firm = firms["name"].iloc[3]
    assert firm in enterprises.enterprise_list(demo_db, search=firm[:4])["name"].tolist()
    assert len(enterprises.enterprise_list(demo_db, search=firm[:4])) < len(firms)


def test_drills_page_search_bar(app):
    at = app("emergency/ui/drills_page.py", as_user="admin", year="2024")
    total = len(at.dataframe[0].value)
    at.text_input(key="drills_text").input("防汛").run()
    shown = at.dataframe[0].value
    assert 0 < len(shown) < total and shown["演练名称"].str.contains("防汛").any()
    at.text_input(key="drills_text").input("").run()
    at.date_input(key="drills_since").set_value(date(2024, 6, 1)).run()
    at.date_input(key="drills_until").set_value(date(2024, 6, 30)).run()
    shown = at.dataframe[0].value
    assert len(shown) and all("2024-06-01" <= d <= "2024-06-30" for d in shown["日期"])
    at.selectbox(key="drills_plan").set_value("ZR-01").run()
    shown = at.dataframe[0].value
    assert all("ZR-01" in p for p in shown["预案"])
    assert at.caption and f"共 {len(shown)} 场次" in " ".join(c.value for c in at.caption)


def test_teams_and_enterprises_pages_search(app):
    at = app("emergency/ui/teams_page.py", as_user="leader")
    total = len(at.dataframe[0].value)
    name = at.dataframe[0].value["队伍名称"].iloc[0]
    at.text_input(key="teams_text").input(name).run()
    assert 0 < len(at.dataframe[0].value) < total and name in at.dataframe[0].value["队伍名称"].tolist()
    at = app("emergency/ui/enterprises_page.py", as_user="leader")
    listing = at.dataframe[-1].value
    firm = listing["企业名称"].iloc[0]
    at.text_input(key="enterprises_text").input(firm).run()
    assert firm in at.dataframe[-1].value["企业名称"].tolist() and len(at.dataframe[-1].value) < len(listing)


def _sheet(data: bytes) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.mark.parametrize("username", ["town100", "leader"])
def test_contact_export_is_masked_by_role_and_audited(scratch_db, username):
    """The linkage page's contact export: phones outside the viewer's township masked, one audit row."""
    viewer = user_row(scratch_db, username)
    frame = table_frame(
        linkage.contact_list(scratch_db, viewer, None),
        {"township_name": "乡镇", "name": "姓名", "phone": "电话", "role": "岗位"},
    )
    before = scratch_db.scalar("SELECT count(*) FROM audit_log WHERE action = 'export'")
    rows = _sheet(exports.export_xlsx(scratch_db, viewer, frame, "联络人名单"))
    assert rows and set(rows[0]) == {"乡镇", "姓名", "电话", "岗位"}
    others = [r for r in rows if r["乡镇"] != "城关镇" and r["电话"]]
    assert others and all("*" in r["电话"] for r in others)
    own = [r for r in rows if r["乡镇"] == "城关镇" and r["电话"]]
    assert own and all(("*" in r["电话"]) == (username == "leader") for r in own)
    assert scratch_db.scalar("SELECT count(*) FROM audit_log WHERE action = 'export'") == before + 1


def test_warning_list_has_each_townships_acknowledgement(demo_db):
    frame = linkage.warning_list(demo_db, "410325100")
    assert len(frame) and set(frame["township_name"]) == {"城关镇"}
    answered = frame.dropna(subset=["acknowledged_at"])
    assert len(answered) and (answered["minutes"] >= 0).all()


def test_drill_detail_offers_the_print_view(app):
    at = app("emergency/ui/drills_page.py", as_user="town100", year="2024")
    first = int(at.dataframe[0].value["编号"].iloc[0])
    at.selectbox(key="drill_detail").set_value(first).run()
    assert "print_drill" in {b.key for b in at.get("download_button")}
