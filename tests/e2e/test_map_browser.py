"""The map drawn offline in a real browser: outline, seats and Chinese labels; a click opens the
township's detail; the linkage page and the overview charts; no request leaves localhost."""

import re

from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, screenshot


def login(page, url, username, password):
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("用户名").fill(username, timeout=90_000)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)


def map_frame(page):
    page.wait_for_selector("iframe[title*='st_folium']", timeout=60_000)
    frame = page.frame_locator("iframe[title*='st_folium']")
    frame.locator(".leaflet-overlay-pane path").first.wait_for(timeout=60_000)
    return frame


def test_map_is_drawn_offline_with_chinese_labels(server, page):
    login(page, server["url"], "leader", DEMO_PASSWORDS["viewer"])
    go_to(page, "地图")
    page.get_by_role("heading", name="乡镇地图").wait_for(timeout=60_000)
    frame = map_frame(page)
    # the outline and the 15 seats are SVG paths (1 + 15), the labels are HTML with Chinese names
    assert frame.locator(".leaflet-overlay-pane path").count() >= 16
    labels = frame.locator(".township-label").all_inner_texts()
    assert "城关镇" in labels and "木植街乡" in labels and "白河镇" not in labels  # 白河镇 has no coordinate
    assert frame.locator(".leaflet-tile").count() == 0  # no tiles: offline by default
    page.wait_for_timeout(800)
    path = screenshot(page, "map")
    assert path.stat().st_size > 30_000
    # the teams and drills layers, switched on in the (collapsed) layer control
    frame.locator(".leaflet-control-layers").hover()
    frame.locator(".leaflet-control-layers label", has_text="救援队伍").click()
    frame.locator(".leaflet-control-layers label", has_text="近12个月演练").click()
    labels = frame.locator(".township-label").all_inner_texts()
    assert len([t for t in labels if t.startswith("队伍 ")]) == 15 and any(t.startswith("演练 ") for t in labels)
    screenshot(page, "map_layers")
    # a click on a seat opens its popup and selects the township for the detail below the map
    seat = frame.locator("path.leaflet-interactive").nth(15)  # 0 is the county outline, then the 15 seats
    seat.click()
    frame.locator(".leaflet-popup-content").wait_for(timeout=20_000)
    popup = frame.locator(".leaflet-popup-content").inner_text()
    assert "联动状态" in popup and "救援队伍" in popup
    name = popup.split("\n")[0].strip()
    assert name == "木植街乡"  # the last seat; the detail shows 城关镇 until the click
    page.get_by_text(f"{name} · 统计区划代码").wait_for(timeout=30_000)
    page.wait_for_timeout(2500)
    assert page.outside_requests == [], page.outside_requests


def test_linkage_page_and_overview_charts_offline(server, page):
    login(page, server["url"], "leader", DEMO_PASSWORDS["viewer"])
    page.get_by_text("各月演练场次").first.wait_for(timeout=60_000)
    chart = page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    screenshot(page, "overview_dashboard")
    assert page.locator("[data-testid='stVegaLiteChart']").count() == 2
    go_to(page, "三级联动")
    page.get_by_role("heading", name="三级联动").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^\d+ / 16")).first.wait_for(timeout=60_000)  # this year so far
    # The county's report year: every township connected (a reload keeps the login).
    page.goto(server["url"].rstrip("/") + "/linkage?year=2024", wait_until="domcontentloaded")
    page.get_by_role("heading", name="三级联动").wait_for(timeout=60_000)
    page.get_by_text("16 / 16").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    screenshot(page, "linkage")
    assert "互联互通" in page.inner_text("body")
    assert page.outside_requests == [], page.outside_requests
