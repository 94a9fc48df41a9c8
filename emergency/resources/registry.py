"""The resource registries: supply depots, shelters, hazard points and experts.

One description per registry (`Registry`: table, fields, Chinese labels, enumerations, phones), one
validator and one pair of write functions for all four, so that the rules are written once:
- scope: a record belongs to a township (a county depot, a county agreement supplier and the county's
  experts to none); `require_write` lets a township operator create and edit only its own township's
  records, before and after the change;
- coordinates are WGS-84, both or neither, inside the county (regions.county_bounds); never guessed;
- phones are an 11-digit mobile or a 0379 landline; the audit log masks them (audit.SENSITIVE_FIELDS);
- every write is one transaction with its audit row; an edit reads the record inside it and refuses
  a form drawn from an older state (`expected`, stale.check_fresh).
Lists mask phones by role with the one rule of every list of people, teams.mask_personal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import audit, normalise, privacy, regions, stale
from ..auth import User, require_write
from ..db import insert_row, row_dict
from ..db import where as sql_where
from ..enums import DEPOT_LEVELS, EXPERT_AVAILABILITY, HAZARD_DOMAINS, HAZARD_POINT_KINDS, SHELTER_KINDS
from ..errors import Problem, ValidationError
from ..hygiene import clean, is_blank
from ..records import KINDS as VOIDABLE
from ..records import live, refuse_voided
from ..teams import mask_personal

if TYPE_CHECKING:
    import pandas as pd

    from ..db import Cursor, Database


@dataclass(frozen=True)
class Registry:
    key: str  # the CLI's and the import's name: depots, shelters, hazards, experts
    table: str
    what: str  # Chinese noun: 储备库
    fields: tuple[str, ...]
    labels: dict[str, str]
    required: tuple[str, ...]
    enums: dict[str, dict] = field(default_factory=dict)
    phones: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    township_required: bool = True
    coordinates: bool = True


_PLACE = {"township_code": "所属乡镇", "village_code": "所属村（社区）", "lon": "经度", "lat": "纬度"}

DEPOTS = Registry(
    "depots",
    "depots",
    "物资储备库",
    ("name", "level", "township_code", "village_code", "address", "lon", "lat", "custodian_name", "custodian_phone"),
    {
        "name": "储备库名称",
        "level": "级别",
        "address": "地址",
        "custodian_name": "保管人",
        "custodian_phone": "保管人电话",
        **_PLACE,
    },
    ("name", "level"),
    {"level": DEPOT_LEVELS},
    phones=("custodian_phone",),
    township_required=False,
)
SHELTERS = Registry(
    "shelters",
    "shelters",
    "避难场所",
    (
        "name",
        "kind",
        "township_code",
        "village_code",
        "address",
        "lon",
        "lat",
        "capacity",
        "area_m2",
        "facilities",
        "manager_name",
        "manager_phone",
        "is_open",
    ),
    {
        "name": "场所名称",
        "kind": "类型",
        "address": "地址",
        "capacity": "容纳人数",
        "area_m2": "面积（平方米）",
        "facilities": "设施",
        "manager_name": "管理人",
        "manager_phone": "管理人电话",
        "is_open": "开放状态",
        **_PLACE,
    },
    ("name", "kind", "capacity"),
    {"kind": SHELTER_KINDS},
    phones=("manager_phone",),
    integers=("capacity",),
    numbers=("area_m2",),
    flags=("is_open",),
)
HAZARDS = Registry(
    "hazards",
    "hazard_points",
    "隐患点",
    (
        "code",
        "name",
        "kind",
        "township_code",
        "village_code",
        "lon",
        "lat",
        "people_threatened",
        "households",
        "responsible_name",
        "responsible_phone",
        "monitor_name",
        "monitor_phone",
        "shelter_id",
        "evacuation_route",
    ),
    {
        "code": "隐患点编号",
        "name": "隐患点名称",
        "kind": "类型",
        "people_threatened": "威胁人数",
        "households": "威胁户数",
        "responsible_name": "责任人",
        "responsible_phone": "责任人电话",
        "monitor_name": "监测员",
        "monitor_phone": "监测员电话",
        "shelter_id": "避险场所",
        "evacuation_route": "撤离路线",
        **_PLACE,
    },
    ("code", "name", "kind"),
    {"kind": HAZARD_POINT_KINDS},
    phones=("responsible_phone", "monitor_phone"),
    integers=("people_threatened", "households", "shelter_id"),
)
EXPERTS = Registry(
    "experts",
    "experts",
    "专家",
    ("name", "field", "unit", "title", "phone", "township_code", "availability"),
    {
        "name": "姓名",
        "field": "专业领域",
        "unit": "工作单位",
        "title": "职称",
        "phone": "电话",
        "township_code": "所属乡镇",
        "availability": "可调用状态",
    },
    ("name", "field"),
    {"field": HAZARD_DOMAINS, "availability": EXPERT_AVAILABILITY},
    phones=("phone",),
    township_required=False,
    coordinates=False,
)
REGISTRIES = {r.key: r for r in (DEPOTS, SHELTERS, HAZARDS, EXPERTS)}
DEFAULTS: dict[str, dict[str, Any]] = {
    "shelters": {"is_open": True},
    "hazards": {"people_threatened": 0, "households": 0},
    "experts": {"availability": "available"},
}


def registry(key: str) -> Registry:
    if key not in REGISTRIES:
        raise ValueError(f"资源类型必须是 {'、'.join(REGISTRIES)} 之一")
    return REGISTRIES[key]


# Validation ------------------------------------------------------------------------------------
def normalised(spec: Registry, data: dict) -> tuple[dict, list[Problem]]:
    """The record as stored (text cleaned, phones and numbers parsed) and what could not be parsed."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in spec.fields:
        value: Any = data.get(name)
        if is_blank(value):  # an empty form field or import cell takes the registry's default
            value = DEFAULTS.get(spec.key, {}).get(name)
        label = spec.labels[name]
        try:
            if name in spec.phones:
                value = normalise.phone(value)
            elif name in spec.integers:
                value = None if is_blank(value) else _integer(value)
            elif name in spec.numbers or name in ("lon", "lat"):
                value = None if is_blank(value) else float(value)
            elif name in spec.flags:
                value = bool(value)
            elif isinstance(value, str) or value is None:
                value = clean(value) or None
        except (TypeError, ValueError) as exc:
            problems.append(Problem(label, str(exc) if "“" in str(exc) else f"“{value}”不是有效的数值"))
            value = None
        out[name] = value
    return out, problems


