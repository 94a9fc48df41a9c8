"""`python -m emergency bench` through the real server and chromium: a short run at the county's
size gives, per page, the browser time, the websocket bytes and the server's CPU, and per number of
sessions at once the median and 95th percentile (issue 19, item 7)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from emergency import bench
from emergency.bench_browser import percentile
from tests.helpers import ROOT


def test_short_bench_run_reports_browser_times_bytes_and_concurrency(demo_db_path):
    """On a copy of the session's demo (`--from`: the bench measures a given file as it is)."""
    command = [sys.executable, "-m", "emergency", "bench", "--scales", "1", "--pages", "map,places"]
    command += ["--sessions", "1,2", "--views", "2", "--think", "0.2", "--no-first-start", "--json"]
    command += ["--from", str(demo_db_path)]
    before = demo_db_path.stat().st_mtime_ns
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert set(report) == {"today", "options", "first_start_s", "scales"}
    assert report["options"]["sessions"] == [1, 2] and report["options"]["pages"] == ["map", "places"]
    assert demo_db_path.stat().st_mtime_ns == before  # measured on a copy
    (scale,) = report["scales"]
    assert scale["source"] == str(demo_db_path.resolve())
    # the keys the table had before are still there
    for key in ("scale", "generate_s", "file_mb", "paths", "members", "import", "pages", "peak_rss_mb"):
        assert key in scale, key
    assert scale["scale"] == 1 and scale["members"] > 7000
    paths = {row["name"]: row for row in scale["paths"]}
    # 队伍健康检查's own path (counts, then one page) beside the whole lists its exports write
    assert {"roster health（队伍健康）", "roster health page（队伍健康页）"} <= set(paths)
    assert all(row["ours_s"] > 0 and row["bare_s"] > 0 for row in paths.values())
    assert sorted(scale["pages"]) == ["emergency/ui/map_page.py", "emergency/ui/places.py"]
    assert scale["server_start_s"] > 0
    views = {row["page"]: row for row in scale["browser"]}
    assert set(views) == {"map", "places"} and views["map"]["title"] == "地图"
    for row in views.values():
        assert 0 < row["first_s"] < 300 and 0 < row["again_s"] < 300
        assert row["bytes"] > 1000 and row["again_bytes"] > 0  # a page's deltas came over the websocket
        assert row["cpu_first_s"] > 0 and row["cpu_again_s"] >= 0
    assert views["map"]["bytes"] > views["places"]["bytes"]  # the map's script is the heavy part
    runs = {run["sessions"]: run for run in scale["concurrency"]}
    assert set(runs) == {1, 2}
    for n, run in runs.items():
        assert run["views"] == 2 * n
        assert 0 < run["median_s"] <= run["p95_s"] <= run["max_s"]
        # the server's answer (seen by the bench's relay) comes before the browser has drawn it
        assert 0 < run["answered_median_s"] <= run["median_s"] and run["answered_p95_s"] <= run["p95_s"]
        assert run["answered_max_s"] <= run["max_s"]
        assert run["server_cpu_per_view_s"] > 0 and run["views_per_s"] > 0 and run["mean_bytes"] > 0
        assert (
            run["machine_cpu_per_view_s"] + 0.02 >= run["server_cpu_per_view_s"]
            and 0 < run["cores_busy"] <= os.cpu_count() + 0.05  # /proc/stat counts in 10 ms ticks
        )
    # the probe of 2 sessions: one browser drawing, one wire session (its messages sent again)
    assert "probe" not in runs[1]
    probe = runs[2]["probe"]
    assert probe["sessions"] == 2 and probe["views"] == 12  # 2 × views, at least 12
    assert 0 < probe["median_s"] <= probe["p95_s"] <= probe["max_s"]
    assert probe["answered_views"] > probe["views"]  # the wire session's views are answered too
    assert 0 < probe["answered_median_s"] <= probe["answered_p95_s"] <= probe["answered_max_s"]
    assert probe["server_cpu_per_view_s"] > 0 and 0 < probe["cores_busy"] <= os.cpu_count() + 0.05
    table = bench.format_table(report["scales"])
    assert "2 sessions at once, one browser drawing here" in table
    assert "browser 地图 first / again" in table and "2 sessions at once" in table
    assert "2 sessions at once, answered" in table


