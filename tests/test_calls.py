"""叫应 (emergency/calls.py) against real local servers: a red warning delivered at once to step 1
(SMTP e-mail, an SMS gateway and a group robot on local HTTP servers, no sweep); escalation before
and after the limit; personal single-use expiring tokens; the command line's contracts; the robots'
limits (digest, urgent first, rate, throttling answers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from emergency import auth, calls, linkage
from emergency.db import Database
from emergency.notify import channels, personal, reminders
from emergency.setup import initialise
from tests.helpers import ROOT, MailServer, RobotServer, add_channel, add_planned_drill, at, user_row

CG = "410325100"
T = at("2025-07-20 22:00")  # a red warning at night: no morning sweep involved
SECRET = "SECtest-secret-0123456789"


def village_of(db) -> str:
    return db.scalar("SELECT code FROM villages WHERE township_code = ? AND NOT is_virtual ORDER BY code", [CG])


PEOPLE = [  # role, at the village?, phone, e-mail
    ("station_head", False, "13800000001", "zhan@example.cn"),
    ("duty_room", False, "037966000001", None),
    ("party_head", False, "13800000003", "shuji@example.cn"),
    ("village_head", True, "13800000004", None),
    ("info_officer_a", True, "13800000005", "xinxi@example.cn"),
    ("village_cadre", True, "13800000006", None),
]
NAMES = {
    "station_head": "王站长",
    "duty_room": "值班室",
    "party_head": "李书记",
    "village_head": "赵支书",
    "info_officer_a": "钱信息",
    "village_cadre": "孙包村",
}


def county(db, mail: MailServer | None = None, robot: RobotServer | None = None) -> str:
    """城关镇 with its 叫应 people, the mail server, an SMS gateway and the township's robot."""
    village = village_of(db)
    for role, at_village, phone, email in PEOPLE:
        linkage.add_contact(
            db,
            auth.SYSTEM,
            {
                "township_code": CG,
                "village_code": village if at_village else None,
                "role": role,
                "name": NAMES[role],
                "phone": phone,
                "email": email,
                "active_from": date(2024, 1, 1),
            },
        )
    if mail:
        channels.save_smtp_settings(
            db, auth.SYSTEM, {"host": "127.0.0.1", "port": mail.port, "sender": "duty@example.cn"}
        )
    if robot:
        personal.add_gateway(db, auth.SYSTEM, "sms", robot.url + "/sms")
        add_channel(db, CG, "dingtalk", robot.url + "/dingtalk/robot/send?access_token=cg", SECRET)
    return village


def red_warning(db, village: str, now=T, **kwargs):
    return calls.issue(
        db,
        auth.SYSTEM,
        level=1,
        hazard="暴雨",
        title="嵩县气象台发布暴雨红色预警",
        township_codes=[CG],
        village_codes=[village],
        now=now,
        **kwargs,
    )


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


# Pure rules -------------------------------------------------------------------------------------------
def row(i, ack, person, step, attempt=1, minutes=0, limit=10, answered=False):
    return calls.CallRow(i, ack, person, step, attempt, T + timedelta(minutes=minutes), limit, answered)


@pytest.mark.parametrize(
    "rows, later, expected",
    [
        ([row(1, 7, "a", 1)], 9, []),  # before the limit: nothing
        ([row(1, 7, "a", 1)], 10, [("recall", 7, 1, 1), ("push", 7, 2, None)]),
        ([row(1, 7, "a", 1, answered=True)], 30, []),  # answered: stops
        # one of two answered: the other is called again, the place is reached (no next step)
        ([row(1, 7, "a", 1, answered=True), row(2, 7, "b", 1)], 10, [("recall", 7, 1, 2)]),
        # called again already, next step pushed at 10: nothing until step 2's limit
        ([row(1, 7, "a", 1), row(2, 7, "a", 1, attempt=2, minutes=10), row(3, 7, "c", 2, minutes=10)], 19, []),
        (
            [row(1, 7, "a", 1), row(2, 7, "a", 1, attempt=2, minutes=10), row(3, 7, "c", 2, minutes=10, limit=5)],
            15,
            [("recall", 7, 2, 3), ("push", 7, 3, None)],
        ),
        ([row(1, 7, "a", 1), row(2, 7, "a", 1, attempt=2), row(3, 7, "县", 3, limit=None)], 600, []),  # county told
        ([row(1, 7, "a", 1, limit=30)], 20, []),  # the step's own limit
    ],
)
def test_escalation_actions(rows, later, expected):
    actions = calls.escalation_actions(rows, T + timedelta(minutes=later))
    assert [(a.kind, a.ack_id, a.step, a.call_id) for a in actions] == expected


