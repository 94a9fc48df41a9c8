"""Shared fixtures: a private key file, and a demo database built once per test session."""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

import pytest

from tests.helpers import ROOT, MailServer, RobotServer, user_row

# No scheduler in the test process: AppTest runs the pages here, on a demo database that must stay
# untouched (tests that need it start it themselves; servers started by tests switch it back on).
os.environ.setdefault("EMERGENCY_SCHEDULER", "off")


@pytest.fixture(scope="session", autouse=True)
def _private_key(tmp_path_factory):
    """Tests never touch the developer's real key (kept outside data/)."""
    key = tmp_path_factory.mktemp("key") / "secret.key"
    os.environ["EMERGENCY_KEY_FILE"] = str(key)
    yield key


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory, _private_key) -> Path:
    """A demo database file, built once; tests that write use fresh_db instead."""
    from emergency.db import Database
    from emergency.setup import ensure_ready_with_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    db = Database(path)
    ensure_ready_with_demo(db)
    db.close()
    return path


@pytest.fixture(scope="session")
def demo_db(demo_db_path):
    from emergency.db import Database

    db = Database(demo_db_path)
    yield db
    db.close()


@pytest.fixture
def fresh_db(tmp_path):
    """An initialised database (places and plans, no demo) in its own file."""
    from emergency.db import Database
    from emergency.setup import initialise

    db = Database(tmp_path / "fresh.duckdb")
    initialise(db)
    yield db
    db.close()


@pytest.fixture
def scratch_db(demo_db_path, tmp_path):
    """A private copy of the demo database, for tests that write."""
    import shutil

    from emergency.db import Database

    path = tmp_path / "scratch.duckdb"
    shutil.copy(demo_db_path, path)
    attachments = demo_db_path.parent / "attachments"  # the demo archive's sample files
    if attachments.is_dir():
        shutil.copytree(attachments, tmp_path / "attachments")
    db = Database(path)
    yield db
    db.close()


@pytest.fixture
def log_in(demo_db):
    """log_in(at, username, db=None): give AppTest `at` the state of a browser that has logged in as the
    demo account `username`: a real login_sessions row (every rerun checks it) and its token.
    Sessions opened in the shared demo database are closed again after the test."""
    from dataclasses import asdict
    from datetime import datetime

    from emergency import auth

    opened = []

    def do(at, username: str, db=None) -> str:
        db = db or demo_db
        account = user_row(db, username)
        token = auth.open_session(db, account)
        if db is demo_db:
            opened.append(token)
        at.session_state["user"] = asdict(account)
        at.session_state["last_seen"] = datetime.now(UTC)
        at.session_state["token"] = token
        return token

    yield do
    for token in opened:
        auth.close_session(demo_db, token)


@pytest.fixture
def app(demo_db, demo_db_path, monkeypatch, log_in):
    """Run app.py with AppTest as a logged-in demo user: app(page=None, as_user="admin", db=None, **query).

    as_user=None runs it logged out; db=scratch_db runs it on a private copy (for tests that write).
    """
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EMERGENCY_DB", str(demo_db_path))
    monkeypatch.chdir(ROOT)

    def run(page: str | None = None, as_user: str | None = "admin", db=None, **query) -> AppTest:
        if db is not None:
            monkeypatch.setenv("EMERGENCY_DB", str(db.path))
        db = db or demo_db
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if as_user:  # a session that has logged in; the login form itself is tested in test_pages.py
            log_in(at, as_user, db)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    return run


@pytest.fixture
def mail():
    """A local SMTP server (aiosmtpd) for the tests that send e-mail; `mail.messages` holds what arrived."""
    server = MailServer()
    yield server
    server.close()


@pytest.fixture
def robot():
    """A local HTTP server standing for the WeCom / DingTalk robots and the SMS gateway."""
    server = RobotServer()
    yield server
    server.close()
