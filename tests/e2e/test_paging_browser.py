"""Bounded pages in a real browser: the list pages draw 共 N 条 and one page of rows, 下一页 moves on,
and no list page sends more than 1 MB over the websocket (issue 19; the figures at ×10 / ×100 come
from scripts/page_bytes.py on a generated demo)."""

from __future__ import annotations

import re

from emergency.demo import DEMO_PASSWORDS
from tests.helpers import WebsocketBytes, login, page_bytes

LIST_PAGES = {
    "演练记录": "演练记录",
    "救援队伍": "救援队伍",
    "队员": "队员",
    "重点企业": "重点企业（单位）",
    "整改跟踪": "整改跟踪",
}


def test_list_pages_are_bounded_and_move_on(server, page):
    counter = WebsocketBytes(page)
    login(page, server["url"], "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("heading", name="总览").wait_for(timeout=120_000)
    sizes = {title: page_bytes(page, counter, title, heading) for title, heading in LIST_PAGES.items()}
    print("websocket bytes per page (×1):", sizes)
    assert all(0 < size < 1_000_000 for size in sizes.values()), sizes

    page_bytes(page, counter, "救援队伍")
    line = page.get_by_text(re.compile(r"共 \d+ 支队伍，第 1 / \d+ 页")).first
    line.wait_for(timeout=60_000)
    total, pages = map(int, re.search(r"共 (\d+) 支队伍，第 1 / (\d+) 页", line.inner_text()).groups())
    assert total > 200 and pages > 1
    grid = page.get_by_test_id("stDataFrame").first
    assert grid.get_attribute("data-testid") == "stDataFrame"
    page.get_by_role("button", name="下一页").first.click()
    page.get_by_text(f"共 {total} 支队伍，第 2 / {pages} 页").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="上一页").first.click()
    page.get_by_text(f"共 {total} 支队伍，第 1 / {pages} 页").first.wait_for(timeout=60_000)
    assert page.outside_requests == [], page.outside_requests
