"""The scheduler (started with short intervals and stopped cleanly), the nightly backup and restore,
and the `remind`, `backup`, `restore` commands."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.triggers.interval import IntervalTrigger

from emergency import backup, cli, scheduler
from emergency.db import Database
from emergency.notify import reminders
from emergency.setup import initialise
from tests.helpers import add_channel, add_planned_drill, add_roll_call, at

ROOT = Path(__file__).resolve().parent.parent
FP = "410325109"


def test_the_scheduler_catches_up_at_start_delivers_and_stops_cleanly(fresh_db, robot):
    db = fresh_db
    reminders.sweep(db)  # today's ordinary reminders, before the channel
    add_channel(db, None, "wecom", robot.url + "/wecom?key=k")
    call = add_roll_call(db, FP, datetime.now(reminders.TZ) - timedelta(hours=2))  # missed while "down"
    running = scheduler.start(db, startup_delay_seconds=0.1, deliver_trigger=IntervalTrigger(seconds=1))
    try:
        assert str(running.timezone) == "Asia/Shanghai"
        assert {j.id for j in running.get_jobs()} >= {"sweep", "deliver", "escalate", "backup"}
        deadline = time.monotonic() + 20
        while not robot.accepted and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(robot.accepted) == 1 and "点名未应答" in robot.accepted[0]["json"]["text"]["content"]
        assert (
            db.scalar(
                "SELECT count(*) FROM notifications WHERE subject_type = 'roll_call' AND subject_id = ?", [str(call)]
            )
            == 1
        )
        while time.monotonic() < deadline:  # the run is recorded just after the robot has the message
            table = {r["job"]: r for r in scheduler.job_table(db, running)}
            if table["deliver"]["ok"] is not None:
                break
            time.sleep(0.1)
        assert table["sweep"]["ok"] and table["deliver"]["ok"] and table["deliver"]["next_run"] is not None
        assert table["backup"]["next_run"].hour == 2 and table["backup"]["next_run"].minute == 30
        assert table["sweep"]["next_run"].hour == 7 and table["sweep"]["next_run"].minute == 30
        time.sleep(1.5)  # more delivery runs: nothing sent twice
        assert len(robot.accepted) == 1
    finally:
        scheduler.stop(running, wait=True)
    assert not running.running
    assert not [t for t in threading.enumerate() if t.name.startswith("APScheduler")]
    assert scheduler.job_table(db, running)[0]["next_run"] is None


def test_the_scheduler_runs_unless_switched_off(monkeypatch):
    from emergency.ui import state

    monkeypatch.delenv("EMERGENCY_SCHEDULER", raising=False)
    assert state.scheduler_enabled() is True
    monkeypatch.setenv("EMERGENCY_SCHEDULER", "on")
    assert state.scheduler_enabled() is True
    monkeypatch.setenv("EMERGENCY_SCHEDULER", "off")
    assert state.scheduler_enabled() is False


def test_backup_is_a_consistent_copy_and_restore_brings_it_back(tmp_path, capsys):
    path = tmp_path / "county.duckdb"
    db = Database(path)
    initialise(db)
    add_planned_drill(db, FP, datetime(2025, 3, 20).date())
    reminders.sweep(db, at("2025-03-14 09:00"))
    notifications = db.scalar("SELECT count(*) FROM notifications")
    made = scheduler.run_job(db, "backup", at("2025-03-14 02:30"))["path"]
    assert made.parent == tmp_path / "backups" and made.name == "county-20250314-023000.duckdb"
    # old backups are pruned after keep days (14 by default), the new one stays
    for stamp in ("20250220-023000", "20250305-023000"):
        (tmp_path / "backups" / f"county-{stamp}.duckdb").write_bytes(made.read_bytes())
    removed = backup.nightly(db, at("2025-03-15 02:30"))["removed"]
    assert [p.name for p in removed] == ["county-20250220-023000.duckdb"]
    # changes after the backup are undone by the restore
    db.cursor().execute("DELETE FROM deliveries")
    db.cursor().execute("DELETE FROM notification_reads")
    db.cursor().execute("DELETE FROM notifications")
    db.close()
    assert cli.main(["restore", str(made), "--db", str(path)]) == 0
    assert "已从" in capsys.readouterr().out
    db = Database(path)
    try:
        assert db.scalar("SELECT count(*) FROM notifications") == notifications
        # sequences came back with their values: new rows do not collide
        assert reminders.sweep(db, at("2025-03-19 07:30"))
    finally:
        db.close()
    assert list(tmp_path.glob("county.before-restore-*.duckdb"))


HOLD = """
import sys, time
from emergency.db import Database
db = Database(sys.argv[1])
print("HOLDING", flush=True)
time.sleep(60)
"""


def test_commands_refuse_while_the_server_holds_the_file(tmp_path, capsys):
    path = tmp_path / "held.duckdb"
    Database(path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout.readline().startswith("HOLDING")
        for argv in (
            ["restore", str(path), "--db", str(path)],
            ["backup", "--db", str(path)],
            ["remind", "--db", str(path)],
        ):
            assert cli.main(argv) == 2
            assert f"进程 {proc.pid}" in capsys.readouterr().err
    finally:
        proc.kill()
        proc.wait()


def test_remind_command_prints_what_it_created_and_sent(tmp_path, capsys, robot):
    path = tmp_path / "cli.duckdb"
    db = Database(path)
    initialise(db)
    reminders.sweep(db, at("2024-09-27 07:30"))
    add_channel(db, FP, "wecom", robot.url + "/wecom?key=k")
    add_planned_drill(db, FP, datetime(2024, 10, 8).date(), "国庆后防汛演练")
    db.close()
    assert cli.main(["remind", "--db", str(path), "--now", "2024-09-30T08:00", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "[试运行]" in out and "将新建提醒 2 条" in out and not robot.requests
    assert cli.main(["remind", "--db", str(path), "--now", "2024-09-30T08:00"]) == 0
    out = capsys.readouterr().out
    assert "新建提醒 2 条" in out and "国庆后防汛演练" in out and "发送成功 2 条" in out
    assert cli.main(["remind", "--db", str(path), "--now", "2024-10-08T07:30"]) == 0
    # the two reminders of one sweep went to the township's robot as one digest, and never again
    assert "新建提醒 0 条" in capsys.readouterr().out and len(robot.accepted) == 1
    assert cli.main(["remind", "--db", str(path), "--now", "not-a-date"]) == 1
