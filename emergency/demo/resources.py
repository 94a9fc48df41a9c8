"""Demo rows of the emergency resources: depots and stock, team bases, shelters, hazard points, experts.

Deterministic (its own seeded rng), synthetic and flagged is_demo (people from demo.fake_name /
fake_mobile). Coordinates are never invented: a depot, a shelter or a team base "at the township
government" takes the township seat's real coordinate from data/geo/townships.csv (none where the
seat has none, e.g. 白河镇); hazard points lie in real villages, which have no coordinates in
data/geo, so they are left without one (the map lists them as unplaced). Relative to DEMO_NOW some
batches expire within the reminder lead time and a few depots hold less than their minimum, so the
sweep has something to remind. Nothing here touches the 2024 report figures.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING

from ..db import advance_sequence, insert_frame
from ..enums import HAZARD_DOMAINS, HAZARD_POINT_KINDS, TEAM_READINESS
from ..regions import read_townships, read_villages
from .generator import fake_mobile, fake_name
from .linkage import DEMO_NOW

if TYPE_CHECKING:
    from ..db import Cursor, Database

TODAY = DEMO_NOW.date()
COUNTY_SEAT = "410325100"  # 城关镇: the county government's seat
DEPOT_STOCK = {  # item -> (low, high) quantity of a township depot
    "tent": (10, 40),
    "quilt": (50, 200),
    "life_jacket": (30, 120),
    "sandbag": (500, 3000),
    "pump": (1, 4),
    "generator": (1, 3),
    "chain_saw": (2, 6),
    "wind_extinguisher": (4, 12),
    "flashlight": (20, 60),
    "drinking_water": (20, 80),
    "instant_food": (20, 80),
}
PERISHABLE = ("drinking_water", "instant_food")
MAINTAINED = ("pump", "generator", "chain_saw", "wind_extinguisher")
HAZARD_NAMES = {
    "geological": ("后山滑坡", "北坡崩塌", "沟口泥石流", "西岭不稳定斜坡"),
    "flash_flood": ("河道沿岸山洪危险区", "沟道下游山洪危险区"),
    "waterlogging": ("低洼易涝点", "下穿通道易涝点"),
}
EXPERT_UNITS = ("县自然资源局", "县水利局", "县林业局", "县气象局", "县人民医院", "县消防救援大队", "县住建局")


def extend(db: Database, scale: int, rng: random.Random) -> dict:
    """The resources demo (see the module docstring); returns rows written per table."""
    towns = [t for t in read_townships() if t["is_township"]]
    seats = {t["code"]: t for t in towns}
    villages: dict[str, list[dict]] = {}
    for v in read_villages():
        if not v["is_virtual"] and v["kind"] != "社区/居委会":
            villages.setdefault(v["township_code"], []).append(v)
    depots, stock, minimums = _depots(db, towns, seats, rng)
    shelters = _shelters(db, towns, rng)
    hazards = _hazards(db, towns, villages, shelters, rng)
    bases = _team_bases(db, seats, rng)
    experts = _experts(rng)
    tables = [
        ("depots", depots),
        ("stock", stock),
        ("stock_minimums", minimums),
        ("shelters", shelters),
        ("hazard_points", hazards),
        ("team_bases", bases),
        ("experts", experts),
    ]

    def work(cur: Cursor):
        for table, rows in tables:
            if rows:
                insert_frame(cur, table, rows)
        for table in ("depots", "stock", "shelters", "hazard_points"):
            advance_sequence(cur, table)

    db.write(work)
    return {table: len(rows) for table, rows in tables}


def _offset(db: Database, table: str) -> int:
    return int(db.scalar(f"SELECT coalesce(max(id), 0) FROM {table}"))


def _seat(town: dict | None) -> tuple[float | None, float | None]:
    return (town["lon"], town["lat"]) if town else (None, None)


def _depots(db: Database, towns: list[dict], seats: dict, rng: random.Random):
    depot_id, stock_id = _offset(db, "depots"), _offset(db, "stock")
    depots, stock, minimums = [], [], []
    lon, lat = _seat(seats.get(COUNTY_SEAT))
    plan: list[tuple[str, str, str | None, str | None, float | None, float | None]] = [
        ("嵩县应急物资储备库（演示）", "county", None, "县城（县应急管理局）", lon, lat)
    ]
    for t in towns:
        plan.append(
            (
                f"{t['name']}应急物资储备点（演示）",
                "township",
                t["code"],
                f"{t['name']}人民政府院内",
                t["lon"],
                t["lat"],
            )
        )
    plan.append(("县城商超协议储备（演示）", "agreement", None, None, None, None))
    for name, level, township, address, lon, lat in plan:
        depot_id += 1
        depots.append(
            {
                "id": depot_id,
                "name": name,
                "level": level,
                "township_code": township,
                "village_code": None,
                "address": address,
                "lon": lon,
                "lat": lat,
                "custodian_name": fake_name(rng),
                "custodian_phone": fake_mobile(rng),
                "is_demo": True,
            }
        )
        factor = 5 if level == "county" else 1
        for item, (low, high) in DEPOT_STOCK.items():
            if level == "agreement" and item not in PERISHABLE:
                continue
            stock_id += 1
            expires = TODAY + timedelta(days=rng.randrange(10, 400)) if item in PERISHABLE else None
            maintain = TODAY + timedelta(days=rng.randrange(15, 300)) if item in MAINTAINED else None
            quantity = rng.randint(low, high) * factor
            stock.append(
                {
                    "id": stock_id,
                    "depot_id": depot_id,
                    "item_code": item,
                    "batch": f"{TODAY.year - rng.randrange(0, 3)}-{rng.randrange(1, 13):02d}",
                    "quantity": quantity,
                    "expires_on": expires,
                    "maintain_on": maintain,
                }
            )
            if level == "township" and item in ("tent", "life_jacket", "sandbag"):
                # most depots keep their minimum; about one in six falls short of it
                short = rng.random() < 0.17
                minimum = quantity + rng.randint(1, 10) if short else max(1, quantity // 2)
                minimums.append({"depot_id": depot_id, "item_code": item, "min_quantity": minimum})
    return depots, stock, minimums


def _shelters(db: Database, towns: list[dict], rng: random.Random) -> list[dict]:
    shelter_id, rows = _offset(db, "shelters"), []
    for t in towns:
        for name, kind, at_seat in (
            (f"{t['name']}政府广场避难场所（演示）", "square", True),
            (f"{t['name']}中心学校避难场所（演示）", "school", False),
        ):
            shelter_id += 1
            rows.append(
                {
                    "id": shelter_id,
                    "name": name,
                    "kind": kind,
                    "township_code": t["code"],
                    "village_code": None,
                    "address": f"{t['name']}人民政府" if at_seat else None,
                    "lon": t["lon"] if at_seat else None,
                    "lat": t["lat"] if at_seat else None,
                    "capacity": rng.randrange(300, 2000, 50),
                    "area_m2": float(rng.randrange(2000, 12000, 500)),
                    "facilities": "应急照明、饮用水、临时厕所",
                    "manager_name": fake_name(rng),
                    "manager_phone": fake_mobile(rng),
                    "is_open": True,
                    "is_demo": True,
                }
            )
    return rows


def _hazards(db: Database, towns: list[dict], villages: dict, shelters: list[dict], rng: random.Random) -> list[dict]:
    hazard_id, rows = _offset(db, "hazard_points"), []
    shelter_of = {s["township_code"]: s["id"] for s in shelters if s["lon"] is not None}
    for t in towns:
        candidates = villages.get(t["code"], [])
        for n, village in enumerate(rng.sample(candidates, min(len(candidates), rng.randint(2, 4))), start=1):
            kind = rng.choice([k for k in HAZARD_POINT_KINDS if k in HAZARD_NAMES])
            households = rng.randint(3, 40)
            hazard_id += 1
            rows.append(
                {
                    "id": hazard_id,
                    "code": f"{t['code']}-H{n:03d}",
                    "name": f"{village['name'].removesuffix('村民委员会').removesuffix('村委会')}"
                    f"{rng.choice(HAZARD_NAMES[kind])}（演示）",
                    "kind": kind,
                    "township_code": t["code"],
                    "village_code": village["code"],
                    "lon": None,  # villages have no coordinate in data/geo: never guessed
                    "lat": None,
                    "people_threatened": households * rng.randint(2, 4),
                    "households": households,
                    "responsible_name": fake_name(rng),
                    "responsible_phone": fake_mobile(rng),
                    "monitor_name": fake_name(rng),
                    "monitor_phone": fake_mobile(rng),
                    "shelter_id": shelter_of.get(t["code"]),
                    "evacuation_route": "沿村道撤离至乡镇避难场所",
                    "is_demo": True,
                }
            )
    return rows


def _team_bases(db: Database, seats: dict, rng: random.Random) -> list[dict]:
    """The first township-level team of each township is based at its township government."""
    rows, seen = [], set()
    for team_id, township in db.query(
        "SELECT id, township_code FROM teams WHERE level = 'township' AND disbanded_on IS NULL"
        " AND township_code IS NOT NULL ORDER BY id"
    ):
        if township in seen or township not in seats or seats[township]["lon"] is None:
            continue
        seen.add(township)
        rows.append(
            {
                "team_id": team_id,
                "address": f"{seats[township]['name']}人民政府",
                "lon": seats[township]["lon"],
                "lat": seats[township]["lat"],
                "staffing": "part",
                "supervising_unit": f"{seats[township]['name']}人民政府",
                "readiness": rng.choice(list(TEAM_READINESS)),
            }
        )
    return rows


def _experts(rng: random.Random) -> list[dict]:
    fields = ["geological", "flood", "forest_fire", "medical", "hazchem", "weather", "construction", "fire"]
    return [
        {
            "name": fake_name(rng),
            "field": field,
            "unit": rng.choice(EXPERT_UNITS),
            "title": rng.choice(("工程师", "高级工程师", "主任医师", "副研究员")),
            "phone": fake_mobile(rng),
            "township_code": None,
            "availability": "available" if n % 5 else "busy",
            "is_demo": True,
        }
        for n, field in enumerate(fields + fields[:4])
        if field in HAZARD_DOMAINS
    ]
