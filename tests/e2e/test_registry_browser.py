"""The coverage page and the import preview in a real browser (screenshots in tests/artifacts/)."""

import io
import re
from pathlib import Path

import openpyxl

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


def test_roster_health_shows_a_page_and_exports_every_finding(server, page):
    """队伍健康检查 draws one page of a check's findings (its tab opened: only the open tab is drawn);
    its 导出 Excel has them all (the check's whole list, read at the click)."""

    login(page, server["url"], "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    go_to(page, "队伍健康检查")
    page.get_by_role("heading", name="队伍健康检查").wait_for(timeout=60_000)
    tab = page.get_by_role("tab", name=re.compile(r"^证书过期或即将到期（\d+）$"))
    tab.wait_for(timeout=60_000)
    total = int(re.search(r"（(\d+)）", tab.inner_text()).group(1))
    assert total > 100  # more than one page
    tab.click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    panel.get_by_text(f"共 {total} 条，第 1 / ").wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        panel.get_by_role("button", name="导出 Excel").click()
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert sheet.max_row - 1 == total and sheet.cell(1, 1).value == "证书"