@pytest.mark.parametrize(
    "text",
    [
        "tok_EN-123",
        "http://127.0.0.1:8501/ack?token=tok_EN-123",
        "https://yj.example.cn/app/ack?x=1&token=tok_EN-123",
        "https://yj.example.cn/ack/tok_EN-123",
        "  https://yj.example.cn/ack/tok_EN-123/ ",
    ],
)
def test_token_from_an_url_its_last_segment_or_its_parameter(text):
    assert calls.token_from(text) == "tok_EN-123"


def test_a_token_never_starts_like_a_command_line_option():
    # CI once drew a token starting with "-": `python -m emergency ack TOKEN` then failed with
    # "the following arguments are required". Before the fix, 3,000 draws hold one with p > 1 - 1e-20.
    tokens = [calls.new_token() for _ in range(3000)]
    assert all(t[0].isalnum() and len(t) == 32 for t in tokens)
    assert len(set(tokens)) == 3000


@pytest.mark.parametrize(
    "steps, village, problem",
    [
        ([{"roles": ["station_head"], "limit_minutes": 10}], None, None),
        ([], None, "叫应链"),
        ([{"roles": [], "limit_minutes": 10}], None, "第1步"),
        ([{"roles": ["info_officer_a"], "limit_minutes": 10}], None, "第1步"),  # a village role in a township chain
        ([{"roles": ["info_officer_a", "station_head"], "limit_minutes": 5}], "v", None),
        ([{"roles": ["station_head"], "limit_minutes": 0}], None, "第1步限时（分钟）"),
        (
            [{"roles": ["station_head"], "limit_minutes": 10}, {"roles": ["party_head"], "limit_minutes": "x"}],
            None,
            "第2步限时",
        ),
    ],
)
def test_chain_problems(steps, village, problem):
    problems = calls.chain_problems(steps, village)
    assert (any(p.field.startswith(problem) for p in problems)) if problem else problems == []


def test_chains_are_admin_edited_and_audited(scratch_db):
    db = scratch_db
    admin, town = user_row(db, "admin"), user_row(db, "town100")
    assert calls.chain(db, CG) == calls.DEFAULT_TOWNSHIP_CHAIN
    steps = [
        {"roles": ["duty_room"], "limit_minutes": 5},
        {"roles": ["station_head", "party_head"], "limit_minutes": 8},
    ]
    with pytest.raises(auth.PermissionDenied):
        calls.set_chain(db, town, CG, None, steps)
    with pytest.raises(ValueError, match="限时"):
        calls.set_chain(db, admin, CG, None, [{"roles": ["duty_room"], "limit_minutes": 0}])
    calls.set_chain(db, admin, CG, None, steps)
    assert calls.chain(db, CG) == (calls.Step(1, ("duty_room",), 5), calls.Step(2, ("station_head", "party_head"), 8))
    assert "第1步 乡镇值班室（5分钟） → 第2步" in calls.chain_text(calls.chain(db, CG))
    village = village_of(db)
    assert calls.chain(db, CG, village) == calls.DEFAULT_VILLAGE_CHAIN  # the village keeps its own
    audit = db.query_dicts("SELECT after FROM audit_log WHERE table_name = 'call_chain_steps' ORDER BY id")
    assert len(audit) == 1 and "duty_room/5分钟" in audit[0]["after"]
    calls.set_chain(db, admin, CG, None, None)
    assert calls.chain(db, CG) == calls.DEFAULT_TOWNSHIP_CHAIN


