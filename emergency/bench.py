"""The benchmark: where the time goes, at the county's size and at 10 and 100 times it.

`python -m emergency bench [--scales 1,10,100] [--sessions 1,8,16] [--pages map,linkage] [--json]`
runs each scale in its own process (so that the peak memory is that scale's), and prints one
table (or, with `--json`, one JSON object). For every database path it also times the bare SQL
behind it on the same connection and prints the ratio (our code's time over the database's own);
pages are timed as AppTest reruns of the real page scripts and, through the real server in
chromium (emergency/bench_browser.py), as a user sees them: time, websocket bytes and the
server's CPU per view, alone and with N sessions at once.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date
from pathlib import Path

from .db import PROJECT_DIR, TZ, Database

TODAY = date(2026, 11, 25)  # pinned so that runs on different days compare
REPEAT = 5


def timed(fn: Callable, repeat: int = REPEAT) -> float:
    """Median wall time in seconds of `repeat` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def timed_cpu(fn: Callable, repeat: int = REPEAT) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) of `repeat` calls after one warm-up call; CPU is the
    process's time, DuckDB's threads included."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def replay(db: Database, calls: list[tuple[str, list]]) -> Callable:
    """The bare SQL of a path: its captured statements, executed and fetched on the same connection."""

    def run():
        cur = db.cursor()
        for sql, params in calls:
            cur.execute(sql, params).fetchall()

    return run


def captured(db: Database, fn: Callable) -> list[tuple[str, list]]:
    db.trace = []
    try:
        fn()
        return db.trace
    finally:
        db.trace = None


def _health_page_view(db: Database, today) -> None:
    """What 队伍健康检查's first view reads: every check counted, then the open check's first page (the
    row above, roster_health, is the whole lists its exports write)."""
    from . import auth, roster

    summary = roster.health_summary(db, today)
    roster.health_page(db, auth.SYSTEM, today, next(iter(roster.HEALTH_CHECKS)), summary=summary)


def database_paths(db: Database) -> list[tuple[str, Callable]]:
    """(name, our function) for each measured service path; its bare SQL is captured from it."""
    from datetime import datetime
    from datetime import time as clock

    from . import auth, deadlines, drills, linkage, roster, stats, teams
    from .notify import reminders

    morning = datetime.combine(TODAY, clock(7, 30), tzinfo=TZ)
    return [
        ("stats（年度统计）", lambda: stats.year_stats(db, 2024)),
        ("coverage（覆盖矩阵）", lambda: roster.coverage(db, TODAY)),
        ("roster health（队伍健康）", lambda: roster.roster_health(db, auth.SYSTEM, TODAY)),
        ("roster health page（队伍健康页）", lambda: _health_page_view(db, TODAY)),
        ("plan compliance（预案期限）", lambda: deadlines.plan_deadlines(db, TODAY)),
        ("enterprise compliance（企业期限）", lambda: deadlines.enterprise_deadlines(db, TODAY)),
        ("village compliance（村级期限）", lambda: deadlines.village_deadlines(db, TODAY)),
        ("reminder sweep, dry run（提醒扫描）", lambda: reminders.sweep(db, morning, dry_run=True)),
        ("linkage indicators（三级联动）", lambda: linkage.township_indicators(db, morning)),
        ("drill list, one year（演练列表）", lambda: drills.drill_list(db, year=2024)),
        (
            "member list, one township（队员名单）",
            lambda: teams.member_list(db, auth.SYSTEM, township_code="410325100"),
        ),
    ]


MAIN_PAGES = [
    "emergency/ui/overview.py",
    "emergency/ui/teams_page.py",
    "emergency/ui/members_page.py",
    "emergency/ui/drills_page.py",
    "emergency/ui/plans_page.py",
]


