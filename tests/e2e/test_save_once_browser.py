"""In a real browser: a double click on 保存 of the drill log form records one drill, and the form
is drawn empty with the new record's number."""

import shutil

from emergency.db import Database
from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, running_server, screenshot, wait_until_idle

TITLE = "城关镇双击测试应急演练"


def test_a_double_click_on_save_records_one_drill(demo_db_path, tmp_path, page, _private_key):
    path = tmp_path / "save_once.duckdb"
    shutil.copy(demo_db_path, path)  # the demo on a copy of its own: this test writes
    with running_server(path, tmp_path) as server:
        login(page, server["url"], "town100", DEMO_PASSWORDS["township"])
        page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
        go_to(page, "演练记录")
        page.get_by_role("heading", name="演练记录").wait_for(timeout=90_000)
        wait_until_idle(page)  # under load the page's run can outlast the heading: fill the form after it
        form = page.get_by_test_id("stForm").first
        form.get_by_label("演练名称 *").fill(TITLE)
        form.get_by_label("参演人次 *").fill("42")
        form.get_by_test_id("stMultiSelect").click()
        page.keyboard.type("ZR-08")
        # The option is chosen once the list shows it: Enter typed before it opens chooses nothing.
        page.get_by_role("option", name="ZR-08", exact=False).first.click(timeout=60_000)
        page.keyboard.press("Escape")
        form.get_by_test_id("stMultiSelect").get_by_text("ZR-08", exact=False).first.wait_for(timeout=30_000)
        form.get_by_role("button", name="保存").dblclick()
        page.get_by_text("已登记演练（第", exact=False).first.wait_for(timeout=120_000)
        wait_until_idle(page)
        page.wait_for_timeout(3000)  # a second submission, had there been one, has run by now
        screenshot(page, "save_once_after_double_click")
        assert page.get_by_test_id("stForm").first.get_by_label("演练名称 *").input_value() == ""
        assert page.get_by_role("button", name="查看第", exact=False).count() == 1
        assert page.get_by_text("可能重复", exact=False).count() == 0
    db = Database(path)
    try:
        rows = db.query_dicts("SELECT participants FROM drills WHERE title = ?", [TITLE])
        assert rows == [{"participants": 42}]
        assert (
            db.scalar(
                "SELECT count(*) FROM drill_plans dp JOIN drills d ON d.id = dp.drill_id WHERE d.title = ?", [TITLE]
            )
            == 1
        )
    finally:
        db.close()
