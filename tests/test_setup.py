"""A real database stays real: the demo goes only into a database made for it (setup.py)."""

import pytest

from emergency import auth, setup


def _demo_rows(db) -> int:
    return sum(
        db.scalar(f"SELECT count(*) FROM {table} WHERE is_demo")
        for table in ("teams", "members", "drills", "enterprises", "users", "contacts")
    )


def test_a_new_database_is_filled_and_marked_demo(fresh_db):
    assert setup.database_kind(fresh_db) is None
    assert setup.ensure_ready_with_demo(fresh_db) is True
    assert setup.database_kind(fresh_db) == "demo"
    assert _demo_rows(fresh_db) > 0
    assert setup.mark_real(fresh_db) is False  # a demo stays a demo
    assert setup.database_kind(fresh_db) == "demo"


def test_a_marked_database_is_never_filled(fresh_db):
    assert setup.mark_real(fresh_db) is True
    assert setup.ensure_ready_with_demo(fresh_db) is False
    assert _demo_rows(fresh_db) == 0
    with pytest.raises(ValueError, match="正式数据库"):
        setup.fill_with_demo(fresh_db)
    assert fresh_db.scalar("SELECT count(*) FROM teams") == 0


def test_a_database_with_a_real_account_counts_as_real_without_the_mark(fresh_db):
    """Files init-ed before the mark existed: an admin created with `user add` makes them real."""
    auth.create_user(fresh_db, auth.SYSTEM, "chief", "县应急管理局", "admin", "Chief-pass-2026")
    assert fresh_db.setting(setup.KIND_SETTING) is None
    assert setup.is_real(fresh_db)
    assert setup.ensure_ready_with_demo(fresh_db) is False
    assert _demo_rows(fresh_db) == 0
