"""Roles, township scope below the UI, audit trail, lock-out, personal data."""

import io
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import duckdb
import openpyxl
import pytest
from argon2 import PasswordHasher

from emergency import auth, drills, exports, hygiene, privacy, teams
from emergency.demo import DEMO_PASSWORDS
from tests.helpers import ACCOUNT_CHANGES, change_account

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def user(db, username):
    row = db.query_dicts(
        "SELECT id, username, display_name, role, township_code FROM users WHERE username = ?", [username]
    )[0]
    return auth.User(**row)


def snapshot(db, table, record_id):
    return db.query(f"SELECT * FROM {table} WHERE id = ?", [record_id])


def audit_rows(db):
    return db.scalar("SELECT count(*) FROM audit_log")


def other_township_records(db):
    """A team, member and drill of 田湖镇 (410325101), which town100 (城关镇) must not touch."""
    team = db.scalar("SELECT min(id) FROM teams WHERE township_code = '410325101' AND disbanded_on IS NULL")
    member = db.scalar("SELECT min(id) FROM members WHERE team_id = ?", [team])
    drill = db.scalar("SELECT min(id) FROM drills WHERE township_code = '410325101' AND level = 'township'")
    return team, member, drill


def test_township_operator_cannot_touch_another_township(scratch_db):
    db, op = scratch_db, user(scratch_db, "town100")
    team, member, drill = other_township_records(db)
    before = [snapshot(db, "teams", team), snapshot(db, "members", member), snapshot(db, "drills", drill)]
    logged = audit_rows(db)
    attempts = [
        lambda: teams.update_team(db, op, team, {"name": "改名"}),
        lambda: teams.disband_team(db, op, team, date(2025, 1, 1), "测试"),
        lambda: teams.update_member(db, op, member, {"name": "改名"}),
        lambda: teams.member_leaves(db, op, member, date(2025, 1, 1)),
        lambda: teams.add_member(db, op, {"team_id": team, "name": "张三", "joined_on": date(2025, 1, 1)}),
        lambda: drills.update_drill(db, op, drill, {"participants": 1}),
        lambda: drills.create_drill(
            db,
            op,
            {
                "title": "x",
                "level": "township",
                "organiser": "x",
                "township_code": "410325101",
                "held_on": date(2025, 1, 1),
                "form": "live",
                "content": "single",
                "participants": 5,
            },
            ["ZR-01"],
        ),
        lambda: teams.create_team(
            db,
            op,
            {"name": "县级队", "kind": "professional", "level": "county", "established_on": date(2025, 1, 1)},
            ["flood"],
        ),
    ]
    for attempt in attempts:
        with pytest.raises(auth.PermissionDenied) as caught:
            attempt()
        assert "本乡镇" in str(caught.value)
    assert [snapshot(db, "teams", team), snapshot(db, "members", member), snapshot(db, "drills", drill)] == before
    assert audit_rows(db) == logged


def test_township_operator_cannot_move_own_team_away(scratch_db):
    db, op = scratch_db, user(scratch_db, "town100")
    own = db.scalar("SELECT min(id) FROM teams WHERE township_code = '410325100'")
    with pytest.raises(auth.PermissionDenied):
        teams.update_team(db, op, own, {"township_code": "410325101"})
    assert db.scalar("SELECT township_code FROM teams WHERE id = ?", [own]) == "410325100"


def test_viewer_cannot_write(scratch_db):
    db, viewer = scratch_db, user(scratch_db, "leader")
    team, member, drill = other_township_records(db)
    for attempt in (
        lambda: teams.update_team(db, viewer, team, {"name": "x"}),
        lambda: teams.update_member(db, viewer, member, {"name": "x"}),
        lambda: drills.update_drill(db, viewer, drill, {"participants": 1}),
        lambda: auth.create_user(db, viewer, "x1", "x", "viewer", "abc12345"),
    ):
        with pytest.raises(auth.PermissionDenied):
            attempt()
    assert db.scalar("SELECT count(*) FROM teams WHERE name = 'x'") == 0


