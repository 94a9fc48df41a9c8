"""Township spreadsheets as they really are (issue 16): header synonyms, the mapping, no column dropped
silently, roster re-sync, workbooks with several sheets, title and totals rows, .xls, values as written."""

import io
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from emergency import auth, imports, normalise, privacy
from emergency.db import local_today
from emergency.demo.samples import HEADERS, csv_bytes, member_rows, synthetic_id, workbook_bytes, xlsx_bytes
from emergency.import_headers import SKIP, header_keys, match_headers
from tests.helpers import user_row, xls_bytes

ROOT = Path(__file__).resolve().parent.parent


def counts(db):
    return {t: db.scalar(f"SELECT count(*) FROM {t}") for t in ("teams", "members", "member_phones", "audit_log")}


def renamed(**changes) -> list[str]:
    return [changes.get(h, h) for h in HEADERS]


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "emergency", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )


# Headers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cell, keys",
    [
        ("身份证号码（必填）", ("身份证号码必填", "身份证号码")),
        (" *手机号 ", ("手机号", "手机号")),
        ("所属村（社区）", ("所属村社区", "所属村")),
        ("乡镇(街道)", ("乡镇街道", "乡镇")),
        ("姓　名", ("姓名", "姓名")),
    ],
)
def test_header_keys_drop_spaces_marks_brackets_and_notes(cell, keys):
    assert header_keys(cell) == keys


def test_headers_match_templates_synonyms_mapping_and_never_merge_two_columns():
    templates = [c.header for c in imports.MEMBER_COLUMNS]
    cells = [
        "序号",
        "姓 名",
        "公民身份号码",
        "联系电话（必填）",
        "乡镇（街道）",
        "职务",
        "出生年月",
        "电话",
        "备注2",
        "",
    ]
    found = {c.header: (c.target, c.how) for c in match_headers("members", templates, cells)}
    assert found["序号"] == (SKIP, "不导入")
    assert found["姓 名"] == ("姓名", "模板列名")
    assert found["公民身份号码"] == ("身份证号", "同义词")
    assert found["联系电话（必填）"] == ("手机号", "同义词")
    assert found["乡镇（街道）"] == ("所属乡镇", "同义词")
    assert found["职务"] == ("队内职务", "同义词")
    assert found["出生年月"] == ("出生日期", "同义词")
    assert found["电话"] == (None, "重复")  # 手机号 is taken: a second phone column is not merged or dropped
    assert found["备注2"] == (None, "未知")
    assert found["第J列"] == (None, "未知")
    mapped = {
        c.header: c.target
        for c in match_headers("members", templates, cells, {"电话": "其他电话", "备注2": "不导入", "序号": "专长"})
    }
    assert mapped["电话"] == "其他电话" and mapped["备注2"] == SKIP and mapped["序号"] == "专长"
    teams = {c.header: c.target for c in match_headers("teams", [c.header for c in imports.TEAM_COLUMNS], cells)}
    assert teams["联系电话（必填）"] == "值班电话"  # each kind has its own table


# Values -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("(0379)6123456", "03796123456"),
        ("（0379）6123456", "03796123456"),
        ("0379-6123456", "03796123456"),
        ("6123456", "03796123456"),
        ("63215678", "037963215678"),
        ("86 13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        (13812345678.0, "13812345678"),
    ],
)
def test_phones_as_people_write_them(raw, expected):
    assert normalise.phone(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13812345678 / 0379-6123456", ("13812345678", "03796123456")),
        ("0379-6123456、13812345678", ("13812345678", "03796123456")),
        ("13812345678；13987654321", ("13812345678", "13987654321")),
        ("86 13812345678", ("13812345678", None)),
        ("(0379)6123456", (None, "03796123456")),
        ("", (None, None)),
    ],
)
def test_two_numbers_in_one_cell_are_a_mobile_and_a_second_phone(raw, expected):
    assert normalise.phones(raw) == expected


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("13812345678 / 13912345678 / 13712345678", "最多两个"),
        ("0379-6123456 / 0379-6123457", "至少填写一个手机号"),
        ("0371-6123456", "应为11位手机号"),
    ],
)
def test_phone_cells_refused_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalise.phones(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1985.03", (1985, 3)),
        ("1985年3月", (1985, 3)),
        ("198503", (1985, 3)),
        ("1985-3", (1985, 3)),
        (1985.03, (1985, 3)),
        (1985.12, (1985, 12)),
        (198503, (1985, 3)),
        (19850305, date(1985, 3, 5)),
        ("1985-03-05", date(1985, 3, 5)),
        ("19850305", date(1985, 3, 5)),
        ("", None),
    ],
)
def test_birth_as_year_and_month(raw, expected):
    assert normalise.birth(raw) == expected


