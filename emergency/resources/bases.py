"""Team bases, readiness and itemised equipment, in side tables beside `teams`.

`teams` cannot take new columns (members reference it, and DuckDB 2.0.1 refuses ALTER TABLE on a
referenced table), so a team's base address and coordinate (WGS-84, set on the map page or
imported; never guessed from its township), full- or part-time staffing, supervising unit and
readiness live in `team_bases`, one row per team, and its equipment and vehicles in
`team_equipment`, from the catalogue of enums.RESOURCE_ITEMS. The team's existence and township are
checked here (no foreign key), and its township is the scope of the write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import audit, regions
from ..auth import User, require_write
from ..db import row_dict
from ..enums import RESOURCE_ITEMS, TEAM_READINESS, TEAM_STAFFING
from ..errors import Problem, ValidationError
from ..hygiene import clean, is_blank
from .registry import coordinate_problems
from .stock import item_name, item_unit

if TYPE_CHECKING:
    import pandas as pd

    from ..db import Cursor, Database

BASE_FIELDS = ("address", "lon", "lat", "staffing", "supervising_unit", "readiness")
BASE_LABELS = {
    "address": "驻地地址",
    "lon": "经度",
    "lat": "纬度",
    "staffing": "专兼职",
    "supervising_unit": "主管单位",
    "readiness": "备勤状态",
}


def _team(cur: Cursor, team_id: int) -> dict:
    team = row_dict(cur, "SELECT id, name, township_code, disbanded_on FROM teams WHERE id = ?", [team_id])
    if not team:
        raise ValidationError.single("队伍", f"编号 {team_id} 不存在")
    return team


def base_problems(data: dict) -> list[Problem]:
    """A base's checks (pure): the coordinate WGS-84 inside the county outline (not only its
    bounding box: a base is where the team sets out from), staffing and readiness from their lists."""
    problems = coordinate_problems(data.get("lon"), data.get("lat"))
    lon, lat = data.get("lon"), data.get("lat")
    if not problems and lon is not None and lat is not None and not regions.inside_county(lon, lat):
        problems.append(Problem("经纬度", f"（{lon:.6f}, {lat:.6f}）在县界以外（须为县内驻地的 WGS-84 经纬度）"))
    if data.get("staffing") is not None and data["staffing"] not in TEAM_STAFFING:
        problems.append(Problem("专兼职", f"必须是 {'、'.join(TEAM_STAFFING.values())} 之一"))
    if data.get("readiness") is not None and data["readiness"] not in TEAM_READINESS:
        problems.append(Problem("备勤状态", f"必须是 {'、'.join(TEAM_READINESS.values())} 之一"))
    return problems


def _normalised(data: dict) -> dict:
    out: dict[str, Any] = {}
    for name in BASE_FIELDS:
        value: Any = data.get(name)
        if name not in ("lon", "lat"):
            out[name] = clean(value) or None
        else:
            out[name] = None if is_blank(value) else float(value)
    return out


def team_base(db: Database, team_id: int) -> dict:
    """A team's base as its form draws it (every field None when nothing is recorded yet)."""
    row = row_dict(db.cursor(), f"SELECT {', '.join(BASE_FIELDS)} FROM team_bases WHERE team_id = ?", [team_id])
    return row or dict.fromkeys(BASE_FIELDS)


def set_team_base(db: Database, actor: User, team_id: int, data: dict) -> dict:
    """Record (or change) a team's base and readiness; in the team's township scope; audited."""
    after = _normalised(data)
    problems = base_problems(after)
    if problems:
        raise ValidationError(problems)

    return db.write(lambda cur: put_base(cur, actor, team_id, after))


def put_base(cur: Cursor, actor: User, team_id: int, after: dict) -> dict:
    """set_team_base's work inside the caller's transaction (the team-bases import writes many in
    one): the team in scope, its row replaced, audited when something changed. `after` is checked
    (_normalised, base_problems) by the caller."""
    team = _team(cur, team_id)
    require_write(actor, team["township_code"], "修改其他乡镇队伍的驻地")
    before = row_dict(cur, f"SELECT {', '.join(BASE_FIELDS)} FROM team_bases WHERE team_id = ?", [team_id])
    old, new = audit.changed(before or dict.fromkeys(BASE_FIELDS), after)
    if not new:
        return after
    cur.execute("DELETE FROM team_bases WHERE team_id = ?", [team_id])
    cur.execute(
        f"INSERT INTO team_bases (team_id, {', '.join(BASE_FIELDS)}) VALUES (?, {', '.join('?' * len(BASE_FIELDS))})",
        [team_id, *(after[k] for k in BASE_FIELDS)],
    )
    audit.record(cur, actor, "update", "team_bases", team_id, old, new)
    return after