# Issue: pushed at once ---------------------------------------------------------------------------------
def test_a_red_warning_is_delivered_to_step_1_at_once(fresh_db, mail, robot):
    db = fresh_db
    village = county(db, mail, robot)
    started = time.monotonic()
    result = red_warning(db, village)
    first = min([r["at"] for r in robot.requests])
    elapsed = time.monotonic() - started
    step1 = {(r["role_code"], r["step"]) for r in result["recipients"]}
    assert step1 == {("station_head", 1), ("duty_room", 1), ("village_head", 1), ("info_officer_a", 1)}
    # delivered before issue() returned: no sweep, no scheduler
    assert sorted(m["to"][0] for m in mail.messages) == ["xinxi@example.cn", "zhan@example.cn"]
    sms = [r["json"] for r in robot.requests if r["path"] == "/sms"]
    assert sorted(s["phone"] for s in sms) == ["037966000001", "13800000001", "13800000004", "13800000005"]
    group = [r for r in robot.accepted if r["path"].startswith("/dingtalk")]
    assert len(group) == 1 and "暴雨红色预警" in group[0]["json"]["text"]["content"]  # one robot message per township
    for person in result["recipients"]:  # each message carries that person's own link
        text = next(s["text"] for s in sms if s["phone"] == PEOPLE_BY_ROLE[person["role_code"]])
        assert person["ack_url"] in text and person["ack_url"].startswith("http")
    body = next(m["message"] for m in mail.messages if m["to"] == ["zhan@example.cn"]).get_content()
    assert "王站长" in body and "/ack?token=" in body
    # only the hashes are stored, and the outbox copy of the text is gone once sent
    tokens = [calls.token_from(r["ack_url"]) for r in result["recipients"]]
    stored = {h for (h,) in db.query("SELECT token_hash FROM warning_calls")}
    assert stored == {calls.token_hash(t) for t in tokens} and not stored & set(tokens)
    assert db.scalar("SELECT count(*) FROM call_messages WHERE body_cipher IS NOT NULL") == 0
    assert db.scalar("SELECT count(*) FROM call_messages WHERE status = 'sent'") == 6
    inbox = reminders.inbox(db, user_for_township(db))
    assert [n["kind"] for n in inbox] == ["warning_call"] and "赵支书" in inbox[0]["body"]
    print(
        f"issue -> first delivery on the local servers: {(first - started) * 1000:.0f} ms (issue total {elapsed * 1000:.0f} ms)"
    )
    assert first - started < 5


PEOPLE_BY_ROLE = {role: phone for role, _, phone, _ in PEOPLE}


def user_for_township(db):
    return auth.User(None, "town-test", "测试", "township", CG)


def test_escalate_before_the_limit_does_nothing_after_it_calls_again_and_pushes_step_2(fresh_db, mail, robot):
    db = fresh_db
    village = county(db, mail, robot)
    red_warning(db, village)
    robot.requests.clear()
    assert calls.escalate(db, T + timedelta(minutes=9, seconds=59)) == []
    done = calls.escalate(db, T + timedelta(minutes=10))
    got = sorted((d["action"], d["step"], d["name"]) for d in done)
    assert got == [
        ("push", 2, "孙包村"),
        ("push", 2, "李书记"),
        ("recall", 1, "值班室"),
        ("recall", 1, "王站长"),
        ("recall", 1, "赵支书"),
        ("recall", 1, "钱信息"),
    ]
    texts = [r["json"]["text"] for r in robot.requests if r["path"] == "/sms"]
    assert sum(t.startswith("【再次叫应】") for t in texts) == 4 and len(texts) == 6  # delivered at once too
    assert calls.escalate(db, T + timedelta(minutes=15)) == []  # called again once only
    assert db.scalar("SELECT count(*) FROM warning_acks WHERE escalated_at = ?", [T + timedelta(minutes=10)]) == 2
    last = calls.escalate(db, T + timedelta(minutes=20))
    assert sorted((d["action"], d["step"], d["name"]) for d in last) == [
        ("push", 3, "县应急值班室"),
        ("push", 3, "县应急值班室"),
        ("recall", 2, "孙包村"),
        ("recall", 2, "李书记"),
    ]
    assert calls.escalate(db, T + timedelta(hours=3)) == []  # the county duty office told: the chain is done
    county_inbox = reminders.inbox(db, auth.SYSTEM)
    assert any(n["kind"] == "warning_escalated" and "已报县应急值班室" in n["title"] for n in county_inbox)
    steps = db.query("SELECT step, attempt, count(*) FROM warning_calls GROUP BY ALL ORDER BY ALL")
    assert steps == [(1, 1, 4), (1, 2, 4), (2, 1, 2), (2, 2, 2), (3, 1, 2)]  # every step recorded


