"""Bounded pages in a real browser: the list pages draw 共 N 条 and one page of rows, 下一页 moves on,
and no list page sends more than 1 MB over the websocket (issue 19; the figures at ×10 / ×100 come
from `bench --from DB` on a generated demo)."""

from __future__ import annotations

import re
import shutil

import pytest

from emergency.demo import DEMO_PASSWORDS
from tests.helpers import WebsocketBytes, login, page_bytes, running_server

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


@pytest.fixture(scope="module")
def big_server(demo_db_path, tmp_path_factory):
    """The demo with 60,000 more drills this year and 20,000 more teams, inserted directly (a list far
    larger than a page: before paging, 86,600 drills sent 16.9 MB), served as a user starts it."""
    from emergency.db import Database

    path = tmp_path_factory.mktemp("big") / "big.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)
    db.scalar(
        "INSERT INTO drills (title, level, organiser, township_code, held_on, form, content, participants)"
        " SELECT '批量演练' || i, 'village', '测试单位', '410325100', current_date - CAST(i % 300 AS INTEGER),"
        " 'tabletop', 'single', 10 FROM range(60000) t(i)"
    )
    db.scalar(
        "INSERT INTO teams (name, kind, level, township_code, established_on)"
        " SELECT '批量队伍' || i, 'civil', 'civil', '410325100', DATE '2020-01-01' FROM range(20000) t(i)"
    )
    db.scalar("CHECKPOINT")
    db.close()
    with running_server(path, tmp_path_factory.mktemp("big_log")) as running:
        yield running


def test_pages_over_lists_far_larger_than_a_page_stay_small(big_server, page):
    counter = WebsocketBytes(page)
    login(page, big_server["url"], "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("heading", name="总览").wait_for(timeout=180_000)
    drills_bytes = page_bytes(page, counter, "演练记录")
    line = page.get_by_text(re.compile(r"共 \d+ 场次，第 1 / \d+ 页")).first.inner_text()
    assert int(re.search(r"共 (\d+) 场次", line)[1]) > 60_000
    teams_bytes = page_bytes(page, counter, "救援队伍")
    line = page.get_by_text(re.compile(r"共 \d+ 支队伍，第 1 / \d+ 页")).first.inner_text()
    assert int(re.search(r"共 (\d+) 支队伍", line)[1]) > 20_000
    members_bytes = page_bytes(page, counter, "队员")  # its pickers: 50 teams, not 20,000
    print("websocket bytes:", {"演练记录": drills_bytes, "救援队伍": teams_bytes, "队员": members_bytes})
    assert drills_bytes < 300_000 and teams_bytes < 300_000 and members_bytes < 300_000