@pytest.mark.parametrize(
    "raw, reason", [("1985.13", "月份不存在"), ("1985", "只有年份"), (1985.0, "只有年份"), ("1985年", "只有年份")]
)
def test_birth_refused_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalise.birth(raw)


# Synonyms, unknown columns, mapping ---------------------------------------------------------------------
def test_a_roster_with_its_own_headers_imports_ids_and_phones(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    rows = member_rows(db, 5, seed=21)
    headers = renamed(身份证号="身份证号码", 手机号="联系电话", 所属乡镇="所属乡镇（必填）", 姓名="姓 名")
    result = imports.run_import(db, admin, "members", "花名册.xlsx", xlsx_bytes(headers, rows))
    assert result.committed and result.written == 5, [str(p) for p in result.problems]
    how = dict(zip(result.column_frame()["文件中的列"], result.column_frame()["识别方式"]))
    assert how["身份证号码"] == "同义词" and how["联系电话"] == "同义词"
    for row in rows:
        stored = db.query_dicts("SELECT id_hmac, phone FROM members WHERE name = ?", [row[0]])[0]
        assert stored["id_hmac"] == privacy.id_hmac(row[3])
        assert stored["phone"] == normalise.mobile(row[6])
    # The duplicate check sees them now: the same file again is refused row by row.
    again = imports.run_import(db, admin, "members", "花名册.xlsx", xlsx_bytes(headers, rows))
    assert not again.committed and again.bad_rows == [2, 3, 4, 5, 6]
    assert all("已在该队伍中登记" in p.reason for p in again.problems)


def test_an_unknown_column_is_refused_naming_it_unless_mapped_or_skipped(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    rows = [[*r, "0379-6123456"] for r in member_rows(db, 3, seed=22)]  # 备注2 holds numbers
    data = xlsx_bytes([*HEADERS[:13], "备注2"], rows)
    before = counts(db)
    refused = imports.run_import(db, admin, "members", "m.xlsx", data)
    assert not refused.committed and counts(db) == before
    assert refused.unknown_columns == ["备注2"]
    assert [(p.row, p.column) for p in refused.problems] == [(1, "备注2")] and "--map" in refused.problems[0].reason
    skipped = imports.run_import(db, admin, "members", "m.xlsx", data, dry_run=True, mapping={"备注2": "不导入"})
    assert skipped.ok and skipped.rows == 3
    # mapped onto a column the file already has: that one becomes the unknown column, never merged
    clash = imports.run_import(db, admin, "members", "m.xlsx", data, dry_run=True, mapping={"备注2": "手机号"})
    assert clash.unknown_columns == ["手机号"]
    mapped = imports.run_import(db, admin, "members", "m.xlsx", data, mapping={"备注2": "其他电话"})
    assert mapped.committed, [str(p) for p in mapped.problems]
    seconds = db.query(
        "SELECT p.second_phone FROM member_phones p JOIN members m ON m.id = p.member_id WHERE m.name = ?", [rows[0][0]]
    )
    assert seconds == [("03796123456",)]
    # an unnamed column with data is unknown too (named by its letter)
    blank = imports.run_import(db, admin, "members", "b.csv", csv_bytes([*HEADERS[:13], ""], rows))
    assert blank.unknown_columns == ["第N列"]


def test_cli_prints_unknown_columns_exits_1_and_takes_map(demo_db, demo_db_path, tmp_path):
    path = tmp_path / "cli.duckdb"
    shutil.copy(demo_db_path, path)
    rows = [[*r, "", "临时工"] for r in member_rows(demo_db, 4, seed=23)]  # 其他电话 empty
    file = tmp_path / "roster.csv"
    file.write_bytes(csv_bytes(renamed(身份证号="公民身份号码", 手机号="手机号码") + ["备注2"], rows, "gb18030"))
    refused = run_cli("import", "members", str(file), "--db", str(path))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "未知的列：备注2" in refused.stdout and "--map" in refused.stdout and "未写入" in refused.stderr
    bad_map = run_cli("import", "members", str(file), "--map", "备注2", "--db", str(path))
    assert bad_map.returncode == 1 and "源列名=目标列名" in bad_map.stderr
    done = run_cli("import", "members", str(file), "--map", "备注2=专长", "--map", "姓名=姓名", "--db", str(path))
    assert done.returncode == 1 and "专长" in done.stdout  # 专长 is in the file already: now it is the unknown one
    done = run_cli("import", "members", str(file), "--map", "备注2=不导入", "--db", str(path))
    assert done.returncode == 0 and "已导入 4 行" in done.stdout, done.stdout + done.stderr

    from emergency.db import Database

    db = Database(path)
    try:
        assert db.scalar("SELECT count(*) FROM members") == demo_db.scalar("SELECT count(*) FROM members") + 4
        assert db.scalar("SELECT count(*) FROM members WHERE id_hmac = ?", [privacy.id_hmac(rows[0][3])]) == 1
    finally:
        db.close()


# Roster re-sync ---------------------------------------------------------------------------------------
def a_team(db) -> int:
    """A township team whose active members have unique names, ID numbers and well-formed phones."""
    return db.scalar(
        "SELECT t.id FROM teams t JOIN members m ON m.team_id = t.id AND m.left_on IS NULL"
        " WHERE t.disbanded_on IS NULL AND t.township_code IS NOT NULL AND NOT EXISTS ("
        "   SELECT 1 FROM teams o WHERE o.id <> t.id AND o.name = t.name AND o.township_code = t.township_code"
        "   AND o.disbanded_on IS NULL)"
        " GROUP BY t.id HAVING count(*) BETWEEN 4 AND 40 AND count(DISTINCT m.name) = count(*)"
        " AND bool_and(m.id_cipher IS NOT NULL)"
        " AND bool_and(m.phone IS NULL OR regexp_full_match(m.phone, '1[3-9][0-9]{9}'))"
        " ORDER BY t.id LIMIT 1"
    )


def roster_rows(db, team_id: int, *, full_ids: bool) -> tuple[list[str], list[list]]:
    """The team's roster as the administrator exports it (optionally with the full ID numbers)."""
    admin = user_row(db, "admin")
    frame = imports.member_export_frame(db, admin, team_id=team_id)
    if full_ids:
        ids = db.query("SELECT id_cipher FROM members WHERE team_id = ? AND left_on IS NULL ORDER BY id", [team_id])
        frame["身份证号"] = [privacy.decrypt_id(c) for (c,) in ids]
    rows = [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    return list(frame.columns), rows


def snapshot(db, team_id: int) -> dict:
    return {
        r["id"]: r
        for r in db.query_dicts("SELECT * EXCLUDE (updated_at) FROM members WHERE team_id = ? ORDER BY id", [team_id])
    }


def test_update_changes_exactly_one_phone_and_adds_one_person(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    team = a_team(db)
    headers, rows = roster_rows(db, team, full_ids=True)
    before, total = snapshot(db, team), counts(db)
    changed = rows[1]
    old_phone = changed[headers.index("手机号")]
    changed[headers.index("手机号")] = "13911112222"
    new = list(rows[0])
    new[headers.index("姓名")], new[headers.index("身份证号")] = "新队员甲", synthetic_id(85_001)
    new[headers.index("性别")] = new[headers.index("出生日期")] = None
    rows.append(new)
    data = xlsx_bytes(headers, rows)
    mapping = {"离队日期": "不导入"}
    preview = imports.run_import(db, admin, "members", "r.xlsx", data, dry_run=True, mapping=mapping, update=True)
    assert preview.ok, [str(p) for p in preview.problems]
    assert [(c.name, c.match, c.fields) for c in preview.changes] == [
        (changed[0], imports.STRONG, {"手机号": (old_phone or "—", "13911112222")})
    ]
    assert [r["name"] for r in preview.added] == ["新队员甲"]
    assert len(preview.unchanged) == len(before) - 1 and preview.missing == []
    assert counts(db) == total  # a preview writes nothing
    frame = preview.changes_frame()
    assert list(frame.columns) == ["行号", "姓名", "所属队伍", "匹配方式", "字段", "原值", "新值"]

    result = imports.run_import(db, admin, "members", "r.xlsx", data, mapping=mapping, update=True)
    assert result.committed and result.marked_left == 0
    after = snapshot(db, team)
    new_ids = set(after) - set(before)
    assert len(new_ids) == 1 and after[new_ids.pop()]["name"] == "新队员甲"
    differences = {
        (i, k) for i, row in before.items() for k, v in row.items() if after[i][k] != v
    }  # exactly that phone, nothing else
    changed_id = next(i for i, r in before.items() if r["name"] == changed[0])
    assert differences == {(changed_id, "phone")} and after[changed_id]["phone"] == "13911112222"
    assert counts(db)["members"] == total["members"] + 1
    log = db.query(
        "SELECT action, record_id, CAST(after AS VARCHAR) FROM audit_log WHERE id > (SELECT max(id) - 3 FROM audit_log)"
        " ORDER BY id"
    )
    assert [a for a, _, _ in log] == ["create", "update", "import"]
    assert log[1][1] == str(changed_id) and "139****2222" in log[1][2] and "13911112222" not in log[1][2]
    # the same file again changes nothing
    again = imports.run_import(db, admin, "members", "r.xlsx", data, dry_run=True, mapping=mapping, update=True)
    assert again.ok and not again.changes and not again.added and len(again.unchanged) == len(before) + 1


def test_update_lists_missing_members_and_marks_them_left_only_when_asked(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    team = a_team(db)
    headers, rows = roster_rows(db, team, full_ids=True)
    gone = rows.pop(2)
    data = xlsx_bytes(headers, rows)
    mapping = {"离队日期": "不导入"}
    kept = imports.run_import(db, admin, "members", "r.xlsx", data, mapping=mapping, update=True)
    assert kept.committed and [m["name"] for m in kept.missing] == [gone[0]]
    assert db.scalar("SELECT left_on FROM members WHERE team_id = ? AND name = ?", [team, gone[0]]) is None
    marked = imports.run_import(db, admin, "members", "r.xlsx", data, mapping=mapping, update=True, mark_left=True)
    assert marked.committed and marked.marked_left == 1
    member = db.query_dicts("SELECT id, left_on FROM members WHERE team_id = ? AND name = ?", [team, gone[0]])[0]
    assert member["left_on"] == local_today()
    assert (
        db.scalar("SELECT count(*) FROM audit_log WHERE action = 'leave' AND record_id = ?", [str(member["id"])]) == 1
    )


def test_update_is_all_or_nothing(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    team = a_team(db)
    headers, rows = roster_rows(db, team, full_ids=True)
    rows[0][headers.index("手机号")] = "13922223333"
    rows[1][headers.index("入队日期")] = "明天"
    before, total = snapshot(db, team), counts(db)
    result = imports.run_import(
        db, admin, "members", "r.xlsx", xlsx_bytes(headers, rows), mapping={"离队日期": "不导入"}, update=True
    )
    assert not result.committed and result.bad_rows == [3]
    assert snapshot(db, team) == before and counts(db) == total


def test_cli_update_of_an_exported_roster_matches_by_name_and_birth_date(demo_db, demo_db_path, tmp_path):
    """The roster as the page exports it (ID numbers masked): the weaker match, shown as such."""
    path = tmp_path / "cli.duckdb"
    shutil.copy(demo_db_path, path)
    team = a_team(demo_db)
    headers, rows = roster_rows(demo_db, team, full_ids=False)
    assert all("*" in r[headers.index("身份证号")] for r in rows)
    rows[0][headers.index("手机号")] = "13933334444"
    new = list(rows[-1])
    new[headers.index("姓名")], new[headers.index("身份证号")] = "新队员乙", synthetic_id(85_002)
    new[headers.index("性别")] = new[headers.index("出生日期")] = None
    rows.append(new)
    file = tmp_path / "roster.xlsx"
    file.write_bytes(xlsx_bytes(headers, rows))
    before = snapshot(demo_db, team)
    args = ("import", "members", str(file), "--update", "--map", "离队日期=不导入", "--db", str(path))
    result = run_cli(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "弱匹配" in result.stdout and "13933334444" in result.stdout
    assert f"新增 1 人，修改 1 人，未变 {len(before) - 1} 人" in result.stdout
    refused = run_cli("import", "members", str(file), "--mark-left", "--db", str(path))
    assert refused.returncode == 1 and "--update" in refused.stderr

    from emergency.db import Database

    db = Database(path)
    try:
        after = snapshot(db, team)
        differences = {(i, k) for i, row in before.items() for k, v in row.items() if after[i][k] != v}
        first = next(i for i, r in before.items() if r["name"] == rows[0][0])
        assert differences == {(first, "phone")}
        assert len(after) == len(before) + 1
    finally:
        db.close()


# Workbooks as they come ---------------------------------------------------------------------------
def test_two_sheet_workbook_with_title_and_totals_rows_imports_both_sheets(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    names = [
        n
        for (n,) in db.query(
            "SELECT name FROM teams WHERE disbanded_on IS NULL GROUP BY name HAVING count(*) = 1 ORDER BY min(id) LIMIT 2"
        )
    ]
    keep = [h for h in HEADERS if h not in ("所属乡镇", "所属队伍")]  # no team column: the sheet's name is the team
    rows = member_rows(db, 6, seed=24)
    sheets = {
        name: (keep, [[v for h, v in zip(HEADERS, r) if h in keep] for r in rows[i * 3 : i * 3 + 3]])
        for i, name in enumerate(names)
    }
    data = workbook_bytes(sheets, title="城关镇应急救援队伍花名册（2024年）", totals=True)
    before = {
        n: db.scalar("SELECT count(*) FROM members m JOIN teams t ON t.id = m.team_id WHERE t.name = ?", [n])
        for n in names
    }
    result = imports.run_import(db, admin, "members", "花名册.xlsx", data)
    assert result.committed and result.written == 6, [str(p) for p in result.problems]
    assert [s.name for s in result.sheets] == names and all(s.header_row == 2 for s in result.sheets)
    assert any("合计" in n for n in result.notes) and any("标题行" in n for n in result.notes)
    for name in names:
        now = db.scalar("SELECT count(*) FROM members m JOIN teams t ON t.id = m.team_id WHERE t.name = ?", [name])
        assert now == before[name] + 3
    # a problem names its sheet
    sheets[names[1]][1][0][keep.index("手机号")] = "123"
    bad = imports.run_import(db, admin, "members", "花名册.xlsx", workbook_bytes(sheets, title="花名册"), dry_run=True)
    assert any(p.column == f"{names[1]} · 手机号" and p.row == 3 for p in bad.problems), [str(p) for p in bad.problems]


def test_a_sheet_named_after_no_team_is_refused_with_the_reason(scratch_db):
    db = scratch_db
    keep = [h for h in HEADERS if h != "所属队伍"]
    rows = [[v for h, v in zip(HEADERS, r) if h in keep] for r in member_rows(db, 2, seed=25)]
    result = imports.run_import(db, auth.SYSTEM, "members", "x.xlsx", workbook_bytes({"Sheet1": (keep, rows)}))
    assert not result.committed and all(
        "工作表名“Sheet1”" in p.reason for p in result.problems if p.column == "所属队伍"
    )


def test_an_xls_file_imports(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    rows = [[("" if v is None else v) for v in r] for r in member_rows(db, 3, seed=26)]
    for r in rows:
        r[12] = "2024-03-05"  # text dates (xlwt writes numbers as numbers, dates need a style)
    headers = renamed(身份证号="身份证号码", 手机号="联系电话")
    data = xls_bytes({"队员": (headers, rows)}, title="田湖镇应急队伍花名册")
    assert data[:4] == b"\xd0\xcf\x11\xe0"  # an OLE2 (old Excel) file
    result = imports.run_import(db, admin, "members", "old.xls", data)
    assert result.committed and result.written == 3, [str(p) for p in result.problems]
    for r in rows:
        assert db.scalar("SELECT id_hmac FROM members WHERE name = ?", [r[0]]) == privacy.id_hmac(r[3])


def test_birth_year_month_column_takes_full_dates_from_the_id_numbers(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    rows = member_rows(db, 4, seed=27)
    ids = [synthetic_id(3000 + i * 1000) for i in range(4)]  # four different birth dates
    births = [privacy.birth_date_from_id(n) for n in ids]
    spellings = [
        f"{births[0].year}.{births[0].month:02d}",
        f"{births[1].year}年{births[1].month}月",
        f"{births[2].year}{births[2].month:02d}",
        float(f"{births[3].year}.{births[3].month:02d}"),
    ]
    for row, number, written in zip(rows, ids, spellings):
        row[HEADERS.index("身份证号")], row[HEADERS.index("出生日期")] = number, written
    headers = renamed(出生日期="出生年月")
    wrong = [list(r) for r in rows]
    wrong[1][HEADERS.index("出生日期")] = "1960.01"
    refused = imports.run_import(db, admin, "members", "b.xlsx", xlsx_bytes(headers, wrong), dry_run=True)
    assert [(p.row, p.column) for p in refused.problems] == [(3, "出生日期")] and "不符" in refused.problems[0].reason
    result = imports.run_import(db, admin, "members", "b.xlsx", xlsx_bytes(headers, rows))
    assert result.committed, [str(p) for p in result.problems]
    for row, born in zip(rows, births):
        assert db.scalar("SELECT birth_date FROM members WHERE name = ?", [row[0]]) == born
    # without an ID number the year and month are kept as the month's first day, with a warning
    alone = member_rows(db, 1, seed=28)
    alone[0][0], alone[0][HEADERS.index("身份证号")], alone[0][HEADERS.index("出生日期")] = "无证人员", "", "1985.03"
    only = imports.run_import(db, admin, "members", "c.xlsx", xlsx_bytes(headers, alone))
    assert only.committed and any("1985年3月1日" in w.reason for w in only.warnings)
    assert db.scalar("SELECT birth_date FROM members WHERE name = ?", [alone[0][0]]) == date(1985, 3, 1)


def test_members_with_two_numbers_in_one_cell_and_teams_with_landlines(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    rows = member_rows(db, 2, seed=29)
    rows[0][HEADERS.index("手机号")] = "13812345678 / (0379)6123456"
    rows[1][HEADERS.index("手机号")] = "86 13812349999"
    result = imports.run_import(db, admin, "members", "p.xlsx", xlsx_bytes(HEADERS, rows))
    assert result.committed, [str(p) for p in result.problems]
    stored = db.query(
        "SELECT m.phone, p.second_phone FROM members m LEFT JOIN member_phones p ON p.member_id = m.id"
        " WHERE m.name IN (?, ?) ORDER BY m.id",
        [rows[0][0], rows[1][0]],
    )
    assert stored == [("13812345678", "03796123456"), ("13812349999", None)]
    for username, shown in (("admin", "03796123456"), ("leader", "037****3456")):
        frame = imports.member_export_frame(db, user_row(db, username), search=rows[0][0])
        assert frame.loc[frame["姓名"] == rows[0][0], "其他电话"].tolist() == [shown]
    headers = ["队伍名称", "类别", "级别", "乡镇（街道）", "领域", "队长", "联系电话", "成立时间"]
    teams = [
        ["城关镇河道巡查队", "基层应急救援队伍", "乡镇级", "城关", "防汛抗旱", "王五", "(0379)6123456", "2024.3.5"],
        ["城关镇山林巡护队", "基层应急救援队伍", "乡镇级", "城关镇", "森林防灭火", "赵六", "6654321", "2024-04-01"],
    ]
    made = imports.run_import(db, admin, "teams", "队伍.csv", csv_bytes(headers, teams, "gb18030"))
    assert made.committed, [str(p) for p in made.problems]
    assert db.query(
        "SELECT duty_phone FROM teams WHERE name IN ('城关镇河道巡查队', '城关镇山林巡护队') ORDER BY name DESC"
    ) == [("03796123456",), ("03796654321",)]


def test_preview_speaks_chinese(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    rows = member_rows(db, 3, seed=30)
    preview = imports.run_import(db, admin, "members", "m.xlsx", xlsx_bytes(HEADERS, rows), dry_run=True)
    frame = preview.preview_frame(places=normalise.Places.load(db))
    assert list(frame.columns) == [c.header for c in imports.MEMBER_COLUMNS]
    text = frame.to_csv()
    for internal in ("birth_date", "role_in_team", "member", "deputy", "None", "nan", "True", "False", "4103"):
        assert internal not in text.replace("410303", ""), internal
    assert set(frame["队内职务"]) <= {"队员", "副队长", "队长"} and set(frame["已通过培训"]) <= {"是", "否"}
    assert all("****" in v for v in frame["身份证号"])
    assert all(v == "全县" or v.endswith(("镇", "乡")) for v in frame["所属乡镇"])
    teams = imports.run_import(
        db,
        admin,
        "teams",
        "t.csv",
        csv_bytes(
            [c.header for c in imports.TEAM_COLUMNS],
            [["甲队", "基层应急救援队伍", "乡镇级", "城关", "", "消防", "", "", "", "2024-01-01"]],
        ),
        dry_run=True,
    )
    shown = teams.preview_frame(places=normalise.Places.load(db)).iloc[0].to_dict()
    assert shown["队伍类别"] == "基层应急救援队伍" and shown["覆盖领域"] == "消防"
    assert shown["所属乡镇"] == "城关镇" and shown["装备"] == "—"


def test_template_lists_the_second_phone_and_reads_back(scratch_db):
    book = openpyxl.load_workbook(io.BytesIO(imports.template_xlsx(scratch_db, "members")))
    assert [c.value for c in book.active[1]][-1] == "其他电话"


def test_a_second_phone_is_masked_in_the_audit_log():
    from emergency import audit

    assert audit.masked({"second_phone": "03796123456"}) == {"second_phone": "037****3456"}


@pytest.mark.parametrize("kind", ["members", "teams"])
def test_every_synonym_means_its_own_column(kind):
    from emergency.import_headers import SYNONYMS

    templates = [c.header for c in imports.COLUMNS[kind]]
    for target, words in SYNONYMS[kind].items():
        assert target in templates, target
        for word in words:
            (column,) = match_headers(kind, templates, [word])
            assert column.target == target, (word, column.target)


def test_title_and_merged_group_headers_above_the_real_header_are_skipped(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "花名册"
    headers = [{"身份证号": "身份证号码", "手机号": "联系电话"}.get(h, h) for h in HEADERS[:13]]
    sheet.append(["城关镇应急救援队伍花名册（2024年）"])
    sheet.merge_cells("A1:M1")
    sheet.append(["填报单位：城关镇人民政府", None, None, None, None, None, "填报日期：2024年12月"])
    sheet.append(["基本信息", None, None, None, None, None, "联系方式", "队伍信息"])
    sheet.merge_cells("A3:F3")
    sheet.merge_cells("H3:M3")
    sheet.append(headers)
    rows = member_rows(db, 3, seed=31)
    for row in rows:
        sheet.append(row)
    sheet.append(["合计", "3人"])
    sheet.append(["填表人：张三", None, None, None, None, None, "审核人：李四"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = imports.run_import(db, admin, "members", "花名册.xlsx", buffer.getvalue())
    assert result.committed and result.written == 3, [str(p) for p in result.problems]
    assert result.sheets[0].header_row == 4
    assert "已忽略 2 行合计、小计或签名行" in result.notes


def test_the_templates_notes_sheet_is_reported_not_imported(scratch_db):
    book = openpyxl.load_workbook(io.BytesIO(imports.template_xlsx(scratch_db, "members")))
    sheet = book.active
    for row in member_rows(scratch_db, 2, seed=32):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    result = imports.run_import(scratch_db, auth.SYSTEM, "members", "t.xlsx", buffer.getvalue(), dry_run=True)
    assert result.ok and result.rows == 2 and [s.name for s in result.sheets] == ["队员"]
    assert any("填写说明" in n and "未导入" in n for n in result.notes)


def test_teams_update_changes_exactly_one_field_and_adds_one_team(scratch_db):
    db, admin = scratch_db, user_row(scratch_db, "admin")
    frame = imports.team_export_frame(db, admin, township_code="410325100")
    frame = frame[frame["成立日期"].notna() & frame["撤销日期"].isna()]
    rows = [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    headers = list(frame.columns)
    names = [r[0] for r in rows]
    rows = [r for r in rows if names.count(r[0]) == 1]
    before = {
        r["id"]: r for r in db.query_dicts("SELECT * EXCLUDE (updated_at) FROM teams WHERE township_code = '410325100'")
    }
    rows[0][headers.index("负责人")] = "新负责人"
    new = list(rows[0])
    new[0] = "城关镇新组建救援队"
    rows.append(new)
    data = xlsx_bytes(headers, rows)
    mapping = {"撤销日期": "不导入", "在册队员": "不导入"}
    refused = imports.run_import(db, admin, "teams", "t.xlsx", data, dry_run=True, mapping=mapping)
    assert not refused.ok and all("同名队伍" in p.reason for p in refused.problems if p.row != len(rows) + 1)
    preview = imports.run_import(db, admin, "teams", "t.xlsx", data, dry_run=True, mapping=mapping, update=True)
    assert preview.ok, [str(p) for p in preview.problems[:5]]
    assert [(c.name, c.fields) for c in preview.changes] == [
        (rows[0][0], {"负责人": (before_leader(db, rows[0][0]), "新负责人")})
    ]
    assert [r["name"] for r in preview.added] == ["城关镇新组建救援队"]
    assert list(preview.changes_frame().columns)[:3] == ["行号", "队伍名称", "所属乡镇"]
    result = imports.run_import(db, admin, "teams", "t.xlsx", data, mapping=mapping, update=True)
    assert result.committed
    after = {
        r["id"]: r for r in db.query_dicts("SELECT * EXCLUDE (updated_at) FROM teams WHERE township_code = '410325100'")
    }
    differences = {(i, k) for i, row in before.items() for k, v in row.items() if after[i][k] != v}
    changed = next(i for i, r in before.items() if r["name"] == rows[0][0] and r["disbanded_on"] is None)
    assert differences == {(changed, "leader_name")} and len(after) == len(before) + 1
    assert (
        db.scalar(
            "SELECT count(*) FROM audit_log WHERE table_name = 'teams' AND action = 'update' AND record_id = ?",
            [str(changed)],
        )
        == 1
    )


def before_leader(db, name):
    value = db.scalar(
        "SELECT leader_name FROM teams WHERE name = ? AND township_code = '410325100' AND disbanded_on IS NULL", [name]
    )
    return value or "—"
