"""Three-level linkage: the indicator rules table by table (pure), the scoped and audited write
paths, and the demo's figures (16 of 16 townships connected in 2024, a mix of statuses now)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from emergency import auth, linkage
from emergency.demo.linkage import DEMO_NOW
from emergency.linkage import AMBER, GREEN, RED
from tests.helpers import user_row

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=TZ)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "rows, expected",
    [
        ([], {"count": 0, "answered": 0, "rate": None, "median_minutes": None}),
        ([(T0, at(2))], {"count": 1, "answered": 1, "rate": 1.0, "median_minutes": 2}),
        (
            [(T0, at(1)), (T0, at(3)), (T0, None), (T0, at(10))],
            {"count": 4, "answered": 3, "rate": 0.75, "median_minutes": 3},
        ),
        ([(T0, at(1)), (T0, at(4))], {"count": 2, "answered": 2, "rate": 1.0, "median_minutes": 2.5}),
        ([(T0, None), (T0, None)], {"count": 2, "answered": 0, "rate": 0.0, "median_minutes": None}),
    ],
)
def test_response_indicators(rows, expected):
    assert linkage.response_indicators(rows) == expected


@pytest.mark.parametrize(
    "value, green, amber, expected",
    [
        (None, 0.95, 0.8, None),
        (1.0, 0.95, 0.8, GREEN),
        (0.95, 0.95, 0.8, GREEN),
        (0.94, 0.95, 0.8, AMBER),
        (0.80, 0.95, 0.8, AMBER),
        (0.79, 0.95, 0.8, RED),
        (0.0, 0.95, 0.8, RED),
    ],
)
def test_grade_at_least(value, green, amber, expected):
    assert linkage.grade_at_least(value, green, amber) == expected


@pytest.mark.parametrize(
    "value, expected", [(None, None), (0, GREEN), (5, GREEN), (5.1, AMBER), (15, AMBER), (15.5, RED)]
)
def test_grade_at_most(value, expected):
    assert linkage.grade_at_most(value, 5, 15) == expected


def contact(village, role, since=date(2020, 1, 1), until=None):
    return {"village_code": village, "role": role, "active_from": since, "active_to": until}


@pytest.mark.parametrize(
    "contacts, expected",
    [
        ([], {"villages": 3, "with_officer": 0, "with_a_and_b": 0, "coverage": 0.0}),
        (
            [contact("v1", "info_officer_a"), contact("v1", "info_officer_b"), contact("v2", "info_officer_b")],
            {"villages": 3, "with_officer": 2, "with_a_and_b": 1, "coverage": 2 / 3},
        ),
        (
            [
                contact("v1", "info_officer_a", until=date(2026, 5, 31)),
                contact("v2", "info_officer_a"),
                contact("v3", "info_officer_a", since=date(2026, 7, 1)),
            ],
            {"villages": 3, "with_officer": 1, "with_a_and_b": 0, "coverage": 1 / 3},
        ),  # left before, starts after today
        (
            [contact("v1", "station_head"), contact("other", "info_officer_a")],
            {"villages": 3, "with_officer": 0, "with_a_and_b": 0, "coverage": 0.0},
        ),  # wrong role, other village
        (
            [contact(v, "info_officer_a") for v in ("v1", "v2", "v3")],
            {"villages": 3, "with_officer": 3, "with_a_and_b": 0, "coverage": 1.0},
        ),
    ],
)
def test_officer_coverage(contacts, expected):
    assert linkage.officer_coverage(["v1", "v2", "v3"], contacts, date(2026, 6, 1)) == expected


GOOD = {
    "roll_call_rate": 1.0,
    "roll_call_median": 2,
    "ack_rate": 1.0,
    "ack_median": 10,
    "officer_coverage": 1.0,
    "teams": 12,
    "township_drills_12m": 2,
    "station_staff": 2,
}


@pytest.mark.parametrize(
    "change, status, reason",
    [
        ({}, GREEN, None),
        ({"roll_call_rate": 0.85}, AMBER, "点名应答率 85%"),
        ({"roll_call_rate": 0.5}, RED, "点名应答率 50%"),
        ({"roll_call_median": 9}, AMBER, "点名应答用时中位数 9 分钟"),
        ({"roll_call_median": 40}, RED, "点名应答用时中位数 40 分钟"),
        ({"ack_rate": 0.9}, AMBER, "预警叫应率 90%"),
        ({"ack_median": 45}, AMBER, "叫应用时中位数 45 分钟"),
        ({"officer_coverage": 0.93}, AMBER, "灾害信息员在岗率 93%"),
        ({"officer_coverage": 0.5}, RED, "灾害信息员在岗率 50%"),
        ({"teams": 0}, RED, "无在册救援队伍"),
        ({"township_drills_12m": 0}, AMBER, "近12个月无乡镇级演练"),
        ({"station_staff": 0}, RED, "无在岗乡镇应急站人员"),
        ({"roll_call_rate": None, "roll_call_median": None}, AMBER, "本周期无视频点名记录"),
        ({"ack_rate": None, "ack_median": None}, AMBER, "本周期无预警叫应记录"),
        ({"roll_call_rate": 0.85, "teams": 0}, RED, "无在册救援队伍"),  # the worst indicator wins
    ],
)
def test_township_status(change, status, reason):
    got, reasons = linkage.township_status({**GOOD, **change})
    assert got == status
    assert (reason in reasons) if reason else reasons == []


def test_township_status_follows_configured_thresholds():
    ind = {**GOOD, "roll_call_rate": 0.85}
    assert linkage.township_status(ind)[0] == AMBER
    assert linkage.township_status(ind, {"roll_call_answer_rate": [0.8, 0.7]})[0] == GREEN
    assert linkage.township_status(ind, {"roll_call_answer_rate": [0.99, 0.9]})[0] == RED


@pytest.mark.parametrize(
    "ind, status",
    [
        ({"officer_a": "甲", "officer_b": "乙", "ack_rate": 1.0, "drills_12m": 1}, GREEN),
        ({"officer_a": "甲", "officer_b": "乙", "ack_rate": None, "drills_12m": 1}, GREEN),
        ({"officer_a": "甲", "officer_b": None, "ack_rate": 1.0, "drills_12m": 1}, AMBER),
        ({"officer_a": None, "officer_b": "乙", "ack_rate": 1.0, "drills_12m": 1}, AMBER),
        ({"officer_a": None, "officer_b": None, "ack_rate": 1.0, "drills_12m": 3}, RED),
        ({"officer_a": "甲", "officer_b": "乙", "ack_rate": 0.5, "drills_12m": 1}, RED),
        ({"officer_a": "甲", "officer_b": "乙", "ack_rate": 1.0, "drills_12m": 0}, AMBER),
    ],
)
def test_village_status(ind, status):
    assert linkage.village_status(ind)[0] == status


@pytest.mark.parametrize(
    "station, answered, sent, acked, expected",
    [
        (True, 1, 0, 0, True),
        (True, 5, 3, 1, True),
        (True, 5, 3, 0, False),
        (True, 0, 0, 0, False),
        (False, 5, 3, 3, False),
    ],
)
def test_is_connected(station, answered, sent, acked, expected):
    assert linkage.is_connected(station, answered, sent, acked) is expected


@pytest.mark.parametrize(
    "acked, escalated, minutes_later, expected",
    [
        (None, None, 29, False),
        (None, None, 30, True),
        (None, None, 300, True),
        (at(5), None, 300, False),
        (None, at(31), 300, False),
    ],
)
def test_needs_escalation(acked, escalated, minutes_later, expected):
    assert linkage.needs_escalation(T0, acked, escalated, at(minutes_later), 30) is expected


@pytest.mark.parametrize(
    "change, problem",
    [
        ({}, None),
        ({"roll_call_answer_rate": [0.7, 0.9]}, "点名应答率"),  # amber line above the green line
        ({"ack_rate": [1.2, 0.8]}, "叫应率"),
        ({"ack_median_minutes": [90, 60]}, "叫应用时"),
        ({"period_days": 0}, "统计周期"),
        ({"officer_coverage": "high"}, "在岗率"),
    ],
)
def test_validate_thresholds(change, problem):
    problems = linkage.validate_thresholds({**linkage.DEFAULT_THRESHOLDS, **change})
    assert (any(problem in p.field for p in problems)) if problem else problems == []


# The demo --------------------------------------------------------------------------------------
def test_demo_all_16_townships_connected_in_2024(demo_db):
    assert linkage.connected_townships(demo_db, 2024) == 16
    detail = linkage.connected_detail(demo_db, 2024)
    assert len(detail) == 16 and all(r["station"] and r["answered"] > 0 for r in detail)


def test_demo_shows_green_amber_and_red_now(demo_db):
    now = DEMO_NOW + timedelta(hours=1)
    statuses = [i["status"] for i in linkage.township_indicators(demo_db, now)]
    assert len(statuses) == 16
    assert statuses.count(GREEN) >= 6 and statuses.count(AMBER) >= 2 and statuses.count(RED) >= 1
    villages = [v for t in ("410325100", "410325210", "410325101") for v in linkage.village_indicators(demo_db, t, now)]
    assert any(v["officer_a"] and not v["officer_b"] for v in villages)  # a few miss officer B
    assert demo_db.scalar("SELECT count(*) FROM contacts WHERE NOT is_demo") == 0


def test_demo_current_period_indicators_match_the_rows(demo_db):
    """The indicator of one township recomputed by hand from its rows."""
    now = DEMO_NOW + timedelta(hours=1)
    town = next(i for i in linkage.township_indicators(demo_db, now) if i["code"] == "410325100")
    rows = demo_db.query(
        "SELECT called_at, answered_at FROM roll_calls WHERE township_code = '410325100'"
        " AND called_at > ? AND called_at <= ?",
        [now - timedelta(days=90), now],
    )
    answered = [r for r in rows if r[1] is not None]
    assert town["roll_calls"] == len(rows) and town["roll_calls_answered"] == len(answered)
    assert town["roll_call_rate"] == pytest.approx(len(answered) / len(rows))


# Writes: scoped and audited --------------------------------------------------------------------
def audit_count(db, table):
    return db.scalar("SELECT count(*) FROM audit_log WHERE table_name = ?", [table])


def test_roll_call_is_logged_by_the_county_duty_office_only(scratch_db):
    db = scratch_db
    admin, town, viewer = (user_row(db, u) for u in ("admin", "town100", "leader"))
    called = datetime.now(TZ) - timedelta(hours=1)
    before = db.scalar("SELECT count(*) FROM roll_calls")
    for actor in (town, viewer):
        with pytest.raises(auth.PermissionDenied):
            linkage.log_roll_call(db, actor, "410325100", called, called + timedelta(minutes=2), "值班员")
    with pytest.raises(ValueError, match="应答时间"):
        linkage.log_roll_call(db, admin, "410325100", called, called - timedelta(minutes=2), "值班员")
    with pytest.raises(ValueError, match="应答人"):
        linkage.log_roll_call(db, admin, "410325100", called, called + timedelta(minutes=2), "")
    with pytest.raises(ValueError, match="乡镇"):
        linkage.log_roll_call(db, admin, "410325400", called)  # a forest farm is not a township
    assert db.scalar("SELECT count(*) FROM roll_calls") == before
    audits = audit_count(db, "roll_calls")
    rid = linkage.log_roll_call(db, admin, "410325100", called, called + timedelta(minutes=3), "王值班")
    assert db.query("SELECT township_code, answered_by, called_by FROM roll_calls WHERE id = ?", [rid]) == [
        ("410325100", "王值班", "admin")
    ]
    assert audit_count(db, "roll_calls") == audits + 1


def test_warning_acknowledged_by_its_own_township_then_escalation(scratch_db):
    db = scratch_db
    admin, own, other = (user_row(db, u) for u in ("admin", "town100", "town101"))
    issued = datetime.now(TZ) - timedelta(hours=2)
    wid = linkage.issue_warning(db, admin, 2, "暴雨橙色预警（测试）", issued, ["410325100", "410325101"], True)
    acks = db.query_dicts("SELECT id, township_code, village_code FROM warning_acks WHERE warning_id = ?", [wid])
    villages = db.scalar(
        "SELECT count(*) FROM villages WHERE township_code IN ('410325100', '410325101') AND NOT is_virtual"
    )
    assert len(acks) == 2 + villages
    mine = next(a["id"] for a in acks if a["township_code"] == "410325100" and a["village_code"] is None)
    with pytest.raises(auth.PermissionDenied):
        linkage.acknowledge(db, other, mine, issued + timedelta(minutes=5), "他人")
    with pytest.raises(ValueError, match="叫应时间"):
        linkage.acknowledge(db, own, mine, issued - timedelta(minutes=5), "张三")
    linkage.acknowledge(db, own, mine, issued + timedelta(minutes=5), "张三")
    assert db.scalar("SELECT acknowledged_by FROM warning_acks WHERE id = ?", [mine]) == "张三"
    with pytest.raises(ValueError, match="已叫应"):
        linkage.acknowledge(db, own, mine, issued + timedelta(minutes=6), "张三")
    with pytest.raises(auth.PermissionDenied):
        linkage.escalate_unanswered(db, own)
    escalated = linkage.escalate_unanswered(db, admin)
    ours = {a["id"] for a in acks} - {mine}
    assert ours <= set(escalated)
    assert mine not in escalated
    assert not set(linkage.escalate_unanswered(db, admin)) & ours  # idempotent
    assert audit_count(db, "warning_acks") >= 2


def test_a_new_officer_replaces_the_current_one(scratch_db):
    db = scratch_db
    own, other = user_row(db, "town100"), user_row(db, "town101")
    village = db.scalar("SELECT code FROM villages WHERE township_code = '410325100' AND NOT is_virtual ORDER BY code")
    data = {
        "township_code": "410325100",
        "village_code": village,
        "role": "info_officer_a",
        "name": "李信息",
        "phone": "13800001111",
        "active_from": date(2026, 11, 1),
    }
    with pytest.raises(auth.PermissionDenied):
        linkage.add_contact(db, other, data)
    with pytest.raises(ValueError, match="电话"):
        linkage.add_contact(db, own, {**data, "phone": "12345"})
    with pytest.raises(ValueError, match="村（社区）"):
        linkage.add_contact(db, own, {**data, "village_code": None})
    linkage.add_contact(db, own, data)
    current = db.query(
        "SELECT name FROM contacts WHERE village_code = ? AND role = 'info_officer_a' AND active_to IS NULL", [village]
    )
    assert current == [("李信息",)]
    row = linkage.village_indicators(db, "410325100", datetime(2026, 11, 20, tzinfo=TZ))[0]
    assert row["code"] == village and row["officer_a"] == "李信息"


def test_connected_requires_an_answered_roll_call(fresh_db):
    db = fresh_db
    from emergency.setup import ensure_ready_with_demo  # noqa: F401  (fresh_db has places, no demo)

    admin = auth.SYSTEM
    assert linkage.connected_townships(db, 2025) == 0
    linkage.add_contact(
        db,
        admin,
        {
            "township_code": "410325100",
            "role": "station_head",
            "name": "站长",
            "phone": "13800002222",
            "active_from": date(2024, 1, 1),
        },
    )
    called = datetime(2025, 3, 1, 9, tzinfo=TZ)
    linkage.log_roll_call(db, admin, "410325100", called)  # unanswered: not connected
    assert linkage.connected_townships(db, 2025) == 0
    linkage.log_roll_call(
        db, admin, "410325100", called + timedelta(days=7), called + timedelta(days=7, minutes=2), "值班员"
    )
    assert linkage.connected_townships(db, 2025) == 1
    assert linkage.connected_townships(db, 2024) == 0
    linkage.issue_warning(db, admin, 3, "大风黄色预警", datetime(2025, 4, 1, 8, tzinfo=TZ), ["410325100"])
    assert linkage.connected_townships(db, 2025) == 0  # a warning sent and never acknowledged


def test_thresholds_are_configurable_and_audited(scratch_db):
    db = scratch_db
    admin, viewer = user_row(db, "admin"), user_row(db, "leader")
    with pytest.raises(auth.PermissionDenied):
        linkage.set_thresholds(db, viewer, {"period_days": 30})
    with pytest.raises(ValueError, match="点名应答率"):
        linkage.set_thresholds(db, admin, {"roll_call_answer_rate": [0.5, 0.9]})
    linkage.set_thresholds(db, admin, {"period_days": 30, "roll_call_answer_rate": [0.9, 0.6]})
    assert linkage.thresholds(db)["period_days"] == 30
    assert linkage.thresholds(db)["ack_rate"] == linkage.DEFAULT_THRESHOLDS["ack_rate"]
    assert audit_count(db, "settings") >= 1
