"""Emergency resources: distances against hand-computed values, the nearest rule, stock movements,
reminders exactly once, scope, the registries' validation, import all-or-nothing, the CLI."""

from __future__ import annotations

import io
import json
import math
from datetime import date, datetime

import pytest

from emergency import auth
from emergency.auth import SYSTEM, PermissionDenied, User
from emergency.errors import ValidationError
from emergency.notify import reminders
from emergency.resources import bases, coverage, geo, hazard_contacts, registry, stock, transfer
from tests.test_cli import run

CHENGGUAN, TIANHU = "410325100", "410325101"
TOWN = User(901, "town_test", "城关镇填报员", "township", CHENGGUAN)
VIEWER = User(902, "viewer_test", "领导", "viewer")
DAY = date(2026, 11, 2)  # a Monday, a working day


# Distance: hand-computed ------------------------------------------------------------------------
# One degree of a great circle is 2*pi*R/360 = 6371.0088 * pi / 180 = 111.19508 km; a degree of
# longitude at latitude 34 is that times cos(34) = 0.8290376, i.e. 92.1848 km (the haversine's
# curvature term changes it by less than a metre); a quarter meridian is 90 degrees = 10007.557 km.
@pytest.mark.parametrize(
    "a, b, km",
    [
        ((0.0, 0.0), (0.0, 1.0), 111.19508),
        ((0.0, 0.0), (1.0, 0.0), 111.19508),
        ((34.0, 112.0), (35.0, 112.0), 111.19508),
        ((34.0, 112.0), (34.0, 113.0), 92.1848),
        ((0.0, 0.0), (90.0, 0.0), 10007.557),
        ((34.1, 112.1), (34.1, 112.1), 0.0),
    ],
)
def test_great_circle_against_hand_computed_distances(a, b, km):
    assert geo.great_circle_km(*a, *b) == pytest.approx(km, abs=0.002)
    assert geo.great_circle_km(*b, *a) == pytest.approx(km, abs=0.002)  # symmetric


def test_nearest_and_covered_rule():
    point = {"lat": 34.0, "lon": 112.0}
    east = {"name": "东队", "lat": 34.0, "lon": 112.1}  # 0.1 deg of longitude at 34 N: 9.218 km
    north = {"name": "北队", "lat": 34.1, "lon": 112.0}  # 0.1 deg of latitude: 11.120 km
    unplaced = {"name": "无坐标队", "lat": None, "lon": None}
    found = geo.nearest(point, [north, unplaced, east])
    assert found == {"name": "东队", "lat": 34.0, "lon": 112.1, "km": 9.22}
    assert geo.covered(found, 10) and geo.covered(found, 9.22) and not geo.covered(found, 9)
    assert geo.nearest(point, [unplaced]) is None and not geo.covered(None, 100)
    assert geo.nearest({"lat": None, "lon": None}, [east]) is None
    rows = coverage.nearest_rows(
        [
            {"code": "H1", "name": "滑坡", "lat": 34.0, "lon": 112.0},
            {"code": "H2", "name": "无坐标", "lat": None, "lon": None},
        ],
        [north, east],
        [north],
        10,
    )
    assert rows[0]["nearest_team"]["name"] == "东队" and rows[0]["nearest_depot"]["km"] == 11.12
    assert rows[0]["covered"] is True
    assert rows[1] == {
        "code": "H2",
        "name": "无坐标",
        "lat": None,
        "lon": None,
        "nearest_team": None,
        "nearest_depot": None,
        "covered": False,
    }


# Stock movements -------------------------------------------------------------------------------
def _depot(db, township=CHENGGUAN, name="城关镇储备点", **extra) -> int:
    return registry.create(
        db, SYSTEM, "depots", {"name": name, "level": "township", "township_code": township, **extra}
    )


def _held(db, depot_id, item="tent") -> int:
    return int(
        db.scalar("SELECT coalesce(sum(quantity), 0) FROM stock WHERE depot_id = ? AND item_code = ?", [depot_id, item])
    )