def test_own_township_writes_work_and_are_audited(scratch_db):
    db, op = scratch_db, user(scratch_db, "town100")
    team_id = teams.create_team(
        db,
        op,
        {
            "name": "城关镇测试队",
            "kind": "grassroots",
            "level": "township",
            "township_code": "410325100",
            "duty_phone": "１３８ 1234 5678",
            "established_on": date(2025, 3, 1),
        },
        ["flood", "fire"],
    )
    assert db.scalar("SELECT duty_phone FROM teams WHERE id = ?", [team_id]) == "13812345678"  # normalised
    teams.update_team(db, op, team_id, {"leader_name": "李四"})
    member_id, warnings = teams.add_member(
        db,
        op,
        {"team_id": team_id, "name": "王五", "phone": "13912345678", "joined_on": date(2025, 3, 2)},
        "11010519491231002X",
    )
    assert warnings == []
    teams.update_member(db, op, member_id, {"phone": "13700000000"})
    drill_id = drills.create_drill(
        db,
        op,
        {
            "title": "城关镇防汛演练",
            "level": "township",
            "organiser": "城关镇人民政府",
            "township_code": "410325100",
            "held_on": date(2025, 5, 1),
            "form": "live",
            "content": "single",
            "participants": 40,
        },
        ["ZR-01"],
    )
    drills.update_drill(db, op, drill_id, {"participants": 45})
    rows = db.query_dicts(
        "SELECT username, action, table_name, record_id, before, after FROM audit_log"
        " WHERE username = 'town100' ORDER BY id"
    )
    assert [(r["action"], r["table_name"]) for r in rows] == [
        ("create", "teams"),
        ("update", "teams"),
        ("create", "members"),
        ("update", "members"),
        ("create", "drills"),
        ("update", "drills"),
    ]
    update_team = rows[1]
    assert json.loads(update_team["before"]) == {"leader_name": None}
    assert json.loads(update_team["after"]) == {"leader_name": "李四"}
    assert json.loads(rows[5]["before"]) == {"participants": 40} and json.loads(rows[5]["after"]) == {
        "participants": 45
    }
    # phones stay masked even in the audit log; the ID number never appears in it
    assert json.loads(rows[3]["after"]) == {"phone": "137****0000"}
    assert "11010519491231002X" not in json.dumps(rows, default=str)


def test_same_person_twice_is_flagged(scratch_db):
    db, admin = scratch_db, user(scratch_db, "admin")
    cipher, team = db.query("SELECT m.id_cipher, m.team_id FROM members m WHERE m.left_on IS NULL LIMIT 1")[0]
    other = db.scalar("SELECT min(id) FROM teams WHERE id <> ? AND disbanded_on IS NULL", [team])
    _, warnings = teams.add_member(
        db, admin, {"team_id": other, "name": "重复者", "joined_on": date(2025, 1, 1)}, privacy.decrypt_id(cipher)
    )
    assert warnings and "重复" in warnings[0]


def test_invalid_input_changes_nothing(scratch_db):
    db, admin = scratch_db, user(scratch_db, "admin")
    count = db.scalar("SELECT count(*) FROM members")
    team = db.scalar("SELECT min(id) FROM teams")
    with pytest.raises(ValueError, match="校验位"):
        teams.add_member(
            db, admin, {"team_id": team, "name": "错号", "joined_on": date(2025, 1, 1)}, "110105194912310021"
        )
    with pytest.raises(ValueError, match="手机号"):
        teams.add_member(db, admin, {"team_id": team, "name": "错号", "phone": "12345", "joined_on": date(2025, 1, 1)})
    assert db.scalar("SELECT count(*) FROM members") == count


def test_reveal_is_admin_only_and_audited(scratch_db):
    db = scratch_db
    member = db.scalar("SELECT min(id) FROM members")
    for username in ("leader", "town100"):
        with pytest.raises(auth.PermissionDenied):
            teams.reveal_id_number(db, user(db, username), member)
    number = teams.reveal_id_number(db, user(db, "admin"), member)
    assert privacy.validate_id_number(number) is None
    assert db.query("SELECT username, action, record_id FROM audit_log WHERE action = 'reveal'") == [
        ("admin", "reveal", str(member))
    ]


def test_lockout_after_repeated_failures(scratch_db):
    db = scratch_db
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for _ in range(auth.LOCK_AFTER_FAILURES - 1):
        with pytest.raises(auth.LoginError, match="用户名或密码错误"):
            auth.authenticate(db, "town101", "wrong-pass-1", now)
    with pytest.raises(auth.LoginError, match="锁定"):
        auth.authenticate(db, "town101", "wrong-pass-1", now)
    with pytest.raises(auth.LoginError, match="锁定"):  # even the right password, while locked
        auth.authenticate(db, "town101", DEMO_PASSWORDS["township"], now + timedelta(minutes=5))
    later = now + timedelta(minutes=auth.LOCK_MINUTES + 1)
    assert auth.authenticate(db, "town101", DEMO_PASSWORDS["township"], later).township_code == "410325101"
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'login_locked'") == 1


