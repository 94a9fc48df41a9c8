"""Delivery through real local servers: retries with backoff, permanent failure, DingTalk signature,
SMTP e-mail, quiet hours, masking, a hanging robot that must not hold the other channels, two
deliveries at once, and a process killed between creating and delivering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from emergency import auth
from emergency.db import Database
from emergency.notify import channels, reminders
from emergency.setup import initialise
from tests.helpers import (
    HangingServer,
    UnreachableServer,
    add_channel,
    add_corrective_action,
    add_planned_drill,
    add_roll_call,
    at,
    user_row,
)

ROOT = Path(__file__).resolve().parent.parent
CG, FP = "410325100", "410325109"
NOW = at("2025-03-14 09:00")  # a Friday


@pytest.fixture
def hanging():
    server = HangingServer()
    yield server
    server.close()


@pytest.fixture
def unreachable():
    server = UnreachableServer()
    yield server
    server.close()


def _one_notification(db, township_code, channel_id_address, kind="wecom", secret=None, due=date(2025, 3, 20)):
    """A baseline sweep first (so the many reminders of a fresh county get no deliveries), then a channel
    and one new subject: its reminder is the only pending delivery."""
    reminders.sweep(db, NOW)
    channel = add_channel(db, township_code, kind, channel_id_address, secret)
    drill = add_planned_drill(db, township_code, due, "森林防火演练")
    (created,) = reminders.sweep(db, NOW)
    assert created.subject_id == str(drill)
    delivery = db.scalar("SELECT id FROM deliveries WHERE channel_id = ?", [channel])
    return channel, delivery


def _attempts(db, delivery):
    return [ok for (ok,) in db.query("SELECT ok FROM delivery_attempts WHERE delivery_id = ? ORDER BY id", [delivery])]


def test_a_channel_that_fails_twice_then_succeeds_delivers_once_with_three_attempts(fresh_db, robot):
    db = fresh_db
    _, delivery = _one_notification(db, CG, robot.url + "/cgi-bin/webhook/send?key=wecom-key-123")
    robot.fail_next = 2
    assert [e[0] for e in channels.deliver(db, NOW)["retry"]] == [delivery]
    state = db.query_dicts("SELECT * FROM deliveries WHERE id = ?", [delivery])[0]
    assert state["status"] == "pending" and state["attempts"] == 1 and "HTTP 500" in state["last_error"]
    assert state["next_attempt_at"] == NOW + timedelta(seconds=60)  # backoff: base
    assert channels.deliver(db, NOW + timedelta(seconds=30)) == {
        "sent": [],
        "retry": [],
        "failed": [],
        "held": [],
        "quiet": 0,
    }
    second = NOW + timedelta(seconds=61)
    assert channels.deliver(db, second)["retry"]
    assert db.scalar("SELECT next_attempt_at FROM deliveries WHERE id = ?", [delivery]) == second + timedelta(
        seconds=120
    )
    assert channels.deliver(db, second + timedelta(seconds=121))["sent"]
    for later in (timedelta(minutes=10), timedelta(days=2)):  # never sent again
        assert not channels.deliver(db, NOW + later)["sent"]
    assert len(robot.requests) == 3 and len(robot.accepted) == 1
    assert robot.accepted[0]["json"]["msgtype"] == "text"
    assert "森林防火演练" in robot.accepted[0]["json"]["text"]["content"]
    assert _attempts(db, delivery) == [False, False, True]
    state = db.query_dicts("SELECT * FROM deliveries WHERE id = ?", [delivery])[0]
    assert state["status"] == "sent" and state["attempts"] == 3 and state["delivered_at"] is not None


def test_after_max_attempts_the_delivery_fails_and_is_shown_with_a_masked_address(scratch_db, robot):
    db = scratch_db
    admin = user_row(db, "admin")
    reminders.save_settings(db, admin, {"max_attempts": 3, "retry_base_seconds": 10})
    _, delivery = _one_notification(db, FP, robot.url + "/cgi-bin/webhook/send?key=wecom-secret-token-987")
    robot.fail_next = 100
    moment = NOW
    for _ in range(3):
        moment += timedelta(hours=1)
        channels.deliver(db, moment)
    assert _attempts(db, delivery) == [False, False, False]
    assert db.scalar("SELECT status FROM deliveries WHERE id = ?", [delivery]) == "failed"
    assert not channels.deliver(db, moment + timedelta(days=1))["retry"] and len(robot.requests) == 3
    (failure,) = channels.failures(db)
    assert failure["id"] == delivery and "wecom-secret-token-987" not in failure["address"]
    assert channels.failed_count(db) == 1
    with pytest.raises(auth.PermissionDenied):
        channels.retry_failed(db, user_row(db, "town109"), delivery)
    channels.retry_failed(db, admin, delivery)
    robot.fail_next = 0
    assert channels.deliver(db, moment + timedelta(days=1))["sent"] and channels.failed_count(db) == 0


def test_dingtalk_messages_are_signed_and_the_server_verifies_the_signature(fresh_db, robot):
    db = fresh_db
    url = robot.url + "/dingtalk/robot/send?access_token=dt-token-abc"
    good_channel, _ = _one_notification(db, CG, url, kind="dingtalk", secret=robot.dingtalk_secret)
    bad_channel = add_channel(db, CG, "dingtalk", url, "SECwrong-secret-000000")
    add_planned_drill(db, CG, date(2025, 3, 19), "地震应急演练")
    reminders.sweep(db, NOW)
    result = channels.deliver(db, NOW)
    good = [i for (i,) in db.query("SELECT id FROM deliveries WHERE channel_id = ? ORDER BY id", [good_channel])]
    assert [e[0] for e in result["sent"]] == good and len(good) == 2
    (retry,) = result["retry"]
    assert "310000" in retry[3]
    signed = robot.accepted[0]
    assert signed["query"]["access_token"] == "dt-token-abc" and robot.signature_ok(signed["query"])
    assert abs(int(signed["query"]["timestamp"]) / 1000 - __import__("time").time()) < 60
    # the wrong secret was refused by the server, and the delivery waits for a retry
    assert db.scalar("SELECT status FROM deliveries WHERE channel_id = ?", [bad_channel]) == "pending"


def test_email_is_sent_through_a_real_smtp_server(fresh_db, mail):
    db = fresh_db
    channels.save_smtp_settings(
        db, auth.SYSTEM, {"host": "127.0.0.1", "port": mail.port, "sender": "yjj@songxian.gov.cn"}
    )
    _, delivery = _one_notification(db, CG, "chengguan@songxian.gov.cn", kind="email")
    assert channels.deliver(db, NOW)["sent"]
    (received,) = mail.messages
    assert received["to"] == ["chengguan@songxian.gov.cn"]
    assert received["message"]["Subject"].startswith("【演练临近】演练临近：森林防火演练")
    assert "yjj@songxian.gov.cn" in received["message"]["From"]
    assert "2025年03月20日" in received["message"].get_content()
    assert _attempts(db, delivery) == [True]


def test_email_without_a_mail_server_is_a_recorded_failure(fresh_db):
    db = fresh_db
    _, delivery = _one_notification(db, CG, "chengguan@songxian.gov.cn", kind="email")
    assert "未配置邮件服务器" in channels.deliver(db, NOW)["retry"][0][3]
    assert _attempts(db, delivery) == [False]


def test_quiet_hours_hold_non_urgent_messages_but_not_escalations(fresh_db, robot):
    db = fresh_db
    _, delivery = _one_notification(db, None, robot.url + "/wecom?key=k")
    add_roll_call(db, FP, at("2025-03-14 21:00"))
    night = at("2025-03-14 23:00")
    (escalation,) = reminders.sweep(db, night)
    result = channels.deliver(db, night)
    assert result["quiet"] == 1 and len(result["sent"]) == 1 and "点名未应答" in result["sent"][0][2]
    assert db.scalar("SELECT status FROM deliveries WHERE id = ?", [delivery]) == "pending"
    assert channels.deliver(db, at("2025-03-15 07:00"))["sent"][0][0] == delivery


def test_a_deactivated_channel_sends_nothing(fresh_db, robot):
    db = fresh_db
    channel, delivery = _one_notification(db, CG, robot.url + "/wecom?key=k")
    channels.update_channel(db, auth.SYSTEM, channel, is_active=False)
    result = channels.deliver(db, NOW)
    assert result["failed"][0][3] == "渠道已停用" and robot.requests == []


def _queue_behind_a_stuck_robot(db, stuck_url, healthy_url, count=19):
    """The bureau's robot (stuck_url) has `count` urgent escalations pending, first in the outbox;
    township FP's robot (healthy_url) one drill reminder, last. Returns (stuck, healthy) channel ids."""
    reminders.sweep(db, NOW)
    stuck = add_channel(db, None, "wecom", stuck_url + "/cgi-bin/webhook/send?key=stuck")
    healthy = add_channel(db, FP, "wecom", healthy_url + "/cgi-bin/webhook/send?key=fp")
    for minutes in range(count):
        add_roll_call(db, CG, NOW - timedelta(hours=2, minutes=minutes))
    add_planned_drill(db, FP, date(2025, 3, 20), "森林防火演练")
    assert len(reminders.sweep(db, NOW)) == count + 1
    return stuck, healthy


