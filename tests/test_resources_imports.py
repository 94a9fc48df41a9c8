"""Imports of stock (opening balances and receipts), team bases and team equipment on the import
engine of resources/transfer.py: every bad row named, all or nothing, scope, audit, the CLI."""

from __future__ import annotations

import io
from datetime import date

import pytest

from emergency.auth import SYSTEM, User
from emergency.db import Database
from emergency.resources import bases, registry, transfer
from emergency.setup import initialise
from tests.test_cli import run

CHENGGUAN, TIANHU = "410325100", "410325101"
TOWN = User(901, "town_test", "城关镇填报员", "township", CHENGGUAN)


def workbook(key: str, rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(transfer.template_xlsx(key)))
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def depot(db, name, township=CHENGGUAN) -> int:
    return registry.create(db, SYSTEM, "depots", {"name": name, "level": "township", "township_code": township})


def team(db, name, township=CHENGGUAN) -> int:
    return db.scalar(
        "INSERT INTO teams (name, kind, level, township_code, established_on) VALUES"
        " (?, 'grassroots', 'township', ?, DATE '2024-01-01') RETURNING id",
        [name, township],
    )


def problems(result) -> set[tuple[int, str]]:
    return {(p.row, p.column) for p in result.problems}


def test_templates_name_every_column_and_the_catalogue():
    import openpyxl

    for key, first in (("stock", "储备库"), ("team-bases", "所属乡镇"), ("equipment", "所属乡镇")):
        book = openpyxl.load_workbook(io.BytesIO(transfer.template_xlsx(key)))
        assert book.active.cell(1, 1).value == first
        notes = " ".join(str(c.value) for row in book["填写说明"].iter_rows() for c in row if c.value)
        if key != "team-bases":
            assert "帐篷（顶）" in notes and "冲锋舟（艘）" in notes


@pytest.mark.parametrize(
    "text, code",
    [
        ("帐篷", "tent"),
        ("帐篷（顶）", "tent"),
        ("编织袋(沙袋)", "sandbag"),
        ("pump", "pump"),
        (" 冲锋舟 ", "assault_boat"),
    ],
)
def test_item_code_of(text, code):
    assert transfer.item_code_of(text) == code


def test_item_code_of_names_an_unknown_item():
    with pytest.raises(ValueError, match="“飞艇”不在物资目录中"):
        transfer.item_code_of("飞艇")