def test_an_answer_stops_that_persons_escalation_and_tokens_are_single_use_and_expire(fresh_db):
    db = fresh_db
    village = county(db)
    result = red_warning(db, village, deliver=False)
    by_role = {r["role_code"]: r for r in result["recipients"]}
    head = by_role["station_head"]
    answered = calls.acknowledge(db, head["ack_url"], action="到岗值守", now=T + timedelta(minutes=3))
    assert answered["name"] == "王站长"
    ack = db.query_dicts(
        "SELECT acknowledged_at, acknowledged_by FROM warning_acks WHERE township_code = ? AND village_code IS NULL",
        [CG],
    )[0]
    assert ack == {"acknowledged_at": T + timedelta(minutes=3), "acknowledged_by": "王站长"}
    with pytest.raises(calls.AckRefused, match="已使用"):
        calls.acknowledge(db, head["ack_url"], now=T + timedelta(minutes=4))
    with pytest.raises(calls.AckRefused, match="无效"):
        calls.lookup(db, "not-a-token", T)
    done = calls.escalate(db, T + timedelta(minutes=10))
    names = {(d["name"], d["action"]) for d in done}
    assert ("王站长", "recall") not in names  # answered: not called again
    assert ("值班室", "recall") in names  # not answered: called again once
    assert ("李书记", "push") not in names  # the township answered: no next step
    assert ("孙包村", "push") in names  # the village did not
    with pytest.raises(calls.AckRefused, match="已过期"):
        calls.acknowledge(db, by_role["duty_room"]["ack_url"], now=T + timedelta(hours=25))
    audit = db.query_dicts("SELECT username FROM audit_log WHERE table_name = 'warning_calls' AND action = 'update'")
    assert [a["username"] for a in audit] == ["ack_link"]