def test_a_hanging_robot_does_not_hold_another_townships_message(fresh_db, robot, hanging):
    db = fresh_db
    _, healthy = _queue_behind_a_stuck_robot(db, hanging.url, robot.url)
    started = time.monotonic()
    result = channels.deliver(db, NOW)
    (received,) = robot.accepted
    waited = received["at"] - started
    print(f"healthy delivery after {waited:.2f} s, the pass took {time.monotonic() - started:.2f} s")
    assert waited < 5, f"the healthy township's message waited {waited:.1f} s behind the hanging robot"
    assert "森林防火演练" in received["json"]["text"]["content"]
    assert [e[0] for e in result["sent"]] == [db.scalar("SELECT id FROM deliveries WHERE channel_id = ?", [healthy])]
    assert hanging.connections == 1  # the hanging robot was tried once, not once per message


def test_a_robot_that_times_out_is_backed_off_as_a_whole(fresh_db, robot, unreachable):
    db = fresh_db
    stuck, _ = _queue_behind_a_stuck_robot(db, unreachable.url, robot.url)
    started = time.monotonic()
    result = channels.deliver(db, NOW)
    elapsed = time.monotonic() - started
    # one connect timeout (3 s): not the read timeout (10 s), and not one timeout per pending message
    assert elapsed < 6, f"the pass took {elapsed:.1f} s"
    rows = db.query_dicts(
        "SELECT d.id, d.attempts, d.next_attempt_at, d.last_error,"
        " (SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = d.id) AS tries"
        " FROM deliveries d WHERE d.channel_id = ? ORDER BY d.id",
        [stuck],
    )
    (tried,) = [r for r in rows if r["tries"]]
    assert len(rows) == 19 and tried["attempts"] == 1 and "超时" in tried["last_error"]
    assert sum(r["attempts"] for r in rows) == 1  # the others were not tried...
    assert {r["next_attempt_at"] for r in rows} == {NOW + timedelta(seconds=60)}  # ...but wait with it
    assert len(result["sent"]) == 1 and len(result["retry"]) == 19
    assert not any(channels.deliver(db, NOW + timedelta(seconds=30)).values())  # still backed off


