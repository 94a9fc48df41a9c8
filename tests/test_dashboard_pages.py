"""AppTest: the map, linkage and overview pages on the demo database."""

import json
import re
import time
from datetime import date
from pathlib import Path

from emergency import linkage, mapview, regions, teams
from emergency.db import local_today
from emergency.records import live
from emergency.ui.widgets import status_label
from tests.helpers import (
    assert_cached_while_the_scheduler_writes,
    count_calls,
    open_expander,
    open_tab,
    scheduler_writing,
    untrain_a_member,
    user_row,
)

MAP = "emergency/ui/map_page.py"
LINKAGE = "emergency/ui/linkage_page.py"


def walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def map_args(at) -> dict:
    """streamlit-folium shows as an UnknownElement; its json_args hold the generated map script."""
    found = [e for e in walk(at.main) if type(e).__name__ == "UnknownElement" and "json_args" in str(e.proto)]
    assert len(found) == 1
    return json.loads(found[0].proto.json_args)


def seat_markers(script: str) -> int:
    """The seats drawn: the rows of the circle layers but the resource layers' (class resource-<kind>)."""
    return sum(
        len(rows)
        for style, rows in mapview.drawn_points(script)
        if "style" in style and not style["style"].get("className", "").startswith("resource-")
    )


def test_map_page_draws_outline_seats_offline(app, demo_db):
    at = app(MAP, as_user="leader")
    args = map_args(at)
    script = args["script"]
    outline = json.loads(Path("data/geo/county_410325_wgs84.geojson").read_text(encoding="utf-8"))
    first = outline["features"][0]["geometry"]["coordinates"][0][0]
    assert f"[{first[0]}, {first[1]}]" in script and "L.geoJson" in script.replace("L.geoJSON", "L.geoJson")
    seats = demo_db.scalar("SELECT count(*) FROM townships WHERE is_township AND lon IS NOT NULL")
    assert seats == 15 and seat_markers(script) == 15
    everything = json.dumps(args)
    assert not re.search(r"https?://", everything), re.findall(r"https?://[^\s\"']+", everything)
    assert args["js_links"] == ["/app/static/leaflet/leaflet.js"]
    assert args["css_links"] == ["/app/static/leaflet/leaflet.css"]
    side = "\n".join(m.value for m in at.markdown)
    assert "白河镇" in side and "无坐标" in side  # the place without a coordinate, listed beside the map
    assert not [e for e in at.expander if "管理员" in e.label]  # no admin forms for the viewer