def test_stock_import_names_every_bad_row_and_writes_all_or_nothing(fresh_db):
    db = fresh_db
    cg = depot(db, "城关镇储备点")
    depot(db, "田湖镇储备点", TIANHU)
    depot(db, "中心库", CHENGGUAN)
    depot(db, "中心库", TIANHU)  # the same name in two townships
    good = ["城关镇储备点", "", "帐篷", 20, "2026-01", "", "", "2026-01-05", "张三", "期初库存"]
    rows = [
        good,
        ["城关镇储备点", "", "飞艇", 3, "", "", "", "", "", ""],  # unknown item
        ["城关镇储备点", "", "救生衣", 0, "", "", "", "", "", ""],  # quantity not > 0
        ["不存在的库", "", "帐篷", 1, "", "", "", "", "", ""],  # unknown depot
        ["中心库", "", "帐篷", 1, "", "", "", "", "", ""],  # ambiguous
        ["城关镇储备点", "", "方便食品", 5, "", "2026-13-40", "", "", "", ""],  # bad date
    ]
    result = transfer.run_import(db, SYSTEM, "stock", "s.xlsx", workbook("stock", rows))
    assert problems(result) == {(4, "物资"), (5, "数量"), (6, "储备库"), (7, "储备库"), (8, "有效期至")}
    reasons = " ".join(p.reason for p in result.problems)
    assert "“飞艇”不在物资目录中" in reasons and "找不到储备库“不存在的库”" in reasons and "请填写所属乡镇" in reasons
    assert not result.committed and db.scalar("SELECT count(*) FROM stock") == 0  # the good row 3 neither
    # scope: a township operator cannot load another township's depot
    other = ["田湖镇储备点", "", "帐篷", 5, "", "", "", "", "", ""]
    result = transfer.run_import(db, TOWN, "stock", "s.xlsx", workbook("stock", [good, other]))
    assert problems(result) == {(4, "储备库")} and db.scalar("SELECT count(*) FROM stock") == 0
    # clean: opening balances written in one transaction, each a receipt, one import audit row
    clean = [
        good,
        ["中心库", "城关镇", "帐篷", 5, "", "", "", "", "", ""],  # the township tells the two apart
        ["城关镇储备点", "", "方便食品", 30, "B1", "2027-06-30", "", "", "", ""],
        ["城关镇储备点", "", "帐篷", 4, "2026-01", "", "", "", "", ""],  # the same batch again: added to it
    ]
    dry = transfer.run_import(db, TOWN, "stock", "s.xlsx", workbook("stock", clean), dry_run=True)
    assert dry.ok and dry.rows == 4 and db.scalar("SELECT count(*) FROM stock") == 0
    result = transfer.run_import(db, TOWN, "stock", "s.xlsx", workbook("stock", clean))
    assert result.ok and result.written == 4
    assert db.query("SELECT item_code, batch, quantity, expires_on FROM stock WHERE depot_id = ? ORDER BY 1", [cg]) == [
        ("instant_food", "B1", 30, date(2027, 6, 30)),
        ("tent", "2026-01", 24, None),
    ]
    moves = db.query_dicts("SELECT handled_by, purpose, moved_on, recorded_by FROM stock_movements ORDER BY id")
    assert len(moves) == 4 and moves[0] == {
        "handled_by": "张三",
        "purpose": "期初库存",
        "moved_on": date(2026, 1, 5),
        "recorded_by": "town_test",
    }
    assert moves[1]["handled_by"] == "城关镇填报员" and moves[1]["purpose"] == "期初库存导入"
    audit = db.query(
        "SELECT action, table_name, count(*) FROM audit_log WHERE table_name = 'stock_movements' GROUP BY ALL"
    )
    assert sorted(audit) == [("create", "stock_movements", 4), ("import", "stock_movements", 1)]


def test_team_bases_import_checks_team_coordinate_inside_the_county_and_lists(fresh_db):
    db = fresh_db
    cg = team(db, "城关镇应急救援队")
    team(db, "田湖镇应急救援队", TIANHU)
    good = ["城关镇", "城关镇应急救援队", "城关镇人民政府院内", 112.09047, 34.14826, "专职", "城关镇人民政府", "备勤"]
    rows = [
        good,
        ["城关镇", "没有这支队", "", "", "", "", "", ""],
        ["城关镇", "城关镇应急救援队", "", 111.72, 34.33, "", "", ""],  # in the box, outside the outline
        ["城关镇", "城关镇应急救援队", "", 116.4, 39.9, "全职", "", "值班"],  # Beijing; unknown choices
        ["城关镇", "城关镇应急救援队", "", 112.1, "", "", "", ""],  # one of the pair
    ]
    result = transfer.run_import(db, SYSTEM, "team-bases", "b.xlsx", workbook("team-bases", rows))
    found = problems(result)
    assert {(4, "队伍名称"), (5, "经度"), (6, "经度"), (6, "专兼职"), (6, "备勤状态"), (7, "经度")} <= found
    assert "县界以外" in next(p.reason for p in result.problems if (p.row, p.column) == (5, "经度"))
    assert "没有名为“没有这支队”的在册队伍" in next(p.reason for p in result.problems if p.row == 4)
    assert db.scalar("SELECT count(*) FROM team_bases") == 0
    twice = transfer.run_import(db, SYSTEM, "team-bases", "b.xlsx", workbook("team-bases", [good, good]))
    assert problems(twice) == {(4, "队伍名称")} and "与第3行重复" in twice.problems[0].reason
    other = ["田湖镇", "田湖镇应急救援队", "", "", "", "兼职", "", "休整"]
    refused = transfer.run_import(db, TOWN, "team-bases", "b.xlsx", workbook("team-bases", [good, other]))
    assert problems(refused) == {(4, "所属乡镇")} and db.scalar("SELECT count(*) FROM team_bases") == 0
    result = transfer.run_import(db, TOWN, "team-bases", "b.xlsx", workbook("team-bases", [good]))
    assert result.ok and result.written == 1
    assert bases.team_base(db, cg) == {
        "address": "城关镇人民政府院内",
        "lon": 112.09047,
        "lat": 34.14826,
        "staffing": "full",
        "supervising_unit": "城关镇人民政府",
        "readiness": "standby",
    }
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'import' AND table_name = 'team_bases'") == 1
    (listed,) = [b for b in bases.team_bases(db) if b["id"] == cg]
    assert (listed["lat"], listed["lon"]) == (34.14826, 112.09047)