def set_team_equipment(db: Database, actor: User, team_id: int, items: dict[str, int]) -> None:
    """Replace a team's itemised equipment: {item code: quantity} (0 removes the item). Audited."""
    problems = []
    for code, quantity in items.items():
        if code not in RESOURCE_ITEMS:
            problems.append(Problem("装备", f"“{code}”不在物资目录中"))
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            problems.append(Problem(item_name(code), "数量须为不小于 0 的整数"))
    if problems:
        raise ValidationError(problems)
    db.write(lambda cur: put_equipment(cur, actor, team_id, items))


def put_equipment(cur: Cursor, actor: User, team_id: int, items: dict[str, int], *, replace: bool = True) -> dict:
    """set_team_equipment's work inside the caller's transaction: the team in scope; its list replaced
    by `items` (replace) or `items` set over it (the equipment import: the items of the file change,
    the others stay); a quantity 0 removes the item. Audited. Returns the list as stored."""
    team = _team(cur, team_id)
    require_write(actor, team["township_code"], "修改其他乡镇队伍的装备")
    before = dict(cur.execute("SELECT item_code, quantity FROM team_equipment WHERE team_id = ?", [team_id]).fetchall())
    merged = dict(items) if replace else {**before, **items}
    kept = {c: q for c, q in merged.items() if q}
    cur.execute("DELETE FROM team_equipment WHERE team_id = ?", [team_id])
    for code, quantity in kept.items():
        cur.execute(
            "INSERT INTO team_equipment (team_id, item_code, quantity) VALUES (?, ?, ?)", [team_id, code, quantity]
        )
    audit.record(cur, actor, "update", "team_equipment", team_id, before, kept)
    return kept


def equipment_of(db: Database, team_id: int) -> list[dict]:
    return [
        {"item_code": c, "name": item_name(c), "unit": item_unit(c), "quantity": q}
        for c, q in db.query(
            "SELECT item_code, quantity FROM team_equipment WHERE team_id = ? ORDER BY item_code", [team_id]
        )
    ]


def team_bases(db: Database) -> list[dict]:
    """Every team not disbanded that has a base coordinate: id, name, township, lat, lon, the base's
    fields and its equipment as text (the map layer, the CLI, the nearest-team rule)."""
    found = db.query_dicts(
        "SELECT t.id, t.name, t.township_code, w.name AS township_name, b.lat, b.lon, b.address, b.staffing,"
        " b.supervising_unit, b.readiness,"
        " (SELECT count(*) FROM members m WHERE m.team_id = t.id AND m.left_on IS NULL) AS members"
        " FROM team_bases b JOIN teams t ON t.id = b.team_id LEFT JOIN townships w ON w.code = t.township_code"
        " WHERE t.disbanded_on IS NULL AND b.lat IS NOT NULL AND b.lon IS NOT NULL ORDER BY t.name, t.id"
    )
    equipment: dict[int, list[str]] = {}
    for team_id, code, quantity in db.query("SELECT team_id, item_code, quantity FROM team_equipment ORDER BY 1, 2"):
        equipment.setdefault(team_id, []).append(f"{item_name(code)}{quantity}{item_unit(code)}")
    for row in found:
        row["equipment"] = "、".join(equipment.get(row["id"], []))
    return found


def base_frame(db: Database, township_code: str | None = None) -> pd.DataFrame:
    """Every team not disbanded with its base fields (empty where none is recorded), for the page."""
    params: list = []
    where = "WHERE t.disbanded_on IS NULL"
    if township_code:
        where += " AND t.township_code = ?"
        params.append(township_code)
    return db.frame(
        "SELECT t.id, t.name, t.township_code, w.name AS township_name, b.address, b.lon, b.lat, b.staffing,"
        " b.supervising_unit, b.readiness FROM teams t LEFT JOIN team_bases b ON b.team_id = t.id"
        f" LEFT JOIN townships w ON w.code = t.township_code {where} ORDER BY w.sort_order NULLS FIRST, t.name",
        params,
    )
