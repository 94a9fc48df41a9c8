from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, screenshot


def test_login_then_overview_in_a_real_browser(server, page):
    page.goto(server["url"] + "/?year=2024", wait_until="domcontentloaded")
    page.get_by_role("button", name="登录").wait_for(timeout=90_000)
    assert "7,349" not in page.inner_text("body")  # nothing before login
    screenshot(page, "login")
    login(page, server["url"] + "/?year=2024", "leader", DEMO_PASSWORDS["viewer"])
    page.get_by_role("heading", name="总览").wait_for(timeout=60_000)
    page.get_by_text("7,349").first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    for figure in (
        "388",
        "7,349",
        "92",
        "522",
        "6,967",
        "应急救援队伍（支）",
        "县乡两级演练（场次）",
        "县领导（演示）",
    ):
        assert figure in body, figure
    assert "现有应急救援队伍388支、队员7349人" in body
    path = screenshot(page, "overview")
    assert path.stat().st_size > 20_000
    assert page.outside_requests == [], page.outside_requests


def test_members_page_masked_for_the_viewer(server, page):
    login(page, server["url"], "leader", DEMO_PASSWORDS["viewer"])
    page.get_by_role("heading", name="总览").wait_for(timeout=60_000)
    go_to(page, "队员")
    page.get_by_role("heading", name="队员").wait_for(timeout=60_000)
    page.get_by_text("共 ").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    screenshot(page, "members")
    body = page.inner_text("body")
    assert "脱敏" in body
    assert page.outside_requests == [], page.outside_requests


def test_leaflet_is_served_locally(server, page):
    response = page.request.get(server["url"] + "/app/static/leaflet/leaflet.js")
    assert response.status == 200 and b"Leaflet" in response.body()[:2000]


def test_a_reload_keeps_the_login_and_logout_ends_it(server, page):
    login(page, server["url"], "town100", DEMO_PASSWORDS["township"])
    page.get_by_role("heading", name="总览").wait_for(timeout=60_000)
    page.reload(wait_until="domcontentloaded")
    page.get_by_role("heading", name="总览").wait_for(timeout=60_000)  # resumed from the session cookie
    assert "城关镇填报员" in page.inner_text("body")
    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("button", name="登录").wait_for(timeout=60_000)
    page.reload(wait_until="domcontentloaded")
    page.get_by_role("button", name="登录").wait_for(timeout=60_000)  # the cookie no longer opens a session
    assert "7,349" not in page.inner_text("body")
    assert page.outside_requests == [], page.outside_requests
