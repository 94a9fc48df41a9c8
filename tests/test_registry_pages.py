"""AppTest for the registry pages: teams, members, coverage, roster health, import."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emergency.db import local_today
from emergency.ui.widgets import status_label
from tests.helpers import open_expander, user_row

ROOT = Path(__file__).resolve().parent.parent


def test_coverage_page_shows_the_matrix_gaps_and_drill_down(app):
    at = app("emergency/ui/coverage_page.py", as_user="leader")
    assert at.title[0].value == "覆盖分析"
    shown = at.dataframe[0].value
    matrix = shown.map(lambda v: int(status_label(v)))  # gaps marked in the cell: "🔴 0", "🟡 3"
    assert matrix.shape == (16, 16) and "城关镇" in matrix.columns and "木植街乡" in matrix.columns
    assert "生态环境" in matrix.index and (matrix.loc["生态环境"] == 0).all()
    assert (shown.loc["生态环境"] == "🔴 0").all()  # no team at all
    county_only = shown.map(lambda v: v.startswith("🟡 "))
    assert county_only.to_numpy().any() and (matrix.to_numpy()[county_only.to_numpy()] > 0).all()
    assert any("生态环境" in e.value and "没有任何队伍覆盖" in e.value for e in at.error)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["无任何队伍的单元"] == "16"
    at.selectbox(key="drill_domain").set_value("flood").run()
    drill = at.dataframe[-1].value
    assert "全县各乡镇" in drill["服务范围"].tolist() and len(drill) > 2
    assert all("****" in p for p in drill["值班电话"] if p)  # a viewer: phones masked
    at.radio[0].set_value("队员数（人）").run()
    assert at.dataframe[0].value.map(lambda v: int(status_label(v))).to_numpy().max() > 100


def test_coverage_matrix_is_served_from_its_cache_while_the_scheduler_writes(app, scratch_db, monkeypatch):
    """The matrix is computed once, not on each rerun, with the scheduler committing its bookkeeping;
    a registry write recomputes it."""
    from emergency import roster
    from tests.helpers import assert_cached_while_the_scheduler_writes, count_calls, untrain_a_member

    computed = count_calls(monkeypatch, roster, "coverage")
    at = app("emergency/ui/coverage_page.py", db=scratch_db)
    assert_cached_while_the_scheduler_writes(at, computed, untrain_a_member)


def test_roster_page_lists_findings_and_admin_settings(app):
    at = app("emergency/ui/roster_page.py")
    assert at.title[0].value == "队伍健康检查"
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics["重复登记人员"] > 0 and metrics["手机号缺失或格式错误"] > 0
    assert len(at.tabs) == 7 and at.dataframe
    assert at.number_input(key="set_min_age").value == 18  # admins see the settings form
    viewer = app("emergency/ui/roster_page.py", as_user="leader")
    assert not [n for n in viewer.number_input if n.key.startswith("set_")]  # no settings form
    town = app("emergency/ui/roster_page.py", as_user="town100")
    assert town.selectbox[0].value == "城关镇"


def test_roster_findings_are_paged(app, demo_db):
    """Each check shows one page of its findings (the whole list is the export's): the bytes sent stay
    bounded at 100 times the county (1.1 MB at ×1 before). Only the open tab is drawn."""
    from emergency import paging, roster

    at = app("emergency/ui/roster_page.py")
    findings = roster.roster_health(demo_db, user_row(demo_db, "admin"), local_today())
    counts = roster.health_counts(findings)
    long = [key for key, frame in findings.items() if len(frame) > paging.PAGE_SIZE and key != "duplicates"]
    assert long  # the demo has a check with more than one page of findings
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) <= paging.PAGE_SIZE  # the first tab only
    key = long[0]
    at.session_state["health_tab"] = f"{roster.HEALTH_CHECKS[key]}（{counts[key]}）"  # open its tab
    at.run()
    assert not at.exception and len(at.dataframe) == 1
    assert any(c.value.startswith(f"共 {len(findings[key])} 条，第 1 / ") for c in at.caption)
    first = at.dataframe[0].value
    assert len(first) == paging.PAGE_SIZE
    at.button(key=f"health_{key}_next").click().run()
    assert not at.exception and at.number_input(key=f"health_{key}_page").value == 2
    assert any(c.value.startswith(f"共 {len(findings[key])} 条，第 2 / ") for c in at.caption)
    assert not at.dataframe[0].value.equals(first)


def test_roster_page_keeps_the_open_check_when_its_counts_change(app):
    """The tab labels carry the counts: choosing a township changes them, and the open check stays open
    (its page of that township's findings shown)."""
    from emergency import roster

    at = app("emergency/ui/roster_page.py")
    label = next(t.label for t in at.tabs if t.label.startswith(roster.HEALTH_CHECKS["certificates"]))
    at.session_state["health_tab"] = label
    at.run()
    whole = {m.label: int(m.value) for m in at.metric}[roster.HEALTH_CHECKS["certificates"]]
    at.selectbox[0].set_value("城关镇").run()
    assert not at.exception
    town = {m.label: int(m.value) for m in at.metric}[roster.HEALTH_CHECKS["certificates"]]
    assert 0 < town < whole
    assert at.session_state["health_tab"] == f"{roster.HEALTH_CHECKS['certificates']}（{town}）"
    assert "证书" in at.dataframe[0].value.columns and set(at.dataframe[0].value["乡镇"]) == {"城关镇"}


def test_import_page_is_not_for_viewers(app, log_in):
    at = app("emergency/ui/import_page.py", as_user="town100")
    assert at.title[0].value == "导入" and at.radio[0].value == "teams"
    assert "本乡镇" in at.caption[0].value
    with pytest.raises(ValueError):  # not in the viewer's navigation
        app("emergency/ui/import_page.py", as_user="leader")
    direct = AppTest.from_file(str(ROOT / "emergency/ui/import_page.py"), default_timeout=60)
    log_in(direct, "leader")
    direct.run()
    assert direct.error and "只读" in direct.error[0].value


def test_teams_page_detail_and_export(app):
    at = app("emergency/ui/teams_page.py")
    assert "服务范围" in at.dataframe[0].value.columns
    assert "全县各乡镇" in at.dataframe[0].value["服务范围"].tolist()
    assert any("服务范围" in m.value for m in at.markdown)
    assert at.subheader and len(at.dataframe) >= 2  # the chosen team's members


def test_members_page_filters_and_manage(app, scratch_db):
    at = app("emergency/ui/members_page.py", as_user="town100", db=scratch_db)
    open_expander(at, "manage_member_open", "new_member_open")  # their forms run only while open
    total = len(at.dataframe[0].value)
    at.checkbox[0].check().run()
    assert 0 < len(at.dataframe[0].value) < total
    assert set(at.dataframe[0].value["已培训"]) == {"否"}
    at.checkbox[0].uncheck().run()
    member = at.selectbox(key="manage_member").value
    next(t for t in at.text_input if t.label == "专长").input("无人机")
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and at.success[0].value == "已保存。"
    assert scratch_db.scalar("SELECT specialty FROM members WHERE id = ?", [member]) == "无人机"


def test_roster_findings_are_recomputed_after_a_write(app, scratch_db):
    """The page caches its findings until the next committed write of the app's database."""

    from emergency.ui import state

    at = app("emergency/ui/roster_page.py", db=scratch_db)
    before = {m.label: int(m.value) for m in at.metric}["未通过培训"]
    app_db = state.get_db()  # the app's own Database object, whose writes bump its generation
    member = app_db.scalar(
        "SELECT min(m.id) FROM members m JOIN teams t ON t.id = m.team_id"
        " WHERE m.training_passed AND m.left_on IS NULL AND t.disbanded_on IS NULL"
    )
    from emergency import teams

    teams.record_training(app_db, user_row(app_db, "admin"), member, False, local_today())
    at.run()
    assert {m.label: int(m.value) for m in at.metric}["未通过培训"] == before + 1


def test_roster_findings_stay_cached_while_the_scheduler_writes_its_bookkeeping(app, scratch_db, monkeypatch):
    """With the real scheduler writing job_runs (scheduler_writing checks that it committed), the second
    view is served from the cache; a member write then recomputes (counted on the real health_summary)."""
    from emergency import roster
    from tests.helpers import assert_cached_while_the_scheduler_writes, count_calls, untrain_a_member

    computed = count_calls(monkeypatch, roster, "health_summary")
    at = app("emergency/ui/roster_page.py", db=scratch_db)
    assert_cached_while_the_scheduler_writes(at, computed, untrain_a_member)


def test_a_form_with_two_problems_shows_each_on_its_own_line(app, scratch_db):
    at = app("emergency/ui/teams_page.py", db=scratch_db)
    open_expander(at, "team_domains_open", "team_edit_open", "new_team_open")  # their forms run only while open
    teams_before = scratch_db.scalar("SELECT count(*) FROM teams")
    new_team = [t for t in at.text_input if t.label == "队伍名称"][-1]  # the 新增队伍 form's, after the edit form's
    assert new_team.value == ""
    [t for t in at.text_input if t.label == "值班电话"][-1].input("12345")
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.exception and not at.success
    message = at.error[-1].value
    heading, _, rest = message.partition("\n\n")
    assert heading == "未保存："
    assert rest.splitlines() == ["- 队伍名称：不能为空", "- 值班电话：应为11位手机号或 0379 开头的固话"]
    assert scratch_db.scalar("SELECT count(*) FROM teams") == teams_before


def test_roster_page_formats_the_page_it_shows_not_every_finding(app, scratch_db, monkeypatch):
    """At 100 times the county the checks find hundreds of thousands of rows; formatting them all for
    the page took 16 s of CPU. Only each check's shown page is formatted (and kept)."""
    from emergency import paging
    from emergency.ui import widgets

    sizes: list[int] = []
    real = widgets.prepared_table

    def recording(frame, *args, **kwargs):
        sizes.append(len(frame))
        return real(frame, *args, **kwargs)

    monkeypatch.setattr(widgets, "prepared_table", recording)
    at = app("emergency/ui/roster_page.py", db=scratch_db)  # a database of its own: nothing kept yet
    found = {m.label: int(m.value) for m in at.metric}
    assert max(found.values()) > paging.PAGE_SIZE  # a check with more findings than a page
    assert sizes and max(sizes) <= paging.PAGE_SIZE


def test_the_teams_page_forms_run_only_once_their_expander_is_open(app):
    """Issue 19: 救援队伍's three form expanders are lazy: a view with them closed draws no form (the
    browser gets none of their widgets), and opening them draws each."""
    at = app("emergency/ui/teams_page.py", as_user="town100")
    assert [f.proto.form.form_id for f in at.get("form")] == []
    assert {"修改覆盖领域、登记团体保险", "修改或撤销该队伍", "新增队伍"} <= {e.label for e in at.expander}
    open_expander(at, "team_domains_open", "team_edit_open", "new_team_open")
    forms = {f.proto.form.form_id for f in at.get("form")}
    assert {"team_domains", "team_insurance", "edit_team", "disband_team"} <= forms
    assert any(form.startswith("new_team") for form in forms)