def test_passwords_are_hashed_with_argon2(scratch_db):
    hashes = [h for (h,) in scratch_db.query("SELECT password_hash FROM users")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for h in hashes for p in DEMO_PASSWORDS.values())


def test_session_timeout():
    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert not auth.session_expired(start, start + timedelta(minutes=auth.SESSION_TIMEOUT_MINUTES))
    assert auth.session_expired(start, start + timedelta(minutes=auth.SESSION_TIMEOUT_MINUTES, seconds=1))


def test_exports_are_masked_for_a_viewer_and_neutralise_formulas(scratch_db):
    db, viewer = scratch_db, user(scratch_db, "leader")
    frame = teams.member_list(db, viewer, township_code="410325100")
    frame.loc[frame.index[0], "name"] = '=HYPERLINK("http://x")'
    data = exports.export_xlsx(db, viewer, frame, "队员名单")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    phones = [r[header.index("phone")] for r in values if r[header.index("phone")]]
    assert phones and all("****" in p for p in phones)
    assert all("********" in r[header.index("id_masked")] for r in values if r[header.index("id_masked")])
    assert values[0][header.index("name")].startswith("'=")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'export' AND username = 'leader'") == 1


def test_hygiene_helpers():
    assert hygiene.escape_html("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert (
        hygiene.clean("  城关 　镇 ") == "城关 镇" and hygiene.clean_code("１３８ ０１２３－４５６７") == "13801234567"
    )
    assert hygiene.clean("通信不畅，已整改（见附件）。") == "通信不畅，已整改（见附件）。"  # punctuation kept
    assert hygiene.clean("ＡＢｃ１２") == "ABc12"
    for value in ("=1+1", "+1", "-1", "@SUM(A1)"):
        assert hygiene.neutralise_formula(value) == "'" + value
    assert hygiene.neutralise_formula("正常") == "正常" and hygiene.neutralise_formula(5) == 5
    assert hygiene.check_upload("a.png", b"\x89PNG\r\n\x1a\n....") is None
    assert "不允许" in hygiene.check_upload("a.exe", b"MZ")
    assert "不符" in hygiene.check_upload("a.pdf", b"<html>")
    assert "过大" in hygiene.check_upload("a.pdf", b"%PDF-" + b"0" * 100, max_bytes=50)


