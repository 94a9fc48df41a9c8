"""AppTest for the emergency resources pages: 物资储备, 避难场所与隐患点, 资源覆盖."""

from __future__ import annotations

import re

from tests.helpers import each_tab, open_expander, open_tab

STOCK, REGISTRY, COVERAGE = (
    "emergency/ui/resources_stock_page.py",
    "emergency/ui/resources_registry_page.py",
    "emergency/ui/resources_coverage_page.py",
)


def _cells(at) -> str:
    return "\n".join(frame.value.astype(str).to_string() for frame in at.dataframe)


def test_pages_render_for_every_role_without_none_or_full_phones(app, demo_db):
    phones = {p for (p,) in demo_db.query("SELECT phone FROM experts")}
    phones |= {p for (p,) in demo_db.query("SELECT monitor_phone FROM hazard_points")}
    tabs = {REGISTRY: "registry_tab", COVERAGE: "coverage_tab"}  # hidden tabs are not drawn: open each
    for page in (STOCK, REGISTRY, COVERAGE):
        for role in ("admin", "town100", "leader"):
            at = app(page, as_user=role)
            tables = 0
            for tab in each_tab(at, tabs[page]) if page in tabs else [None]:
                text = _cells(at)
                tables += len(at.dataframe)
                assert not re.search(r"\bNone\b|\bnan\b|\bNaT\b", text), (page, role, tab)
                if role == "leader":
                    shown = set(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))
                    assert not (shown & phones), (page, tab)
                    assert not [b for b in at.get("form_submit_button")], (page, tab)
            assert tables, (page, role)


def test_stock_page_issue_refused_and_done(app, scratch_db):
    at = app(STOCK, as_user="town100", db=scratch_db)
    assert at.selectbox[0].value == "城关镇"
    stock_table = at.dataframe[1].value
    assert set(stock_table["储备库"]) == {"城关镇应急物资储备点（演示）"}
    depot = scratch_db.scalar("SELECT id FROM depots WHERE name = '城关镇应急物资储备点（演示）'")
    held = scratch_db.scalar("SELECT sum(quantity) FROM stock WHERE depot_id = ? AND item_code = 'tent'", [depot])
    at.selectbox(key="out_item").set_value("tent")
    at.number_input(key="out_qty").set_value(int(held) + 1)
    at.text_input(key="out_by").input("李四")
    at.text_input(key="out_purpose").input("防汛演练")
    submit = [b for b in at.get("form_submit_button") if b.label == "确认出库"][0]
    submit.click().run()
    assert any("超过" in e.value for e in at.error)
    assert scratch_db.scalar("SELECT count(*) FROM stock_movements") == 0
    at.number_input(key="out_qty").set_value(2)
    [b for b in at.get("form_submit_button") if b.label == "确认出库"][0].click().run()
    assert any("已出库" in s.value for s in at.success)
    after = scratch_db.scalar("SELECT sum(quantity) FROM stock WHERE depot_id = ? AND item_code = 'tent'", [depot])
    assert after == held - 2