def test_receipts_and_issues_keep_stock_and_movements_together(fresh_db):
    depot = _depot(fresh_db)
    stock.receive(
        fresh_db, SYSTEM, depot, "tent", 10, moved_on=DAY, handled_by="张三", batch="A", expires_on=date(2027, 1, 1)
    )
    stock.receive(
        fresh_db, SYSTEM, depot, "tent", 5, moved_on=DAY, handled_by="张三", batch="B", expires_on=date(2026, 12, 1)
    )
    stock.receive(fresh_db, SYSTEM, depot, "tent", 2, moved_on=DAY, handled_by="张三", batch="A")
    assert _held(fresh_db, depot) == 17
    # first-expiring first: all of B (5), then 2 of A
    ids = stock.issue(fresh_db, SYSTEM, depot, "tent", 7, moved_on=DAY, handled_by="李四", purpose="2026-11 暴雨抢险")
    assert len(ids) == 2
    by_batch = dict(fresh_db.query("SELECT batch, quantity FROM stock WHERE depot_id = ?", [depot]))
    assert by_batch == {"A": 10, "B": 0}
    moved = fresh_db.query("SELECT direction, sum(quantity) FROM stock_movements GROUP BY 1 ORDER BY 1")
    assert moved == [("in", 17), ("out", 7)]
    audits = fresh_db.scalar("SELECT count(*) FROM audit_log WHERE table_name = 'stock_movements'")
    assert audits == 5  # one per movement row


def test_an_issue_larger_than_the_stock_is_refused_and_writes_nothing(fresh_db):
    depot = _depot(fresh_db)
    stock.receive(fresh_db, SYSTEM, depot, "tent", 3, moved_on=DAY, handled_by="张三", batch="A")
    stock.receive(fresh_db, SYSTEM, depot, "tent", 3, moved_on=DAY, handled_by="张三", batch="B")
    before = (
        fresh_db.scalar("SELECT count(*) FROM stock_movements"),
        fresh_db.scalar("SELECT count(*) FROM audit_log"),
    )
    with pytest.raises(ValidationError, match="超过该物资现有库存 6"):
        stock.issue(fresh_db, SYSTEM, depot, "tent", 7, moved_on=DAY, handled_by="李四", purpose="抢险")
    with pytest.raises(ValidationError, match="超过批次“A”现有库存 3"):
        stock.issue(fresh_db, SYSTEM, depot, "tent", 4, moved_on=DAY, handled_by="李四", purpose="抢险", batch="A")
    with pytest.raises(ValidationError, match="数量"):
        stock.issue(fresh_db, SYSTEM, depot, "tent", -1, moved_on=DAY, handled_by="李四", purpose="抢险")
    with pytest.raises(ValidationError, match="用途"):
        stock.issue(fresh_db, SYSTEM, depot, "tent", 1, moved_on=DAY, handled_by="李四")
    with pytest.raises(ValidationError, match="关联演练"):
        stock.issue(fresh_db, SYSTEM, depot, "tent", 1, moved_on=DAY, handled_by="李四", drill_id=999999)
    assert _held(fresh_db, depot) == 6
    after = (fresh_db.scalar("SELECT count(*) FROM stock_movements"), fresh_db.scalar("SELECT count(*) FROM audit_log"))
    assert after == before
    # the table itself refuses a negative quantity as well
    with pytest.raises(Exception, match="(?i)constraint"):
        fresh_db.cursor().execute("UPDATE stock SET quantity = -1 WHERE depot_id = ?", [depot])
    # exactly the stock is fine, and leaves zero
    stock.issue(fresh_db, SYSTEM, depot, "tent", 6, moved_on=DAY, handled_by="李四", purpose="抢险")
    assert _held(fresh_db, depot) == 0


def test_plan_issue_is_pure_fefo():
    batches = [
        {"id": 1, "batch": "old", "quantity": 4, "expires_on": None},
        {"id": 2, "batch": "soon", "quantity": 3, "expires_on": date(2026, 12, 1)},
        {"id": 3, "batch": "later", "quantity": 5, "expires_on": date(2027, 6, 1)},
    ]
    assert stock.plan_issue(batches, 3, None) == [(2, 3)]
    assert stock.plan_issue(batches, 9, None) == [(2, 3), (3, 5), (1, 1)]
    assert stock.plan_issue(batches, 4, "old") == [(1, 4)]
    with pytest.raises(ValidationError):
        stock.plan_issue(batches, 13, None)


# Reminders exactly once ----------------------------------------------------------------------------
def _resource_notes(db):
    return db.query(
        "SELECT kind, subject_id, township_code FROM notifications WHERE kind LIKE 'stock_%' ORDER BY kind, subject_id"
    )


