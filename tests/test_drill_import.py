"""Drill import from the drill logs townships keep in spreadsheets (issue 17, item 6): parsers table by
table, real .xlsx / .xls / GBK .csv files on a real DuckDB file, all or nothing, synonyms, scope,
duplicates, the CLI contract, and the preview on the import page."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from emergency import drill_import, drills
from emergency.auth import SYSTEM, PermissionDenied, User
from emergency.demo.samples import csv_bytes
from emergency.errors import ValidationError
from tests.helpers import user_row, xls_bytes
from tests.test_cli import run

CHENGGUAN, TIANHU = "410325100", "410325101"
TOWN = User(901, "town_test", "城关镇填报员", "township", CHENGGUAN)
VIEWER = User(902, "viewer_test", "领导", "viewer")
HEADERS = [c.header for c in drill_import.COLUMNS]
TODAY = date(2026, 11, 2)


def row(**values) -> list:
    """A good drill log row under the template's headers; keyword arguments change cells by header."""
    base = {
        "演练名称": "城关镇防汛抢险综合演练",
        "演练日期": "2024.5.12",
        "所属乡镇": "城关镇",
        "村（社区）": "",
        "演练级别": "乡镇级",
        "演练形式": "综合实战演练",
        "演练内容": "",
        "参演人数": "１２０",  # full-width digits, as typed with a Chinese input method
        "关联预案": "ZR-01、突发地质灾害应急预案",
        "地点": "伊河滩",
        "组织单位": "城关镇人民政府",
        "参演单位": "城关镇应急救援队",
        "企业（单位）": "",
        "备注": "汛前演练",
    }
    unknown = set(values) - set(base)
    assert not unknown, unknown
    base.update(values)
    return [base[h] for h in HEADERS]


def template_with(db, rows: list[list]) -> bytes:
    """The downloaded template, filled in below its example row, as a township would."""
    book = openpyxl.load_workbook(io.BytesIO(drill_import.template_xlsx(db)))
    for r in rows:
        book.active.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts(db) -> tuple[int, int, int, int]:
    return (
        db.scalar("SELECT count(*) FROM drills"),
        db.scalar("SELECT count(*) FROM drill_plans"),
        db.scalar("SELECT count(*) FROM drill_notes"),
        db.scalar("SELECT count(*) FROM audit_log"),
    )


# Parsers, table by table ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cell, expected",
    [
        ("实战演练", ("live", None)),
        ("桌面演练", ("tabletop", None)),
        ("桌面推演", ("tabletop", None)),
        ("实战", ("live", None)),
        ("综合实战演练", ("live", "comprehensive")),
        ("单项桌面演练", ("tabletop", "single")),
        ("live", ("live", None)),
    ],
)
def test_drill_form_cell(cell, expected):
    assert drill_import.parse_form(cell) == expected


@pytest.mark.parametrize("cell", ["演习", "桌面实战演练", "", "综合演练"])
def test_drill_form_cell_refused(cell):
    with pytest.raises(ValueError):
        drill_import.parse_form(cell)


@pytest.mark.parametrize(
    "cell, expected",
    [(120, 120), (120.0, 120), ("１２０", 120), ("120人", 120), ("35 人次", 35), ("0", 0), ("80名", 80)],
)
def test_participants_cell(cell, expected):
    assert drill_import.parse_participants(cell) == expected


@pytest.mark.parametrize("cell", ["", None, "abc", 12.5, "十二", True, "-3"])
def test_participants_cell_refused(cell):
    with pytest.raises(ValueError):
        drill_import.parse_participants(cell)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("县级", "county"),
        ("乡镇级", "township"),
        ("乡镇", "township"),
        ("村（社区）级", "village"),
        ("村(社区)级", "village"),
        ("村级", "village"),
        ("企业（行业领域）", "enterprise"),
        ("企业", "enterprise"),
    ],
)
def test_level_cell(cell, expected):
    assert drill_import.parse_level(cell) == expected