def test_cli_warn_ack_escalate(tmp_path, mail, robot):
    path = tmp_path / "cli.duckdb"
    db = Database(path)
    initialise(db)
    village = county(db, mail, robot)
    village_name = db.scalar("SELECT name FROM villages WHERE code = ?", [village])
    db.close()

    def run(*args):
        env = dict(os.environ, EMERGENCY_PUBLIC_URL="https://yj.example.cn")
        return subprocess.run(
            [sys.executable, "-m", "emergency", *args, "--db", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    out = run(
        "warn",
        "--level",
        "red",
        "--type",
        "暴雨",
        "--title",
        "暴雨红色预警",
        "--township",
        "城关镇",
        "--village",
        village_name,
        "--now",
        "2025-07-20T22:00",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    issued = json.loads(out.stdout)
    assert set(issued) == {"warning_id", "recipients"} and len(issued["recipients"]) == 4
    for r in issued["recipients"]:
        assert {"name", "role", "township", "village", "step", "ack_url"} <= set(r)
        assert (
            r["township"] == "城关镇" and r["step"] == 1 and r["ack_url"].startswith("https://yj.example.cn/ack?token=")
        )
    assert len(mail.messages) == 2  # pushed by the command itself
    urls = {r["role_code"]: r["ack_url"] for r in issued["recipients"]}
    token = calls.token_from(urls["station_head"])
    assert run("ack", urls["station_head"], "--now", "2025-07-20T22:04").returncode == 0  # the whole url
    used = run("ack", token, "--now", "2025-07-20T22:05")
    assert used.returncode == 1 and "已使用" in used.stderr
    segment = "https://yj.example.cn/ack/" + calls.token_from(urls["duty_room"])  # its last path segment
    assert run("ack", segment, "--now", "2025-07-20T22:05").returncode == 0
    out = run("escalate", "--now", "2025-07-20T22:09", "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == []
    out = run("escalate", "--now", "2025-07-20T22:10", "--json")
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    assert {"warning_id", "name", "step"} <= set(done[0])
    assert sorted((d["name"], d["step"], d["action"]) for d in done) == [
        ("孙包村", 2, "push"),
        ("赵支书", 1, "recall"),
        ("钱信息", 1, "recall"),
    ]
    refused = run("warn", "--level", "red", "--type", "暴雨", "--title", " ", "--township", "城关镇")
    assert refused.returncode == 1 and "预警标题" in refused.stderr


def test_sms_gateway_failure_is_retried_by_the_job(fresh_db, mail, robot):
    db = fresh_db
    village = county(db, mail)
    personal.add_gateway(db, auth.SYSTEM, "sms", robot.url + "/sms")
    robot.fail_next = 4  # the gateway fails the first four messages
    red_warning(db, village)
    pending = "SELECT count(*) FROM call_messages WHERE channel = 'sms' AND status = 'pending'"
    assert db.scalar(pending + " AND attempts = 1 AND last_error LIKE '%HTTP 500%'") == 4
    job = calls.escalation_job(db, T + timedelta(minutes=2))  # the every-minute job retries them
    assert sum(m["status"] == "sent" for m in job["retried"]) == 4
    assert db.scalar(pending) == 0 and len(robot.accepted) == 4


# The robots' limits ----------------------------------------------------------------------------------
def backlog(db, count: int, robot: RobotServer, now):
    """`count` routine reminders of one township, pending for its DingTalk robot (one sweep)."""
    reminders.sweep(db, now)  # the fresh county's own reminders, before the robot exists
    channel = add_channel(db, CG, "dingtalk", robot.url + "/dingtalk/robot/send?access_token=cg", SECRET)
    for n in range(count):
        add_planned_drill(db, CG, now.date() + timedelta(days=6), f"防汛演练{n:02d}")
    assert len(reminders.sweep(db, now)) == count
    return channel


def test_30_routine_reminders_reach_the_robot_as_one_digest(fresh_db, robot):
    db = fresh_db
    now = at("2025-03-14 09:00")
    backlog(db, 30, robot, now)
    result = channels.deliver(db, now)
    assert len(result["sent"]) == 30
    (digest,) = robot.accepted
    assert digest["json"]["msgtype"] == "markdown"
    assert all(f"防汛演练{n:02d}" in digest["json"]["markdown"]["text"] for n in range(30))
    assert len(reminders.inbox(db, user_for_township(db))) >= 30  # the inbox keeps them one by one


def test_a_red_warning_issued_while_a_backlog_waits_is_delivered_first(fresh_db, robot):
    db = fresh_db
    now = at("2025-07-21 07:30")
    backlog(db, 30, robot, now)
    village = county(db)
    red_warning(db, village, now=now + timedelta(seconds=5), deliver=False)
    channels.deliver(db, now + timedelta(seconds=10))  # one pass holding both
    first, second = robot.accepted
    assert first["json"]["msgtype"] == "text" and "预警叫应" in first["json"]["text"]["content"]
    assert second["json"]["msgtype"] == "markdown"


def test_a_robot_gets_a_bounded_rate_with_room_for_warnings(fresh_db, robot):
    db = fresh_db
    village = county(db, None, robot)
    for n in range(20):  # twenty warnings in one minute
        red_warning(db, village, now=T + timedelta(seconds=n), deliver=False)
    calls_ = db.scalar("SELECT count(*) FROM deliveries")
    result = channels.deliver(db, T + timedelta(seconds=30))
    assert len(result["sent"]) == channels.ROBOT_PER_MINUTE < 20 and len(result["held"]) == calls_ - 16
    assert not channels.deliver(db, T + timedelta(seconds=50))["sent"]  # still the same minute
    assert len(channels.deliver(db, T + timedelta(seconds=95))["sent"]) == calls_ - 16
    assert channels.robot_budgets(db, T + timedelta(seconds=95))  # counted


@pytest.mark.parametrize(
    "answer", [{"errcode": 130101, "errmsg": "send too fast"}, {"errcode": 45009, "errmsg": "api freq out of limit"}]
)
def test_a_throttling_answer_backs_off_that_robot_only(fresh_db, answer):
    db = fresh_db
    throttled, other = RobotServer(), RobotServer()
    try:
        throttled.throttle_answer = answer
        throttled.throttle_next = 1
        now = at("2025-07-22 09:00")  # a Tuesday: routine reminders are made on working days
        reminders.sweep(db, now)
        a = add_channel(db, CG, "wecom", throttled.url + "/wecom?key=a")
        add_channel(db, "410325109", "wecom", other.url + "/wecom?key=b")
        for code in (CG, "410325109"):
            add_planned_drill(db, code, date(2025, 7, 29), "防汛演练")
            add_planned_drill(db, code, date(2025, 7, 29), "山洪演练")
        reminders.sweep(db, now)
        result = channels.deliver(db, now)
        assert len(other.accepted) == 1 and len(result["sent"]) == 2  # the other robot: its digest went
        assert len(result["held"]) == 2 and "限流" in result["held"][0][3]
        until = db.scalar("SELECT until FROM robot_backoff WHERE channel_id = ?", [a])
        assert until == now + channels.THROTTLE_BACKOFF
        assert db.scalar("SELECT max(attempts) FROM deliveries WHERE channel_id = ?", [a]) == 0  # not a failure
        assert not channels.deliver(db, now + timedelta(minutes=5))["sent"]  # left alone
        assert len(channels.deliver(db, now + timedelta(minutes=10, seconds=1))["sent"]) == 2
        assert len(throttled.accepted) == 1
    finally:
        throttled.close()
        other.close()
