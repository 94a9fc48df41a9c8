"""The list pages keep their page of rows and its table (widgets.kept) until a data write: a rerun
with the same filters runs none of the list's queries while the real scheduler commits its
bookkeeping, and a registry write is read at the next rerun."""

from __future__ import annotations

import pytest

from emergency import archive, drills, enterprises, reports, roster, teams
from emergency.resources import coverage, registry, stock
from tests.helpers import assert_cached_while_the_scheduler_writes, count_calls, open_expander, untrain_a_member

PAGES = [
    ("emergency/ui/teams_page.py", teams, "team_page", "town100"),
    ("emergency/ui/members_page.py", teams, "member_page", "town100"),
    ("emergency/ui/drills_page.py", drills, "drill_page", "admin"),
    ("emergency/ui/enterprises_page.py", enterprises, "enterprise_page", "leader"),
    ("emergency/ui/actions_page.py", drills, "action_page", "admin"),
    ("emergency/ui/calendar_page.py", drills, "planned_list", "town100"),
    ("emergency/ui/archive_page.py", archive, "incomplete_page", "admin"),
    ("emergency/ui/resources_stock_page.py", stock, "stock_frame", "admin"),
    ("emergency/ui/resources_registry_page.py", registry, "listing", "town100"),
    ("emergency/ui/resources_coverage_page.py", coverage, "nearest_resources", "admin"),
    ("emergency/ui/coverage_page.py", roster, "teams_serving", "leader"),
]


@pytest.mark.parametrize(("page", "module", "name", "role"), PAGES, ids=[p[2] for p in PAGES])
def test_a_list_page_is_kept_while_the_scheduler_writes_and_read_again_after_a_write(
    app, scratch_db, monkeypatch, page, module, name, role
):
    computed = count_calls(monkeypatch, module, name)
    at = app(page, as_user=role, db=scratch_db)
    assert_cached_while_the_scheduler_writes(at, computed, untrain_a_member)


def test_the_members_list_shows_a_save_made_on_the_page(app, scratch_db):
    """What the kept list shows follows the app's own writes: a member's specialty saved from the
    page's form is in the list at once."""
    at = app("emergency/ui/members_page.py", as_user="town100", db=scratch_db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    member = at.selectbox(key="manage_member").value
    name = scratch_db.scalar("SELECT name FROM members WHERE id = ?", [member])
    next(t for t in at.text_input if t.label == "专长").input("页面保存的专长")
    next(b for b in at.button if b.label == "保存").click().run()
    assert at.success and not at.error, [e.value for e in at.error]
    at.run()  # the list is drawn above the form: the next run shows the save
    listed = at.dataframe[0].value
    assert "页面保存的专长" in set(listed.loc[listed["姓名"] == name, "专长"])


def test_the_annual_report_is_kept_while_the_scheduler_writes(app, scratch_db, monkeypatch):
    """年度报告's figures (the report year's; 总览, drawn first, computes this year's)."""
    year = scratch_db.scalar("SELECT max(year(held_on)) - 1 FROM drills")
    computed: list = []
    real = reports.report_figures

    def counting(db, wanted):
        if wanted == year:
            computed.append(wanted)
        return real(db, wanted)

    monkeypatch.setattr(reports, "report_figures", counting)
    at = app("emergency/ui/report_page.py", as_user="leader", db=scratch_db)
    assert_cached_while_the_scheduler_writes(at, computed, untrain_a_member)


def test_the_actions_page_counts_its_actions_once_per_view(app, scratch_db, monkeypatch):
    """整改跟踪's metrics and its page's total are one count (it was counted twice on a cache miss)."""
    computed = count_calls(monkeypatch, drills, "action_status_counts")
    at = app("emergency/ui/actions_page.py", as_user="admin", db=scratch_db)
    assert not at.exception and len(computed) == 1
    total = sum(int(m.value) for m in at.metric[: len(drills.ACTION_ORDER)])
    assert any(c.value.startswith(f"共 {total} 项") for c in at.caption)