def test_expiry_and_minimum_reminders_are_created_once(fresh_db):
    depot = _depot(fresh_db)
    county = registry.create(fresh_db, SYSTEM, "depots", {"name": "县储备库", "level": "county"})
    stock.receive(
        fresh_db, SYSTEM, depot, "drinking_water", 20, moved_on=DAY, handled_by="张三", expires_on=date(2026, 11, 20)
    )
    stock.receive(
        fresh_db, SYSTEM, depot, "instant_food", 20, moved_on=DAY, handled_by="张三", expires_on=date(2027, 11, 20)
    )
    stock.receive(fresh_db, SYSTEM, county, "tent", 10, moved_on=DAY, handled_by="张三")
    stock.set_minimum(fresh_db, SYSTEM, county, "tent", 8)
    now = datetime(2026, 11, 2, 8, 0, tzinfo=reminders.TZ)
    assert _resource_notes(fresh_db) == []
    first = reminders.sweep(fresh_db, now)
    notes = _resource_notes(fresh_db)
    water = fresh_db.scalar("SELECT id FROM stock WHERE item_code = 'drinking_water'")
    assert notes == [("stock_expiring", str(water), CHENGGUAN)]  # food expires in a year: not yet
    assert any(c.kind == "stock_expiring" for c in first)
    # the tent falls under its minimum with an issue: reminded to the county bureau
    stock.issue(fresh_db, SYSTEM, county, "tent", 3, moved_on=DAY, handled_by="李四", purpose="演练")
    reminders.sweep(fresh_db, now)
    reminders.sweep(fresh_db, now)  # again: nothing twice
    reminders.sweep(fresh_db, datetime(2026, 11, 3, 8, 0, tzinfo=reminders.TZ))  # next day: still nothing new
    notes = _resource_notes(fresh_db)
    assert notes == [
        ("stock_below_minimum", f"{county}:tent", None),
        ("stock_expiring", str(water), CHENGGUAN),
    ]
    # restocked, then short again by a later issue: a new shortage, reminded once more
    stock.receive(fresh_db, SYSTEM, county, "tent", 5, moved_on=DAY, handled_by="张三")
    assert stock.below_minimum(fresh_db) == []
    stock.issue(fresh_db, SYSTEM, county, "tent", 5, moved_on=date(2026, 11, 4), handled_by="李四", purpose="抢险")
    reminders.sweep(fresh_db, datetime(2026, 11, 4, 8, 0, tzinfo=reminders.TZ))
    assert [n for n in _resource_notes(fresh_db) if n[0] == "stock_below_minimum"] == [
        ("stock_below_minimum", f"{county}:tent", None)
    ] * 2


def test_expiring_candidates_are_pure_and_respect_lead_time():
    row = {
        "id": 7,
        "depot_name": "城关镇储备点",
        "township_code": CHENGGUAN,
        "item_code": "generator",
        "batch": "2024-05",
        "quantity": 2,
        "expires_on": None,
        "maintain_on": date(2026, 12, 15),
    }
    (c,) = stock.expiring_candidates([row], date(2026, 11, 2), 30)
    assert c.kind == "stock_expiring" and c.variant == "maintenance" and c.due_on == date(2026, 12, 15)
    assert c.remind_at.date() == date(2026, 11, 13)  # 30 days before: a Sunday -> the Friday before
    assert "发电机" in c.title and "需保养" in c.title
    assert stock.expiring_candidates([{**row, "quantity": 0}], date(2026, 11, 2), 30) == []
    assert stock.expiring_candidates([row], date(2026, 12, 16), 30) == []  # past: not a reminder


