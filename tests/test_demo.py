import hashlib
import random

import pytest

from emergency import demo, privacy
from emergency.db import Database
from emergency.demo.generator import spread_total, village_short_name
from emergency.setup import initialise
from emergency.stats import year_stats
from tests.helpers import REPORT_2024


def test_demo_reproduces_the_county_report(demo_db):
    figures = year_stats(demo_db, 2024)
    for key, value in REPORT_2024.items():
        assert figures[key] == value, key
    assert 12100 <= figures["county_township_participants"] <= 12199


def test_figures_are_computed_from_history_not_stored(demo_db):
    # There is more in the tables than the year-end figures: history the filters must exclude.
    assert demo_db.scalar("SELECT count(*) FROM teams") > 388
    assert demo_db.scalar("SELECT count(*) FROM teams WHERE disbanded_on IS NOT NULL") > 0
    assert demo_db.scalar("SELECT count(*) FROM members WHERE left_on IS NOT NULL") > 0
    assert demo_db.scalar("SELECT count(*) FROM drills WHERE year(held_on) <> 2024") > 0
    assert year_stats(demo_db, 2025)["teams"] != 388 or year_stats(demo_db, 2025)["members"] != 7349
    # Moving one 2024 township drill into 2023 changes the figure: nothing is typed in.
    victim = demo_db.scalar("SELECT min(id) FROM drills WHERE level = 'township' AND year(held_on) = 2024")
    cur = demo_db.cursor()
    cur.begin()
    try:
        cur.execute("UPDATE drills SET held_on = DATE '2023-12-30' WHERE id = ?", [victim])
        assert year_stats(demo_db, 2024)["county_township_drills"] == 91
    finally:
        cur.rollback()


def test_demo_spreads_plausibly(demo_db):
    # Every township has a township comprehensive team; many villages have a village team.
    assert (
        demo_db.scalar(
            "SELECT count(DISTINCT township_code) FROM teams WHERE level = 'township' AND name LIKE '%综合队'"
        )
        == 16
    )
    assert demo_db.scalar("SELECT count(DISTINCT village_code) FROM teams WHERE level = 'village'") > 200
    kinds = {k for (k,) in demo_db.query("SELECT DISTINCT kind FROM teams")}
    assert kinds == {"fire_rescue", "professional", "grassroots", "enterprise", "civil"}
    assert demo_db.scalar("SELECT count(*) FROM drills WHERE level = 'village' AND year(held_on) = 2024") > 0
    assert demo_db.scalar("SELECT count(*) FROM planned_drills WHERE planned_on > DATE '2026-11-25'") > 0
    assert demo_db.scalar("SELECT count(DISTINCT year(held_on)) FROM drills") >= 5
    # Somebody is counted in two teams (roster health has something to find).
    assert demo_db.scalar("SELECT count(*) FROM (SELECT id_hmac FROM members GROUP BY 1 HAVING count(*) > 1)") > 0


def test_demo_people_are_valid_and_marked(demo_db):
    rows = demo_db.query("SELECT phone, id_cipher, id_masked, birth_date, is_demo FROM members USING SAMPLE 200 ROWS")
    for _phone, cipher, masked, born, is_demo in rows:
        assert is_demo
        number = privacy.decrypt_id(cipher)
        assert privacy.validate_id_number(number) is None
        assert privacy.birth_date_from_id(number) == born
        assert masked == privacy.mask_id(number)
    valid = sum(privacy.validate_mobile(p) is None for p, *_ in rows)
    assert valid >= 190  # a few malformed phones on purpose, as real rosters have


def _fingerprint(db):
    digest = hashlib.sha256()
    for table, cols in (
        ("teams", "name, kind, level, township_code, established_on, disbanded_on"),
        ("members", "team_id, name, phone, id_hmac, joined_on, left_on"),
        ("drills", "title, level, held_on, participants"),
    ):
        for row in db.query(f"SELECT {cols} FROM {table} ORDER BY id"):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def test_same_seed_same_data(tmp_path, demo_db):
    db = Database(tmp_path / "again.duckdb")
    initialise(db)
    demo.generate(db)
    assert _fingerprint(db) == _fingerprint(demo_db)


def test_scale_multiplies_the_figures(tmp_path):
    db = Database(tmp_path / "x2.duckdb")
    initialise(db)
    demo.generate(db, scale=2)
    figures = year_stats(db, 2024)
    assert figures["teams"] == 776 and figures["members"] == 14698
    assert figures["county_township_drills"] == 184 and figures["sector_participants"] == 13934
    assert 24200 <= figures["county_township_participants"] <= 24398


def test_demo_refuses_a_database_with_data(demo_db):
    with pytest.raises(RuntimeError, match="已有"):
        demo.generate(demo_db)


@pytest.mark.parametrize("seed", range(20))
def test_spread_total_hits_the_total_within_bounds(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 300)
    lows = [rng.randint(0, 20) for _ in range(n)]
    highs = [lo + rng.randint(0, 50) for lo in lows]
    total = rng.randint(sum(lows), sum(highs))
    values = spread_total(rng, lows, highs, total)
    assert sum(values) == total and all(lo <= v <= hi for v, lo, hi in zip(values, lows, highs))
    with pytest.raises(ValueError):
        spread_total(rng, lows, highs, sum(highs) + 1)


def test_village_short_name():
    assert village_short_name("西源头村村民委员会") == "西源头村"
    assert village_short_name("安康社区居民委员会") == "安康社区"
    assert village_short_name("黄庄村民委员会") == "黄庄村"


def test_the_stored_demo_password_hashes_verify_and_need_no_rehash(demo_db):
    """The demo's accounts use hashes computed once (no argon2 run at first start): each verifies its
    published password with auth's current parameters, and the demo's accounts carry them."""
    from emergency import auth
    from emergency.demo.generator import DEMO_PASSWORD_HASHES, DEMO_PASSWORDS

    assert DEMO_PASSWORD_HASHES.keys() == DEMO_PASSWORDS.keys()
    for role, password in DEMO_PASSWORDS.items():
        stored = DEMO_PASSWORD_HASHES[role]
        assert auth._hasher.verify(stored, password)
        assert not auth._hasher.check_needs_rehash(stored)  # regenerate them if auth's parameters change
    stored_in_demo = dict(demo_db.query("SELECT role, password_hash FROM users WHERE username IN ('admin', 'leader')"))
    assert stored_in_demo == {"admin": DEMO_PASSWORD_HASHES["admin"], "viewer": DEMO_PASSWORD_HASHES["viewer"]}
