"""The reminder pages in a real browser: the server runs its scheduler (the e2e server starts the app
as a user does), whose start-up sweep fills the inbox; nothing leaves the machine (no channels)."""

import re

from emergency.demo import DEMO_PASSWORDS
from tests.helpers import go_to, login, screenshot


def show_all_pages(page):
    """The sidebar shows the first pages and "View N more": open it to reach the reminder pages."""
    more = page.get_by_text(re.compile(r"^View \d+ more$"))
    if more.count():
        more.first.click()


def test_inbox_and_scheduler_pages_in_a_real_browser(server, page):
    login(page, server["url"], "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
    show_all_pages(page)
    go_to(page, "定时任务")
    page.get_by_role("heading", name="定时任务").wait_for(timeout=60_000)
    page.get_by_text("调度器运行中").wait_for(timeout=30_000)
    page.get_by_text("发送队列").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    screenshot(page, "scheduler")
    body = page.inner_text("body")
    assert "发送队列" in body and "数据库备份" in body
    show_all_pages(page)
    go_to(page, "消息")
    page.get_by_role("heading", name="消息").wait_for(timeout=60_000)
    page.get_by_text("其中未读").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    screenshot(page, "inbox")
    body = page.inner_text("body")
    assert "未读消息" in body  # the sidebar's count
    show_all_pages(page)
    go_to(page, "提醒设置")
    page.get_by_role("heading", name="接收渠道").wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    screenshot(page, "reminder_settings")
    assert "尚未配置任何渠道" in page.inner_text("body")  # the demo sends nothing outside
    assert page.outside_requests == [], page.outside_requests
