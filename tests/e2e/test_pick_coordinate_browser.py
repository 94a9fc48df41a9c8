"""In a real browser: a team base's coordinate picked with a click on the offline map fills the form's
经度 / 纬度, and 保存驻地 stores exactly that point (WGS-84, inside the county outline)."""

import shutil

from emergency import regions
from emergency.db import Database
from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, open_browser_tab, running_server, screenshot


def test_a_click_on_the_map_fills_and_saves_the_team_base(demo_db_path, tmp_path, page, _private_key):
    path = tmp_path / "pick.duckdb"
    shutil.copy(demo_db_path, path)  # this test writes
    with running_server(path, tmp_path) as server:
        login(page, server["url"], "town100", DEMO_PASSWORDS["township"])
        page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
        go_to(page, "避难场所与隐患点")
        page.get_by_role("heading", name="避难场所、隐患点与专家").wait_for(timeout=90_000)
        open_browser_tab(page, "队伍驻地与备勤")
        lon_input = page.get_by_label("经度（WGS-84，不知道就不填）").last
        lon_input.wait_for(timeout=60_000)
        before = lon_input.input_value()  # the demo base at the township seat, or empty
        page.get_by_text("在地图上点选坐标").last.click()
        page.wait_for_selector("iframe[title*='st_folium']", timeout=60_000)
        frame = page.frame_locator("iframe[title*='st_folium']").last
        frame.locator(".leaflet-overlay-pane path").first.wait_for(timeout=60_000)
        assert frame.locator(".leaflet-tile").count() == 0  # offline: the outline only
        container = frame.locator(".leaflet-container")
        container.scroll_into_view_if_needed()
        box = container.bounding_box()
        assert box
        container.click(position={"x": box["width"] / 2, "y": box["height"] / 2}, force=True)  # mid-county
        for _ in range(120):  # the click goes back to the server and fills the form
            if lon_input.input_value() not in ("", before):
                break
            page.wait_for_timeout(500)
        lon, lat = float(lon_input.input_value()), float(page.get_by_label("纬度（WGS-84）").last.input_value())
        assert regions.inside_county(lon, lat)
        frame.locator("path.picked-point").wait_for(timeout=30_000)  # the chosen point drawn on the map
        screenshot(page, "pick_coordinate_team_base")
        page.get_by_role("button", name="保存驻地").click()
        page.get_by_text("已保存驻地").first.wait_for(timeout=60_000)
        assert page.outside_requests == [], page.outside_requests
    db = Database(path)
    try:
        stored = db.query(
            "SELECT t.township_code FROM team_bases b JOIN teams t ON t.id = b.team_id WHERE b.lon = ? AND b.lat = ?",
            [lon, lat],
        )
        assert stored == [("410325100",)]  # exactly the point clicked, on the chosen team of 城关镇
        assert db.scalar(
            "SELECT count(*) FROM audit_log WHERE table_name = 'team_bases' AND action = 'update' AND after LIKE ?",
            [f"%{lon}%"],
        )
    finally:
        db.close()
