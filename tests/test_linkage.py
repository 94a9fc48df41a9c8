"""Three-level linkage: the indicator rules table by table (pure), the scoped and audited write
paths, and the demo's figures (16 of 16 townships connected in 2024, a mix of statuses now)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from emergency import auth, calls, linkage
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


# A township with everything of the definition (CONNECTED_DEFINITION) for a whole year.
GOOD_YEAR = {
    "months": 12,
    "roll_call_months": 12,
    "roll_calls": 52,
    "roll_calls_answered": 50,
    "warnings": 20,
    "acks_within_limit": 18,
    "staffed_days": 366,
    "days": 366,
    "drill_records": 4,
}


@pytest.mark.parametrize(
    "change, connected, reason",
    [
        ({}, True, None),
        # missed 11 of 12 monthly roll calls: one answered call is not "connected"
        ({"roll_call_months": 1, "roll_calls": 1, "roll_calls_answered": 1}, False, "有视频点名的月份 1/12"),
        ({"roll_call_months": 11}, False, "有视频点名的月份 11/12"),
        ({"roll_calls_answered": 40}, False, "点名应答率"),  # 77 % < 90 %
        ({"roll_calls": 0, "roll_calls_answered": 0, "roll_call_months": 0}, False, "点名应答率 —"),
        ({"acks_within_limit": 15}, False, "预警限时叫应率 75%"),
        ({"acks_within_limit": 16}, True, None),  # 80 %: at the threshold
        ({"warnings": 0, "acks_within_limit": 0}, True, None),  # no warning that year
        ({"staffed_days": 300}, False, "应急站有人在岗 300/366 天"),
        ({"drill_records": 0}, False, "未报送本年度演练记录"),
        ({"months": 3, "roll_call_months": 3}, True, None),  # the current year so far
    ],
)
def test_is_connected(change, connected, reason):
    ok, reasons = linkage.is_connected({**GOOD_YEAR, **change})
    assert ok is connected
    assert (any(r.startswith(reason) for r in reasons)) if reason else reasons == []


def test_connected_follows_the_configured_rules():
    facts = {**GOOD_YEAR, "roll_call_months": 6}
    assert not linkage.is_connected(facts)[0]
    assert linkage.is_connected(facts, {"roll_call_months_share": 0.5})[0]
    assert "每月" in linkage.connected_definition() and "50%的月份" in linkage.connected_definition(
        {"roll_call_months_share": 0.5}
    )


@pytest.mark.parametrize(
    "spans, days",
    [
        ([(date(2024, 1, 1), None)], 366),
        ([(date(2024, 7, 1), None)], 184),
        ([(date(2020, 1, 1), date(2024, 3, 31)), (date(2024, 4, 1), None)], 366),  # a handover, no gap
        ([(date(2020, 1, 1), date(2024, 3, 31)), (date(2024, 5, 1), None)], 336),  # a month without anybody
        ([(date(2020, 1, 1), None), (date(2024, 2, 1), date(2024, 2, 10))], 366),  # overlapping
        ([], 0),
    ],
)
def test_staffed_days(spans, days):
    assert linkage.staffed_days(spans, date(2024, 1, 1), date(2024, 12, 31)) == days


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
    assert len(detail) == 16
    assert all(r["roll_call_months"] == 12 and r["staffed_days"] == 366 and r["warnings"] > 0 for r in detail)


def test_demo_warnings_follow_the_flood_season_and_the_current_year_shows_a_mix(demo_db):
    by_month = dict(
        demo_db.query(
            "SELECT month(w.issued_at), count(*) FROM warnings w JOIN warning_details d ON d.warning_id = w.id"
            " WHERE d.hazard IN ('暴雨', '山洪', '地质灾害') GROUP BY 1"
        )
    )
    assert set(by_month) <= {6, 7, 8, 9} and by_month[7] + by_month[8] > by_month.get(6, 0) + by_month.get(9, 0)
    late = demo_db.scalar(
        "SELECT count(*) FROM warning_acks a JOIN warnings w ON w.id = a.warning_id"
        " WHERE a.acknowledged_at > w.issued_at + INTERVAL 10 MINUTE"
    )
    assert late > 0  # some late
    connected = linkage.connected_townships(demo_db, DEMO_NOW.year)
    assert 0 < connected < 16  # the current period: a mix


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


def test_warning_acknowledged_by_its_own_township_by_phone(scratch_db):
    db = scratch_db
    admin, own, other = (user_row(db, u) for u in ("admin", "town100", "town101"))
    issued = datetime.now(TZ) - timedelta(hours=2)
    wid = calls.issue(
        db,
        admin,
        level=2,
        hazard="暴雨",
        title="暴雨橙色预警（测试）",
        township_codes=["410325100", "410325101"],
        now=issued,
        deliver=False,
    )["warning_id"]
    acks = db.query_dicts("SELECT id, township_code, village_code FROM warning_acks WHERE warning_id = ?", [wid])
    villages = db.scalar(
        "SELECT count(*) FROM villages WHERE township_code IN ('410325100', '410325101') AND NOT is_virtual"
    )
    assert len(acks) == 2 + villages  # orange: every village of the townships too
    mine = next(a["id"] for a in acks if a["township_code"] == "410325100" and a["village_code"] is None)
    with pytest.raises(auth.PermissionDenied):
        linkage.acknowledge(db, other, mine, issued + timedelta(minutes=5), "他人")
    with pytest.raises(ValueError, match="叫应时间"):
        linkage.acknowledge(db, own, mine, issued - timedelta(minutes=5), "张三")
    linkage.acknowledge(db, own, mine, issued + timedelta(minutes=5), "张三")
    assert db.scalar("SELECT acknowledged_by FROM warning_acks WHERE id = ?", [mine]) == "张三"
    with pytest.raises(ValueError, match="已叫应"):
        linkage.acknowledge(db, own, mine, issued + timedelta(minutes=6), "张三")
    # the phone answer answers the place's calls: its chain stops, the others' goes on
    assert db.scalar("SELECT count(*) FROM warning_calls WHERE ack_id = ? AND answered_via = 'phone'", [mine]) >= 1
    escalated = calls.escalate(db, issued + timedelta(minutes=11), deliver=False)
    assert escalated and all(e["township_code"] != "410325100" or e["village_code"] for e in escalated)
    assert audit_count(db, "warning_acks") >= 1


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


def test_connected_in_the_database_follows_the_definition(fresh_db):
    db = fresh_db
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
    db.scalar(
        "INSERT INTO drills (title, level, organiser, township_code, held_on, form, content, participants)"
        " VALUES ('防汛演练', 'township', '城关镇', '410325100', DATE '2025-06-10', 'tabletop', 'single', 20)"
        " RETURNING id"
    )
    called = datetime(2025, 1, 6, 9, tzinfo=TZ)
    linkage.log_roll_call(db, admin, "410325100", called, called + timedelta(minutes=2), "值班员")
    assert linkage.connected_townships(db, 2025) == 0  # one answered roll call, 11 months without
    for month in range(2, 13):
        called = datetime(2025, month, 6, 9, tzinfo=TZ)
        linkage.log_roll_call(db, admin, "410325100", called, called + timedelta(minutes=3), "值班员")
    assert linkage.connected_townships(db, 2025) == 1
    assert linkage.connected_townships(db, 2024) == 0
    calls.issue(
        db,
        admin,
        level=3,
        hazard="大风",
        title="大风黄色预警",
        township_codes=["410325100"],
        now=datetime(2025, 4, 1, 8, tzinfo=TZ),
        deliver=False,
    )
    row = next(r for r in linkage.connected_detail(db, 2025) if r["code"] == "410325100")
    assert not row["connected"] and row["reasons"] == ["预警限时叫应率 0%"]  # sent, never acknowledged


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