def test_map_popup_text_is_escaped(app, scratch_db):
    admin = user_row(scratch_db, "admin")
    name = "<img src=x onerror=alert(1)>"
    teams.create_team(
        scratch_db,
        admin,
        {
            "name": name,
            "kind": "civil",
            "level": "civil",
            "township_code": "410325100",
            "established_on": date(2024, 1, 1),
        },
        ["flood"],
    )
    script = map_args(app(MAP, db=scratch_db))["script"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in script
    assert "<img" not in script


def test_map_township_detail_and_admin_sets_a_coordinate(app, scratch_db):
    at = app(MAP, db=scratch_db)
    assert at.selectbox(key="map_township").value == "城关镇"
    at.selectbox(key="map_township").set_value("白河镇").run()
    assert any("没有可靠的驻地坐标" in i.value for i in at.info)
    form_inputs = [n for n in at.number_input]
    form_inputs[0].set_value(111.75)
    form_inputs[1].set_value(33.9)
    at.selectbox[0].set_value("白河镇")
    at.button[0].click().run()  # the coordinate form's submit button is the first button on the page
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert scratch_db.query("SELECT lon, lat FROM townships WHERE code = '410325107'") == [(111.75, 33.9)]
    script = map_args(at)["script"]
    assert seat_markers(script) == 16


def test_map_is_rendered_once_per_data_state(app, scratch_db):
    """Issue 19: a rerun with unchanged data sends the cached map strings and renders nothing; a
    change the map shows (a new coordinate) renders it anew."""
    from emergency.ui import folium_view

    at = app(MAP, db=scratch_db)
    script = map_args(at)["script"]
    builds = folium_view.stats["builds"]
    at.run()
    assert folium_view.stats["builds"] == builds and map_args(at)["script"] == script
    at.selectbox(key="map_township").set_value("白河镇").run()  # another township's detail: same map
    assert folium_view.stats["builds"] == builds
    assert "\n        " not in script  # folium's indentation is not sent
    at.number_input[0].set_value(111.7612)  # not the coordinate another test sets: a map not drawn yet
    at.number_input[1].set_value(33.9034)
    at.selectbox[0].set_value("白河镇")
    at.button[0].click().run()
    assert not at.error, [e.value for e in at.error]
    assert folium_view.stats["builds"] == builds + 1
    assert map_args(at)["script"] != script and "[33.9034, 111.7612]" in map_args(at)["script"]


def test_map_page_lists_are_paged_and_served_from_their_cache_while_the_scheduler_writes(app, scratch_db, monkeypatch):
    """Issue 19: the township's teams and drills below the map are paged in SQL (at most a page of
    rows sent, the total shown), and a rerun reads neither them, the map's data nor the places beside
    the map while the scheduler commits its bookkeeping and delivers notifications; a registry write
    reads the teams and the map's data again."""
    held = linkage._now()
    monkeypatch.setattr(linkage, "_now", lambda: held)  # the map's data is also kept per minute
    listed = count_calls(monkeypatch, teams, "team_list")
    places = count_calls(monkeypatch, regions, "missing_coordinates")
    figures = count_calls(monkeypatch, mapview, "map_data")
    at = app(MAP, db=scratch_db)
    total = scratch_db.scalar(
        "SELECT count(*) FROM teams t WHERE t.township_code = '410325100' AND t.disbanded_on IS NULL"
        f" AND {live('teams', 't')}"
    )
    assert not listed  # the tabs are lazy: the first view draws the villages' tab alone
    open_tab(at, "map_tab", "近12个月演练")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("共 ") and "场演练" in c for c in captions), captions
    assert max(len(d.value) for d in at.dataframe) <= 100
    open_tab(at, "map_tab", "救援队伍")
    captions = [c.value for c in at.caption]
    assert any(c.startswith(f"共 {total} 支队伍，第 1 / ") for c in captions), captions
    assert max(len(d.value) for d in at.dataframe) <= 100 and total > 0
    assert len(places) == 1
    assert_cached_while_the_scheduler_writes(at, listed, untrain_a_member)
    assert len(places) == 1  # the registry write is not a places write
    assert len(figures) == 2  # once, then after the registry write only


