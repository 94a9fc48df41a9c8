"""The coverage page and the import preview in a real browser (screenshots in tests/artifacts/)."""

from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, screenshot


def test_coverage_page_in_a_real_browser(server, page):
    login(page, server["url"], "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    go_to(page, "覆盖分析")
    page.get_by_role("heading", name="覆盖分析").wait_for(timeout=60_000)
    page.get_by_text("缺口清单").wait_for(timeout=60_000)
    page.get_by_text("没有任何队伍覆盖").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2500)  # let the canvas-drawn matrix paint
    path = screenshot(page, "coverage")
    body = page.inner_text("body")
    for text in ("覆盖分析", "无任何队伍的单元", "生态环境", "查看某一单元的队伍", "支队伍，在册队员"):
        assert text in body, text
    assert path.stat().st_size > 30_000
    assert page.outside_requests == [], page.outside_requests
