"""AppTest: the inbox (a township operator sees its own township's reminders only), the sidebar's
unread count, the settings page (secrets masked) and the scheduler page (failures shown)."""

from __future__ import annotations

from emergency.notify import channels, reminders
from tests.helpers import add_channel, at, user_row

CG = "410325100"
INBOX, SETTINGS, SCHEDULER = (
    "emergency/ui/inbox_page.py",
    "emergency/ui/settings_page.py",
    "emergency/ui/scheduler_page.py",
)


def sidebar_text(at_) -> str:
    return "\n".join(m.value for m in at_.sidebar.markdown)


def test_the_inbox_shows_the_townships_reminders_to_its_operator_only(app, scratch_db):
    db = scratch_db
    reminders.sweep(db, at("2026-11-25 07:30"))
    own = db.scalar("SELECT count(*) FROM notifications WHERE township_code = ?", [CG])
    assert 0 < own < db.scalar("SELECT count(*) FROM notifications")
    page = app(INBOX, as_user="town100", db=db)
    assert page.title[0].value == "消息"
    frame = page.dataframe[0].value
    assert len(frame) == own and set(frame["接收方"]) == {"城关镇"} and set(frame["状态"]) == {"未读"}
    other = db.scalar("SELECT title FROM notifications WHERE township_code = '410325109' LIMIT 1")
    assert other not in frame["标题"].tolist()
    assert f"未读消息 **{own}** 条" in sidebar_text(page)
    page.button[1].click().run()  # 全部标为已读
    assert not page.exception
    assert reminders.unread_count(db, user_row(db, "town100")) == 0
    assert set(page.dataframe[0].value["状态"]) == {"已读"} and "没有未读消息" in sidebar_text(page)
    # the bureau's messages go to the viewer, not to the township
    leader = app(INBOX, as_user="leader", db=db)
    assert set(leader.dataframe[0].value["接收方"]) == {"县应急管理局"}


def test_settings_page_adds_a_channel_and_never_shows_its_secret(app, scratch_db):
    db = scratch_db
    page = app(SETTINGS, db=db)
    assert [s.value for s in page.subheader] == ["提醒参数", "邮件服务器（SMTP）", "接收渠道"]
    secret = "SECabcdef0123456789abcdef0123456789"
    recipient = [s for s in page.selectbox if s.label == "接收方"][0]
    kind = [s for s in page.selectbox if s.label == "类型"][0]
    recipient.set_value("城关镇")
    kind.set_value("dingtalk")
    [t for t in page.text_input if t.label.startswith("地址")][0].input(
        "https://oapi.dingtalk.com/robot/send?access_token=tok0123456789abcdef"
    )
    [t for t in page.text_input if t.label.startswith("加签密钥")][0].input(secret)
    [b for b in page.button if b.label == "新增"][0].click().run()
    assert not page.exception
    assert db.scalar("SELECT count(*) FROM channels WHERE township_code = ? AND secret = ?", [CG, secret]) == 1
    page = app(SETTINGS, db=db)
    cells = page.dataframe[0].value.to_csv()
    assert "城关镇" in cells and secret not in cells and "tok0123456789abcdef" not in cells
    # the validation message names the field
    [t for t in page.text_input if t.label.startswith("地址")][0].input("not-an-address")
    [b for b in page.button if b.label == "新增"][0].click().run()
    assert any("地址" in e.value for e in page.error)


def test_settings_and_scheduler_pages_are_for_admins_only():
    from emergency.ui import nav

    titles = [s.title for specs in nav.pages_for("township").values() for s in specs]
    assert "消息" in titles and "提醒设置" not in titles and "定时任务" not in titles
    assert {"消息", "提醒设置", "定时任务"} <= {s.title for specs in nav.pages_for("admin").values() for s in specs}


def test_scheduler_page_shows_jobs_outbox_and_failures(app, scratch_db):
    db = scratch_db
    channel = add_channel(db, None, "wecom", "http://127.0.0.1:9/unreachable?key=secret-key-value-1")
    reminders.save_settings(db, user_row(db, "admin"), {"max_attempts": 1})
    reminders.sweep(db, at("2026-11-25 07:30"))
    channels.deliver(db, at("2026-11-25 08:00"), limit=3)
    failed = db.scalar("SELECT count(*) FROM deliveries WHERE status = 'failed' AND channel_id = ?", [channel])
    assert failed == 3
    page = app(SCHEDULER, db=db)
    assert page.title[0].value == "定时任务"
    assert any("EMERGENCY_SCHEDULER=off" in w.value for w in page.warning)  # off in tests (tests/conftest.py)
    jobs = page.dataframe[0].value
    assert list(jobs["任务"]) == [
        "每日提醒扫描（07:30）",
        "发送消息（每分钟）",
        "叫应升级（每分钟）",
        "夜间备份数据库（02:30）",
    ]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["发送失败"] == "3"
    assert any("3 条消息多次重试后仍发送失败" in e.value for e in page.error)
    assert "secret-key-value-1" not in "\n".join(d.value.to_csv() for d in page.dataframe)
    assert any("3 条消息发送失败" in w.value for w in page.sidebar.warning)