# Scope --------------------------------------------------------------------------------------------
def test_a_township_operator_edits_only_its_own_depots_and_hazard_points(fresh_db):
    own = registry.create(
        fresh_db, TOWN, "depots", {"name": "城关镇储备点", "level": "township", "township_code": CHENGGUAN}
    )
    other = _depot(fresh_db, TIANHU, "田湖镇储备点")
    with pytest.raises(PermissionDenied):
        registry.create(fresh_db, TOWN, "depots", {"name": "田湖", "level": "township", "township_code": TIANHU})
    with pytest.raises(PermissionDenied):
        registry.create(fresh_db, TOWN, "depots", {"name": "县库", "level": "county"})
    with pytest.raises(PermissionDenied):
        registry.update(fresh_db, TOWN, "depots", other, {"address": "改"})
    with pytest.raises(PermissionDenied):  # nor move its own depot to another township
        registry.update(fresh_db, TOWN, "depots", own, {"township_code": TIANHU})
    with pytest.raises(PermissionDenied):
        stock.receive(fresh_db, TOWN, other, "tent", 1, moved_on=DAY, handled_by="张三")
    assert registry.update(fresh_db, TOWN, "depots", own, {"address": "镇政府院内"})["address"] == "镇政府院内"
    stock.receive(fresh_db, TOWN, own, "tent", 1, moved_on=DAY, handled_by="张三")

    hazard = {"code": "H-1", "name": "后山滑坡", "kind": "geological", "township_code": CHENGGUAN}
    mine = registry.create(fresh_db, TOWN, "hazards", hazard)
    theirs = registry.create(fresh_db, SYSTEM, "hazards", {**hazard, "code": "H-2", "township_code": TIANHU})
    with pytest.raises(PermissionDenied):
        registry.update(fresh_db, TOWN, "hazards", theirs, {"people_threatened": 5})
    with pytest.raises(PermissionDenied):
        registry.create(fresh_db, TOWN, "hazards", {**hazard, "code": "H-3", "township_code": TIANHU})
    with pytest.raises(PermissionDenied):
        registry.create(fresh_db, VIEWER, "hazards", {**hazard, "code": "H-4"})
    assert registry.update(fresh_db, TOWN, "hazards", mine, {"people_threatened": 12})["people_threatened"] == 12
    assert fresh_db.scalar("SELECT people_threatened FROM hazard_points WHERE id = ?", [theirs]) == 0


def test_registry_validation_names_every_problem(fresh_db):
    with pytest.raises(ValidationError) as caught:
        registry.create(
            fresh_db,
            SYSTEM,
            "shelters",
            {
                "name": "",
                "kind": "cave",
                "township_code": CHENGGUAN,
                "capacity": -5,
                "lon": 112.1,
                "manager_phone": "12",
            },
        )
    fields = {p.field for p in caught.value.problems}
    assert {"场所名称", "类型", "容纳人数", "纬度", "管理人电话"} <= fields
    with pytest.raises(ValidationError, match="不在本县范围内"):  # swapped lat/lon
        registry.create(fresh_db, SYSTEM, "depots", {"name": "x", "level": "county", "lon": 34.1, "lat": 112.1})
    with pytest.raises(ValidationError, match="村级储备点须选择村"):
        registry.create(fresh_db, SYSTEM, "depots", {"name": "x", "level": "village", "township_code": CHENGGUAN})
    registry.create(
        fresh_db, SYSTEM, "hazards", {"code": "H-1", "name": "a", "kind": "geological", "township_code": CHENGGUAN}
    )
    with pytest.raises(ValidationError, match="H-1 已登记"):
        registry.create(
            fresh_db, SYSTEM, "hazards", {"code": "H-1", "name": "b", "kind": "geological", "township_code": CHENGGUAN}
        )
    assert fresh_db.scalar("SELECT count(*) FROM shelters") == 0


def test_experts_phones_masked_by_role_and_audit_masks_them(fresh_db):
    expert = registry.create(
        fresh_db, SYSTEM, "experts", {"name": "孙七", "field": "geological", "phone": "13512345678"}
    )
    local = registry.create(
        fresh_db,
        SYSTEM,
        "experts",
        {"name": "周八", "field": "flood", "phone": "13587654321", "township_code": CHENGGUAN},
    )
    assert set(registry.listing(fresh_db, SYSTEM, "experts")["phone"]) == {"13512345678", "13587654321"}
    seen = dict(zip(*[registry.listing(fresh_db, TOWN, "experts")[c] for c in ("id", "phone")], strict=True))
    assert seen == {expert: "135****5678", local: "13587654321"}  # its own township's expert in full
    assert set(registry.listing(fresh_db, VIEWER, "experts")["phone"]) == {"135****5678", "135****4321"}
    logged = fresh_db.scalar(
        "SELECT string_agg(CAST(after AS VARCHAR), ' ') FROM audit_log WHERE table_name = 'experts'"
    )
    assert "13512345678" not in logged and "135****5678" in logged