def test_linkage_page_shows_16_of_16_connected_in_2024(app):
    at = app(LINKAGE, as_user="leader", year="2024")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["2024年互联互通乡镇"] == "16 / 16"
    assert any("互联互通" in c.value and "口径" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert len(table) == 16 and set(table["状态"].map(status_label)) <= set(linkage.STATUS_LABELS.values())
    assert int(metrics["当前正常（绿）"]) + int(metrics["当前需关注（黄）"]) + int(metrics["当前异常（红）"]) == 16
    villages = at.dataframe[1].value
    assert len(villages) == 20 and "信息员A岗" in villages.columns  # 城关镇's villages
    assert not [f for f in at.get("form")]  # the viewer gets no forms


def test_admin_logs_a_roll_call_and_township_acknowledges(app, scratch_db):
    before = scratch_db.scalar("SELECT count(*) FROM roll_calls")
    at = app(LINKAGE, db=scratch_db)
    open_tab(at, "linkage_tab", "视频点名")
    form = next(f for f in at.get("form") if f.proto.form.form_id.startswith("roll_call"))
    texts = [t for t in at.text_input if t.label == "应答人"]
    texts[0].input("测试值班员")
    submit = next(b for b in at.button if b.label == "登记点名")
    submit.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert scratch_db.scalar("SELECT count(*) FROM roll_calls") == before + 1
    assert scratch_db.scalar("SELECT answered_by FROM roll_calls ORDER BY id DESC LIMIT 1") == "测试值班员"
    assert form is not None
    # the township operator acknowledges one of its own pending warnings
    pending = linkage.pending_acknowledgements(scratch_db, "410325100")
    assert pending
    at = app(LINKAGE, as_user="town100", db=scratch_db)
    [t for t in at.text_input if t.label.startswith("叫应人")][0].input("张镇长")
    next(b for b in at.button if b.label == "登记叫应").click().run()
    assert not at.error, [e.value for e in at.error]
    assert len(linkage.pending_acknowledgements(scratch_db, "410325100")) == len(pending) - 1
    open_tab(at, "linkage_tab", "视频点名")
    assert not [b for b in at.button if b.label == "登记点名"]  # roll calls are the county's
    assert any("视频点名由县应急值班室" in i.value for i in at.info)


def test_overview_kpi_tiles_and_charts(app):
    at = app(year="2024", as_user="leader")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["应急救援队伍（支）"] == "388"  # the year figures are unchanged
    for label in ("在册队伍（支）", "在册队员（人）", "逾期预案（项）", "未关闭整改（项）"):
        assert label in metrics
    assert any(label.endswith("年演练（场次）") for label in metrics)
    charts = [e for e in walk(at.main) if getattr(e, "type", "") == "vega_lite_chart"]
    assert len(charts) == 2
    encodings = [json.loads(c.proto.spec)["encoding"] for c in charts]
    assert encodings[0]["color"]["field"] == "层级" and encodings[1]["y"]["field"] == "领域"
    links = [p.proto.page for p in at.get("page_link")]
    assert any("drills" in p for p in links) and any("teams" in p for p in links)  # drill-down to the lists
    assert "现有应急救援队伍388支、队员7349人" in "\n".join(m.value for m in at.markdown)


def test_overview_detail_tables_are_drawn_once_their_expander_is_open(app):
    """Issue 19: the landing page's three detail tables (late plans, drills per month, coverage) are
    behind lazy expanders: the first view of every session sends none of them."""
    at = app(year="2024", as_user="leader")
    assert len(at.dataframe) == 0
    open_expander(at, "late_plans_open", "monthly_table_open", "coverage_table_open")
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 3 and all(len(t) > 0 for t in tables)


def test_overview_is_served_from_its_cache_while_the_scheduler_writes(app, scratch_db, monkeypatch):
    """A rerun with the registry unchanged runs none of the overview's queries, with the scheduler
    committing its bookkeeping meanwhile; a registry write recomputes (counted on report_figures)."""
    from emergency import reports

    computed = count_calls(monkeypatch, reports, "report_figures")
    at = app(db=scratch_db, as_user="leader")
    assert_cached_while_the_scheduler_writes(at, computed, untrain_a_member)
    assert "现有应急救援队伍" in "\n".join(m.value for m in at.markdown)


def test_linkage_lists_are_served_from_their_cache_while_the_scheduler_writes(app, scratch_db, monkeypatch):
    """三级联动's lists (pending acknowledgements, contacts, recent warnings) are read once, not on each
    rerun, with the scheduler committing its bookkeeping; a write to them (a contact) reads them again."""
    from emergency.ui import state

    pending = count_calls(monkeypatch, linkage, "pending_acknowledgements")
    contacts = count_calls(monkeypatch, linkage, "contact_list")
    at = app(LINKAGE, db=scratch_db)
    assert len(contacts) == 0  # the contacts' expander is closed: not read
    open_expander(at, "linkage_contacts_open")
    first = len(contacts)
    assert len(pending) == 1 and first >= 1
    app_db = state.get_db()
    with scheduler_writing(app_db):
        at.run()
        assert not at.exception and (len(pending), len(contacts)) == (1, first)  # served from the cache
        linkage.add_contact(
            app_db,
            user_row(app_db, "admin"),
            {
                "township_code": "410325100",
                "role": "station_staff",
                "name": "缓存测试",
                "phone": "13800000000",
                "active_from": local_today(),
            },
        )
        at.run()
        assert not at.exception and len(pending) == 2 and len(contacts) > first
    shown = "\n".join(d.value.to_csv() for d in at.dataframe)
    assert "缓存测试" in shown  # the new contact is listed at once


def test_rerun_times(app):
    """Measured, reported: a warm rerun of each dashboard page on the demo database."""
    timings = {}
    for page in (None, MAP, LINKAGE):
        at = app(page, as_user="admin")
        start = time.perf_counter()
        at.run()
        timings[page or "overview"] = time.perf_counter() - start
        assert not at.exception
    print("rerun seconds:", {k: round(v, 3) for k, v in timings.items()})
    assert all(v < 5 for v in timings.values()), timings


def test_admin_issues_a_warning_from_the_page_and_sees_its_timeline(app, scratch_db):
    from emergency import calls

    before = scratch_db.scalar("SELECT count(*) FROM warning_calls")
    at = app(LINKAGE, db=scratch_db)
    open_tab(at, "linkage_tab", "发布预警")
    next(s for s in at.selectbox if s.label == "预警级别").select(1)
    next(s for s in at.selectbox if s.label == "预警类型").select("山洪")
    next(t for t in at.text_input if t.label == "预警标题").input("山洪红色预警（页面测试）")
    next(m for m in at.multiselect if m.label == "接收乡镇").select("城关镇")
    next(b for b in at.button if b.label == "发布并叫应").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    wid = scratch_db.scalar("SELECT max(id) FROM warnings")
    assert scratch_db.scalar("SELECT title FROM warnings WHERE id = ?", [wid]) == "山洪红色预警（页面测试）"
    called = scratch_db.scalar("SELECT count(*) FROM warning_calls WHERE warning_id = ?", [wid])
    assert called > 1 and scratch_db.scalar("SELECT count(*) FROM warning_calls") == before + called
    assert any("已发布预警并推送" in m.value and "已叫应" in m.value for m in at.success), [m.value for m in at.success]
    # its timeline: the latest warning is the first choice of the record tab
    at = app(LINKAGE, db=scratch_db)
    open_tab(at, "linkage_tab", "预警记录")
    frames = [d.value for d in at.dataframe]
    timeline = next(f for f in frames if "确认方式" in f.columns)
    assert set(timeline["步骤"]) == {1} and "乡镇消息" in set(timeline["渠道"])
    open_tab(at, "linkage_tab", "叫应链")
    chain = [m.value for m in at.markdown if m.value.startswith("**当前叫应链**")]
    assert chain and calls.chain_text(calls.DEFAULT_TOWNSHIP_CHAIN) in chain[0]
    assert any("口径" in c.value and "每月" in c.value for c in at.caption)  # the definition on the page


def test_the_linkage_page_runs_only_its_open_tab(app, monkeypatch):
    """三级联动's six tabs (widgets.lazy_tabs): a view draws the open one only, so the 叫应链 tab's
    reads and forms cost nothing until it is opened, and opening it draws them."""
    from emergency import calls

    chains = count_calls(monkeypatch, calls, "chain")
    at = app(LINKAGE)
    assert not chains and not [b for b in at.button if b.label == "保存叫应链"]
    open_tab(at, "linkage_tab", "叫应链")
    assert chains and [b for b in at.button if b.label == "保存叫应链"]
    open_tab(at, "linkage_tab", "预警叫应")
    assert not [b for b in at.button if b.label == "保存叫应链"]


def test_linkage_indicators_are_kept_while_the_scheduler_delivers_and_read_again_after_a_write(
    app, scratch_db, monkeypatch
):
    """三级联动's township indicators are computed once per minute and data write: the scheduler's
    bookkeeping and its notification deliveries (not read by the indicators) leave them kept."""
    held = linkage._now()
    monkeypatch.setattr(linkage, "_now", lambda: held)  # the indicators are also kept per minute
    computed = count_calls(monkeypatch, linkage, "township_indicators")
    at = app(LINKAGE, db=scratch_db)
    assert_cached_while_the_scheduler_writes(at, computed, untrain_a_member)


def test_linkage_status_is_kept_per_period_but_computed_at_now(app, scratch_db, monkeypatch):
    """The status is kept per linkage.status_period (ten minutes) and data write, and computed at the
    moment of the view, not at the period's start: a roll call logged seven minutes into the period,
    one minute before the view, is counted at once."""
    from datetime import timedelta

    from emergency.ui import state

    held = linkage._now().replace(minute=7, second=30, microsecond=0)
    assert linkage.status_period(held) == held.replace(minute=0, second=0)
    assert linkage.status_period(held.replace(minute=59)) == held.replace(minute=50, second=0)
    monkeypatch.setattr(linkage, "_now", lambda: held)
    at = app(LINKAGE, db=scratch_db)

    def answered() -> str:
        table = at.dataframe[0].value
        return str(table.set_index("乡镇").loc["城关镇", "点名应答/次"])

    before = answered()
    app_db = state.get_db()
    called = held - timedelta(minutes=1)
    linkage.log_roll_call(app_db, user_row(app_db, "admin"), "410325100", called, called, "值班员", "")
    at.run()
    done, total = (int(n) for n in answered().split("/"))
    assert (done, total) == tuple(int(n) + 1 for n in before.split("/"))


def test_the_start_up_warm_up_fills_what_the_first_view_of_the_map_reads(app, scratch_db, monkeypatch):
    """Issue 19: the server's keep-warm thread (state.keep_warm) computes the map's data, its folium
    strings, the places beside it and the first township's villages, so that the first view of 地图
    after a start reads caches only; it ends when told to."""
    import threading

    from emergency.ui import folium_view, state

    held = linkage._now().replace(year=2031)  # a period no other test has cached
    monkeypatch.setattr(linkage, "_now", lambda: held)
    monkeypatch.setenv("EMERGENCY_DB", str(scratch_db.path))
    figures = count_calls(monkeypatch, mapview, "map_data")
    places = count_calls(monkeypatch, regions, "missing_coordinates")
    villages = count_calls(monkeypatch, linkage, "village_indicators")
    stop = threading.Event()
    warming = threading.Thread(target=state.keep_warm, args=(stop,))
    warming.start()
    for _ in range(600):
        if villages:
            break
        threading.Event().wait(0.1)
    stop.set()
    warming.join(timeout=10)
    assert not warming.is_alive()
    warmed = (len(figures), len(places), len(villages))
    assert warmed[:2] == (1, 1) and warmed[2] >= 1  # (三级联动's warm-up reads the villages too)
    builds = folium_view.stats["builds"]
    at = app(MAP, db=scratch_db)
    assert at.selectbox(key="map_township").value == "城关镇" and len(at.dataframe) == 1
    assert (len(figures), len(places), len(villages)) == warmed  # the view computed none of them
    assert folium_view.stats["builds"] == builds  # nor built the map


def test_the_start_up_warm_up_fills_what_the_first_view_of_the_linkage_page_reads(app, scratch_db, monkeypatch):
    """Issue 19: state.warm_caches also computes 三级联动's status, its townships' table, the first
    township's villages and the county's pending acknowledgements: the admin's first view reads them."""
    from emergency.ui import state

    held = linkage._now().replace(year=2032)  # a period no other test has cached
    monkeypatch.setattr(linkage, "_now", lambda: held)
    monkeypatch.setenv("EMERGENCY_DB", str(scratch_db.path))
    state.warm_caches()
    status = count_calls(monkeypatch, linkage, "township_indicators")
    villages = count_calls(monkeypatch, linkage, "village_indicators")
    pending = count_calls(monkeypatch, linkage, "pending_acknowledgements")
    at = app(LINKAGE, db=scratch_db)
    assert len(at.dataframe) >= 2 and len(at.dataframe[0].value) == 16
    assert (len(status), len(villages), len(pending)) == (0, 0, 0)


def test_the_start_up_warm_up_counts_the_roster_checks_the_countys_first_view_shows(app, scratch_db, monkeypatch):
    """Issue 19: state.warm_caches also counts 队伍健康检查's checks for the whole county (0.7 s of CPU
    at 100 times the county): the admin's first view counts none; a township's view counts its own."""
    from emergency import roster
    from emergency.ui import state

    monkeypatch.setenv("EMERGENCY_DB", str(scratch_db.path))
    state.warm_caches()
    counted = count_calls(monkeypatch, roster, "health_summary")
    at = app("emergency/ui/roster_page.py", db=scratch_db)
    assert len(at.metric) == len(roster.HEALTH_CHECKS) and not at.exception
    assert counted == []
    at.selectbox[0].set_value("城关镇").run()
    assert len(counted) == 1 and counted[0][2] == "410325100"


def test_a_double_click_on_issue_pushes_the_warning_once(app, scratch_db, monkeypatch):
    """发布并叫应 clicked twice, the second click reaching the server while the first one's warning
    is being pushed: one warning, one push to each responsible person."""
    from emergency import calls
    from tests.helpers import ask_for_the_second_click

    real, issued = calls.issue, []

    def second_click_during_the_push(*args, **kwargs):
        result = real(*args, **kwargs)
        issued.append(result["warning_id"])
        if len(issued) == 1:
            ask_for_the_second_click()
        return result

    monkeypatch.setattr(calls, "issue", second_click_during_the_push)
    before = scratch_db.scalar("SELECT count(*) FROM warnings")
    at = app(LINKAGE, db=scratch_db)
    open_tab(at, "linkage_tab", "发布预警")
    next(s for s in at.selectbox if s.label == "预警类型").select("山洪")
    next(t for t in at.text_input if t.label == "预警标题").input("山洪预警（双击测试）")
    next(m for m in at.multiselect if m.label == "接收乡镇").select("城关镇")
    next(b for b in at.button if b.label == "发布并叫应").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(issued) == 1 and scratch_db.scalar("SELECT count(*) FROM warnings") == before + 1
    assert any(f"（编号 {issued[0]}）" in m.value for m in at.success), [m.value for m in at.success]
    assert next(t for t in at.text_input if t.label == "预警标题").value == ""  # the form drawn afresh


def test_a_double_click_on_acknowledge_answers_only_the_warning_chosen(app, scratch_db, monkeypatch):
    """登记叫应 clicked twice: the second click, made for the warning just answered, must not answer
    the next pending one (its 叫应 would stop while nobody answered it)."""
    from tests.helpers import ask_for_the_second_click

    real, answered = linkage.acknowledge, []

    def second_click_during_the_write(db, actor, ack_id, *args, **kwargs):
        real(db, actor, ack_id, *args, **kwargs)
        answered.append(ack_id)
        if len(answered) == 1:
            ask_for_the_second_click()

    monkeypatch.setattr(linkage, "acknowledge", second_click_during_the_write)
    pending = linkage.pending_acknowledgements(scratch_db, "410325100")
    assert len(pending) >= 2
    at = app(LINKAGE, as_user="town100", db=scratch_db)
    [t for t in at.text_input if t.label.startswith("叫应人")][0].input("张镇长")
    next(b for b in at.button if b.label == "登记叫应").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(answered) == 1
    assert len(linkage.pending_acknowledgements(scratch_db, "410325100")) == len(pending) - 1
    assert any("已登记叫应" in m.value for m in at.success), [m.value for m in at.success]