def test_a_robot_or_mail_server_that_never_answers_is_a_timeout(hanging):
    with pytest.raises(channels.SendTimeout, match="应答超时"):
        channels.send_wecom(hanging.url + "/cgi-bin/webhook/send?key=k", "测试", timeout=1)
    smtp = {"host": "127.0.0.1", "port": hanging.port, "sender": "yjj@songxian.gov.cn"}
    with pytest.raises(channels.SendTimeout, match="邮件服务器超时"):
        channels.send_email(smtp, "chengguan@songxian.gov.cn", "测试", "测试", timeout=1)


def test_urgent_messages_go_first_within_a_channel(fresh_db, robot):
    db = fresh_db
    reminders.sweep(db, NOW)
    add_channel(db, None, "wecom", robot.url + "/wecom?key=bureau")
    add_planned_drill(db, None, date(2025, 3, 20), "县级防汛演练")
    assert len(reminders.sweep(db, NOW)) == 1  # the ordinary reminder is first in the outbox,
    add_roll_call(db, CG, NOW - timedelta(hours=1))
    assert len(reminders.sweep(db, NOW)) == 1  # the escalation after it
    assert len(channels.deliver(db, NOW)["sent"]) == 2
    assert [r["json"]["text"]["content"].split("】")[0] for r in robot.accepted] == ["【点名未应答", "【演练临近"]