def test_hazard_contacts_for_the_village_chain(fresh_db):
    village = fresh_db.scalar("SELECT min(code) FROM villages WHERE township_code = ?", [CHENGGUAN])
    base = {"kind": "geological", "township_code": CHENGGUAN, "village_code": village}
    registry.create(
        fresh_db,
        SYSTEM,
        "hazards",
        {
            **base,
            "code": "H-1",
            "name": "滑坡",
            "responsible_name": "王五",
            "responsible_phone": "13700000001",
            "monitor_name": "赵六",
            "monitor_phone": "13600000001",
        },
    )
    registry.create(fresh_db, SYSTEM, "hazards", {**base, "code": "H-2", "name": "崩塌", "monitor_name": "钱七"})
    contacts = hazard_contacts(fresh_db, village)
    assert [(c["name"], c["role"], c["phone"]) for c in contacts] == [
        ("王五", "隐患点责任人", "13700000001"),
        ("赵六", "隐患点监测员", "13600000001"),
        ("钱七", "隐患点监测员", None),
    ]
    assert hazard_contacts(fresh_db, "410325101001") == []


def test_team_base_side_table_scope_and_nearest(fresh_db):
    team = fresh_db.scalar(
        "INSERT INTO teams (name, kind, level, township_code, established_on) VALUES"
        " ('城关镇应急救援队', 'grassroots', 'township', ?, DATE '2024-01-01') RETURNING id",
        [CHENGGUAN],
    )
    with pytest.raises(ValidationError, match="队伍"):
        bases.set_team_base(fresh_db, SYSTEM, 999999, {"lon": 112.0, "lat": 34.0})
    with pytest.raises(PermissionDenied):
        bases.set_team_base(fresh_db, User(903, "t2", "田湖", "township", TIANHU), team, {"lon": 112.0, "lat": 34.0})
    bases.set_team_base(fresh_db, TOWN, team, {"lon": 112.1, "lat": 34.0, "staffing": "part", "readiness": "standby"})
    bases.set_team_equipment(fresh_db, TOWN, team, {"assault_boat": 2, "life_jacket": 40, "tent": 0})
    assert [e["name"] for e in bases.equipment_of(fresh_db, team)] == ["冲锋舟", "救生衣"]
    registry.create(
        fresh_db,
        SYSTEM,
        "hazards",
        {"code": "H-1", "name": "滑坡", "kind": "geological", "township_code": CHENGGUAN, "lon": 112.0, "lat": 34.0},
    )
    (row,) = coverage.nearest_resources(fresh_db, 10)
    assert row["nearest_team"] == {"name": "城关镇应急救援队", "lat": 34.0, "lon": 112.1, "km": 9.22}
    assert row["covered"] and not coverage.nearest_resources(fresh_db, 5)[0]["covered"]
    assert bases.team_bases(fresh_db)[0]["equipment"] == "冲锋舟2艘、救生衣40件"


def test_shelter_capacity_and_township_shortages(fresh_db):
    registry.create(
        fresh_db, SYSTEM, "shelters", {"name": "一中", "kind": "school", "township_code": CHENGGUAN, "capacity": 800}
    )
    registry.create(
        fresh_db,
        SYSTEM,
        "shelters",
        {"name": "旧校", "kind": "school", "township_code": CHENGGUAN, "capacity": 500, "is_open": False},
    )
    coverage.set_population(fresh_db, SYSTEM, {CHENGGUAN: 40000})
    town = next(r for r in coverage.shelter_capacity(fresh_db) if r["code"] == CHENGGUAN)
    assert (town["shelters"], town["capacity"], town["population"], town["per_100"]) == (1, 800, 40000, 2.0)
    assert next(r for r in coverage.shelter_capacity(fresh_db) if r["code"] == TIANHU)["population"] is None
    depot = _depot(fresh_db)
    stock.receive(fresh_db, SYSTEM, depot, "tent", 30, moved_on=DAY, handled_by="张三")
    coverage.set_township_minimums(fresh_db, SYSTEM, {"tent": 20})
    short = {r["township_code"] for r in coverage.shortages(fresh_db)}
    assert CHENGGUAN not in short and TIANHU in short
    with pytest.raises(PermissionDenied):
        coverage.set_population(fresh_db, TOWN, {CHENGGUAN: 1})