def test_cli_creates_the_first_admin_without_echoing(tmp_path):
    db = tmp_path / "users.duckdb"
    env = dict(os.environ, EMERGENCY_PASSWORD="Secret-pass-9")
    result = subprocess.run(
        [sys.executable, "-m", "emergency", "user", "add", "chief", "--role", "admin", "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Secret-pass-9" not in result.stdout + result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emergency",
            "user",
            "add",
            "op",
            "--role",
            "township",
            "--township",
            "城关",
            "--db",
            str(db),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    from emergency.db import Database

    database = Database(db)
    assert auth.authenticate(database, "chief", "Secret-pass-9").role == "admin"
    assert auth.authenticate(database, "op", "Secret-pass-9").township_code == "410325100"
    database.close()
    weak = subprocess.run(
        [sys.executable, "-m", "emergency", "user", "add", "weak", "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, EMERGENCY_PASSWORD="123"),
        timeout=60,
    )
    assert weak.returncode == 1 and "密码至少" in weak.stderr


def test_login_sessions_resume_expire_and_close(scratch_db):
    db = scratch_db
    op = user(db, "town100")
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    token = auth.open_session(db, op, now)
    assert db.scalar("SELECT count(*) FROM login_sessions WHERE token_hash = ?", [token]) == 0  # only a hash kept
    assert auth.resume_session(db, token, now + timedelta(minutes=20)) == op
    # active use keeps it alive past the idle limit counted from login...
    assert auth.resume_session(db, token, now + timedelta(minutes=45)) == op
    # ...but not past 30 idle minutes, nor past the maximum age
    assert auth.resume_session(db, token, now + timedelta(minutes=45 + auth.SESSION_TIMEOUT_MINUTES + 1)) is None
    assert db.scalar("SELECT count(*) FROM login_sessions") == 0  # an expired session is removed
    token = auth.open_session(db, op, now)
    late = now
    for _ in range(auth.SESSION_MAX_HOURS * 4):  # active every 15 minutes, all day
        late += timedelta(minutes=15)
        if auth.resume_session(db, token, late) is None:
            break
    assert late - now <= timedelta(hours=auth.SESSION_MAX_HOURS)
    token = auth.open_session(db, op, now)
    auth.close_session(db, token)
    assert auth.resume_session(db, token, now) is None
    assert auth.resume_session(db, "forged-token", now) is None


# Parallel guesses, a lock taken mid-login, write conflicts ------------------------------------
GUESSER_PASSWORD = "Right-pass-1"


class SlowVerify:
    """The hasher, with verify() taking as long as argon2 does on a real hash (the window in which
    parallel guesses overlap) but sleeping instead of burning the CPU."""

    def __init__(self, hasher, seconds=0.2, during=None):
        self.hasher, self.seconds, self.during = hasher, seconds, during

    def verify(self, digest, password):
        time.sleep(self.seconds)
        if self.during:
            self.during()
        return self.hasher.verify(digest, password)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


def guesser(db):
    """A fresh account with a cheap argon2 hash: the test is about counting, not hashing."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return auth.create_user(
        db, auth.SYSTEM, "guesser", "猜测对象", "viewer", "", password_hash=cheap.hash(GUESSER_PASSWORD)
    )


def login_state(db, username="guesser"):
    return db.query("SELECT failed_logins, locked_until FROM users WHERE username = ?", [username])[0]


def try_login(db, password, username="guesser"):
    """What authenticate raised (or the user it returned): a raw exception must not escape to the page."""
    try:
        return auth.authenticate(db, username, password)
    except Exception as exc:  # noqa: BLE001 - the test inspects whatever it was
        return exc


def test_parallel_wrong_guesses_lock_the_account(scratch_db, monkeypatch):
    db = scratch_db
    guesser(db)
    monkeypatch.setattr(auth, "_hasher", SlowVerify(auth._hasher))
    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda i: try_login(db, f"wrong-pass-{i}"), range(30)))
    assert all(isinstance(r, auth.LoginError) for r in results), [type(r).__name__ for r in results]
    refused = try_login(db, GUESSER_PASSWORD)
    assert isinstance(refused, auth.LoginError) and "锁定" in str(refused)
    failed, locked_until = login_state(db)
    assert locked_until is not None and failed == 0
    # exactly five guesses counted: the ones that came after the lock changed nothing
    counts = dict(db.query("SELECT action, count(*) FROM audit_log WHERE username = 'guesser' GROUP BY action"))
    assert counts == {"login_failed": auth.LOCK_AFTER_FAILURES - 1, "login_locked": 1}


def test_guesses_while_locked_change_nothing(scratch_db):
    db = scratch_db
    guesser(db)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for _ in range(auth.LOCK_AFTER_FAILURES):
        with pytest.raises(auth.LoginError):
            auth.authenticate(db, "guesser", "wrong-pass-1", now)
    locked = login_state(db)
    later = now + timedelta(minutes=3)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: try_login_at(db, f"wrong-pass-{i}", later), range(10)))
    assert all(isinstance(r, auth.LoginError) and "锁定" in str(r) for r in results)
    assert login_state(db) == locked


def try_login_at(db, password, now):
    try:
        return auth.authenticate(db, "guesser", password, now)
    except Exception as exc:  # noqa: BLE001
        return exc


@pytest.mark.parametrize("password", [GUESSER_PASSWORD, "wrong-pass-1"])
def test_lock_taken_during_verification_is_honoured(scratch_db, monkeypatch, password):
    """Another request locks the account while this one is hashing: the lock is checked again in the
    transaction, so this one is refused and cannot clear the lock or restart the count."""
    db = scratch_db
    guesser(db)
    until = datetime.now(UTC) + timedelta(minutes=auth.LOCK_MINUTES)

    def lock_meanwhile():
        db.write(
            lambda cur: cur.execute(
                "UPDATE users SET failed_logins = 0, locked_until = ? WHERE username = 'guesser'", [until]
            )
        )

    monkeypatch.setattr(auth, "_hasher", SlowVerify(auth._hasher, 0, during=lock_meanwhile))
    refused = try_login(db, password)
    assert isinstance(refused, auth.LoginError) and "锁定" in str(refused)
    assert login_state(db) == (0, until)


def test_password_reset_during_login_refuses_the_old_password(scratch_db, monkeypatch):
    db = scratch_db
    guesser(db)
    reset = lambda: auth.set_password(db, auth.SYSTEM, "guesser", "Newer-pass-2")  # noqa: E731
    monkeypatch.setattr(auth, "_hasher", SlowVerify(auth._hasher, 0, during=reset))
    refused = try_login(db, GUESSER_PASSWORD)
    assert isinstance(refused, auth.LoginError) and str(refused) == "用户名或密码错误"


def test_login_write_conflict_is_a_busy_message(scratch_db, monkeypatch):
    db = scratch_db
    guesser(db)

    def conflict(work, **kwargs):
        raise duckdb.TransactionException("TransactionContext Error: Conflict on update!")

    monkeypatch.setattr(db, "write", conflict)
    for password in ("wrong-pass-1", GUESSER_PASSWORD):
        refused = try_login(db, password)
        assert isinstance(refused, auth.LoginError) and str(refused) == "系统繁忙，请稍后再试"


def test_unknown_and_disabled_users_take_as_long_to_refuse_as_known_ones(scratch_db):
    """No user-name probing by the clock: every refusal pays one argon2 check (real demo hashes).
    Measured interleaved, so that a busy machine slows all three alike; medians; a generous bound."""
    db = scratch_db
    db.write(lambda cur: cur.execute("UPDATE users SET is_active = false WHERE username = 'town102'"))

    def refusal(username):
        started = time.perf_counter()
        with pytest.raises(auth.LoginError, match="用户名或密码错误"):
            auth.authenticate(db, username, "wrong-pass-1")
        took = time.perf_counter() - started
        auth.unlock(db, auth.SYSTEM, username)  # keep the known account below the lock-out
        return took

    names = {"known": "town101", "unknown": "no-such-user", "disabled": "town102"}
    for username in names.values():  # warm-up (the first unknown name also makes the dummy hash)
        refusal(username)
    times = {kind: [] for kind in names}
    for _ in range(4):
        for kind, username in names.items():
            times[kind].append(refusal(username))
    median = {kind: statistics.median(values) for kind, values in times.items()}
    assert median["unknown"] >= 0.5 * median["known"], median
    assert median["disabled"] >= 0.5 * median["known"], median


# Account changes end the user's sessions --------------------------------------------------------
@pytest.mark.parametrize("change", ACCOUNT_CHANGES)
def test_account_change_ends_every_session_of_that_user(scratch_db, change):
    db = scratch_db
    op, other = user(db, "town100"), user(db, "town101")
    tokens = [auth.open_session(db, op), auth.open_session(db, op)]  # two browsers
    kept = auth.open_session(db, other)
    change_account(db, change)
    assert [auth.resume_session(db, t) for t in tokens] == [None, None]
    assert auth.resume_session(db, kept) == other
    assert db.scalar("SELECT count(*) FROM audit_log WHERE username = 'admin' AND record_id = 'town100'") == 1


def test_role_and_active_changes(scratch_db):
    db, admin = scratch_db, user(scratch_db, "admin")
    auth.set_role(db, admin, "leader", "township", "410325104")
    assert user(db, "leader").township_code == "410325104"
    auth.set_role(db, admin, "town100", "viewer")
    assert (user(db, "town100").role, user(db, "town100").township_code) == ("viewer", None)
    with pytest.raises(ValueError, match="绑定一个乡镇"):
        auth.set_role(db, admin, "town101", "township", None)
    with pytest.raises(ValueError, match="不存在"):
        auth.set_active(db, admin, "nobody", False)
    with pytest.raises(ValueError, match="自己"):  # the bureau cannot lock itself out by a slip
        auth.set_active(db, admin, "admin", False)
    with pytest.raises(ValueError, match="自己"):
        auth.set_role(db, admin, "admin", "viewer")
    with pytest.raises(auth.PermissionDenied):
        auth.set_active(db, user(db, "town101"), "town102", False)
    auth.set_active(db, admin, "town102", False)
    with pytest.raises(auth.LoginError, match="用户名或密码错误"):  # even with the right password
        auth.authenticate(db, "town102", DEMO_PASSWORDS["township"])
    auth.set_active(db, admin, "town102", True)
    assert auth.authenticate(db, "town102", DEMO_PASSWORDS["township"]).username == "town102"


def test_cli_disables_enables_and_changes_role(scratch_db, capsys):
    from emergency import cli

    db = scratch_db
    token = auth.open_session(db, user(db, "town100"))
    assert cli.main(["user", "role", "town100", "--role", "township", "--township", "田湖", "--db", str(db.path)]) == 0
    assert user(db, "town100").township_code == "410325101" and auth.resume_session(db, token) is None
    assert cli.main(["user", "disable", "town100", "--db", str(db.path)]) == 0
    assert db.scalar("SELECT is_active FROM users WHERE username = 'town100'") is False
    assert cli.main(["user", "enable", "town100", "--db", str(db.path)]) == 0
    assert db.scalar("SELECT is_active FROM users WHERE username = 'town100'") is True
    assert cli.main(["user", "role", "town100", "--db", str(db.path)]) == 1  # no --role: no silent admin
    out = capsys.readouterr()
    assert "已停用" in out.out and "已启用" in out.out and "--role" in out.err
    assert user(db, "town100").role == "township"
