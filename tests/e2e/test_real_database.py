"""A real database stays real: `init` and a first admin as the README says, then the real server
(server.py) on that file, an admin logged in through the browser: no demo row appears."""

import os
import subprocess
import sys

from emergency.db import Database
from tests.helpers import ROOT, login, running_server, screenshot

DEMO_TABLES = ("teams", "members", "drills", "enterprises", "contacts", "roll_calls", "warnings", "users")


def cli(*args, db, **env):
    return subprocess.run(
        [sys.executable, "-m", "emergency", *args, "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, **env),
    )


def test_the_server_never_fills_an_init_ed_database(tmp_path, page, _private_key):
    path = tmp_path / "real.duckdb"
    assert cli("init", db=path).returncode == 0
    made = cli(
        "user",
        "add",
        "chief",
        "--role",
        "admin",
        "--name",
        "县应急管理局",
        db=path,
        EMERGENCY_PASSWORD="Chief-pass-2026",
    )
    assert made.returncode == 0, made.stderr
    with running_server(path, tmp_path) as server:
        login(page, server["url"], "chief", "Chief-pass-2026")
        page.get_by_role("heading", name="总览").wait_for(timeout=90_000)
        page.wait_for_timeout(1500)
        screenshot(page, "real_database_overview")
        assert "演示数据" not in page.get_by_test_id("stMain").inner_text()
    db = Database(path)
    try:
        for table in DEMO_TABLES:
            assert db.scalar(f"SELECT count(*) FROM {table} WHERE is_demo") == 0, table
        assert db.scalar("SELECT count(*) FROM teams") == 0 and db.scalar("SELECT count(*) FROM drills") == 0
        assert [u for (u,) in db.query("SELECT username FROM users")] == ["chief"]
        assert db.setting("demo") is None and db.setting("database_kind") == "real"
        assert db.scalar("SELECT count(*) FROM townships WHERE is_township") == 16  # places are loaded
    finally:
        db.close()