# Import / export ------------------------------------------------------------------------------
def _workbook(key: str, rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(transfer.template_xlsx(key)))
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [
    "H-1",
    "后山滑坡",
    "地质灾害隐患点",
    "城关镇",
    "",
    112.1,
    34.16,
    30,
    8,
    "王五",
    "13700000000",
    "赵六",
    "13600000001",
    "",
    "",
]


def test_hazard_import_is_all_or_nothing_and_names_every_bad_row(fresh_db):
    bad = ["H-1", "重复", "易涝点", "田湖镇", "", 34.1, 112.1, -3, 8, "王五", "123", "", "", "无此场所", ""]
    data = _workbook("hazards", [GOOD, bad, ["H-9", "", "某类", "城关", "", "", "", "", "", "", "", "", "", "", ""]])
    result = transfer.run_import(fresh_db, SYSTEM, "hazards", "h.xlsx", data)
    found = {(p.row, p.column) for p in result.problems}
    assert {(4, "隐患点编号"), (4, "威胁人数"), (4, "责任人电话"), (4, "经度"), (4, "避险场所")} <= found
    assert {(5, "隐患点名称"), (5, "类型")} <= found
    assert result.bad_rows == [4, 5] and not result.committed
    assert fresh_db.scalar("SELECT count(*) FROM hazard_points") == 0  # the good row 3 was not written either
    # scope: a township operator's file with another township's row is refused whole
    other = [*GOOD[:3], "田湖镇", *GOOD[4:]]
    other[0] = "H-2"
    result = transfer.run_import(fresh_db, TOWN, "hazards", "h.xlsx", _workbook("hazards", [GOOD, other]))
    assert [(p.row, p.column) for p in result.problems] == [(4, "所属乡镇")]
    assert fresh_db.scalar("SELECT count(*) FROM hazard_points") == 0
    # a clean file: written in one transaction, one audit row
    result = transfer.run_import(fresh_db, TOWN, "hazards", "h.xlsx", _workbook("hazards", [GOOD]))
    assert result.ok and result.written == 1
    assert (
        fresh_db.scalar("SELECT count(*) FROM audit_log WHERE action = 'import' AND table_name = 'hazard_points'") == 1
    )
    # the export has the import's headers: it imports again (refused now only as a duplicate code)
    exported = transfer.export_xlsx(fresh_db, SYSTEM, "hazards")
    again = transfer.run_import(fresh_db, SYSTEM, "hazards", "again.xlsx", exported)
    assert [(p.row, p.column, p.reason) for p in again.problems] == [(2, "隐患点编号", "H-1 已登记")]


def test_depot_shelter_expert_imports(fresh_db):
    depots = _workbook("depots", [["县储备库", "县级储备库", "", "", "县城", "", "", "张三", "13800000000"]])
    assert transfer.run_import(fresh_db, SYSTEM, "depots", "d.xlsx", depots).written == 1
    shelters = _workbook("shelters", [["一中", "学校", "城关镇", "", "", "", "", 800, "", "", "", "", "关闭"]])
    assert transfer.run_import(fresh_db, SYSTEM, "shelters", "s.xlsx", shelters).written == 1
    assert fresh_db.scalar("SELECT is_open FROM shelters") is False
    experts = _workbook("experts", [["孙七", "地质灾害", "县自然资源局", "高级工程师", "13500000000", "", ""]])
    assert transfer.run_import(fresh_db, SYSTEM, "experts", "e.xlsx", experts).written == 1
    assert fresh_db.scalar("SELECT availability FROM experts") == "available"
    with pytest.raises(PermissionDenied):
        transfer.run_import(fresh_db, VIEWER, "experts", "e.xlsx", experts)


# The demo and the CLI -----------------------------------------------------------------------------
def test_demo_resources_use_only_real_seat_coordinates(demo_db):
    from emergency import regions

    seats = {(t["lon"], t["lat"]) for t in regions.read_townships() if t["lon"] is not None}
    for table in ("depots", "shelters", "team_bases"):
        placed = set(demo_db.query(f"SELECT lon, lat FROM {table} WHERE lon IS NOT NULL"))
        assert placed and placed <= seats, table
    assert demo_db.scalar("SELECT count(*) FROM hazard_points WHERE lon IS NOT NULL") == 0  # villages: none known
    assert demo_db.scalar("SELECT count(*) FROM hazard_points") > 30
    assert demo_db.scalar("SELECT count(*) FROM depots WHERE NOT is_demo") == 0


