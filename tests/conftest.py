"""Shared fixtures: a private key file, and a demo database built once per test session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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
    db = Database(path)
    yield db
    db.close()
