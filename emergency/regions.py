"""Townships and villages of the county, loaded from data/geo/ (NBS 2023 codes, WGS-84 seats).

Villages join townships on the NBS code, never the MCA code (they differ for 8 townships).
A place without a coordinate keeps NULL: nothing is guessed.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .db import DATA_DIR, first_row
from .errors import Problem, ValidationError
from .hygiene import clean

if TYPE_CHECKING:
    from .db import Cursor, Database

GEO_DIR = DATA_DIR / "geo"
TOWNSHIPS_CSV = GEO_DIR / "townships.csv"
VILLAGES_CSV = GEO_DIR / "villages.csv"
COUNTY_OUTLINE_WGS84 = GEO_DIR / "county_410325_wgs84.geojson"
ATTRIBUTION = "行政区划：国家统计局 2023 年统计用区划代码；乡镇驻地坐标与县界：Vonng/adcode（CC BY 4.0）"


def _float(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def read_townships(path: Path = TOWNSHIPS_CSV) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for order, row in enumerate(csv.DictReader(fh)):
            rows.append(
                {
                    "code": row["code"],
                    "name": row["name"],
                    "kind": row["type"],
                    "is_township": row["is_township"] == "1",
                    "mca_code": row["mca_code_2025"] or None,
                    "mca_name": row["mca_name_2025"] or None,
                    "lon": _float(row["lon_wgs84_converted"]),
                    "lat": _float(row["lat_wgs84_converted"]),
                    "coord_source": row["coord_source"] or None,
                    "coord_note": row["coord_note"] or None,
                    "sort_order": order,
                }
            )
    return rows


def read_villages(path: Path = VILLAGES_CSV) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            {
                "code": row["code"],
                "name": row["name"],
                "township_code": row["township_code"],
                "kind": row["kind"],
                "is_virtual": row["kind"] == "林场虚拟单位",
            }
            for row in csv.DictReader(fh)
        ]


def load_places(db: Database) -> tuple[int, int]:
    """Insert the townships and villages that are not yet in the database. Returns the counts added.

    Existing rows are left alone, so a coordinate an administrator set is never overwritten.
    """
    townships, villages = read_townships(), read_villages()
    known_t = {c for (c,) in db.query("SELECT code FROM townships")}
    known_v = {c for (c,) in db.query("SELECT code FROM villages")}
    new_t = [t for t in townships if t["code"] not in known_t]
    new_v = [v for v in villages if v["code"] not in known_v]

    def work(cur: Cursor):
        cur.executemany(
            "INSERT INTO townships (code, name, kind, is_township, mca_code, mca_name, lon, lat,"
            " coord_source, coord_note, sort_order) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    t[k]
                    for k in (
                        "code",
                        "name",
                        "kind",
                        "is_township",
                        "mca_code",
                        "mca_name",
                        "lon",
                        "lat",
                        "coord_source",
                        "coord_note",
                        "sort_order",
                    )
                ]
                for t in new_t
            ],
        ) if new_t else None
        cur.executemany(
            "INSERT INTO villages (code, name, township_code, kind, is_virtual) VALUES (?, ?, ?, ?, ?)",
            [[v["code"], v["name"], v["township_code"], v["kind"], v["is_virtual"]] for v in new_v],
        ) if new_v else None
        # A village's drill clock starts when it enters the system (deadlines.village_deadlines).
        cur.execute(
            "INSERT INTO village_entries SELECT code, current_date FROM villages"
            " WHERE code NOT IN (SELECT village_code FROM village_entries)"
        )

    db.write(work)
    return len(new_t), len(new_v)


def townships(db: Database, *, include_forest_farms: bool = False) -> list[dict]:
    where = "" if include_forest_farms else "WHERE is_township"
    rows = db.memo(
        ("places",),
        ("townships", include_forest_farms),
        lambda: db.query_dicts(f"SELECT * FROM townships {where} ORDER BY sort_order"),
    )
    return [dict(r) for r in rows]  # a copy: callers may change theirs


def township_name(db: Database, code: str) -> str | None:
    return db.scalar("SELECT name FROM townships WHERE code = ?", [code])


def township_code(db: Database, text: str) -> str:
    """The NBS code of a township given as 城关镇, 城关 or 410325100 (normalise.Places.township, the
    one lookup the forms, the imports and the CLI share); ValueError names what was not found."""
    from .normalise import Places

    return str(Places.load(db).township(text))


def township_table(db: Database):
    """Every township and forest farm with its kind, village count and seat (the 区划 page's table);
    说明 says in Chinese where the seat's coordinate comes from (coordinate_note)."""
    frame = db.frame(
        "SELECT t.name AS 名称, t.kind AS 类型, t.code AS 统计区划代码,"
        " CASE WHEN t.is_township THEN '乡镇' ELSE '林场（不计入乡镇）' END AS 性质,"
        " (SELECT count(*) FROM villages v WHERE v.township_code = t.code AND NOT v.is_virtual) AS 村社区数,"
        " coalesce(CAST(round(t.lon, 5) AS VARCHAR) || ', ' || CAST(round(t.lat, 5) AS VARCHAR), '坐标缺失')"
        " AS 驻地坐标WGS84, t.coord_source, t.coord_note FROM townships t ORDER BY t.sort_order"
    )
    frame["说明"] = [coordinate_note(s, n) for s, n in zip(frame.pop("coord_source"), frame.pop("coord_note"))]
    return frame


_PREDECESSOR = re.compile(r"centre of predecessor (\S+) \((\d+)\)")
_INFERRED = re.compile(r"(\d+)/(\d+) of this township's 2023 village base names")


def coordinate_note(source: str | None, note: str | None) -> str:
    """Where a seat coordinate comes from, in Chinese. The reference data (data/geo/townships.csv)
    records its sources in English; an administrator's own note (set_coordinates) is kept as typed.

    >>> coordinate_note("Vonng/adcode 2016 town centre (same code+name)", None)
    '2016年区划数据（Vonng/adcode）中同代码同名乡镇的驻地'
    """
    source, note = clean(source), clean(note)
    if not source:
        return "各数据来源均无驻地坐标，地图上不标注"
    if source.startswith("set by "):
        return note or "管理员设置"
    predecessor = _PREDECESSOR.search(source)
    if predecessor:
        text = f"2016年区划数据（Vonng/adcode）中前身{predecessor.group(1)}（{predecessor.group(2)}）的驻地"
        inferred = _INFERRED.search(note)
        if inferred:
            text += (
                f"；前身由村名推断（2023年{inferred.group(2)}个村中{inferred.group(1)}个村名见于该乡），驻地可能已迁移"
            )
        return text
    if "town centre" in source:
        return "2016年区划数据（Vonng/adcode）中同代码同名乡镇的驻地"
    return note or source


def village_table(db: Database, township_name: str):
    """The villages (virtual ones included) of the township with that name."""
    return db.frame(
        "SELECT v.name AS 名称, v.kind AS 类型, v.code AS 统计区划代码 FROM villages v"
        " JOIN townships t ON t.code = v.township_code WHERE t.name = ? ORDER BY v.code",
        [township_name],
    )


def village_names(db: Database, township_code: str) -> dict[str, str]:
    """{code: name} of the township's villages (not virtual ones), in code order."""

    def read() -> dict[str, str]:
        return dict(
            db.query(
                "SELECT code, name FROM villages WHERE township_code = ? AND NOT is_virtual ORDER BY code",
                [township_code],
            )
        )

    return dict(db.memo(("places",), ("village_names", township_code), read))


def village_count(db: Database) -> int:
    return int(db.scalar("SELECT count(*) FROM villages WHERE NOT is_virtual"))


def villages_without_coordinates(db: Database) -> list[dict]:
    """Villages (not virtual) with no coordinate yet, with their township's name, in township order."""
    return db.query_dicts(
        "SELECT v.code, v.name, t.name AS township_name FROM villages v JOIN townships t ON t.code = v.township_code"
        " WHERE NOT v.is_virtual AND v.lon IS NULL ORDER BY t.sort_order, v.code"
    )


def place_problems(db: Database, township_code: str | None, village_code: str | None) -> list[Problem]:
    """The township exists, and the village (if any) lies in it: the check every form shares."""
    problems = []
    if township_code and not db.scalar("SELECT count(*) FROM townships WHERE code = ?", [township_code]):
        problems.append(Problem("所属乡镇", f"{township_code} 不存在"))
    if village_code and not db.scalar(
        "SELECT count(*) FROM villages WHERE code = ? AND township_code = ?", [village_code, township_code]
    ):
        problems.append(Problem("所属村（社区）", f"{village_code} 不属于所选乡镇"))
    return problems


def missing_coordinates(db: Database) -> list[dict]:
    """Places shown as 'coordinate missing' beside the map, never placed by guess."""
    return db.query_dicts(
        "SELECT code, name, kind, is_township, coord_note FROM townships"
        " WHERE lon IS NULL OR lat IS NULL ORDER BY sort_order"
    )


def short_name(name: str) -> str:
    """城关镇 -> 城关, 木植街乡 -> 木植街: what township staff often type."""
    for suffix in ("镇", "乡", "林场"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def county_outline() -> dict:
    return json.loads(COUNTY_OUTLINE_WGS84.read_text(encoding="utf-8"))


@functools.cache
def _county_rings() -> tuple[tuple[tuple[float, float], ...], ...]:
    rings = []
    for feature in county_outline()["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            rings += [tuple((float(p[0]), float(p[1])) for p in ring) for ring in polygon]
    return tuple(rings)


def inside_ring(lon: float, lat: float, ring) -> bool:
    """Ray casting: whether (lon, lat) lies inside the closed ring of (lon, lat) points (pure)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def inside_county(lon: float, lat: float) -> bool:
    """Whether a WGS-84 point lies inside the county outline (an odd number of rings around it:
    outer rings, minus holes)."""
    return sum(inside_ring(lon, lat, ring) for ring in _county_rings()) % 2 == 1


def county_bounds(margin: float = 0.05) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of the county outline, widened by `margin` degrees."""
    lons: list[float] = []
    lats: list[float] = []
    for feature in county_outline()["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for ring in polygon:
                lons.extend(p[0] for p in ring)
                lats.extend(p[1] for p in ring)
    return min(lons) - margin, min(lats) - margin, max(lons) + margin, max(lats) + margin


def set_coordinates(db: Database, actor, code: str, lon: float, lat: float, note: str | None = None) -> None:
    """An administrator sets a township's (or village's) seat coordinate, in WGS-84. Audited.

    The point must lie within the county outline's bounding box (plus a small margin): a coordinate
    typed in the wrong order or the wrong datum far away is refused rather than drawn.
    """
    from . import audit
    from .auth import require_admin
    from .hygiene import clean

    require_admin(actor, "设置驻地坐标")
    problems = []
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError.single("坐标", "经度和纬度必须是数字") from None
    min_lon, min_lat, max_lon, max_lat = county_bounds()
    if not (min_lon <= lon <= max_lon):
        problems.append(Problem("经度", f"{lon} 不在本县范围内（{min_lon:.2f}—{max_lon:.2f}）"))
    if not (min_lat <= lat <= max_lat):
        problems.append(Problem("纬度", f"{lat} 不在本县范围内（{min_lat:.2f}—{max_lat:.2f}）"))
    table: str | None = (
        "townships"
        if db.scalar("SELECT count(*) FROM townships WHERE code = ?", [code])
        else "villages"
        if db.scalar("SELECT count(*) FROM villages WHERE code = ?", [code])
        else None
    )
    if table is None:
        problems.append(Problem("区划代码", f"{code} 不存在"))
    if problems or table is None:
        raise ValidationError(problems)
    note = clean(note) or "管理员设置（WGS-84）"

    def work(cur: Cursor):
        lon_before, lat_before = first_row(cur, f"SELECT lon, lat FROM {table} WHERE code = ?", [code])
        before = {"lon": lon_before, "lat": lat_before}  # read inside: the audit's before is the replaced value
        if table == "townships":
            cur.execute(
                "UPDATE townships SET lon = ?, lat = ?, coord_source = ?, coord_note = ? WHERE code = ?",
                [lon, lat, f"set by {actor.username}", note, code],
            )
        else:
            cur.execute("UPDATE villages SET lon = ?, lat = ? WHERE code = ?", [lon, lat, code])
        audit.record(cur, actor, "update", table, code, before, {"lon": lon, "lat": lat, "note": note})

    db.write(work)


def villages_with_coordinates(db: Database) -> list[dict]:
    return db.query_dicts(
        "SELECT v.code, v.name, v.township_code, v.lon, v.lat FROM villages v"
        " WHERE v.lon IS NOT NULL AND v.lat IS NOT NULL ORDER BY v.code"
    )
