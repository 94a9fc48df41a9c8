"""Coverage questions over the resources, answered from the registry and the pure rules of geo.py:

- for each hazard point, the nearest team base and the nearest depot by straight-line distance, and
  whether a team lies within a configurable distance (settings key `resources.coverage`,
  {"within_km": 10} by default; the CLI's --within-km overrides it);
- per township, the capacity of its open shelters against its population (the population is
  entered by the administrator, settings key `resources.population`; never guessed);
- per township, items held below the configured township minimum (`resources.township_minimums`,
  {item code: quantity}, the least every township should hold across its depots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import audit
from ..auth import User, require_admin
from ..db import put_setting
from ..enums import RESOURCE_ITEMS
from ..errors import Problem, ValidationError
from ..records import live
from . import geo, registry
from .bases import team_bases
from .stock import item_name, item_unit

if TYPE_CHECKING:
    from ..db import Cursor, Database

COVERAGE_KEY = "resources.coverage"
POPULATION_KEY = "resources.population"
MINIMUMS_KEY = "resources.township_minimums"
DEFAULT_WITHIN_KM = 10.0


def within_km(db: Database) -> float:
    return float((db.setting(COVERAGE_KEY) or {}).get("within_km", DEFAULT_WITHIN_KM))


def depots_with_coordinates(db: Database) -> list[dict]:
    return [d for d in registry.rows(db, "depots") if geo.has_coordinate(d)]


def nearest_rows(hazards: list[dict], teams: list[dict], depots: list[dict], km: float) -> list[dict]:
    """One object per hazard point (pure): code, name, lat, lon, nearest_team, nearest_depot (each
    {name, lat, lon, km} or None) and covered (a team within `km`)."""
    out = []
    for h in hazards:
        team = geo.nearest(h, teams)
        out.append(
            {
                "code": h["code"],
                "name": h["name"],
                "lat": h.get("lat"),
                "lon": h.get("lon"),
                "nearest_team": team,
                "nearest_depot": geo.nearest(h, depots),
                "covered": geo.covered(team, km),
            }
        )
    return out


def nearest_resources(db: Database, km: float | None = None) -> list[dict]:
    """nearest_rows over the registry: every hazard point, every team base, every depot placed."""
    return nearest_rows(
        registry.rows(db, "hazards"), team_bases(db), depots_with_coordinates(db), within_km(db) if km is None else km
    )


def population(db: Database) -> dict[str, int]:
    return {k: int(v) for k, v in (db.setting(POPULATION_KEY) or {}).items()}


def township_minimums(db: Database) -> dict[str, int]:
    return {k: int(v) for k, v in (db.setting(MINIMUMS_KEY) or {}).items()}


def shelter_capacity(db: Database) -> list[dict]:
    """Per township: open shelters, their capacity, the population (None when not entered), capacity
    per 100 residents, people threatened at its hazard points."""
    people = population(db)
    rows = db.query_dicts(
        "SELECT t.code, t.name,"
        " (SELECT count(*) FROM shelters s WHERE s.township_code = t.code AND s.is_open) AS shelters,"
        " (SELECT coalesce(sum(capacity), 0) FROM shelters s WHERE s.township_code = t.code AND s.is_open) AS capacity,"
        " (SELECT coalesce(sum(people_threatened), 0) FROM hazard_points h WHERE h.township_code = t.code"
        f" AND {live('hazard_points', 'h')}) AS threatened"
        " FROM townships t WHERE t.is_township ORDER BY t.sort_order"
    )
    for row in rows:
        row["shelters"], row["capacity"], row["threatened"] = (
            int(row["shelters"]),
            int(row["capacity"]),
            int(row["threatened"]),
        )
        row["population"] = people.get(row["code"])
        row["per_100"] = round(100 * row["capacity"] / row["population"], 1) if row["population"] else None
        row["covers_threatened"] = row["capacity"] >= row["threatened"]
    return rows


def shortages(db: Database) -> list[dict]:
    """Per township and item of the township minimums: what its depots hold when it is less."""
    minimums = township_minimums(db)
    if not minimums:
        return []
    held = {
        (code, item): int(q)
        for code, item, q in db.query(
            "SELECT d.township_code, s.item_code, sum(s.quantity) FROM stock s JOIN depots d ON d.id = s.depot_id"
            " WHERE d.township_code IS NOT NULL GROUP BY ALL"
        )
    }
    out = []
    for code, name in db.query("SELECT code, name FROM townships WHERE is_township ORDER BY sort_order"):
        for item, minimum in minimums.items():
            quantity = held.get((code, item), 0)
            if quantity < minimum:
                out.append(
                    {
                        "township_code": code,
                        "township_name": name,
                        "item_code": item,
                        "item_name": item_name(item),
                        "unit": item_unit(item),
                        "quantity": quantity,
                        "minimum": minimum,
                    }
                )
    return out


def _save(db: Database, actor: User, key: str, value: Any) -> None:
    before = db.setting(key)

    def work(cur: Cursor):
        put_setting(cur, key, value or None)
        audit.record(cur, actor, "update", "settings", key, {"value": before}, {"value": value})

    db.write(work)


def set_within_km(db: Database, actor: User, km: float) -> None:
    require_admin(actor, "设置覆盖距离")
    if not isinstance(km, (int, float)) or isinstance(km, bool) or km <= 0:
        raise ValidationError.single("覆盖距离（公里）", "须为正数")
    _save(db, actor, COVERAGE_KEY, {"within_km": float(km)})


MAX_POPULATION = 5_000_000  # above this a township's figure is a typing error
MAX_MINIMUM = 1_000_000


def whole_number(value: Any) -> int | None:
    """A form's or file's figure as an int: None when blank; ValueError when not a whole number."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError(value)
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("，", "")
        if not value:
            return None
    number = float(value)
    if number != number:  # NaN: an empty cell
        return None
    if number != int(number):
        raise ValueError(value)
    return int(number)