def _integer(value) -> int:
    number = float(value)
    if number != int(number):
        raise ValueError(f"“{value}”须为整数")
    return int(number)


def problems_of(db: Database, spec: Registry, data: dict, record_id: int | None = None) -> list[Problem]:
    """What is wrong with a normalised record (every problem, each naming its field)."""
    problems = []
    for name in spec.required:
        if data.get(name) is None:
            problems.append(Problem(spec.labels[name], "不能为空"))
    for name, mapping in spec.enums.items():
        if data.get(name) is not None and data[name] not in mapping:
            problems.append(Problem(spec.labels[name], f"必须是 {'、'.join(_label_list(mapping))} 之一"))
    for name in (*spec.integers, *spec.numbers):
        if name != "shelter_id" and data.get(name) is not None and data[name] < 0:
            problems.append(Problem(spec.labels[name], "不能为负数"))
    problems += place_problems(db, spec, data)
    if spec.coordinates:
        problems += coordinate_problems(data.get("lon"), data.get("lat"))
    if spec.key == "depots":
        if data.get("level") in ("township", "village") and not data.get("township_code"):
            problems.append(Problem("所属乡镇", "乡镇、村级储备点须选择乡镇"))
        if data.get("level") == "village" and not data.get("village_code"):
            problems.append(Problem("所属村（社区）", "村级储备点须选择村（社区）"))
    if spec.key == "hazards":
        if data.get("code") and db.scalar(
            "SELECT count(*) FROM hazard_points WHERE code = ? AND id <> ?", [data["code"], record_id or -1]
        ):
            problems.append(Problem("隐患点编号", f"{data['code']} 已登记"))
        shelter = data.get("shelter_id")
        if shelter is not None and not db.scalar(
            "SELECT count(*) FROM shelters WHERE id = ? AND township_code = ?", [shelter, data.get("township_code")]
        ):
            problems.append(Problem("避险场所", f"编号 {shelter} 不是本乡镇登记的避难场所"))
    return problems


