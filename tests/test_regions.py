import csv

import pytest

from emergency import regions


def test_places_are_the_real_county(fresh_db):
    db = fresh_db
    assert db.scalar("SELECT count(*) FROM townships WHERE is_township") == 16
    assert db.scalar("SELECT count(*) FROM townships WHERE NOT is_township AND kind = '林场'") == 3
    assert db.scalar("SELECT count(*) FROM villages WHERE NOT is_virtual") == 337
    assert db.scalar("SELECT count(*) FROM villages WHERE is_virtual") == 3
    # Villages join townships on the NBS code: every village's code starts with its township's.
    assert (
        db.scalar(
            "SELECT count(*) FROM villages v JOIN townships t ON t.code = v.township_code"
            " WHERE NOT starts_with(v.code, t.code)"
        )
        == 0
    )


def test_coordinates_are_wgs84_and_never_guessed(fresh_db):
    with open(regions.TOWNSHIPS_CSV, encoding="utf-8") as fh:
        source = {row["name"]: row for row in csv.DictReader(fh)}
    for row in fresh_db.query_dicts("SELECT name, lon, lat FROM townships"):
        src = source[row["name"]]
        if src["lon_wgs84_converted"]:
            assert row["lon"] == float(src["lon_wgs84_converted"]) and row["lat"] == float(src["lat_wgs84_converted"])
            assert row["lon"] != float(src["lon_gcj02"])  # not the GCJ-02 value
        else:
            assert row["lon"] is None and row["lat"] is None
    missing = [m["name"] for m in regions.missing_coordinates(fresh_db)]
    assert "白河镇" in missing and "城关镇" not in missing


def test_reloading_keeps_a_coordinate_set_by_an_admin(fresh_db):
    fresh_db.write(lambda cur: cur.execute("UPDATE townships SET lon = 111.9, lat = 33.9 WHERE name = '白河镇'"))
    assert regions.load_places(fresh_db) == (0, 0)
    assert fresh_db.query("SELECT lon, lat FROM townships WHERE name = '白河镇'") == [(111.9, 33.9)]


def test_short_name():
    assert regions.short_name("城关镇") == "城关"
    assert regions.short_name("木植街乡") == "木植街"


def test_attribution_and_outline_ship_with_the_project():
    assert "CC BY 4.0" in (regions.GEO_DIR / "SOURCES.md").read_text(encoding="utf-8")
    outline = regions.county_outline()
    ring = outline["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) > 1000 and all(111 < lon < 113 and 33 < lat < 35 for lon, lat in ring)


def test_one_township_lookup_takes_name_short_name_or_code(fresh_db):
    # The CLI (`user --township`), the forms and the imports share normalise.Places.township.
    for text in ("城关镇", "城关", "410325100", " 城关 "):
        assert regions.township_code(fresh_db, text) == "410325100"
    assert regions.township_code(fresh_db, "木植街") == regions.township_code(fresh_db, "木植街乡")
    with pytest.raises(ValueError, match="找不到乡镇"):
        regions.township_code(fresh_db, "不存在乡")