def test_cli_list_and_nearest_json_contract(fresh_db, tmp_path):
    depot = registry.create(
        fresh_db, SYSTEM, "depots", {"name": "县储备库", "level": "county", "lon": 112.0, "lat": 34.1}
    )
    stock.receive(fresh_db, SYSTEM, depot, "tent", 12, moved_on=DAY, handled_by="张三")
    team = fresh_db.scalar(
        "INSERT INTO teams (name, kind, level, township_code, established_on) VALUES"
        " ('城关镇应急救援队', 'grassroots', 'township', ?, DATE '2024-01-01') RETURNING id",
        [CHENGGUAN],
    )
    bases.set_team_base(fresh_db, SYSTEM, team, {"lon": 112.1, "lat": 34.0})
    registry.create(
        fresh_db,
        SYSTEM,
        "hazards",
        {"code": "H-1", "name": "滑坡", "kind": "geological", "township_code": CHENGGUAN, "lon": 112.0, "lat": 34.0},
    )
    path = fresh_db.path
    fresh_db.close()
    result = run("resources", "nearest", "--within-km", "9", "--json", "--db", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "code": "H-1",
            "name": "滑坡",
            "lat": 34.0,
            "lon": 112.0,
            "nearest_team": {"name": "城关镇应急救援队", "lat": 34.0, "lon": 112.1, "km": 9.22},
            "nearest_depot": {"name": "县储备库", "lat": 34.1, "lon": 112.0, "km": 11.12},
            "covered": False,
        }
    ]
    result = run("resources", "nearest", "--json", "--db", str(path))  # default: 10 km
    assert json.loads(result.stdout)[0]["covered"] is True
    assert json.loads(run("resources", "list", "team-bases", "--json", "--db", str(path)).stdout) == [
        {"name": "城关镇应急救援队", "lat": 34.0, "lon": 112.1}
    ]
    assert json.loads(run("resources", "list", "depots", "--json", "--db", str(path)).stdout) == [
        {
            "name": "县储备库",
            "lat": 34.1,
            "lon": 112.0,
            "stock": [{"item_code": "tent", "name": "帐篷", "unit": "顶", "quantity": 12}],
        }
    ]
    for kind in ("stock", "shelters", "hazards", "experts"):
        result = run("resources", "list", kind, "--json", "--db", str(path))
        assert result.returncode == 0 and isinstance(json.loads(result.stdout), list), (kind, result.stderr)
    text = run("resources", "nearest", "--db", str(path)).stdout
    assert "最近队伍 城关镇应急救援队 9.22 公里" in text and "1 个在 10 公里内" in text
    bad = run("resources", "list", "tents", "--db", str(path))
    assert bad.returncode == 1 and "类型必须是" in bad.stderr
    out = tmp_path / "hazards.xlsx"
    assert run("resources", "export", "hazards", str(out), "--db", str(path)).returncode == 0
    result = run("resources", "import", "hazards", str(out), "--dry-run", "--db", str(path))
    assert result.returncode == 1 and "H-1 已登记" in result.stdout


def test_nearest_within_is_a_setting(fresh_db):
    assert coverage.within_km(fresh_db) == 10
    coverage.set_within_km(fresh_db, SYSTEM, 5)
    assert coverage.within_km(fresh_db) == 5
    with pytest.raises(ValidationError):
        coverage.set_within_km(fresh_db, SYSTEM, 0)
    with pytest.raises(PermissionDenied):
        coverage.set_within_km(fresh_db, auth.User(1, "t", "t", "township", CHENGGUAN), 3)
    assert math.isclose(coverage.within_km(fresh_db), 5)