def _label_list(mapping: dict) -> list[str]:
    return [v[0] if isinstance(v, tuple) else v for v in mapping.values()]


def place_problems(db: Database, spec: Registry, data: dict) -> list[Problem]:
    township, village = data.get("township_code"), data.get("village_code")
    problems = []
    if township is None:
        if spec.township_required:
            problems.append(Problem("所属乡镇", "必须选择一个乡镇"))
    elif not db.scalar("SELECT count(*) FROM townships WHERE code = ?", [township]):
        problems.append(Problem("所属乡镇", f"{township} 不是本县的乡镇"))
    if (
        "village_code" in spec.fields
        and village is not None
        and not db.scalar("SELECT count(*) FROM villages WHERE code = ? AND township_code = ?", [village, township])
    ):
        problems.append(Problem("所属村（社区）", f"{village} 不属于所选乡镇"))
    return problems


def coordinate_problems(lon, lat) -> list[Problem]:
    """Both or neither; WGS-84 inside the county's bounding box (a swapped or GCJ-02 pair is caught
    only when it leaves the box, so the forms say which datum they want)."""
    if lon is None and lat is None:
        return []
    if lon is None or lat is None:
        return [Problem("经度" if lon is None else "纬度", "经度和纬度须同时填写，或都不填")]
    min_lon, min_lat, max_lon, max_lat = regions.county_bounds()
    if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
        return [Problem("经纬度", f"（{lon:.6f}, {lat:.6f}）不在本县范围内（须为 WGS-84 经纬度，经度在前）")]
    return []


# Writes -----------------------------------------------------------------------------------------
def _fetch(cur: Cursor, spec: Registry, record_id: int) -> dict:
    row = row_dict(cur, f"SELECT id, {', '.join(spec.fields)} FROM {spec.table} WHERE id = ?", [record_id])
    if not row:
        raise ValueError(f"{spec.what} {record_id} 不存在")
    return row


def record_of(db: Database, key: str, record_id: int) -> dict:
    """A record as its edit form draws it; passed back as `expected` when it saves."""
    return _fetch(db.cursor(), registry(key), record_id)


def create(db: Database, actor: User, key: str, data: dict) -> int:
    """A new depot / shelter / hazard point / expert, in the actor's scope; audited."""
    spec = registry(key)
    record, problems = normalised(spec, data)
    require_write(actor, record.get("township_code"), f"登记其他乡镇的{spec.what}")
    problems += problems_of(db, spec, record)
    if problems:
        raise ValidationError(problems)

    def work(cur: Cursor):
        new_id = insert_row(cur, spec.table, record)
        audit.record(cur, actor, "create", spec.table, new_id, None, record)
        return new_id

    return db.write(work)


def update(db: Database, actor: User, key: str, record_id: int, changes: dict, *, expected: dict | None = None) -> dict:
    """Change a record: in scope before and after, unchanged since the form drew it; audited."""
    spec = registry(key)

    def work(cur: Cursor):
        before = _fetch(cur, spec, record_id)
        require_write(actor, before.get("township_code"), f"修改其他乡镇的{spec.what}")
        if spec.table in VOIDABLE:
            refuse_voided(cur, spec.table, record_id)
        stale.check_fresh(
            before, expected, table=spec.table, record_id=record_id, labels=spec.labels, viewer=actor, enums=spec.enums
        )
        merged = {**before, **{k: v for k, v in changes.items() if k in spec.fields}}
        after, problems = normalised(spec, merged)
        require_write(actor, after.get("township_code"), f"把{spec.what}转到其他乡镇")
        problems += problems_of(db, spec, after, record_id)
        if problems:
            raise ValidationError(problems)
        old, new = audit.changed({k: before[k] for k in spec.fields}, after)
        if new:
            cur.execute(
                f"UPDATE {spec.table} SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?", [*new.values(), record_id]
            )
            audit.record(cur, actor, "update", spec.table, record_id, old, new)
        return _fetch(cur, spec, record_id)

    return db.write(work)