def test_two_deliveries_at_once_send_every_message_exactly_once(fresh_db, robot):
    db = fresh_db
    reminders.sweep(db, NOW)
    for code in (CG, FP, "410325101", "410325102"):
        add_channel(db, code, "wecom", robot.url + f"/wecom?key={code}")
        for n in range(8):
            add_planned_drill(db, code, date(2025, 3, 20), f"演练{code}-{n}")
    assert len(reminders.sweep(db, NOW)) == 32
    robot.delay = 0.05  # each pass is still sending while the other one claims
    barrier, results = threading.Barrier(2), []

    def run():
        barrier.wait()
        results.append(channels.deliver(db, NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    sent = sorted(e[0] for result in results for e in result["sent"])
    assert sent == sorted(i for (i,) in db.query("SELECT id FROM deliveries"))  # each by one pass, once
    # routine reminders reach a robot as digests: every drill is named in exactly one message
    contents = [(r["json"].get("text") or r["json"]["markdown"])["content"] for r in robot.requests]
    for code in (CG, FP, "410325101", "410325102"):
        for n in range(8):
            assert sum(f"演练{code}-{n}（" in text for text in contents) == 1
    assert len(contents) <= 8  # at most one digest per township and pass
    assert db.scalar("SELECT count(*) FROM delivery_attempts") == 32
    assert db.query("SELECT DISTINCT status, attempts FROM deliveries") == [("sent", 1)]


def test_a_pass_that_wins_one_row_of_a_digest_sends_that_row_not_the_digests_first(fresh_db, robot):
    """Two passes split one township's digest: the pass left with a single row sends that row's own
    reminder (it once sent the digest's first row, which the other pass had, so one drill was named
    twice and another never)."""
    db = fresh_db
    reminders.sweep(db, NOW)
    add_channel(db, CG, "wecom", robot.url + "/wecom?key=cg")
    for n in range(3):
        add_planned_drill(db, CG, date(2025, 3, 20), f"演练{n}")
    assert len(reminders.sweep(db, NOW)) == 3
    first, second, third = [i for (i,) in db.query("SELECT id FROM deliveries ORDER BY id")]
    queue = db.query_dicts(  # the queue as a pass read it, before the other pass claimed two of its rows
        "SELECT d.id, d.attempts, c.id AS channel_id, c.kind AS channel_kind, c.address, c.secret, n.kind,"
        " n.title, n.body, n.created_at, '城关镇' AS township_name, FALSE AS urgent FROM deliveries d"
        " JOIN channels c ON c.id = d.channel_id JOIN notifications n ON n.id = d.notification_id ORDER BY d.id"
    )
    assert len(channels.robot_messages(queue)) == 1  # one digest of three
    assert channels._claim(db, first, NOW) and channels._claim(db, second, NOW)  # the other pass's
    out = channels._deliver_channel(db, queue, NOW, {}, channels.get_settings(db), channels.send)
    assert [e[0] for e in out["sent"]] == [third]
    (message,) = robot.accepted
    assert "演练2" in message["json"]["text"]["content"] and "演练0" not in message["json"]["text"]["content"]


def test_channels_are_admin_only_validated_and_their_secrets_masked(scratch_db):
    db = scratch_db
    admin, town = user_row(db, "admin"), user_row(db, "town100")
    token, secret = "0123456789abcdef0123456789abcdef", "SEC9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    cid = channels.add_channel(
        db, admin, CG, "dingtalk", f"https://oapi.dingtalk.com/robot/send?access_token={token}", secret
    )
    (row,) = [r for r in channels.list_channels(db) if r["id"] == cid]
    assert token not in row["address"] and secret not in row["secret"] and row["secret"].startswith("SEC")
    logged = db.scalar("SELECT string_agg(CAST(after AS VARCHAR), ' ') FROM audit_log WHERE table_name = 'channels'")
    assert token not in logged and secret not in logged
    channels.update_channel(db, admin, cid, address="", secret="")  # empty keeps the stored values
    assert db.scalar("SELECT secret FROM channels WHERE id = ?", [cid]) == secret
    with pytest.raises(auth.PermissionDenied):
        channels.add_channel(db, town, CG, "email", "a@b.cn")
    with pytest.raises(ValueError, match="地址"):
        channels.add_channel(db, admin, CG, "wecom", "ftp://example.com/hook")
    with pytest.raises(ValueError, match="加签密钥"):
        channels.add_channel(db, admin, CG, "wecom", "https://qyapi.weixin.qq.com/x?key=1", "SECx")
    channels.save_smtp_settings(
        db,
        admin,
        {"host": "smtp.example.cn", "port": 587, "sender": "a@b.cn", "username": "u", "password": "pw-very-secret-1"},
    )
    assert "pw-very-secret-1" not in str(channels.smtp_settings_masked(db))
    channels.save_smtp_settings(db, admin, {"host": "smtp.example.cn", "port": 587, "sender": "a@b.cn", "password": ""})
    assert channels.smtp_settings(db)["password"] == "pw-very-secret-1"


def test_dingtalk_signature_matches_the_documented_algorithm():
    # Python code from DingTalk's documentation, computed independently here.
    import base64
    import hashlib
    import hmac
    import urllib.parse

    secret, timestamp = "SEC000000000000000000000", 1700000000000
    expected = urllib.parse.quote_plus(
        base64.b64encode(
            hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256).digest()
        )
    )
    assert channels.sign_dingtalk(secret, timestamp) == expected


