"""APScheduler wiring only: when the sweep, the delivery and the backup run.

The scheduler is a clock, nothing more. Its jobs are kept in memory and rebuilt at every start; all
the state lives in our tables (notifications, deliveries, job_runs), and the work is idempotent, so a
restart, a missed run or a double run loses nothing and sends nothing twice.

Jobs (time zone Asia/Shanghai; coalesce, one instance at a time, a misfire grace of hours):
- sweep      every day at 07:30, and once right after start-up (to catch up after downtime); the
             jobs' sweeps (and the page's and `remind`'s, through run_job) are skipped while nothing
             the sweep reads has been written and no reminder can have fallen due since the last
             one (reminders.skips), so running it more often costs next to nothing;
- deliver    every minute;
- escalate   every minute: 叫应 not answered within a step's limit is called again and pushed on
             (emergency/calls.py), pending personal messages retried;
- backup     every night at 02:30.

The server starts it once per process (emergency/ui/state.py); tests switch it on explicitly.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .db import TZ

if TYPE_CHECKING:
    from .db import Database

log = logging.getLogger(__name__)

JOB_LABELS = {
    "sweep_startup": "启动时补扫提醒",
    "sweep": "每日提醒扫描（07:30）",
    "deliver": "发送消息（每分钟）",
    "escalate": "叫应升级（每分钟）",
    "backup": "夜间备份数据库（02:30）",
}
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}


def _summary(job: str, result) -> str:
    if job.startswith("sweep"):
        return f"新建提醒 {len(result)} 条"
    if job == "deliver":
        return f"发送成功 {len(result['sent'])}，待重试 {len(result['retry'])}，失败 {len(result['failed'])}" + (
            f"，免打扰暂缓 {result['quiet']}" if result["quiet"] else ""
        )
    if job == "escalate":
        return f"再次叫应或推送 {len(result['escalated'])} 人次，重发个人消息 {len(result['retried'])} 条"
    if job == "backup":
        return f"备份 {result['path'].name}，清理旧备份 {len(result['removed'])} 个"
    return str(result)


def run_job(db: Database, job: str, now: datetime | None = None):
    """Run one job now and record its last run in job_runs (also used by the CLI and the page)."""
    from . import backup, calls
    from .notify import channels, reminders

    started = datetime.now(TZ)
    work = {
        "sweep": lambda: reminders.sweep(db, now, skip_unchanged=True),
        "sweep_startup": lambda: reminders.sweep(db, now, skip_unchanged=True),
        "deliver": lambda: channels.deliver(db, now),
        "escalate": lambda: calls.escalation_job(db, now),
        "backup": lambda: backup.nightly(db, now),
    }[job]
    try:
        result = work()
    except Exception as exc:
        _record(db, job, started, False, f"出错：{exc}"[:500])
        log.exception("job %s failed", job)
        raise
    _record(db, job, started, True, _summary(job, result))
    return result


def _record(db: Database, job: str, started: datetime, ok: bool, summary: str) -> None:
    name = "sweep" if job == "sweep_startup" else job
    db.write(
        lambda cur: cur.execute(
            "INSERT INTO job_runs (job, started_at, finished_at, ok, summary, runs) VALUES (?, ?, ?, ?, ?, 1)"
            " ON CONFLICT (job) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at,"
            " ok = excluded.ok, summary = excluded.summary, runs = job_runs.runs + 1",
            [name, started, datetime.now(TZ), ok, summary],
        )
    )


def create(
    db: Database,
    *,
    sweep_trigger=None,
    deliver_trigger=None,
    backup_trigger=None,
    escalate_trigger=None,
    startup_sweep: bool = True,
    startup_delay_seconds: float = 2.0,
) -> BackgroundScheduler:
    """A scheduler with the jobs added, not yet started. Triggers may be replaced (tests)."""
    scheduler = BackgroundScheduler(timezone=TZ, job_defaults=JOB_DEFAULTS, daemon=True)
    lock = threading.Lock()  # sweep and delivery never overlap inside one scheduler
    # escalation has its own: a long sweep or delivery pass must not hold back a red warning's 叫应
    locks = {"escalate": threading.Lock()}

    def job(name):
        def run():
            with (
                locks.get(name, lock),
                contextlib.suppress(Exception),
            ):  # recorded in job_runs; the scheduler keeps going
                run_job(db, name)

        return run

    scheduler.add_job(
        job("sweep"), sweep_trigger or CronTrigger(hour=7, minute=30, timezone=TZ), id="sweep", name=JOB_LABELS["sweep"]
    )
    scheduler.add_job(
        job("deliver"),
        deliver_trigger or IntervalTrigger(minutes=1, timezone=TZ),
        id="deliver",
        name=JOB_LABELS["deliver"],
    )
    scheduler.add_job(
        job("escalate"),
        escalate_trigger or IntervalTrigger(minutes=1, timezone=TZ),
        id="escalate",
        name=JOB_LABELS["escalate"],
    )
    scheduler.add_job(
        job("backup"),
        backup_trigger or CronTrigger(hour=2, minute=30, timezone=TZ),
        id="backup",
        name=JOB_LABELS["backup"],
    )
    if startup_sweep:

        def catch_up():
            job("sweep_startup")()
            job("deliver")()

        scheduler.add_job(
            catch_up,
            DateTrigger(datetime.now(TZ) + timedelta(seconds=startup_delay_seconds)),
            id="sweep_startup",
            name=JOB_LABELS["sweep_startup"],
        )
    return scheduler


def start(db: Database, **kwargs) -> BackgroundScheduler:
    scheduler = create(db, **kwargs)
    scheduler.start()
    log.info("scheduler started for %s", db.path)
    return scheduler


def stop(scheduler: BackgroundScheduler | None, wait: bool = True) -> None:
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=wait)


def job_table(db: Database, scheduler: BackgroundScheduler | None) -> list[dict]:
    """Each job with its next run (from the running scheduler) and last run (from job_runs)."""
    last = {r["job"]: r for r in db.query_dicts("SELECT * FROM job_runs")}
    jobs = {j.id: j for j in scheduler.get_jobs()} if scheduler is not None and scheduler.running else {}
    rows = []
    for job_id in ("sweep", "deliver", "escalate", "backup"):
        run = last.get(job_id, {})
        job = jobs.get(job_id)
        rows.append(
            {
                "job": job_id,
                "label": JOB_LABELS[job_id],
                "next_run": job.next_run_time if job is not None else None,
                "last_started": run.get("started_at"),
                "last_finished": run.get("finished_at"),
                "ok": run.get("ok"),
                "summary": run.get("summary"),
                "runs": run.get("runs", 0),
            }
        )
    return rows