def link_drill(db: Database, actor: User, hazard_id: int, drill_id: int) -> None:
    """Record that a drill was held for a hazard point (the drill must exist; the hazard point in scope)."""

    def work(cur: Cursor):
        hazard = _fetch(cur, HAZARDS, hazard_id)
        require_write(actor, hazard["township_code"], "关联其他乡镇隐患点的演练")
        refuse_voided(cur, "hazard_points", hazard_id)
        if not row_dict(cur, "SELECT id FROM drills WHERE id = ?", [drill_id]):
            raise ValidationError.single("演练", f"编号 {drill_id} 不存在")
        cur.execute("INSERT INTO hazard_drills VALUES (?, ?) ON CONFLICT DO NOTHING", [hazard_id, drill_id])
        audit.record(cur, actor, "create", "hazard_drills", hazard_id, None, {"drill_id": drill_id})

    db.write(work)


def hazard_detail(db: Database, viewer: User, hazard_id: int) -> dict:
    """One hazard point's record as its page shows it: the point (phones masked for this viewer), its
    shelter's name, its evacuation route, the people its village's 叫应 chain calls for it, and the
    live drills held for it (newest first)."""
    cur = db.cursor()
    point = _fetch(cur, HAZARDS, hazard_id)
    if not viewer.sees_full_phone(point["township_code"]):  # the rule of teams.mask_personal
        for role in HAZARD_ROLES:
            point[f"{role}_phone"] = privacy.mask_phone(point[f"{role}_phone"]) or None
    shelter = (
        db.scalar("SELECT name FROM shelters WHERE id = ?", [point["shelter_id"]]) if point["shelter_id"] else None
    )
    called = [
        {"role": HAZARD_ROLES[role], "name": point[f"{role}_name"], "phone": point[f"{role}_phone"]}
        for role in HAZARD_ROLES
        if point[f"{role}_name"]
    ]
    drills = db.query_dicts(
        "SELECT d.id, d.title, d.held_on, d.place FROM hazard_drills h JOIN drills d ON d.id = h.drill_id"
        f" WHERE h.hazard_id = ? AND {live('drills', 'd')} ORDER BY d.held_on DESC, d.id DESC",
        [hazard_id],
    )
    return {**point, "shelter_name": shelter, "called": called, "drills": drills}


def drill_choices(db: Database, township_code: str, hazard_id: int) -> dict[str, int]:
    """{label: drill id} of the township's live drills not yet linked to the hazard point (newest first)."""
    return {
        f"{held:%Y-%m-%d} {title}": did
        for did, held, title in db.query(
            "SELECT d.id, d.held_on, d.title FROM drills d WHERE d.township_code = ?"
            f" AND {live('drills', 'd')} AND d.id NOT IN (SELECT drill_id FROM hazard_drills WHERE hazard_id = ?)"
            " ORDER BY d.held_on DESC, d.id DESC LIMIT 200",
            [township_code, hazard_id],
        )
    }


# Lists (role-masked) ---------------------------------------------------------------------------
def _live(spec: Registry, alias: str) -> str:
    """SQL condition: the record is not voided (TRUE for a registry that cannot be voided)."""
    return live(spec.table, alias) if spec.table in VOIDABLE else "TRUE"


def _select(spec: Registry) -> str:
    cols = ", ".join(f"r.{f}" for f in spec.fields)
    if "village_code" in spec.fields:
        village, join = "v.name", " LEFT JOIN villages v ON v.code = r.village_code"
    else:
        village, join = "CAST(NULL AS VARCHAR)", ""
    return (
        f"SELECT r.id, {cols}, t.name AS township_name, {village} AS village_name FROM {spec.table} r"
        f" LEFT JOIN townships t ON t.code = r.township_code{join}"
    )


def listing(db: Database, viewer: User, key: str, *, township_code: str | None = None) -> pd.DataFrame:
    """Every record of a registry (optionally of one township), phones masked for this viewer."""
    spec = registry(key)
    where, params = sql_where(("r.township_code = ?", township_code), (_live(spec, "r"), True))
    order = "r.code" if key == "hazards" else "r.name"
    frame = db.frame(f"{_select(spec)} {where} ORDER BY t.sort_order NULLS FIRST, {order}, r.id", params)
    for phone in spec.phones:
        frame = mask_personal(frame, viewer, phone)
    return frame