def page_reruns(db_path: Path, only: list[str] | None = None) -> dict[str, float]:
    """Median AppTest rerun time of each main page, logged in as the bureau's admin."""
    from dataclasses import asdict
    from datetime import datetime

    from streamlit.testing.v1 import AppTest

    from . import auth
    from .ui import nav

    os.environ["EMERGENCY_DB"] = str(db_path)
    os.chdir(PROJECT_DIR)
    probe = Database(db_path)
    row = probe.query_dicts(
        "SELECT id, username, display_name, role, township_code FROM users WHERE username = 'admin'"
    )[0]
    pages = [p.path for p in nav.PAGES if "admin" in p.roles and p.section != "系统管理"] or MAIN_PAGES
    if only:
        pages = [p.path for p in nav.PAGES if p.url_path in only]
    results = {}
    for page in pages:
        at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=300)
        at.session_state["user"] = asdict(auth.User(**row))
        at.session_state["last_seen"] = datetime.now(UTC)
        at.session_state["token"] = auth.open_session(probe, auth.User(**row))  # checked on every rerun
        at.run()
        at.switch_page(page).run()
        if at.exception:
            results[page] = float("nan")
            continue

        def rerun(at=at):
            at.session_state["last_seen"] = datetime.now(UTC)
            at.run()

        results[page] = timed(rerun, repeat=3)
    probe.close()
    return results


@dataclass(frozen=True)
class Options:
    """What a run measures beyond the database paths (the command's flags)."""

    sessions: tuple[int, ...] = (1, 8, 16)
    pages: tuple[str, ...] = ()  # url paths; empty: every page the admin sees (system pages apart)
    views: int = 6  # per session in a concurrency run
    think: float = 2.0  # seconds between one session's clicks (jittered ±50%)
    browser: bool = True
    first_start: bool = True  # time `streamlit run` on a new database to healthy (once per run)
    source: str = ""  # measure a copy of this database instead of generating the demo (scale 1 only)


