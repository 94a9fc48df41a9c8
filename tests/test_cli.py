import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPORT_2024

ROOT = Path(__file__).resolve().parent.parent


def run(*args, env_db=None):
    import os

    env = dict(os.environ)
    if env_db:
        env["EMERGENCY_DB"] = str(env_db)
    return subprocess.run(
        [sys.executable, "-m", "emergency", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def test_init_demo_stats_json(tmp_path):
    db = tmp_path / "cli.duckdb"
    result = run("demo", env_db=db)  # EMERGENCY_DB chooses the file when --db is absent
    assert result.returncode == 0, result.stderr
    result = run("stats", "--year", "2024", "--json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {k: figures[k] for k in REPORT_2024} == REPORT_2024
    assert 12100 <= figures["county_township_participants"] <= 12199
    assert figures["year"] == 2024
    # A second demo on the same file is refused, not doubled.
    again = run("demo", "--db", str(db))
    assert again.returncode == 1 and "已有数据" in again.stderr
    text = run("stats", "--year", "2024", "--db", str(db))
    assert "应急救援队伍（支）：388" in text.stdout
    # init on the demo file upgrades it but keeps it a demo
    result = run("init", "--db", str(db))
    assert result.returncode == 0 and "仍为演示数据库" in result.stdout


def test_init_marks_a_database_real_and_demo_refuses_it(tmp_path):
    from emergency.db import Database
    from emergency.setup import database_kind

    db = tmp_path / "real.duckdb"
    result = run("init", "--db", str(db))
    assert result.returncode == 0 and "已标记为正式数据库" in result.stdout
    refused = run("demo", "--db", str(db))
    assert refused.returncode == 1 and "正式数据库" in refused.stderr
    opened = Database(db)
    try:
        assert database_kind(opened) == "real"
        assert opened.scalar("SELECT count(*) FROM teams") == 0
        assert opened.scalar("SELECT count(*) FROM users") == 0
    finally:
        opened.close()


def test_malformed_plan_file_is_named(tmp_path, monkeypatch):
    from emergency import plans
    from emergency.db import Database
    from emergency.setup import initialise

    bad = tmp_path / "plans"
    bad.mkdir()
    for f in plans.PLANS_DIR.glob("*.md"):
        (bad / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    text = (bad / "ZR-02.md").read_text(encoding="utf-8").replace("response_levels: 4", "response_levels: 九")
    (bad / "ZR-02.md").write_text(text, encoding="utf-8")
    monkeypatch.setattr(plans, "PLANS_DIR", bad)
    db = Database(tmp_path / "p.duckdb")
    import pytest

    with pytest.raises(plans.PlanFileError) as caught:
        initialise(db)
    assert "ZR-02.md" in str(caught.value) and "response_levels" in str(caught.value)
    assert db.scalar("SELECT count(*) FROM plans") == 0  # nothing half-loaded
