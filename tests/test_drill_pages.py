"""AppTest: the plans and drills pages as each role; a township logs a drill and sees it counted."""

import pytest

from emergency.db import local_today
from emergency.ui.widgets import mark_status, status_label
from tests.helpers import open_expander

PAGES = [
    "emergency/ui/plans_page.py",
    "emergency/ui/drills_page.py",
    "emergency/ui/calendar_page.py",
    "emergency/ui/actions_page.py",
    "emergency/ui/enterprises_page.py",
    "emergency/ui/report_page.py",
]


def widget(items, label):
    return next(w for w in items if w.label == label)


def cells(at) -> str:
    return "\n".join(d.value.to_csv() for d in at.dataframe)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["admin", "leader", "town100"])
def test_pages_run_for_every_role(app, page, role):
    at = app(page, as_user=role)
    assert at.title and not at.exception
    if role == "leader":
        assert not any(b.label in ("保存", "保存修订", "关闭") for b in at.button)  # nothing to write with


def test_township_logs_a_drill_and_sees_it_in_statistics_and_plan(app, scratch_db):
    today = local_today()
    at = app("emergency/ui/overview.py", as_user="town100", db=scratch_db, year=str(today.year))
    before = {m.label: m.value for m in at.metric}["县乡两级演练（场次）"]
    at = app("emergency/ui/drills_page.py", as_user="town100", db=scratch_db)
    assert widget(at.text_input, "所属乡镇").value == "城关镇"  # the township preset
    assert widget(at.date_input, "演练日期 *").value == today
    widget(at.text_input, "演练名称 *").input("城关镇低温雨雪冰冻灾害应急演练")
    widget(at.number_input, "参演人次 *").set_value(86)
    widget(at.multiselect, "演练预案 *").set_value(["ZR-08"])
    widget(at.button, "保存").click().run()
    assert not at.exception and at.success and "已登记演练" in at.success[0].value
    row = scratch_db.query_dicts("SELECT * FROM drills WHERE title = '城关镇低温雨雪冰冻灾害应急演练'")[0]
    assert (row["township_code"], row["level"], row["held_on"], row["participants"], row["organiser"]) == (
        "410325100",
        "township",
        today,
        86,
        "城关镇人民政府",
    )
    # The statistics count it.
    at = app("emergency/ui/overview.py", as_user="town100", db=scratch_db, year=str(today.year))
    after = {m.label: m.value for m in at.metric}["县乡两级演练（场次）"]
    assert int(after.replace(",", "")) == int(before.replace(",", "")) + 1
    # The plan's last-drill date is today, and the drill is listed under the plan.
    at = app("emergency/ui/plans_page.py", as_user="town100", db=scratch_db, plan="ZR-08")
    frame = next(d.value for d in at.dataframe if "ZR-08" in d.value["编号"].tolist())
    plan_row = frame[frame["编号"] == "ZR-08"].iloc[0]
    assert plan_row["最近演练"] == f"{today:%Y-%m-%d}" and status_label(plan_row["状态"]) in (
        "按期",
        "即将到期",
        "已逾期",
    )
    assert "城关镇低温雨雪冰冻灾害应急演练" in cells(at)


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("已逾期", "🔴 已逾期"),
        ("从未开展", "🔴 从未开展"),
        ("异常", "🔴 异常"),
        ("90天内到期", "🟡 90天内到期"),
        ("需关注", "🟡 需关注"),
        ("按期", "🟢 按期"),
        ("已验收", "🟢 已验收"),
        ("未读", "未读"),  # a status without a colour stays as it is
        ("—", "—"),
    ],
)
def test_status_cells_carry_their_colour_as_a_marker(label, shown):
    assert mark_status(label) == shown
    assert status_label(shown) == label