def population_problems(db: Database, figures: dict[str, Any]) -> tuple[dict[str, int], list[Problem]]:
    """The figures kept ({township code: people}, blanks left out) and what is wrong, each problem
    naming the township (pure but for the township names)."""
    names = dict(db.query("SELECT code, name FROM townships WHERE is_township"))
    kept: dict[str, int] = {}
    problems = []
    for code, raw in figures.items():
        where = f"{names[code]}人口" if code in names else f"乡镇 {code}"
        if code not in names:
            problems.append(Problem(where, "不是本县乡镇"))
            continue
        try:
            number = whole_number(raw)
        except (TypeError, ValueError):
            problems.append(Problem(where, f"“{raw}”不是整数"))
            continue
        if number is None:
            continue
        if number <= 0:
            problems.append(Problem(where, "须为正整数（不知道就留空）"))
        elif number > MAX_POPULATION:
            problems.append(Problem(where, f"{number:,} 超过 {MAX_POPULATION:,}，请核对"))
        else:
            kept[code] = number
    return kept, problems


def minimum_problems(minimums: dict[str, Any]) -> tuple[dict[str, int], list[Problem]]:
    """The minimums kept ({item code: quantity}, blanks and 0 left out: no minimum) and what is
    wrong, each problem naming the item (pure)."""
    kept: dict[str, int] = {}
    problems = []
    for code, raw in minimums.items():
        if code not in RESOURCE_ITEMS:
            problems.append(Problem(f"物资 {code}", "不在物资目录中"))
            continue
        where = f"{item_name(code)}最低储备"
        try:
            number = whole_number(raw)
        except (TypeError, ValueError):
            problems.append(Problem(where, f"“{raw}”不是整数"))
            continue
        if number is None or number == 0:
            continue
        if number < 0:
            problems.append(Problem(where, "不能为负数（不设最低储备就留空或填 0）"))
        elif number > MAX_MINIMUM:
            problems.append(Problem(where, f"{number:,}{item_unit(code)} 超过 {MAX_MINIMUM:,}，请核对"))
        else:
            kept[code] = number
    return kept, problems


def set_population(db: Database, actor: User, figures: dict[str, Any]) -> dict[str, int]:
    """The townships' population (e.g. from the statistical yearbook), {township code: people}; a
    blank figure means not entered (the coverage page then says 未登记). Replaces the whole setting;
    admin; audited. Returns what was kept."""
    require_admin(actor, "设置乡镇人口")
    kept, problems = population_problems(db, figures)
    if problems:
        raise ValidationError(problems)
    _save(db, actor, POPULATION_KEY, kept)
    return kept


def set_township_minimums(db: Database, actor: User, minimums: dict[str, Any]) -> dict[str, int]:
    """The least every township should hold of an item across its depots, {item code: quantity}; a
    blank or 0 means no minimum. Replaces the whole setting; admin; audited. Returns what was kept."""
    require_admin(actor, "设置乡镇最低储备")
    kept, problems = minimum_problems(minimums)
    if problems:
        raise ValidationError(problems)
    _save(db, actor, MINIMUMS_KEY, kept)
    return kept
