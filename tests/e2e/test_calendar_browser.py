from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, screenshot


def test_month_grid_in_a_real_browser(server, page):
    login(page, server["url"], "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    go_to(page, "演练计划")
    page.get_by_role("heading", name="演练计划").wait_for(timeout=60_000)
    page.get_by_text("月历", exact=True).click()
    grid = page.locator("table.month-grid")
    grid.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    assert grid.locator("th").count() == 7 and grid.locator("th").first.inner_text() == "周一"
    days = [t for t in grid.locator("td .d").all_inner_texts()]
    assert days[0] == "1" and len(days) >= 28
    path = screenshot(page, "calendar-month-grid")
    assert path.stat().st_size > 20_000
    assert page.outside_requests == [], page.outside_requests