def test_plan_cells_by_code_name_and_separators():
    index = drill_import.PlanIndex(
        [("ZR-01", "防汛应急预案"), ("ZR-03", "森林火灾应急预案"), ("AQ-01", "群体性事件应急预案")]
    )
    cases = {
        "ZR-01": ["ZR-01"],
        "zr01": ["ZR-01"],
        "防汛应急预案": ["ZR-01"],
        "《防汛应急预案》": ["ZR-01"],
        "防汛预案": ["ZR-01"],
        "ZR-01 防汛应急预案": ["ZR-01"],
        "ZR-01、森林火灾应急预案": ["ZR-01", "ZR-03"],
        "ZR-03,ZR-01；AQ-01": ["ZR-03", "ZR-01", "AQ-01"],
        "ZR-01;防汛应急预案": ["ZR-01"],
    }
    for cell, expected in cases.items():
        assert index.codes(cell) == expected, cell
    for bad in ("", "无此预案", "ZR-01、无此预案"):
        with pytest.raises(ValueError):
            index.codes(bad)


# Files ------------------------------------------------------------------------------------------
def test_a_good_workbook_imports_every_drill_with_its_plans_linked(fresh_db):
    rows = [
        row(),
        row(
            演练名称="田湖镇森林防火桌面推演",
            演练日期=45400,
            所属乡镇="田湖",
            演练形式="桌面演练",
            演练内容="单项演练",
            参演人数=30,
            关联预案="森林火灾应急预案",
            备注="",
        ),
        row(
            演练名称="县防汛应急演练",
            演练日期="2024年6月2日",
            所属乡镇="",
            演练级别="县级",
            演练形式="实战演练",
            参演人数="200人",
            关联预案="ZR-01;ZR-03",
            组织单位="县应急管理局",
            备注="",
        ),
        row(
            演练名称="安康社区消防疏散演练",
            演练日期="2024/7/1",
            演练级别="村（社区）级",
            **{"村（社区）": "安康社区"},
            关联预案="ZR-01",
            备注="",
        ),
    ]
    before = counts(fresh_db)
    result = drill_import.run_import(fresh_db, SYSTEM, "演练台账.xlsx", template_with(fresh_db, rows), today=TODAY)
    assert result.ok and result.committed and result.written == 4, [str(p) for p in result.problems]
    got = fresh_db.query_dicts(
        "SELECT id, title, held_on, township_code, village_code, level, form, content, participants, organiser,"
        " created_by FROM drills ORDER BY id"
    )
    assert [
        (d["title"], d["held_on"], d["township_code"], d["level"], d["form"], d["content"], d["participants"])
        for d in got
    ] == [
        ("城关镇防汛抢险综合演练", date(2024, 5, 12), CHENGGUAN, "township", "live", "comprehensive", 120),
        ("田湖镇森林防火桌面推演", date(2024, 4, 18), TIANHU, "township", "tabletop", "single", 30),  # serial 45400
        ("县防汛应急演练", date(2024, 6, 2), None, "county", "live", "single", 200),
        ("安康社区消防疏散演练", date(2024, 7, 1), CHENGGUAN, "village", "live", "comprehensive", 120),
    ]
    assert got[3]["village_code"] == "410325100001" and {d["created_by"] for d in got} == {"system"}
    ids = [d["id"] for d in got]
    plans = fresh_db.query("SELECT drill_id, plan_code FROM drill_plans ORDER BY drill_id, plan_code")
    assert plans == [
        (ids[0], "ZR-01"),
        (ids[0], "ZR-05"),
        (ids[1], "ZR-03"),
        (ids[2], "ZR-01"),
        (ids[2], "ZR-03"),
        (ids[3], "ZR-01"),
    ]
    assert drills.drill_detail(fresh_db, ids[0])["note"] == "汛前演练"
    assert drills.drill_detail(fresh_db, ids[1])["note"] is None
    after = counts(fresh_db)
    assert after[3] == before[3] + 1  # ONE audit row for the whole import
    audit = fresh_db.query_dicts("SELECT action, table_name, after FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    assert (audit["action"], audit["table_name"]) == ("import", "drills")
    assert '"rows": 4' in audit["after"] and '"plans_linked": 6' in audit["after"]


def test_a_file_with_one_bad_row_writes_nothing_and_names_the_row_and_column(fresh_db):
    good = [row(演练名称=f"防汛演练{i}") for i in range(3)]
    bad = row(演练名称="第四次演练", 参演人数="约五十人")
    data = template_with(fresh_db, [*good[:2], bad, good[2]])
    before = counts(fresh_db)
    result = drill_import.run_import(fresh_db, SYSTEM, "演练台账.xlsx", data, today=TODAY)
    assert not result.committed and result.written == 0
    assert [(p.row, p.column) for p in result.problems] == [(5, "参演人数")]  # header 1, example 2, data from 3
    assert "不是整数人数" in result.problems[0].reason
    assert counts(fresh_db) == before  # no drill, no plan link, no note, no audit row


def test_every_problem_of_a_row_is_named_in_chinese(fresh_db):
    rows = [
        row(演练名称="", 演练日期="2024.13.40", 演练级别="省级", 演练形式="演习", 关联预案="无此预案", 组织单位=""),
        row(演练名称="未来演练", 演练日期="2099-01-01", 演练级别="村级", 所属乡镇="城关镇"),
        row(演练名称="错村演练", 演练级别="村级", **{"村（社区）": "不存在村"}),
        row(演练名称="内容冲突", 演练形式="综合实战演练", 演练内容="单项演练"),
        row(演练名称="县级填了乡镇", 演练级别="县级"),
    ]
    result = drill_import.run_import(fresh_db, SYSTEM, "x.xlsx", template_with(fresh_db, rows), today=TODAY)
    found = {(p.row, p.column): p.reason for p in result.problems}
    assert set(found) == {
        (3, "演练名称"),
        (3, "演练日期"),
        (3, "演练级别"),
        (3, "演练形式"),
        (3, "关联预案"),
        (3, "组织单位"),
        (4, "演练日期"),
        (4, "村（社区）"),
        (5, "村（社区）"),
        (6, "演练内容"),
        (7, "所属乡镇"),
    }, found
    assert found[(3, "演练日期")].startswith("日期“2024.13.40”不存在")
    assert "不能晚于今天" in found[(4, "演练日期")] and found[(4, "村（社区）")] == "村级演练必须填写村（社区）"
    assert "不是城关镇的村（社区）" in found[(5, "村（社区）")]
    assert found[(7, "所属乡镇")] == "县级演练不填写乡镇"  # drills.validate_drill's own rule
    assert fresh_db.scalar("SELECT count(*) FROM drills") == 0


def test_synonym_headers_in_a_gbk_csv_and_an_unknown_column_mapped(fresh_db):
    headers = [
        "序号",
        "演练科目",
        "演练时间",
        "乡镇（街道）",
        "村(社区)",
        "级别",
        "演练方式",
        "参加人数",
        "预案",
        "演练地点",
        "组织部门",
        "检查人",
    ]
    rows = [
        [
            "1",
            "城关镇防汛演练",
            "2024年5月12日",
            "城关镇",
            "",
            "乡镇级",
            "实战",
            "１５",
            "ZR-01",
            "河滩",
            "城关镇政府",
            "张三",
        ],
        ["2", "城关镇地灾演练", "2024.6.3", "城关", "安康社区", "村级", "桌面", "8人", "地质灾害", "", "社区", "李四"],
    ]
    data = csv_bytes(headers, rows, "gbk")
    refused = drill_import.run_import(fresh_db, SYSTEM, "台账.csv", data, today=TODAY)
    assert [(p.row, p.column) for p in refused.problems] == [(1, "检查人")] and refused.unknown_columns == ["检查人"]
    assert fresh_db.scalar("SELECT count(*) FROM drills") == 0
    assert (
        drill_import.run_import(fresh_db, SYSTEM, "台账.csv", data, mapping={"检查人": "备注"}, today=TODAY).ok is False
    )
    # 地质灾害 alone is not a plan: named, and mapped columns are kept
    result = drill_import.run_import(
        fresh_db,
        SYSTEM,
        "台账.csv",
        data.replace("地质灾害".encode("gbk"), "突发地质灾害应急预案".encode("gbk")),
        mapping={"检查人": "备注"},
        today=TODAY,
    )
    assert result.committed and result.written == 2, [str(p) for p in result.problems]
    assert fresh_db.query("SELECT title, participants, village_code FROM drills ORDER BY id") == [
        ("城关镇防汛演练", 15, None),
        ("城关镇地灾演练", 8, "410325100001"),
    ]
    assert fresh_db.query("SELECT note FROM drill_notes ORDER BY drill_id") == [("张三",), ("李四",)]
    columns = {c.header: (c.target, c.how) for c in result.sheets[0].columns}
    assert columns["演练科目"] == ("演练名称", "同义词") and columns["参加人数"] == ("参演人数", "同义词")
    assert columns["乡镇（街道）"] == ("所属乡镇", "同义词") and columns["序号"][1] == "不导入"


def test_an_xls_workbook_with_a_title_row_and_two_sheets(fresh_db):
    headers = ["演练项目", "演练日期", "所属乡镇", "演练级别", "演练形式", "参演人员数", "关联预案", "组织单位"]
    chengguan = [["城关镇消防演练", "2024-03-05", "城关镇", "乡镇级", "实战演练", 40, "ZR-01", "城关镇政府"]]
    tianhu = [["田湖镇防汛演练", "2024-04-06", "田湖镇", "乡镇级", "桌面演练", 25, "ZR-01,ZR-03", "田湖镇政府"]]
    data = xls_bytes({"城关镇": (headers, chengguan), "田湖镇": (headers, tianhu)}, title="2024年乡镇应急演练台账")
    assert data[:4] == b"\xd0\xcf\x11\xe0"
    result = drill_import.run_import(fresh_db, SYSTEM, "台账.xls", data, today=TODAY)
    assert result.committed and result.written == 2, [str(p) for p in result.problems]
    assert any("表头在第 2 行" in n for n in result.notes)
    assert fresh_db.scalar("SELECT count(*) FROM drill_plans") == 3
    # every sheet is checked: a bad row in the second sheet is named with its sheet
    tianhu[0][5] = "很多"
    data = xls_bytes({"城关镇": (headers, chengguan), "田湖镇": (headers, tianhu)})
    bad = drill_import.run_import(fresh_db, SYSTEM, "台账2.xls", data, today=TODAY)
    assert any(p.column == "田湖镇 · 参演人数" and p.row == 2 for p in bad.problems), [str(p) for p in bad.problems]


def test_a_township_operator_imports_only_its_own_township(fresh_db):
    data = template_with(
        fresh_db,
        [row(), row(演练名称="田湖镇演练", 所属乡镇="田湖镇"), row(演练名称="县演练", 所属乡镇="", 演练级别="县级")],
    )
    result = drill_import.run_import(fresh_db, TOWN, "x.xlsx", data, today=TODAY)
    assert [(p.row, p.column, p.reason) for p in result.problems] == [
        (4, "所属乡镇", "乡镇填报员只能导入本乡镇的演练，该行属于其他乡镇（田湖镇）"),
        (5, "所属乡镇", "乡镇填报员只能导入本乡镇的演练，该行属于县级演练"),
    ]
    assert fresh_db.scalar("SELECT count(*) FROM drills") == 0
    own = drill_import.run_import(fresh_db, TOWN, "x.xlsx", template_with(fresh_db, [row()]), today=TODAY)
    assert own.committed and fresh_db.scalar("SELECT created_by FROM drills") == "town_test"
    with pytest.raises(PermissionDenied):
        drill_import.run_import(fresh_db, VIEWER, "x.xlsx", data, today=TODAY)


def test_duplicates_of_a_recorded_drill_or_within_the_file_are_refused(fresh_db):
    drill_id = drills.create_drill(
        fresh_db,
        SYSTEM,
        {
            "title": "城关镇 防汛抢险综合演练",
            "level": "township",
            "organiser": "城关镇人民政府",
            "township_code": CHENGGUAN,
            "held_on": date(2024, 5, 12),
            "form": "live",
            "participants": 50,
        },
        ["ZR-01"],
    )
    again = row(演练名称="城关镇防汛抢险综合演练")  # same township, day and title (spaces do not matter)
    twice = row(演练名称="城关镇第二次演练", 演练日期="2024-08-01")
    other_day = row(演练日期="2024-05-13")  # another day: not a duplicate
    data = template_with(fresh_db, [again, twice, twice, other_day])
    before = counts(fresh_db)
    result = drill_import.run_import(fresh_db, SYSTEM, "x.xlsx", data, today=TODAY)
    assert [(p.row, p.column) for p in result.problems] == [(3, "演练名称"), (5, "演练名称")]
    assert f"第 {drill_id} 号演练重复" in result.problems[0].reason and "与第4行重复" in result.problems[1].reason
    assert counts(fresh_db) == before
    # a voided drill is not a duplicate
    from emergency import records

    records.void(fresh_db, SYSTEM, "drills", drill_id, "录入错误")
    fine = drill_import.run_import(fresh_db, SYSTEM, "x.xlsx", template_with(fresh_db, [again]), today=TODAY)
    assert fine.committed, [str(p) for p in fine.problems]
    # an imported drill is voided, never deleted (as every batch-imported record)
    new_id = fresh_db.scalar("SELECT max(id) FROM drills")
    with pytest.raises(ValidationError, match="批量导入的记录请作废"):
        records.delete(fresh_db, SYSTEM, "drills", new_id)
    assert fresh_db.scalar("SELECT count(*) FROM drill_notes WHERE drill_id = ?", [new_id]) == 1


def test_a_drill_saved_between_preview_and_commit_refuses_the_whole_write(fresh_db):
    data = template_with(fresh_db, [row(演练名称="甲演练"), row(演练名称="乙演练")])
    preview = drill_import.run_import(fresh_db, SYSTEM, "x.xlsx", data, dry_run=True, today=TODAY)
    assert preview.ok and not preview.committed and fresh_db.scalar("SELECT count(*) FROM drills") == 0
    drills.create_drill(
        fresh_db,
        SYSTEM,
        {
            "title": "乙演练",
            "level": "township",
            "organiser": "镇政府",
            "township_code": CHENGGUAN,
            "held_on": date(2024, 5, 12),
            "form": "live",
            "participants": 5,
        },
        ["ZR-01"],
    )
    before = counts(fresh_db)
    with pytest.raises(ValueError, match="第4行的演练“乙演练”在预览后已被登记"):
        drill_import._write(fresh_db, SYSTEM, preview)
    assert counts(fresh_db) == before


def test_the_template_has_the_headers_an_example_row_and_the_plans(fresh_db):
    book = openpyxl.load_workbook(io.BytesIO(drill_import.template_xlsx(fresh_db)))
    sheet = book["演练记录"]
    assert [c.value for c in sheet[1]] == HEADERS
    example = [c.value for c in sheet[2]]
    assert example[0] == "（示例）城关镇防汛抢险综合演练" and example[HEADERS.index("关联预案")] == "ZR-01 防汛应急预案"
    assert {r[0] for r in book["预案清单"].iter_rows(min_row=2, values_only=True)} >= {"ZR-01", "ZR-05"}
    assert "填写说明" in book.sheetnames
    # the template as downloaded holds no data: its example row is never imported
    empty = drill_import.run_import(fresh_db, SYSTEM, "模板.xlsx", drill_import.template_xlsx(fresh_db), today=TODAY)
    assert [p.reason for p in empty.problems] == ["文件中没有数据行"]
    # the example row, without its mark, is a valid drill
    example[0] = "城关镇防汛抢险综合演练"
    assert drill_import.run_import(fresh_db, SYSTEM, "x.xlsx", template_with(fresh_db, [example]), today=TODAY).ok


def test_cli_import_drills_contract(fresh_db, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(template_with(fresh_db, [row(), row(演练名称="乙", 参演人数="若干")]))
    good = tmp_path / "good.csv"
    good.write_bytes(
        csv_bytes(
            [
                "演练科目",
                "演练时间",
                "乡镇（街道）",
                "演练级别",
                "演练形式",
                "参加人数",
                "关联预案",
                "组织单位",
                "检查人",
            ],
            [["城关镇防汛演练", "2024.5.12", "城关镇", "乡镇级", "实战", "15", "ZR-01、ZR-05", "镇政府", "张三"]],
            "gbk",
        )
    )
    path = fresh_db.path
    fresh_db.close()
    result = run("import", "drills", str(bad), "--db", str(path))
    assert result.returncode == 1
    assert "第4行 «参演人数»" in result.stdout and "整份文件未写入任何数据" in result.stderr
    result = run("import", "drills", str(good), "--dry-run", "--db", str(path))
    assert result.returncode == 1 and "未知的列：检查人" in result.stdout and "--map" in result.stdout
    result = run("import", "drills", str(good), "--dry-run", "--map", "检查人=备注", "--db", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "校验通过：1 行演练记录均可导入（--dry-run，未写入）" in result.stdout
    result = run("import", "drills", str(good), "--map", "检查人=不导入", "--update", "--db", str(path))
    assert result.returncode == 1 and "--update" in result.stderr
    result = run("import", "drills", str(good), "--map", "检查人=备注", "--db", str(path))
    assert result.returncode == 0 and "已导入 1 条演练记录（关联预案 2 项）" in result.stdout, result.stderr
    result = run("import", "drills", str(good), "--map", "检查人=备注", "--db", str(path))  # again: a duplicate
    assert result.returncode == 1 and "第2行 «演练名称»" in result.stdout
    from emergency.db import Database

    db = Database(path)
    assert db.query("SELECT title, participants FROM drills") == [("城关镇防汛演练", 15)]
    assert db.scalar("SELECT count(*) FROM drill_plans") == 2
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'import' AND table_name = 'drills'") == 1
    db.close()


# The import page --------------------------------------------------------------------------------
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_import_page_previews_drills_names_bad_rows_and_imports(app, scratch_db):
    db = scratch_db
    at = app("emergency/ui/import_page.py", db=db)
    at.radio[0].set_value("drills").run()
    assert not at.exception, at.exception
    assert not [r for r in at.radio if r.label == "导入方式"]  # drill records are only added
    assert any(b.label == "下载演练记录导入模板" for b in at.get("download_button"))
    rows = [row(演练名称="页面导入演练甲"), row(演练名称="页面导入演练乙", 参演人数="很多")]
    at.file_uploader[0].set_value(("台账.xlsx", template_with(db, rows), XLSX)).run()
    assert not at.exception, at.exception
    assert any("有 1 行存在问题" in e.value for e in at.error), [e.value for e in at.error]
    problems = at.dataframe[-1].value
    assert problems[["行号", "列"]].values.tolist() == [[4, "参演人数"]]
    assert not any(b.label.startswith("确认导入") for b in at.button)
    rows[1] = row(演练名称="页面导入演练乙", 参演人数="60")
    at.file_uploader[0].set_value(("台账2.xlsx", template_with(db, rows), XLSX)).run()
    assert not at.error, [e.value for e in at.error]
    assert any("校验通过：2 行演练记录" in s.value for s in at.success)
    preview = at.dataframe[-1].value
    assert list(preview.columns) == HEADERS
    first = preview.iloc[0].to_dict()
    assert (first["演练名称"], first["所属乡镇"], first["演练形式"], first["演练内容"], first["参演人数"]) == (
        "页面导入演练甲",
        "城关镇",
        "实战演练",
        "综合演练",
        "120",
    )
    assert first["关联预案"] == "ZR-01 防汛应急预案、ZR-05 突发地质灾害应急预案" and first["村（社区）"] == "—"
    text = preview.to_csv(index=False)
    for internal in ("None", "nan", "live", "comprehensive", "township"):
        assert internal not in text, internal
    before = db.scalar("SELECT count(*) FROM drills")
    next(b for b in at.button if b.label == "确认导入 2 行").click().run()
    assert any("已导入 2 条演练记录" in s.value for s in at.success), [s.value for s in at.success]
    assert db.scalar("SELECT count(*) FROM drills") == before + 2
    # the imported drill's record shows its remark (备注, drill_notes)
    drill_id = db.scalar("SELECT id FROM drills WHERE title = '页面导入演练甲'")
    record = app("emergency/ui/drills_page.py", db=db, drill=str(drill_id))
    assert not record.exception, record.exception
    assert any(m.value == "**备注**：汛前演练" for m in record.markdown), [m.value for m in record.markdown][:20]


def test_the_import_page_as_a_township_operator_refuses_another_township(app, scratch_db):
    db = scratch_db
    operator = user_row(db, "town100")
    at = app("emergency/ui/import_page.py", as_user=operator.username, db=db)
    at.radio[0].set_value("drills").run()
    data = template_with(db, [row(演练名称="页面田湖演练", 所属乡镇="田湖镇")])
    at.file_uploader[0].set_value(("台账.xlsx", data, XLSX)).run()
    assert not at.exception, at.exception
    problems = at.dataframe[-1].value
    assert problems.values.tolist() == [[3, "所属乡镇", "乡镇填报员只能导入本乡镇的演练，该行属于其他乡镇（田湖镇）"]]
