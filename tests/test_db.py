import subprocess
import sys
import threading
import time

import duckdb
import pytest

from emergency import migrations
from emergency.db import Database, DatabaseLockedError, local_today

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def test_migrations_are_recorded_and_applied_once(tmp_path):
    db = Database(tmp_path / "m.duckdb")
    versions = [v for v, _ in migrations.migration_files()]
    assert [r[0] for r in db.query("SELECT version FROM schema_version ORDER BY version")] == versions
    assert migrations.migrate(db) == []  # nothing new the second time
    db.close()
    db = Database(tmp_path / "m.duckdb")  # reopening applies nothing twice
    assert db.scalar("SELECT count(*) FROM schema_version") == len(versions)


def test_schema_holds_the_core_entities(tmp_path):
    db = Database(tmp_path / "s.duckdb")
    tables = {t for (t,) in db.query("SELECT table_name FROM information_schema.tables")}
    for table in [
        "townships",
        "villages",
        "hazard_domains",
        "team_kinds",
        "teams",
        "members",
        "certificates",
        "enterprises",
        "plans",
        "drills",
        "drill_plans",
        "corrective_actions",
        "contacts",
        "roll_calls",
        "notifications",
        "users",
        "audit_log",
        "planned_drills",
        "deadline_rules",
    ]:
        assert table in tables, table
    assert db.scalar("SELECT count(*) FROM hazard_domains") > 10
    assert db.scalar("SELECT count(*) FROM team_kinds") == 5


def test_vocabulary_sync_keeps_edited_rules(tmp_path):
    db = Database(tmp_path / "r.duckdb")
    db.write(lambda cur: cur.execute("UPDATE deadline_rules SET interval_months = 18 WHERE code = 'village_yearly'"))
    migrations.migrate(db)
    assert db.scalar("SELECT interval_months FROM deadline_rules WHERE code = 'village_yearly'") == 18


def test_each_thread_gets_its_own_cursor(tmp_path):
    db = Database(tmp_path / "c.duckdb")
    seen, errors = {}, []
    # Every thread holds its cursor until all have one: a finished thread's cursor could be freed
    # and a later one take its id, so the objects themselves are kept and compared.
    all_have_one = threading.Barrier(6)

    def worker(n):
        try:
            cur = db.cursor()
            for i in range(200):
                assert cur.execute("SELECT ?::INTEGER", [n * 1000 + i]).fetchone()[0] == n * 1000 + i
            assert db.cursor() is cur
            seen[n] = cur
            all_have_one.wait(timeout=30)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    cursors = list(seen.values())
    assert len(cursors) == 6
    assert all(a is not b for i, a in enumerate(cursors) for b in cursors[i + 1 :])


def test_write_retries_a_conflict(tmp_path):
    db = Database(tmp_path / "w.duckdb")
    db.write(lambda cur: cur.execute("INSERT INTO settings VALUES ('counter', '0')"))
    other = db._con.cursor()
    other.begin()
    other.execute("UPDATE settings SET value = '100' WHERE key = 'counter'")
    calls = []

    def bump(cur):
        calls.append(1)
        if len(calls) == 2:  # let the competing transaction finish after our first, failed try
            other.commit()
        cur.execute("UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS VARCHAR) WHERE key = 'counter'")

    db.write(bump)
    assert len(calls) >= 2  # the first attempt conflicted with the open transaction
    assert db.scalar("SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'counter'") == 101


def test_locked_file_gives_a_plain_message_at_once(tmp_path):
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(DatabaseLockedError) as caught:
            Database(path)
        assert str(holder.pid) in str(caught.value) and "占用" in str(caught.value)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "emergency", "stats", "--year", "2024", "--db", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert time.monotonic() - started < 10
        assert result.returncode == 2
        assert f"进程 {holder.pid}" in result.stderr and "--db" in result.stderr
    finally:
        holder.kill()
        holder.wait()
    # The file is intact after the refused attempt.
    assert duckdb.connect(str(path)).execute("SELECT 1").fetchone() == (1,)


def test_referenced_rows_can_be_edited(demo_db_path, tmp_path):
    """Moving a member, re-dating a drill: DuckDB refuses these if an index sits on the column."""
    import shutil

    copy = tmp_path / "edit.duckdb"
    shutil.copy(demo_db_path, copy)
    db = Database(copy)
    member = db.scalar("SELECT min(member_id) FROM certificates")
    drill = db.scalar("SELECT min(drill_id) FROM corrective_actions")
    team = db.scalar("SELECT max(id) FROM teams WHERE disbanded_on IS NULL")
    db.write(lambda cur: cur.execute("UPDATE members SET team_id = ?, id_hmac = 'x' WHERE id = ?", [team, member]))
    db.write(
        lambda cur: cur.execute(
            "UPDATE drills SET held_on = DATE '2024-01-02', township_code = '410325100' WHERE id = ?", [drill]
        )
    )
    db.write(
        lambda cur: cur.execute("UPDATE teams SET township_code = '410325101', kind = 'civil' WHERE id = ?", [team])
    )
    db.write(lambda cur: cur.execute("UPDATE townships SET name = '何村镇' WHERE name = '何村乡'"))
    assert db.scalar("SELECT team_id FROM members WHERE id = ?", [member]) == team


