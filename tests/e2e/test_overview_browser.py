from tests.e2e.conftest import screenshot


def test_overview_in_a_real_browser(server, page):
    page.goto(server["url"] + "/?year=2024", wait_until="domcontentloaded")
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    page.get_by_text("7,349").first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    for figure in ("388", "7,349", "92", "522", "6,967", "应急救援队伍（支）", "县乡两级演练（场次）"):
        assert figure in body, figure
    assert "现有应急救援队伍388支、队员7349人" in body
    path = screenshot(page, "overview")
    assert path.stat().st_size > 20_000
    assert page.outside_requests == [], page.outside_requests


def test_leaflet_is_served_locally(server, page):
    response = page.request.get(server["url"] + "/app/static/leaflet/leaflet.js")
    assert response.status == 200 and b"Leaflet" in response.body()[:2000]