def test_the_bench_browsers_run_below_the_server(tmp_path):
    """Run as root, chromium lifts its renderers to nice -8, above the server it measures; the
    bench's launcher keeps every chromium process at nice 10."""
    from playwright.sync_api import sync_playwright

    from emergency.bench_browser import CHROMIUM_ARGS, launcher

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=launcher(tmp_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content("<p>演练</p>")
            assert page.inner_text("p") == "演练"
            niceness = chromium_niceness()
        finally:
            browser.close()
    assert "renderer" in niceness and "gpu-process" in niceness, niceness
    assert all(value >= 10 for values in niceness.values() for value in values), niceness


def chromium_niceness() -> dict[str, list[int]]:
    """The nice value of each chromium process started by this test (not other runs'), by its
    --type (the browser process has none)."""
    stats = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(pid)] = (command.replace("\0", " ").split(), int(stat[1]), int(stat[16]))  # ppid, nice
    mine = {os.getpid()}
    while grown := {pid for pid, (_, ppid, _) in stats.items() if ppid in mine} - mine:
        mine |= grown
    found: dict[str, list[int]] = {}
    for pid in mine - {os.getpid()}:
        command, _, nice = stats[pid]
        if command and command[0].endswith("chromium"):
            kind = next((arg.split("=", 1)[1] for arg in command if arg.startswith("--type=")), "browser")
            found.setdefault(kind, []).append(nice)
    return found


def test_bench_refuses_an_unknown_page_before_running():
    proc = subprocess.run(
        [sys.executable, "-m", "emergency", "bench", "--scales", "1", "--pages", "map,nowhere"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "未知的页面：nowhere" in proc.stderr
    assert proc.stdout == ""


def test_bench_from_a_file_refuses_other_scales_and_a_missing_file(tmp_path):
    base = [sys.executable, "-m", "emergency", "bench", "--no-browser", "--no-first-start"]
    cases = [
        (["--scales", "1,10", "--from", str(tmp_path / "x.duckdb")], "--from 只能与 --scales 1 一起使用"),
        (["--scales", "1", "--from", str(tmp_path / "missing.duckdb")], "找不到数据库文件"),
    ]
    for extra, message in cases:
        proc = subprocess.run(base + extra, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and message in proc.stderr and proc.stdout == ""


def test_percentile_between_closest_ranks():
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == 4.8
    assert percentile([5.0, 1.0], 100) == 5.0


def test_a_wire_session_opens_the_pages_a_browser_opened_logged_in_as_it(demo_db_path, tmp_path):
    """The probe's wire sessions send again what a real session sent: the server runs the same
    page for them, logged in (the page's heading and table come back, not the log-in form)."""
    import asyncio
    import shutil

    from playwright.async_api import async_playwright

    from emergency.bench_browser import CHROMIUM, CHROMIUM_ARGS, ForwardMsg, Session, WireSession, admin_pages, serve
    from emergency.demo import DEMO_PASSWORDS

    class Reading(WireSession):
        texts: list[str] = []

        def _message(self, payload: bytes) -> None:
            super()._message(payload)
            message = ForwardMsg()
            message.ParseFromString(payload)
            if message.WhichOneof("type") == "delta":
                self.texts.append(str(message.delta))

    async def walk(url: str) -> tuple[list[str], list[str]]:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                real = await Session.open(browser, url, "admin", DEMO_PASSWORDS["admin"])
                pages = admin_pages(["teams", "drills"])
                for target in pages:
                    await real.view(target)
                script = real.wire_script()
                await real.close()
                wire = Reading(script, int(url.rsplit(":", 1)[1]))
                await wire.open()
                seen = []
                for target in pages:
                    wire.texts = []
                    assert 0 < await wire.view(target) < 120
                    seen.append("\n".join(wire.texts))
                await wire.close()
                return seen, list(script.pages)
            finally:
                await browser.close()

    path = tmp_path / "wire.duckdb"
    shutil.copy(demo_db_path, path)
    with serve(path, tmp_path / "server.log") as running:
        (teams, drills), recorded = asyncio.run(walk(running["url"]))
    assert recorded == ["teams", "drills"]
    for text, heading in ((teams, "救援队伍"), (drills, "演练记录")):
        assert heading in text and "dataframe {" in text, heading
        assert "用户名" not in text  # not the log-in form