def test_plans_page_shows_the_clocks_and_sources(app):
    at = app("emergency/ui/plans_page.py", as_user="leader")
    assert [s.value for s in at.subheader] == ["自然灾害", "事故灾难", "公共卫生事件", "社会安全事件"]
    tables = [d.value for d in at.dataframe]
    assert sum(len(t) for t in tables[:4]) == 40
    # each category's table is a filtered part of one list: its row labels are not a column
    assert [t.columns.tolist() for t in tables[1:4]] == [tables[0].columns.tolist()] * 3
    assert not any("index" in t.columns for t in tables)
    columns = tables[0].columns.tolist()
    for column in (
        "牵头单位",
        "版本",
        "印发日期",
        "文号",
        "备案",
        "备案截止",
        "演练周期",
        "最近演练",
        "下次演练截止",
        "最近评估",
        "下次评估截止",
        "状态",
    ):
        assert column in columns
    statuses = set().union(*(set(t["状态"]) for t in tables[:4]))
    assert {"🟢 按期", "🔴 已逾期"} <= statuses  # marked by their colour (widgets.mark_status)
    accidents = tables[1].set_index("编号")
    assert accidents.loc["SG-01", "演练周期"] == "每24个月" and accidents.loc["SG-09", "演练周期"] == "每36个月"
    assert "重污染天气应急预案" in accidents.loc["WS-06", "名称"] and "保障预案" in accidents.loc["SG-14", "名称"]
    assert (tables[0]["备案"] != "未备案").sum() >= 9  # filed: 'YYYY-MM-DD 报…'
    assert any(str(v).startswith("2024-") and "报嵩县人民政府" in str(v) for v in tables[0]["备案"])
    assert not any("备案截止（报乡镇）" in t.columns for t in tables)  # the expanders' tables: drawn once open
    open_expander(at, "plan_rules_open", "township_plans_open", "village_plans_open")
    tables = [d.value for d in at.dataframe]
    text = "\n".join(m.value for m in at.markdown)
    assert "国办发〔2024〕5号）第31条" in text and "第26条" in text and "生产安全事故应急条例" in text
    assert "河南省森林防火期" in text and "2013" not in text
    # Every rule on the page with its source and how sure it is.
    from emergency.rules import DEFAULT_RULES

    for rule in DEFAULT_RULES:
        assert f"规则 `{rule['code']}`" in text.replace("\\_", "_"), rule["code"]
    # The township plans and the village plans with their own clocks and filings.
    township = next(t for t in tables if "备案截止（报县政府）" in t.columns)
    assert len(township) == 48 and set(township["演练周期"]) == {"每24个月", "每36个月"}
    villages = next(t for t in tables if "备案截止（报乡镇）" in t.columns)
    assert len(villages) == 100  # the first page of the 337 (test_plans_page_clocks_are_served_from_…)
    assert any(c.value.startswith("共 337 个村（社区），第 1 / 4 页") for c in at.caption)


def test_admin_records_a_revision_on_the_plans_page(app, scratch_db):
    at = app("emergency/ui/plans_page.py", as_user="admin", db=scratch_db, plan="ZR-02")
    before = scratch_db.scalar("SELECT count(*) FROM plan_revisions WHERE plan_code = 'ZR-02' AND kind = 'revision'")
    widget(at.text_input, "新版本号").input("2026修订版")
    widget(at.button, "保存修订").click().run()
    assert at.success and "评估期限重新起算" in at.success[0].value
    assert scratch_db.scalar("SELECT version FROM plans WHERE code = 'ZR-02'") == "2026修订版"
    after = scratch_db.scalar("SELECT count(*) FROM plan_revisions WHERE plan_code = 'ZR-02' AND kind = 'revision'")
    assert after == before + 1


def test_a_double_click_on_save_revision_records_one_revision(app, scratch_db, monkeypatch):
    """保存修订 clicked twice, the second click reaching the server during the first one's write:
    one revision (the plan as saved must not let the second click pass the drawn-record check)."""
    from emergency import plans
    from tests.helpers import ask_for_the_second_click

    real, saved = plans.record_revision, []

    def second_click_during_the_write(*args, **kwargs):
        result = real(*args, **kwargs)
        saved.append(result)
        if len(saved) == 1:
            ask_for_the_second_click()
        return result

    monkeypatch.setattr(plans, "record_revision", second_click_during_the_write)
    count = "SELECT count(*) FROM plan_revisions WHERE plan_code = 'ZR-02' AND kind = 'revision'"
    before = scratch_db.scalar(count)
    at = app("emergency/ui/plans_page.py", as_user="admin", db=scratch_db, plan="ZR-02")
    widget(at.text_input, "新版本号").input("2026修订版")
    widget(at.button, "保存修订").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(saved) == 1 and scratch_db.scalar(count) == before + 1
    assert any("评估期限重新起算" in m.value for m in at.success)


