"""The sweep: working days (chinese_calendar), idempotence, catch-up after an outage, the inbox."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from emergency import audit, auth
from emergency.notify import reminders
from tests.helpers import (
    add_certificate,
    add_corrective_action,
    add_planned_drill,
    add_roll_call,
    add_team_member,
    at,
    keys_for,
    user_row,
)

CG, FP = "410325100", "410325109"  # 城关镇, 饭坡镇


# Working days: the real 2024/2025 holidays and make-up working days -----------------------------
@pytest.mark.parametrize(
    "day, workday",
    [
        (date(2024, 9, 29), True),  # Sunday, make-up working day before National Day
        (date(2024, 9, 30), True),
        (date(2024, 10, 1), False),  # National Day 10-01..10-07
        (date(2024, 10, 7), False),
        (date(2024, 10, 8), True),
        (date(2024, 10, 12), True),  # Saturday, make-up working day
        (date(2024, 10, 13), False),  # ordinary Sunday
        (date(2025, 1, 26), True),  # Sunday, make-up working day before Spring Festival
        (date(2025, 1, 28), False),  # Spring Festival 01-28..02-04
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),  # Saturday, make-up working day
        (date(2025, 10, 8), False),  # National Day + Mid-Autumn 10-01..10-08
        (date(2025, 10, 11), True),  # Saturday, make-up working day
    ],
)
def test_working_days_follow_chinese_calendar(day, workday):
    assert reminders.is_workday(day) is workday


def test_a_year_the_calendar_does_not_know_falls_back_to_weekdays():
    assert reminders.is_workday(date(2040, 1, 2)) is True  # a Monday
    assert reminders.is_workday(date(2040, 1, 7)) is False  # a Sunday


def test_reminders_ahead_of_a_date_are_brought_forward_to_a_working_day():
    rows = [
        {"id": 1, "title": "防汛演练", "planned_on": date(2024, 10, 8), "township_code": CG, "township_name": "城关镇"},
        {"id": 2, "title": "消防演练", "planned_on": date(2024, 10, 6), "township_code": CG, "township_name": "城关镇"},
    ]
    due = {
        (c.subject_id, c.variant): c.remind_at.date() for c in reminders.drill_coming(rows, date(2024, 9, 1), [7, 1])
    }
    assert due == {
        ("1", "7d"): date(2024, 9, 30),  # 10-01 is National Day -> the Monday before
        ("1", "1d"): date(2024, 9, 30),  # 10-07 is a holiday -> 09-30
        ("2", "7d"): date(2024, 9, 29),  # 09-29 is a Sunday, but a make-up working day: stays
        ("2", "1d"): date(2024, 9, 30),  # 10-05 -> 09-30
    }
    cert = reminders.certificates_expiring(
        [
            {
                "id": 5,
                "name": "救护员证",
                "expires_on": date(2025, 3, 1),
                "member_name": "张三",
                "team_name": "队",
                "township_code": CG,
            }
        ],
        date(2025, 1, 20),
        30,
    )
    assert cert[0].remind_at.date() == date(2025, 1, 27)  # 01-30 is Spring Festival -> Monday 01-27


def test_overdue_reminders_are_deferred_to_the_next_working_day():
    rows = [
        {
            "id": 9,
            "description": "整改通信",
            "owner": "李四",
            "due_on": date(2024, 9, 30),
            "drill_title": "演练",
            "township_code": CG,
        }
    ]
    (c,) = reminders.actions_overdue(rows, date(2024, 10, 2))
    assert c.remind_at.date() == date(2024, 10, 8)  # overdue from 10-01, a holiday -> first working day
    assert not c.urgent


def test_on_a_holiday_the_sweep_creates_only_urgent_reminders(fresh_db):
    db = fresh_db
    drill = add_planned_drill(db, CG, date(2024, 10, 10))
    action = add_corrective_action(db, CG, date(2024, 9, 20))
    call = add_roll_call(db, CG, at("2024-10-03 09:00"))
    on_holiday = reminders.sweep(db, at("2024-10-03 12:00"))
    assert {c.kind for c in on_holiday} == {"roll_call_unanswered"}
    assert keys_for(on_holiday, "roll_call", call) == [f"roll_call_unanswered|roll_call|{call}|2024-10-03||county"]
    first_working_day = reminders.sweep(db, at("2024-10-08 07:30"))
    assert keys_for(first_working_day, "planned_drill", drill) == [
        f"drill_coming|planned_drill|{drill}|2024-10-10|7d|{CG}"
    ]
    assert keys_for(first_working_day, "corrective_action", action) == [
        f"action_overdue|corrective_action|{action}|2024-09-20||{CG}"
    ]
    next_day = reminders.sweep(db, at("2024-10-09 07:30"))
    assert keys_for(next_day, "planned_drill", drill) == [f"drill_coming|planned_drill|{drill}|2024-10-10|1d|{CG}"]


# Idempotence ------------------------------------------------------------------------------------
def _seed(db):
    # The villages entered the system two years before (their yearly drill clock starts there).
    db.write(lambda cur: cur.execute("UPDATE village_entries SET entered_on = DATE '2023-01-01'"))
    drill = add_planned_drill(db, CG, date(2025, 3, 20))
    team, member = add_team_member(db, FP, insurance_until=date(2025, 4, 1))
    cert = add_certificate(db, member, date(2025, 4, 11))
    action = add_corrective_action(db, None, date(2025, 3, 10))
    call = add_roll_call(db, FP, at("2025-03-12 10:00"))
    return {"planned_drill": drill, "team": team, "certificate": cert, "corrective_action": action, "roll_call": call}


def test_a_sweep_run_twice_creates_each_notification_once(fresh_db):
    db = fresh_db
    _seed(db)
    now = at("2025-03-14 09:00")
    assert reminders.sweep(db, now, dry_run=True) and not db.scalar("SELECT count(*) FROM notifications")
    first = reminders.sweep(db, now)
    count = db.scalar("SELECT count(*) FROM notifications")
    assert len(first) == count > 40
    assert {
        "drill_coming",
        "certificate_expiring",
        "insurance_expiring",
        "action_overdue",
        "roll_call_unanswered",
        "plan_drill_overdue",
        "village_drill_overdue",
        "plan_filing_due",
    } <= {c.kind for c in first}
    assert reminders.sweep(db, now) == []
    assert reminders.sweep(db, now + timedelta(hours=5)) == []  # late: nothing new either
    assert db.scalar("SELECT count(*) FROM notifications") == count
    assert db.scalar("SELECT count(DISTINCT dedup_key) FROM notifications") == count
    # one audit row for the sweep that created something, none for the empty ones
    assert db.scalar("SELECT count(*) FROM audit_log WHERE table_name = 'notifications'") == 1


def test_concurrent_sweeps_create_each_notification_once(fresh_db):
    db = fresh_db
    _seed(db)
    now = at("2025-03-14 09:00")
    results, errors = [], []

    def run():
        try:
            results.append(reminders.sweep(db, now))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    total = db.scalar("SELECT count(*) FROM notifications")
    assert sum(len(r) for r in results) == total
    assert db.scalar("SELECT count(DISTINCT dedup_key) FROM notifications") == total


def test_a_three_day_outage_then_a_start_creates_each_missed_reminder_exactly_once(fresh_db):
    db = fresh_db
    ids = _seed(db)
    drill_b = add_planned_drill(db, CG, date(2025, 3, 18), "消防演练")
    runs = {}
    # Daily sweeps at 07:30 on Monday 03-10; the server is down Tue 03-11 to Thu 03-13; it starts on
    # Friday 03-14 at 09:00 (start-up sweep), then the daily sweeps resume until Friday 03-21.
    times = ["2025-03-10 07:30", "2025-03-14 09:00"] + [f"2025-03-{d} 07:30" for d in range(15, 22)]
    for moment in times:
        runs[moment] = reminders.sweep(db, at(moment))
    watched = {
        f"drill_coming|planned_drill|{ids['planned_drill']}|2025-03-20|7d|{CG}": "2025-03-14 09:00",  # due 03-13
        f"drill_coming|planned_drill|{drill_b}|2025-03-18|7d|{CG}": "2025-03-14 09:00",  # due 03-11
        f"certificate_expiring|certificate|{ids['certificate']}|2025-04-11||{FP}": "2025-03-14 09:00",  # due 03-12
        f"action_overdue|corrective_action|{ids['corrective_action']}|2025-03-10||county": "2025-03-14 09:00",
        f"roll_call_unanswered|roll_call|{ids['roll_call']}|2025-03-12||county": "2025-03-14 09:00",  # 03-12 10:30
        f"insurance_expiring|team|{ids['team']}|2025-04-01||{FP}": "2025-03-10 07:30",  # due 03-03
        f"drill_coming|planned_drill|{drill_b}|2025-03-18|1d|{CG}": "2025-03-17 07:30",  # Monday
        f"drill_coming|planned_drill|{ids['planned_drill']}|2025-03-20|1d|{CG}": "2025-03-19 07:30",
    }
    for key, expected_run in watched.items():
        created_in = [m for m, created in runs.items() if key in {c.dedup_key for c in created}]
        assert created_in == [expected_run], (key, created_in)
        assert db.scalar("SELECT count(*) FROM notifications WHERE dedup_key = ?", [key]) == 1
    # the weekend sweeps (03-15, 03-16) create nothing non-urgent
    assert all(c.urgent for m in ("2025-03-15 07:30", "2025-03-16 07:30") for c in runs[m])


def test_answered_or_closed_subjects_stop_reminding(fresh_db):
    db = fresh_db
    ids = _seed(db)
    db.cursor().execute(
        "UPDATE roll_calls SET answered_at = ? WHERE id = ?", [at("2025-03-12 10:05"), ids["roll_call"]]
    )
    db.cursor().execute(
        "UPDATE corrective_actions SET closed_on = DATE '2025-03-12' WHERE id = ?", [ids["corrective_action"]]
    )
    db.cursor().execute(
        "UPDATE planned_drills SET status = 'cancelled', cancel_reason = '改期' WHERE id = ?", [ids["planned_drill"]]
    )
    created = reminders.sweep(db, at("2025-03-14 09:00"))
    kinds = {c.kind for c in created}
    assert not kinds & {"roll_call_unanswered", "action_overdue", "drill_coming"}
    assert "certificate_expiring" in kinds


def test_the_sweep_leaves_unacknowledged_warnings_to_the_escalation(fresh_db):
    """One time limit for a warning: the call chain's (calls.escalate, every minute), not the sweep's."""
    db = fresh_db
    warning = db.scalar(
        "INSERT INTO warnings (level, title, issued_at) VALUES (2, '暴雨橙色预警', ?) RETURNING id",
        [at("2025-07-20 08:00")],
    )
    db.scalar("INSERT INTO warning_acks (warning_id, township_code) VALUES (?, ?) RETURNING id", [warning, FP])
    assert not [c for c in reminders.sweep(db, at("2025-07-20 12:00")) if c.subject_type == "warning_ack"]
    assert "ack_minutes" not in reminders.DEFAULT_SETTINGS


# Settings --------------------------------------------------------------------------------------
def test_settings_are_validated_audited_and_admin_only(scratch_db):
    db = scratch_db
    admin, town = user_row(db, "admin"), user_row(db, "town100")
    saved = reminders.save_settings(db, admin, {"lead_days": "14，3, 1", "quiet_start": "21:30", "quiet_end": "06:00"})
    assert saved["lead_days"] == [14, 3, 1] and reminders.get_settings(db)["quiet_start"] == "21:30"
    assert "lead_days" in str(audit.search(db, table="settings").iloc[0]["修改后"])
    with pytest.raises(ValueError, match="演练提前提醒天数"):
        reminders.save_settings(db, admin, {"lead_days": "七天"})
    with pytest.raises(ValueError, match="免打扰开始时间"):
        reminders.save_settings(db, admin, {"quiet_start": "25:00"})
    with pytest.raises(auth.PermissionDenied):
        reminders.save_settings(db, town, {"lead_days": "3"})
    assert reminders.get_settings(db)["lead_days"] == [14, 3, 1]


@pytest.mark.parametrize(
    "moment, quiet",
    [("2025-03-14 23:00", True), ("2025-03-15 06:59", True), ("2025-03-15 07:00", False), ("2025-03-14 21:59", False)],
)
def test_quiet_hours_wrap_past_midnight(moment, quiet):
    assert reminders.in_quiet_hours(at(moment), "22:00", "07:00") is quiet


# The inbox -----------------------------------------------------------------------------------
def test_each_township_operator_sees_only_its_townships_reminders(scratch_db):
    db = scratch_db
    reminders.sweep(db, at("2026-11-25 07:30"))
    town100, town109, leader = user_row(db, "town100"), user_row(db, "town109"), user_row(db, "leader")
    mine = reminders.inbox(db, town100)
    assert mine and {r["township_code"] for r in mine} == {CG}
    assert len(mine) == db.scalar("SELECT count(*) FROM notifications WHERE township_code = ?", [CG])
    assert {r["township_code"] for r in reminders.inbox(db, leader)} == {None}
    assert len(reminders.inbox(db, leader, everything=True)) == db.scalar("SELECT count(*) FROM notifications")
    # read marks are per user: a second operator of 城关镇 keeps its own unread count
    second = auth.create_user(db, auth.SYSTEM, "town100b", "城关镇填报员乙", "township", "abc12345xyz", CG)
    second = user_row(db, second.username)
    before = reminders.unread_count(db, second)
    assert reminders.mark_read(db, town100, None) == len(mine)
    assert reminders.unread_count(db, town100) == 0
    assert reminders.unread_count(db, second) == before == len(mine)
    assert reminders.unread_count(db, town109) > 0
    other = db.scalar("SELECT min(id) FROM notifications WHERE township_code = ?", [FP])
    with pytest.raises(auth.PermissionDenied):
        reminders.mark_read(db, town100, [other])


def test_the_set_based_sweep_creates_exactly_what_reading_every_key_did(scratch_db):
    """Equivalence on the demo at four dates (with the resources' expiry and below-minimum stock
    reminders): the anti-join in SQL picks the same new keys as the former set of every key ever
    created, the sweep creates those, and a second run creates nothing."""
    from datetime import datetime
    from datetime import time as clock

    db = scratch_db
    seen_kinds: set[str] = set()
    for day in [date(2025, 3, 3), date(2026, 11, 25), date(2026, 12, 1), date(2027, 1, 11)]:
        now = datetime.combine(day, clock(7, 30), tzinfo=reminders.TZ)
        due = reminders.due_now(db, now)
        every_key = {k for (k,) in db.query("SELECT dedup_key FROM notifications")}
        expected = sorted(c.dedup_key for c in due if c.dedup_key not in every_key)
        assert sorted(c.dedup_key for c in reminders.not_yet_created(db, due)) == expected
        assert sorted(c.dedup_key for c in reminders.sweep(db, now, dry_run=True)) == expected
        created = reminders.sweep(db, now)
        assert sorted(c.dedup_key for c in created) == expected
        assert db.scalar("SELECT count(*) FROM notifications") == len(every_key) + len(expected)
        assert reminders.sweep(db, now) == []  # exactly once
        seen_kinds |= {c.kind for c in due}
        if day > date(2025, 3, 3):
            assert len(expected) < len(due)  # keys of earlier sweeps were found and left out
    assert {"stock_expiring", "stock_below_minimum", "insurance_expiring", "village_drill_overdue"} <= seen_kinds