def test_a_double_click_on_stock_out_issues_once(app, scratch_db, monkeypatch):
    """确认出库 clicked twice, the second click reaching the server during the first one's write:
    the stock goes down once."""
    from emergency.resources import stock
    from tests.helpers import ask_for_the_second_click

    real, issued = stock.issue, []

    def second_click_during_the_write(*args, **kwargs):
        result = real(*args, **kwargs)
        issued.append(args[4])
        if len(issued) == 1:
            ask_for_the_second_click()
        return result

    monkeypatch.setattr(stock, "issue", second_click_during_the_write)
    at = app(STOCK, as_user="town100", db=scratch_db)
    depot = scratch_db.scalar("SELECT id FROM depots WHERE name = '城关镇应急物资储备点（演示）'")
    held = scratch_db.scalar("SELECT sum(quantity) FROM stock WHERE depot_id = ? AND item_code = 'tent'", [depot])
    at.selectbox(key="out_item").set_value("tent")
    at.number_input(key="out_qty").set_value(2)
    at.text_input(key="out_by").input("李四")
    at.text_input(key="out_purpose").input("防汛演练")
    [b for b in at.get("form_submit_button") if b.label == "确认出库"][0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert issued == [2]
    after = scratch_db.scalar("SELECT sum(quantity) FROM stock WHERE depot_id = ? AND item_code = 'tent'", [depot])
    assert after == held - 2
    assert any("已出库" in s.value for s in at.success)
    assert [t.value for t in at.toast] == ["已出库"]  # said where the button is, too: the form is long
    at.run()
    assert not at.toast and any("已出库" in s.value for s in at.success)  # the toast once, not every rerun


def test_coverage_page_lists_every_hazard_point(app, demo_db):
    at = app(COVERAGE, as_user="leader")
    nearest = at.dataframe[0].value
    assert len(nearest) == demo_db.scalar("SELECT count(*) FROM hazard_points")
    assert set(nearest["覆盖状态"]) == {"无坐标"}  # the demo's hazard points have no coordinate
    capacity = at.dataframe[1].value
    assert len(capacity) == 16 and set(capacity["人口"]) == {"未登记"}


def test_registry_page_saves_team_equipment_and_creates_a_hazard_point(app, scratch_db):
    at = app(REGISTRY, as_user="town100", db=scratch_db)
    open_tab(at, "registry_tab", "队伍驻地与备勤")
    team_label = at.selectbox(key="base_team").value
    team = scratch_db.scalar(
        "SELECT id FROM teams WHERE name = ? AND township_code = '410325100'", [team_label.split("（")[0]]
    )
    form = [b for b in at.get("form_submit_button") if b.label == "保存装备"][0]
    for box in at.selectbox:
        if box.label == "装备":
            box.set_value("assault_boat")
    for number in at.number_input:
        if number.label == "数量（0 为删除）":
            number.set_value(2)
    form.click().run()
    assert any("已保存装备" in s.value for s in at.success)
    assert scratch_db.query("SELECT item_code, quantity FROM team_equipment WHERE team_id = ?", [team]) == [
        ("assault_boat", 2)
    ]
    open_tab(at, "registry_tab", "隐患点")
    open_expander(at, "create_hazards_open")  # the create form runs only while open
    for text in at.text_input:
        if text.label == "隐患点编号":
            text.input("UI-H001")
        elif text.label == "隐患点名称":
            text.input("页面登记的隐患点")
    [b for b in at.get("form_submit_button") if b.label == "保存隐患点"][0].click().run()
    assert any("已登记隐患点" in s.value for s in at.success), [e.value for e in at.error]
    assert scratch_db.scalar("SELECT township_code FROM hazard_points WHERE code = 'UI-H001'") == "410325100"


def test_hazard_record_shows_route_links_a_drill_and_voids(app, scratch_db):
    at = app(REGISTRY, as_user="town101", db=scratch_db)
    open_tab(at, "registry_tab", "隐患点")
    assert not [s for s in at.selectbox if s.key == "hazard_record"]  # closed: nothing read or drawn
    open_expander(at, "hazard_record_open")
    label = at.selectbox(key="hazard_record").value
    hazard = scratch_db.scalar("SELECT id FROM hazard_points WHERE code || ' ' || name = ?", [label])
    route = scratch_db.scalar("SELECT evacuation_route FROM hazard_points WHERE id = ?", [hazard])
    shown = "\n".join(m.value for m in at.markdown)
    assert f"撤离路线：{route}" in shown and "随所在村叫应链第一步" in shown
    assert "尚未关联演练" in "\n".join(c.value for c in at.caption)
    link = [b for b in at.get("form_submit_button") if b.label == "关联演练"][0]
    drill_label = [s for s in at.selectbox if s.label == "关联本乡镇的演练"][0].value
    link.click().run()
    assert any("已关联演练" in s.value for s in at.success), [e.value for e in at.error]
    (drill,) = scratch_db.query("SELECT drill_id FROM hazard_drills WHERE hazard_id = ?", [hazard])[0]
    title = scratch_db.scalar("SELECT title FROM drills WHERE id = ?", [drill])
    assert title in drill_label
    at.run()
    linked = [f.value for f in at.dataframe if "关联演练" in f.value.columns]
    assert linked and title in set(linked[0]["关联演练"])
    at.text_input(key=f"void_reason_hazard_points_{hazard}").input("已治理销号")
    [b for b in at.get("form_submit_button") if b.label == "作废"][0].click().run()
    assert scratch_db.scalar("SELECT count(*) FROM voided_records WHERE table_name = 'hazard_points'") == 1
    listed = [f.value for f in at.dataframe if "隐患点名称" in f.value.columns][0]
    assert label.split(" ", 1)[1] not in set(listed["隐患点名称"])  # gone from the list


def test_admin_sets_township_population_and_minimums_on_the_coverage_page(app, scratch_db):
    at = app(COVERAGE, as_user="admin", db=scratch_db)
    open_tab(at, "coverage_tab", "乡镇人口与最低储备")
    at.number_input(key="population_410325100").set_value(0)
    [b for b in at.get("form_submit_button") if b.label == "保存乡镇人口"][0].click().run()
    assert any("城关镇人口" in e.value and "须为正整数" in e.value for e in at.error)
    assert scratch_db.setting("resources.population") is None  # nothing saved
    at.number_input(key="population_410325100").set_value(40000)
    [b for b in at.get("form_submit_button") if b.label == "保存乡镇人口"][0].click().run()
    assert any("已保存乡镇人口" in s.value for s in at.success), [e.value for e in at.error]
    assert scratch_db.setting("resources.population") == {"410325100": 40000}
    at.number_input(key="minimum_rescue_vehicle").set_value(50)
    [b for b in at.get("form_submit_button") if b.label == "保存最低储备"][0].click().run()
    assert scratch_db.setting("resources.township_minimums") == {"rescue_vehicle": 50}
    assert (
        scratch_db.scalar(
            "SELECT count(*) FROM audit_log WHERE table_name = 'settings' AND record_id LIKE 'resources.%'"
        )
        == 2
    )
    open_tab(at, "coverage_tab", "覆盖分析")  # the analysis uses them
    capacity = next(f.value for f in at.dataframe if "人口" in f.value.columns and "开放场所" in f.value.columns)
    assert capacity.set_index("乡镇").loc["城关镇", "人口"] == "40,000"
    short = next(f.value for f in at.dataframe if "最低储备" in f.value.columns)
    assert len(short) == 16 and set(short["物资"]) == {"抢险救援车"}


def test_the_figures_tab_is_read_only_for_others(app):
    at = app(COVERAGE, as_user="leader")
    open_tab(at, "coverage_tab", "乡镇人口与最低储备")
    assert not [b for b in at.get("form_submit_button")]
    tables = [f.value for f in at.dataframe]
    assert any("每个乡镇最低储备" in t.columns and set(t["每个乡镇最低储备"]) == {"未设置"} for t in tables)


def test_a_shelter_and_a_depot_are_corrected_on_their_pages_and_a_stale_form_is_refused(app, scratch_db):
    db = scratch_db
    at = app(REGISTRY, as_user="town100", db=db)
    open_expander(at, "edit_shelters_open")
    shelter = at.selectbox(key="edit_shelters_pick").value
    before = db.query_dicts("SELECT * FROM shelters WHERE id = ?", [shelter])[0]
    assert before["township_code"] == "410325100"
    slot = f"edit_shelters_{shelter}"
    assert at.text_input(key=f"{slot}_name").value == before["name"]  # the form shows the record
    assert at.number_input(key=f"{slot}_capacity").value == before["capacity"]
    at.text_input(key=f"{slot}_name").input("城关镇第一避难场所（改）")
    at.number_input(key=f"{slot}_capacity").set_value(321)
    [b for b in at.get("form_submit_button") if b.label == "保存修改"][0].click().run()
    assert any("已保存" in s.value for s in at.success), [e.value for e in at.error]
    after = db.query_dicts("SELECT * FROM shelters WHERE id = ?", [shelter])[0]
    assert (after["name"], after["capacity"]) == ("城关镇第一避难场所（改）", 321)
    assert after["manager_phone"] == before["manager_phone"]  # left blank: kept
    assert db.scalar("SELECT count(*) FROM audit_log WHERE table_name = 'shelters' AND action = 'update'") == 1
    # someone else changes it while this form is open: the next save is refused, nothing overwritten
    db.write(lambda cur: cur.execute("UPDATE shelters SET capacity = 999 WHERE id = ?", [shelter]))
    at.number_input(key=f"{slot}_capacity").set_value(400)
    [b for b in at.get("form_submit_button") if b.label == "保存修改"][0].click().run()
    assert at.error and db.scalar("SELECT capacity FROM shelters WHERE id = ?", [shelter]) == 999

    at = app(STOCK, as_user="admin", db=db)
    open_expander(at, "edit_depots_open")
    depot = at.selectbox(key="edit_depots_pick").value
    at.text_input(key=f"edit_depots_{depot}_address").input("县应急管理局后院")
    at.text_input(key=f"edit_depots_{depot}_custodian_phone").input("13912345678")
    [b for b in at.get("form_submit_button") if b.label == "保存修改"][0].click().run()
    assert any("已保存" in s.value for s in at.success), [e.value for e in at.error]
    assert db.query("SELECT address, custodian_phone FROM depots WHERE id = ?", [depot]) == [
        ("县应急管理局后院", "13912345678")
    ]


def test_a_viewer_gets_no_edit_form_and_an_operator_only_their_townships_records(app):
    at = app(REGISTRY, as_user="leader")
    assert not [e for e in at.expander if e.label.startswith("修改")]
    open_expander(at, "edit_shelters_open")  # no such expander for a viewer: nothing drawn either way
    assert not [s for s in at.selectbox if s.key and s.key.startswith("edit_")]
    at = app(REGISTRY, as_user="town100")
    assert any(e.label == "修改避难场所" for e in at.expander)
    open_expander(at, "edit_shelters_open")
    picks = [s for s in at.selectbox if s.key and s.key.startswith("edit_")]
    assert picks and all(opts for opts in (p.options for p in picks))
