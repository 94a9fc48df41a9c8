"""The personal 叫应 link in a real browser, on the running server, without logging in: it shows the
warning, records "已收到" with the action taken, and that person's escalation stops; a used,
expired or unknown link is refused with a clear Chinese message."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

from emergency import auth, calls
from emergency.db import TZ, Database
from tests.helpers import running_server, screenshot

CG = "410325100"


def _issue(db, now, title):
    return calls.issue(
        db, auth.SYSTEM, level=3, hazard="暴雨", title=title, township_codes=[CG], now=now, deliver=False
    )["recipients"]


def test_an_ack_link_records_the_answer_without_login(demo_db_path, tmp_path, page):
    path = tmp_path / "ack.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)
    now = datetime.now(TZ)
    fresh = _issue(db, now, "暴雨黄色预警（浏览器测试）")
    old = _issue(db, now - timedelta(hours=30), "暴雨黄色预警（已过期）")
    db.close()
    head = next(r for r in fresh if r["role_code"] == "station_head")
    expired = old[0]
    token = calls.token_from(head["ack_url"])

    with running_server(path, tmp_path) as server:
        url = f"{server['url']}/ack?token={token}"
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("heading", name="确认收到预警").wait_for(timeout=90_000)
        page.get_by_text("暴雨黄色预警（浏览器测试）").wait_for(timeout=30_000)
        page.get_by_role("button", name="已收到").wait_for(timeout=30_000)
        body = page.inner_text("body")
        assert head["name"] in body and "城关镇" in body
        assert "总览" not in body and "用户名" not in body  # nothing else of the app, no login form
        page.get_by_label("其他措施（可不填）").fill("已组织巡查")
        page.get_by_role("button", name="已收到").click()
        page.get_by_text("已确认收到").wait_for(timeout=30_000)
        page.get_by_role("button", name="已收到").wait_for(state="detached", timeout=30_000)
        screenshot(page, "ack_done")
        assert "已组织巡查" in page.inner_text("body")

        page.goto(url, wait_until="domcontentloaded")  # the same link again: used
        page.get_by_text("该确认链接已使用").wait_for(timeout=60_000)
        page.goto(f"{server['url']}/ack?token={calls.token_from(expired['ack_url'])}", wait_until="domcontentloaded")
        page.get_by_text("该确认链接已过期").wait_for(timeout=60_000)
        screenshot(page, "ack_expired")
        page.goto(f"{server['url']}/ack?token=not-a-token", wait_until="domcontentloaded")
        page.get_by_text("确认链接无效").wait_for(timeout=60_000)
        assert page.outside_requests == [], page.outside_requests

    db = Database(path)
    try:
        answered = db.query_dicts(
            "SELECT answered_at, answered_via, action FROM warning_calls WHERE token_hash = ?",
            [calls.token_hash(token)],
        )[0]
        assert answered["answered_via"] == "link" and answered["action"] == "已组织巡查"
        assert now <= answered["answered_at"] <= datetime.now(TZ)
        later = [
            r
            for r in calls.escalate(db, now + timedelta(minutes=11), deliver=False)
            if r["warning_id"] == head["warning_id"]
        ]
        assert head["name"] not in {r["name"] for r in later if r["action"] == "recall"}  # that person: stopped
        assert any(r["action"] == "recall" for r in later)  # the others who did not answer: called again
    finally:
        db.close()