def test_admin_records_a_filing_and_edits_a_rule_on_the_plans_page(app, scratch_db):
    at = app("emergency/ui/plans_page.py", as_user="admin", db=scratch_db, plan="ZR-08")  # never filed in the demo
    assert any("未备案" in m.value and "截止" in m.value for m in at.markdown)
    widget(at.text_input, "备案回执编号").input("备2026-001")
    widget(at.button, "保存备案").click().run()
    assert at.success and "已登记备案" in at.success[0].value
    assert scratch_db.scalar("SELECT receipt_no FROM filings WHERE subject_id = 'ZR-08'") == "备2026-001"
    open_expander(at, "plan_rules_open")  # the rules and their form: drawn only while open
    widget(at.number_input, "间隔（月，季节性规则不填）").set_value(30)
    widget(at.button, "保存规则").click().run()
    assert scratch_db.scalar("SELECT interval_months FROM deadline_rules WHERE code = 'enterprise_evaluation'") == 30
    assert scratch_db.scalar("SELECT count(*) FROM audit_log WHERE table_name = 'deadline_rules'") == 1


def test_plans_page_clocks_are_served_from_their_cache_while_the_scheduler_writes(app, scratch_db, monkeypatch):
    """The clocks of the plans and of the 337 villages are computed once, not on each rerun, with the
    scheduler committing its bookkeeping; a rule change recomputes them. The villages are paged."""
    from emergency import deadlines
    from tests.helpers import assert_cached_while_the_scheduler_writes, count_calls, lengthen_the_village_rule

    # (the scheduler's sweep computes the villages' clocks too, never all_rules)
    computed = count_calls(monkeypatch, deadlines, "all_rules")
    at = app("emergency/ui/plans_page.py", db=scratch_db)
    open_expander(at, "village_plans_open")
    villages = scratch_db.scalar("SELECT count(*) FROM villages WHERE NOT is_virtual")
    assert any(c.value.startswith(f"共 {villages} 个村（社区），第 1 / ") for c in at.caption)
    assert max(len(d.value) for d in at.dataframe) <= 100
    assert_cached_while_the_scheduler_writes(at, computed, lengthen_the_village_rule)


def test_report_page_shows_the_paragraph(app):
    at = app("emergency/ui/report_page.py", as_user="leader", year="2024")
    text = "\n".join(m.value for m in at.markdown)
    assert "现有应急救援队伍388支、队员7349人" in text and "开展县乡两级演练92场次，参演12100余人次" in text


def test_actions_page_overdue_list_is_served_from_its_cache_while_the_scheduler_writes(app, scratch_db, monkeypatch):
    """The overdue list (every clock of the county) is computed once, not on each rerun, with the
    scheduler committing its bookkeeping; a drill write recomputes it."""
    from emergency import deadlines
    from tests.helpers import assert_cached_while_the_scheduler_writes, count_calls, lengthen_the_village_rule

    computed = count_calls(monkeypatch, deadlines, "overdue_list")
    at = app("emergency/ui/actions_page.py", db=scratch_db)
    assert_cached_while_the_scheduler_writes(at, computed, lengthen_the_village_rule)


def test_actions_page_lists_overdue_items(app):
    at = app("emergency/ui/actions_page.py", as_user="admin")
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["逾期未整改"]) > 0
    assert "已逾期" in cells(at)


def test_drill_detail_for_the_township(app, scratch_db):
    drill_id = scratch_db.scalar("SELECT max(id) FROM drills WHERE township_code = '410325100' AND level = 'township'")
    at = app("emergency/ui/drills_page.py", as_user="town100", db=scratch_db, drill=str(drill_id))
    assert any("演练预案：" in m.value for m in at.markdown)
    assert any(b.label == "保存整改事项" for b in at.button)