def copy_database(source: Path, target: Path) -> None:
    """A DuckDB file and its write-ahead log (the part not yet checkpointed) copied side by side."""
    import shutil

    shutil.copy(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copy(wal, target.with_name(target.name + ".wal"))


def progress(started: float, text: str) -> None:
    print(f"  {time.perf_counter() - started:6.1f} s  {text}", file=sys.stderr, flush=True)


def run_scale(scale: int, workdir: Path, options: Options | None = None) -> dict:
    from . import demo
    from .setup import initialise

    options = options or Options()
    path = workdir / f"bench_x{scale}.duckdb"
    if path.exists():
        path.unlink()
    started = time.perf_counter()
    if options.source:  # a copy of a given database (the bureau's own, or a demo made before)
        copy_database(Path(options.source), path)
    db = Database(path)
    initialise(db)  # (a given file: its schema brought up to date, as the app would)
    if not options.source:
        demo.generate(db, scale=scale)
    db.cursor().execute("CHECKPOINT")
    generation = time.perf_counter() - started
    progress(started, "demo generated")
    result = {
        "scale": scale,
        "source": options.source or None,  # None: the demo generated at this scale
        "generate_s": generation,  # (the copy's time, with a source)
        "file_mb": path.stat().st_size / 1e6,
        "paths": [],
        "members": db.scalar("SELECT count(*) FROM members"),
    }
    for name, ours in database_paths(db):
        t_ours = timed(ours)
        calls = captured(db, ours)
        t_bare = timed(replay(db, calls)) if calls else None
        result["paths"].append(
            {"name": name, "ours_s": t_ours, "bare_s": t_bare, "ratio": (t_ours / t_bare) if t_bare else None}
        )
    progress(started, "database paths timed")
    result["import"] = _import_timing(db, scale, workdir)
    result["sweep"] = _sweep_timing(db, workdir)
    progress(started, "import timed")
    db.close()
    if options.browser:  # first: the AppTest reruns below keep the file open in this process
        from . import bench_browser

        pages = bench_browser.admin_pages(list(options.pages) or None)
        measured = bench_browser.measure(path, workdir, pages, list(options.sessions), options.views, options.think)
        result["server_start_s"] = measured["startup_s"]
        result["browser"] = measured["pages"]
        result["concurrency"] = measured["concurrency"]
        progress(started, "browser views timed")
    result["pages"] = page_reruns(path, list(options.pages) or None)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    progress(started, "page reruns timed")
    return result


IMPORT_CAP = 100_000  # a realistic largest single file


def _import_timing(db: Database, scale: int, workdir: Path) -> dict:
    """Import 7,349 × scale members (capped) from one .xlsx into a copy of the database: wall seconds
    and CPU seconds (process time, DuckDB's threads included), for the file as Excel and WPS save it
    (shared strings) and for the same rows as openpyxl writes them (each text inline, every Chinese
    character a character reference: what some systems export). Each import runs after a first commit
    on the opened copy, as in the server (its start-up sweep writes): in a probe on a copy of the ×100
    demo, the first commit after opening took 0.2 s whatever it wrote (first_write_s reports it)."""
    import shutil

    from . import auth, imports
    from .demo.samples import HEADERS, excel_xlsx_bytes, member_rows, xlsx_bytes

    rows = min(7349 * scale, IMPORT_CAP)
    listed = member_rows(db, rows, seed=rows)
    db.cursor().execute("CHECKPOINT")
    timed: dict = {}
    files = [("excel", excel_xlsx_bytes(HEADERS, listed))] * (3 if rows <= 20_000 else 1)  # median of 3 when quick
    for name, data in [*files, ("inline", xlsx_bytes(HEADERS, listed))]:
        copy = workdir / "import_copy.duckdb"
        shutil.copy(db.path, copy)
        target = Database(copy)
        started = time.perf_counter()
        target.write(lambda cur: cur.execute("CREATE TABLE bench_first_write (n INTEGER)"))
        first_write = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        result = imports.run_import(target, auth.SYSTEM, "members", "bench.xlsx", data)
        timed.setdefault(name, []).append(
            (time.perf_counter() - started, time.process_time() - cpu, len(data) / 1e6, first_write)
        )
        target.close()
        copy.unlink()
        if not result.committed:
            raise RuntimeError(f"benchmark import refused: {result.problems[:3]}")
    seconds, cpu, file_mb, first_write = sorted(timed["excel"])[len(timed["excel"]) // 2]
    inline_seconds, inline_cpu, inline_mb, _ = timed["inline"][0]
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_s": cpu,
        "file_mb": file_mb,
        "rows_per_s": rows / seconds,
        "first_write_s": first_write,
        "inline_seconds": inline_seconds,
        "inline_cpu_s": inline_cpu,
        "inline_file_mb": inline_mb,
    }


SWEEP_HISTORY = 300_000  # past notifications added for the no-op sweep "with history" (years of reminders)


def _sweep_timing(db: Database, workdir: Path) -> dict:
    """The reminder sweep on a copy of the database at the pinned morning: the dry run while every due
    key is new, the best single SQL for the same keys (bench_sql), the first run (creates), a run
    that creates nothing (no-op, a full pass: what a sweep costs after a write), the scheduler's
    no-op (skip_unchanged, nothing written since its last sweep: the typical run), and the full no-op
    again after SWEEP_HISTORY past notifications.
    JSON keys: created (reminders of the first run), first_s, noop_s, history_rows,
    noop_with_history_s, dry_run_s, best_sql_s, dry_run_ratio (dry_run_s / best_sql_s), noop_ratio
    (noop_s / best_sql_s), noop_skipped_s, and the CPU seconds of each: first_cpu_s, noop_cpu_s,
    noop_skipped_cpu_s, noop_with_history_cpu_s, dry_run_cpu_s, best_sql_cpu_s (all seconds; the
    timed ones are medians of REPEAT runs)."""
    import shutil
    from datetime import datetime
    from datetime import time as clock

    from . import bench_sql
    from .notify import reminders

    copy = workdir / "sweep_copy.duckdb"
    shutil.copy(db.path, copy)
    target = Database(copy)
    morning = datetime.combine(TODAY, clock(7, 30), tzinfo=TZ)
    dry_run, dry_run_cpu = timed_cpu(lambda: reminders.sweep(target, morning, dry_run=True))
    best, best_cpu = timed_cpu(lambda: bench_sql.due_keys(target, morning))
    started, cpu = time.perf_counter(), time.process_time()
    created = len(reminders.sweep(target, morning))
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    noop, noop_cpu = timed_cpu(lambda: reminders.sweep(target, morning))
    if reminders.sweep(target, morning, skip_unchanged=True):  # notes what it read: the next one skips
        raise RuntimeError("the no-op sweep created reminders")
    skipped, skipped_cpu = timed_cpu(lambda: reminders.sweep(target, morning, skip_unchanged=True))
    if not reminders.skips(target, morning):
        raise RuntimeError("the scheduler's no-op sweep did not skip")
    target.write(
        lambda cur: cur.execute(
            "INSERT INTO notifications (dedup_key, kind, subject_type, subject_id, due_on, title, body, created_at)"
            " SELECT concat_ws('|', 'insurance_expiring', 'team', 'history' || i, due, '', 'county'),"
            " 'insurance_expiring', 'team', 'history' || i, due, '历史提醒', '历史提醒', due"
            " FROM (SELECT i, DATE '2016-01-01' + CAST(i % 3000 AS INTEGER) AS due FROM range(?) t(i))",
            [SWEEP_HISTORY],
        )
    )
    target.cursor().execute("CHECKPOINT")
    with_history, with_history_cpu = timed_cpu(lambda: reminders.sweep(target, morning))
    target.close()
    copy.unlink()
    return {
        "created": created,
        "first_s": first,
        "noop_s": noop,
        "history_rows": SWEEP_HISTORY,
        "noop_with_history_s": with_history,
        "dry_run_s": dry_run,
        "best_sql_s": best,
        "dry_run_ratio": dry_run / best,
        "noop_ratio": noop / best,
        "noop_skipped_s": skipped,
        "first_cpu_s": first_cpu,
        "noop_cpu_s": noop_cpu,
        "noop_skipped_cpu_s": skipped_cpu,
        "noop_with_history_cpu_s": with_history_cpu,
        "dry_run_cpu_s": dry_run_cpu,
        "best_sql_cpu_s": best_cpu,
    }


def format_table(results: list[dict], first_start: float | None = None) -> str:
    lines = ["| measure | " + " | ".join(f"×{r['scale']}" for r in results) + " |", "|---|" + "---|" * len(results)]

    def row(label, values):
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("members (rows)", [f"{r['members']:,}" for r in results])
    row("generate demo (s)", [f"{r['generate_s']:.1f}" for r in results])
    row("database file (MB)", [f"{r['file_mb']:.0f}" for r in results])
    # by name, in the order measured: a report put together from runs of different versions may lack
    # a path in one scale ("—" there) instead of shifting every row below it
    for name in dict.fromkeys(p["name"] for r in results for p in r["paths"]):
        values = []
        for r in results:
            p = next((p for p in r["paths"] if p["name"] == name), None)
            if p is None:
                values.append("—")
                continue
            ratio = f" ({p['ratio']:.1f}×)" if p["ratio"] else " (no SQL traced)"
            bare_text = f" / {p['bare_s'] * 1000:.0f}" if p["bare_s"] is not None else ""
            values.append(f"{p['ours_s'] * 1000:.0f}{bare_text} ms{ratio}")
        row(name + " ours / bare SQL", values)
    if all(r.get("import") for r in results):
        row(
            "import members .xlsx as Excel saves it (rows in s, rows/s)",
            [
                f"{r['import']['rows']:,} in {r['import']['seconds']:.2f}, {r['import']['rows_per_s']:,.0f}/s"
                for r in results
            ],
        )
        if all("inline_seconds" in r["import"] for r in results):
            row(
                "the same rows written by openpyxl, inline strings (s, rows/s)",
                [
                    f"{r['import']['inline_seconds']:.2f}, {r['import']['rows'] / r['import']['inline_seconds']:,.0f}/s"
                    for r in results
                ],
            )
    if all(r.get("sweep") for r in results):
        row(
            "sweep first run (reminders in s)",
            [f"{r['sweep']['created']:,} in {r['sweep']['first_s']:.2f}" for r in results],
        )
        row("sweep no-op (s)", [f"{r['sweep']['noop_s']:.2f}" for r in results])
        if all("noop_skipped_s" in r["sweep"] for r in results):
            row(
                "sweep no-op, nothing written since the last (scheduler; ms)",
                [f"{r['sweep']['noop_skipped_s'] * 1000:.2f}" for r in results],
            )
        row(
            "sweep dry run, all new / no-op / best single SQL (s)",
            [
                f"{w['dry_run_s']:.2f} ({w['dry_run_ratio']:.1f}×) / {w['noop_s']:.2f} ({w['noop_ratio']:.1f}×)"
                f" / {w['best_sql_s']:.2f}"
                for w in (r["sweep"] for r in results)
            ],
        )
        row(
            f"sweep no-op, +{SWEEP_HISTORY:,} past notifications (s)",
            [f"{r['sweep']['noop_with_history_s']:.2f}" for r in results],
        )
    for page in results[0]["pages"]:
        row(f"page rerun {Path(page).stem} (s)", [f"{r['pages'].get(page, float('nan')):.2f}" for r in results])
    row("peak memory (MB)", [f"{r['peak_rss_mb']:.0f}" for r in results])
    if all(r.get("browser") for r in results):
        if first_start is not None:
            row("first start to healthy, new database (s)", [f"{first_start:.1f}"] + [""] * (len(results) - 1))
        row("server start, existing database (s)", [f"{r['server_start_s']:.1f}" for r in results])
        for i, page in enumerate(results[0]["browser"]):
            row(
                f"browser {page['title']} first / again (s), kB, server CPU (s)",
                [
                    f"{p['first_s']:.2f} / {p['again_s']:.2f}, {p['bytes'] / 1000:.0f} kB, {p['cpu_again_s']:.2f}"
                    for p in (r["browser"][i] for r in results)
                ],
            )
        for i, run in enumerate(results[0]["concurrency"]):
            row(
                f"{run['sessions']} sessions at once: median / p95 / max (s), CPU per view server / machine (s),"
                " cores busy",
                [
                    f"{c['median_s']:.2f} / {c['p95_s']:.2f} / {c['max_s']:.2f},"
                    f" {c['server_cpu_per_view_s']:.2f} / {c['machine_cpu_per_view_s']:.2f}, {c['cores_busy']:.1f}"
                    for c in (r["concurrency"][i] for r in results)
                ],
            )
            row(
                f"{run['sessions']} sessions at once, answered (the server alone): median / p95 / max (s)",
                [
                    f"{c['answered_median_s']:.2f} / {c['answered_p95_s']:.2f} / {c['answered_max_s']:.2f}"
                    for c in (r["concurrency"][i] for r in results)
                ],
            )
            if "probe" in run:
                row(
                    f"{run['sessions']} sessions at once, one browser drawing here (the others' on their own PCs):"
                    " median / p95 / max (s), all answered p95 (s), cores busy",
                    [
                        f"{p['median_s']:.2f} / {p['p95_s']:.2f} / {p['max_s']:.2f}, {p['answered_p95_s']:.2f},"
                        f" {p['cores_busy']:.1f}"
                        for p in (r["concurrency"][i]["probe"] for r in results)
                    ],
                )
    return "\n".join(lines)


def main(scales: list[int], out: Path | None = None, options: Options | None = None, *, as_json: bool = False) -> str:
    """Run every scale (each in its own process) and return the table, or with as_json the JSON
    object {"today", "options", "first_start_s", "scales": [one object per scale]}; `out`, when
    given, receives that object too."""
    options = options or Options()
    report: dict = {"today": TODAY.isoformat(), "options": asdict(options), "first_start_s": None, "scales": []}
    with tempfile.TemporaryDirectory(prefix="emergency-bench-") as tmp:
        if options.browser and options.first_start:
            from . import bench_browser

            print("first start ...", file=sys.stderr, flush=True)
            report["first_start_s"] = bench_browser.first_start(Path(tmp))
        for scale in scales:
            print(f"scale ×{scale} ...", file=sys.stderr, flush=True)
            proc = subprocess.run(  # its progress lines and any error go straight to stderr
                [sys.executable, "-m", "emergency.bench", "--one", str(scale), tmp, json.dumps(asdict(options))],
                cwd=PROJECT_DIR,
                stdout=subprocess.PIPE,
                text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"scale ×{scale} failed (exit {proc.returncode}); see above")
            report["scales"].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    text = json.dumps(report, ensure_ascii=False, indent=1)
    if out:
        out.write_text(text, encoding="utf-8")
    return text if as_json else format_table(report["scales"], report["first_start_s"])


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        import logging

        logging.disable(logging.WARNING)
        given = json.loads(sys.argv[4])
        given["sessions"], given["pages"] = tuple(given["sessions"]), tuple(given["pages"])
        print(json.dumps(run_scale(int(sys.argv[2]), Path(sys.argv[3]), Options(**given)), ensure_ascii=False))
    else:
        print(main([int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "1").split(",")]))