def test_drills_link_to_hazard_points_and_stale_edits_are_refused(fresh_db):
    from emergency.stale import StaleRecord

    hazard = registry.create(
        fresh_db, SYSTEM, "hazards", {"code": "H-1", "name": "滑坡", "kind": "geological", "township_code": CHENGGUAN}
    )
    drill = fresh_db.scalar(
        "INSERT INTO drills (title, level, organiser, form, content, held_on, township_code, participants)"
        " VALUES ('滑坡避险演练', 'village', '城关镇', 'live', 'single', DATE '2026-06-01', ?, 40) RETURNING id",
        [CHENGGUAN],
    )
    with pytest.raises(ValidationError, match="演练"):
        registry.link_drill(fresh_db, TOWN, hazard, 999999)
    with pytest.raises(PermissionDenied):
        registry.link_drill(fresh_db, User(903, "t2", "田湖", "township", TIANHU), hazard, drill)
    registry.link_drill(fresh_db, TOWN, hazard, drill)
    registry.link_drill(fresh_db, TOWN, hazard, drill)  # once
    assert fresh_db.query("SELECT hazard_id, drill_id FROM hazard_drills") == [(hazard, drill)]
    drawn = registry.record_of(fresh_db, "hazards", hazard)
    registry.update(fresh_db, SYSTEM, "hazards", hazard, {"evacuation_route": "向东撤离"}, expected=drawn)
    with pytest.raises(StaleRecord):
        registry.update(fresh_db, TOWN, "hazards", hazard, {"people_threatened": 3}, expected=drawn)
    assert fresh_db.scalar("SELECT people_threatened FROM hazard_points") == 0


@pytest.mark.parametrize(
    "raw, kept, problem",
    [
        ({CHENGGUAN: 40000}, {CHENGGUAN: 40000}, None),
        ({CHENGGUAN: "41,200"}, {CHENGGUAN: 41200}, None),
        ({CHENGGUAN: None, TIANHU: ""}, {}, None),  # blank: not entered
        ({CHENGGUAN: 0}, {}, "城关镇人口：须为正整数"),
        ({CHENGGUAN: 12.5}, {}, "城关镇人口：“12.5”不是整数"),
        ({CHENGGUAN: "很多"}, {}, "城关镇人口：“很多”不是整数"),
        ({CHENGGUAN: 9_000_000}, {}, "城关镇人口：9,000,000 超过"),
        ({"999": 10}, {}, "乡镇 999：不是本县乡镇"),
    ],
)
def test_population_problems(fresh_db, raw, kept, problem):
    got, problems = coverage.population_problems(fresh_db, raw)
    assert got == kept
    text = "；".join(f"{p.field}：{p.reason}" for p in problems)
    assert (problem in text) if problem else problems == []


@pytest.mark.parametrize(
    "raw, kept, problem",
    [
        ({"tent": 20, "pump": None, "quilt": 0}, {"tent": 20}, None),  # blank and 0: no minimum
        ({"tent": -1}, {}, "帐篷最低储备：不能为负数"),
        ({"tent": 2.5}, {}, "帐篷最低储备：“2.5”不是整数"),
        ({"tent": 2_000_000}, {}, "帐篷最低储备：2,000,000顶 超过"),
        ({"spaceship": 1}, {}, "物资 spaceship：不在物资目录中"),
    ],
)
def test_minimum_problems(raw, kept, problem):
    got, problems = coverage.minimum_problems(raw)
    assert got == kept
    text = "；".join(f"{p.field}：{p.reason}" for p in problems)
    assert (problem in text) if problem else problems == []


def test_population_and_minimums_are_admin_set_audited_and_replace_the_setting(fresh_db):
    admin = SYSTEM
    coverage.set_population(fresh_db, admin, {CHENGGUAN: 40000, TIANHU: 12000})
    assert coverage.population(fresh_db) == {CHENGGUAN: 40000, TIANHU: 12000}
    coverage.set_population(fresh_db, admin, {CHENGGUAN: 41000, TIANHU: None})  # cleared: not entered
    assert coverage.population(fresh_db) == {CHENGGUAN: 41000}
    with pytest.raises(ValidationError):
        coverage.set_population(fresh_db, admin, {CHENGGUAN: -5})
    assert coverage.population(fresh_db) == {CHENGGUAN: 41000}  # nothing written on a refusal
    coverage.set_township_minimums(fresh_db, admin, {"tent": 5})
    with pytest.raises(PermissionDenied):
        coverage.set_township_minimums(fresh_db, TOWN, {"tent": 1})
    logged = fresh_db.query(
        "SELECT record_id FROM audit_log WHERE table_name = 'settings' AND record_id LIKE 'resources.%' ORDER BY id"
    )
    assert logged == [(coverage.POPULATION_KEY,), (coverage.POPULATION_KEY,), (coverage.MINIMUMS_KEY,)]