def rows(db: Database, key: str) -> list[dict]:
    """Every record as plain dicts, unmasked (the map, the CLI as the system, coverage)."""
    spec = registry(key)
    order = "r.code" if key == "hazards" else "r.name"
    return db.query_dicts(f"{_select(spec)} WHERE {_live(spec, 'r')} ORDER BY t.sort_order NULLS FIRST, {order}, r.id")


def options(db: Database, key: str, township_code: str | None = None) -> dict[str, int]:
    """{label: id} of a registry's records (for pickers), optionally of one township."""
    spec = registry(key)
    where, params = sql_where(("r.township_code = ?", township_code), (_live(spec, "r"), True))
    label = "r.code || ' ' || r.name" if key == "hazards" else "r.name"
    return {name: rid for rid, name in db.query(f"SELECT r.id, {label} FROM {spec.table} r {where} ORDER BY 2", params)}


HAZARD_ROLES = {"responsible": "隐患点责任人", "monitor": "隐患点监测员"}
CALL_ROLES = {f"hazard_{role}": label for role, label in HAZARD_ROLES.items()}  # warning_calls.role


def hazard_people(db: Database, township_codes: list[str]) -> dict[tuple[str, str | None], list[dict]]:
    """The people the 叫应 chain calls for the live hazard points of these townships, by place
    (township, village or None for a point with no village): each point's responsible person and
    monitor, responsible persons first, as {id (None), name, role (the warning_calls role), phone,
    email, role_code, role_label, hazard_id, hazard_code, hazard_name, hazards, hazard_codes}. One person holding both roles, or the same role at
    several points of a place (same name and phone), is one entry; `hazards` lists every
    (hazard_id, role) they stand for. Voided points are left out. Unmasked: for the chain's own
    sending, never a page."""
    out: dict[tuple[str, str | None], list[dict]] = {}
    if not township_codes:
        return out
    seen: dict[tuple[str, str | None, str, str | None], dict] = {}
    rows = db.query_dicts(
        "SELECT h.id, h.code, h.name, h.township_code, h.village_code, h.responsible_name, h.responsible_phone,"
        " h.monitor_name, h.monitor_phone FROM hazard_points h"
        f" WHERE list_contains(?, h.township_code) AND {live('hazard_points', 'h')} ORDER BY h.code, h.id",
        [list(township_codes)],
    )
    for role in HAZARD_ROLES:  # responsible persons first
        for row in rows:
            name = clean(row[f"{role}_name"])
            if not name:
                continue
            place = (row["township_code"], row["village_code"])
            key = (*place, name, row[f"{role}_phone"])
            if key in seen:
                seen[key]["hazards"].append((row["id"], role))
                if row["code"] not in seen[key]["hazard_codes"]:
                    seen[key]["hazard_codes"].append(row["code"])
                continue
            person = {
                "id": None,
                "name": name,
                "role": f"hazard_{role}",
                "phone": row[f"{role}_phone"],
                "email": None,
                "role_code": role,
                "role_label": HAZARD_ROLES[role],
                "hazard_id": row["id"],
                "hazard_code": row["code"],
                "hazard_name": row["name"],
                "hazards": [(row["id"], role)],
                "hazard_codes": [row["code"]],
            }
            seen[key] = person
            out.setdefault(place, []).append(person)
    return out


def hazard_contacts(db: Database, village_code: str) -> list[dict]:
    """The people of a village's live hazard points that its 叫应 (call-and-answer) chain calls: each
    point's responsible person and monitor, as {name, role, phone, role_code, hazard_id, hazard_code,
    hazard_name}, responsible persons first. Unmasked: for the chain's own sending, never a page."""
    town = db.scalar("SELECT township_code FROM villages WHERE code = ?", [village_code])
    people = hazard_people(db, [town]).get((town, village_code), []) if town else []
    return [
        {
            "name": p["name"],
            "role": p["role_label"],
            "phone": p["phone"],
            "role_code": p["role_code"],
            "hazard_id": p["hazard_id"],
            "hazard_code": p["hazard_code"],
            "hazard_name": p["hazard_name"],
        }
        for p in people
    ]
