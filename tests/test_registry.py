"""Registry (issue 4): normalisation, import (all or nothing), export, coverage, roster health, CLI."""

import io
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from emergency import auth, imports, normalise, privacy, roster, teams
from emergency.demo.samples import HEADERS, csv_bytes, member_rows, synthetic_id, xlsx_bytes
from emergency.enums import HAZARD_DOMAINS, MEMBER_ROLES, TEAM_KINDS, TEAM_LEVELS
from tests.helpers import user_row

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 25)


# Normalisation: each accepted spelling, and each rejection with its reason ---------------------------
@pytest.fixture(scope="module")
def places(demo_db):
    return normalise.Places.load(demo_db)


@pytest.mark.parametrize(
    "parser, raw, expected",
    [
        (normalise.text, "  城关 　镇  应急队 ", "城关 镇 应急队"),
        (normalise.text, "ＡＢＣ１２３", "ABC123"),
        (normalise.text, "", None),
        (normalise.mobile, "１３８ ００１２ ３４５６", "13800123456"),
        (normalise.mobile, "138-0012-3456", "13800123456"),
        (normalise.mobile, 13800123456.0, "13800123456"),
        (normalise.mobile, "+86 13800123456", "13800123456"),
        (normalise.mobile, None, None),
        (normalise.phone, "0379-6321 5678", "037963215678"),
        (normalise.phone, "１３９００１２３４５６", "13900123456"),
        (normalise.parse_date, "2024-03-05", date(2024, 3, 5)),
        (normalise.parse_date, "2024/3/5", date(2024, 3, 5)),
        (normalise.parse_date, "2024.3.5", date(2024, 3, 5)),
        (normalise.parse_date, "2024年3月5日", date(2024, 3, 5)),
        (normalise.parse_date, "２０２４年３月５日", date(2024, 3, 5)),
        (normalise.parse_date, " 2024 / 03 / 05 ", date(2024, 3, 5)),
        (normalise.parse_date, "20240305", date(2024, 3, 5)),
        (normalise.parse_date, 45356, date(2024, 3, 5)),  # Excel serial number
        (normalise.parse_date, 45356.0, date(2024, 3, 5)),
        (normalise.parse_date, "45356", date(2024, 3, 5)),  # a serial that arrived as CSV text
        (normalise.parse_date, datetime(2024, 3, 5, 0, 0), date(2024, 3, 5)),
        (normalise.parse_date, date(2024, 3, 5), date(2024, 3, 5)),
        (normalise.parse_date, "2024-03-05 00:00:00", date(2024, 3, 5)),
        (normalise.parse_date, "", None),
        (normalise.boolean, "是", True),
        (normalise.boolean, "否", False),
        (normalise.boolean, " Y ", True),
        (normalise.boolean, "", False),
        (normalise.boolean, True, True),
        (normalise.boolean, 1, True),
        (normalise.gender, "女", "女"),
        (normalise.gender, " 男 ", "男"),
        (normalise.id_number, "11010519491231002x", "11010519491231002X"),
        (normalise.id_number, "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        (normalise.id_number, "110105 19491231 002X", "11010519491231002X"),
    ],
)
def test_normalisation_accepts(parser, raw, expected):
    assert parser(raw) == expected


@pytest.mark.parametrize(
    "mapping, raw, expected",
    [
        (TEAM_LEVELS, "乡镇级", "township"),
        (TEAM_LEVELS, "村(社区)级", "village"),  # half-width brackets
        (TEAM_LEVELS, "村（社区）级", "village"),
        (TEAM_LEVELS, "township", "township"),  # the code itself
        (TEAM_KINDS, " 基层应急救援队伍 ", "grassroots"),
        (TEAM_KINDS, "企业专(兼)职救援队伍", "enterprise"),
        (MEMBER_ROLES, "副队长", "deputy"),
        (HAZARD_DOMAINS, "防汛抗旱", "flood"),
    ],
)
def test_enumerations_by_chinese_label(mapping, raw, expected):
    assert normalise.enum(raw, mapping) == expected


def test_enum_list_and_places(places):
    assert normalise.enum_list("防汛抗旱、地质灾害，防汛抗旱; 消防", HAZARD_DOMAINS) == ["flood", "geological", "fire"]
    for spelling in ("城关镇", "城关", " 城关 ", "410325100", 410325100, "城关鎮".replace("鎮", "镇")):
        assert places.township(spelling) == "410325100"
    assert places.township("木植街乡") == places.township("木植街")
    assert places.township("", required=False) is None
    village_code, village_name = next(iter(places.village_names.items()))
    township = places.village_township[village_code]
    short = village_name.replace("村民委员会", "村").replace("居民委员会", "")
    assert places.village(short, township) == village_code
    assert places.village(village_name, township) == village_code


@pytest.mark.parametrize(
    "parser, raw, reason",
    [
        (normalise.required_text, "  ", "不能为空"),
        (lambda v: normalise.text(v, max_length=5), "一二三四五六", "过长"),
        (normalise.parse_date, "2024-02-30", "不存在"),
        (normalise.parse_date, "明年春天", "无法识别的日期"),
        (normalise.parse_date, "3/5/2024", "无法识别的日期"),
        (normalise.parse_date, 0, "超出范围"),
        (normalise.required_date, None, "不能为空"),
        (normalise.boolean, "可能", "应填“是”或“否”"),
        (normalise.gender, "未知", "应填“男”或“女”"),
        (normalise.mobile, "12345", "11位数字"),
        (normalise.mobile, "23800123456", "11位数字"),
        (normalise.mobile, "1380012345", "11位数字"),  # one digit short
        (normalise.phone, "0371-1234567", "0379"),
        (normalise.id_number, "110105194912310021", "校验位"),
        (normalise.id_number, "11010519491331002X", "出生日期无效"),
        (normalise.id_number, "1101051949", "18位"),
        (normalise.id_number, 4.10325198001011e17, "存成了数字"),
        (lambda v: normalise.enum(v, TEAM_LEVELS), "省级", "不是可选值"),
        (lambda v: normalise.enum(v, TEAM_LEVELS), "", "不能为空"),
        (lambda v: normalise.enum_list(v, HAZARD_DOMAINS), "防汛、打架", "不是可选值"),
    ],
)
def test_normalisation_rejects_with_a_chinese_reason(parser, raw, reason):
    with pytest.raises(ValueError, match=reason):
        parser(raw)


def test_places_reject(places):
    with pytest.raises(ValueError, match="找不到乡镇"):
        places.township("火星镇")
    other = next(c for c, t in places.village_township.items() if t != "410325100")
    with pytest.raises(ValueError, match="不是城关镇的村"):
        places.village(other, "410325100")


# Import -------------------------------------------------------------------------------------------
def counts(db):
    return {t: db.scalar(f"SELECT count(*) FROM {t}") for t in ("teams", "members", "team_domains", "audit_log")}


def good_member_rows(db, n=6):
    return member_rows(db, n, seed=11)


def test_mixed_file_changes_nothing_and_names_every_bad_row(scratch_db):
    db = scratch_db
    rows = good_member_rows(db, 12)
    bad = {  # Excel row -> (column, what is wrong)
        3: ("手机号", "1380000"),
        5: ("入队日期", "2024-02-30"),
        6: ("所属队伍", "不存在的队伍"),
        8: ("身份证号", "110105194912310021"),
        9: ("所属乡镇", "火星镇"),
        11: ("已通过培训", "也许"),
        12: ("队内职务", "司令"),
    }
    for excel_row, (column, value) in bad.items():
        rows[excel_row - 2][HEADERS.index(column)] = value
    rows[13 - 2][HEADERS.index("身份证号")] = rows[10 - 2][HEADERS.index("身份证号")]  # same person, same team
    rows[13 - 2][HEADERS.index("所属队伍")] = rows[10 - 2][HEADERS.index("所属队伍")]
    rows[13 - 2][HEADERS.index("所属乡镇")] = rows[10 - 2][HEADERS.index("所属乡镇")]
    bad[13] = ("身份证号", "与第10行")
    for name, data in (
        ("mixed.xlsx", xlsx_bytes(HEADERS, rows)),
        ("mixed.csv", csv_bytes(HEADERS, rows)),
        ("mixed-gbk.csv", csv_bytes(HEADERS, rows, "gb18030")),
    ):
        before = counts(db)
        result = imports.run_import(db, user_row(db, "admin"), "members", name, data)
        assert not result.committed and counts(db) == before, name
        assert result.bad_rows == sorted(bad), (name, [str(p) for p in result.problems])
        found = {(p.row, p.column) for p in result.problems}
        for excel_row, (column, _) in bad.items():
            assert (excel_row, column) in found, (name, excel_row, column)
        assert any("与第10行" in p.reason for p in result.problems if p.row == 13)


def test_township_operator_may_import_only_its_own_township(scratch_db):
    db = scratch_db
    own = db.query(
        "SELECT name FROM teams WHERE township_code = '410325100' AND disbanded_on IS NULL"
        " QUALIFY count(*) OVER (PARTITION BY name) = 1 LIMIT 1"
    )[0][0]
    other = db.query(
        "SELECT name FROM teams WHERE township_code = '410325101' AND disbanded_on IS NULL"
        " QUALIFY count(*) OVER (PARTITION BY name) = 1 LIMIT 1"
    )[0][0]
    county = db.scalar("SELECT name FROM teams WHERE township_code IS NULL LIMIT 1")
    base = ["张三", "", "", "", "", "", "13800000000", "", "", "是", "2024-01-01", "", "2024-01-01"]
    rows = []
    for i, (town, team) in enumerate((("城关镇", own), ("田湖镇", other), ("", county))):
        row = list(base)
        row[1], row[2], row[3] = town, team, synthetic_id(80_000 + i)
        rows.append(row)
    before = counts(db)
    result = imports.run_import(db, user_row(db, "town100"), "members", "scope.xlsx", xlsx_bytes(HEADERS, rows))
    assert counts(db) == before
    assert result.bad_rows == [3, 4]
    assert all(p.column == "所属乡镇" and "本乡镇" in p.reason for p in result.problems)
    ok = imports.run_import(db, user_row(db, "town100"), "members", "own.xlsx", xlsx_bytes(HEADERS, rows[:1]))
    assert ok.committed and counts(db)["members"] == before["members"] + 1
    with pytest.raises(auth.PermissionDenied):
        imports.run_import(db, user_row(db, "leader"), "members", "x.xlsx", xlsx_bytes(HEADERS, rows[:1]))


def test_generated_7349_member_workbook_imports_and_protects_ids(scratch_db):
    db = scratch_db
    rows = member_rows(db, 7349, seed=7349)
    data = xlsx_bytes(HEADERS, rows)
    before = counts(db)
    preview = imports.run_import(db, user_row(db, "admin"), "members", "m.xlsx", data, dry_run=True)
    assert preview.ok and preview.rows == 7349 and counts(db) == before  # a dry run writes nothing
    steps = []
    result = imports.run_import(
        db, user_row(db, "admin"), "members", "m.xlsx", data, progress=lambda f, text: steps.append(f)
    )
    assert result.committed and result.written == 7349, [str(p) for p in result.problems[:5]]
    assert steps[-1] == 1.0 and steps == sorted(steps) and len(steps) > 4
    after = counts(db)
    assert after["members"] == before["members"] + 7349
    assert after["audit_log"] == before["audit_log"] + 1  # one audit row for the whole import
    log = db.query_dicts(
        "SELECT action, table_name, CAST(after AS VARCHAR) AS after FROM audit_log ORDER BY id DESC LIMIT 1"
    )[0]
    assert log["action"] == "import" and '"rows": 7349' in log["after"] and "m.xlsx" in log["after"]
    stored = db.query_dicts("SELECT * FROM members WHERE name = '队员5' ORDER BY id DESC LIMIT 1")[0]
    number = synthetic_id(5)
    assert stored["id_hmac"] == privacy.id_hmac(number) and privacy.decrypt_id(stored["id_cipher"]) == number
    assert stored["id_masked"] == privacy.mask_id(number) and number not in str(
        db.query("SELECT * FROM members WHERE name = '队员5'")
    )
    assert stored["phone"] == normalise.mobile(rows[5][HEADERS.index("手机号")])
    assert stored["role_in_team"] == "member" and stored["training_passed"] and not stored["is_demo"]
    # The same file again: every row is already there, nothing is written twice.
    again = imports.run_import(db, user_row(db, "admin"), "members", "m.xlsx", data)
    assert not again.committed and len(again.bad_rows) == 7349 and counts(db)["members"] == after["members"]


def test_teams_import_from_the_template_and_template_dropdowns(scratch_db):
    db = scratch_db
    book = openpyxl.load_workbook(io.BytesIO(imports.template_xlsx(db, "teams")))
    sheet = book.active
    assert [c.value for c in sheet[1]] == [c.header for c in imports.TEAM_COLUMNS]
    assert str(sheet.cell(2, 1).value).startswith("（示例）")
    dropdowns = {str(v.sqref).split(":")[0][0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert "基层应急救援队伍" in dropdowns["B"] and "乡镇级" in dropdowns["C"] and "城关镇" in dropdowns["D"]
    for row, values in (
        (
            3,
            [
                "城关镇第二防汛队",
                "基层应急救援队伍",
                "乡镇级",
                "城关",
                "",
                "防汛抗旱、生态环境",
                "王五",
                "0379-6321 5678",
                "冲锋舟1艘",
                "2025年3月5日",
            ],
        ),
        (4, ["县环境应急队", "专业应急救援队伍", "县级", "", "", "生态环境", "赵六", "13800001111", "", 45356]),
    ):
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    before = counts(db)
    result = imports.run_import(db, user_row(db, "admin"), "teams", "teams.xlsx", buffer.getvalue())
    assert result.committed and result.written == 2, [str(p) for p in result.problems]
    after = counts(db)
    assert after["teams"] == before["teams"] + 2 and after["team_domains"] == before["team_domains"] + 3
    row = db.query_dicts("SELECT * FROM teams WHERE name = '城关镇第二防汛队'")[0]
    assert (row["township_code"], row["duty_phone"], row["established_on"]) == (
        "410325100",
        "037963215678",
        date(2025, 3, 5),
    )
    assert db.scalar("SELECT established_on FROM teams WHERE name = '县环境应急队'") == date(2024, 3, 5)
    # the county-level environment team now serves every township: that gap is closed everywhere
    cells = roster.coverage(db, TODAY)
    assert (cells[cells["domain_code"] == "environment"]["teams"] >= 1).all()
    # importing the same teams again is refused as duplicates
    again = imports.run_import(db, user_row(db, "admin"), "teams", "teams.xlsx", buffer.getvalue())
    assert not again.committed and again.bad_rows == [3, 4]


def test_team_rows_are_checked_like_the_form(scratch_db):
    db = scratch_db
    headers = [c.header for c in imports.TEAM_COLUMNS]
    rows = [
        ["好队", "社会应急力量", "社会组织", "城关镇", "", "消防", "", "", "", "2024-01-01"],  # 2: good
        ["县级却填乡镇", "专业应急救援队伍", "县级", "城关镇", "", "消防", "", "", "", "2024-01-01"],  # 3
        ["无乡镇的村级队", "基层应急救援队伍", "村（社区）级", "", "", "消防", "", "", "", "2024-01-01"],  # 4
        ["", "基层应急救援队伍", "乡镇级", "城关镇", "", "消防", "", "", "", "2024-01-01"],  # 5: no name
        ["无领域", "基层应急救援队伍", "乡镇级", "城关镇", "", "", "", "", "", "2024-01-01"],  # 6
        ["错电话", "基层应急救援队伍", "乡镇级", "城关镇", "", "消防", "", "0371-1234567", "", "2024-01-01"],  # 7
    ]
    result = imports.run_import(db, user_row(db, "admin"), "teams", "t.csv", csv_bytes(headers, rows))
    assert {(p.row, p.column) for p in result.problems} == {
        (3, "队伍层级"),
        (4, "所属乡镇"),
        (5, "队伍名称"),
        (6, "覆盖领域"),
        (7, "值班电话"),
    }
    # a missing column and an unreadable file are reported, not raised
    assert (
        "缺少此列"
        in imports.run_import(db, auth.SYSTEM, "teams", "t.csv", csv_bytes(headers[:3], [r[:3] for r in rows]))
        .problems[0]
        .reason
    )
    assert "不支持" in imports.run_import(db, auth.SYSTEM, "teams", "t.txt", b"x").problems[0].reason


# Export -----------------------------------------------------------------------------------------------
def test_export_of_a_filtered_list_is_masked_by_role(scratch_db):
    db = scratch_db
    for username in ("leader", "town101"):
        data = imports.export_xlsx(db, user_row(db, username), "members", township_code="410325100")
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        header = [c.value for c in sheet[1]]
        values = list(sheet.iter_rows(min_row=2, values_only=True))
        assert values and {v[header.index("所属乡镇")] for v in values} == {"城关镇"}
        assert all("****" in v[header.index("手机号")] for v in values if v[header.index("手机号")])
        assert all("********" in v[header.index("身份证号")] for v in values if v[header.index("身份证号")])
    own = imports.export_xlsx(db, user_row(db, "town100"), "teams", township_code="410325100")
    sheet = openpyxl.load_workbook(io.BytesIO(own)).active
    header = [c.value for c in sheet[1]]
    assert header[: len(imports.TEAM_COLUMNS)] == [c.header for c in imports.TEAM_COLUMNS]  # re-importable headers
    phones = [r[header.index("值班电话")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert phones and all(p and "*" not in p for p in phones)  # own township: in full
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'export'") == 3


# Coverage -----------------------------------------------------------------------------------------------
def test_coverage_shows_every_township_and_domain_and_its_gaps(demo_db):
    cells = roster.coverage(demo_db, TODAY)
    matrix = roster.coverage_matrix(cells)
    townships = [n for (n,) in demo_db.query("SELECT name FROM townships WHERE is_township ORDER BY sort_order")]
    assert list(matrix.index) == townships and len(townships) == 16
    assert list(matrix.columns) == list(HAZARD_DOMAINS.values())
    # Independent count in Python: a team without a township serves every township.
    teams_rows = demo_db.query(
        "SELECT id, township_code FROM teams WHERE established_on <= ? AND (disbanded_on IS NULL OR disbanded_on > ?)",
        [TODAY, TODAY],
    )
    domains = defaultdict(set)
    for team_id, code in demo_db.query("SELECT team_id, domain_code FROM team_domains"):
        domains[team_id].add(code)
    codes = [c for (c,) in demo_db.query("SELECT code FROM townships WHERE is_township")]
    expected = Counter()
    for team_id, township in teams_rows:
        for town in codes:
            if teams.serves(township, town):
                for d in domains[team_id]:
                    expected[(town, d)] += 1
    got = {(r.township_code, r.domain_code): r.teams for r in cells.itertuples()}
    assert got == {(t, d): expected[(t, d)] for t in codes for d in HAZARD_DOMAINS}
    gaps = roster.gaps(cells)
    no_team = gaps[gaps["kind"] == "无任何队伍"]
    assert len(no_team) > 0  # the demo has gaps: no team covers 生态环境
    assert set(no_team["domain_code"]) == {"environment"} and len(no_team) == 16
    drill = roster.teams_serving(demo_db, user_row(demo_db, "leader"), "410325100", "flood", TODAY)
    assert len(drill) == got[("410325100", "flood")]
    assert drill["township_code"].isna().any() and (drill["township_code"] == "410325100").any()
    assert all("****" in p for p in drill["duty_phone"] if p)


# Roster health ----------------------------------------------------------------------------------------------
def active_members(db):
    return db.query_dicts(
        "SELECT m.* FROM members m JOIN teams t ON t.id = m.team_id WHERE t.established_on <= ?"
        " AND (t.disbanded_on IS NULL OR t.disbanded_on > ?) AND m.joined_on <= ? AND (m.left_on IS NULL OR m.left_on > ?)",
        [TODAY] * 4,
    )


def test_roster_health_finds_the_demos_duplicates_and_malformed_phones(demo_db):
    admin = user_row(demo_db, "admin")
    members = active_members(demo_db)
    by_person = Counter(m["id_hmac"] for m in members)
    expected_dups = {m["id"] for m in members if by_person[m["id_hmac"]] > 1}
    findings = roster.roster_health(demo_db, admin, TODAY)
    assert expected_dups and set(findings["duplicates"]["id"]) == expected_dups
    counts = roster.health_counts(findings)
    assert counts["duplicates"] == sum(1 for h, n in by_person.items() if n > 1)
    bad_phones = {m["id"] for m in members if not re.fullmatch(r"1[3-9]\d{9}", m["phone"] or "")}
    assert bad_phones and set(findings["phones"]["id"]) == bad_phones
    assert set(findings["phones"]["problem"]) <= {"格式错误", "未填写"}
    assert set(findings["untrained"]["id"]) == {m["id"] for m in members if not m["training_passed"]}
    soon = {m["id"] for m in members if m["insurance_until"] is None or (m["insurance_until"] - TODAY).days <= 30}
    assert set(findings["insurance"]["id"]) == soon
    sizes = Counter(m["team_id"] for m in members)
    active_teams = demo_db.query(
        "SELECT id FROM teams WHERE established_on <= ? AND (disbanded_on IS NULL OR disbanded_on > ?)", [TODAY, TODAY]
    )
    assert set(findings["small_teams"]["id"]) == {t for (t,) in active_teams if sizes[t] < 5}
    # a viewer gets the same findings, phones masked
    viewer = roster.roster_health(demo_db, user_row(demo_db, "leader"), TODAY)
    assert len(viewer["phones"]) == len(findings["phones"])
    assert all("****" in p for p in viewer["duplicates"]["phone"] if p)
    # scoped to one township
    town = roster.roster_health(demo_db, admin, TODAY, "410325100")
    assert set(town["phones"]["township_code"]) <= {"410325100"}


def test_age_and_expiry_limits_are_configurable(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    assert roster.health_settings(db) == roster.DEFAULTS
    with pytest.raises(ValueError, match="最高年龄"):
        roster.save_health_settings(db, admin, {**roster.DEFAULTS, "min_age": 60, "max_age": 30})
    with pytest.raises(auth.PermissionDenied):
        roster.save_health_settings(db, user_row(db, "town100"), roster.DEFAULTS)
    roster.save_health_settings(db, admin, {**roster.DEFAULTS, "min_age": 30, "max_age": 50, "expiry_window_days": 10})
    assert roster.health_settings(db)["min_age"] == 30
    members = active_members(db)

    def age(born):
        return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))

    findings = roster.roster_health(db, admin, TODAY)
    expected = {m["id"] for m in members if m["birth_date"] and not 30 <= age(m["birth_date"]) <= 50}
    assert expected and set(findings["ages"]["id"]) == expected
    assert all(a < 30 or a > 50 for a in findings["ages"]["age"])
    # a certificate 8 days from expiry is found with a 10-day window, not with a 5-day one
    member = members[0]["id"]
    cert = teams.add_certificate(
        db, admin, member, {"name": "红十字救护员证", "issued_on": date(2023, 1, 1), "expires_on": date(2026, 12, 3)}
    )
    assert cert in set(roster.expiring_certificates(db, admin, TODAY, 10)["certificate_id"])
    assert cert not in set(roster.expiring_certificates(db, admin, TODAY, 5)["certificate_id"])
    status = roster.expiring_certificates(db, admin, TODAY, 10).set_index("certificate_id").loc[cert, "status"]
    assert status == "即将到期"


# Team and member services --------------------------------------------------------------------------------------
def test_certificates_move_training_insurance_domains(scratch_db):
    db = scratch_db
    op, admin = user_row(db, "town100"), user_row(db, "admin")
    own_teams = [
        t
        for (t,) in db.query(
            "SELECT id FROM teams WHERE township_code = '410325100' AND disbanded_on IS NULL ORDER BY id LIMIT 2"
        )
    ]
    other_team = db.scalar("SELECT min(id) FROM teams WHERE township_code = '410325101' AND disbanded_on IS NULL")
    member = db.scalar("SELECT min(id) FROM members WHERE team_id = ? AND left_on IS NULL", [own_teams[0]])
    cert = teams.add_certificate(
        db,
        op,
        member,
        {"name": " 特种作业操作证 ", "number": "A1", "issued_on": date(2024, 1, 1), "expires_on": date(2027, 1, 1)},
    )
    teams.update_certificate(db, op, cert, {"expires_on": date(2028, 1, 1)})
    assert db.query("SELECT name, expires_on FROM certificates WHERE id = ?", [cert]) == [
        ("特种作业操作证", date(2028, 1, 1))
    ]
    with pytest.raises(ValueError, match="不能早于发证日期"):
        teams.update_certificate(db, op, cert, {"expires_on": date(2020, 1, 1)})
    teams.move_member(db, op, member, own_teams[1])
    assert db.scalar("SELECT team_id FROM members WHERE id = ?", [member]) == own_teams[1]
    with pytest.raises(auth.PermissionDenied):
        teams.move_member(db, op, member, other_team)  # the target is another township's team
    with pytest.raises(ValueError, match="培训日期"):
        teams.record_training(db, op, member, True, None)
    teams.record_training(db, op, member, True, date(2026, 5, 1))
    teams.set_insurance(db, op, member, date(2027, 5, 1))
    assert db.query("SELECT training_passed, training_on, insurance_until FROM members WHERE id = ?", [member]) == [
        (True, date(2026, 5, 1), date(2027, 5, 1))
    ]
    n = teams.renew_team_insurance(db, op, own_teams[1], date(2027, 12, 31))
    assert n == db.scalar(
        "SELECT count(*) FROM members WHERE team_id = ? AND left_on IS NULL AND insurance_until = DATE '2027-12-31'",
        [own_teams[1]],
    )
    teams.set_team_domains(db, op, own_teams[0], ["environment", "flood"])
    assert {d for (d,) in db.query("SELECT domain_code FROM team_domains WHERE team_id = ?", [own_teams[0]])} == {
        "environment",
        "flood",
    }
    cells = roster.coverage(db, TODAY).set_index(["township_code", "domain_code"])
    assert cells.loc[("410325100", "environment"), "local_teams"] == 1
    assert cells.loc[("410325101", "environment"), "teams"] == 0  # a township team serves only its township
    teams.remove_certificate(db, admin, cert)
    actions = db.query(
        "SELECT action, table_name FROM audit_log WHERE table_name IN ('certificates', 'members', 'teams') ORDER BY id"
    )
    assert ("create", "certificates") in actions and ("delete", "certificates") in actions
    assert actions.count(("update", "members")) >= 4 and ("update", "teams") in actions


def test_disbanded_team_takes_no_members(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    team = db.scalar("SELECT min(id) FROM teams WHERE disbanded_on IS NOT NULL")
    with pytest.raises(ValueError, match="已撤销"):
        teams.add_member(db, admin, {"team_id": team, "name": "新人", "joined_on": date(2026, 1, 1)})


# CLI -------------------------------------------------------------------------------------------------------
def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "emergency", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_cli_import_and_export(demo_db, demo_db_path, tmp_path):
    path = tmp_path / "cli.duckdb"
    shutil.copy(demo_db_path, path)
    rows = good_member_rows(demo_db, 5)
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx_bytes(HEADERS, rows))
    rows[2][HEADERS.index("手机号")] = "12345"
    rows[4][HEADERS.index("入队日期")] = "明天"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(HEADERS, rows))

    result = run_cli("import", "members", str(bad), "--db", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "第4行 «手机号»:" in result.stdout and "第6行 «入队日期»:" in result.stdout
    assert "未写入" in result.stderr
    result = run_cli("import", "members", str(good), "--dry-run", "--db", str(path))
    assert result.returncode == 0 and "5 行" in result.stdout, result.stdout + result.stderr
    result = run_cli("import", "members", str(good), "--db", str(path))
    assert result.returncode == 0 and "已导入 5 行" in result.stdout, result.stdout + result.stderr
    out = tmp_path / "teams.xlsx"
    result = run_cli("export", "teams", str(out), "--township", "城关", "--db", str(path))
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(out).active
    assert sheet.max_row > 2 and {r[3] for r in sheet.iter_rows(min_row=2, values_only=True)} == {"城关镇"}
    result = run_cli("export", "members", str(tmp_path / "m.xlsx"), "--db", str(path))
    assert result.returncode == 0 and (tmp_path / "m.xlsx").stat().st_size > 10_000

    from emergency.db import Database

    db = Database(path)
    try:
        assert db.scalar("SELECT count(*) FROM members") == demo_db.scalar("SELECT count(*) FROM members") + 5
        assert db.query("SELECT username, action FROM audit_log WHERE action = 'import'") == [("system", "import")]
    finally:
        db.close()
