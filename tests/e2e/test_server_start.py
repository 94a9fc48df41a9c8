"""The real server entry (server.py): the database and the scheduler start with the server, before
any visitor, so that reminders run after a restart even if nobody opens a page."""

import os
import subprocess
import sys
import time
import urllib.request

from emergency.db import Database
from tests.helpers import ROOT, free_port


def test_server_start_creates_the_database_and_runs_the_catch_up_sweep(tmp_path, _private_key):
    db_path = tmp_path / "fresh.duckdb"
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "server.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=dict(os.environ, EMERGENCY_DB=str(db_path), EMERGENCY_SCHEDULER="on"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        healthy = time.monotonic() - started
        # The start-up sweep runs right after the scheduler starts: 3 s on an idle machine; on a loaded
        # one everything is slower in proportion (a 76 s start once left the sweep unfinished at 3 s).
        time.sleep(max(3.0, healthy / 4))
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) is not None  # stops cleanly on SIGTERM
    print(f"server healthy after {healthy:.1f} s")
    db = Database(db_path)
    try:
        assert db.scalar("SELECT count(*) FROM teams") > 388  # the demo, made at the first start
        assert db.scalar("SELECT runs FROM job_runs WHERE job = 'sweep'") == 1  # one scheduler, one catch-up
        assert db.scalar("SELECT count(*) FROM notifications") > 0  # nobody visited, the sweep ran
    finally:
        db.close()
