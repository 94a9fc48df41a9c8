"""The resource layers drawn offline in a real browser: depots with their stock, shelters, hazard
points and team bases; a click on a hazard point shows its record; no request leaves localhost."""

from __future__ import annotations

import pytest

from emergency.demo import DEMO_PASSWORDS
from tests.e2e.test_map_browser import login, map_frame
from tests.helpers import go_to, running_server, screenshot

HAZARD = {"lon": 111.95, "lat": 34.05}  # a test hazard point (the demo's have no coordinate)


@pytest.fixture(scope="module")
def resource_server(tmp_path_factory, _private_key):
    """The demo plus one hazard point with a coordinate, prepared before the server takes the file."""
    from emergency.auth import SYSTEM
    from emergency.db import Database
    from emergency.resources import registry
    from emergency.setup import ensure_ready_with_demo

    path = tmp_path_factory.mktemp("resources") / "server.duckdb"
    db = Database(path)
    ensure_ready_with_demo(db)
    registry.create(
        db,
        SYSTEM,
        "hazards",
        {
            "code": "E2E-H001",
            "name": "测试滑坡隐患点",
            "kind": "geological",
            "township_code": "410325105",
            "people_threatened": 36,
            "households": 9,
            "monitor_name": "测试监测员",
            **HAZARD,
        },
    )
    db.close()
    with running_server(path, tmp_path_factory.mktemp("log")) as running:
        yield running


def test_resource_layers_drawn_offline(resource_server, page):
    login(page, resource_server["url"], "leader", DEMO_PASSWORDS["viewer"])
    go_to(page, "地图")
    page.get_by_role("heading", name="乡镇地图").wait_for(timeout=60_000)
    frame = map_frame(page)
    assert frame.locator("path.resource-depots").count() == 0  # the resource layers start hidden
    frame.locator(".leaflet-control-layers").hover()
    for name in ("应急物资储备库", "应急避难场所", "隐患点（威胁人数）", "队伍驻地（备勤）"):
        frame.locator(".leaflet-control-layers label", has_text=name).click()
    frame.locator("path.resource-hazards").first.wait_for(timeout=20_000)
    assert frame.locator("path.resource-depots").count() == 16  # the county depot and 15 township seats
    assert frame.locator("path.resource-shelters").count() == 15
    assert frame.locator("path.resource-team_bases").count() == 15
    assert frame.locator("path.resource-hazards").count() == 1
    assert frame.locator(".leaflet-tile").count() == 0  # offline: no tiles
    page.mouse.move(10, 10)  # close the layer control before the picture
    page.wait_for_timeout(800)
    path = screenshot(page, "map_resources")
    assert path.stat().st_size > 30_000
    frame.locator("path.resource-hazards").first.click(force=True)
    frame.locator(".leaflet-popup-content").wait_for(timeout=20_000)
    popup = frame.locator(".leaflet-popup-content").inner_text()
    assert "测试滑坡隐患点" in popup and "威胁 36 人 / 9 户" in popup and "测试监测员" in popup
    screenshot(page, "map_resources_popup")
    page.wait_for_timeout(1500)
    assert page.outside_requests == [], page.outside_requests