def test_equipment_import_sets_the_files_items_and_keeps_the_others(fresh_db):
    db = fresh_db
    cg = team(db, "城关镇应急救援队")
    bases.set_team_equipment(db, SYSTEM, cg, {"tent": 3, "life_jacket": 10})
    rows = [
        ["城关镇", "城关镇应急救援队", "冲锋舟", 2],
        ["城关镇", "城关镇应急救援队", "飞艇", 1],
        ["城关镇", "城关镇应急救援队", "救生衣", -4],
        ["城关镇", "城关镇应急救援队", "冲锋舟", 1],  # twice in the file
    ]
    result = transfer.run_import(db, SYSTEM, "equipment", "e.xlsx", workbook("equipment", rows))
    assert problems(result) == {(4, "装备"), (5, "数量"), (6, "装备")}
    assert {e["item_code"]: e["quantity"] for e in bases.equipment_of(db, cg)} == {"tent": 3, "life_jacket": 10}
    clean = [["城关镇", "城关镇应急救援队", "冲锋舟", 2], ["城关", "城关镇应急救援队", "救生衣", 40]]
    result = transfer.run_import(db, TOWN, "equipment", "e.xlsx", workbook("equipment", clean))
    assert result.ok and result.written == 2
    assert {e["item_code"]: e["quantity"] for e in bases.equipment_of(db, cg)} == {
        "assault_boat": 2,
        "life_jacket": 40,
        "tent": 3,
    }
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'import' AND table_name = 'team_equipment'") == 1


def test_cli_imports_stock_team_bases_and_equipment(tmp_path):
    path = tmp_path / "cli.duckdb"
    db = Database(path)
    initialise(db)
    depot(db, "城关镇储备点")
    team(db, "城关镇应急救援队")
    db.close()
    files = {
        "stock": workbook("stock", [["城关镇储备点", "", "帐篷", 20, "", "", "", "2026-01-05", "", ""]]),
        "team-bases": workbook(
            "team-bases", [["城关镇", "城关镇应急救援队", "", 112.09047, 34.14826, "兼职", "", "备勤"]]
        ),
        "equipment": workbook("equipment", [["城关镇", "城关镇应急救援队", "冲锋舟", 2]]),
    }
    for kind, data in files.items():
        file = tmp_path / f"{kind}.xlsx"
        file.write_bytes(data)
        dry = run("resources", "import", kind, str(file), "--dry-run", "--db", str(path))
        assert dry.returncode == 0 and "校验通过：1 行" in dry.stdout, dry.stderr
        done = run("resources", "import", kind, str(file), "--db", str(path))
        assert done.returncode == 0 and "已导入 1 行" in done.stdout, done.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook("equipment", [["城关镇", "城关镇应急救援队", "飞艇", 2]]))
    refused = run("resources", "import", "equipment", str(bad), "--db", str(path))
    assert refused.returncode == 1 and "“飞艇”不在物资目录中" in refused.stdout and "整份文件未写入" in refused.stderr
    db = Database(path)
    assert db.scalar("SELECT sum(quantity) FROM stock") == 20
    assert db.query("SELECT staffing, readiness FROM team_bases") == [("part", "standby")]
    assert db.query("SELECT item_code, quantity FROM team_equipment") == [("assault_boat", 2)]
    db.close()
