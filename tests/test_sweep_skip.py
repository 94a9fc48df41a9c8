"""The scheduler's sweep is skipped while nothing it reads has been written and no moment at which a
reminder falls due has come (reminders.SWEEP_READS, reminders.skips): it must never hide a due
reminder. Every write below goes through db.write (as every service does), never a raw cursor."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from emergency import drills, linkage, records, scheduler
from emergency.auth import SYSTEM
from emergency.notify import reminders
from emergency.resources import stock
from tests.helpers import at, count_calls, user_row

NOW = at("2026-11-25 07:30")  # a Wednesday, a working day
CG, FP = "410325100", "410325109"  # 城关镇, 饭坡镇


def _sweep(db, now: datetime = NOW):
    return scheduler.run_job(db, "sweep", now)


def _keys(created) -> set[str]:
    return {c.dedup_key for c in created}


def test_a_sweep_with_nothing_written_since_is_skipped_whatever_the_scheduler_itself_writes(scratch_db, monkeypatch):
    db = scratch_db
    assert len(_sweep(db)) > 100  # the demo's reminders of the day
    read = count_calls(monkeypatch, reminders, "candidates")
    assert _sweep(db) == [] and read == []  # skipped: nothing read
    assert _sweep(db, NOW + timedelta(hours=10)) == [] and read == []  # later the same day
    # the scheduler's own writes every minute: job_runs (run_job records every run), deliveries and
    # their attempts, escalations, a message read, a notification another module adds
    scheduler.run_job(db, "deliver", NOW)
    scheduler.run_job(db, "escalate", NOW)
    reminders.mark_read(db, user_row(db, "admin"), None, NOW)
    db.write(
        lambda cur: cur.execute(
            "INSERT INTO notifications (dedup_key, kind, subject_type, subject_id, title, body, created_at)"
            " VALUES ('warning_call|x|1|never||county', 'warning_call', 'x', '1', '叫应', '叫应', ?)",
            [NOW],
        )
    )
    assert reminders.skips(db, NOW + timedelta(minutes=1))
    assert _sweep(db, NOW + timedelta(minutes=1)) == [] and read == []
    # a direct sweep (not the scheduler's) always runs whole, and finds nothing either
    assert reminders.sweep(db, NOW) == [] and len(read) == 1
    # an earlier moment than the last complete sweep: run whole
    assert not reminders.skips(db, NOW - timedelta(minutes=1))


def _write(sql: str, params: list | None = None):
    return lambda db: db.write(lambda cur: cur.execute(sql, params or []))


def _planned_tomorrow(db):
    return drills.create_planned(
        db,
        SYSTEM,
        {
            "title": "跳过测试演练",
            "level": "township",
            "township_code": CG,
            "planned_on": NOW.date() + timedelta(days=1),
        },
    )


def _action(db):
    drill = db.scalar("SELECT id FROM drills WHERE township_code = ? AND held_on < DATE '2026-06-01' LIMIT 1", [CG])
    return drills.add_action(db, SYSTEM, drill, "跳过测试整改事项", "王测试", date(2026, 11, 20))


def _roll_call(db):
    return linkage.log_roll_call(db, SYSTEM, FP, NOW - timedelta(minutes=45), now=NOW)


def _below_minimum(db):
    depot, item = db.query("SELECT depot_id, item_code FROM stock GROUP BY ALL HAVING sum(quantity) > 0 LIMIT 1")[0]
    stock.set_minimum(db, SYSTEM, depot, item, 100_000)


def _settings(db):
    reminders.save_settings(db, user_row(db, "admin"), {**reminders.get_settings(db), "expiry_days": 90})


# (the family written, the write, a key prefix the next sweep must create)
WRITES = [
    ("drills: a planned drill", _planned_tomorrow, "drill_coming|planned_drill|"),
    ("drills: a corrective action", _action, "action_overdue|corrective_action|"),
    ("calls: a roll call unanswered", _roll_call, "roll_call_unanswered|roll_call|"),
    ("resources: a minimum above the stock", _below_minimum, "stock_below_minimum|depot_item|"),
    ("settings: certificates and insurance reminded 90 days ahead", _settings, "insurance_expiring|team|"),
    (
        "registry: a member's insurance",
        _write(
            "INSERT INTO members (team_id, name, joined_on, insurance_until) SELECT id, '跳过测试队员',"
            " DATE '2020-01-01', DATE '2026-12-10' FROM teams WHERE township_code = ? AND disbanded_on IS NULL LIMIT 1",
            [CG],
        ),
        "insurance_expiring|team|",
    ),
    (
        "registry: an enterprise never drilled",
        _write("INSERT INTO enterprises (name, sector, township_code) VALUES ('跳过测试企业', 'other', ?)", [CG]),
        "enterprise_drill_overdue|enterprise|",
    ),
    (
        "plans: a plan issued anew, not filed",
        _write("UPDATE plan_meta SET issued_on = DATE '2026-10-20' WHERE plan_code = 'AQ-01'"),
        "plan_filing_due|plan|AQ-01|",
    ),
    (
        "places: a new village, never drilled",
        _write(
            "INSERT INTO villages (code, name, township_code, kind, is_virtual)"
            " VALUES ('410325100999', '跳过测试村', ?, 'village', FALSE)",
            [CG],
        ),
        "village_drill_overdue|village|410325100999|",
    ),
]


@pytest.mark.parametrize("family, write, prefix", WRITES, ids=[w[0] for w in WRITES])
def test_a_write_to_what_the_sweep_reads_makes_the_next_sweep_run_whole(scratch_db, family, write, prefix):
    db = scratch_db
    before = _keys(_sweep(db))
    assert _sweep(db) == [] and reminders.skips(db, NOW)
    write(db)
    assert not reminders.skips(db, NOW), family
    created = _sweep(db)
    assert [k for k in _keys(created) if k.startswith(prefix) and k not in before], family
    assert _sweep(db) == []  # and once only


def test_a_voided_record_restored_is_reminded(scratch_db):
    """records: the void and the restore are writes of voided_records; the restored planned drill's
    reminder falls due at once."""
    db = scratch_db
    admin = user_row(db, "admin")
    planned = _planned_tomorrow(db)
    records.void(db, admin, "planned_drills", planned, "录入错误")
    assert not [k for k in _keys(_sweep(db)) if f"|planned_drill|{planned}|" in k]
    assert _sweep(db) == []
    records.restore(db, admin, "planned_drills", planned)
    assert [k for k in _keys(_sweep(db)) if f"|planned_drill|{planned}|" in k]


def test_a_notification_deleted_is_created_again(scratch_db):
    """A key removed from notifications (db.KEY_CHANGES) makes the next sweep run whole."""
    db = scratch_db
    created = _sweep(db)
    key = next(c.dedup_key for c in created if c.kind == "insurance_expiring")
    assert _sweep(db) == []

    def delete(cur):
        cur.execute(
            "DELETE FROM deliveries WHERE notification_id IN (SELECT id FROM notifications WHERE dedup_key = ?)", [key]
        )
        cur.execute("DELETE FROM notifications WHERE dedup_key = ?", [key])

    db.write(delete)
    assert _keys(_sweep(db)) == {key}


def test_the_next_day_runs_whole_and_creates_what_falls_due_that_day(scratch_db):
    db = scratch_db
    planned = _planned_tomorrow(db)  # 11-26: reminded 7 days ahead (due already) and 1 day ahead (11-25)
    first = _keys(_sweep(db))
    assert [k for k in first if k.startswith(f"drill_coming|planned_drill|{planned}|2026-11-26|1d")]
    drills.create_planned(
        db,
        SYSTEM,
        {"title": "后天的演练", "level": "township", "township_code": CG, "planned_on": date(2026, 11, 27)},
    )
    assert _sweep(db)  # the write: a whole sweep, the new drill's 7-day reminder
    assert _sweep(db, at("2026-11-25 23:59")) == [] and reminders.skips(db, at("2026-11-25 23:59"))
    midnight = at("2026-11-26 00:00")
    assert not reminders.skips(db, midnight)  # the day changed: every day-granular rule may have moved
    created = _keys(_sweep(db, midnight))
    assert [k for k in created if k.startswith("drill_coming|planned_drill|") and "|2026-11-27|1d|" in k]


def test_a_roll_call_limit_inside_the_day_ends_the_skip(scratch_db):
    """The one rule finer than a day: a roll call unanswered roll_call_minutes after it was made."""
    db = scratch_db
    minutes = reminders.get_settings(db)["roll_call_minutes"]
    called = at("2026-11-25 10:00")
    call = linkage.log_roll_call(db, SYSTEM, FP, called, now=at("2026-11-25 10:01"))
    assert not [k for k in _keys(_sweep(db, at("2026-11-25 10:05"))) if f"|roll_call|{call}|" in k]
    limit = called + timedelta(minutes=minutes)
    assert reminders.next_due_moment(db, at("2026-11-25 10:05"), reminders.get_settings(db)) == limit
    assert _sweep(db, limit - timedelta(seconds=1)) == []  # skipped: nothing written, not yet due
    assert reminders.skips(db, limit - timedelta(seconds=1)) and not reminders.skips(db, limit)
    assert [k for k in _keys(_sweep(db, limit)) if k.startswith(f"roll_call_unanswered|roll_call|{call}|")]


def test_the_running_scheduler_skips_its_quiet_sweeps_and_sees_a_write_and_a_limit_at_once(scratch_db, monkeypatch):
    """The real scheduler, its sweep every 0.3 s at the real clock: the quiet runs read nothing, a roll
    call logged through the service is escalated by the next run, and so is one whose limit passes
    while nothing is written."""
    db = scratch_db
    read = count_calls(monkeypatch, reminders, "candidates")
    minutes = reminders.get_settings(db)["roll_call_minutes"]
    running = scheduler.start(
        db,
        startup_delay_seconds=0.1,
        sweep_trigger=IntervalTrigger(seconds=0.3),
        deliver_trigger=IntervalTrigger(seconds=0.3),
        escalate_trigger=IntervalTrigger(seconds=0.3),
    )

    def runs() -> int:
        return db.scalar("SELECT coalesce(max(runs), 0) FROM job_runs WHERE job = 'sweep'")

    def escalated(call: int) -> bool:
        return bool(
            db.scalar(
                "SELECT count(*) FROM notifications WHERE kind = 'roll_call_unanswered' AND subject_id = ?", [str(call)]
            )
        )

    def wait(condition, seconds: float = 20) -> bool:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        return condition()

    try:
        assert wait(lambda: runs() >= 6)
        whole = len(read)
        assert wait(lambda: runs() >= 12)
        assert len(read) == whole  # the quiet runs were skipped
        now = datetime.now(reminders.TZ)
        late = linkage.log_roll_call(db, SYSTEM, FP, now - timedelta(minutes=minutes + 5), now=now)
        assert wait(lambda: escalated(late), 10)
        # a limit passing with nothing written: 6 s from now
        now = datetime.now(reminders.TZ)
        soon = linkage.log_roll_call(db, SYSTEM, CG, now - timedelta(minutes=minutes) + timedelta(seconds=6), now=now)
        after = runs()
        assert wait(lambda: runs() >= after + 2) and not escalated(soon)
        skipped = len(read)
        assert wait(lambda: runs() >= after + 5) and len(read) == skipped  # quiet again until the limit
        assert wait(lambda: escalated(soon), 15)
        assert datetime.now(reminders.TZ) >= now + timedelta(seconds=6)
    finally:
        scheduler.stop(running, wait=True)


def test_only_a_notification_deleted_or_changed_counts_as_a_key_change():
    from emergency.db import KEY_CHANGES, _written_families

    assert _written_families("DELETE FROM notifications WHERE id = 1") == {"notifications", KEY_CHANGES}
    assert _written_families("UPDATE notifications SET dedup_key = 'x' WHERE id = 1") == {"notifications", KEY_CHANGES}
    # what the scheduler writes every minute is not
    assert KEY_CHANGES not in _written_families("INSERT INTO notifications (dedup_key) VALUES ('k')")
    assert KEY_CHANGES not in _written_families("UPDATE deliveries SET status = 'sent' WHERE id = 1")
    assert KEY_CHANGES not in _written_families("INSERT INTO notification_reads (notification_id) VALUES (1)")
    assert KEY_CHANGES in _written_families("TRUNCATE notifications")  # unreadable: every family