# Generations per table family ---------------------------------------------------------------
def test_a_job_run_leaves_the_registry_generation_and_a_member_write_bumps_it(scratch_db):
    from datetime import datetime

    from emergency import scheduler, teams
    from emergency.db import TZ
    from tests.helpers import user_row

    db = scratch_db
    registry, bookkeeping = db.generation_of("registry"), db.generation_of("bookkeeping")
    scheduler._record(db, "deliver", datetime.now(TZ), True, "无待发送")  # what the scheduler writes each minute
    assert db.generation_of("registry") == registry
    assert db.generation_of("bookkeeping") == (bookkeeping[0] + 1,)
    others = db.generation_of("drills", "calls", "plans")
    member = db.scalar("SELECT min(id) FROM members WHERE training_passed")
    teams.record_training(db, user_row(db, "admin"), member, False, local_today())
    assert db.generation_of("registry") == (registry[0] + 1,)
    assert db.generation_of("drills", "calls", "plans") == others  # other families untouched


def test_memo_keeps_a_read_until_a_write_touches_what_it_reads(scratch_db):
    """The townships a page lists on every rerun are read once: the scheduler's bookkeeping leaves
    them kept, a rename through db.write is seen at once, and a caller changing its copy changes
    nothing for the next."""
    from datetime import datetime

    from emergency import regions, scheduler
    from emergency.db import TZ

    db = scratch_db
    calls: list[int] = []

    def read() -> list[str]:
        calls.append(1)
        return [t["name"] for t in db.query_dicts("SELECT name FROM townships ORDER BY sort_order")]

    first = db.memo(("places",), ("test_names",), read)
    scheduler._record(db, "deliver", datetime.now(TZ), True, "无待发送")  # bookkeeping only
    assert db.memo(("places",), ("test_names",), read) == first and len(calls) == 1
    db.write(lambda cur: cur.execute("UPDATE townships SET name = '何村镇' WHERE name = '何村乡'"))
    assert "何村镇" in db.memo(("places",), ("test_names",), read) and len(calls) == 2

    names = [t["name"] for t in regions.townships(db)]
    assert "何村镇" in names and "何村乡" not in names
    regions.townships(db)[0]["name"] = "改掉的名字"  # a caller's copy
    assert regions.townships(db)[0]["name"] == names[0]
    village = next(iter(regions.village_names(db, "410325100")))
    db.write(lambda cur: cur.execute("UPDATE villages SET name = '新村名' WHERE code = ?", [village]))
    assert regions.village_names(db, "410325100")[village] == "新村名"


def test_a_statement_the_tracker_cannot_read_bumps_every_family(fresh_db):
    from emergency.db import FAMILIES, _written_families

    assert _written_families("SELECT count(*) FROM members") == frozenset()
    assert _written_families("UPDATE login_sessions SET last_seen_at = now()") == {"bookkeeping"}
    assert _written_families(
        "INSERT INTO job_runs (job) VALUES ('x') ON CONFLICT (job) DO UPDATE SET runs = job_runs.runs + 1"
    ) == {"bookkeeping"}
    assert _written_families("WITH x AS (SELECT 1) INSERT INTO members SELECT * FROM x") == {"registry"}
    assert _written_families("INSERT INTO some_new_table VALUES (1)") == set(FAMILIES)  # not classified yet
    assert _written_families("CREATE TABLE t2 (a INT)") == set(FAMILIES)
    before = dict(fresh_db.generations)
    fresh_db.write(lambda cur: cur.execute("CREATE TABLE scratch_gen (a INT)"))
    assert all(fresh_db.generations[f] == before[f] + 1 for f in FAMILIES)
    before = dict(fresh_db.generations)
    fresh_db.write(lambda cur: cur.execute("SELECT 1").fetchall())  # a write that wrote nothing
    assert fresh_db.generations == before


def test_every_table_of_the_schema_belongs_to_one_family(fresh_db):
    """A new table left out of db.FAMILIES makes its writes bump every family: classify it."""
    from emergency.db import FAMILY_OF

    tables = {t for (t,) in fresh_db.query("SELECT table_name FROM information_schema.tables")}
    assert tables - {"schema_version"} <= FAMILY_OF.keys(), sorted(tables - FAMILY_OF.keys())


def test_no_module_reads_the_machines_date():
    """The county's date is db.local_today(): on a UTC server, date.today() is yesterday from 00:00 to
    08:00 in the county (the village clock test failed every evening in UTC)."""
    import re

    package = ROOT / "emergency"
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in package.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bdate\.today\(\)|\bdatetime\.(now|today)\(\)", line)
        and not line.lstrip().startswith(('"', "#"))
        and path.name != "db.py"
    ]
    assert found == []