KILLED_AFTER_CREATING = """
import sys, time
from emergency.db import Database
from emergency.notify import channels, reminders
from tests.helpers import at
db = Database(sys.argv[1])
created = reminders.sweep(db, at(sys.argv[2]))
if sys.argv[3] == "claim":
    pending = [i for (i,) in db.query("SELECT id FROM deliveries WHERE status = 'pending'")]
    assert all(channels._claim(db, i, at(sys.argv[2])) for i in pending)
print("READY", len(created), flush=True)
time.sleep(120)
"""


def _run_and_kill(path: Path, now: str, mode: str) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_AFTER_CREATING, str(path), now, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    line = proc.stdout.readline()
    assert line.startswith("READY"), line + proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return int(line.split()[1])


def test_a_process_killed_after_creating_and_before_delivering_delivers_once_after_restart(tmp_path, robot):
    path = tmp_path / "killed.duckdb"
    db = Database(path)
    initialise(db)
    reminders.sweep(db, NOW)  # the fresh county's reminders, before any channel exists
    add_channel(db, CG, "wecom", robot.url + "/wecom?key=k1")
    add_planned_drill(db, CG, date(2025, 3, 20), "危化品泄漏演练")
    add_corrective_action(db, CG, date(2025, 3, 12), "应急物资不足")
    db.close()

    # 1. killed after the sweep committed, before any delivery
    assert _run_and_kill(path, "2025-03-14 09:00", "none") == 2
    db = Database(path)
    assert db.scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'") == 2
    assert len(channels.deliver(db, NOW + timedelta(minutes=1))["sent"]) == 2
    assert not channels.deliver(db, NOW + timedelta(minutes=2))["sent"]
    # the two reminders of one sweep reach the robot as one digest naming both
    (digest,) = robot.accepted
    titles = [
        n["title"]
        for n in db.query_dicts(
            "SELECT title FROM notifications n WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id)"
        )
    ]
    assert len(titles) == 2 and all(t in digest["json"]["markdown"]["content"] for t in titles)
    add_planned_drill(db, CG, date(2025, 3, 21), "消防疏散演练")
    db.close()

    # 2. killed after claiming the delivery (lease committed), before sending it
    assert _run_and_kill(path, "2025-03-14 10:00", "claim") == 1
    db = Database(path)
    try:
        assert not channels.deliver(db, at("2025-03-14 10:01"))["sent"]  # the lease (5 min) still holds
        assert len(channels.deliver(db, at("2025-03-14 10:06"))["sent"]) == 1
        assert not channels.deliver(db, at("2025-03-14 11:00"))["sent"]
        assert len(robot.accepted) == 2 and "消防疏散演练" in robot.accepted[1]["json"]["text"]["content"]
        assert db.scalar("SELECT count(*) FROM delivery_attempts") == 3
    finally:
        db.close()
